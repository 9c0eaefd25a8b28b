package scan

import (
	"fmt"
	"sort"

	"github.com/pactidy/pactidy/internal/pkg"
)

// Removal is what pacman -Rcns (or -Rcs) does with a list of targets.
type Removal struct {
	// Targets are the named packages, in the order given.
	Targets []*pkg.Package
	// Others are the packages removed along with them, sorted by name:
	// packages that need a target (the cascade) and dependencies nothing
	// else needs (the recursion). Like pacman this ignores HoldPkg, the
	// allowlist and optional dependencies.
	Others []*pkg.Package
	// Cascade is set when some package outside Targets needs a target:
	// pacman -Rns then refuses and -Rcns is required.
	Cascade bool
	// Bytes is the installed size of Targets and Others.
	Bytes int64
}

// RemovalOf computes what "pacman -Rcns NAMES..." removes from this graph's
// database. A name that is not installed is an error.
func (g *Graph) RemovalOf(names []string) (*Removal, error) {
	xs := make([]int32, 0, len(names))
	r := &Removal{}
	inT := make(map[int32]bool, len(names))
	for _, n := range names {
		i, ok := g.idx[n]
		if !ok {
			return nil, fmt.Errorf("package %s is not installed", n)
		}
		if inT[i] {
			continue
		}
		inT[i] = true
		xs = append(xs, i)
		r.Targets = append(r.Targets, g.pkgs[i])
		r.Bytes += g.pkgs[i].InstalledSize
	}
	var w removal
	for _, j := range w.runSet(g, xs, nil) {
		r.Others = append(r.Others, g.pkgs[j])
		r.Bytes += g.pkgs[j].InstalledSize
	}
	sort.Slice(r.Others, func(a, b int) bool { return r.Others[a].Name < r.Others[b].Name })
	for _, x := range xs {
		for _, k := range g.reqBy[x] {
			if !inT[k] {
				r.Cascade = true
			}
		}
	}
	return r, nil
}
