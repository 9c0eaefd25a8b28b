package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/quarantine"
)

// TestTUIRemove goes all the way: an orphan and an unowned directory are
// marked, a file is kept forever, d and y remove them (pacman in the
// terminal, the directory into the quarantine), and the root afterwards
// has the package gone from the database, the directory in the
// quarantine and the allowlist line written.
func TestTUIRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pacman -R on the test root needs root")
	}
	tm, r, sysconf, _ := browseTUI(t)
	// oldlib (pacman -Rns takes oldlib-data along).
	tm.send("s", "/", "oldlib", "Enter", "Space")
	tm.waitText("1 marked")
	tm.clearFilter()
	tm.send("Tab", "Tab", "Tab")
	tm.waitText("/usr/share/olddir/")
	tm.send("/", "olddir", "Enter", "Space")
	tm.waitText("2 marked")
	tm.clearFilter()
	tm.send("/", "keepme", "Enter", "K")
	tm.waitText("Keep forever")
	tm.send("Enter")
	tm.waitText("kept forever")
	tm.send("d")
	s := tm.waitText("Remove what is marked?")
	for _, want := range []string{"oldlib oldlib-data", "command: /usr/bin/pacman", "1 entry to quarantine", "Total: "} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	tm.send("y")
	s = tm.waitText("pactidy quarantine restore")
	for _, want := range []string{"Removed 2 packages: oldlib oldlib-data", "Quarantined 1 entry"} {
		if !strings.Contains(s, want) {
			t.Errorf("result lacks %q:\n%s", want, s)
		}
	}
	// Back to the rescanned sections, then quit.
	tm.send("Enter")
	tm.waitFor("the rescan", func(s string) bool { return strings.Contains(s, "Orphans 2") && !strings.Contains(s, "scanning") })
	tm.send("q")
	tm.waitText("pactidy exited with 0")

	if out, _, code := r.PacmanErr(t, "-Q", "oldlib"); code == 0 {
		t.Errorf("oldlib is still installed: %s", out)
	}
	if _, err := os.Lstat(r.Path("usr/share/olddir")); !os.IsNotExist(err) {
		t.Errorf("usr/share/olddir is still there: %v", err)
	}
	st, err := quarantine.Open(quarantine.DefaultDir(r.Dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.List()
	if err != nil || len(runs) != 1 {
		t.Fatalf("quarantine runs: %+v, %v", runs, err)
	}
	d, err := st.Show(runs[0].ID)
	if err != nil || len(d.Items) != 1 || d.Items[0].Path != "/usr/share/olddir" || d.Items[0].Status != "quarantined" {
		t.Errorf("quarantine run %s: %+v, %v", runs[0].ID, d, err)
	}
	if !strings.Contains(s, "pactidy quarantine restore "+runs[0].ID) {
		t.Errorf("the result does not name run %s:\n%s", runs[0].ID, s)
	}
	data, err := os.ReadFile(filepath.Join(sysconf, "pactidy", "allowlist"))
	if err != nil || string(data) != "path /etc/keepme.conf\n" {
		t.Errorf("allowlist: %q, %v", data, err)
	}
	if _, err := os.Lstat(r.Path("etc/keepme.conf")); err != nil {
		t.Errorf("the kept file: %v", err)
	}
}
