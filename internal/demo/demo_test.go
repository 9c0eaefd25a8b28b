package demo

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreate builds the demo root and checks with the real pacman that it
// shows what make demo promises: orphans, a cycle pacman cannot see, a
// foreign package, a .pacnew, a missing file and a stale cache.
func TestCreate(t *testing.T) {
	r, err := Create(filepath.Join(t.TempDir(), "demo"))
	if err != nil {
		t.Fatal(err)
	}
	pacman := func(args ...string) string {
		full := append([]string{"--config", r.Config, "--root", r.Dir, "--dbpath", filepath.Join(r.Dir, "var/lib/pacman")}, args...)
		out, _ := exec.Command("pacman", full...).Output() // -Qdt and -Qm exit 1 when empty
		return strings.Join(strings.Fields(string(out)), " ")
	}
	if got := len(strings.Fields(pacman("-Qq"))); got != 15 {
		t.Errorf("%d packages installed, want 15", got)
	}
	if got, want := pacman("-Qdtq"), "bash libchain-a libold"; got != want {
		t.Errorf("pacman -Qdtq = %q, want %q", got, want)
	}
	if got := pacman("-Qmq"); got != "yay-bin" {
		t.Errorf("pacman -Qmq = %q, want yay-bin", got)
	}
	for _, rel := range []string{"etc/editor.conf.pacnew", "var/cache/pacman/pkg/editor-1.0-1-any.pkg.tar.zst", "opt/leftover/bin/tool"} {
		if _, err := exec.Command("test", "-e", filepath.Join(r.Dir, rel)).Output(); err != nil {
			t.Errorf("%s missing from the demo root", rel)
		}
	}
	if out, _ := exec.Command("pacman", "--config", r.Config, "--root", r.Dir, "--dbpath", filepath.Join(r.Dir, "var/lib/pacman"), "-Qkq", "htop").Output(); !strings.Contains(string(out), "usr/share/doc/htop/README") {
		t.Errorf("pacman -Qk htop does not report the removed file: %q", out)
	}
}
