package scan

import "github.com/pactidy/pactidy/internal/pkg"

// WhyKind is the reason a package is installed.
type WhyKind int

const (
	// WhyRequired: a root needs it; Chain leads from that root to it.
	WhyRequired WhyKind = iota
	// WhyExplicit: the user installed it explicitly.
	WhyExplicit
	// WhyHeld: pacman.conf lists it in HoldPkg.
	WhyHeld
	// WhyAllowlisted: the allowlist keeps it.
	WhyAllowlisted
	// WhyOrphan: nothing keeps it.
	WhyOrphan
)

func (k WhyKind) String() string {
	return [...]string{"required", "explicit", "holdpkg", "allowlist", "orphan"}[k]
}

// Link is one step of a chain.
type Link struct {
	Name string
	// Optional is set when the previous package only lists this one as an
	// optional dependency.
	Optional bool
}

// Why explains one installed package.
type Why struct {
	Package string
	Kind    WhyKind
	// Chain is a shortest chain from a root to the package, both included;
	// for a root it is the package alone, for an orphan it is empty.
	Chain []Link
	// RequiredBy, for an orphan, are the (orphaned) packages that depend
	// on it; Cycle tells whether it is in or below a dependency cycle.
	RequiredBy []string
	Cycle      bool
}

// Why explains name; ok is false when it is not installed.
func (g *Graph) Why(name string) (w Why, ok bool) {
	i, ok := g.idx[name]
	if !ok {
		return Why{}, false
	}
	w.Package = name
	switch g.root[i] {
	case rootExplicit:
		w.Kind = WhyExplicit
	case rootHeld:
		w.Kind = WhyHeld
	case rootAllowlisted:
		w.Kind = WhyAllowlisted
	}
	if g.root[i] != notRoot {
		w.Chain = []Link{{Name: name}}
		return w, true
	}
	if !g.marked[i] {
		w.Kind = WhyOrphan
		w.RequiredBy = g.names(g.reqBy[i])
		w.Cycle = g.cycleMembers()[i]
		return w, true
	}
	parent, optional := g.shortestPaths()
	w.Kind = WhyRequired
	for j := i; j >= 0; j = parent[j] {
		w.Chain = append(w.Chain, Link{Name: g.pkgs[j].Name, Optional: optional[j]})
	}
	for a, b := 0, len(w.Chain)-1; a < b; a, b = a+1, b-1 {
		w.Chain[a], w.Chain[b] = w.Chain[b], w.Chain[a]
	}
	return w, true
}

// Providers lists, in name order, the installed packages that satisfy
// dep ("name", "name>=1.0"), by name or by provision: the packages pacman
// -Qi finds for a name no package has (alpm_find_satisfier).
func (g *Graph) Providers(dep string) []string {
	var out []string
	for _, p := range g.db.Satisfiers(pkg.ParseDep(dep)) {
		out = append(out, p.Name)
	}
	return out
}

// shortestPaths is a breadth-first search from all roots at once (in name
// order), over depends before optdepends, so chains are short and the same
// on every run. parent is -1 for roots and packages no root reaches.
func (g *Graph) shortestPaths() (parent []int32, optional []bool) {
	n := len(g.pkgs)
	parent = make([]int32, n)
	optional = make([]bool, n)
	seen := make([]bool, n)
	queue := make([]int32, 0, n)
	for i := range g.pkgs {
		parent[i] = -1
		if g.root[i] != notRoot {
			seen[i] = true
			queue = append(queue, int32(i))
		}
	}
	withOpt := g.opts.Optional == OptionalKeep
	for q := 0; q < len(queue); q++ {
		i := queue[q]
		visit := func(spans []span, opt bool) {
			for _, s := range spans {
				for _, j := range g.sat[s.lo:s.hi] {
					if !seen[j] {
						seen[j] = true
						parent[j] = i
						optional[j] = opt
						queue = append(queue, j)
					}
				}
			}
		}
		visit(g.deps[i], false)
		if withOpt {
			visit(g.opt[i], true)
		}
	}
	return parent, optional
}
