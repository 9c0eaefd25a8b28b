package quarantine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/fsafe"
)

// Restore statuses.
const (
	StatusRestored        = "restored"
	StatusAlreadyRestored = "already restored" // a second restore: nothing to do
	StatusNotRestored     = "not restored"     // see Err
)

// ErrExists is returned for an entry whose original path exists again.
var ErrExists = errors.New("exists again; restore with force to move the existing one into a new quarantine run first")

// RestoreResult is what Restore did with one entry.
type RestoreResult struct {
	N      int
	Path   string
	Status string
	// Displaced is the run that took the object found at Path (force).
	Displaced string
	Err       error
}

// Restore puts entries of run id back where they were, byte-identical
// with their metadata, verified against the manifest. paths selects
// entries by their original path (all when empty). An entry already
// restored is reported as such and left alone. When the original path
// exists again the entry is refused with ErrExists, unless force: then the
// existing object is first quarantined into a new run of the store.
func (s *Store) Restore(id string, paths []string, force bool) ([]RestoreResult, error) {
	return s.RestoreWith(context.Background(), id, paths, RestoreOptions{Force: force})
}

// RestoreOptions tune RestoreWith.
type RestoreOptions struct {
	// Force restores over a path that exists again (see Restore).
	Force bool
	// Progress is called after each entry.
	Progress func(RestoreResult)
}

// RestoreWith is Restore that stops between entries when ctx is done (the
// entry at hand is finished; the others are reported not restored, with
// ctx's error) and reports each entry to o.Progress.
func (s *Store) RestoreWith(ctx context.Context, id string, paths []string, o RestoreOptions) ([]RestoreResult, error) {
	force := o.Force
	f, err := s.openRun(id)
	if err != nil {
		return nil, err
	}
	defer f.close()
	h, blocks, err := loadRun(f, false)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	if pending(h) {
		return nil, fmt.Errorf("run %s was interrupted and is not recovered yet", id)
	}
	var sel []*entryState
	if len(paths) == 0 {
		for _, e := range h.sorted() {
			if e.Phase == phaseIn || e.Phase == phaseIncomplete || e.Phase == phaseRestored {
				sel = append(sel, e)
			}
		}
	} else {
		byPath := map[string]*entryState{}
		for _, e := range h.sorted() {
			if e.Phase != phaseInPlace && e.Phase != phaseMoving {
				byPath[e.Path] = e
			}
		}
		for _, p := range paths {
			e, ok := byPath[p]
			if !ok {
				return nil, fmt.Errorf("run %s holds no entry %s%s", id, quote(p), insideHint(h, p))
			}
			sel = append(sel, e)
		}
	}
	rs := &restorer{s: s, f: f, h: h, id: id}
	defer rs.root.Close()
	var out []RestoreResult
	for _, e := range sel {
		res := RestoreResult{N: e.N, Path: e.Path, Status: StatusNotRestored}
		if err := ctx.Err(); err != nil {
			res.Err = err
			out = append(out, res)
			continue
		}
		switch e.Phase {
		case phaseRestored:
			res.Status = StatusAlreadyRestored
		case phaseDeleted:
			res.Err = errors.New("was deleted permanently, not quarantined")
		default:
			blk := blocks[e.N]
			if blk == nil {
				res.Err = errors.New("its manifest lines are missing")
				break
			}
			res.Displaced, res.Err = rs.one(e, blk, force)
			if res.Err == nil {
				res.Status = StatusRestored
			}
		}
		if o.Progress != nil {
			o.Progress(res)
		}
		out = append(out, res)
	}
	return out, nil
}

func insideHint(h *history, p string) string {
	for _, e := range h.sorted() {
		if strings.HasPrefix(p, e.Path+"/") {
			return fmt.Sprintf(" (it is inside the entry %s: restore that)", quote(e.Path))
		}
	}
	return ""
}

type restorer struct {
	s    *Store
	f    *runFiles
	h    *history
	id   string
	root *fsafe.Dir
}

func (rs *restorer) journal(r record) error {
	r.Time = rs.s.Now().UTC()
	return appendSync(rs.f.journal, r)
}

func (rs *restorer) one(e *entryState, blk *block, force bool) (displaced string, err error) {
	if rs.root == nil {
		d, err := fsafe.OpenDir(rs.h.Root)
		if err != nil {
			return "", fmt.Errorf("open root: %w", err)
		}
		rs.root = d
	}
	rel := strings.Trim(e.Path, "/")
	dir, name := splitRel(rel)
	pdir, err := openParent(rs.root, dir)
	if err != nil {
		return "", fmt.Errorf("its directory %s: %w", quote("/"+dir), err)
	}
	defer pdir.Close()
	pfd := pdir.Fd()
	data := strconv.Itoa(e.N)
	dst, err := statAt(rs.f.data, data)
	if err != nil {
		return "", fmt.Errorf("the quarantined copy data/%s: %w", data, err)
	}
	if err := verifyTree(rs.f.data, data, blk.Objects); err != nil {
		return "", fmt.Errorf("the quarantined copy differs from its manifest: %w", err)
	}
	if _, err := statAt(pfd, name); err == nil {
		if !force {
			return "", ErrExists
		}
		if displaced, err = rs.displace(e.Path); err != nil {
			return "", fmt.Errorf("move the existing object aside: %w", err)
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return "", err
	}
	pst, err := fstat(pfd)
	if err != nil {
		return displaced, err
	}
	if pst.dev == dst.dev {
		err := rs.rename(e, pfd, name, data, dst)
		if !errors.Is(err, unix.EXDEV) {
			return displaced, err
		}
	}
	return displaced, rs.copy(e, blk, pfd, name, data, dst)
}

func (rs *restorer) rename(e *entryState, pfd int, name, data string, dst stat) error {
	if err := rs.journal(record{T: recRestore, N: e.N, Op: MethodRename, Ino: dst.ino}); err != nil {
		return err
	}
	fault("restore-intent")
	err := retry(func() error { return unix.Renameat2(rs.f.data, data, pfd, name, unix.RENAME_NOREPLACE) })
	if err != nil {
		if jerr := rs.journal(record{T: recRestoreAbort, N: e.N, Err: err.Error()}); jerr != nil {
			return errors.Join(err, jerr)
		}
		if errors.Is(err, unix.EEXIST) {
			return ErrExists
		}
		return err
	}
	fault("restore-renamed")
	if err := fsyncFd(pfd); err != nil {
		return err
	}
	if err := fsyncFd(rs.f.data); err != nil {
		return err
	}
	return rs.journal(record{T: recRestored, N: e.N})
}

func (rs *restorer) copy(e *entryState, blk *block, pfd int, name, data string, src stat) error {
	tmp := fmt.Sprintf(".pactidy-restore-%s-%d", rs.id, e.N)
	if err := rs.journal(record{T: recRestore, N: e.N, Op: MethodCopy, Tmp: tmp}); err != nil {
		return err
	}
	fault("restore-intent")
	fail := func(err error) error {
		if rerr := removeAll(pfd, tmp); rerr != nil && !errors.Is(rerr, unix.ENOENT) {
			err = fmt.Errorf("%w; remove the partial copy %s: %v", err, quote(tmp), rerr)
		}
		if jerr := rs.journal(record{T: recRestoreAbort, N: e.N, Err: err.Error()}); jerr != nil {
			return errors.Join(err, jerr)
		}
		return err
	}
	if err := checkWritable(pfd); err != nil {
		return fail(err)
	}
	if _, err := copyTreeFault(rs.f.data, data, src, pfd, tmp, e.Path); err != nil {
		return fail(fmt.Errorf("copy back: %w", err))
	}
	if err := fsyncFd(pfd); err != nil {
		return fail(err)
	}
	if err := verifyTree(pfd, tmp, blk.Objects); err != nil {
		return fail(fmt.Errorf("the copy put back differs from the manifest: %w", err))
	}
	top, err := statAt(pfd, tmp)
	if err != nil {
		return fail(err)
	}
	if err := rs.journal(record{T: recCopied, N: e.N, Ino: top.ino}); err != nil {
		return fail(err)
	}
	fault("restore-copied")
	if err := retry(func() error { return unix.Renameat2(pfd, tmp, pfd, name, unix.RENAME_NOREPLACE) }); err != nil {
		if errors.Is(err, unix.EEXIST) {
			err = ErrExists
		}
		return fail(err)
	}
	if err := fsyncFd(pfd); err != nil {
		return err
	}
	if err := rs.journal(record{T: recPlaced, N: e.N}); err != nil {
		return err
	}
	fault("restore-placed")
	if err := removeAll(rs.f.data, data); err != nil {
		return fmt.Errorf("restored, but the quarantined copy could not be removed: %w", err)
	}
	if err := fsyncFd(rs.f.data); err != nil {
		return err
	}
	return rs.journal(record{T: recRestored, N: e.N})
}

// displace quarantines the object at p (found where an entry is to be
// restored) into a new run, and returns that run's ID.
func (rs *restorer) displace(p string) (string, error) {
	ent, err := Stat(rs.h.Root, p)
	if err != nil {
		return "", err
	}
	run, err := rs.s.Begin(Options{Root: rs.h.Root})
	if err != nil {
		return "", err
	}
	res := run.Quarantine(ent)
	if err := run.Close(); err != nil {
		return run.ID, err
	}
	if res.Err != nil {
		return run.ID, res.Err
	}
	return run.ID, nil
}
