// Package packaging holds the files the AUR package installs; its test keeps
// the PKGBUILD and .SRCINFO honest.
package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSRCINFO checks that the PKGBUILD parses with the real makepkg and that
// the committed .SRCINFO (which the AUR requires) matches it.
func TestSRCINFO(t *testing.T) {
	if _, err := exec.LookPath("makepkg"); err != nil {
		t.Fatalf("makepkg not installed (run scripts/install-deps.sh): %v", err)
	}
	want, err := os.ReadFile("../.SRCINFO")
	if err != nil {
		t.Fatal(err)
	}
	// makepkg refuses to run as root; copy the PKGBUILD where nobody can read it.
	dir, err := os.MkdirTemp("", "pactidy-pkgbuild-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../PKGBUILD")
	if err != nil {
		t.Fatal(err)
	}
	pkgbuild := filepath.Join(dir, "PKGBUILD")
	if err := os.WriteFile(pkgbuild, src, 0o644); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if os.Getuid() == 0 {
		cmd = exec.Command("su", "nobody", "-s", "/bin/sh", "-c", "cd "+dir+" && makepkg --printsrcinfo")
	} else {
		cmd = exec.Command("makepkg", "--printsrcinfo")
		cmd.Dir = dir
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("makepkg --printsrcinfo: %v: %s", err, stderr.String())
	}
	if string(got) != string(want) {
		t.Errorf(".SRCINFO is out of date; regenerate with makepkg --printsrcinfo > .SRCINFO\n got:\n%s\nwant:\n%s", got, want)
	}
	for _, f := range []string{"allowlist", "pactidy-report.service", "pactidy-report.timer", "../LICENSE", "../README.md"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("PKGBUILD installs %s: %v", f, err)
		}
	}
}
