package quarantine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/fsafe"
)

// What recovery did with an interrupted step.
const (
	HowCompleted        = "completed"         // the entry is in the quarantine (or deleted)
	HowRolledBack       = "rolled back"       // the entry is in place
	HowRestoreCompleted = "restore completed" // the entry is back in place
	HowRestoreRolled    = "restore rolled back"
)

// Recovery is what Recover did with one interrupted entry.
type Recovery struct {
	ID   string
	N    int
	Path string
	How  string
	Err  error
}

// Recover finishes or rolls back every run that a crash or a kill
// interrupted, so that each entry is either in place or in the quarantine
// with its manifest, and marks those runs as recovered. Runs in use by a
// live process are left alone. Every command that changes the store calls
// it first.
func (s *Store) Recover() ([]Recovery, error) {
	names, err := readNames(s.fd)
	if err != nil {
		return nil, fmt.Errorf("list quarantine %s: %w", s.Dir, err)
	}
	var errs []error
	for _, n := range names {
		// A run being created or purged when the process died.
		if strings.HasPrefix(n, ".new-") || strings.HasPrefix(n, ".purge-") {
			if err := s.removeLeftover(n); err != nil {
				errs = append(errs, err)
			}
		}
	}
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	var out []Recovery
	for _, id := range ids {
		recs, err := s.recoverRun(id)
		out = append(out, recs...)
		if err != nil && !errors.Is(err, ErrBusy) {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func (s *Store) removeLeftover(name string) error {
	dir, err := openDirAt(s.fd, name)
	if err != nil {
		return fmt.Errorf("recover %s: %w", name, err)
	}
	j, err := openAt(dir, "journal", unix.O_RDONLY, 0)
	if err == nil {
		err = unix.Flock(j, unix.LOCK_EX|unix.LOCK_NB)
		defer closeFd(j)
		if errors.Is(err, unix.EWOULDBLOCK) {
			closeFd(dir)
			return nil // being created right now
		}
	}
	closeFd(dir)
	if err := removeAll(s.fd, name); err != nil {
		return fmt.Errorf("remove %s of %s: %w", name, s.Dir, err)
	}
	return fsyncFd(s.fd)
}

// loadRun reads a locked run's journal and manifest, cutting off a record
// or a manifest block that a crash left incomplete.
func loadRun(f *runFiles, truncate bool) (*history, map[int]*block, error) {
	recs, valid, err := readLines[record](f.journal.Name(), f.journal)
	if err != nil {
		return nil, nil, err
	}
	blocks, mvalid, err := readManifest(f.man.Name(), f.man)
	if err != nil {
		return nil, nil, err
	}
	if truncate {
		for _, t := range []struct {
			f interface {
				Truncate(int64) error
				Sync() error
			}
			n int64
		}{{f.journal, valid}, {f.man, mvalid}} {
			if err := t.f.Truncate(t.n); err != nil {
				return nil, nil, err
			}
			if err := t.f.Sync(); err != nil {
				return nil, nil, err
			}
		}
	}
	h, err := replay(recs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", f.journal.Name(), err)
	}
	return h, blocks, nil
}

func pending(h *history) bool {
	if h.End == nil {
		return true
	}
	for _, e := range h.Entries {
		if e.Phase == phaseMoving || e.Phase == phaseRestoring {
			return true
		}
	}
	return false
}

func (s *Store) recoverRun(id string) ([]Recovery, error) {
	f, err := s.openRun(id)
	if err != nil {
		return nil, err
	}
	defer f.close()
	h, blocks, err := loadRun(f, true)
	if errors.Is(err, errNoJournal) {
		// Created (renamed into place) only with its begin record, so this
		// is a journal emptied by hand: nothing to recover.
		return nil, fmt.Errorf("run %s: empty journal", id)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	if !pending(h) {
		return nil, nil
	}
	rc := &recoverer{s: s, f: f, h: h, blocks: blocks}
	defer rc.root.Close()
	var out []Recovery
	var errs []error
	for _, e := range h.sorted() {
		if e.Phase != phaseMoving && e.Phase != phaseRestoring {
			continue
		}
		how, err := rc.entry(e)
		out = append(out, Recovery{ID: id, N: e.N, Path: e.Path, How: how, Err: err})
		if err != nil {
			errs = append(errs, fmt.Errorf("recover %s entry %d (%s): %w", id, e.N, quote(e.Path), err))
			continue
		}
		if err := rc.journal(record{T: recRecovered, N: e.N, How: how}); err != nil {
			return out, err
		}
	}
	if h.End == nil {
		if err := rc.journal(record{T: recEnd, Reason: endInterrupted}); err != nil {
			return out, err
		}
	}
	return out, errors.Join(errs...)
}

type recoverer struct {
	s      *Store
	f      *runFiles
	h      *history
	blocks map[int]*block
	root   *fsafe.Dir
}

func (rc *recoverer) journal(r record) error {
	r.Time = rc.s.Now().UTC()
	return appendSync(rc.f.journal, r)
}

// parent opens the directory holding the entry's original path, and puts
// back what a removal cut short left in a stage there (see fsafe.Unstage).
func (rc *recoverer) parent(p string) (*fsafe.Dir, string, error) {
	if rc.root == nil {
		d, err := fsafe.OpenDir(rc.h.Root)
		if err != nil {
			return nil, "", fmt.Errorf("open root: %w", err)
		}
		rc.root = d
	}
	rel := strings.Trim(p, "/")
	dir, name := splitRel(rel)
	pdir, err := openParent(rc.root, dir)
	if err != nil {
		return nil, "", err
	}
	if kept, err := fsafe.Unstage(pdir); err != nil || len(kept) > 0 {
		pdir.Close()
		return nil, "", fmt.Errorf("put back what an interrupted removal left in %s: %v (kept: %q)", quote(pdir.Path()), err, kept)
	}
	return pdir, name, nil
}

func (rc *recoverer) entry(e *entryState) (string, error) {
	if e.Phase == phaseRestoring {
		return rc.restore(e)
	}
	data := strconv.Itoa(e.N)
	blk := rc.blocks[e.N]
	if e.Op == MethodRename && blk == nil {
		got, err := statAt(rc.f.data, data)
		switch {
		case errors.Is(err, unix.ENOENT):
			// The rename did not happen: the entry is where it was.
			return HowRolledBack, rc.journal(record{T: recAbort, N: e.N, Err: "interrupted before the move"})
		case err != nil:
			return "", err
		case got.dev != e.Dev || got.ino != e.Ino:
			// Something swapped in just before the rename: put it back.
			pdir, name, err := rc.parent(e.Path)
			if err != nil {
				return "", err
			}
			defer pdir.Close()
			if err := unix.Renameat2(rc.f.data, data, pdir.Fd(), name, unix.RENAME_NOREPLACE); err != nil {
				return "", fmt.Errorf("an object swapped in for the entry is in data/%s: %w", data, err)
			}
			return HowRolledBack, rc.journal(record{T: recAbort, N: e.N, Err: "replaced just before the move"})
		}
		objs, err := describeTree(rc.f.data, data, e.Path)
		if err != nil {
			return "", err
		}
		if err := writeBlock(rc.f.man, e.N, MethodRename, objs); err != nil {
			return "", err
		}
		blk = &block{Objects: objs, Bytes: sumBytes(objs)}
	}
	if e.Op != MethodRename && blk == nil {
		// Nothing was removed before the manifest was complete: drop a
		// partial copy, the original is intact.
		if e.Op == MethodCopy {
			if err := removeAll(rc.f.data, data); err != nil && !errors.Is(err, unix.ENOENT) {
				return "", fmt.Errorf("remove the partial copy: %w", err)
			}
			if err := fsyncFd(rc.f.data); err != nil {
				return "", err
			}
		}
		return HowRolledBack, rc.journal(record{T: recAbort, N: e.N, Err: "interrupted before the copy was complete"})
	}
	if e.Op != MethodRename {
		// The copy is verified (or, for a deletion, recorded): finish
		// removing what is left of the original.
		pdir, name, err := rc.parent(e.Path)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return "", err
		}
		if err == nil {
			err = removeOriginal(pdir, name, stat{dev: e.Dev}, blk.Objects)
			pdir.Close()
			if errors.Is(err, fsafe.ErrChanged) && !errors.Is(err, fsafe.ErrPartlyRemoved) {
				// Another object has the name now: the original was
				// removed before the crash (or moved away by someone
				// else); the verified copy stays, the newcomer too.
				err = nil
			}
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return "", fmt.Errorf("remove the rest of the original: %w", err)
			}
		}
	}
	return HowCompleted, rc.journal(record{T: recDone, N: e.N, Objects: len(blk.Objects), Bytes: blk.Bytes})
}

// restore finishes or rolls back an interrupted restore.
func (rc *recoverer) restore(e *entryState) (string, error) {
	data := strconv.Itoa(e.N)
	pfd := -1
	pdir, name, err := rc.parent(e.Path)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			return "", err
		}
	} else {
		defer pdir.Close()
		pfd = pdir.Fd()
	}
	rollBack := func() (string, error) {
		return HowRestoreRolled, rc.journal(record{T: recRestoreAbort, N: e.N, Err: "interrupted"})
	}
	done := func() (string, error) {
		if err := removeAll(rc.f.data, data); err != nil && !errors.Is(err, unix.ENOENT) {
			return "", fmt.Errorf("remove the quarantined copy: %w", err)
		}
		if err := fsyncFd(rc.f.data); err != nil {
			return "", err
		}
		return HowRestoreCompleted, rc.journal(record{T: recRestored, N: e.N})
	}
	_, derr := statAt(rc.f.data, data)
	if e.RestoreOp == MethodRename {
		if derr == nil {
			return rollBack()
		}
		if pfd >= 0 {
			if got, err := statAt(pfd, name); err == nil && got.ino == e.RestoreIno {
				return HowRestoreCompleted, rc.journal(record{T: recRestored, N: e.N})
			}
		}
		return "", fmt.Errorf("neither in the quarantine nor back in place")
	}
	// A copy.
	if e.Placed {
		return done()
	}
	if pfd >= 0 && e.CopiedIno != 0 {
		if got, err := statAt(pfd, name); err == nil && got.ino == e.CopiedIno {
			return done()
		}
	}
	if pfd >= 0 && e.Tmp != "" {
		if err := removeAll(pfd, e.Tmp); err != nil && !errors.Is(err, unix.ENOENT) {
			return "", fmt.Errorf("remove the partial copy %s: %w", quote(e.Tmp), err)
		}
	}
	return rollBack()
}
