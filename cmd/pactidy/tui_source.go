package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/findings"
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
	unowned findings.UnownedOptions
	// userdata chooses the home of the on-demand userdata section.
	userdata userdataOptions
	// state keeps what the removal engine needs of the last scan.
	state *scanState
}

var _ tui.OnDemandSource = (*tuiSource)(nil)

func (s *tuiSource) Scan(ctx context.Context, emit func(tui.Event)) error {
	app := s.app
	cfg, err := app.configNoWarn()
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		emit(tui.Event{Err: fmt.Errorf("pacman.conf: %s", w)})
	}
	allow, err := app.allowlist()
	if err != nil {
		return err
	}
	if s.state != nil {
		s.state.set(func(st *scanState) { st.cfg, st.graph, st.unowned, st.cachePlan = cfg, nil, nil, nil })
	}
	unowned := s.unowned
	if err := app.skipQuarantine(&unowned); err != nil {
		return err
	}
	// The database's own errors show with the orphans.
	var dbErrs []report.Error
	fo, err := app.findingsOptions(cfg, allow)
	if err != nil {
		return err
	}
	fo.Optional, fo.Unowned, fo.KeepGoing = s.mode, unowned, true
	res, err := findings.Run(ctx, fo, func(ev findings.Event) {
		sec := ev.Section
		if sec == findings.SectionDatabase {
			sec = ""
		}
		p := tui.Progress{Packages: ev.Progress.Packages, Dirs: ev.Progress.Dirs, Files: ev.Progress.Entries, Bytes: ev.Progress.Bytes}
		switch ev.Kind {
		case findings.EventProgress:
			emit(tui.Event{Section: sec, Progress: p})
		case findings.EventError:
			if sec != "" { // a failed database load is Run's error
				emit(tui.Event{Section: sec, Err: ev.Err})
			}
		case findings.EventSection:
			if sec == "" {
				dbErrs = ev.Result.Report.Errors
				if s.state != nil {
					s.state.set(func(st *scanState) { st.graph = ev.Result.Graph })
				}
				emit(tui.Event{Progress: p})
				emit(tui.Event{Info: newPackageInfo(cfg, ev.Result.DB, ev.Result.Graph)})
				return
			}
			rep := *ev.Result.Report
			if s.state != nil && ev.Result.Unowned != nil {
				s.state.set(func(st *scanState) { st.unowned = ev.Result.Unowned.Entries })
			}
			if s.state != nil && ev.Result.CachePlan != nil {
				s.state.set(func(st *scanState) { st.cachePlan = ev.Result.CachePlan })
			}
			switch sec {
			case report.SectionOrphans:
				rep.Errors = append(slices.Clone(dbErrs), rep.Errors...)
			case report.SectionForeign:
				if rep.ForeignUnknown {
					emit(tui.Event{Section: sec, Err: fmt.Errorf("no sync database could be read, so foreign packages cannot be told apart")})
					return
				}
			}
			emit(tui.Event{Section: sec, Done: true, Report: &rep, Progress: p})
		}
	})
	if res == nil {
		return err
	}
	return nil
}

// ScanSection computes the userdata section, which Scan never does: it
// looks into the invoking user's home (or --user's), with the system's
// allowlist and the user's own.
func (s *tuiSource) ScanSection(ctx context.Context, section string, emit func(tui.Event)) error {
	if section != report.SectionUserdata {
		return fmt.Errorf("section %s is not scanned on request", section)
	}
	app := s.app
	cfg, err := app.configNoWarn()
	if err != nil {
		return err
	}
	homes, err := app.homes(cfg, s.userdata)
	if err != nil {
		return err
	}
	allow, err := app.allowlist()
	if err != nil {
		return err
	}
	keep, err := userKeep(cfg.RootDir, allow, homes)
	if err != nil {
		return err
	}
	var dbErrs []report.Error
	fo, err := app.findingsOptions(cfg, allow)
	if err != nil {
		return err
	}
	fo.Sections, fo.Unowned, fo.Homes, fo.UserKeep, fo.KeepGoing = []string{report.SectionUserdata}, s.unowned, homes, keep, true
	res, err := findings.Run(ctx, fo, func(ev findings.Event) {
		switch {
		case ev.Section == findings.SectionDatabase:
			if ev.Kind == findings.EventSection {
				dbErrs = ev.Result.Report.Errors
			}
		case ev.Kind == findings.EventProgress:
			emit(tui.Event{Section: section, Progress: tui.Progress{Packages: ev.Progress.Packages, Dirs: ev.Progress.Dirs, Files: ev.Progress.Entries, Bytes: ev.Progress.Bytes}})
		case ev.Kind == findings.EventError:
			emit(tui.Event{Section: section, Err: ev.Err})
		case ev.Kind == findings.EventSection:
			rep := *ev.Result.Report
			rep.Errors = append(slices.Clone(dbErrs), rep.Errors...)
			if s.state != nil {
				found := ev.Result.Userdata
				s.state.set(func(st *scanState) { st.userCfg, st.homes, st.userdata = cfg, homes, found })
			}
			emit(tui.Event{Section: section, Done: true, Report: &rep})
		}
	})
	if res == nil {
		return err
	}
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
		// What pacman -Rns takes along, for a package nothing installed
		// needs (an explicit leaf or an orphan); -Rns refuses the others.
		if (w.Kind == scan.WhyExplicit && len(out.RequiredBy) == 0) || w.Kind == scan.WhyOrphan {
			if rem, err := pi.g.RemovalOf([]string{name}); err == nil && !rem.Cascade {
				for _, q := range append(append([]*pkg.Package{}, rem.Targets...), rem.Others...) {
					out.Removes = append(out.Removes, q.Name)
				}
				out.FreedBytes = rem.Bytes
			}
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
