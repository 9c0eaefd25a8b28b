// Package hook finds what a pacman transaction just left behind: the
// packages it orphaned and the .pacnew/.pacsave files it created. It runs
// from pacman's PostTransaction hook (`pactidy hook`), so it must be quick
// and must never stop pacman: it reads only what it needs.
//
// Orphans: libalpm's database after the transaction says which packages
// are orphans now, but not which were orphans before (a removed package's
// dependencies are gone from the database with it). So the hook keeps the
// orphan list it saw after each transaction in the state file, and reports
// the orphans that list lacks. Before its first run it uses the orphans
// of the last report's state, if any; without either it reports none and
// starts the record. The hook runs after installs too (Operation =
// Install), so a package that an install took out of the orphans and a
// later removal put back is reported again.
//
// Pacfiles: a .pacnew, .pacsave or .pacorig whose status-change time is
// not older than pacman's lock file (DBPath/db.lck, created when the
// transaction began and held while hooks run) was made by this
// transaction; pacman keeps the packaged modification time on the files
// it extracts, but the change time is the moment of the rename. The files
// are looked for under /etc and next to the backup files of the
// transaction's packages (the targets pacman passes with NeedsTargets).
// Run by hand, without the lock, "since" is the hook's last run.
package hook

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/internal/state"
	"github.com/pactidy/pactidy/scan"
)

// Options configure Run.
type Options struct {
	// Config is pacman's configuration, paths absolute.
	Config *conf.Config
	// Allow keeps packages out of the orphans, as in the report.
	Allow *allowlist.List
	// Optional is how optional dependencies keep packages.
	Optional scan.OptionalMode
	// Targets are the transaction's package names (NeedsTargets).
	Targets []string
	// State is where the orphan record lives; NoState leaves it alone
	// (then no orphan can be told new).
	State   state.Store
	NoState bool
	// Now is the time of the record.
	Now time.Time
}

// Result is what the transaction left behind.
type Result struct {
	// Orphans are the packages that are orphans now and were not after
	// the last transaction, sorted by name.
	Orphans []*pkg.Package
	// Remove is what `pacman -Rns` needs to remove them: the new orphans
	// and the orphans that depend on them (pacman refuses to break those).
	Remove []string
	// Pacfiles are the pacfiles the transaction created, sorted by path.
	Pacfiles []scan.Pacfile
	// FirstRun is set when there was no earlier record of orphans.
	FirstRun bool
	// Warnings are problems that did not stop the hook (an unreadable
	// directory, a damaged state file, a record that could not be
	// written).
	Warnings []string
}

// Run finds what the transaction left behind and records the orphans.
func Run(ctx context.Context, o Options) (*Result, error) {
	cfg := o.Config
	h, err := alpm.Open(cfg)
	if err != nil {
		return nil, err
	}
	// The orphans need the packages' metadata only: no file lists, no
	// sync databases, no second read of every desc.
	db, err := h.LoadWith(alpm.LoadOptions{NoSync: true, NoEntryCheck: true})
	h.Close()
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, e := range db.Errors {
		res.Warnings = append(res.Warnings, e.Error())
	}
	keep := func(string) bool { return false }
	if o.Allow != nil {
		keep = o.Allow.KeepsPackage
	}
	g := scan.NewGraph(db, scan.Options{HoldPkg: cfg.HoldPkg, Keep: keep, Optional: o.Optional})
	// The orphans are the packages no root keeps; what each removal would
	// take along (scan's Orphans) is more than the hook needs.
	var orphans []*pkg.Package
	var names []string
	for _, p := range db.Packages {
		if !g.Kept(p.Name) {
			orphans = append(orphans, p)
			names = append(names, p.Name)
		}
	}

	var before []string
	var since time.Time
	if !o.NoState {
		prev, _, err := o.State.Load()
		var damaged *state.DamagedError
		switch {
		case errors.As(err, &damaged):
			res.Warnings = append(res.Warnings, err.Error())
		case err != nil:
			res.Warnings = append(res.Warnings, err.Error())
		}
		switch {
		case prev == nil:
			res.FirstRun = true
		case prev.Hook != nil:
			before, since = prev.Hook.Orphans, prev.Hook.UpdatedAt
		case prev.Sections[report.SectionOrphans] != nil:
			for k := range prev.Sections[report.SectionOrphans].Keys {
				before = append(before, k)
			}
		default:
			res.FirstRun = true
		}
	} else {
		res.FirstRun = true
	}
	if !res.FirstRun {
		res.Orphans, res.Remove = newOrphans(orphans, before, g.RequiredBy)
	}

	// The lock file's time is the transaction's start.
	if fi, err := os.Stat(filepath.Join(cfg.DBPath, "db.lck")); err == nil {
		since = fi.ModTime()
	} else if !errors.Is(err, fs.ErrNotExist) {
		res.Warnings = append(res.Warnings, err.Error())
	}
	if !since.IsZero() {
		res.Pacfiles, res.Warnings = pacfiles(ctx, cfg, db, o.Targets, since, res.Warnings)
	}

	if !o.NoState {
		err := o.State.Update(func(s *state.State) error {
			s.Hook = &state.Hook{UpdatedAt: o.Now, Orphans: names}
			return nil
		})
		if err != nil {
			res.Warnings = append(res.Warnings, "orphans not recorded: "+err.Error())
		}
	}
	return res, nil
}

// newOrphans returns the orphans not in before, and what pacman -Rns needs
// to remove them: those and, transitively, the packages requiring them
// (all orphans too: nothing kept requires an orphan).
func newOrphans(orphans []*pkg.Package, before []string, requiredBy func(string) []string) ([]*pkg.Package, []string) {
	was := make(map[string]bool, len(before))
	for _, n := range before {
		was[n] = true
	}
	var out []*pkg.Package
	remove := map[string]bool{}
	var add func(name string)
	add = func(name string) {
		if remove[name] {
			return
		}
		remove[name] = true
		for _, r := range requiredBy(name) {
			add(r)
		}
	}
	for _, p := range orphans {
		if !was[p.Name] {
			out = append(out, p)
			add(p.Name)
		}
	}
	names := make([]string, 0, len(remove))
	for n := range remove {
		names = append(names, n)
	}
	sort.Strings(names)
	return out, names
}

// pacfiles are the pacfiles below /etc and next to the targets' backup
// files whose change time is not before since.
func pacfiles(ctx context.Context, cfg *conf.Config, db *pkg.DB, targets []string, since time.Time, warnings []string) ([]scan.Pacfile, []string) {
	// scan.Pacfiles looks next to the backup files the database lists;
	// give it those of the targets only (the rest is not loaded).
	byName := make(map[string]*pkg.Package, len(db.Packages))
	for _, p := range db.Packages {
		byName[p.Name] = p
	}
	for _, t := range targets {
		p := byName[t]
		if p == nil {
			continue // removed by the transaction
		}
		b, err := pkg.ReadBackup(cfg.DBPath, p.Name, p.Version)
		if err != nil {
			warnings = append(warnings, err.Error())
			continue
		}
		p.Backup = b
	}
	found, errs := scan.Pacfiles(cfg.RootDir, db)
	for _, e := range errs {
		warnings = append(warnings, fmt.Sprintf("%s: %v", e.Path, e.Err))
	}
	var out []scan.Pacfile
	for _, f := range found {
		if ctx.Err() != nil {
			break
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(cfg.RootDir, f.Path), &st); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				warnings = append(warnings, fmt.Sprintf("%s: %v", f.Path, err))
			}
			continue
		}
		if !time.Unix(st.Ctim.Sec, st.Ctim.Nsec).Before(since) {
			out = append(out, f)
		}
	}
	return out, warnings
}
