package quarantine

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Run states, as List reports them.
const (
	StateRunning        = "running"         // a live process is using it
	StateInterrupted    = "interrupted"     // died; the next Recover repairs it
	StateRecovered      = "recovered"       // was interrupted; recovery completed or rolled back its last step
	StateStopped        = "stopped"         // stopped early on request (SIGINT)
	StateComplete       = "complete"        // finished
	StateRestored       = "restored"        // every entry was put back
	StatePartlyRestored = "partly-restored" // some entries were put back
	StateDeleted        = "deleted"         // a permanent deletion (nothing to restore)
	StateEmpty          = "empty"           // nothing was moved
)

// RunInfo summarizes a run.
type RunInfo struct {
	ID      string
	Created time.Time
	// Root is the target root the entries' paths are relative to.
	Root string
	// Entries and Bytes count what is in the quarantine now.
	Entries int
	Bytes   int64
	State   string
	// Detail says in words what happened (recovery, restores, failures).
	Detail string
}

// EntryInfo is one entry of a run.
type EntryInfo struct {
	N      int
	Path   string
	Type   Type
	Method string
	// Status: quarantined, deleted, restored, in place (rolled back or
	// skipped after its intent), or a step in progress.
	Status    string
	Recovered string
	Err       string
	Objects   []Object
	Bytes     int64
}

// RunDetail is a run with its entries.
type RunDetail struct {
	RunInfo
	Items []EntryInfo
}

// List summarizes every run, oldest first.
func (s *Store) List() ([]RunInfo, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	out := make([]RunInfo, 0, len(ids))
	for _, id := range ids {
		d, err := s.show(id, false)
		if err != nil {
			return nil, err
		}
		out = append(out, d.RunInfo)
	}
	return out, nil
}

// Show returns a run with its entries and their manifests.
func (s *Store) Show(id string) (*RunDetail, error) {
	return s.show(id, true)
}

func (s *Store) show(id string, objects bool) (*RunDetail, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%q: %w", id, ErrNoRun)
	}
	dir, err := openDirAt(s.fd, id)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("%s: %w", id, ErrNoRun)
	}
	if err != nil {
		return nil, fmt.Errorf("open run %s: %w", id, err)
	}
	defer closeFd(dir)
	f := &runFiles{id: id, dir: -1, data: -1}
	defer f.close()
	if f.journal, err = openFileAt(dir, "journal", unix.O_RDONLY, filepath.Join(s.Dir, id, "journal")); err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	running := false
	if err := unix.Flock(int(f.journal.Fd()), unix.LOCK_SH|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
		running = true
	} else if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	if f.man, err = openFileAt(dir, "manifest", unix.O_RDONLY, filepath.Join(s.Dir, id, "manifest")); err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	h, blocks, err := loadRun(f, false)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	d := &RunDetail{RunInfo: RunInfo{ID: id, Created: h.Created, Root: h.Root}}
	var in, restored, deleted, completed, rolled, failed int
	for _, e := range h.sorted() {
		it := EntryInfo{N: e.N, Path: e.Path, Type: e.Type, Method: e.Op, Status: e.Phase, Recovered: e.Recovered, Err: e.Err}
		if b := blocks[e.N]; b != nil {
			it.Bytes = b.Bytes
			if objects {
				it.Objects = b.Objects
			}
		}
		switch e.Phase {
		case phaseIn, phaseIncomplete:
			in++
			d.Entries++
			d.Bytes += it.Bytes
		case phaseRestored:
			restored++
		case phaseDeleted:
			deleted++
		case phaseInPlace:
			failed++
		}
		switch e.Recovered {
		case HowCompleted, HowRestoreCompleted:
			completed++
		case HowRolledBack, HowRestoreRolled:
			rolled++
		}
		d.Items = append(d.Items, it)
	}
	var notes []string
	switch {
	case running:
		d.State = StateRunning
	case h.End == nil:
		d.State = StateInterrupted
		notes = append(notes, "interrupted; the next pactidy quarantine or clean command recovers it")
	case deleted > 0 && in == 0 && restored == 0:
		d.State = StateDeleted
	case in == 0 && restored > 0:
		d.State = StateRestored
	case restored > 0:
		d.State = StatePartlyRestored
	case h.End.Reason == endInterrupted:
		d.State = StateRecovered
	case h.End.Reason == endStopped:
		d.State = StateStopped
	case in == 0 && deleted == 0:
		d.State = StateEmpty
	default:
		d.State = StateComplete
	}
	if h.End != nil && h.End.Reason == endInterrupted {
		notes = append(notes, fmt.Sprintf("interrupted, then recovered: %d step(s) completed, %d rolled back", completed, rolled))
	}
	if restored > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d entries restored", restored, restored+in))
	}
	if deleted > 0 {
		notes = append(notes, fmt.Sprintf("%d entries deleted permanently", deleted))
	}
	if failed > 0 {
		notes = append(notes, fmt.Sprintf("%d entries left in place", failed))
	}
	for i, n := range notes {
		if i > 0 {
			d.Detail += "; "
		}
		d.Detail += n
	}
	return d, nil
}

// Purge deletes run id and everything in it for good.
func (s *Store) Purge(id string) error {
	f, err := s.openRun(id)
	if err != nil {
		return err
	}
	h, _, err := loadRun(f, false)
	if err == nil && pending(h) {
		err = fmt.Errorf("run %s was interrupted and is not recovered yet", id)
	}
	if err != nil {
		f.close()
		return err
	}
	tmp := ".purge-" + id
	// Renamed first: a purge cut short leaves no half-deleted run behind,
	// only a .purge- directory that the next Recover removes.
	err = unix.Renameat2(s.fd, id, s.fd, tmp, unix.RENAME_NOREPLACE)
	f.close()
	if err != nil {
		return fmt.Errorf("purge %s: %w", id, err)
	}
	if err := fsyncFd(s.fd); err != nil {
		return fmt.Errorf("purge %s: %w", id, err)
	}
	if err := removeAll(s.fd, tmp); err != nil {
		return fmt.Errorf("purge %s: %w", id, err)
	}
	return fsyncFd(s.fd)
}

// PurgeOlder purges the runs created before now minus age that are not
// in use, and returns their IDs.
func (s *Store) PurgeOlder(age time.Duration) ([]string, error) {
	runs, err := s.List()
	if err != nil {
		return nil, err
	}
	cut := s.Now().Add(-age)
	var out []string
	var errs []error
	for _, r := range runs {
		if !r.Created.Before(cut) || r.State == StateRunning {
			continue
		}
		if err := s.Purge(r.ID); err != nil {
			if !errors.Is(err, ErrBusy) {
				errs = append(errs, err)
			}
			continue
		}
		out = append(out, r.ID)
	}
	return out, errors.Join(errs...)
}
