package scan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/testroot"
)

// precisionRoot is a pacman-built root for the cases where the unowned
// scan used to hide too much or report something twice.
func precisionRoot(t *testing.T) *fixture {
	t.Helper()
	r := testroot.New(t)
	r.Install(t,
		testroot.Pkg{
			Name: "linux", Version: "6.1-1",
			Files: map[string]string{
				"usr/lib/modules/6.1-arch1/vmlinuz":                 "kernel",
				"usr/lib/modules/6.1-arch1/pkgbase":                 "linux\n",
				"usr/lib/modules/6.1-arch1/kernel/drivers/x.ko.zst": "ko",
				"usr/lib/modules/6.1-arch1/build/Makefile":          "all:\n",
			},
		},
		testroot.Pkg{
			Name: "app", Version: "1.0-1",
			Backup: []string{"etc/app.conf", "usr/share/app/app.conf"},
			Files: map[string]string{
				"etc/app.conf":           "a=1\n",
				"usr/share/app/app.conf": "b=1\n",
				"usr/share/app/data":     "d",
				"etc/systemd/system/":    "",
				"opt/":                   "",
			},
		},
	)
	plant := func(rel, content string) {
		p := r.Path(rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(rel, target string) {
		p := r.Path(rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	const mods = "usr/lib/modules/6.1-arch1/"
	// What depmod and out-of-tree modules leave: hidden.
	plant(mods+"modules.dep", "dep")
	plant(mods+"modules.alias.bin", "bin")
	plant(mods+"updates/dkms/y.ko.zst", "ko")
	plant(mods+"extramodules/z.ko.zst", "ko")
	plant(mods+"extra/w.ko.zst", "ko")
	// Leftovers inside the kernel's own tree: reported.
	plant(mods+"kernel/drivers/x.ko.zst.bak", "old")
	plant(mods+"build/Makefile~", "editor")
	plant(mods+"System.map.old", "map")
	plant(mods+"kernel/modules.order", "not at the top")

	// Pacfiles: reported by Pacfiles, so not by the unowned scan.
	plant("etc/app.conf.pacnew", "a=2\n")
	plant("etc/gone.conf.pacsave", "old")
	plant("etc/deep/dir/x.conf.pacorig", "orig")
	plant("usr/share/app/app.conf.pacnew", "b=2\n")
	// Not a pacfile Pacfiles reports: outside /etc, of no backup file.
	plant("opt/notes.pacnew", "n")

	// systemctl enable: a *.wants directory of links only, and one that
	// also holds a stray file.
	link("etc/systemd/system/multi-user.target.wants/a.service", "/usr/lib/systemd/system/a.service")
	link("etc/systemd/system/multi-user.target.wants/b.service", "/usr/lib/systemd/system/b.service")
	link("etc/systemd/system/sockets.target.wants/c.socket", "/usr/lib/systemd/system/c.socket")
	plant("etc/systemd/system/sockets.target.wants/notes.txt", "stray")

	return &fixture{r: r, db: loadDB(t, r.Config, r.Dir, r.DBPath)}
}

func entryMap(es []UnownedEntry) map[string]UnownedEntry {
	m := map[string]UnownedEntry{}
	for _, e := range es {
		m[e.Path] = e
	}
	return m
}

// TestKernelModulesRuleHidesOnlyGenerated: the kernel-modules rule hides
// depmod's output and the out-of-tree module directories, nothing else of
// the module tree.
func TestKernelModulesRuleHidesOnlyGenerated(t *testing.T) {
	f := precisionRoot(t)
	got := entryMap(scanFixture(t, f.r.Dir, f.db, nil, nil).Entries)
	const mods = "/usr/lib/modules/6.1-arch1/"
	for _, p := range []string{
		mods + "kernel/drivers/x.ko.zst.bak",
		mods + "build/Makefile~",
		mods + "System.map.old",
		mods + "kernel/modules.order",
	} {
		if _, ok := got[p]; !ok {
			t.Errorf("%s not reported", p)
		}
	}
	for _, p := range []string{
		mods + "modules.dep", mods + "modules.alias.bin",
		mods + "updates/", mods + "updates/dkms/", mods + "updates/dkms/y.ko.zst",
		mods + "extramodules/", mods + "extramodules/z.ko.zst", mods + "extra/", mods + "extra/w.ko.zst",
	} {
		if e, ok := got[p]; ok {
			t.Errorf("%s reported: %+v", p, e)
		}
	}

	hidden := entryMap(scanFixture(t, f.r.Dir, f.db, nil, func(o *UnownedOptions) { o.ShowHidden = true }).Entries)
	for _, p := range []string{mods + "modules.dep", mods + "modules.alias.bin", mods + "updates/", mods + "extramodules/", mods + "extra/"} {
		if hidden[p].HiddenBy != "kernel-modules" {
			t.Errorf("%s: %+v, want hidden by kernel-modules", p, hidden[p])
		}
	}
	if e := hidden[mods+"kernel/drivers/x.ko.zst.bak"]; e.HiddenBy != "" || e.Path == "" {
		t.Errorf("kernel/drivers/x.ko.zst.bak with --show-hidden: %+v, want reported", e)
	}
}

// TestPacfilesReportedOnce: whatever the pacfiles section reports is not
// also unowned; with ShowHidden it is listed as hidden by "pacfiles".
func TestPacfilesReportedOnce(t *testing.T) {
	f := precisionRoot(t)
	pacfiles, errs := Pacfiles(f.r.Dir, f.db)
	if len(errs) > 0 {
		t.Fatalf("pacfiles errors: %v", errs)
	}
	want := []string{"/etc/app.conf.pacnew", "/etc/deep/dir/x.conf.pacorig", "/etc/gone.conf.pacsave", "/usr/share/app/app.conf.pacnew"}
	var paths []string
	for _, p := range pacfiles {
		paths = append(paths, p.Path)
	}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("pacfiles %v, want %v", paths, want)
	}

	res := scanFixture(t, f.r.Dir, f.db, nil, nil)
	got := entryMap(res.Entries)
	for _, p := range pacfiles {
		if e, ok := got[p.Path]; ok {
			t.Errorf("%s reported by pacfiles and as unowned: %+v", p.Path, e)
		}
	}
	// /etc/deep/ holds nothing else: it is not an unowned directory to
	// report either.
	for _, p := range []string{"/etc/deep/", "/etc/deep/dir/"} {
		if e, ok := got[p]; ok {
			t.Errorf("%s reported: %+v", p, e)
		}
	}
	if _, ok := got["/opt/notes.pacnew"]; !ok {
		t.Errorf("/opt/notes.pacnew (no backup file, outside /etc) not reported:\n%s", entriesString(res.Entries))
	}

	hidden := entryMap(scanFixture(t, f.r.Dir, f.db, nil, func(o *UnownedOptions) { o.ShowHidden = true }).Entries)
	for _, p := range []string{"/etc/app.conf.pacnew", "/etc/gone.conf.pacsave", "/usr/share/app/app.conf.pacnew"} {
		if hidden[p].HiddenBy != "pacfiles" {
			t.Errorf("%s with --show-hidden: %+v, want hidden by pacfiles", p, hidden[p])
		}
	}
	if e := hidden["/etc/deep/"]; e.HiddenBy != "pacfiles" || e.Entries != 2 {
		t.Errorf("/etc/deep/ with --show-hidden: %+v, want one directory of 2 entries hidden by pacfiles", e)
	}

	// The rule can be switched off like any other.
	off := entryMap(scanFixture(t, f.r.Dir, f.db, nil, func(o *UnownedOptions) { o.DisabledRules = []string{"pacfiles"} }).Entries)
	if _, ok := off["/etc/app.conf.pacnew"]; !ok {
		t.Error("with --no-rule pacfiles, /etc/app.conf.pacnew is not reported")
	}
}

// TestWantsDirHiddenOnce: with ShowHidden an unowned *.wants directory of
// enablement links is listed once, as a directory; one that also holds
// something else is listed entry by entry.
func TestWantsDirHiddenOnce(t *testing.T) {
	f := precisionRoot(t)
	res := scanFixture(t, f.r.Dir, f.db, nil, func(o *UnownedOptions) { o.ShowHidden = true })
	got := entryMap(res.Entries)
	const wants = "/etc/systemd/system/multi-user.target.wants/"
	if e := got[wants]; e.HiddenBy != "systemd-enablement" || e.Type != TypeDir || e.Entries != 2 {
		t.Errorf("%s: %+v, want one directory of 2 entries hidden by systemd-enablement\n%s", wants, e, entriesString(res.Entries))
	}
	for p := range got {
		if strings.HasPrefix(p, wants) && p != wants {
			t.Errorf("%s listed besides its directory", p)
		}
	}
	const mixed = "/etc/systemd/system/sockets.target.wants/"
	if e := got[mixed+"c.socket"]; e.HiddenBy != "systemd-enablement" {
		t.Errorf("%sc.socket: %+v, want hidden by systemd-enablement", mixed, e)
	}
	if e := got[mixed+"notes.txt"]; e.Path == "" || e.HiddenBy != "" {
		t.Errorf("%snotes.txt: %+v, want reported", mixed, e)
	}
	if _, ok := got[mixed]; ok {
		t.Errorf("%s listed as a whole", mixed)
	}

	// Without ShowHidden neither the links nor their directory appear.
	plain := entryMap(scanFixture(t, f.r.Dir, f.db, nil, nil).Entries)
	for p := range plain {
		if strings.HasPrefix(p, wants) || p == mixed+"c.socket" || p == mixed {
			t.Errorf("%s reported without --show-hidden", p)
		}
	}
}
