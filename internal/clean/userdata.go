package clean

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/scan"
)

// UserData is the quarantine of stale user data of one home: into that
// home's own store (~/.local/share/pactidy/quarantine), by its owner. Root
// never writes into a home; the clean command runs pactidy as the owner
// for that (see RunUserData).
type UserData struct {
	// Root is the target root on the running system.
	Root    string
	Home    scan.Home
	Entries []quarantine.Entry
}

// Items is the number of entries.
func (u *UserData) Items() int { return len(u.Entries) }

// Bytes sums the entries' sizes as planned.
func (u *UserData) Bytes() int64 {
	var n int64
	for _, e := range u.Entries {
		n += e.Size
	}
	return n
}

// ErrNotUserData marks a path that is not an entry with no installed owner
// in the current scan.
var ErrNotUserData = errors.New("not a user data entry without an installed owner (pactidy report --only userdata lists them)")

// PlanUserData plans the quarantine of the entries of home found by the
// scan with no installed owner (all of them, or the named ones; never a
// matched one). Each entry is read again now, by handle, and compared with
// what the scan saw: one that changed is left out and returned in dropped.
func PlanUserData(root string, home scan.Home, found []scan.UserEntry, names []string) (*UserData, []ItemError) {
	p := &UserData{Root: root, Home: home}
	var dropped []ItemError
	byPath := map[string]scan.UserEntry{}
	var pick []scan.UserEntry
	for _, e := range found {
		if e.User != home.User || e.MatchedBy != "" {
			continue
		}
		byPath[e.Path] = e
		if len(names) == 0 {
			pick = append(pick, e)
		}
	}
	for _, n := range names {
		e, ok := byPath[filepath.Clean(n)]
		if !ok {
			dropped = append(dropped, ItemError{Name: n, Err: ErrNotUserData})
			continue
		}
		pick = append(pick, e)
	}
	for _, e := range pick {
		q, err := quarantine.Stat(root, e.Path)
		if err != nil {
			dropped = append(dropped, ItemError{Name: e.Path, Err: err})
			continue
		}
		if q.Dev != e.Identity.Dev || q.Ino != e.Identity.Ino || !sameType(e.Type, q.Type) {
			dropped = append(dropped, ItemError{Name: e.Path, Err: fmt.Errorf("changed since the scan; not touched")})
			continue
		}
		p.Entries = append(p.Entries, q)
	}
	return p, dropped
}

// RunUserData quarantines the plan's entries into the home's own store.
// It must run as the home's owner: as anyone else it changes nothing and
// says so. It returns the run's ID (for pactidy quarantine restore) and a
// result per entry.
func RunUserData(ctx context.Context, p *UserData, allowed func(path string, isDir bool) bool, progress func(quarantine.Result)) (string, []quarantine.Result, error) {
	if uid := os.Geteuid(); uid != p.Home.UID {
		return "", nil, fmt.Errorf("the data of %s is moved by %s only (running as uid %d): pactidy runs itself as the owner for that", p.Home.User, p.Home.User, uid)
	}
	dir := quarantine.UserDir(filepath.Join(p.Root, p.Home.Dir))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("create the quarantine %s: %w", dir, err)
	}
	st, err := quarantine.Open(dir)
	if err != nil {
		return "", nil, err
	}
	defer st.Close()
	if _, err := st.Recover(); err != nil {
		return "", nil, fmt.Errorf("recover interrupted runs in %s: %w", dir, err)
	}
	run, err := st.Begin(quarantine.Options{Root: p.Root, Allowlisted: allowed, Progress: progress})
	if err != nil {
		return "", nil, err
	}
	res, err := run.QuarantineAll(ctx, p.Entries)
	if cerr := run.Close(); err == nil {
		err = cerr
	}
	return run.ID, res, err
}
