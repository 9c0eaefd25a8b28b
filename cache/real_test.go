package cache_test

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
)

// realCache is a pacman root with installed packages and two cache
// directories of real package files.
type realCache struct {
	r      *testroot.Root
	db     *pkg.DB
	dirs   []string // r.CacheDir and a second one
	recent string   // a file modified an hour ago
}

func newRealCache(t *testing.T) *realCache {
	t.Helper()
	r := testroot.New(t)
	foobar := func(v string) testroot.Pkg {
		return testroot.Pkg{Name: "foo-bar", Version: v, Arch: "any", Backup: []string{"etc/foo-bar.conf"},
			Files: map[string]string{"etc/foo-bar.conf": "setting = " + v + "\n", "usr/share/foo-bar/data": v}}
	}
	down := func(v string) testroot.Pkg {
		return testroot.Pkg{Name: "down", Version: v, Arch: "any", Files: map[string]string{"usr/share/down/" + v: v}}
	}
	r.Install(t, foobar("1:1.0-1"), down("1.0-1"))
	// pacman left the user's modified configuration in place and wrote the
	// new default next to it; pacdiff needs the previous version to merge.
	if err := os.WriteFile(r.Path("etc/foo-bar.conf.pacnew"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	second := filepath.Join(t.TempDir(), "cache2")
	a, b := r.CacheDir, second
	build := func(dir string, p testroot.Pkg) string { return testroot.Build(t, dir, p) }
	for _, v := range []string{"0.9-1", "1.0-1", "1:0.5-1", "1:1.0rc1-1", "1:1.0-1"} {
		build(a, foobar(v))
	}
	for _, v := range []string{"1.0-1", "2.0-1", "3.0-1"} {
		build(a, down(v))
	}
	build(b, down("3.0-1.1"))
	gone := func(v, arch string) testroot.Pkg {
		return testroot.Pkg{Name: "gone-with-dashes", Version: v, Arch: arch, Files: map[string]string{"usr/bin/gone": v}}
	}
	build(a, gone("1.0-1", "x86_64"))
	build(a, gone("2.0-1", "x86_64"))
	build(b, gone("2.0-1", "x86_64")) // the same file in both directories
	build(a, gone("1.0-1", "any"))
	recent := build(a, gone("0.5-1", "x86_64"))
	// Signatures: one of a package, one without its package.
	for _, s := range []string{filepath.Join(a, "down-2.0-1-any.pkg.tar.zst.sig"), filepath.Join(a, "old-1-1-any.pkg.tar.zst.sig")} {
		if err := os.WriteFile(s, make([]byte, 566), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Everything was downloaded long ago but one file.
	for _, d := range []string{a, b} {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			age := 100 * 24 * time.Hour
			if filepath.Join(d, e.Name()) == recent {
				age = time.Hour
			}
			if err := os.Chtimes(filepath.Join(d, e.Name()), time.Now().Add(-age), time.Now().Add(-age)); err != nil {
				t.Fatal(err)
			}
		}
	}

	cfg, db := testdb.Load(t, r.Config, conf.Overrides{})
	if len(cfg.CacheDirs) != 1 || filepath.Clean(cfg.CacheDirs[0]) != r.CacheDir {
		t.Fatalf("CacheDirs = %q, want [%s]", cfg.CacheDirs, r.CacheDir)
	}
	return &realCache{r: r, db: db, dirs: []string{a, b}, recent: recent}
}

func (c *realCache) plan(t *testing.T, mod func(*cache.Options)) *cache.Plan {
	t.Helper()
	l, err := cache.Scan(c.dirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Errors) > 0 {
		t.Fatalf("scan errors: %v", l.Errors)
	}
	o := cache.DefaultOptions()
	o.Installed, o.Root = c.db, c.r.Dir
	if mod != nil {
		mod(&o)
	}
	return cache.NewPlan(l, o)
}

// names lists the candidates as "dirN/file".
func (c *realCache) names(p *cache.Plan) []string {
	var out []string
	for _, f := range p.Candidates() {
		for i, d := range c.dirs {
			if f.Dir == d {
				out = append(out, "dir"+string(rune('0'+i))+"/"+filepath.Base(f.Path))
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestRealCachePlan(t *testing.T) {
	c := newRealCache(t)
	tests := []struct {
		name string
		mod  func(*cache.Options)
		want []string
	}{
		{
			name: "defaults: 3 newest, duplicates, stray signature",
			want: []string{
				"dir0/foo-bar-0.9-1-any.pkg.tar.zst", "dir0/foo-bar-1.0-1-any.pkg.tar.zst",
				"dir0/old-1-1-any.pkg.tar.zst.sig", "dir1/gone-with-dashes-2.0-1-x86_64.pkg.tar.zst",
			},
		},
		{
			name: "keep 1: installed version and pacnew merge base stay",
			mod:  func(o *cache.Options) { o.Keep, o.KeepUninstalled = 1, -1 },
			want: []string{
				"dir0/down-2.0-1-any.pkg.tar.zst", "dir0/down-2.0-1-any.pkg.tar.zst.sig", "dir0/down-3.0-1-any.pkg.tar.zst",
				"dir0/foo-bar-0.9-1-any.pkg.tar.zst", "dir0/foo-bar-1.0-1-any.pkg.tar.zst", "dir0/foo-bar-1:0.5-1-any.pkg.tar.zst",
				"dir0/gone-with-dashes-0.5-1-x86_64.pkg.tar.zst", "dir0/gone-with-dashes-1.0-1-x86_64.pkg.tar.zst",
				"dir0/old-1-1-any.pkg.tar.zst.sig", "dir1/gone-with-dashes-2.0-1-x86_64.pkg.tar.zst",
			},
		},
		{
			name: "keep 1 without installed protection",
			mod:  func(o *cache.Options) { o.Keep, o.KeepUninstalled, o.NoKeepInstalled = 1, -1, true },
			want: []string{
				"dir0/down-1.0-1-any.pkg.tar.zst",
				"dir0/down-2.0-1-any.pkg.tar.zst", "dir0/down-2.0-1-any.pkg.tar.zst.sig", "dir0/down-3.0-1-any.pkg.tar.zst",
				"dir0/foo-bar-0.9-1-any.pkg.tar.zst", "dir0/foo-bar-1.0-1-any.pkg.tar.zst", "dir0/foo-bar-1:0.5-1-any.pkg.tar.zst",
				"dir0/gone-with-dashes-0.5-1-x86_64.pkg.tar.zst", "dir0/gone-with-dashes-1.0-1-x86_64.pkg.tar.zst",
				"dir0/old-1-1-any.pkg.tar.zst.sig", "dir1/gone-with-dashes-2.0-1-x86_64.pkg.tar.zst",
			},
		},
		{
			name: "uninstalled keep 0, min-age spares the recent file",
			mod:  func(o *cache.Options) { o.KeepUninstalled, o.MinAge = 0, 24*time.Hour },
			want: []string{
				"dir0/foo-bar-0.9-1-any.pkg.tar.zst", "dir0/foo-bar-1.0-1-any.pkg.tar.zst",
				"dir0/gone-with-dashes-1.0-1-any.pkg.tar.zst", "dir0/gone-with-dashes-1.0-1-x86_64.pkg.tar.zst",
				"dir0/gone-with-dashes-2.0-1-x86_64.pkg.tar.zst", "dir0/old-1-1-any.pkg.tar.zst.sig",
				"dir1/gone-with-dashes-2.0-1-x86_64.pkg.tar.zst",
			},
		},
		{
			name: "ignore and arch",
			mod: func(o *cache.Options) {
				o.Keep, o.KeepUninstalled, o.Ignore, o.Arch = 0, 0, []string{"foo-bar"}, "x86_64"
			},
			want: []string{
				"dir0/gone-with-dashes-0.5-1-x86_64.pkg.tar.zst", "dir0/gone-with-dashes-1.0-1-x86_64.pkg.tar.zst",
				"dir0/gone-with-dashes-2.0-1-x86_64.pkg.tar.zst", "dir1/gone-with-dashes-2.0-1-x86_64.pkg.tar.zst",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := c.plan(t, tt.mod)
			if got := c.names(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("candidates\n got %q\nwant %q", got, tt.want)
				for _, f := range p.Files {
					t.Logf("  remove=%-5v %-60s %s", f.Remove, f.Path, f.Reason)
				}
			}
			var sum int64
			for _, f := range p.Candidates() {
				fi, err := os.Stat(f.Path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() != f.Size {
					t.Errorf("%s: size %d, on disk %d", f.Path, f.Size, fi.Size())
				}
				sum += fi.Size()
			}
			if sum != p.ReclaimBytes {
				t.Errorf("ReclaimBytes %d, files sum to %d", p.ReclaimBytes, sum)
			}
		})
	}
	p := c.plan(t, func(o *cache.Options) { o.Keep = 1 })
	for _, f := range p.Files {
		if strings.HasSuffix(f.Path, "foo-bar-1:1.0rc1-1-any.pkg.tar.zst") && f.Reason != "merge base for /etc/foo-bar.conf.pacnew (pacdiff)" {
			t.Errorf("merge base reason %q", f.Reason)
		}
		if strings.HasSuffix(f.Path, "down-1.0-1-any.pkg.tar.zst") && f.Reason != "installed version" {
			t.Errorf("installed reason %q", f.Reason)
		}
	}
}

// pacman -Sc (CleanMethod = KeepInstalled) keeps exactly the installed
// version of each package and nothing of packages that are not installed;
// --keep 0 --keep-uninstalled 0 is the same policy. The real pacman is the
// oracle: what it removes from a copy of the cache is what the plan
// removes (stray signatures aside: pacman never touches a .sig alone).
func TestKeepZeroMatchesPacmanSc(t *testing.T) {
	r := testroot.New(t)
	p := func(name, v string) testroot.Pkg {
		return testroot.Pkg{Name: name, Version: v, Files: map[string]string{"usr/share/" + name + "/" + v: v}}
	}
	r.Install(t, p("foo-bar", "2.0-1"), p("down", "1:1.0-1"))
	for _, q := range []testroot.Pkg{
		p("foo-bar", "1.0-1"), p("foo-bar", "2.0-1"), p("foo-bar", "2.0-1.1"), p("foo-bar", "3.0rc1-1"),
		p("down", "1:1.0-1"), p("down", "1:0.9-1"), p("down", "2.0-1"),
		p("gone", "1-1"), p("gone", "2-1"),
	} {
		testroot.Build(t, r.CacheDir, q)
	}
	for _, s := range []string{"foo-bar-1.0-1-any.pkg.tar.zst.sig", "down-1:1.0-1-any.pkg.tar.zst.sig", "gone-2-1-any.pkg.tar.zst.sig"} {
		if err := os.WriteFile(filepath.Join(r.CacheDir, s), []byte("sig"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	listDir := func() map[string]bool {
		ents, err := os.ReadDir(r.CacheDir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, e := range ents {
			m[e.Name()] = true
		}
		return m
	}

	_, db := testdb.Load(t, r.Config, conf.Overrides{})
	l, err := cache.Scan([]string{r.CacheDir})
	if err != nil {
		t.Fatal(err)
	}
	o := cache.DefaultOptions()
	o.Keep, o.KeepUninstalled, o.Installed = 0, 0, db
	var planned []string
	for _, f := range cache.NewPlan(l, o).Candidates() {
		if f.Kind != cache.StraySignature {
			planned = append(planned, filepath.Base(f.Path))
		}
	}
	sort.Strings(planned)

	before := listDir()
	// -Sc then cleans DBPath/sync, which a root without repositories lacks.
	if err := os.MkdirAll(filepath.Join(r.DBPath, "sync"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.Pacman(t, "--noconfirm", "-Sc")
	after := listDir()
	var removed []string
	for n := range before {
		if !after[n] {
			removed = append(removed, n)
		}
	}
	sort.Strings(removed)
	if !reflect.DeepEqual(planned, removed) {
		t.Errorf("--keep 0 --keep-uninstalled 0 plans\n %q\npacman -Sc removed\n %q", planned, removed)
	}
	if len(removed) == 0 {
		t.Error("pacman -Sc removed nothing; the test proves nothing")
	}
}
