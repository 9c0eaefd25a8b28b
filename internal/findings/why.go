package findings

import (
	"fmt"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// UnknownPackageError is a name no installed package has or provides.
type UnknownPackageError struct{ Name string }

func (e *UnknownPackageError) Error() string {
	return fmt.Sprintf("%s: no installed package has that name or provides it (pacman -Qs searches)", e.Name)
}

// Why explains why each named package is installed, reading the database
// without file lists. Only Config, Optional and Allow of opts matter. A
// name no package has but some provide (like pacman -Qi) explains each
// provider.
func Why(opts Options, names []string) ([]report.Why, error) {
	if opts.Config == nil {
		return nil, fmt.Errorf("findings: no configuration")
	}
	allow := opts.Allow
	if allow == nil {
		allow = &allowlist.List{}
	}
	db, err := LoadDB(opts.Config, alpm.LoadOptions{})
	if err != nil {
		return nil, err
	}
	g := scan.NewGraph(db, scan.Options{HoldPkg: opts.Config.HoldPkg, Keep: allow.KeepsPackage, Optional: opts.Optional})
	return Explain(g, names)
}

// Explain is Why on a graph already built (the TUI's detail pane).
func Explain(g *scan.Graph, names []string) ([]report.Why, error) {
	var whys []report.Why
	for _, name := range names {
		query, pkgs := "", []string{name}
		if _, ok := g.Why(name); !ok {
			query, pkgs = name, g.Providers(name)
			if len(pkgs) == 0 {
				return nil, &UnknownPackageError{Name: name}
			}
		}
		for _, p := range pkgs {
			w, _ := g.Why(p)
			rw := report.Why{Package: w.Package, Query: query, Reason: w.Kind.String(), RequiredBy: w.RequiredBy, Cycle: w.Cycle}
			for _, l := range w.Chain {
				rw.Chain = append(rw.Chain, report.WhyLink{Name: l.Name, Optional: l.Optional})
			}
			whys = append(whys, rw)
		}
	}
	return whys, nil
}
