package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/testroot"
)

// userdataTUI starts the real binary (where nobody can run it, for the
// re-exec as the home's owner) in tmux on a root built by pacman, for the
// user data of nobody, and opens the Userdata tab: as root with --user
// nobody, or with asNobody as nobody itself (the invoking user).
func userdataTUI(t *testing.T, asNobody bool) (*tmux, *testroot.Root) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the user data is moved as the home's owner")
	}
	bin := publicBinary(t)
	r := userdataRoot(t)
	sysconf := sysconfDir(t)
	argv := []string{bin, "--config", r.Config, "--color", "never", "tui", "--user", "nobody"}
	if asNobody {
		argv = append([]string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"}, argv[:len(argv)-2]...)
	}
	tm := newTmux(t, 120, 36, []string{"PACTIDY_SYSCONFDIR=" + sysconf, "TERM=xterm-256color", "HOME=/nonexistent"}, argv...)
	// The sections of the report are in; the user data was not looked at.
	tm.waitFor("every section", func(s string) bool {
		return strings.Contains(s, "Missing 0") && strings.Contains(s, "Userdata ?") && !strings.Contains(s, "scanning")
	})
	tm.send("BTab")
	tm.waitText("press r to look through the home")
	tm.send("r")
	s := tm.waitText("/home/nobody/.config/gone")
	if !strings.Contains(s, "/home/nobody/.cache/gone-cache") {
		t.Errorf("the stale cache is not listed:\n%s", s)
	}
	if strings.Contains(s, "/home/nobody/.config/keepme") {
		t.Errorf("the data of the installed package keepme is listed:\n%s", s)
	}
	if regexp.MustCompile(`[0-9]+ marked`).MatchString(s) {
		t.Errorf("something is marked after the scan:\n%s", s)
	}
	return tm, r
}

// TestTUIUserdataRemove: the Userdata tab scans on r, lists the data of
// the removed program but not the installed one's, and d, y move the
// marked entry into the quarantine in nobody's home, as nobody: run by
// root (which runs pactidy as nobody for the move) and by nobody.
func TestTUIUserdataRemove(t *testing.T) {
	for _, tc := range []struct {
		name     string
		asNobody bool
	}{{"root", false}, {"owner", true}} {
		t.Run(tc.name, func(t *testing.T) { testTUIUserdataRemove(t, tc.asNobody) })
	}
}

func testTUIUserdataRemove(t *testing.T, asNobody bool) {
	tm, r := userdataTUI(t, asNobody)
	root := r.Dir
	tm.send("/", ".config/gone", "Enter")
	s := tm.waitText("filter .config/gone")
	for _, want := range []string{"no installed owner found", "Looked among", "needs a look"} {
		if !strings.Contains(s, want) {
			t.Errorf("the detail pane lacks %q:\n%s", want, s)
		}
	}
	tm.send("Space")
	tm.waitText("1 marked")
	tm.clearFilter()
	tm.send("d")
	s = tm.waitText("Remove what is marked?")
	for _, want := range []string{"1 entry of user data to move", "/home/nobody/.local/share/pactidy/quarantine", "restorable by the owner", "/home/nobody/.config/gone"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "gone-cache") {
		t.Errorf("the summary names an entry that is not marked:\n%s", s)
	}
	tm.send("y")
	s = tm.waitText("To bring the user data back")
	if !strings.Contains(s, "Quarantined 1 entry") || strings.Contains(s, "not done") {
		t.Errorf("result:\n%s", s)
	}
	m := regexp.MustCompile(`pactidy quarantine restore --quarantine-dir /home/nobody/\.local/share/pactidy/quarantine (\S+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no restore command in the result:\n%s", s)
	}
	// Back to the sections: the user data is scanned again.
	tm.send("Enter")
	tm.waitFor("the rescan", func(s string) bool {
		return strings.Contains(s, "Userdata 1") && !strings.Contains(s, "scanning")
	})
	tm.send("q")
	tm.waitText("pactidy exited with 0")

	home := filepath.Join(root, "home/nobody")
	if _, err := os.Lstat(filepath.Join(home, ".config/gone")); !os.IsNotExist(err) {
		t.Errorf(".config/gone is still in the home: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(home, ".cache/gone-cache/blob")); err != nil {
		t.Errorf("the entry that was not marked: %v", err)
	}
	store := quarantine.UserDir(home)
	err := filepath.Walk(store, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 65534 {
			t.Errorf("%s belongs to uid %d, not to the home's owner", p, uid)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the home's quarantine: %v", err)
	}
	// The owner sees the run (root refuses a store it does not own).
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		publicBinary(t), "--color", "never", "quarantine", "show", "--quarantine-dir", store, m[1])
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/home/nobody/.config/gone") || strings.Contains(string(out), "gone-cache") {
		t.Errorf("quarantine show %s as nobody: %v\n%s", m[1], err, out)
	}
}

// TestTUIUserdataKeep: K on a user data entry writes it into nobody's own
// allowlist, a file that nobody owns, and not into the system's.
func TestTUIUserdataKeep(t *testing.T) {
	tm, r := userdataTUI(t, false)
	root := r.Dir
	tm.send("/", "gone-cache", "Enter", "K")
	tm.waitText("in the allowlist of nobody")
	tm.send("Enter")
	s := tm.waitText("kept forever")
	if strings.Contains(s, "  /home/nobody/.cache/gone-cache") {
		t.Errorf("the kept entry is still listed:\n%s", s)
	}
	tm.clearFilter()
	tm.send("q")
	tm.waitText("pactidy exited with 0")

	file := filepath.Join(root, "home/nobody/.config/pactidy/allowlist")
	data, err := os.ReadFile(file)
	if err != nil || string(data) != "path /home/nobody/.cache/gone-cache\n" {
		t.Fatalf("nobody's allowlist: %q, %v", data, err)
	}
	for _, p := range []string{file, filepath.Dir(file)} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 65534 {
			t.Errorf("%s belongs to uid %d, not to nobody", p, uid)
		}
	}
	// The next scan, as the report, leaves it out.
	bin := publicBinary(t)
	out, stderr, code := runBin(t, t.TempDir(), bin, "--config", r.Config, "report", "--only", "userdata", "--user", "nobody")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	if strings.Contains(out, "gone-cache") || !strings.Contains(out, ".config/gone") {
		t.Errorf("the report after keeping gone-cache:\n%s", out)
	}
}
