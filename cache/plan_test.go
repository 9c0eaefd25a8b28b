package cache

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/pkg"
)

var testNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// ent is a cache entry for an in-memory listing: "d1:name" puts it in the
// second directory; age is how long ago it was modified (default 100 days).
type ent struct {
	name string
	age  time.Duration
	typ  fs.FileMode
	size int64
}

func listing(ndirs int, ents ...ent) *Listing {
	l := &Listing{}
	for i := 0; i < ndirs; i++ {
		l.Dirs = append(l.Dirs, "/c"+string(rune('0'+i)))
	}
	for _, e := range ents {
		dir, name := 0, e.name
		if len(name) > 3 && name[0] == 'd' && name[2] == ':' {
			dir, name = int(name[1]-'0'), name[3:]
		}
		age := e.age
		if age == 0 {
			age = 100 * 24 * time.Hour
		}
		size := e.size
		if size == 0 {
			size = 1000
		}
		l.Entries = append(l.Entries, Entry{Dir: dir, Name: name, Type: e.typ, Size: size, ModTime: testNow.Add(-age)})
	}
	return l
}

func files(names ...string) []ent {
	out := make([]ent, len(names))
	for i, n := range names {
		out[i] = ent{name: n}
	}
	return out
}

func installed(nva ...string) *pkg.DB {
	var ps []*pkg.Package
	for _, s := range nva {
		f := strings.Fields(s)
		p := &pkg.Package{Name: f[0], Version: f[1], Arch: "x86_64"}
		if len(f) > 2 {
			p.Arch = f[2]
		}
		ps = append(ps, p)
	}
	return pkg.NewDB(ps)
}

// removed lists the removed paths, relative to "/", sorted.
func removed(p *Plan) []string {
	var out []string
	for _, f := range p.Candidates() {
		out = append(out, strings.TrimPrefix(f.Path, "/c0/"))
	}
	sort.Strings(out)
	return out
}

func reasonOf(p *Plan, path string) string {
	for _, f := range p.Files {
		if f.Path == path || f.Path == "/c0/"+path {
			return f.Reason
		}
	}
	return "<absent>"
}

func TestPlanRules(t *testing.T) {
	opts := func(mod func(*Options)) Options {
		o := DefaultOptions()
		o.Now = testNow
		if mod != nil {
			mod(&o)
		}
		return o
	}
	tests := []struct {
		name  string
		ndirs int
		ents  []ent
		opts  Options
		want  []string
	}{
		{
			name: "keep 3 newest",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.1-1-x86_64.pkg.tar.zst", "foo-1.2-1-x86_64.pkg.tar.zst",
				"foo-1.10-1-x86_64.pkg.tar.zst", "foo-1.9-1-x86_64.pkg.tar.zst"),
			opts: opts(nil),
			want: []string{"foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.1-1-x86_64.pkg.tar.zst"},
		},
		{
			name: "epoch beats a bigger version",
			ents: files("foo-9.9-1-x86_64.pkg.tar.zst", "foo-1:0.1-1-x86_64.pkg.tar.zst", "foo-2.0-1-x86_64.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 1 }),
			want: []string{"foo-2.0-1-x86_64.pkg.tar.zst", "foo-9.9-1-x86_64.pkg.tar.zst"},
		},
		{
			name: "rc is older than the release",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.0rc1-1-x86_64.pkg.tar.zst", "foo-1.0rc2-1-x86_64.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 1 }),
			want: []string{"foo-1.0rc1-1-x86_64.pkg.tar.zst", "foo-1.0rc2-1-x86_64.pkg.tar.zst"},
		},
		{
			name: "pkgrel 1.1 between 1 and 2",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.0-1.1-x86_64.pkg.tar.zst", "foo-1.0-2-x86_64.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 2 }),
			want: []string{"foo-1.0-1-x86_64.pkg.tar.zst"},
		},
		{
			name: "names with dashes are separate packages",
			ents: files("python-foo-1.0-1-any.pkg.tar.zst", "python-foo-1.1-1-any.pkg.tar.zst",
				"python-foo-bar-1.0-1-any.pkg.tar.zst", "python-foo-bar-2.0-1-any.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 1 }),
			want: []string{"python-foo-1.0-1-any.pkg.tar.zst", "python-foo-bar-1.0-1-any.pkg.tar.zst"},
		},
		{
			name: "any and x86_64 of one name are counted apart",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.1-1-x86_64.pkg.tar.zst", "foo-2.0-1-any.pkg.tar.zst", "foo-2.1-1-any.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 1 }),
			want: []string{"foo-1.0-1-x86_64.pkg.tar.zst", "foo-2.0-1-any.pkg.tar.zst"},
		},
		{
			name:  "versions are counted across directories",
			ndirs: 2,
			ents:  files("foo-1.0-1-x86_64.pkg.tar.zst", "d1:foo-1.1-1-x86_64.pkg.tar.zst", "foo-1.2-1-x86_64.pkg.tar.zst", "d1:foo-1.3-1-x86_64.pkg.tar.zst"),
			opts:  opts(func(o *Options) { o.Keep = 2 }),
			want:  []string{"/c1/foo-1.1-1-x86_64.pkg.tar.zst", "foo-1.0-1-x86_64.pkg.tar.zst"},
		},
		{
			name:  "a duplicate in a second directory is one candidate",
			ndirs: 2,
			ents:  files("foo-1.0-1-x86_64.pkg.tar.zst", "d1:foo-1.0-1-x86_64.pkg.tar.zst", "foo-0.9-1-x86_64.pkg.tar.zst", "d1:foo-0.9-1-x86_64.pkg.tar.zst"),
			opts:  opts(nil),
			want:  []string{"/c1/foo-0.9-1-x86_64.pkg.tar.zst", "/c1/foo-1.0-1-x86_64.pkg.tar.zst"},
		},
		{
			name: "a package's signature goes with it, a stray one goes alone",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.0-1-x86_64.pkg.tar.zst.sig", "foo-2.0-1-x86_64.pkg.tar.zst",
				"foo-2.0-1-x86_64.pkg.tar.zst.sig", "bar-1.0-1-x86_64.pkg.tar.zst.sig"),
			opts: opts(func(o *Options) { o.Keep = 1 }),
			want: []string{"bar-1.0-1-x86_64.pkg.tar.zst.sig", "foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.0-1-x86_64.pkg.tar.zst.sig"},
		},
		{
			name: "the installed version stays after a downgrade",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-2.0-1-x86_64.pkg.tar.zst", "foo-3.0-1-x86_64.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 1; o.Installed = installed("foo 1.0-1") }),
			want: []string{"foo-2.0-1-x86_64.pkg.tar.zst"},
		},
		{
			name: "--no-keep-installed removes it, as paccache does",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-2.0-1-x86_64.pkg.tar.zst", "foo-3.0-1-x86_64.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 1; o.NoKeepInstalled = true; o.Installed = installed("foo 1.0-1") }),
			want: []string{"foo-1.0-1-x86_64.pkg.tar.zst", "foo-2.0-1-x86_64.pkg.tar.zst"},
		},
		{
			name: "keep 0 keeps only the installed version, like pacman -Sc",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-2.0-1-x86_64.pkg.tar.zst", "gone-1-1-any.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 0; o.Installed = installed("foo 1.0-1") }),
			want: []string{"foo-2.0-1-x86_64.pkg.tar.zst", "gone-1-1-any.pkg.tar.zst"},
		},
		{
			name: "-ruk0 in one pass: uninstalled packages go entirely",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-2.0-1-x86_64.pkg.tar.zst", "gone-1-1-any.pkg.tar.zst", "gone-2-1-any.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.KeepUninstalled = 0; o.Installed = installed("foo 2.0-1") }),
			want: []string{"gone-1-1-any.pkg.tar.zst", "gone-2-1-any.pkg.tar.zst"},
		},
		{
			name: "uninstalled keep count",
			ents: files("gone-1-1-any.pkg.tar.zst", "gone-2-1-any.pkg.tar.zst", "gone-3-1-any.pkg.tar.zst", "foo-1-1-any.pkg.tar.zst", "foo-2-1-any.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 2; o.KeepUninstalled = 1; o.Installed = installed("foo 2-1 any") }),
			want: []string{"gone-1-1-any.pkg.tar.zst", "gone-2-1-any.pkg.tar.zst"},
		},
		{
			name: "a name installed in another arch counts as installed, without protection",
			ents: files("foo-1-1-x86_64.pkg.tar.zst", "foo-2-1-x86_64.pkg.tar.zst", "foo-3-1-x86_64.pkg.tar.zst"),
			opts: opts(func(o *Options) { o.Keep = 2; o.KeepUninstalled = 0; o.Installed = installed("foo 1-1 any") }),
			want: []string{"foo-1-1-x86_64.pkg.tar.zst"},
		},
		{
			name: "ignore names and globs, and the allowlist",
			ents: files("foo-1-1-any.pkg.tar.zst", "foo-2-1-any.pkg.tar.zst", "libfoo-1-1-any.pkg.tar.zst", "libfoo-2-1-any.pkg.tar.zst",
				"bar-1-1-any.pkg.tar.zst", "bar-2-1-any.pkg.tar.zst", "baz-1-1-any.pkg.tar.zst", "baz-2-1-any.pkg.tar.zst"),
			opts: opts(func(o *Options) {
				o.Keep = 1
				o.Ignore = []string{"foo", "lib*"}
				o.Allow = func(n string) bool { return n == "bar" }
			}),
			want: []string{"baz-1-1-any.pkg.tar.zst"},
		},
		{
			name: "--arch limits candidates",
			ents: files("foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.1-1-x86_64.pkg.tar.zst", "foo-2.0-1-any.pkg.tar.zst", "foo-2.1-1-any.pkg.tar.zst",
				"bar-1-1-any.pkg.tar.zst.sig"),
			opts: opts(func(o *Options) { o.Keep = 1; o.Arch = "any" }),
			want: []string{"bar-1-1-any.pkg.tar.zst.sig", "foo-2.0-1-any.pkg.tar.zst"},
		},
		{
			name: "--min-age keeps recent files, without changing the count",
			ents: []ent{{name: "foo-1-1-any.pkg.tar.zst"}, {name: "foo-2-1-any.pkg.tar.zst", age: time.Hour}, {name: "foo-3-1-any.pkg.tar.zst"},
				{name: "foo-4-1-any.pkg.tar.zst"}},
			opts: opts(func(o *Options) { o.Keep = 1; o.MinAge = 30 * 24 * time.Hour }),
			want: []string{"foo-1-1-any.pkg.tar.zst", "foo-3-1-any.pkg.tar.zst"},
		},
		{
			name: "partial downloads older than a day",
			ents: []ent{{name: "foo-1-1-any.pkg.tar.zst.part"}, {name: "foo-2-1-any.pkg.tar.zst.part", age: time.Hour},
				{name: "download-AbC123", typ: fs.ModeDir}, {name: "download-new", typ: fs.ModeDir, age: time.Minute}},
			opts: opts(nil),
			want: []string{"download-AbC123", "foo-1-1-any.pkg.tar.zst.part"},
		},
		{
			name: "unparseable names and symlinks are never removed",
			ents: []ent{{name: "foo.pkg.tar.zst"}, {name: "foo.pkg.tar.zst.sig"}, {name: "foo-1-1-any.pkg.tar.zst", typ: fs.ModeSymlink},
				{name: "foo-1-1-any.pkg.tar.zst.sig"}, {name: "foo-0-1-any.pkg.tar.zst"}},
			opts: opts(func(o *Options) { o.Keep = 0 }),
			want: []string{"foo-0-1-any.pkg.tar.zst"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.ndirs
			if n == 0 {
				n = 1
			}
			p := NewPlan(listing(n, tt.ents...), tt.opts)
			got := removed(p)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("removed\n got %q\nwant %q", got, tt.want)
				for _, f := range p.Files {
					t.Logf("  %-50s remove=%v %s", f.Path, f.Remove, f.Reason)
				}
			}
			var sum int64
			for _, f := range p.Candidates() {
				sum += f.Size
			}
			if sum != p.ReclaimBytes {
				t.Errorf("ReclaimBytes = %d, want %d", p.ReclaimBytes, sum)
			}
		})
	}
}

func TestPlanReasons(t *testing.T) {
	o := DefaultOptions()
	o.Now, o.Keep, o.Installed, o.MinAge = testNow, 1, installed("foo 1.0-1"), 7*24*time.Hour
	l := listing(2,
		ent{name: "foo-1.0-1-x86_64.pkg.tar.zst"}, ent{name: "foo-2.0-1-x86_64.pkg.tar.zst"},
		ent{name: "d1:foo-2.0-1-x86_64.pkg.tar.zst"}, ent{name: "foo-1.5-1-x86_64.pkg.tar.zst"},
		ent{name: "foo-1.4-1-x86_64.pkg.tar.zst", age: time.Hour},
		ent{name: "foo-1.5-1-x86_64.pkg.tar.zst.sig"},
		ent{name: "gone-1-1-any.pkg.tar.zst"}, ent{name: "gone-0-1-any.pkg.tar.zst"},
	)
	p := NewPlan(l, o)
	want := map[string]string{
		"/c0/foo-2.0-1-x86_64.pkg.tar.zst":     "the newest version",
		"/c1/foo-2.0-1-x86_64.pkg.tar.zst":     "duplicate of /c0/foo-2.0-1-x86_64.pkg.tar.zst",
		"/c0/foo-1.5-1-x86_64.pkg.tar.zst":     "older than the newest version",
		"/c0/foo-1.5-1-x86_64.pkg.tar.zst.sig": "signature of foo-1.5-1-x86_64.pkg.tar.zst",
		"/c0/foo-1.4-1-x86_64.pkg.tar.zst":     "modified within 1w (--min-age)",
		"/c0/foo-1.0-1-x86_64.pkg.tar.zst":     "installed version",
		"/c0/gone-1-1-any.pkg.tar.zst":         "not installed; the newest version",
		"/c0/gone-0-1-any.pkg.tar.zst":         "not installed; older than the newest version",
	}
	for path, r := range want {
		if got := reasonOf(p, path); got != r {
			t.Errorf("%s: reason %q, want %q", path, got, r)
		}
	}
	// Plan order: by name and arch, newest first, signature after its package.
	var order []string
	for _, f := range p.Files {
		order = append(order, f.Path)
	}
	wantOrder := []string{
		"/c0/foo-2.0-1-x86_64.pkg.tar.zst", "/c1/foo-2.0-1-x86_64.pkg.tar.zst",
		"/c0/foo-1.5-1-x86_64.pkg.tar.zst", "/c0/foo-1.5-1-x86_64.pkg.tar.zst.sig",
		"/c0/foo-1.4-1-x86_64.pkg.tar.zst", "/c0/foo-1.0-1-x86_64.pkg.tar.zst",
		"/c0/gone-1-1-any.pkg.tar.zst", "/c0/gone-0-1-any.pkg.tar.zst",
	}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("order\n got %q\nwant %q", order, wantOrder)
	}
}

// A package with a .pacnew on disk keeps the version before the installed
// one, which pacdiff needs as the base of a 3-way merge.
func TestPlanKeepsPacnewMergeBase(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/foo.conf.pacnew"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db := pkg.NewDB([]*pkg.Package{
		{Name: "foo", Version: "3.0-1", Arch: "x86_64", Backup: []pkg.Backup{{Path: "etc/foo.conf"}, {Path: "etc/other.conf"}}},
		{Name: "bar", Version: "3.0-1", Arch: "x86_64", Backup: []pkg.Backup{{Path: "etc/bar.conf"}}},
	})
	o := DefaultOptions()
	o.Now, o.Keep, o.Installed, o.Root = testNow, 1, db, root
	p := NewPlan(listing(1, files(
		"foo-1.0-1-x86_64.pkg.tar.zst", "foo-2.0-1-x86_64.pkg.tar.zst", "foo-3.0-1-x86_64.pkg.tar.zst",
		"bar-1.0-1-x86_64.pkg.tar.zst", "bar-2.0-1-x86_64.pkg.tar.zst", "bar-3.0-1-x86_64.pkg.tar.zst")...), o)
	want := []string{"bar-1.0-1-x86_64.pkg.tar.zst", "bar-2.0-1-x86_64.pkg.tar.zst", "foo-1.0-1-x86_64.pkg.tar.zst"}
	if got := removed(p); !reflect.DeepEqual(got, want) {
		t.Errorf("removed %q, want %q", got, want)
	}
	if r := reasonOf(p, "foo-2.0-1-x86_64.pkg.tar.zst"); r != "merge base for /etc/foo.conf.pacnew (pacdiff)" {
		t.Errorf("reason %q", r)
	}
}
