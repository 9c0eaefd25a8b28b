// Package scan computes pactidy's findings from plain package data: orphans
// (with dependency cycles), unneeded explicit packages, foreign packages,
// missing files and .pacnew/.pacsave files. It never prints; the report
// printers and the TUI present what it returns.
package scan

import "github.com/pactidy/pactidy/internal/pkg"

// OptionalMode says whether optional dependencies keep packages installed.
type OptionalMode int

const (
	// OptionalKeep: an optional dependency of a kept package is kept too,
	// like pacman -Qdt.
	OptionalKeep OptionalMode = iota
	// OptionalIgnore: optional dependencies keep nothing, like pacman
	// -Qdtt and yay -Yc.
	OptionalIgnore
)

func (m OptionalMode) String() string {
	if m == OptionalIgnore {
		return "ignore"
	}
	return "keep"
}

// Options are the user's wishes that decide what is kept.
type Options struct {
	// HoldPkg are pacman.conf's HoldPkg entries (fnmatch patterns, as
	// pacman matches them). Matching packages are roots.
	HoldPkg []string
	// Keep reports whether the allowlist keeps a package; such packages
	// are roots. Nil keeps nothing.
	Keep func(name string) bool
	// Optional decides whether optional dependencies keep packages.
	Optional OptionalMode
}

// span is one dependency's satisfiers: sat[lo:hi] of the graph.
type span struct{ lo, hi int32 }

// Graph is the dependency graph of one local database with the marking
// from the roots. Edges are computed once, with libalpm's satisfaction
// rules; every satisfier of a dependency gets an edge, so two installed
// providers of one name are both needed, as pacman -Qdt sees it.
type Graph struct {
	db   *pkg.DB
	opts Options
	pkgs []*pkg.Package
	idx  map[string]int32

	sat []int32 // arena of satisfier indices
	// deps[i] and opt[i] are package i's depends and optdepends, one span
	// per entry, in the package's order.
	deps, opt [][]span
	// reqBy[j] and optFor[j] are the distinct packages that depend, or
	// optionally depend, on package j, in index (name) order.
	reqBy, optFor [][]int32

	root   []rootKind
	marked []bool
	// depReach marks packages reachable from explicit packages along
	// depends alone; pacman -Rs never takes them away with an orphan.
	depReach []bool
}

type rootKind uint8

const (
	notRoot rootKind = iota
	rootExplicit
	rootHeld
	rootAllowlisted
)

// NewGraph builds the dependency graph of db and marks what the roots
// keep: every explicit package, every HoldPkg and every allowlisted
// package, along depends (and optdepends with OptionalKeep).
func NewGraph(db *pkg.DB, opts Options) *Graph {
	n := len(db.Packages)
	g := &Graph{
		db:     db,
		opts:   opts,
		pkgs:   db.Packages,
		idx:    make(map[string]int32, n),
		deps:   make([][]span, n),
		opt:    make([][]span, n),
		reqBy:  make([][]int32, n),
		optFor: make([][]int32, n),
		root:   make([]rootKind, n),
	}
	for i, p := range g.pkgs {
		g.idx[p.Name] = int32(i)
	}
	ndeps := 0
	for _, p := range g.pkgs {
		ndeps += len(p.Depends) + len(p.OptDepends)
	}
	g.sat = make([]int32, 0, ndeps+ndeps/4)
	spans := make([]span, 0, ndeps)
	for i, p := range g.pkgs {
		start := len(spans)
		for _, d := range p.Depends {
			spans = append(spans, g.satisfy(d))
		}
		mid := len(spans)
		for _, d := range p.OptDepends {
			spans = append(spans, g.satisfy(d))
		}
		g.deps[i] = spans[start:mid:mid]
		g.opt[i] = spans[mid:len(spans):len(spans)]
	}
	// Reverse edges, deduplicated: packages are visited in index order, so
	// a repeated requirer is always the last one appended.
	for i := range g.pkgs {
		for _, s := range g.deps[i] {
			for _, j := range g.sat[s.lo:s.hi] {
				if l := g.reqBy[j]; len(l) == 0 || l[len(l)-1] != int32(i) {
					g.reqBy[j] = append(l, int32(i))
				}
			}
		}
		for _, s := range g.opt[i] {
			for _, j := range g.sat[s.lo:s.hi] {
				if l := g.optFor[j]; len(l) == 0 || l[len(l)-1] != int32(i) {
					g.optFor[j] = append(l, int32(i))
				}
			}
		}
	}
	for i, p := range g.pkgs {
		switch {
		case p.Reason == pkg.Explicit:
			g.root[i] = rootExplicit
		case matchAny(opts.HoldPkg, p.Name):
			g.root[i] = rootHeld
		case opts.Keep != nil && opts.Keep(p.Name):
			g.root[i] = rootAllowlisted
		}
	}
	g.marked = g.reach(func(i int32) bool { return g.root[i] != notRoot }, opts.Optional == OptionalKeep)
	g.depReach = g.reach(func(i int32) bool { return g.root[i] == rootExplicit }, false)
	return g
}

// satisfy appends d's satisfiers to the arena.
func (g *Graph) satisfy(d pkg.Dep) span {
	lo := int32(len(g.sat))
	for _, p := range g.db.Satisfiers(d) {
		g.sat = append(g.sat, g.idx[p.Name])
	}
	return span{lo, int32(len(g.sat))}
}

// reach marks everything reachable from the packages start selects.
func (g *Graph) reach(start func(int32) bool, optional bool) []bool {
	seen := make([]bool, len(g.pkgs))
	stack := make([]int32, 0, len(g.pkgs))
	for i := range g.pkgs {
		if start(int32(i)) {
			seen[i] = true
			stack = append(stack, int32(i))
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		g.forEach(i, optional, func(j int32) {
			if !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		})
	}
	return seen
}

// forEach calls f for every satisfier of i's depends (and optdepends).
// A package may come more than once.
func (g *Graph) forEach(i int32, optional bool, f func(int32)) {
	for _, s := range g.deps[i] {
		for _, j := range g.sat[s.lo:s.hi] {
			f(j)
		}
	}
	if optional {
		for _, s := range g.opt[i] {
			for _, j := range g.sat[s.lo:s.hi] {
				f(j)
			}
		}
	}
}

// Kept reports whether a root keeps the named package.
func (g *Graph) Kept(name string) bool {
	i, ok := g.idx[name]
	return ok && g.marked[i]
}

// RequiredBy lists the installed packages that depend on name, as pacman's
// "Required By" does.
func (g *Graph) RequiredBy(name string) []string {
	i, ok := g.idx[name]
	if !ok {
		return nil
	}
	return g.names(g.reqBy[i])
}

// OptionalFor lists the installed packages that optionally depend on name.
func (g *Graph) OptionalFor(name string) []string {
	i, ok := g.idx[name]
	if !ok {
		return nil
	}
	return g.names(g.optFor[i])
}

func (g *Graph) names(l []int32) []string {
	out := make([]string, len(l))
	for k, i := range l {
		out[k] = g.pkgs[i].Name
	}
	return out
}

// Unneeded lists explicit packages that no installed package depends on
// (nor optionally depends on, with OptionalKeep): pacman -Qet (-Qett).
// HoldPkg and allowlisted packages are left out; they are kept on purpose.
// These are candidates to review, never to remove unasked.
func (g *Graph) Unneeded() []*pkg.Package {
	var out []*pkg.Package
	for i, p := range g.pkgs {
		if p.Reason != pkg.Explicit || len(g.reqBy[i]) > 0 {
			continue
		}
		if g.opts.Optional == OptionalKeep && len(g.optFor[i]) > 0 {
			continue
		}
		if matchAny(g.opts.HoldPkg, p.Name) || (g.opts.Keep != nil && g.opts.Keep(p.Name)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Foreign lists installed packages that are in no sync database (pacman
// -Qm), leaving out allowlisted ones. ok is false when no sync database
// could be read: then every package would look foreign, and none is
// reported.
func Foreign(db *pkg.DB, keep func(string) bool) (foreign []*pkg.Package, ok bool) {
	if len(db.SyncDBs) == 0 {
		return nil, false
	}
	for _, p := range db.Packages {
		if !p.InSync && (keep == nil || !keep(p.Name)) {
			foreign = append(foreign, p)
		}
	}
	return foreign, true
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if fnmatch(p, name) {
			return true
		}
	}
	return false
}
