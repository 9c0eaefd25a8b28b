package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/testroot"
)

// TestCleanUnownedSignals: SIGTERM or SIGHUP while `clean unowned` moves
// entries finishes the entry at hand and stops; every entry is then either
// in place or in the quarantine run, never both or neither, and the rest
// is reported as untouched.
func TestCleanUnownedSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("building a root with pacman needs root here")
	}
	bin := pactidyBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			r := testroot.New(t)
			// The package owns the directory, so each file in it is an
			// unowned entry of its own.
			r.Install(t, testroot.Pkg{Name: "many", Version: "1-1", Files: map[string]string{"opt/many/": ""}})
			const n = 300
			var paths []string
			for i := 0; i < n; i++ {
				p := fmt.Sprintf("/opt/many/f%03d", i)
				if err := os.WriteFile(r.Path(p), []byte(p), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			cmd := exec.Command(bin, append([]string{"--config", r.Config, "clean", "unowned", "--yes"}, paths...)...)
			cmd.Env = append(os.Environ(), "PACTIDY_SYSCONFDIR="+t.TempDir())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			var lines []string
			sent := false
			for sc.Scan() {
				lines = append(lines, sc.Text())
				if !sent && strings.HasPrefix(sc.Text(), "quarantined ") {
					cmd.Process.Signal(sig)
					sent = true
				}
			}
			err = cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if !sent || !ok || ee.ExitCode() != exitFailure || !strings.Contains(stderr.String(), "interrupted after") {
				t.Fatalf("sent %v, exit %v\nstdout:\n%s\nstderr:\n%s", sent, err, strings.Join(lines, "\n"), stderr.String())
			}
			st, err := quarantine.Open(quarantine.DefaultDir(r.Dir))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			runs, err := st.List()
			if err != nil || len(runs) != 1 || runs[0].State != quarantine.StateStopped {
				t.Fatalf("runs %+v, %v; want one, stopped", runs, err)
			}
			d, err := st.Show(runs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			in := map[string]bool{}
			for _, it := range d.Items {
				in[it.Path] = true
			}
			moved := 0
			for _, p := range paths {
				_, serr := os.Lstat(filepath.Join(r.Dir, p))
				switch {
				case serr == nil && in[p]:
					t.Errorf("%s both in place and in the quarantine", p)
				case serr != nil && !in[p]:
					t.Errorf("%s neither in place nor in the quarantine: %v", p, serr)
				case in[p]:
					moved++
				}
			}
			if moved == 0 || moved == n {
				t.Errorf("%d of %d moved: the signal did not stop the run half-way", moved, n)
			}
			if !strings.Contains(stderr.String(), fmt.Sprintf("interrupted after %d of %d items", moved, n)) {
				t.Errorf("%d moved; stderr:\n%s", moved, stderr.String())
			}
			t.Logf("%v after the first entry: %d of %d moved", sig, moved, n)
		})
	}
}
