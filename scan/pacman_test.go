package scan

// Differential tests: roots built and installed by the real pacman, read
// by the real libalpm, and every finding compared with what pacman itself
// says about the same root.

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
)

func loadRoot(t *testing.T, r *testroot.Root) (*conf.Config, *pkg.DB) {
	t.Helper()
	return testdb.Load(t, r.Config, conf.Overrides{})
}

// lines splits pacman's output into a sorted list of names.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "there is nothing to do") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// pacmanList runs a query that exits 1 when it lists nothing.
func pacmanList(t *testing.T, r *testroot.Root, args ...string) []string {
	t.Helper()
	out, stderr, code := r.PacmanErr(t, args...)
	if code != 0 && (code != 1 || out != "") {
		t.Fatalf("pacman %v: exit %d: %s", args, code, stderr)
	}
	return lines(out)
}

func without(names []string, drop ...string) []string {
	out := []string{}
	for _, n := range names {
		keep := true
		for _, d := range drop {
			keep = keep && n != d
		}
		if keep {
			out = append(out, n)
		}
	}
	return out
}

func pkgNames(ps []*pkg.Package) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

func orphanNames(os []Orphan, keep func(Orphan) bool) []string {
	out := []string{}
	for _, o := range os {
		if keep == nil || keep(o) {
			out = append(out, o.Package.Name)
		}
	}
	return out
}

func file(name string) map[string]string {
	return map[string]string{"usr/share/" + name + "/data": name + " data\n"}
}

// iteratedQdt repeats "pacman -Qdtq | pacman -Rdd -" (leaving out the
// names in keep, which pacman does not know are kept) until pacman lists
// nothing more, and returns everything it removed. It changes the root.
func iteratedQdt(t *testing.T, r *testroot.Root, flag string, keep ...string) []string {
	t.Helper()
	removed := []string{}
	for {
		round := without(pacmanList(t, r, flag), keep...)
		if len(round) == 0 {
			sort.Strings(removed)
			return removed
		}
		r.Pacman(t, append([]string{"--noconfirm", "-Rdd"}, round...)...)
		removed = append(removed, round...)
	}
}

// rsuOracle is "pacman -Qqd | pacman -Rsu --print -", with keep left out
// of the input: the cycle-aware set pacman would remove.
func rsuOracle(t *testing.T, r *testroot.Root, keep ...string) []string {
	t.Helper()
	deps := without(pacmanList(t, r, "-Qqd"), keep...)
	cmd := r.Command("-Rsu", "--print", "--print-format", "%n", "-")
	cmd.Stdin = strings.NewReader(strings.Join(deps, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pacman -Rsu --print: %v", err)
	}
	return lines(string(out))
}

// removalOracle is "pacman -R<flags> --print X" as a sorted name list; ok
// is false when pacman refuses (e.g. -Rs of a package others need).
func removalOracle(t *testing.T, r *testroot.Root, flags, name string) (names []string, ok bool) {
	t.Helper()
	cmd := r.Command(flags, "--print", "--print-format", "%n", name)
	// A HoldPkg among the targets makes pacman ask before printing.
	cmd.Stdin = strings.NewReader("y\n")
	out, err := cmd.Output()
	if err != nil {
		return nil, false
	}
	var res []string
	for _, l := range lines(string(out)) {
		// The HoldPkg question and warnings go to stdout/stderr with
		// prefixes; package names never contain ':' or spaces.
		if !strings.ContainsAny(l, ": ") {
			res = append(res, l)
		}
	}
	return res, true
}

func checkRemovals(t *testing.T, r *testroot.Root, orphans []Orphan) {
	t.Helper()
	for _, o := range orphans {
		want := append([]string{o.Package.Name}, pkgNames(o.Removes)...)
		sort.Strings(want)
		// pacman refuses -n (--nosave) with --print; it only decides
		// what happens to changed backup files, not what is removed.
		got, ok := removalOracle(t, r, "-Rcs", o.Package.Name)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("pacman -Rcs %s removes %q (ok %v); pactidy says %q", o.Package.Name, got, ok, want)
		}
		// Without -c pacman refuses when packages outside the removal
		// need it; when it agrees, it removes the same.
		got, ok = removalOracle(t, r, "-Rs", o.Package.Name)
		switch {
		case ok && !reflect.DeepEqual(got, want):
			t.Errorf("pacman -Rs %s removes %q; pactidy says %q", o.Package.Name, got, want)
		case !ok && len(o.RequiredBy) == 0:
			t.Errorf("pacman -Rs %s fails although nothing needs it", o.Package.Name)
		}
	}
}

// TestPacmanAcyclic: without cycles, the orphans are exactly what repeated
// pacman -Qdtq (-Qdttq) finds, the first round is exactly pacman's single
// answer, and unneeded, foreign and missing files agree with -Qet, -Qm and
// -Qk.
func TestPacmanAcyclic(t *testing.T) {
	for _, mode := range []OptionalMode{OptionalKeep, OptionalIgnore} {
		t.Run(mode.String(), func(t *testing.T) {
			r := testroot.New(t, testroot.WithHoldPkg("held"), testroot.WithExtraConfig("NoExtract = usr/share/doc/*"))
			deps := []testroot.Pkg{
				{Name: "libchain1", Version: "1.0-1", Depends: []string{"libchain2>=2.0"}, Files: file("libchain1")},
				{Name: "libchain2", Version: "2.1-1", Depends: []string{"libchain3"}, Files: file("libchain2")},
				{Name: "libchain3", Version: "1:0.1-1", Files: file("libchain3")},
				{Name: "oa", Version: "1.0-1", Depends: []string{"ob"}, OptDepends: []string{"oopt: extra"}, Files: file("oa")},
				{Name: "ob", Version: "1.0-1", Depends: []string{"oc=1.0-1"}, Files: file("ob")},
				{Name: "oc", Version: "1.0-1", Files: file("oc")},
				{Name: "oopt", Version: "1.0-1", Files: file("oopt")},
				{Name: "libv1", Version: "1.0-1", Provides: []string{"libv=1"}, Files: file("libv1")},
				{Name: "libv2", Version: "1.0-1", Provides: []string{"libv=2"}, Files: file("libv2")},
				{Name: "libw", Version: "1.0-1", Provides: []string{"libw-virtual"}, Files: file("libw")},
				{Name: "sha", Version: "1.0-1", Provides: []string{"sh"}, Files: file("sha")},
				{Name: "shb", Version: "1.0-1", Provides: []string{"sh"}, Files: file("shb")},
				{Name: "optpkg", Version: "1.0-1", Depends: []string{"optlib"}, Files: file("optpkg")},
				{Name: "optlib", Version: "1.0-1", Files: file("optlib")},
				{Name: "held", Version: "1.0-1", Depends: []string{"heldlib"}, Files: file("held")},
				{Name: "heldlib", Version: "1.0-1", Files: file("heldlib")},
				{Name: "allowed", Version: "1.0-1", Depends: []string{"allowlib"}, Files: file("allowed")},
				{Name: "allowlib", Version: "1.0-1", Files: file("allowlib")},
				{Name: "shared", Version: "1.0-1", Files: file("shared")},
				{Name: "usesshared", Version: "1.0-1", Depends: []string{"shared", "tool"}, Files: file("usesshared")},
				{Name: "docs", Version: "1.0-1", Files: map[string]string{"usr/share/doc/docs/README": "r\n", "usr/share/docs/nd/sub/file": "f\n", "usr/bin/docs": "#!/bin/sh\n"}},
			}
			explicit := []testroot.Pkg{
				{Name: "app", Version: "1.0-1", Depends: []string{"libchain1", "sh", "libv>=2", "shared", "docs"}, OptDepends: []string{"optpkg: for the opt feature"}, Files: file("app")},
				{Name: "tool", Version: "1.0-1", Files: file("tool")},
				{Name: "leaf", Version: "1.0-1", Depends: []string{"libw-virtual"}, Files: file("leaf")},
				{Name: "optleaf", Version: "1.0-1", Files: file("optleaf")},
				{Name: "optuser", Version: "1.0-1", OptDepends: []string{"optleaf"}, Files: file("optuser")},
			}
			r.Install(t, explicit[1]) // usesshared needs it
			r.InstallAsDeps(t, deps...)
			r.Install(t, append(explicit[:1:1], explicit[2:]...)...)
			r.AddRepo(t, "core", testroot.Pkg{Name: "app", Version: "1.0-1"}, testroot.Pkg{Name: "libchain1", Version: "0.9-1"}, testroot.Pkg{Name: "oa", Version: "1.0-1"})

			// Damage the installed files: a missing file, a missing
			// directory, and a directory replaced by a file.
			for _, p := range []string{"usr/share/oa/data", "usr/share/tool/data", "usr/share/tool"} {
				if err := os.Remove(r.Path(p)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.RemoveAll(r.Path("usr/share/docs/nd/sub")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(r.Path("usr/share/docs/nd/sub"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}

			cfg, db := loadRoot(t, r)
			keep := func(n string) bool { return n == "allowed" }
			g := NewGraph(db, Options{HoldPkg: cfg.HoldPkg, Keep: keep, Optional: mode})
			orphans := g.Orphans()
			wantAll := []string{"libv1", "oa", "ob", "oc", "oopt", "usesshared"}
			if mode == OptionalIgnore {
				wantAll = []string{"libv1", "oa", "ob", "oc", "oopt", "optlib", "optpkg", "usesshared"}
			}
			if got := orphanNames(orphans, nil); !reflect.DeepEqual(got, wantAll) {
				t.Errorf("orphans %q, want %q", got, wantAll)
			}
			for _, o := range orphans {
				if o.Cycle {
					t.Errorf("%s marked cycle in an acyclic root", o.Package.Name)
				}
			}

			qdt, qet := "-Qdtq", "-Qetq"
			if mode == OptionalIgnore {
				qdt, qet = "-Qdttq", "-Qettq"
			}
			// One pacman run lists the orphans nothing (optionally) needs.
			first := orphanNames(orphans, func(o Orphan) bool {
				return len(o.RequiredBy) == 0 && (mode == OptionalIgnore || len(o.OptionalFor) == 0)
			})
			if want := without(pacmanList(t, r, qdt), "held", "allowed"); !reflect.DeepEqual(first, want) {
				t.Errorf("top-level orphans %q, pacman %s %q", first, qdt, want)
			}
			if got, want := pkgNames(g.Unneeded()), without(pacmanList(t, r, qet), "held", "allowed"); !reflect.DeepEqual(got, want) {
				t.Errorf("unneeded %q, pacman %s %q", got, qet, want)
			}
			foreign, ok := Foreign(db, keep)
			if got, want := pkgNames(foreign), without(pacmanList(t, r, "-Qmq"), "allowed"); !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("foreign %q (ok %v), pacman -Qmq %q", got, ok, want)
			}
			missing, errs, err := MissingFiles(context.Background(), cfg.RootDir, db, cfg.NoExtract)
			if err != nil || len(errs) > 0 {
				t.Fatalf("MissingFiles: %v %v", err, errs)
			}
			var gotMissing []string
			for _, m := range missing {
				gotMissing = append(gotMissing, m.Package+" "+m.Path)
			}
			sort.Strings(gotMissing)
			var wantMissing []string
			// -Qk exits 1 when it found problems.
			qk, stderr, code := r.PacmanErr(t, "-Qkq")
			if code > 1 {
				t.Fatalf("pacman -Qkq: exit %d: %s", code, stderr)
			}
			for _, l := range lines(qk) {
				name, path, _ := strings.Cut(l, " ")
				wantMissing = append(wantMissing, name+" /"+strings.TrimPrefix(path, strings.TrimSuffix(r.Dir, "/")+"/"))
			}
			sort.Strings(wantMissing)
			if !reflect.DeepEqual(gotMissing, wantMissing) || len(wantMissing) == 0 {
				t.Errorf("missing %q, pacman -Qkq %q", gotMissing, wantMissing)
			}

			checkRemovals(t, r, orphans)

			// Last, as it removes packages: all orphans, round by round.
			if got, want := orphanNames(orphans, nil), iteratedQdt(t, r, qdt, "held", "allowed"); !reflect.DeepEqual(got, want) {
				t.Errorf("orphans %q, repeated pacman %s %q", got, qdt, want)
			}
		})
	}
}

// TestPacmanCycles: with dependency cycles, the orphans are what "pacman
// -Qqd | pacman -Rsu --print -" removes (optional dependencies ignored),
// and those not marked cycle are what repeated pacman -Qdt finds.
func TestPacmanCycles(t *testing.T) {
	for _, mode := range []OptionalMode{OptionalKeep, OptionalIgnore} {
		t.Run(mode.String(), func(t *testing.T) {
			r := testroot.New(t, testroot.WithHoldPkg("held"))
			deps := []testroot.Pkg{
				{Name: "kept1", Version: "1.0-1", Depends: []string{"kept2"}},
				{Name: "kept2", Version: "1.0-1", Depends: []string{"kept1"}},
				{Name: "head", Version: "1.0-1", Depends: []string{"c2a"}},
				{Name: "c2a", Version: "1.0-1", Depends: []string{"c2b", "virt>=2"}},
				{Name: "c2b", Version: "1.0-1", Depends: []string{"c2a"}},
				{Name: "pv1", Version: "1.0-1", Provides: []string{"virt=1"}},
				{Name: "pv2", Version: "1.0-1", Provides: []string{"virt=2"}},
				{Name: "c3a", Version: "1.0-1", Depends: []string{"c3b"}},
				{Name: "c3b", Version: "1.0-1", Depends: []string{"c3c"}},
				{Name: "c3c", Version: "1.0-1", Depends: []string{"c3a", "tail"}},
				{Name: "tail", Version: "1.0-1"},
				{Name: "selfy", Version: "1.0-1", Depends: []string{"selfy"}},
				{Name: "oc1", Version: "1.0-1", Depends: []string{"oc2"}},
				{Name: "oc2", Version: "1.0-1", OptDepends: []string{"oc1"}},
				{Name: "held", Version: "1.0-1", Depends: []string{"heldpeer"}},
				{Name: "heldpeer", Version: "1.0-1", Depends: []string{"held"}},
				{Name: "allowed", Version: "1.0-1", Depends: []string{"allowpeer"}},
				{Name: "allowpeer", Version: "1.0-1", Depends: []string{"allowed"}},
				{Name: "plain", Version: "1.0-1"},
			}
			r.InstallAsDeps(t, deps...)
			r.Install(t, testroot.Pkg{Name: "app", Version: "1.0-1", Depends: []string{"kept1"}})

			cfg, db := loadRoot(t, r)
			g := NewGraph(db, Options{HoldPkg: cfg.HoldPkg, Keep: func(n string) bool { return n == "allowed" }, Optional: mode})
			orphans := g.Orphans()
			all := orphanNames(orphans, nil)
			cycles := orphanNames(orphans, func(o Orphan) bool { return o.Cycle })
			wantCycles := []string{"c2a", "c2b", "c3a", "c3b", "c3c", "pv2", "selfy", "tail"}
			if mode == OptionalKeep {
				wantCycles = []string{"c2a", "c2b", "c3a", "c3b", "c3c", "oc1", "oc2", "pv2", "selfy", "tail"}
			}
			if !reflect.DeepEqual(cycles, wantCycles) {
				t.Errorf("cycle orphans %q, want %q", cycles, wantCycles)
			}
			if mode == OptionalIgnore {
				if want := rsuOracle(t, r, "held", "heldpeer", "allowed", "allowpeer"); !reflect.DeepEqual(all, want) {
					t.Errorf("orphans %q, pacman -Qqd | pacman -Rsu --print - %q", all, want)
				}
			}
			checkRemovals(t, r, orphans)

			qdt := "-Qdtq"
			if mode == OptionalIgnore {
				qdt = "-Qdttq"
			}
			peeled := orphanNames(orphans, func(o Orphan) bool { return !o.Cycle })
			if want := iteratedQdt(t, r, qdt, "held", "allowed"); !reflect.DeepEqual(peeled, want) {
				t.Errorf("orphans outside cycles %q, repeated pacman %s %q", peeled, qdt, want)
			}
		})
	}
}

// TestPacmanTwoProviders pins down where pacman's own tools disagree: with
// two installed providers of a needed name, pacman -Qdt keeps both (and so
// does pactidy), while -Rsu removes one of them.
func TestPacmanTwoProviders(t *testing.T) {
	r := testroot.New(t)
	r.InstallAsDeps(t,
		testroot.Pkg{Name: "sha", Version: "1.0-1", Provides: []string{"sh"}},
		testroot.Pkg{Name: "shb", Version: "1.0-1", Provides: []string{"sh"}})
	r.Install(t, testroot.Pkg{Name: "app", Version: "1.0-1", Depends: []string{"sh"}})
	_, db := loadRoot(t, r)
	got := orphanNames(NewGraph(db, Options{Optional: OptionalIgnore}).Orphans(), nil)
	if want := pacmanList(t, r, "-Qdttq"); len(want) != 0 || len(got) != 0 {
		t.Errorf("orphans %q, pacman -Qdttq %q", got, want)
	}
	t.Logf("pacman -Qqd | pacman -Rsu --print - removes %q", rsuOracle(t, r))
}

func TestPacfilesOnRoot(t *testing.T) {
	r := testroot.New(t)
	write := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(r.Path(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.Path(p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPkg := func(version, content string) testroot.Pkg {
		return testroot.Pkg{Name: "cfg", Version: version, Backup: []string{"etc/cfg.conf"}, Files: map[string]string{"etc/cfg.conf": content}}
	}
	gone := testroot.Pkg{Name: "gone", Version: "1.0-1", Backup: []string{"etc/gone.conf"}, Files: map[string]string{"etc/gone.conf": "a=1\n"}}

	// .pacnew: the user changed the file, the new version changes it too.
	r.Install(t, cfgPkg("1.0-1", "a=1\n"))
	write("etc/cfg.conf", "a=mine\n")
	r.Install(t, cfgPkg("2.0-1", "a=2\n"))
	// .pacsave, twice: the second removal shifts the first to .pacsave.1.
	for i := 0; i < 2; i++ {
		r.Install(t, gone)
		write("etc/gone.conf", "a=mine\n")
		r.Pacman(t, "--noconfirm", "-R", "gone")
	}
	// A backup file already on disk when its package is installed with
	// --overwrite: pacman 6.0 keeps the file and writes .pacnew (not
	// .pacorig, which older pacman wrote here).
	write("etc/orig.conf", "mine\n")
	r.Pacman(t, "--noconfirm", "-U", "--overwrite", "*", r.Build(t, testroot.Pkg{Name: "orig", Version: "1.0-1", Backup: []string{"etc/orig.conf"}, Files: map[string]string{"etc/orig.conf": "pkg\n"}}))
	// A backup file outside /etc, a pacfile of a file that is no backup,
	// and a stray one whose original nobody owns.
	r.Install(t, testroot.Pkg{Name: "usrcfg", Version: "1.0-1", Backup: []string{"usr/share/usrcfg/x.conf"},
		Files: map[string]string{"usr/share/usrcfg/x.conf": "x\n", "etc/plain.conf": "p\n"}})
	write("usr/share/usrcfg/x.conf.pacnew", "x2\n")
	write("usr/share/usrcfg/other.pacnew", "not a backup\n")
	write("etc/plain.conf.pacsave", "old\n")
	write("etc/sub/dir/stray.pacorig", "?\n")
	write("etc/cfg.conf.pacorig", "older\n")

	_, db := loadRoot(t, r)
	found, errs := Pacfiles(r.Dir, db)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	var got []string
	for _, f := range found {
		got = append(got, f.Path+" "+f.Kind+" "+f.Package)
	}
	want := []string{
		"/etc/cfg.conf.pacnew pacnew cfg",
		"/etc/cfg.conf.pacorig pacorig cfg",
		"/etc/gone.conf.pacsave pacsave ",
		"/etc/gone.conf.pacsave.1 pacsave ",
		"/etc/orig.conf.pacnew pacnew orig",
		"/etc/plain.conf.pacsave pacsave usrcfg",
		"/etc/sub/dir/stray.pacorig pacorig ",
		"/usr/share/usrcfg/x.conf.pacnew pacnew usrcfg",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pacfiles:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
