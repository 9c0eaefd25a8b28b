package scan

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
)

// userDataRoot builds a root with the real pacman: programs that leave data
// in homes, one of them removed again, and a home for alice holding their
// leftovers, shared locations, a large cache and names with odd bytes.
func userDataRoot(t *testing.T) (*testroot.Root, UserDataOptions) {
	t.Helper()
	r := testroot.New(t)
	r.Install(t,
		testroot.Pkg{Name: "firefox", Version: "130.0-1", Files: map[string]string{"usr/bin/firefox": "#!/bin/sh\n"}},
		testroot.Pkg{Name: "nautilus", Version: "46.0-1", Files: map[string]string{"usr/bin/nautilus": "x"}},
		testroot.Pkg{Name: "foo-utils", Version: "1.0-1", Files: map[string]string{"usr/bin/footool": "x"}},
		testroot.Pkg{Name: "bar-app", Version: "2.0-1", Files: map[string]string{
			"usr/lib/bar-app/bar":                               "x",
			"usr/share/applications/com.example.BarApp.desktop": "[Desktop Entry]\nName=Bar\nExec=env GDK_BACKEND=x11 /usr/lib/bar-app/barexec %U\nStartupWMClass=BarWM\n",
		}},
		testroot.Pkg{Name: "qux", Version: "1.0-1", Files: map[string]string{"usr/share/quxdata/readme": "x"}},
		testroot.Pkg{Name: "editor-git", Version: "1.0-1", Provides: []string{"scribe"}, Files: map[string]string{"usr/bin/ed2": "x"}},
		testroot.Pkg{Name: "gone", Version: "1.0-1", Files: map[string]string{"usr/bin/gone": "x"}},
	)
	r.Pacman(t, "-R", "--noconfirm", "gone")
	if err := os.MkdirAll(r.Path("/etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/zsh\nsvc:x:990:990::/home/svc:/usr/bin/nologin\n"
	if err := os.WriteFile(r.Path("/etc/passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	home := r.Path("/home/alice")
	files := map[string]string{
		".mozilla/firefox/profiles.ini":         "x",
		".config/org.gnome.Nautilus/state":      "x",
		".config/footool/config":                "x",
		".config/barexec.conf":                  "x",
		".cache/BarWM/blob":                     "x",
		".local/share/quxdata/db":               "x",
		".config/editor/init":                   "x",
		".config/scribe/init":                   "x",
		".config/gone/settings":                 "leftover",
		".local/share/gone/history":             "leftover",
		".config/autostart/x.desktop":           "x",
		".config/mimeapps.list":                 "x",
		".local/share/Trash/files/a":            "x",
		".local/state/neverheard/log":           "x",
		".ssh/known_hosts":                      "x",
		".oldtool/data":                         "x",
		".config/bad\xffname/x":                 "x",
		".config/new\nline":                     "x",
		".bash_history":                         "a file in the home: not listed",
		".local/share/applications/foo.desktop": "x",
	}
	for p, c := range files {
		mustWrite(t, filepath.Join(home, p), c)
	}
	// A large cache of a program that is gone: 300 files of 4 KiB.
	for i := 0; i < 300; i++ {
		mustWrite(t, filepath.Join(home, ".cache/bigcache", fmt.Sprintf("d%d/f%d", i%10, i)), strings.Repeat("c", 4096))
	}
	cfg, db := testdb.Load(t, r.Config, conf.Overrides{})
	homes, err := Users(cfg.RootDir)
	if err != nil {
		t.Fatal(err)
	}
	return r, UserDataOptions{Root: cfg.RootDir, Homes: LoginUsers(homes), DB: db}
}

func mustWrite(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUserDataClassification(t *testing.T) {
	_, opts := userDataRoot(t)
	if len(opts.Homes) != 1 || opts.Homes[0].User != "alice" {
		t.Fatalf("login users with a home under /home: %+v", opts.Homes)
	}
	found, matched, errs := UserData(context.Background(), opts)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	got := map[string]UserEntry{}
	for _, e := range append(found, matched...) {
		got[strings.TrimPrefix(e.Path, "/home/alice/")] = e
	}
	wantMatched := map[string]string{
		".mozilla":                   "package firefox",
		".config/org.gnome.Nautilus": "package nautilus",
		".config/footool":            "binary /usr/bin/footool (foo-utils)",
		".config/barexec.conf":       "desktop file /usr/share/applications/com.example.BarApp.desktop",
		".cache/BarWM":               "desktop file /usr/share/applications/com.example.BarApp.desktop",
		".local/share/quxdata":       "directory /usr/share/quxdata/ (qux)",
		".config/editor":             "package editor-git",
		".config/scribe":             "provided by package editor-git",
		".config/autostart":          "shared location",
		".config/mimeapps.list":      "shared location",
		".local/share/Trash":         "shared location",
		".local/share/applications":  "shared location",
		".ssh":                       "shared location",
	}
	for p, ev := range wantMatched {
		e, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s not listed", p)
		case e.MatchedBy != ev:
			t.Errorf("%s matched by %q, want %q", p, e.MatchedBy, ev)
		}
	}
	var findings []string
	for _, e := range found {
		findings = append(findings, strings.TrimPrefix(e.Path, "/home/alice/"))
		if e.MatchedBy != "" || len(e.Checked) == 0 {
			t.Errorf("finding %s: matched by %q, checked %q", e.Path, e.MatchedBy, e.Checked)
		}
	}
	// Largest first, then by path.
	want := []string{".cache/bigcache", ".config/gone", ".local/share/gone", ".config/bad\xffname", ".config/new\nline", ".local/state/neverheard", ".oldtool"}
	if !reflect.DeepEqual(findings, want) {
		t.Errorf("findings:\n got %q\nwant %q", findings, want)
	}
	if _, ok := got[".bash_history"]; ok {
		t.Error("a plain file in the home was listed")
	}
	big := got[".cache/bigcache"]
	if big.Size != 300*4096 || big.Entries != 310 || big.Kind != UserKindCache || !big.SafeToDrop() || big.Type != "dir" || big.User != "alice" {
		t.Errorf("bigcache: %+v", big)
	}
	if g := got[".config/gone"]; g.Kind != UserKindConfig || g.SafeToDrop() || g.Size != int64(len("leftover")) || g.Entries != 1 {
		t.Errorf(".config/gone: %+v", g)
	}
	if g := got[".oldtool"]; g.Kind != UserKindHome {
		t.Errorf(".oldtool kind %q", g.Kind)
	}
	if g := got[".config/gone"]; !reflect.DeepEqual(g.Checked, []string{"gone"}) {
		t.Errorf(".config/gone checked %q", g.Checked)
	}
}

func TestUserDataKeep(t *testing.T) {
	_, opts := userDataRoot(t)
	opts.Keep = func(user, p string) bool { return user == "alice" && p == "/home/alice/.cache/bigcache" }
	found, _, _ := UserData(context.Background(), opts)
	for _, e := range found {
		if e.Path == "/home/alice/.cache/bigcache" {
			t.Error("an allowlisted entry was listed")
		}
	}
}

// TestUserDataUnreadable: as a normal user, an entry that cannot be read
// is marked incomplete and its error reported, never shown as empty.
func TestUserDataUnreadable(t *testing.T) {
	if dir := os.Getenv("PACTIDY_USERDATA_HELPER"); dir != "" {
		if os.Geteuid() == 0 {
			t.Fatal("helper still runs as root")
		}
		h := Home{User: "nobody", Dir: "/home/nobody"}
		found, _, errs := UserData(context.Background(), UserDataOptions{Root: dir, Homes: []Home{h}, DB: emptyDB()})
		if len(found) != 1 || !found[0].Incomplete || found[0].Path != "/home/nobody/.config/locked" {
			t.Fatalf("found %+v", found)
		}
		if len(errs) != 1 || errs[0].Path != "/home/nobody/.config/locked" || !strings.Contains(errs[0].Error(), "permission denied") {
			t.Fatalf("errors %v", errs)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root to switch to an unprivileged user")
	}
	root, err := os.MkdirTemp("", "pactidy-userdata-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "home/nobody/.config/locked/secret"), "x")
	if err := os.Chmod(filepath.Join(root, "home/nobody/.config/locked"), 0o700); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		exe, "-test.run=^TestUserDataUnreadable$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PACTIDY_USERDATA_HELPER="+root)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

func TestReduce(t *testing.T) {
	tests := []struct {
		in   string
		want []string // must all be among the forms
	}{
		{".mozilla", []string{"mozilla"}},
		{"org.gnome.Nautilus", []string{"org.gnome.nautilus", "nautilus", "gnome.nautilus"}},
		{"visual-studio-code-bin", []string{"visual-studio-code", "visualstudiocode"}},
		{"gtk-3.0", []string{"gtk-3.0", "gtk"}},
		{"foo.d", []string{"foo"}},
		{"app.conf", []string{"app"}},
		{"python3.12", []string{"python"}},
	}
	for _, tt := range tests {
		forms := reduce(tt.in)
		for _, w := range tt.want {
			found := false
			for _, f := range forms {
				found = found || f == w
			}
			if !found {
				t.Errorf("reduce(%q) = %q, lacks %q", tt.in, forms, w)
			}
		}
	}
}

func TestUsers(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "etc/passwd"), "root:x:0:0::/root:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\nbad line\n")
	_, err := Users(dir)
	if err == nil || !strings.Contains(err.Error(), "passwd:3:") {
		t.Errorf("malformed passwd: %v", err)
	}
	if _, err := Users(t.TempDir()); err == nil {
		t.Error("a missing passwd is no error")
	}
}

func emptyDB() *pkg.DB { return &pkg.DB{} }
