package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
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
	// Progress, when set, is called after each file with its outcome.
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

// ErrNotPlanned is returned for a file that changed after planning.
var ErrNotPlanned = errors.New("changed since the plan was made; not touched")

// Apply removes (or moves) the candidates of plan. A problem with one file
// is recorded in Result.Failed and the others go on. When ctx is done Apply
// stops between files and returns ctx.Err(): a package and its signature
// are handled together, and a file is never left half-moved. Only files
// directly inside one of the plan's cache directories are touched, and only
// when they are still the regular file (or download directory) that was
// planned; symlinks are never followed.
func Apply(ctx context.Context, plan *Plan, a Action) (*Result, error) {
	res := &Result{}
	if a.MoveTo != "" {
		abs, err := filepath.Abs(a.MoveTo)
		if err != nil {
			return res, fmt.Errorf("move destination %s: %w", a.MoveTo, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return res, fmt.Errorf("move destination %s: %w", abs, unwrapPath(err))
		}
		if !fi.IsDir() {
			return res, fmt.Errorf("move destination %s is not a directory", abs)
		}
		for _, d := range plan.Dirs {
			if sameDir(d, abs) {
				return res, fmt.Errorf("move destination %s is a cache directory being pruned", abs)
			}
		}
		a.MoveTo = abs
	}
	dirs := map[string]bool{}
	for _, d := range plan.Dirs {
		dirs[d] = true
	}
	cands := plan.Candidates()
	for i := 0; i < len(cands); i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		unit := cands[i : i+1]
		// A signature right after its package is part of the same unit.
		if i+1 < len(cands) && cands[i+1].Kind == Signature && cands[i+1].Path == cands[i].Path+".sig" {
			unit = cands[i : i+2]
			i++
		}
		for k, f := range unit {
			if f.IsDir && a.MoveTo != "" {
				res.Skipped = append(res.Skipped, FileError{Path: f.Path, Err: errNotMoved})
				continue
			}
			var err error
			if k > 0 && len(res.Failed) > 0 && res.Failed[len(res.Failed)-1].Path == unit[0].Path {
				// The package stays: its signature stays with it.
				err = errSigStays
			} else {
				err = applyOne(f, a, dirs)
			}
			if a.Progress != nil {
				a.Progress(f, err)
			}
			if err != nil {
				res.Failed = append(res.Failed, FileError{Path: f.Path, Err: err})
				continue
			}
			res.Done = append(res.Done, f)
			res.Bytes += f.Size
		}
	}
	return res, nil
}

func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func applyOne(f File, a Action, dirs map[string]bool) error {
	if !dirs[f.Dir] || filepath.Dir(f.Path) != f.Dir {
		return errors.New("not directly inside a cache directory; not touched")
	}
	fi, err := os.Lstat(f.Path)
	if err != nil {
		return unwrapPath(err)
	}
	if f.IsDir {
		if !fi.IsDir() {
			return ErrNotPlanned
		}
		if a.MoveTo != "" {
			return errNotMoved
		}
		return removeDownloadDir(f.Path)
	}
	if !fi.Mode().IsRegular() || fi.Size() != f.Size {
		return ErrNotPlanned
	}
	if a.MoveTo == "" {
		return unwrapPath(os.Remove(f.Path))
	}
	return move(f.Path, filepath.Join(a.MoveTo, filepath.Base(f.Path)), fi)
}

// removeDownloadDir removes the regular files in a download-* directory and
// then the directory; anything else inside keeps the directory in place.
func removeDownloadDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return unwrapPath(err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(dir); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return errors.New("holds more than regular files; left in place")
		}
		return unwrapPath(err)
	}
	return nil
}

var errExists = errors.New("a file of that name exists in the destination; not overwritten")

// move puts src at dst without ever replacing dst. On one filesystem a hard
// link and an unlink do it atomically; across filesystems the file is
// copied to a temporary name, synced, compared and only then linked into
// place and the source unlinked, so an error at any step loses nothing.
func move(src, dst string, fi fs.FileInfo) error {
	err := os.Link(src, dst)
	switch {
	case err == nil:
		return unwrapPath(os.Remove(src))
	case errors.Is(err, fs.ErrExist):
		return errExists
	case errors.Is(err, syscall.EXDEV):
		return copyMove(src, dst, fi)
	}
	// No hard links on this filesystem: rename, after making sure dst is
	// free (the window between the two is the cost of such filesystems).
	if _, err := os.Lstat(dst); err == nil {
		return errExists
	}
	err = os.Rename(src, dst)
	if errors.Is(err, syscall.EXDEV) {
		return copyMove(src, dst, fi)
	}
	return unwrapPath(err)
}

func copyMove(src, dst string, fi fs.FileInfo) (err error) {
	if _, err := os.Lstat(dst); err == nil {
		return errExists
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	defer func() {
		if err != nil {
			os.Remove(tmp)
			err = fmt.Errorf("move to %s: %w; nothing was lost, the file is still in the cache", filepath.Dir(dst), unwrapPath(err))
		}
	}()
	// A temporary file of this name can only be left over from an
	// interrupted move of the same file.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	sum, n, err := copyFile(src, tmp, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if n != fi.Size() {
		return fmt.Errorf("copied %d bytes of %d", n, fi.Size())
	}
	check, m, err := hashFile(tmp)
	if err != nil {
		return err
	}
	if m != n || !bytes.Equal(sum, check) {
		return errors.New("the copy differs from the original")
	}
	if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
		return err
	}
	if err := os.Link(tmp, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errExists
		}
		if _, err := os.Lstat(dst); err == nil {
			return errExists
		}
		if err := os.Rename(tmp, dst); err != nil {
			return err
		}
	} else if err := os.Remove(tmp); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return err
		}
	}
	if err := os.Remove(src); err != nil {
		// The copy is complete and durable; only the original remains.
		return fmt.Errorf("copied, but the original could not be removed: %w", unwrapPath(err))
	}
	return nil
}

func copyFile(src, dst string, perm fs.FileMode) (sum []byte, n int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, 0, err
	}
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return h.Sum(nil), n, err
}

func hashFile(name string) ([]byte, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return h.Sum(nil), n, err
}
