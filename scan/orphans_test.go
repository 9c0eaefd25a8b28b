package scan

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/pkg"
)

// spec is a package for in-memory tests. Names starting with an upper-case
// 'E' are explicit, all others dependencies.
type spec struct {
	name            string
	deps, opt, prov []string
	ver             string
	size            int64
}

func memDB(specs ...spec) *pkg.DB {
	var pkgs []*pkg.Package
	for _, s := range specs {
		p := &pkg.Package{Name: s.name, Version: s.ver, Reason: pkg.Dependency, InstalledSize: s.size}
		if p.Version == "" {
			p.Version = "1.0-1"
		}
		if p.InstalledSize == 0 {
			p.InstalledSize = 100
		}
		if strings.HasPrefix(s.name, "E") {
			p.Reason = pkg.Explicit
		}
		for _, d := range s.deps {
			p.Depends = append(p.Depends, pkg.ParseDep(d))
		}
		for _, d := range s.opt {
			p.OptDepends = append(p.OptDepends, pkg.ParseDep(d))
		}
		for _, d := range s.prov {
			p.Provides = append(p.Provides, pkg.ParseDep(d))
		}
		pkgs = append(pkgs, p)
	}
	return pkg.NewDB(pkgs)
}

// orphanSummary renders orphans as "name[*]{removes}" for compact tables;
// '*' marks a cycle.
func orphanSummary(os []Orphan) []string {
	var out []string
	for _, o := range os {
		s := o.Package.Name
		if o.Cycle {
			s += "*"
		}
		var rm []string
		for _, r := range o.Removes {
			rm = append(rm, r.Name)
		}
		if len(rm) > 0 {
			s += "{" + strings.Join(rm, ",") + "}"
		}
		out = append(out, s)
	}
	return out
}

func TestOrphans(t *testing.T) {
	tests := []struct {
		name   string
		pkgs   []spec
		opts   Options
		want   []string
		ignore []string // with OptionalIgnore, when it differs
	}{
		{
			name: "chain",
			pkgs: []spec{{name: "Eapp", deps: []string{"lib"}}, {name: "lib"}, {name: "a", deps: []string{"b"}}, {name: "b", deps: []string{"c"}}, {name: "c"}, {name: "d"}},
			// -Rcns c takes a and b (they need it); -Rns a takes b and c.
			want: []string{"a{b,c}", "b{a,c}", "c{a,b}", "d"},
		},
		{
			name: "two-cycle",
			pkgs: []spec{{name: "Eapp"}, {name: "x", deps: []string{"y"}}, {name: "y", deps: []string{"x"}}},
			want: []string{"x*{y}", "y*{x}"},
		},
		{
			name: "three-cycle with a tail and a head",
			pkgs: []spec{{name: "top", deps: []string{"x"}}, {name: "x", deps: []string{"y"}}, {name: "y", deps: []string{"z"}}, {name: "z", deps: []string{"x", "w"}}, {name: "w"}},
			// top is found by -Qdt; x, y, z, w only once top is gone, and
			// then never, because of the cycle.
			want: []string{"top{w,x,y,z}", "w*{top,x,y,z}", "x*{top,w,y,z}", "y*{top,w,x,z}", "z*{top,w,x,y}"},
		},
		{
			name: "self dependency",
			pkgs: []spec{{name: "s", deps: []string{"s"}}},
			want: []string{"s*"},
		},
		{
			name: "cycle kept by an explicit package",
			pkgs: []spec{{name: "Eapp", deps: []string{"x"}}, {name: "x", deps: []string{"y"}}, {name: "y", deps: []string{"x"}}},
			want: nil,
		},
		{
			name: "versioned provides",
			pkgs: []spec{
				{name: "Eapp", deps: []string{"libfoo>=2", "libbar>=1", "old<2"}},
				{name: "foo1", prov: []string{"libfoo=1"}},
				{name: "foo2", prov: []string{"libfoo=2"}},
				{name: "bar", prov: []string{"libbar"}}, // unversioned: no match for >=1
				{name: "old", ver: "1:0.5-1"},           // epoch makes it newer than 2
			},
			want: []string{"bar", "foo1", "old"},
		},
		{
			name: "two providers of one name both stay",
			pkgs: []spec{{name: "Eapp", deps: []string{"sh"}}, {name: "bash", prov: []string{"sh"}}, {name: "dash", prov: []string{"sh"}}},
			want: nil,
		},
		{
			name:   "optional dependency of a kept package",
			pkgs:   []spec{{name: "Eapp", opt: []string{"opt: extra"}}, {name: "opt", deps: []string{"optlib"}}, {name: "optlib"}},
			want:   nil,
			ignore: []string{"opt{optlib}", "optlib{opt}"},
		},
		{
			name: "optional dependency of an orphan",
			pkgs: []spec{{name: "a", opt: []string{"b"}}, {name: "b"}},
			want: []string{"a", "b"},
		},
		{
			name: "cycle through an optional dependency",
			pkgs: []spec{{name: "a", deps: []string{"b"}}, {name: "b", opt: []string{"a"}}},
			// pacman -Qdt lists neither (a is optional for b); -Qdtt lists a.
			want:   []string{"a*{b}", "b*{a}"},
			ignore: []string{"a{b}", "b{a}"},
		},
		{
			name: "HoldPkg pattern",
			pkgs: []spec{{name: "glibc", deps: []string{"tzdata"}}, {name: "tzdata"}, {name: "other"}},
			opts: Options{HoldPkg: []string{"gl*"}},
			want: []string{"other"},
		},
		{
			name: "allowlist",
			pkgs: []spec{{name: "keepme", deps: []string{"kdep"}}, {name: "kdep"}, {name: "other"}},
			opts: Options{Keep: func(n string) bool { return n == "keepme" }},
			want: []string{"other"},
		},
		{
			name: "removal stops at explicit and shared packages",
			pkgs: []spec{{name: "Eapp", deps: []string{"shared"}}, {name: "a", deps: []string{"Etool", "shared", "own"}}, {name: "Etool"}, {name: "shared"}, {name: "own"}},
			want: []string{"a{own}", "own{a}"},
		},
		{
			name: "two orphans share a dependency",
			pkgs: []spec{{name: "a", deps: []string{"c"}}, {name: "b", deps: []string{"c"}}, {name: "c"}},
			want: []string{"a", "b", "c{a,b}"},
		},
		{
			name: "removal takes a held dependency along, as pacman does",
			pkgs: []spec{{name: "a", deps: []string{"held"}}, {name: "held"}},
			opts: Options{HoldPkg: []string{"held"}},
			want: []string{"a{held}"},
		},
		{
			name: "dependency also optional for a kept package",
			pkgs: []spec{{name: "Eapp", opt: []string{"b"}}, {name: "a", deps: []string{"b"}}, {name: "b"}},
			// b is kept, but pacman -Rns a still removes it.
			want:   []string{"a{b}"},
			ignore: []string{"a{b}", "b{a}"},
		},
	}
	for _, tt := range tests {
		for _, mode := range []OptionalMode{OptionalKeep, OptionalIgnore} {
			t.Run(tt.name+"/"+mode.String(), func(t *testing.T) {
				opts := tt.opts
				opts.Optional = mode
				want := tt.want
				if mode == OptionalIgnore && tt.ignore != nil {
					want = tt.ignore
				}
				got := orphanSummary(NewGraph(memDB(tt.pkgs...), opts).Orphans())
				if !reflect.DeepEqual(got, want) {
					t.Errorf("orphans = %q, want %q", got, want)
				}
			})
		}
	}
}

func TestOrphanDetails(t *testing.T) {
	db := memDB(
		spec{name: "Eapp", opt: []string{"a: for a"}},
		spec{name: "a", deps: []string{"b"}, size: 1000},
		spec{name: "b", size: 24},
		spec{name: "c", opt: []string{"a"}},
	)
	g := NewGraph(db, Options{Optional: OptionalIgnore})
	var a Orphan
	for _, o := range g.Orphans() {
		if o.Package.Name == "a" {
			a = o
		}
	}
	if a.Package == nil {
		t.Fatal("a is not an orphan")
	}
	if !reflect.DeepEqual(a.OptionalFor, []string{"Eapp", "c"}) {
		t.Errorf("OptionalFor = %q", a.OptionalFor)
	}
	if a.FreedBytes != 1024 {
		t.Errorf("FreedBytes = %d, want 1024", a.FreedBytes)
	}
	if got := g.RequiredBy("b"); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("RequiredBy(b) = %q", got)
	}
}

func TestUnneeded(t *testing.T) {
	db := memDB(
		spec{name: "Eleaf"},
		spec{name: "Eused"},
		spec{name: "Eoptional"},
		spec{name: "Eheld"},
		spec{name: "Ekept"},
		spec{name: "Euser", deps: []string{"Eused"}, opt: []string{"Eoptional"}},
		spec{name: "dep"},
	)
	opts := Options{HoldPkg: []string{"Eheld"}, Keep: func(n string) bool { return n == "Ekept" }}
	for mode, want := range map[OptionalMode][]string{
		OptionalKeep:   {"Eleaf", "Euser"},
		OptionalIgnore: {"Eleaf", "Eoptional", "Euser"},
	} {
		opts.Optional = mode
		var got []string
		for _, p := range NewGraph(db, opts).Unneeded() {
			got = append(got, p.Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: unneeded = %q, want %q", mode, got, want)
		}
	}
}

func TestForeign(t *testing.T) {
	db := memDB(spec{name: "a"}, spec{name: "b"}, spec{name: "c"})
	db.Get("a").InSync = true
	if f, ok := Foreign(db, nil); ok || f != nil {
		t.Errorf("without sync databases: %v, %v; want nothing, false", f, ok)
	}
	db.SyncDBs = []string{"core"}
	f, ok := Foreign(db, func(n string) bool { return n == "c" })
	if !ok || len(f) != 1 || f[0].Name != "b" {
		t.Errorf("Foreign = %v, %v; want [b], true", f, ok)
	}
}

func TestWhy(t *testing.T) {
	db := memDB(
		spec{name: "Efirefox", deps: []string{"gtk3", "nss"}},
		spec{name: "Egimp", deps: []string{"gtk3"}, opt: []string{"ghostscript"}},
		spec{name: "gtk3", deps: []string{"cairo"}},
		spec{name: "nss", deps: []string{"cairo"}},
		spec{name: "cairo", deps: []string{"pixman"}},
		spec{name: "pixman"},
		spec{name: "ghostscript"},
		spec{name: "glibc"},
		spec{name: "orphan", deps: []string{"orphan2"}},
		spec{name: "orphan2", deps: []string{"orphan"}},
		spec{name: "listed"},
	)
	g := NewGraph(db, Options{HoldPkg: []string{"glibc"}, Keep: func(n string) bool { return n == "listed" }})
	chain := func(w Why) string {
		var s []string
		for _, l := range w.Chain {
			if l.Optional {
				s = append(s, "("+l.Name+")")
			} else {
				s = append(s, l.Name)
			}
		}
		return strings.Join(s, " -> ")
	}
	tests := []struct {
		name, chain string
		kind        WhyKind
	}{
		{"pixman", "Efirefox -> gtk3 -> cairo -> pixman", WhyRequired},
		{"ghostscript", "Egimp -> (ghostscript)", WhyRequired},
		{"Efirefox", "Efirefox", WhyExplicit},
		{"glibc", "glibc", WhyHeld},
		{"listed", "listed", WhyAllowlisted},
		{"orphan", "", WhyOrphan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ok := g.Why(tt.name)
			if !ok {
				t.Fatal("not found")
			}
			if w.Kind != tt.kind || chain(w) != tt.chain {
				t.Errorf("Why = %v %q, want %v %q", w.Kind, chain(w), tt.kind, tt.chain)
			}
		})
	}
	if w, _ := g.Why("orphan"); !w.Cycle || !reflect.DeepEqual(w.RequiredBy, []string{"orphan2"}) {
		t.Errorf("orphan: %+v", w)
	}
	if _, ok := g.Why("nope"); ok {
		t.Error("Why(nope) found a package")
	}
}

func TestFnmatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"glibc", "glibc", true},
		{"glibc", "glibc2", false},
		{"gl*", "glibc", true},
		{"*", "", true},
		{"usr/share/locale/*", "usr/share/locale/de/LC_MESSAGES/x.mo", true}, // '*' crosses '/'
		{"usr/share/locale/*", "usr/share/locale", false},
		{"lib?", "lib/", true},
		{"[a-c]x", "bx", true},
		{"[!a-c]x", "bx", false},
		{"[^a-c]x", "dx", true},
		{"[]]", "]", true},
		{"[", "[", true},
		{`\*`, "*", true},
		{`\*`, "a", false},
		{"*.conf", ".hidden.conf", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
	}
	for _, tt := range tests {
		if got := fnmatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("fnmatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestNoExtracted(t *testing.T) {
	patterns := []string{"usr/share/locale/*", "!usr/share/locale/de/*", "usr/share/doc/*"}
	tests := map[string]bool{
		"usr/share/locale/fr/x.mo": true,
		"usr/share/locale/de/x.mo": false, // the later '!' pattern wins
		"usr/share/doc/foo/README": true,
		"usr/bin/foo":              false,
	}
	for path, want := range tests {
		if got := noExtracted(patterns, path); got != want {
			t.Errorf("noExtracted(%q) = %v, want %v", path, got, want)
		}
	}
}

// randomDB makes a plausible local database: a few hundred explicit
// packages on top of layered libraries, provides with and without
// versions, optional dependencies, a share of orphans and some cycles.
func randomDB(n int, seed uint64) *pkg.DB {
	rng := rand.New(rand.NewPCG(seed, seed))
	var pkgs []*pkg.Package
	name := func(i int) string { return fmt.Sprintf("p%05d", i) }
	for i := 0; i < n; i++ {
		p := &pkg.Package{Name: name(i), Version: fmt.Sprintf("%d.%d-1", rng.IntN(5), rng.IntN(20)), Reason: pkg.Dependency, InstalledSize: int64(1 + rng.IntN(1<<20))}
		if i >= n-n/8 {
			p.Reason = pkg.Explicit
		}
		if rng.IntN(10) == 0 {
			p.Provides = append(p.Provides, pkg.ParseDep(fmt.Sprintf("lib%05d.so=%d-64", i, rng.IntN(3))))
		}
		// Depend on lower-numbered packages (a DAG) ...
		for k := rng.IntN(8); k > 0 && i > 0; k-- {
			j := rng.IntN(i)
			d := name(j)
			if rng.IntN(4) == 0 {
				d += ">=0.1"
			}
			p.Depends = append(p.Depends, pkg.ParseDep(d))
		}
		// ... sometimes on a higher one, which can close a cycle.
		if rng.IntN(200) == 0 && i+1 < n {
			p.Depends = append(p.Depends, pkg.ParseDep(name(i+1+rng.IntN(n-i-1))))
		}
		for k := rng.IntN(3); k > 0 && i > 0; k-- {
			p.OptDepends = append(p.OptDepends, pkg.ParseDep(name(rng.IntN(i))+": optional"))
		}
		pkgs = append(pkgs, p)
	}
	return pkg.NewDB(pkgs)
}

// TestOrphansMatchIteratedQdt checks the marking against the definition
// it replaces, on random databases: remove what pacman -Qdt(t) would list,
// repeat, and what is left over in cycles is exactly what is marked cycle.
func TestOrphansMatchIteratedQdt(t *testing.T) {
	cycles := 0
	for seed := uint64(1); seed <= 12; seed++ {
		db := closeCycles(randomDB(250, seed), seed)
		for _, mode := range []OptionalMode{OptionalKeep, OptionalIgnore} {
			g := NewGraph(db, Options{Optional: mode})
			peeled := iterateQdt(db, mode == OptionalKeep)
			var gotPeeled, gotAll []string
			for _, o := range g.Orphans() {
				gotAll = append(gotAll, o.Package.Name)
				if !o.Cycle {
					gotPeeled = append(gotPeeled, o.Package.Name)
				} else {
					cycles++
				}
			}
			if !reflect.DeepEqual(gotPeeled, peeled) {
				t.Fatalf("seed %d %v: non-cycle orphans %q, iterated -Qdt %q", seed, mode, gotPeeled, peeled)
			}
			if want := collect(db, mode == OptionalKeep); !reflect.DeepEqual(gotAll, want) {
				t.Fatalf("seed %d %v: orphans %q, garbage collection %q", seed, mode, gotAll, want)
			}
		}
	}
	// Without cycle orphans the two checks above are one.
	if cycles < 20 {
		t.Errorf("only %d cycle orphans in all databases; the test hardly checks the cycle marking", cycles)
	}
}

// closeCycles makes some packages depend back on one of the packages that
// depend on them, as randomDB rarely closes a cycle among orphans.
func closeCycles(db *pkg.DB, seed uint64) *pkg.DB {
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, p := range db.Packages {
		if p.Reason != pkg.Dependency || rng.IntN(6) != 0 {
			continue
		}
		var requirers []*pkg.Package
		for _, q := range db.Packages {
			for _, d := range q.Depends {
				if d.Name == p.Name {
					requirers = append(requirers, q)
				}
			}
		}
		if len(requirers) > 0 {
			q := requirers[rng.IntN(len(requirers))]
			if rng.IntN(3) == 0 {
				p.OptDepends = append(p.OptDepends, pkg.ParseDep(q.Name+": back"))
			} else {
				p.Depends = append(p.Depends, pkg.ParseDep(q.Name))
			}
		}
	}
	return pkg.NewDB(db.Packages)
}

// iterateQdt removes, round after round, the dependency packages nothing
// left requires (pacman's compute_requiredby/optionalfor), and returns all
// it removed, sorted.
func iterateQdt(db *pkg.DB, optional bool) []string {
	left := map[string]*pkg.Package{}
	for _, p := range db.Packages {
		left[p.Name] = p
	}
	var removed []string
	for {
		var round []string
		for _, p := range left {
			if p.Reason != pkg.Dependency {
				continue
			}
			needed := false
			for _, q := range left {
				list := q.Depends
				if optional {
					list = append(append([]pkg.Dep(nil), q.Depends...), q.OptDepends...)
				}
				for _, d := range list {
					if d.SatisfiedBy(p) {
						needed = true
					}
				}
			}
			if !needed {
				round = append(round, p.Name)
			}
		}
		if len(round) == 0 {
			sort.Strings(removed)
			return removed
		}
		for _, n := range round {
			delete(left, n)
		}
		removed = append(removed, round...)
	}
}

// collect is a naive garbage collection from the explicit packages.
func collect(db *pkg.DB, optional bool) []string {
	live := map[string]bool{}
	var stack []*pkg.Package
	for _, p := range db.Packages {
		if p.Reason == pkg.Explicit {
			live[p.Name] = true
			stack = append(stack, p)
		}
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		list := p.Depends
		if optional {
			list = append(append([]pkg.Dep(nil), p.Depends...), p.OptDepends...)
		}
		for _, d := range list {
			for _, q := range db.Satisfiers(d) {
				if !live[q.Name] {
					live[q.Name] = true
					stack = append(stack, q)
				}
			}
		}
	}
	var out []string
	for _, p := range db.Packages {
		if !live[p.Name] {
			out = append(out, p.Name)
		}
	}
	return out
}

func BenchmarkOrphans(b *testing.B) {
	for _, n := range []int{2000, 5000} {
		db := randomDB(n, 42)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			orphans := 0
			for i := 0; i < b.N; i++ {
				g := NewGraph(db, Options{})
				orphans = len(g.Orphans())
				_ = g.Unneeded()
			}
			b.ReportMetric(float64(orphans), "orphans")
		})
	}
}
