package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pactidy/pactidy/internal/fsafe"
)

// LockFile is pacman's database lock, relative to DBPath.
const LockFile = "db.lck"

// LockedError says pacman holds its lock, so the cache may be in use.
type LockedError struct{ Path string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("pacman is using the cache (lock file %s exists); wait until it has finished, "+
		"or, if no pacman is running, remove the stale lock with: rm %s", e.Path, e.Path)
}

// CheckLock returns a *LockedError when dbPath/db.lck exists.
func CheckLock(dbPath string) error {
	p := filepath.Join(dbPath, LockFile)
	if _, err := os.Lstat(p); err == nil {
		return &LockedError{Path: p}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check pacman's lock file %s: %w", p, unwrapPath(err))
	}
	return nil
}

// Lock takes pacman's database lock, as pacman does (creating db.lck
// exclusively), so that no pacman starts while the cache changes. It
// returns a *LockedError when pacman holds the lock. When the lock cannot
// be created for want of permission (a normal user pruning a cache of
// their own), nothing can lock it for us either: Lock then only checks
// and returns an unlock that does nothing.
func Lock(dbPath string) (unlock func() error, err error) {
	p := filepath.Join(dbPath, LockFile)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o000)
	switch {
	case err == nil:
		f.Close()
		return func() error { return unwrapPath(os.Remove(p)) }, nil
	case errors.Is(err, fs.ErrExist):
		return nil, &LockedError{Path: p}
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
		if err := CheckLock(dbPath); err != nil {
			return nil, err
		}
		return func() error { return nil }, nil
	}
	return nil, fmt.Errorf("take pacman's lock %s: %w", p, unwrapPath(err))
}

// Action says what Apply does with the candidates of a plan.
type Action struct {
	// MoveTo moves the candidates into this directory; "" removes them.
	MoveTo string
	// Progress, when set, is called after each file with its outcome. A
	// package and its signature are reported together, after both were
	// handled (a package moved back because its signature could not
	// follow is reported as failed).
	Progress func(f File, err error)
}

// Result is what Apply did.
type Result struct {
	Done   []File // removed or moved
	Bytes  int64  // their size
	Failed []FileError
	// Skipped are candidates deliberately left alone: download-*
	// directories are removed, never moved.
	Skipped []FileError
}

var errSigStays = errors.New("left in place with its package, which could not be changed")

var errNotMoved = errors.New("partial download directory left in place; --remove deletes it")

var errNotInCache = errors.New("not directly inside a cache directory; not touched")

// ErrNotPlanned is matched by the error of a file (or cache directory)
// that changed after planning: it is not touched.
var ErrNotPlanned = errors.New("changed since the plan was made; not touched")

// changedError says what changed; it matches ErrNotPlanned and
// fsafe.ErrChanged.
type changedError struct{ err error }

func (e changedError) Error() string        { return unwrapPath(e.err).Error() }
func (e changedError) Unwrap() error        { return e.err }
func (e changedError) Is(target error) bool { return target == ErrNotPlanned }

// NotRemovableError is the error of a move refused before anything was
// copied: some candidates could not be removed from the cache afterwards.
type NotRemovableError struct {
	Files []FileError
	Total int
}

func (e *NotRemovableError) Error() string {
	f := e.Files[0]
	return fmt.Sprintf("moving needs the right to remove the files from the cache, and %d of %d cannot be removed "+
		"(first: %s: %v); nothing was copied or moved", len(e.Files), e.Total, f.Path, f.Err)
}

// Unwrap lets errors.Is find the reason of the first file (fs.ErrPermission).
func (e *NotRemovableError) Unwrap() error { return e.Files[0].Err }

// Apply removes (or moves) the candidates of plan. A problem with one file
// is recorded in Result.Failed and the others go on. When ctx is done Apply
// stops between files and returns ctx.Err(): a package and its signature
// are handled together, and a file is never left half-moved.
//
// Everything is done by directory handle (see internal/fsafe): each cache
// directory is opened once, without following a symlink at its last
// component, and must be the directory Scan read; each file must still be
// the object that was planned (device, inode, type, size) when it is
// removed or moved, or it is left alone with an error matching
// ErrNotPlanned, whatever a user who can write the directory swaps in
// meanwhile. download-* directories are removed by descending handles,
// never following a symlink or crossing a mount point.
//
// Moving first checks that every candidate can be removed from the cache
// afterwards (a *NotRemovableError otherwise, before anything is copied).
// A package and its signature move together: across filesystems the pair
// is not started without room for both, and a package whose signature
// then fails to move is moved back.
func Apply(ctx context.Context, plan *Plan, a Action) (*Result, error) {
	ap := &applier{res: &Result{}, a: a, dirs: map[string]*cacheDir{}}
	defer ap.close()
	if a.MoveTo != "" {
		if err := ap.openDest(plan); err != nil {
			return ap.res, err
		}
	}
	for i, d := range plan.Dirs {
		ap.dirs[d] = openPlanned(d, plan.dirID(i))
		if cd := ap.dirs[d]; cd.err == nil {
			// Put back what a killed run left in its private directories.
			kept, _ := fsafe.Unstage(cd.d)
			for _, k := range kept {
				ap.res.Failed = append(ap.res.Failed, FileError{Path: k,
					Err: errors.New("left by an interrupted run and could not be put back (its name is taken); move it back by hand")})
			}
		}
	}
	cands := plan.Candidates()
	if ap.dest != nil {
		if err := ap.checkRemovable(cands); err != nil {
			return ap.res, err
		}
	}
	for i := 0; i < len(cands); i++ {
		if err := ctx.Err(); err != nil {
			return ap.res, err
		}
		unit := cands[i : i+1]
		// A signature right after its package is part of the same unit.
		if i+1 < len(cands) && cands[i+1].Kind == Signature && cands[i+1].Path == cands[i].Path+".sig" {
			unit = cands[i : i+2]
			i++
		}
		ap.unit(unit)
	}
	return ap.res, nil
}

// dirID is the identity Scan recorded for Dirs[i].
func (p *Plan) dirID(i int) fsafe.Identity {
	if i < len(p.DirIDs) {
		return p.DirIDs[i]
	}
	return fsafe.Identity{}
}

type cacheDir struct {
	d   *fsafe.Dir
	err error
}

// openPlanned opens a cache directory as Scan did and checks it is the
// one Scan read.
func openPlanned(path string, want fsafe.Identity) *cacheDir {
	d, err := openCacheDir(path)
	if err != nil {
		return &cacheDir{err: err}
	}
	if err := d.Verify(want); err != nil {
		d.Close()
		return &cacheDir{err: changedError{fmt.Errorf("the cache directory %s was replaced after the plan was made (%v); nothing in it touched",
			path, unwrapPath(err))}}
	}
	return &cacheDir{d: d}
}

type applier struct {
	res      *Result
	a        Action
	dirs     map[string]*cacheDir
	dest     *fsafe.Dir
	destPath string
}

func (ap *applier) close() {
	for _, cd := range ap.dirs {
		cd.d.Close()
	}
	ap.dest.Close()
}

func (ap *applier) openDest(plan *Plan) error {
	abs, err := filepath.Abs(ap.a.MoveTo)
	if err != nil {
		return fmt.Errorf("move destination %s: %w", ap.a.MoveTo, err)
	}
	real, err := fsafe.Resolve(abs)
	if err != nil {
		return fmt.Errorf("move destination %s: %w", abs, unwrapPath(err))
	}
	d, err := fsafe.OpenDir(real)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("move destination %s is not a directory", abs)
		}
		return fmt.Errorf("move destination %s: %w", abs, unwrapPath(err))
	}
	st := d.Stat()
	for i, p := range plan.Dirs {
		id := plan.dirID(i)
		if filepath.Clean(p) == abs || (id.Dev == st.Dev && id.Ino == st.Ino) {
			d.Close()
			return fmt.Errorf("move destination %s is a cache directory being pruned", abs)
		}
	}
	ap.dest, ap.destPath = d, abs
	// Temporary files of a move killed before it could clean up.
	if _, err := fsafe.RemoveTemps(d); err != nil {
		return fmt.Errorf("move destination %s: %w", abs, unwrapPath(err))
	}
	return nil
}

// checkRemovable returns a *NotRemovableError when a file to move could
// not be removed from its cache directory afterwards.
func (ap *applier) checkRemovable(cands []File) error {
	var bad []FileError
	for _, f := range cands {
		if f.IsDir {
			continue
		}
		cd, name, err := ap.locate(f)
		if err != nil {
			continue // reported when the file's turn comes
		}
		if err := fsafe.CanRemove(cd.d, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			bad = append(bad, FileError{Path: f.Path, Err: unwrapPath(err)})
		}
	}
	if len(bad) > 0 {
		return &NotRemovableError{Files: bad, Total: len(cands)}
	}
	return nil
}

func (ap *applier) locate(f File) (*cacheDir, string, error) {
	cd := ap.dirs[f.Dir]
	if cd == nil || filepath.Dir(f.Path) != f.Dir {
		return nil, "", errNotInCache
	}
	if cd.err != nil {
		return nil, "", cd.err
	}
	return cd, filepath.Base(f.Path), nil
}

// unit handles a file, or a package and its signature, and records the
// outcome.
func (ap *applier) unit(unit []File) {
	errs := make([]error, len(unit))
	moving := ap.dest != nil
	if moving && len(unit) == 2 {
		errs[0] = ap.roomForPair(unit)
		if errs[0] != nil {
			errs[1] = errSigStays
		}
	}
	for k, f := range unit {
		if errs[k] != nil {
			continue
		}
		if k > 0 && errs[0] != nil {
			// The package stays: its signature stays with it.
			errs[k] = errSigStays
			continue
		}
		errs[k] = ap.one(f)
	}
	if moving && len(unit) == 2 && errs[0] == nil && errs[1] != nil && !errors.Is(errs[1], errSkipped) {
		// The package moved, its signature did not: bring the package
		// back so that the two stay together.
		if err := ap.moveBack(unit[0]); err != nil {
			errs[0] = fmt.Errorf("moved, but its signature could not follow (%v), and moving it back failed: %v", errs[1], err)
		} else {
			errs[0] = fmt.Errorf("moved back into the cache: its signature could not be moved (%v)", errs[1])
		}
	}
	for k, f := range unit {
		err := errs[k]
		if ap.a.Progress != nil {
			ap.a.Progress(f, err)
		}
		switch {
		case errors.Is(err, errSkipped):
			ap.res.Skipped = append(ap.res.Skipped, FileError{Path: f.Path, Err: errNotMoved})
		case err != nil:
			ap.res.Failed = append(ap.res.Failed, FileError{Path: f.Path, Err: err})
		default:
			ap.res.Done = append(ap.res.Done, f)
			ap.res.Bytes += f.Size
		}
	}
}

var errSkipped = errNotMoved

// pairMargin is added per file to the room a pair needs: a file takes
// whole blocks, and the filesystem its own metadata.
const pairMargin = 16 << 10

// roomForPair refuses a cross-filesystem move of a package and its
// signature when the destination lacks room for both.
func (ap *applier) roomForPair(unit []File) error {
	cd, _, err := ap.locate(unit[0])
	if err != nil || cd.d.Stat().Dev == ap.dest.Stat().Dev {
		return nil
	}
	free, err := ap.dest.Free()
	if err != nil {
		return nil // the copy itself will say
	}
	need := unit[0].Size + unit[1].Size + 2*pairMargin
	if free < need {
		return fmt.Errorf("move to %s: %w: the package and its signature need %d bytes, %d are free; "+
			"both left in place, nothing was lost", ap.destPath, syscall.ENOSPC, need, free)
	}
	return nil
}

func (ap *applier) one(f File) error {
	cd, name, err := ap.locate(f)
	if err != nil {
		return err
	}
	if f.IsDir {
		if ap.dest != nil {
			return errSkipped
		}
		return removeDownloadDir(cd.d, name, f.ID)
	}
	if ap.dest == nil {
		return explain(fsafe.RemoveFile(cd.d, name, f.ID), "")
	}
	return explain(fsafe.Move(cd.d, name, f.ID, ap.dest, name), ap.destPath)
}

// moveBack returns a package that was moved to the destination to its
// cache directory.
func (ap *applier) moveBack(f File) error {
	cd, name, err := ap.locate(f)
	if err != nil {
		return err
	}
	st, err := ap.dest.Lstat(name)
	if err != nil {
		return unwrapPath(err)
	}
	return explain(fsafe.Move(ap.dest, name, st.ID(), cd.d, name), cd.d.Path())
}

// explain turns an error of fsafe into the words of the cache command
// (the path itself is said by FileError).
func explain(err error, dest string) error {
	var copied *fsafe.CopiedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &copied):
		return fmt.Errorf("copied to %s, but the original stays (%v)", copied.Dest, unwrapPath(copied.Err))
	case errors.Is(err, fsafe.ErrChanged):
		return changedError{err}
	case errors.Is(err, fsafe.ErrExists):
		return fmt.Errorf("%w; not overwritten, both kept", unwrapPath(err))
	case dest != "":
		return fmt.Errorf("move to %s: %w; nothing was lost, the file is still in the cache", dest, unwrapPath(err))
	}
	return unwrapPath(err)
}

// removeDownloadDir removes a download-* directory that holds only regular
// files; anything else inside keeps it in place.
func removeDownloadDir(d *fsafe.Dir, name string, want fsafe.Identity) error {
	sub, err := d.OpenDir(name)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) {
			st, serr := d.Lstat(name)
			if serr == nil {
				return changedError{fmt.Errorf("now a %v, planned as a directory; %w", st.Type, fsafe.ErrChanged)}
			}
		}
		return unwrapPath(err)
	}
	defer sub.Close()
	if err := sub.Verify(want); err != nil {
		return changedError{err}
	}
	names, err := sub.ReadDir()
	if err != nil {
		return unwrapPath(err)
	}
	for _, n := range names {
		st, err := sub.Lstat(n)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return unwrapPath(err)
		}
		if err == nil && !st.IsRegular() {
			return errors.New("holds more than regular files; left in place")
		}
	}
	return explain(fsafe.RemoveTree(d, name, want), "")
}
