package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/testroot"
)

// TestCacheSignals: a hang-up, a termination, an interrupt or a quit in
// the middle of `cache --remove` or `--move` finishes the file at hand,
// releases pacman's lock, leaves no temporary file and keeps every
// package with its signature.
func TestCacheSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := pactidyBinary(t)
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "bar", Version: "1-1"})
	for _, tc := range []struct {
		sig  syscall.Signal
		move bool
	}{
		{syscall.SIGHUP, false}, {syscall.SIGTERM, false}, {syscall.SIGQUIT, false},
		{syscall.SIGHUP, true}, {syscall.SIGINT, true},
	} {
		sig, move := tc.sig, tc.move
		{
			name := sig.String() + " during --remove"
			if move {
				name = sig.String() + " during --move"
			}
			t.Run(name, func(t *testing.T) {
				// Enough pairs that the signal lands in the middle; more
				// when a run was over before it could.
				for pairs := 1000; pairs <= 16000; pairs *= 2 {
					if interruptCache(t, bin, r, sig, move, pairs) {
						return
					}
				}
				t.Fatal("every run finished before the signal could be sent")
			})
		}
	}
}

// interruptCache runs one interrupted cache command and checks the
// aftermath; it returns false when the run was over before the signal.
func interruptCache(t *testing.T, bin string, r *testroot.Root, sig syscall.Signal, move bool, pairs int) bool {
	// Each case on its own: a lock left behind by a failed case goes.
	os.Remove(filepath.Join(r.DBPath, "db.lck"))
	if err := os.RemoveAll(r.CacheDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.CacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-60 * 24 * time.Hour)
	for i := 0; i < pairs; i++ {
		p := filepath.Join(r.CacheDir, fmt.Sprintf("foo-1.%d-1-x86_64.pkg.tar.zst", i))
		for _, f := range []string{p, p + ".sig"} {
			if err := os.WriteFile(f, []byte(f), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(f, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	args := []string{"--config", r.Config, "cache", "--keep", "1"}
	dest := ""
	if move {
		dest = t.TempDir()
		args = append(args, "--move", dest)
	} else {
		args = append(args, "--remove")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PACTIDY_SYSCONFDIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	lock := filepath.Join(r.DBPath, "db.lck")
	// The first file the plan removes (the newest but one).
	first := filepath.Join(r.CacheDir, fmt.Sprintf("foo-1.%d-1-x86_64.pkg.tar.zst", pairs-2))
	sent := false
	var err error
wait:
	for {
		select {
		case err = <-exited:
			break wait
		default:
		}
		if !sent {
			if _, serr := os.Lstat(lock); serr == nil && !exists(first) {
				// pactidy holds pacman's lock and has begun changing
				// the cache.
				cmd.Process.Signal(sig)
				sent = true
				continue
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	left := 0
	ents, rerr := os.ReadDir(r.CacheDir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".zst") {
			left++
		}
	}
	if !sent || left <= 1 || left == pairs {
		t.Logf("%d pairs: the run was over before the signal (%v); stderr:\n%s", pairs, err, stderr.String())
		if err != nil && !sent {
			t.Fatalf("the run failed before it changed anything")
		}
		return false
	}
	if err == nil {
		t.Errorf("exit status 0 after %v; stderr:\n%s", sig, stderr.String())
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailure {
		t.Errorf("%v: %v, want exit status %d; stderr:\n%s", sig, err, exitFailure, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted after") {
		t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
	}
	if _, err := os.Lstat(lock); err == nil {
		t.Errorf("pacman's lock %s left behind after %v", lock, sig)
	}
	for _, dir := range []string{r.CacheDir, dest} {
		if dir == "" {
			continue
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temporary entry left in %s: %s", dir, e.Name())
			}
		}
	}
	// Every package is where its signature is, exactly once.
	for i := 0; i < pairs; i++ {
		p := fmt.Sprintf("foo-1.%d-1-x86_64.pkg.tar.zst", i)
		inCache := exists(filepath.Join(r.CacheDir, p))
		if exists(filepath.Join(r.CacheDir, p+".sig")) != inCache {
			t.Fatalf("%s and its signature split in the cache", p)
		}
		if move {
			inDest := exists(filepath.Join(dest, p))
			if exists(filepath.Join(dest, p+".sig")) != inDest || inDest == inCache {
				t.Fatalf("%s: in the cache %v, in the destination %v (signature %v)", p, inCache, inDest, exists(filepath.Join(dest, p+".sig")))
			}
		}
	}
	t.Logf("%d pairs, %d files left in the cache after %v", pairs, left, sig)
	return true
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// TestCacheMoveRefusedBeforeCopy: when the originals cannot be removed
// afterwards (here an immutable cache directory, which stops even root),
// --move refuses before it copies or links anything.
func TestCacheMoveRefusedBeforeCopy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for chattr")
	}
	r := cacheRoot(t)
	if out, err := exec.Command("chattr", "+i", r.CacheDir).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", r.CacheDir).Run() })
	dest := t.TempDir()
	_, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--keep", "1", "--move", dest)
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	for _, w := range []string{"nothing was copied", "immutable", r.CacheDir} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Errorf("%d entries copied or linked into %s before the refusal", len(ents), dest)
	}
}
