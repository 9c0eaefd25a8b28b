package clean

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
	"github.com/pactidy/pactidy/scan"
)

// fixture installs, with the real pacman:
//
//	app (explicit) -> lib1             kept
//	tool (explicit) -> tooldep         unneeded explicit package
//	oa <-> ob                          orphans in a dependency cycle
//	oc -> od                           orphan taking its dependency along
//	top -> base                        orphans; base alone needs -Rcns
//	cfgorphan                          orphan with a modified backup file
//	victim                             orphan
func fixture(t *testing.T) (*testroot.Root, *conf.Config) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("removing packages with the real pacman needs root")
	}
	fixturePkgs.once.Do(buildFixturePkgs)
	if fixturePkgs.err != nil {
		t.Fatal(fixturePkgs.err)
	}
	r := testroot.New(t)
	r.Pacman(t, append([]string{"--noconfirm", "-U", "--asdeps"}, fixturePkgs.deps...)...)
	r.Pacman(t, append([]string{"--noconfirm", "-U"}, fixturePkgs.explicit...)...)
	// A changed configuration file: -Rns deletes it, -Rs keeps a .pacsave.
	if err := os.WriteFile(r.Path("etc/cfgorphan.conf"), []byte("setting=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(r.Config, conf.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	return r, cfg
}

// fixturePkgs are the fixture's package files, built once for all tests
// (building is most of the time of a fixture).
var fixturePkgs struct {
	once           sync.Once
	dir            string
	deps, explicit []string
	err            error
}

func buildFixturePkgs() {
	f := &fixturePkgs
	if f.dir, f.err = os.MkdirTemp("", "clean-test-pkgs-"); f.err != nil {
		return
	}
	file := func(name string, n int) map[string]string {
		return map[string]string{"usr/share/" + name + "/data": strings.Repeat(name, n)}
	}
	build := func(out *[]string, pkgs ...testroot.Pkg) {
		for _, p := range pkgs {
			if f.err != nil {
				return
			}
			var path string
			path, f.err = testroot.BuildPackage(f.dir, p)
			*out = append(*out, path)
		}
	}
	build(&f.deps,
		testroot.Pkg{Name: "lib1", Version: "1.0-1", Files: file("lib1", 100)},
		testroot.Pkg{Name: "oa", Version: "1.0-1", Depends: []string{"ob"}, Files: file("oa", 200)},
		testroot.Pkg{Name: "ob", Version: "2.0-1", Depends: []string{"oa"}, Files: file("ob", 300)},
		testroot.Pkg{Name: "oc", Version: "1.0-1", Depends: []string{"od>=1"}, Files: file("oc", 400)},
		testroot.Pkg{Name: "od", Version: "1.5-1", Files: file("od", 500)},
		testroot.Pkg{Name: "base", Version: "1.0-1", Files: file("base", 600)},
		testroot.Pkg{Name: "top", Version: "1.0-1", Depends: []string{"base"}, Files: file("top", 700)},
		testroot.Pkg{Name: "tooldep", Version: "1.0-1", Files: file("tooldep", 800)},
		testroot.Pkg{Name: "cfgorphan", Version: "1.0-1", Backup: []string{"etc/cfgorphan.conf"},
			Files: map[string]string{"etc/cfgorphan.conf": "setting=1\n", "usr/share/cfgorphan/data": "x"}},
		testroot.Pkg{Name: "victim", Version: "1.0-1", Files: file("victim", 50)},
	)
	build(&f.explicit,
		testroot.Pkg{Name: "app", Version: "1.0-1", Depends: []string{"lib1"}, Files: file("app", 10)},
		testroot.Pkg{Name: "tool", Version: "1.0-1", Depends: []string{"tooldep"}, Files: file("tool", 20)},
	)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixturePkgs.dir != "" {
		os.RemoveAll(fixturePkgs.dir)
	}
	os.Exit(code)
}

func graph(t *testing.T, r *testroot.Root) (*pkg.DB, *scan.Graph) {
	t.Helper()
	cfg, db := testdb.Load(t, r.Config, conf.Overrides{})
	return db, scan.NewGraph(db, scan.Options{HoldPkg: cfg.HoldPkg})
}

func installed(t *testing.T, r *testroot.Root) []string {
	t.Helper()
	_, db := testdb.Load(t, r.Config, conf.Overrides{})
	var out []string
	for _, p := range db.Packages {
		out = append(out, p.Name+"-"+p.Version)
	}
	return out
}

func planNames(a *RemovePackages) []string {
	var out []string
	for _, p := range a.Packages {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// printOracle is what the real pacman says it would remove ("pacman
// -R[c]s --print"; -n is refused with --print and changes nothing of the
// set).
func printOracle(t *testing.T, r *testroot.Root, a *RemovePackages) []string {
	t.Helper()
	flags := "-Rs"
	if a.Cascade {
		flags = "-Rcs"
	}
	out := r.Pacman(t, append([]string{flags, "--print", "--print-format", "%n"}, a.Targets...)...)
	names := strings.Fields(out)
	sort.Strings(names)
	return names
}

// run carries the plan out with pacman's output in buffers and records
// the events.
func run(t *testing.T, cfg *conf.Config, a Action, opts Options) (*Result, []Event, string, error) {
	t.Helper()
	var out bytes.Buffer
	opts.Stdin = strings.NewReader("")
	opts.Stdout, opts.Stderr = &out, &out
	var events []Event
	res, err := Run(context.Background(), &Plan{Config: cfg, Actions: []Action{a}}, opts, func(e Event) { events = append(events, e) })
	return res, events, out.String(), err
}

func commandOf(events []Event) []string {
	for _, e := range events {
		if e.Kind == Command {
			return e.Argv
		}
	}
	return nil
}

// checkRemoved compares the database after a run with the plan: exactly
// the planned packages are gone, everything else is still installed, and
// the result's figures are the planned ones.
func checkRemoved(t *testing.T, r *testroot.Root, before []string, a *RemovePackages, res *Result) {
	t.Helper()
	gone := map[string]bool{}
	var freed int64
	for _, p := range a.Packages {
		gone[p.Name+"-"+p.Version] = true
		freed += p.Size
	}
	var want []string
	for _, p := range before {
		if !gone[p] {
			want = append(want, p)
		}
	}
	if got := installed(t, r); !reflect.DeepEqual(got, want) {
		t.Errorf("installed after the run: %q, want %q", got, want)
	}
	pr := res.Actions[0].Packages
	if pr == nil {
		t.Fatal("no package result")
	}
	var removed []string
	for _, it := range pr.Removed {
		removed = append(removed, it.Name)
	}
	sort.Strings(removed)
	if !reflect.DeepEqual(removed, planNames(a)) || len(pr.Kept) > 0 || len(pr.Unexpected) > 0 {
		t.Errorf("result: removed %q, kept %q, unexpected %v; plan %q", removed, pr.Kept, pr.Unexpected, planNames(a))
	}
	if pr.Freed != freed || res.Bytes != freed || res.Done != len(a.Packages) || res.Failed != 0 {
		t.Errorf("result: freed %d, bytes %d, done %d, failed %d; plan: %d bytes, %d packages", pr.Freed, res.Bytes, res.Done, res.Failed, freed, len(a.Packages))
	}
}

func TestRemoveAllOrphans(t *testing.T) {
	r, cfg := fixture(t)
	_, g := graph(t, r)
	a, err := PlanPackages(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"base", "cfgorphan", "oa", "ob", "oc", "od", "top", "victim"}
	if got := planNames(a); !reflect.DeepEqual(got, want) {
		t.Fatalf("plan removes %q, want %q", got, want)
	}
	// Every requirer of an orphan is an orphan: all of them together
	// need no cascade, and the plan is what pacman itself would do.
	if a.Cascade {
		t.Error("cascade planned for the whole set of orphans")
	}
	if got := printOracle(t, r, a); !reflect.DeepEqual(got, want) {
		t.Fatalf("pacman --print removes %q, the plan %q", got, want)
	}
	before := installed(t, r)
	res, events, out, err := run(t, cfg, a, Options{Confirmed: true})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	argv := commandOf(events)
	if len(argv) < 8 || filepath.Base(argv[0]) != "pacman" ||
		!reflect.DeepEqual(argv[1:9], []string{"--config", r.Config, "--root", r.Dir, "--dbpath", r.DBPath, "-Rns", "--noconfirm"}) ||
		!reflect.DeepEqual(argv[10:], a.Targets) {
		t.Errorf("command line %q", argv)
	}
	checkRemoved(t, r, before, a, res)
	// -n: the modified configuration file went too.
	for _, p := range []string{"etc/cfgorphan.conf", "etc/cfgorphan.conf.pacsave"} {
		if _, err := os.Lstat(r.Path(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after -Rns: %v", p, err)
		}
	}
	// The events count up to the result.
	last := events[len(events)-1]
	if last.Kind != ActionDone || last.Progress.Done != len(a.Packages) || last.Progress.BytesDone != a.Bytes() || last.Progress.Items != len(a.Packages) {
		t.Errorf("last event %+v", last)
	}
	// pacman's own output reached the writer it was given.
	if !strings.Contains(out, "removing") {
		t.Errorf("pacman's output not passed through: %q", out)
	}
}

func TestRemoveCascade(t *testing.T) {
	r, cfg := fixture(t)
	_, g := graph(t, r)
	a, err := PlanPackages(g, []string{"base", "oc"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"base", "oc", "od", "top"}
	if got := planNames(a); !a.Cascade || !reflect.DeepEqual(got, want) {
		t.Fatalf("plan: cascade %v, removes %q; want cascade, %q", a.Cascade, got, want)
	}
	if got := printOracle(t, r, a); !reflect.DeepEqual(got, want) {
		t.Fatalf("pacman -Rcs --print removes %q, the plan %q", got, want)
	}
	before := installed(t, r)
	res, events, out, err := run(t, cfg, a, Options{Confirmed: true})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if argv := commandOf(events); !contains(argv, "-Rcns") {
		t.Errorf("command line %q, want -Rcns", argv)
	}
	checkRemoved(t, r, before, a, res)
}

func TestRemoveCycleMember(t *testing.T) {
	r, cfg := fixture(t)
	_, g := graph(t, r)
	// One member of a cycle: the other needs it, so it goes by cascade.
	a, err := PlanPackages(g, []string{"oa"})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(a); !a.Cascade || !reflect.DeepEqual(got, []string{"oa", "ob"}) {
		t.Fatalf("plan: cascade %v, removes %q", a.Cascade, got)
	}
	before := installed(t, r)
	res, _, out, err := run(t, cfg, a, Options{Confirmed: true})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	checkRemoved(t, r, before, a, res)
}

func TestRemoveKeepConfigAndUnneeded(t *testing.T) {
	r, cfg := fixture(t)
	_, g := graph(t, r)
	// tool is explicit and nothing needs it: allowed when named.
	a, err := PlanPackages(g, []string{"cfgorphan", "tool"})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(a); a.Cascade || !reflect.DeepEqual(got, []string{"cfgorphan", "tool", "tooldep"}) {
		t.Fatalf("plan: cascade %v, removes %q", a.Cascade, got)
	}
	if got := printOracle(t, r, a); !reflect.DeepEqual(got, planNames(a)) {
		t.Fatalf("pacman --print removes %q, the plan %q", got, planNames(a))
	}
	before := installed(t, r)
	res, events, out, err := run(t, cfg, a, Options{Confirmed: true, KeepConfig: true})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if argv := commandOf(events); !contains(argv, "-Rs") {
		t.Errorf("command line %q, want -Rs", argv)
	}
	checkRemoved(t, r, before, a, res)
	if b, err := os.ReadFile(r.Path("etc/cfgorphan.conf.pacsave")); err != nil || string(b) != "setting=2\n" {
		t.Errorf("with --keep-config the changed file stays as .pacsave: %q, %v", b, err)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestRefusals share one root: nothing here may change it.
func TestRefusals(t *testing.T) {
	r, cfg := fixture(t)
	t.Run("non-orphans", func(t *testing.T) { testRefuseNonOrphans(t, r) })
	t.Run("allowlisted-taken-along", func(t *testing.T) { testRefuseAllowlistedTakenAlong(t, r) })
	t.Run("lock-held", func(t *testing.T) { testLockHeldChangesNothing(t, r, cfg) })
}

func testRefuseNonOrphans(t *testing.T, r *testroot.Root) {
	_, g := graph(t, r)
	_, err := PlanPackages(g, []string{"oa", "lib1", "nosuch", "app"})
	var ref *RefusedError
	if !errors.As(err, &ref) {
		t.Fatalf("PlanPackages: %v, want a refusal", err)
	}
	got := map[string]Refusal{}
	for _, x := range ref.Refusals {
		got[x.Name] = x
	}
	if len(got) != 2 {
		t.Errorf("refused %v; want lib1 and nosuch only (oa is an orphan, app an unneeded explicit package)", ref.Refusals)
	}
	lib1 := got["lib1"]
	if lib1.Why == nil || lib1.Why.Kind != scan.WhyRequired ||
		!reflect.DeepEqual(lib1.Why.Chain, []scan.Link{{Name: "app"}, {Name: "lib1"}}) ||
		!strings.Contains(lib1.Reason, "app -> lib1") {
		t.Errorf("lib1 refused with %+v", lib1)
	}
	if n := got["nosuch"]; n.Why != nil || n.Reason != "not installed" {
		t.Errorf("nosuch refused with %+v", n)
	}
}

func testRefuseAllowlistedTakenAlong(t *testing.T, r *testroot.Root) {
	cfg, db := testdb.Load(t, r.Config, conf.Overrides{})
	// od is kept by the allowlist, but oc needs it and nothing else does:
	// pacman -Rns oc would take it.
	g := scan.NewGraph(db, scan.Options{HoldPkg: cfg.HoldPkg, Keep: func(n string) bool { return n == "od" }})
	_, err := PlanPackages(g, []string{"oc"})
	var ref *RefusedError
	if !errors.As(err, &ref) || !strings.Contains(err.Error(), "also remove od") {
		t.Fatalf("PlanPackages: %v, want a refusal naming od", err)
	}
}

func testLockHeldChangesNothing(t *testing.T, r *testroot.Root, cfg *conf.Config) {
	_, g := graph(t, r)
	a, err := PlanPackages(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(r.DBPath, "db.lck")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(lock)
	before := installed(t, r)
	_, events, out, err := run(t, cfg, a, Options{Confirmed: true})
	var le *LockedError
	if !errors.As(err, &le) || le.Path != lock || !strings.Contains(err.Error(), "pacman is running") {
		t.Fatalf("run with db.lck held: %v", err)
	}
	if len(events) > 0 || out != "" {
		t.Errorf("something happened: events %v, output %q", events, out)
	}
	if got := installed(t, r); !reflect.DeepEqual(got, before) {
		t.Errorf("installed %q, before %q", got, before)
	}
	// PreparePackages (the TUI's way in) refuses as well.
	if _, err := PreparePackages(cfg, a, Options{}); !errors.As(err, &le) {
		t.Errorf("PreparePackages with db.lck held: %v", err)
	}
}

func TestDatabaseChangedSincePlan(t *testing.T) {
	r, cfg := fixture(t)
	_, g := graph(t, r)
	a, err := PlanPackages(g, []string{"base"})
	if err != nil {
		t.Fatal(err)
	}
	// Something new needs top now: -Rcns base would take it along.
	r.Install(t, testroot.Pkg{Name: "newapp", Version: "1.0-1", Depends: []string{"top"}})
	before := installed(t, r)
	res, events, out, err := run(t, cfg, a, Options{Confirmed: true})
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "newapp would be removed too") {
		t.Fatalf("run: %v", err)
	}
	if commandOf(events) != nil || out != "" || res.Skipped != len(a.Packages) {
		t.Errorf("pacman ran or items not skipped: events %v, output %q", events, out)
	}
	if got := installed(t, r); !reflect.DeepEqual(got, before) {
		t.Errorf("installed %q, before %q", got, before)
	}
}

func TestElevation(t *testing.T) {
	r, cfg := fixture(t)
	_, g := graph(t, r)
	a, err := PlanPackages(g, []string{"oc"})
	if err != nil {
		t.Fatal(err)
	}
	// The elevation command is glue: it records its arguments and runs
	// them. pacman itself is real.
	dir := t.TempDir()
	record := filepath.Join(dir, "argv")
	script := filepath.Join(dir, "elevate")
	body := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + record + "\n[ \"$1\" = --flag ] && shift\nexec \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	before := installed(t, r)
	opts := Options{Confirmed: true, Elevate: script + " --flag", IsRoot: func() bool { return false }}
	res, events, out, err := run(t, cfg, a, opts)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	argv := commandOf(events)
	if len(argv) < 3 || argv[0] != script || argv[1] != "--flag" || filepath.Base(argv[2]) != "pacman" {
		t.Fatalf("command line %q", argv)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); !reflect.DeepEqual(got, argv[1:]) {
		t.Errorf("the elevation command got %q; the command line shown was %q", got, argv)
	}
	checkRemoved(t, r, before, a, res)

	// An elevation command that does not exist stops before pacman.
	_, err = PacmanCommand(cfg, a, Options{Elevate: "no-such-elevate-command", IsRoot: func() bool { return false }})
	if err == nil || !strings.Contains(err.Error(), "no-such-elevate-command") {
		t.Errorf("missing elevation command: %v", err)
	}
}

func TestPacmanFailurePassesThrough(t *testing.T) {
	r, cfg := fixture(t)
	_, g := graph(t, r)
	a, err := PlanPackages(g, []string{"victim"})
	if err != nil {
		t.Fatal(err)
	}
	// A hook that makes pacman refuse to remove victim.
	hook := "[Trigger]\nOperation = Remove\nType = Package\nTarget = victim\n\n" +
		"[Action]\nDescription = Refusing to remove victim\nWhen = PreTransaction\nExec = /nonexistent/refuse\nAbortOnFail\n"
	if err := os.WriteFile(filepath.Join(r.HookDir, "refuse.hook"), []byte(hook), 0o644); err != nil {
		t.Fatal(err)
	}
	before := installed(t, r)
	res, _, out, err := run(t, cfg, a, Options{Confirmed: true})
	var pe *PacmanError
	if !errors.As(err, &pe) || pe.ExitStatus() != 1 {
		t.Fatalf("run: %v, want pacman's exit status 1\n%s", err, out)
	}
	if !strings.Contains(out, "Refusing to remove victim") {
		t.Errorf("pacman's output did not pass through: %q", out)
	}
	if got := installed(t, r); !reflect.DeepEqual(got, before) {
		t.Errorf("installed %q, before %q", got, before)
	}
	pr := res.Actions[0].Packages
	if pr == nil || pr.ExitStatus != 1 || !reflect.DeepEqual(pr.Kept, []string{"victim"}) || len(pr.Removed) != 0 || res.Failed != 1 {
		t.Errorf("result %+v, packages %+v", res, pr)
	}
}
