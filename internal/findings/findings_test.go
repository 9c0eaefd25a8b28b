package findings

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/internal/testroot"
	"github.com/pactidy/pactidy/scan"
)

// fullRoot is a pacman-built root with something in every section: an
// orphan chain and a two-package cycle, an unneeded explicit package, a
// foreign package, a missing file, a .pacnew, unowned files (one with a
// name that is not UTF-8), old versions in the cache, a cache directory
// that is not a directory (an error of the cache section) and an allowlist
// keeping one package and one path.
func fullRoot(t *testing.T) (*conf.Config, *allowlist.List) {
	t.Helper()
	r := testroot.New(t, testroot.WithHoldPkg("glibc"))
	files := func(name string) map[string]string {
		return map[string]string{"usr/share/" + name + "/data": strings.Repeat("x", 1000)}
	}
	r.InstallAsDeps(t,
		testroot.Pkg{Name: "glibc", Version: "2.40-1", Files: files("glibc")},
		testroot.Pkg{Name: "gtk3", Version: "3.24-1", Depends: []string{"cairo"}, Files: files("gtk3")},
		testroot.Pkg{Name: "cairo", Version: "1.18-1", Files: files("cairo")},
		testroot.Pkg{Name: "oldlib", Version: "1.0-1", Depends: []string{"oldlib-data"}, Files: files("oldlib")},
		testroot.Pkg{Name: "oldlib-data", Version: "1.0-1", Files: files("oldlib-data")},
		testroot.Pkg{Name: "cyc-a", Version: "1.0-1", Depends: []string{"cyc-b"}, Files: files("cyc-a")},
		testroot.Pkg{Name: "cyc-b", Version: "1.0-1", Depends: []string{"cyc-a"}, Files: files("cyc-b")},
		testroot.Pkg{Name: "kept-dep", Version: "1.0-1", Files: files("kept-dep")},
	)
	r.Install(t, testroot.Pkg{Name: "firefox", Version: "130.0-1", Depends: []string{"gtk3"}, Backup: []string{"etc/firefox.conf"},
		Files: map[string]string{"etc/firefox.conf": "a=1\n", "usr/bin/firefox": "#!/bin/sh\n"}})
	r.AddRepo(t, "core", testroot.Pkg{Name: "glibc", Version: "2.40-1"}, testroot.Pkg{Name: "gtk3", Version: "3.24-1"},
		testroot.Pkg{Name: "cairo", Version: "1.18-1"}, testroot.Pkg{Name: "oldlib", Version: "1.0-1"},
		testroot.Pkg{Name: "cyc-a", Version: "1.0-1"}, testroot.Pkg{Name: "cyc-b", Version: "1.0-1"})
	if err := os.Remove(r.Path("usr/bin/firefox")); err != nil {
		t.Fatal(err)
	}
	for rel, content := range map[string]string{
		"etc/firefox.conf.pacnew":   "a=2\n",
		"opt/app/a":                 "aaa",
		"opt/app/b/c":               "cc",
		"usr/share/gtk3/bad\xffone": "b",
		"usr/share/gtk3/kept":       "k",
		"etc/machine-id":            "id",
		"var/cache/pacman/notpkg":   "not a package",
	} {
		p := r.Path(rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"3.20-1", "3.22-1", "3.23-1", "3.24-1"} {
		testroot.Build(t, r.CacheDir, testroot.Pkg{Name: "gtk3", Version: v, Files: files("gtk3")})
	}
	cfg, err := conf.Load(r.Config, conf.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.CacheDirs = append(cfg.CacheDirs, r.Path("var/cache/pacman/notpkg"))
	al := filepath.Join(t.TempDir(), "allowlist")
	if err := os.WriteFile(al, []byte("package kept-dep\npath /usr/share/gtk3/kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	allow, err := allowlist.Load(allowlist.Sources{SysConfDir: t.TempDir(), Extra: []string{al}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, allow
}

// The tests of Run share one root: pacman takes seconds to build it.
func TestRun(t *testing.T) {
	cfg, allow := fullRoot(t)
	t.Run("ConcurrentMatchesSequential", func(t *testing.T) { testConcurrentMatchesSequential(t, cfg, allow) })
	t.Run("ProgressCounts", func(t *testing.T) { testProgressCounts(t, cfg, allow) })
	t.Run("SectionFailure", func(t *testing.T) { testSectionFailure(t, cfg, allow) })
	t.Run("SomeSections", func(t *testing.T) { testSomeSections(t, cfg, allow) })
	t.Run("Why", func(t *testing.T) { testWhy(t, cfg, allow) })
}

var fixedNow = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func options(cfg *conf.Config, allow *allowlist.List) Options {
	return Options{Config: cfg, Allow: allow, Now: fixedNow, Getenv: func(string) string { return "" }}
}

// events records what a run emits, checking that emit is never called
// concurrently.
type events struct {
	mu     sync.Mutex
	inside bool
	t      *testing.T
	list   []Event
}

func (e *events) emit(ev Event) {
	if !e.mu.TryLock() {
		e.t.Error("emit called while another call is running")
		e.mu.Lock()
	}
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *events) done() map[string]*Result {
	out := map[string]*Result{}
	for _, ev := range e.list {
		if ev.Kind == EventSection {
			if out[ev.Section] != nil {
				e.t.Errorf("section %s delivered twice", ev.Section)
			}
			out[ev.Section] = ev.Result
		}
	}
	return out
}

// The concurrent run gives exactly the report of the sequential one, every
// time: same entries in the same order, the same errors once each.
func testConcurrentMatchesSequential(t *testing.T, cfg *conf.Config, allow *allowlist.List) {
	seqOpts := options(cfg, allow)
	seqOpts.Sequential = true
	seq, err := Run(context.Background(), seqOpts, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := seq.Report
	// The root is what it claims: every section found something.
	if len(rep.Orphans) != 4 || len(rep.Unneeded) != 1 || len(rep.Foreign) != 2 || len(rep.MissingFiles) != 1 ||
		len(rep.Pacfiles) != 1 || len(rep.Unowned) < 2 || rep.Cache == nil || len(rep.Cache.Candidates) != 1 {
		t.Fatalf("sequential report is not the planted one: %+v", rep)
	}
	if !reflect.DeepEqual(rep.Sections, report.AllSections) || rep.Installed != 9 || !rep.GeneratedAt.Equal(fixedNow()) {
		t.Errorf("header: sections %v, installed %d, time %v", rep.Sections, rep.Installed, rep.GeneratedAt)
	}
	var bad string
	for _, u := range rep.Unowned {
		if u.PathBytes != "" {
			bad = u.Path
		}
		if u.Path == "/usr/share/gtk3/kept" {
			t.Errorf("allowlisted path reported: %+v", u)
		}
	}
	if bad == "" {
		t.Errorf("no unowned path with raw bytes: %+v", rep.Unowned)
	}
	if len(rep.Errors) != 1 || !strings.HasSuffix(rep.Errors[0].Path, "/notpkg") {
		t.Errorf("errors %+v, want the cache directory that is not one", rep.Errors)
	}
	for i := 0; i < 3; i++ {
		ev := &events{t: t}
		o := options(cfg, allow)
		o.ProgressInterval = time.Millisecond
		got, err := Run(context.Background(), o, ev.emit)
		if err != nil {
			t.Fatal(err)
		}
		// Only the times may differ.
		if len(got.Report.Elapsed) != len(report.AllSections) || len(rep.Elapsed) != len(report.AllSections) {
			t.Errorf("run %d: elapsed %v, sequential %v", i, got.Report.Elapsed, rep.Elapsed)
		}
		got.Report.Elapsed = rep.Elapsed
		if !reflect.DeepEqual(got.Report, rep) {
			t.Fatalf("run %d: concurrent report differs from the sequential one\n got %+v\nwant %+v", i, got.Report, rep)
		}
		// Each section arrived once, holding what the final report holds.
		parts := ev.done()
		if len(parts) != len(report.AllSections)+1 {
			t.Errorf("run %d: %d sections delivered, want %d", i, len(parts), len(report.AllSections)+1)
		}
		for _, sec := range report.AllSections {
			p := parts[sec]
			if p == nil {
				t.Errorf("run %d: %s never delivered", i, sec)
				continue
			}
			want := sectionOnly(got.Report, sec)
			p.Report.Errors = nil
			if !reflect.DeepEqual(p.Report, want) {
				t.Errorf("run %d: part %s\n got %+v\nwant %+v", i, sec, p.Report, want)
			}
		}
		first := ""
		for _, e := range ev.list {
			if e.Kind == EventSection && first == "" {
				first = e.Section
			}
		}
		if db := parts[SectionDatabase]; db == nil || db.DB == nil || db.Graph == nil || first != SectionDatabase {
			t.Errorf("run %d: the database is not the first section delivered", i)
		}
		if parts[report.SectionCache].CachePlan != got.CachePlan || got.CachePlan == nil || parts[report.SectionUnowned].Unowned != got.Unowned {
			t.Errorf("run %d: the plan or the unowned scan of the parts are not the result's", i)
		}
	}
}

// sectionOnly is rep cut down to one section, as a part carries it
// (without errors).
func sectionOnly(rep *report.Report, sec string) *report.Report {
	p := &report.Report{SchemaVersion: rep.SchemaVersion, Root: rep.Root, GeneratedAt: rep.GeneratedAt, Sections: []string{sec}, Installed: rep.Installed, Optional: rep.Optional}
	switch sec {
	case report.SectionOrphans:
		p.Orphans = rep.Orphans
	case report.SectionUnneeded:
		p.Unneeded = rep.Unneeded
	case report.SectionForeign:
		p.Foreign, p.ForeignUnknown = rep.Foreign, rep.ForeignUnknown
	case report.SectionMissing:
		p.MissingFiles = rep.MissingFiles
	case report.SectionPacfiles:
		p.Pacfiles = rep.Pacfiles
	case report.SectionUnowned:
		p.Unowned = rep.Unowned
	case report.SectionCache:
		p.Cache = rep.Cache
	}
	return p
}

// The final events of the sections that read the disk carry their counts.
func testProgressCounts(t *testing.T, cfg *conf.Config, allow *allowlist.List) {
	ev := &events{t: t}
	res, err := Run(context.Background(), options(cfg, allow), ev.emit)
	if err != nil {
		t.Fatal(err)
	}
	final := map[string]Progress{}
	for _, e := range ev.list {
		if e.Kind == EventProgress {
			if p, ok := final[e.Section]; ok {
				t.Errorf("progress of %s after the section was done: %+v after %+v", e.Section, e.Progress, p)
			}
		}
		if e.Kind == EventSection {
			final[e.Section] = e.Progress
		}
	}
	files := 0
	for _, p := range res.DB.Packages {
		files += len(p.Files)
	}
	if p := final[SectionDatabase]; p.Packages != int64(len(res.DB.Packages)) {
		t.Errorf("database progress %+v, want %d packages", p, len(res.DB.Packages))
	}
	if p := final[report.SectionMissing]; p.Packages != int64(len(res.DB.Packages)) || p.Entries != int64(files) {
		t.Errorf("missing progress %+v, want %d packages and %d files", p, len(res.DB.Packages), files)
	}
	if p := final[report.SectionUnowned]; p.Dirs < 5 || p.Entries <= p.Dirs || p.Bytes < int64(len("aaa")+len("cc")) {
		t.Errorf("unowned progress %+v", p)
	}
	if p := final[report.SectionCache]; p.Dirs != 1 || p.Entries != 4 || p.Bytes <= 0 {
		t.Errorf("cache progress %+v, want 1 directory and 4 packages", p)
	}
	for sec, p := range final {
		if p.Elapsed <= 0 || res.Elapsed[sec] != p.Elapsed {
			t.Errorf("%s: elapsed %v, result %v", sec, p.Elapsed, res.Elapsed[sec])
		}
	}
}

// A section that cannot run stops the run, or with KeepGoing leaves the
// others complete.
func testSectionFailure(t *testing.T, cfg *conf.Config, allow *allowlist.List) {
	o := options(cfg, allow)
	o.Unowned.NoRules = []string{"no-such-rule"}
	ev := &events{t: t}
	if _, err := Run(context.Background(), o, ev.emit); err == nil || !strings.Contains(err.Error(), "no-such-rule") {
		t.Fatalf("err %v, want the unknown rule", err)
	}
	failed := false
	for _, e := range ev.list {
		failed = failed || (e.Kind == EventError && e.Section == report.SectionUnowned)
	}
	if !failed {
		t.Error("no error event for the unowned section")
	}

	o.KeepGoing = true
	res, err := Run(context.Background(), o, nil)
	if err == nil || res == nil {
		t.Fatalf("KeepGoing: result %v, err %v", res, err)
	}
	want := []string{report.SectionOrphans, report.SectionUnneeded, report.SectionForeign, report.SectionMissing, report.SectionPacfiles, report.SectionCache}
	if !reflect.DeepEqual(res.Report.Sections, want) || len(res.Report.Orphans) != 4 || res.Report.Cache == nil {
		t.Errorf("KeepGoing: sections %v, orphans %d", res.Report.Sections, len(res.Report.Orphans))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, options(cfg, allow), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
}

// Only the asked sections are computed, in report order, and the file
// lists are read only for the sections that need them.
func testSomeSections(t *testing.T, cfg *conf.Config, allow *allowlist.List) {
	o := options(cfg, allow)
	o.Sections = []string{report.SectionForeign, report.SectionOrphans}
	res, err := Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{report.SectionOrphans, report.SectionForeign}; !reflect.DeepEqual(res.Report.Sections, want) {
		t.Errorf("sections %v, want %v", res.Report.Sections, want)
	}
	if res.Report.Unowned != nil || res.Report.Cache != nil || len(res.Report.Orphans) != 4 {
		t.Errorf("report %+v", res.Report)
	}
	for _, p := range res.DB.Packages {
		if len(p.Files) > 0 {
			t.Fatalf("%s: file list read for package sections only", p.Name)
		}
	}
	o.Sections = []string{"bogus"}
	if _, err := Run(context.Background(), o, nil); err == nil {
		t.Error("unknown section accepted")
	}
}

func testWhy(t *testing.T, cfg *conf.Config, allow *allowlist.List) {
	whys, err := Why(options(cfg, allow), []string{"cairo", "kept-dep"})
	if err != nil {
		t.Fatal(err)
	}
	if len(whys) != 2 || whys[0].Reason != scan.WhyRequired.String() || len(whys[0].Chain) != 3 || whys[1].Reason != scan.WhyAllowlisted.String() {
		t.Errorf("whys %+v", whys)
	}
	var unknown *UnknownPackageError
	if _, err := Why(options(cfg, allow), []string{"nothing-provides-this"}); !errors.As(err, &unknown) {
		t.Errorf("err %v", err)
	}
}

// The report's cache section is the plan at default settings, with the
// allowlist's packages kept.
func TestCacheSection(t *testing.T) {
	r := testroot.New(t)
	foo := func(v string) testroot.Pkg {
		return testroot.Pkg{Name: "foo", Version: v, Files: map[string]string{"usr/share/foo/" + v: strings.Repeat("x", 2000)}}
	}
	r.Install(t, foo("2.0-1"))
	for _, v := range []string{"0.1-1", "1.0-1", "1.5-1", "1.8-1", "2.0-1"} {
		testroot.Build(t, r.CacheDir, foo(v))
	}
	for _, v := range []string{"1-1", "2-1"} {
		testroot.Build(t, r.CacheDir, testroot.Pkg{Name: "gone", Version: v, Arch: "any"})
	}
	for _, s := range []string{"foo-1.0-1-any.pkg.tar.zst.sig", "stray-1-1-any.pkg.tar.zst.sig"} {
		if err := os.WriteFile(filepath.Join(r.CacheDir, s), make([]byte, 310), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := conf.Load(r.Config, conf.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Config: cfg, Sections: []string{report.SectionCache}, Getenv: func(string) string { return "" }}
	res, err := Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Cache == nil {
		t.Fatal("no cache section")
	}
	var got []string
	for _, c := range res.Report.Cache.Candidates {
		got = append(got, filepath.Base(c.Path))
	}
	sort.Strings(got)
	want := "foo-0.1-1-any.pkg.tar.zst foo-1.0-1-any.pkg.tar.zst foo-1.0-1-any.pkg.tar.zst.sig stray-1-1-any.pkg.tar.zst.sig"
	if strings.Join(got, " ") != want {
		t.Errorf("candidates %q, want %q", got, want)
	}
	if res.CachePlan == nil || res.CachePlan.Removals != 4 {
		t.Errorf("plan %+v", res.CachePlan)
	}
}

func TestUniqueErrors(t *testing.T) {
	in := []report.Error{
		{Path: "/etc/x", Error: "permission denied"},
		{Path: "/etc/y", Error: "permission denied"},
		{Path: "/etc/x", Error: "permission denied"},
		{Path: "/etc/x", Error: "input/output error"},
	}
	got := uniqueErrors(in)
	if len(got) != 3 || got[0].Path != "/etc/x" || got[1].Path != "/etc/y" || got[2].Error != "input/output error" {
		t.Errorf("uniqueErrors = %+v", got)
	}
}

// The AUR build caches looked at by default: the invoking user's (behind
// sudo, SUDO_USER's home) and root's, only for the running system.
func TestDefaultBuildCacheDirs(t *testing.T) {
	paths := func(env map[string]string, root string) []string {
		var out []string
		for _, d := range DefaultBuildCacheDirs(root, func(k string) string { return env[k] }) {
			out = append(out, d.Helper+":"+d.Path)
		}
		return out
	}
	if got := paths(map[string]string{"HOME": "/home/u"}, "/mnt/target"); got != nil {
		t.Errorf("with --root elsewhere: %v, want none (another system's homes)", got)
	}
	got := strings.Join(paths(map[string]string{"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}, "/"), " ")
	if want := "yay:/x/cache/yay paru:/x/cache/paru/clone yay:/root/.cache/yay paru:/root/.cache/paru/clone"; got != want {
		t.Errorf("XDG_CACHE_HOME: %s, want %s", got, want)
	}
	if os.Geteuid() != 0 {
		return
	}
	// Behind sudo, the invoking user's home (root exists on every system).
	got = strings.Join(paths(map[string]string{"SUDO_USER": "root", "HOME": "/elsewhere"}, "/"), " ")
	if want := "yay:/root/.cache/yay paru:/root/.cache/paru/clone yay:/root/.cache/yay paru:/root/.cache/paru/clone"; got != want {
		t.Errorf("sudo: %s, want %s", got, want)
	}
}
