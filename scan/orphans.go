package scan

import (
	"sort"

	"github.com/pactidy/pactidy/internal/pkg"
)

// Orphan is a dependency package that no root keeps: nothing explicitly
// installed, held or allowlisted needs it, directly or through other
// packages.
type Orphan struct {
	Package *pkg.Package
	// Cycle is set when pacman -Qdt (-Qdtt with OptionalIgnore) would
	// never list the package, however often its output were removed: it
	// sits in a dependency cycle of orphans, or orphans in such a cycle
	// need it. Precisely: it is not removed by repeatedly taking away the
	// orphans no other orphan (optionally) depends on.
	Cycle bool
	// RequiredBy are the packages that depend on it; all are orphans too.
	RequiredBy []string
	// OptionalFor are the installed packages that list it as optional.
	OptionalFor []string
	// Removes are the other packages pacman -Rcns takes along when it is
	// removed, sorted by name: the orphans that need it and then its
	// dependencies nothing else needs. Whenever pacman -Rns accepts the
	// package alone (always when RequiredBy is empty) it removes exactly
	// the same. Like pacman this ignores HoldPkg, the allowlist and
	// optional dependencies.
	Removes []*pkg.Package
	// FreedBytes is the installed size of the package and of Removes.
	FreedBytes int64
}

// Orphans lists the orphans sorted by name.
func (g *Graph) Orphans() []Orphan {
	cycle := g.cycleMembers()
	var w removal
	var out []Orphan
	for i, p := range g.pkgs {
		if g.marked[i] {
			continue
		}
		o := Orphan{
			Package:     p,
			Cycle:       cycle[i],
			RequiredBy:  g.names(g.reqBy[i]),
			OptionalFor: g.names(g.optFor[i]),
			FreedBytes:  p.InstalledSize,
		}
		for _, j := range w.run(g, int32(i)) {
			o.Removes = append(o.Removes, g.pkgs[j])
			o.FreedBytes += g.pkgs[j].InstalledSize
		}
		out = append(out, o)
	}
	return out
}

// cycleMembers peels the orphans from the top, the way repeated pacman
// -Qdt runs would (Kahn's algorithm on the orphan subgraph): an orphan no
// remaining orphan depends on goes first. What is never peeled is in a
// cycle or below one.
func (g *Graph) cycleMembers() []bool {
	n := len(g.pkgs)
	optional := g.opts.Optional == OptionalKeep
	indeg := make([]int32, n)
	stamp := make([]int32, n) // deduplicates successors per package
	for i := range stamp {
		stamp[i] = -1
	}
	succ := func(i int32, f func(int32)) {
		g.forEach(i, optional, func(j int32) {
			if !g.marked[j] && stamp[j] != i {
				stamp[j] = i
				f(j)
			}
		})
	}
	var queue []int32
	for i := range g.pkgs {
		if !g.marked[i] {
			succ(int32(i), func(j int32) { indeg[j]++ })
		}
	}
	for i := range stamp {
		stamp[i] = -1
	}
	for i := range g.pkgs {
		if !g.marked[i] && indeg[i] == 0 {
			queue = append(queue, int32(i))
		}
	}
	peeled := make([]bool, n)
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		peeled[i] = true
		succ(i, func(j int32) {
			if indeg[j]--; indeg[j] == 0 {
				queue = append(queue, j)
			}
		})
	}
	cycle := make([]bool, n)
	for i := range g.pkgs {
		cycle[i] = !g.marked[i] && !peeled[i]
	}
	return cycle
}

// removal emulates libalpm's preparation of "pacman -Rcns X" (remove.c
// _alpm_remove_prepare with CASCADE|RECURSE, deps.c _alpm_recursedeps) on
// the graph. Its marks are generation stamps, so one value serves every
// orphan without clearing.
type removal struct {
	gen             uint32
	inT, inRem, got []uint32
	targets, rem    []int32
	queue           []int32
}

// run returns the packages removed with x, x excluded, sorted by index.
func (w *removal) run(g *Graph, x int32) []int32 {
	return w.runSet(g, []int32{x}, g.depReach)
}

// runSet returns the packages removed with the targets xs, xs excluded,
// sorted by index. Packages marked in skip are never selected by the
// recursion; nil skips nothing.
func (w *removal) runSet(g *Graph, xs []int32, skip []bool) []int32 {
	if len(w.inT) != len(g.pkgs) {
		*w = removal{inT: make([]uint32, len(g.pkgs)), inRem: make([]uint32, len(g.pkgs)), got: make([]uint32, len(g.pkgs))}
	}
	w.gen++
	gen := w.gen
	in := func(s []uint32, i int32) bool { return s[i] == gen }

	// Cascade (-c): add every package whose dependency only targets
	// satisfy, until nothing breaks (alpm_checkdeps with reversedeps).
	// Only requirers of targets can break.
	w.targets = w.targets[:0]
	for _, x := range xs {
		if !in(w.inT, x) {
			w.inT[x] = gen
			w.targets = append(w.targets, x)
		}
	}
	nx := len(w.targets)
	for q := 0; q < len(w.targets); q++ {
		for _, r := range g.reqBy[w.targets[q]] {
			if !in(w.inT, r) && g.broken(r, w.inT, gen) {
				w.inT[r] = gen
				w.targets = append(w.targets, r)
			}
		}
	}

	// Recurse (-s): select the dependency-reason packages the targets
	// depend on, transitively; explicit packages stop the walk. Packages
	// in skip are never selected: for an orphan these are what explicit
	// packages reach along depends, which the keep pass below would
	// always keep.
	w.rem = w.rem[:0]
	visit := func(i int32) {
		g.forEach(i, false, func(j int32) {
			if !in(w.inT, j) && !in(w.inRem, j) && (skip == nil || !skip[j]) && g.pkgs[j].Reason == pkg.Dependency {
				w.inRem[j] = gen
				w.rem = append(w.rem, j)
			}
		})
	}
	for _, t := range w.targets {
		visit(t)
	}
	for q := 0; q < len(w.rem); q++ {
		visit(w.rem[q])
	}

	// Keep what anything outside the removal still depends on, and what
	// that needs in turn.
	w.queue = w.queue[:0]
	for _, r := range w.rem {
		for _, k := range g.reqBy[r] {
			if !in(w.inT, k) && !in(w.inRem, k) {
				w.got[r] = gen
				w.queue = append(w.queue, r)
				break
			}
		}
	}
	for q := 0; q < len(w.queue); q++ {
		g.forEach(w.queue[q], false, func(j int32) {
			if in(w.inRem, j) && !in(w.got, j) {
				w.got[j] = gen
				w.queue = append(w.queue, j)
			}
		})
	}

	out := make([]int32, 0, len(w.targets)-nx+len(w.rem)-len(w.queue))
	out = append(out, w.targets[nx:]...)
	for _, r := range w.rem {
		if !in(w.got, r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// broken reports whether removing the marked targets leaves one of r's
// dependencies without a satisfier.
func (g *Graph) broken(r int32, inT []uint32, gen uint32) bool {
	for _, s := range g.deps[r] {
		hit, other := false, false
		for _, j := range g.sat[s.lo:s.hi] {
			if inT[j] == gen {
				hit = true
			} else {
				other = true
			}
		}
		if hit && !other {
			return true
		}
	}
	return false
}
