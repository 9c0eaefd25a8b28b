package main

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
	"github.com/pactidy/pactidy/tui"
)

// tuiSource computes the report's sections for the terminal UI, each in
// its own goroutine, and hands each over as soon as it is done.
type tuiSource struct {
	app     *App
	mode    scan.OptionalMode
	unowned unownedOptions
	// state keeps what the removal engine needs of the last scan.
	state *scanState
}

var _ tui.Source = (*tuiSource)(nil)

func (s *tuiSource) Scan(ctx context.Context, emit func(tui.Event)) error {
	app := s.app
	cfg, err := app.configNoWarn()
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		emit(tui.Event{Err: fmt.Errorf("pacman.conf: %s", w)})
	}
	db, err := loadPackages(cfg, true)
	if err != nil {
		return err
	}
	emit(tui.Event{Progress: tui.Progress{Packages: int64(len(db.Packages))}})
	allow, err := app.allowlist()
	if err != nil {
		return err
	}
	g := scan.NewGraph(db, scan.Options{HoldPkg: cfg.HoldPkg, Keep: allow.KeepsPackage, Optional: s.mode})
	if s.state != nil {
		s.state.set(func(st *scanState) { st.cfg, st.graph, st.unowned, st.cachePlan = cfg, g, nil, nil })
	}
	var dbErrs []report.Error
	for _, e := range db.Errors {
		dbErrs = append(dbErrs, report.Error{Path: e.Path, Error: e.Err.Error()})
	}
	base := func(sec string) *report.Report {
		return &report.Report{SchemaVersion: report.SchemaVersion, Sections: []string{sec}, Root: cfg.RootDir, GeneratedAt: app.Now(), Installed: len(db.Packages), Optional: s.mode.String()}
	}
	run := func(sec string, fill func(rep *report.Report) error) {
		rep := base(sec)
		if err := fill(rep); err != nil {
			emit(tui.Event{Section: sec, Err: err})
			return
		}
		emit(tui.Event{Section: sec, Done: true, Report: rep})
	}
	var wg sync.WaitGroup
	goRun := func(sec string, fill func(rep *report.Report) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(sec, fill)
		}()
	}
	goRun(report.SectionUnowned, func(rep *report.Report) error {
		return collectUnowned(ctx, app, cfg, db, allow, &s.unowned, rep)
	})
	goRun(report.SectionCache, func(rep *report.Report) error {
		return collectCache(ctx, app, cfg, db, allow, rep)
	})
	goRun(report.SectionMissing, func(rep *report.Report) error {
		missing, errs, err := scan.MissingFiles(ctx, cfg.RootDir, db, cfg.NoExtract)
		if err != nil {
			return err
		}
		for _, m := range missing {
			rep.MissingFiles = append(rep.MissingFiles, report.MissingFile{Package: m.Package, Path: m.Path, PathBytes: rawPath(m.Path)})
		}
		for _, e := range errs {
			rep.Errors = append(rep.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
		}
		return nil
	})
	goRun(report.SectionPacfiles, func(rep *report.Report) error {
		found, errs := scan.Pacfiles(cfg.RootDir, db)
		for _, f := range found {
			rep.Pacfiles = append(rep.Pacfiles, report.Pacfile{Path: f.Path, Kind: f.Kind, Package: f.Package, PathBytes: rawPath(f.Path)})
		}
		for _, e := range errs {
			rep.Errors = append(rep.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
		}
		return nil
	})
	run(report.SectionOrphans, func(rep *report.Report) error {
		rep.Errors = dbErrs
		for _, o := range g.Orphans() {
			ro := report.Orphan{
				Name: o.Package.Name, Version: o.Package.Version, InstalledSize: o.Package.InstalledSize,
				Cycle: o.Cycle, OptionalFor: o.OptionalFor, RequiredBy: o.RequiredBy, FreedBytes: o.FreedBytes,
			}
			for _, r := range o.Removes {
				ro.Removes = append(ro.Removes, r.Name)
			}
			rep.Orphans = append(rep.Orphans, ro)
		}
		return nil
	})
	run(report.SectionUnneeded, func(rep *report.Report) error {
		for _, p := range g.Unneeded() {
			rep.Unneeded = append(rep.Unneeded, report.Unneeded{Name: p.Name, Version: p.Version, InstalledSize: p.InstalledSize})
		}
		return nil
	})
	run(report.SectionForeign, func(rep *report.Report) error {
		foreign, ok := scan.Foreign(db, allow.KeepsPackage)
		if !ok {
			return fmt.Errorf("no sync database could be read, so foreign packages cannot be told apart")
		}
		for _, p := range foreign {
			rep.Foreign = append(rep.Foreign, report.Foreign{Name: p.Name, Version: p.Version})
		}
		return nil
	})
	emit(tui.Event{Info: newPackageInfo(cfg, db, g)})
	wg.Wait()
	return nil
}

// packageInfo answers the detail pane from the database read.
type packageInfo struct {
	cfg   *conf.Config
	db    *pkg.DB
	g     *scan.Graph
	reqBy map[string][]string
	optBy map[string][]string
	dirs  map[string]string
	mu    sync.Mutex
}

func newPackageInfo(cfg *conf.Config, db *pkg.DB, g *scan.Graph) *packageInfo {
	pi := &packageInfo{cfg: cfg, db: db, g: g, reqBy: map[string][]string{}, optBy: map[string][]string{}, dirs: map[string]string{}}
	for _, p := range db.Packages {
		for _, d := range p.Depends {
			for _, q := range db.Satisfiers(d) {
				pi.reqBy[q.Name] = append(pi.reqBy[q.Name], p.Name)
			}
		}
		for _, d := range p.OptDepends {
			for _, q := range db.Satisfiers(d) {
				pi.optBy[q.Name] = append(pi.optBy[q.Name], p.Name)
			}
		}
		for _, f := range p.Files {
			if strings.HasSuffix(f, "/") {
				d := "/" + strings.TrimSuffix(f, "/")
				if _, ok := pi.dirs[d]; !ok {
					pi.dirs[d] = p.Name
				}
			}
		}
	}
	return pi
}

func (pi *packageInfo) Root() string { return pi.cfg.RootDir }

func (pi *packageInfo) Package(name string) (tui.PackageInfo, bool) {
	p := pi.db.Get(name)
	if p == nil {
		return tui.PackageInfo{}, false
	}
	out := tui.PackageInfo{
		Name: p.Name, Version: p.Version, Desc: p.Desc, InstallDate: p.InstallDate, InstalledSize: p.InstalledSize,
		RequiredBy: pi.reqBy[name], OptionalFor: pi.optBy[name],
	}
	pi.mu.Lock()
	w, ok := pi.g.Why(name)
	pi.mu.Unlock()
	if ok {
		out.Why = report.Why{Package: w.Package, Reason: w.Kind.String(), RequiredBy: w.RequiredBy, Cycle: w.Cycle}
		for _, l := range w.Chain {
			out.Why.Chain = append(out.Why.Chain, report.WhyLink{Name: l.Name, Optional: l.Optional})
		}
	}
	return out, true
}

// Origin is the package owning the nearest owned directory above p.
func (pi *packageInfo) Origin(p string) string {
	for d := path.Dir(strings.TrimSuffix(p, "/")); d != "/" && d != "."; d = path.Dir(d) {
		if name, ok := pi.dirs[d]; ok {
			return name
		}
	}
	return ""
}
