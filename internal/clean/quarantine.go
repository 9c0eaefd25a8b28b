package clean

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/scan"
)

// QuarantineEntries takes unowned entries out of the system: into the
// quarantine, from where `pactidy quarantine restore` puts them back, or
// (Permanent, only when asked for explicitly) deleted.
type QuarantineEntries struct {
	Entries []QuarantineEntry
	// Permanent deletes instead of quarantining (--no-quarantine).
	Permanent bool
}

func (a *QuarantineEntries) Items() int { return len(a.Entries) }

func (a *QuarantineEntries) Bytes() int64 {
	var n int64
	for _, e := range a.Entries {
		n += e.Size
	}
	return n
}

func (*QuarantineEntries) action() {}

// QuarantineEntry is an unowned path and what it was when the scan found
// it. The quarantine checks all of it again just before acting, and skips
// an entry that changed.
type QuarantineEntry struct {
	// Path is the path as the target system sees it; a directory ends
	// with '/', as in the report.
	Path string
	// Type is the quarantine's type: file, dir, symlink, fifo or other.
	Type string
	// Size is a file's or symlink's size, a directory's the sum of the
	// sizes below it; Entries the number of entries below a directory.
	Size    int64
	Entries int
	// Dev and Ino identify the entry itself.
	Dev, Ino uint64
}

func (e QuarantineEntry) entry() quarantine.Entry {
	p := e.Path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return quarantine.Entry{Path: p, Type: quarantine.Type(e.Type), Dev: e.Dev, Ino: e.Ino, Size: e.Size}
}

// ErrNotFound marks a name that is not an unowned entry of the scan.
var ErrNotFound = errors.New("not an unowned entry of the current scan (pactidy report --only unowned lists them)")

// PlanEntries plans the quarantine of the unowned entries found (never
// those a rule hides), or of the named ones, each of which must be an
// entry the scan reported. root is the target root on the running system.
// Each entry's identity is read now, by handle, and compared with what the
// scan saw: an entry that changed in between, or a name that is not an
// entry, is left out of the plan and returned in dropped.
func PlanEntries(root string, found []scan.UnownedEntry, names []string) (a *QuarantineEntries, dropped []ItemError) {
	byPath := map[string]scan.UnownedEntry{}
	var pick []scan.UnownedEntry
	for _, e := range found {
		if e.HiddenBy != "" {
			continue
		}
		byPath[e.Path] = e
		if len(names) == 0 {
			pick = append(pick, e)
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		e, ok := byPath[n]
		if !ok {
			e, ok = byPath[strings.TrimSuffix(n, "/")+"/"]
		}
		if !ok {
			dropped = append(dropped, ItemError{Name: n, Err: ErrNotFound})
			continue
		}
		if !seen[e.Path] {
			seen[e.Path] = true
			pick = append(pick, e)
		}
	}
	a = &QuarantineEntries{}
	for _, e := range pick {
		q := QuarantineEntry{Path: e.Path, Entries: e.Entries}
		st, err := quarantine.Stat(root, q.entry().Path)
		if err != nil {
			dropped = append(dropped, ItemError{Name: e.Path, Err: err})
			continue
		}
		if !sameType(e.Type, st.Type) || (e.Size != st.Size && !e.Incomplete) {
			dropped = append(dropped, ItemError{Name: e.Path, Err: fmt.Errorf("%w: now a %s of %d bytes, the scan saw a %s of %d",
				quarantine.ErrChanged, st.Type, st.Size, e.Type, e.Size)})
			continue
		}
		if e.Incomplete {
			// Part of it could not be read: what cannot be read cannot
			// be moved and checked either.
			dropped = append(dropped, ItemError{Name: e.Path, Err: errors.New("could not be read in full; not planned")})
			continue
		}
		q.Type, q.Size, q.Dev, q.Ino = string(st.Type), st.Size, st.Dev, st.Ino
		a.Entries = append(a.Entries, q)
	}
	return a, dropped
}

// sameType compares the scan's type with the quarantine's (the scan calls
// a FIFO "other").
func sameType(scanType string, t quarantine.Type) bool {
	if scanType == scan.TypeOther {
		return t == quarantine.TypeFIFO || t == quarantine.TypeOther
	}
	return scanType == string(t)
}

// QuarantineResult is what a QuarantineEntries action did.
type QuarantineResult struct {
	// Dir is the store, ID the run holding the entries.
	Dir, ID string
	// Recovered are interrupted earlier runs the store finished or rolled
	// back before this one began.
	Recovered []quarantine.Recovery
}

// quarantine carries out a QuarantineEntries action, one entry after the
// other, under pacman's lock; an interrupt stops between entries.
// Ownership is checked against the database as it is now, read again for
// this.
func (r *runner) quarantine(ctx context.Context, i int, a *QuarantineEntries, ar *ActionResult) (rerr error) {
	cfg := r.plan.Config
	fail := func(err error) error {
		r.skipAll(i, ar, a, err)
		return err
	}
	// Holding pacman's lock keeps a package from being installed over an
	// entry while entries move: what the database says now stays true.
	unlock, err := cache.Lock(cfg.DBPath)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil && rerr == nil {
			rerr = fmt.Errorf("release pacman's lock: %w", uerr)
		}
	}()
	owned, err := ownedNow(cfg)
	if err != nil {
		return fail(err)
	}
	dir := r.opts.QuarantineDir
	if dir == "" {
		dir = quarantine.DefaultDir(cfg.RootDir)
	}
	st, err := quarantine.Open(dir)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	qr := &QuarantineResult{Dir: st.Dir}
	ar.Quarantine = qr
	// An interrupted run first: its entries must be settled before any
	// other entry moves.
	recs, err := st.Recover()
	qr.Recovered = recs
	if err != nil {
		return fail(fmt.Errorf("recover interrupted quarantine runs in %s: %w", st.Dir, err))
	}
	o := quarantine.Options{
		Root:   cfg.RootDir,
		Owned:  func(p string) bool { return owned.Has(strings.Trim(p, "/")) },
		Delete: a.Permanent,
	}
	if allow := r.opts.Allow; allow != nil {
		installed := func(name string) bool { return owned.installed[name] }
		o.Allowlisted = func(p string, isDir bool) bool {
			if isDir && !strings.HasSuffix(p, "/") {
				p += "/"
			}
			return allow.KeepsPath(p, installed)
		}
	}
	run, err := st.Begin(o)
	if err != nil {
		return fail(err)
	}
	qr.ID = run.ID
	var stopped error
	for k, e := range a.Entries {
		if ctx.Err() != nil {
			for _, rest := range a.Entries[k:] {
				r.skipped(i, ar, rest.Path, ErrInterrupted)
			}
			stopped = ctx.Err()
			break
		}
		r.send(Event{Kind: ItemStarted, Action: i, Item: e.Path, Bytes: e.Size})
		res := run.Quarantine(e.entry())
		var skip *quarantine.SkipError
		switch {
		case errors.As(res.Err, &skip):
			r.skipped(i, ar, e.Path, res.Err)
		case res.Err != nil:
			r.failed(i, ar, e.Path, res.Err)
		default:
			r.done(i, ar, e.Path, res.Bytes)
		}
	}
	end := run.Close
	if stopped != nil {
		end = run.Stop // the run's state says it was stopped early
	}
	if err := end(); err != nil && stopped == nil {
		return fmt.Errorf("close quarantine run %s: %w", run.ID, err)
	}
	return stopped
}

// owned is the set of paths installed packages own, and their names.
type owned struct {
	*scan.OwnedSet
	installed map[string]bool
}

// ownedNow reads the file lists of the database as it is now.
func ownedNow(cfg *conf.Config) (owned, error) {
	h, err := alpm.Open(cfg)
	if err != nil {
		return owned{}, err
	}
	defer h.Close()
	db, err := h.LoadWith(alpm.LoadOptions{Files: true, NoSync: true})
	if err != nil {
		return owned{}, err
	}
	if len(db.Errors) > 0 {
		// A damaged entry may hide what a package owns.
		return owned{}, fmt.Errorf("local database: %v; nothing is moved", db.Errors[0])
	}
	o := owned{OwnedSet: scan.NewOwnedSet(db), installed: map[string]bool{}}
	for _, p := range db.Packages {
		o.installed[p.Name] = true
	}
	return o, nil
}
