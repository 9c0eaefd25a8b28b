// Package findings assembles pactidy's report. It reads the package
// database once, runs the report's sections concurrently and delivers each
// section as soon as it is done, with progress events while they run. Both
// front ends call it: `pactidy report` prints the final report, the TUI
// shows the sections as they arrive. It never prints.
//
// A run:
//
//	res, err := findings.Run(ctx, findings.Options{
//		Config:   cfg,                 // pacman.conf, paths absolute
//		Sections: report.AllSections,  // or some of them
//		Allow:    allow,               // the loaded allowlist
//	}, func(ev findings.Event) {
//		switch ev.Kind {
//		case findings.EventProgress: // ev.Section's counters: ev.Progress
//		case findings.EventSection:  // ev.Section is done: ev.Result
//		case findings.EventError:    // ev.Section failed: ev.Err
//		}
//	})
//
// Events, in order: progress of the database load (Section
// SectionDatabase), then EventSection for SectionDatabase (the package
// database and dependency graph, and the report's header), then, as the
// sections run, their progress and each one's EventSection as soon as it
// is done, in whatever order they finish. emit is called from one
// goroutine at a time (never concurrently), from Run's goroutines: it must
// return quickly (a TUI sends the event on to its program and returns).
// Progress events come at most every Options.ProgressInterval per section.
//
// What an event carries is never modified after it is emitted and shares
// no slice with the final Report, so a consumer in another goroutine may
// read it while the run goes on. The *pkg.DB, *scan.Graph, *cache.Plan and
// *scan.UnownedResult it points to are shared with the final Result and
// with other events: read them, never modify them.
//
// The final Result's Report is identical to what running the sections one
// after another gives (Options.Sequential does that): sections in report
// order, errors in the order the database load and then each section (in
// report order) met them, repeats dropped.
package findings

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/progress"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// SectionDatabase names the loading of the package database in events; it
// is not a report section.
const SectionDatabase = "database"

// Options configure Run.
type Options struct {
	// Config is pacman's configuration with the command line's overrides
	// applied and its paths absolute. Required.
	Config *conf.Config
	// Sections to compute (report.Section*), in any order; nil means
	// report.AllSections.
	Sections []string
	// Optional is how optional dependencies keep packages.
	Optional scan.OptionalMode
	// Allow is the loaded allowlist; nil keeps nothing.
	Allow *allowlist.List
	// Unowned tunes the unowned-file scan.
	Unowned UnownedOptions
	// Cache is the cache policy of the cache section; nil means
	// cache.DefaultOptions(). Installed, Root and DBPath are always set
	// by Run; Now and Allow when they are zero.
	Cache *cache.Options
	// BuildCacheDirs are the AUR helpers' build caches the cache section
	// looks at; nil means DefaultBuildCacheDirs.
	BuildCacheDirs []cache.BuildCacheDir
	// Getenv reads the environment (DefaultBuildCacheDirs); nil means
	// os.Getenv.
	Getenv func(string) string
	// Now is the clock (the report's time, cache ages); nil means time.Now.
	Now func() time.Time
	// ProgressInterval is the least time between two progress events of
	// one section; 0 means 50 ms, a negative value sends none.
	ProgressInterval time.Duration
	// Sequential runs the sections one after another, in report order.
	Sequential bool
	// Homes are the homes the userdata section looks through.
	Homes []scan.Home
	// UserKeep reports user data the allowlists keep (the system's and the
	// user's own); nil keeps nothing.
	UserKeep func(user, path string) bool
	// KeepGoing lets the other sections finish when one fails; Run then
	// returns the Result without the failed sections, and the error.
	// Otherwise the first failure cancels the rest.
	KeepGoing bool
}

// UnownedOptions tune the unowned-file scan (the report's --unowned-*,
// --no-rule and --show-hidden flags).
type UnownedOptions struct {
	// Excludes are system paths or globs not walked, added to
	// scan.DefaultExcludes unless NoDefaultExcludes.
	Excludes          []string
	NoDefaultExcludes bool
	// NoRules switches built-in rules off ("all" for every one).
	NoRules []string
	// ShowHidden also lists what the rules hide.
	ShowHidden bool
	// Workers reading directories in parallel; 0 picks a default.
	Workers int
	// SkipDirs are directories of the running system that are pactidy's
	// own (the quarantine): left out, like pacman's database, cache and
	// log, when they lie inside the root.
	SkipDirs []string
}

// EventKind says what an Event reports.
type EventKind int

const (
	// EventProgress: the section's counters moved (Event.Progress).
	EventProgress EventKind = iota
	// EventSection: the section is done; Event.Result holds it.
	EventSection
	// EventError: the section failed (Event.Err); unless
	// Options.KeepGoing, the run stops.
	EventError
)

func (k EventKind) String() string {
	switch k {
	case EventProgress:
		return "progress"
	case EventSection:
		return "section"
	case EventError:
		return "error"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one step of a run.
type Event struct {
	Kind    EventKind
	Section string // a report.Section* or SectionDatabase
	// Progress is the section's counters when the event was made (for
	// EventSection: the final ones).
	Progress Progress
	// Result is the finished section (EventSection only): its Report
	// holds the report's header (root, time, installed count), this
	// section alone in Sections, its findings and the errors met while
	// computing it. For SectionDatabase, Report.Errors are the database's
	// own and DB and Graph are set.
	Result *Result
	// Err is why the section failed (EventError only).
	Err error
}

// Progress is what a section has done so far. What is counted depends on
// the section: the database counts Packages read; unowned counts Dirs
// listed, Entries read and Bytes of unowned files; missing counts Packages
// and their file Entries checked; cache counts Dirs listed, Entries
// examined and their Bytes. Sections computed in memory count nothing.
type Progress struct {
	Packages int64
	Dirs     int64
	Entries  int64
	Bytes    int64
	// Elapsed is the time since the section started.
	Elapsed time.Duration
}

// Result is what a run (or one section of it) found.
type Result struct {
	// Report is what the printers take.
	Report *report.Report
	// DB is the local package database, read once for every section.
	DB *pkg.DB
	// Graph is the dependency graph (for --why chains and package
	// details); set when orphans or unneeded were asked for.
	Graph *scan.Graph
	// CachePlan is the cache plan the cache section reports, for a
	// removal engine to act on.
	CachePlan *cache.Plan
	// Unowned is the unowned scan as the scanner returned it (with the
	// mount points it skipped).
	Unowned *scan.UnownedResult
	// Userdata are the user data entries with no installed owner, with
	// what they were when scanned (for the removal engine).
	Userdata []scan.UserEntry
	// Elapsed is each section's wall time, by section (SectionDatabase
	// included).
	Elapsed map[string]time.Duration
}

// Run computes the report. Only set-up failures are errors (no
// configuration, an unreadable database, an unowned scan whose root
// cannot be read, a cancelled ctx); what cannot be read during a section
// becomes an entry of Report.Errors and the section goes on.
func Run(ctx context.Context, opts Options, emit func(Event)) (*Result, error) {
	if opts.Config == nil {
		return nil, errors.New("findings: no configuration")
	}
	sections, err := order(opts.Sections)
	if err != nil {
		return nil, err
	}
	if emit == nil {
		emit = func(Event) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	r := &run{opts: opts, cfg: opts.Config, sections: sections, emit: emit, allow: opts.Allow}
	if r.allow == nil {
		r.allow = &allowlist.List{}
	}
	return r.run(ctx)
}

// order checks sections and puts them in report order.
func order(sections []string) ([]string, error) {
	if sections == nil {
		return slices.Clone(report.AllSections), nil
	}
	for _, s := range sections {
		if !slices.Contains(report.KnownSections, s) {
			return nil, fmt.Errorf("unknown section %q", s)
		}
	}
	var out []string
	for _, s := range report.KnownSections {
		if slices.Contains(sections, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no section to report")
	}
	return out, nil
}

// LoadDB reads the local database of cfg's root.
func LoadDB(cfg *conf.Config, o alpm.LoadOptions) (*pkg.DB, error) {
	h, err := alpm.Open(cfg)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.LoadWith(o)
}

// uniqueErrors drops repeats, keeping the first: two sections walking the
// same directory (pacfiles and unowned under /etc) meet its error twice.
func uniqueErrors(errs []report.Error) []report.Error {
	seen := make(map[report.Error]bool, len(errs))
	out := errs[:0]
	for _, e := range errs {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// section is one section's state during a run.
type section struct {
	name     string
	counters progress.Counters
	start    time.Time
	elapsed  time.Duration
	// last is the progress last emitted; done is set once the section's
	// final event is out (both under run.emitMu).
	last    progress.Snapshot
	started bool
	done    bool

	part *report.Report
	res  Result // the section's own pointers (Graph, CachePlan, Unowned)
	err  error
}

func (s *section) progress(now time.Time) Progress {
	c := s.counters.Load()
	p := Progress{Packages: c.Packages, Dirs: c.Dirs, Entries: c.Entries, Bytes: c.Bytes}
	switch {
	case s.done || s.elapsed > 0:
		p.Elapsed = s.elapsed
	case s.started:
		p.Elapsed = now.Sub(s.start)
	}
	return p
}

type run struct {
	opts     Options
	cfg      *conf.Config
	sections []string
	allow    *allowlist.List
	emit     func(Event)

	emitMu sync.Mutex
	states []*section // database first, then the sections in report order

	db     *pkg.DB
	graph  *scan.Graph
	header report.Report

	// walked passes the unowned walk to the missing section when both
	// run side by side: what the walk listed needs no lstat per path.
	walked chan *scan.UnownedResult
}

func (r *run) state(name string) *section {
	for _, s := range r.states {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (r *run) wants(name string) bool { return slices.Contains(r.sections, name) }

// onlyOf reports whether every section of the run is one of sections.
func (r *run) onlyOf(sections ...string) bool {
	for _, s := range r.sections {
		if !slices.Contains(sections, s) {
			return false
		}
	}
	return true
}

func (r *run) run(ctx context.Context) (*Result, error) {
	r.states = append(r.states, &section{name: SectionDatabase})
	for _, s := range r.sections {
		r.states = append(r.states, &section{name: s})
	}
	stopTicker := r.ticker()
	defer stopTicker()

	// The cache listing needs no database: start it now.
	var cacheListed chan cacheListing
	if r.wants(report.SectionCache) {
		cacheListed = make(chan cacheListing, 1)
		st := r.state(report.SectionCache)
		r.begin(st)
		if r.opts.Sequential {
			cacheListed <- r.listCache(st)
		} else {
			go func() { cacheListed <- r.listCache(st) }()
		}
	}

	dbState := r.state(SectionDatabase)
	r.begin(dbState)
	if err := r.load(dbState); err != nil {
		r.fail(dbState, err)
		if cacheListed != nil {
			<-cacheListed
		}
		return nil, err
	}
	r.finish(dbState, &r.header, Result{DB: r.db, Graph: r.graph})

	if !r.opts.Sequential && r.wants(report.SectionMissing) && r.wants(report.SectionUnowned) {
		r.walked = make(chan *scan.UnownedResult, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, name := range r.sections {
		st := r.state(name)
		do := func() {
			if name != report.SectionCache {
				r.begin(st)
			}
			part := r.newPart(name)
			res, err := r.compute(ctx, name, st, part, cacheListed)
			if err != nil {
				st.err = err
				r.fail(st, err)
				if !r.opts.KeepGoing {
					cancel()
				}
				return
			}
			r.finish(st, part, res)
		}
		if r.opts.Sequential {
			if ctx.Err() != nil {
				break
			}
			do()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			do()
		}()
	}
	wg.Wait()
	stopTicker()
	return r.assemble(ctx)
}

// load reads the database (file lists only when a section looks at files)
// and builds the dependency graph when a section needs it.
func (r *run) load(st *section) error {
	files := r.wants(report.SectionMissing) || r.wants(report.SectionPacfiles) || r.wants(report.SectionUnowned) || r.wants(report.SectionUserdata)
	var db *pkg.DB
	var err error
	if len(r.sections) == 1 && r.sections[0] == report.SectionCache {
		// The cache plan needs the installed versions only: no sync
		// database, no libalpm.
		db, err = alpm.LoadVersions(r.cfg.DBPath)
		if db != nil {
			st.counters.Add(int64(len(db.Packages)), 0, 0, 0)
		}
	} else if r.onlyOf(report.SectionUnowned, report.SectionCache) {
		// The unowned scan needs the file lists, bases and backup entries
		// (and the cache plan the versions), nothing libalpm adds.
		db, err = alpm.LoadFiles(r.cfg.DBPath, &st.counters)
	} else {
		// Only the foreign section asks the sync databases anything.
		db, err = LoadDB(r.cfg, alpm.LoadOptions{Files: files, NoSync: !r.wants(report.SectionForeign), Progress: &st.counters})
	}
	if err != nil {
		return err
	}
	r.db = db
	if r.wants(report.SectionOrphans) || r.wants(report.SectionUnneeded) {
		r.graph = scan.NewGraph(db, scan.Options{HoldPkg: r.cfg.HoldPkg, Keep: r.allow.KeepsPackage, Optional: r.opts.Optional})
	}
	r.header = report.Report{
		SchemaVersion: report.SchemaVersion,
		Root:          r.cfg.RootDir,
		GeneratedAt:   r.opts.Now(),
		Sections:      []string{},
		Installed:     len(db.Packages),
		Optional:      r.opts.Optional.String(),
	}
	for _, e := range db.Errors {
		r.header.Errors = append(r.header.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
	}
	return nil
}

// newPart is a report holding the header and one section.
func (r *run) newPart(name string) *report.Report {
	p := r.header
	p.Sections = []string{name}
	p.Errors = nil
	return &p
}

func (r *run) compute(ctx context.Context, name string, st *section, part *report.Report, cacheListed chan cacheListing) (Result, error) {
	addPathErrors := func(errs []scan.PathError) {
		for _, e := range errs {
			part.Errors = append(part.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
		}
	}
	switch name {
	case report.SectionOrphans:
		for _, o := range r.graph.Orphans() {
			ro := report.Orphan{
				Name: o.Package.Name, Version: o.Package.Version, InstalledSize: o.Package.InstalledSize,
				Cycle: o.Cycle, OptionalFor: o.OptionalFor, RequiredBy: o.RequiredBy, FreedBytes: o.FreedBytes,
			}
			for _, p := range o.Removes {
				ro.Removes = append(ro.Removes, p.Name)
			}
			part.Orphans = append(part.Orphans, ro)
		}
		return Result{Graph: r.graph}, nil
	case report.SectionUnneeded:
		for _, p := range r.graph.Unneeded() {
			part.Unneeded = append(part.Unneeded, report.Unneeded{Name: p.Name, Version: p.Version, InstalledSize: p.InstalledSize})
		}
		return Result{Graph: r.graph}, nil
	case report.SectionForeign:
		foreign, ok := scan.Foreign(r.db, r.allow.KeepsPackage)
		part.ForeignUnknown = !ok
		for _, p := range foreign {
			part.Foreign = append(part.Foreign, report.Foreign{Name: p.Name, Version: p.Version})
		}
		return Result{}, nil
	case report.SectionMissing:
		var seen *scan.Seen
		if r.walked != nil {
			select {
			case res := <-r.walked:
				if res != nil {
					seen = res.Seen
				}
			case <-ctx.Done():
				return Result{}, ctx.Err()
			}
		}
		missing, errs, err := scan.MissingFilesSeen(ctx, r.cfg.RootDir, r.db, r.cfg.NoExtract, seen, &st.counters)
		if err != nil {
			return Result{}, err
		}
		for _, m := range missing {
			part.MissingFiles = append(part.MissingFiles, report.MissingFile{Package: m.Package, Path: m.Path, PathBytes: report.RawPath(m.Path)})
		}
		addPathErrors(errs)
		return Result{}, nil
	case report.SectionPacfiles:
		found, errs := scan.Pacfiles(r.cfg.RootDir, r.db)
		if err := scan.FirstTransient(errs); err != nil {
			return Result{}, fmt.Errorf("pacnew files: %w", err)
		}
		for _, f := range found {
			part.Pacfiles = append(part.Pacfiles, report.Pacfile{Path: f.Path, Kind: f.Kind, Package: f.Package, PathBytes: report.RawPath(f.Path)})
		}
		addPathErrors(errs)
		return Result{}, nil
	case report.SectionUnowned:
		res, err := r.unowned(ctx, st, part)
		if r.walked != nil {
			r.walked <- res // nil when it failed: missing then uses lstat
		}
		return Result{Unowned: res}, err
	case report.SectionCache:
		plan, err := r.cachePlan(<-cacheListed, part)
		return Result{CachePlan: plan}, err
	case report.SectionUserdata:
		found, matched, errs := scan.UserData(ctx, scan.UserDataOptions{Root: r.cfg.RootDir, Homes: r.opts.Homes, DB: r.db, Keep: r.opts.UserKeep})
		for _, e := range found {
			part.Userdata = append(part.Userdata, userData(e))
		}
		if r.opts.Unowned.ShowHidden {
			for _, e := range matched {
				part.Userdata = append(part.Userdata, userData(e))
			}
		}
		addPathErrors(errs)
		return Result{Userdata: found}, nil
	}
	return Result{}, fmt.Errorf("unknown section %q", name)
}

// assemble builds the final result from the finished sections.
func (r *run) assemble(ctx context.Context) (*Result, error) {
	// A section's own failure, in report order, before the cancellations
	// it caused in the others.
	var errs, cancelled []error
	for _, st := range r.states {
		switch {
		case st.err == nil:
		case errors.Is(st.err, context.Canceled) || errors.Is(st.err, context.DeadlineExceeded):
			cancelled = append(cancelled, st.err)
		default:
			errs = append(errs, st.err)
		}
	}
	if len(errs) == 0 && len(cancelled) > 0 {
		errs = cancelled[:1]
	}
	if err := ctx.Err(); err != nil && len(errs) == 0 {
		// The caller's context, cancelled between two sections.
		errs = append(errs, err)
	}
	if len(errs) > 0 && !r.opts.KeepGoing {
		return nil, errs[0]
	}
	rep := r.header
	rep.Sections = slices.Clone(r.sections)
	rep.Errors = slices.Clone(r.header.Errors)
	res := &Result{Report: &rep, DB: r.db, Graph: r.graph, Elapsed: map[string]time.Duration{}}
	rep.Elapsed = map[string]time.Duration{}
	for _, st := range r.states {
		res.Elapsed[st.name] = st.elapsed
		if st.name != SectionDatabase && st.part != nil {
			rep.Elapsed[st.name] = st.elapsed
		}
		p := st.part
		if p == nil || st.name == SectionDatabase {
			continue
		}
		switch st.name {
		case report.SectionOrphans:
			rep.Orphans = slices.Clone(p.Orphans)
		case report.SectionUnneeded:
			rep.Unneeded = slices.Clone(p.Unneeded)
		case report.SectionForeign:
			rep.Foreign = slices.Clone(p.Foreign)
			rep.ForeignUnknown = p.ForeignUnknown
		case report.SectionMissing:
			rep.MissingFiles = slices.Clone(p.MissingFiles)
		case report.SectionPacfiles:
			rep.Pacfiles = slices.Clone(p.Pacfiles)
		case report.SectionUnowned:
			rep.Unowned = slices.Clone(p.Unowned)
			rep.UnownedIncomplete, rep.UnownedNoFileLists = p.UnownedIncomplete, p.UnownedNoFileLists
			res.Unowned = st.res.Unowned
		case report.SectionCache:
			rep.Cache = cloneCache(p.Cache)
			res.CachePlan = st.res.CachePlan
		case report.SectionUserdata:
			rep.Userdata = slices.Clone(p.Userdata)
			res.Userdata = st.res.Userdata
		}
		rep.Errors = append(rep.Errors, p.Errors...)
	}
	if len(errs) > 0 {
		// KeepGoing: the failed sections are not in the report.
		rep.Sections = slices.DeleteFunc(rep.Sections, func(s string) bool { return r.state(s).part == nil })
	}
	rep.Errors = finishErrors(rep.Errors)
	return res, errors.Join(errs...)
}

// finishErrors drops repeats and adds the raw bytes of odd paths.
func finishErrors(errs []report.Error) []report.Error {
	errs = uniqueErrors(errs)
	report.FillErrorBytes(errs)
	return errs
}

func cloneCache(c *report.Cache) *report.Cache {
	if c == nil {
		return nil
	}
	out := *c
	out.Dirs = slices.Clone(c.Dirs)
	out.Candidates = slices.Clone(c.Candidates)
	out.Kept = slices.Clone(c.Kept)
	out.BuildCaches = slices.Clone(c.BuildCaches)
	return &out
}

// begin marks a section started.
func (r *run) begin(st *section) {
	r.emitMu.Lock()
	st.start = time.Now()
	st.started = true
	r.emitMu.Unlock()
}

// finish emits a section's last progress and its result.
func (r *run) finish(st *section, part *report.Report, res Result) {
	part.Errors = finishErrors(part.Errors)
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	st.elapsed = time.Since(st.start)
	st.part = part
	st.res = res
	res.Report = part
	res.Elapsed = map[string]time.Duration{st.name: st.elapsed}
	p := st.progress(time.Now())
	st.done = true
	r.emit(Event{Kind: EventSection, Section: st.name, Progress: p, Result: &res})
}

func (r *run) fail(st *section, err error) {
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	st.elapsed = time.Since(st.start)
	st.err = err
	p := st.progress(time.Now())
	st.done = true
	r.emit(Event{Kind: EventError, Section: st.name, Progress: p, Err: err})
}

// ticker emits the running sections' progress at most every interval;
// the returned stop waits for the last event (calling it twice is fine).
func (r *run) ticker() (stop func()) {
	interval := r.opts.ProgressInterval
	if interval < 0 {
		return func() {}
	}
	if interval == 0 {
		interval = 50 * time.Millisecond
	}
	quit := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				r.emitMu.Lock()
				for _, st := range r.states {
					if !st.started || st.done {
						continue
					}
					if c := st.counters.Load(); c != st.last {
						st.last = c
						r.emit(Event{Kind: EventProgress, Section: st.name, Progress: st.progress(now)})
					}
				}
				r.emitMu.Unlock()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-stopped
		})
	}
}

func userData(e scan.UserEntry) report.UserData {
	return report.UserData{
		User: e.User, Path: e.Path, Kind: e.Kind, Type: e.Type, Size: e.Size, Entries: e.Entries,
		MTime: e.MTime.UTC(), SafeToDrop: e.SafeToDrop(), MatchedBy: e.MatchedBy, Checked: e.Checked,
		Incomplete: e.Incomplete, PathBytes: report.RawPath(e.Path),
	}
}
