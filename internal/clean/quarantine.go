package clean

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pactidy/pactidy/scan"
)

// QuarantineEntries takes unowned entries out of the system: into the
// quarantine, from where they can be restored, or (Permanent, asked for
// explicitly) deleted.
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
// it. The quarantine re-checks all of it just before acting, and skips an
// entry that changed.
type QuarantineEntry struct {
	// Path is the path as the target system sees it (a directory ends
	// with '/', as in the report).
	Path string
	// Type is scan.TypeFile, TypeDir, TypeSymlink or TypeOther.
	Type string
	// Size is the entry's size (a directory's: its subtree's), Entries
	// the number of entries below a directory.
	Size    int64
	Entries int
	// Dev and Ino identify the entry itself.
	Dev, Ino uint64
}

// Quarantine is the store unowned entries go into.
type Quarantine interface {
	// Put takes one entry out of the system after checking that it still
	// is what e says; it returns the bytes moved. An entry that changed
	// since the scan is left alone and the error wraps ErrEntryChanged.
	Put(ctx context.Context, e QuarantineEntry) (int64, error)
}

// ErrEntryChanged marks an entry left alone because it is not what the
// scan saw.
var ErrEntryChanged = errors.New("changed since the scan; left alone")

// PlanEntries plans the quarantine of the unowned entries found (those a
// rule hides are never taken), or of the named ones: each name must be a
// path the scan reported. root is the target root on the running system.
func PlanEntries(root string, found []scan.UnownedEntry, names []string) (*QuarantineEntries, error) {
	byPath := map[string]scan.UnownedEntry{}
	for _, e := range found {
		if e.HiddenBy == "" {
			byPath[e.Path] = e
		}
	}
	var pick []scan.UnownedEntry
	if len(names) == 0 {
		for _, e := range found {
			if e.HiddenBy == "" {
				pick = append(pick, e)
			}
		}
	}
	var bad []string
	seen := map[string]bool{}
	for _, n := range names {
		e, ok := byPath[n]
		if !ok {
			e, ok = byPath[strings.TrimSuffix(n, "/")+"/"]
		}
		if !ok {
			bad = append(bad, n)
			continue
		}
		if !seen[e.Path] {
			seen[e.Path] = true
			pick = append(pick, e)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("not an unowned entry of the current scan (pactidy report --only unowned lists them): %s", strings.Join(bad, ", "))
	}
	a := &QuarantineEntries{}
	for _, e := range pick {
		q := QuarantineEntry{Path: e.Path, Type: e.Type, Size: e.Size, Entries: e.Entries}
		var st syscall.Stat_t
		p := filepath.Join(root, strings.TrimSuffix(e.Path, "/"))
		if err := syscall.Lstat(p, &st); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, unwrapPath(err))
		}
		q.Dev, q.Ino = st.Dev, st.Ino
		a.Entries = append(a.Entries, q)
	}
	return a, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// quarantine carries out a QuarantineEntries action, one entry after the
// other; an interrupt stops between entries.
func (r *runner) quarantine(ctx context.Context, i int, a *QuarantineEntries, ar *ActionResult) error {
	q := r.opts.Quarantine
	if q == nil {
		err := errors.New("no quarantine to move the entries into")
		r.skipAll(i, ar, a, err)
		return err
	}
	for k, e := range a.Entries {
		if ctx.Err() != nil {
			for _, rest := range a.Entries[k:] {
				r.skipped(i, ar, rest.Path, ErrInterrupted)
			}
			return ctx.Err()
		}
		r.send(Event{Kind: ItemStarted, Action: i, Item: e.Path, Bytes: e.Size})
		n, err := q.Put(ctx, e)
		switch {
		case errors.Is(err, ErrEntryChanged):
			r.skipped(i, ar, e.Path, err)
		case err != nil:
			r.failed(i, ar, e.Path, err)
		default:
			r.done(i, ar, e.Path, n)
		}
	}
	return nil
}
