package fsafe

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/ioerr"
)

// ErrNotMine is matched by the error of RemoveTreeIf when it found an
// object below the tree that mine refused: that object, and the
// directories holding it, were left in place.
var ErrNotMine = errors.New("holds an object that was not planned; left in place")

// ErrPartlyRemoved is matched by the error of RemoveTreeIf when some
// objects were removed before it failed; without it nothing was removed.
var ErrPartlyRemoved = errors.New("partly removed")

// partial marks an error after which something was removed.
type partial struct{ err error }

func (p *partial) Error() string { return p.err.Error() }
func (p *partial) Unwrap() []error {
	return []error{p.err, ErrPartlyRemoved}
}

// RemoveTreeIf is RemoveTree for a tree that was copied (or recorded)
// before: it removes only the objects mine accepts (typically: the device
// and inode numbers that were copied), so that a file someone added to the
// tree after the copy is never lost. The top is taken into a stage and
// checked against want like RemoveTree does; when anything is left or
// fails, what remains goes back under its name and the error says why
// (matching ErrNotMine when objects were refused). want may also name a
// non-directory, which is then removed like RemoveFile when mine accepts it.
func RemoveTreeIf(d *Dir, name string, want Identity, mine func(Stat) bool) error {
	return withStaged(d, name, want, "remove", func(s *stage) error {
		st, err := statx(s.d.fd, name)
		if err != nil {
			return err
		}
		if !mine(st) {
			return ErrNotMine
		}
		if !st.IsDir() {
			return ioerr.Retry(func() error { return unix.Unlinkat(s.d.fd, name, 0) })
		}
		n := 0
		if err := removeTreeIf(d, s, name, want, mine, &n); err != nil {
			if n > 0 {
				return &partial{err}
			}
			return err
		}
		return nil
	})
}

// removeTreeIf removes the staged directory name; n counts what it
// removed.
func removeTreeIf(d *Dir, s *stage, name string, want Identity, mine func(Stat) bool, n *int) error {
	top, err := s.d.OpenDir(name)
	if err != nil {
		return unwrap(err)
	}
	defer top.Close()
	if err := check(want, top.st); err != nil {
		return err
	}
	if err := sameMount(d.st, top.st); err != nil {
		return err
	}
	if err := removeContentsIf(top, d.Join(name), mine, n); err != nil {
		return err
	}
	return ioerr.Retry(func() error { return unix.Unlinkat(s.d.fd, name, unix.AT_REMOVEDIR) })
}

// removeContentsIf empties dir of the objects mine accepts, depth first,
// by handle; it goes on past refused objects and reports them at the end.
func removeContentsIf(dir *Dir, path string, mine func(Stat) bool, removed *int) error {
	names, err := dir.ReadDir()
	if err != nil {
		return unwrap(err)
	}
	var left []error
	for _, n := range names {
		p := path + "/" + n
		st, err := statx(dir.fd, n)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "stat", Path: p, Err: err}
		}
		if !mine(st) {
			left = append(left, &fs.PathError{Op: "remove", Path: p, Err: ErrNotMine})
			continue
		}
		if !st.IsDir() {
			err := ioerr.Retry(func() error { return unix.Unlinkat(dir.fd, n, 0) })
			switch err {
			case nil, unix.ENOENT:
				*removed++
				continue
			case unix.EISDIR:
				err = fmt.Errorf("became a directory while being removed; %w", ErrChanged)
			}
			return &fs.PathError{Op: "remove", Path: p, Err: err}
		}
		if err := sameMount(dir.st, st); err != nil {
			return &fs.PathError{Op: "remove", Path: p, Err: err}
		}
		sub, err := dir.OpenDir(n)
		if err != nil {
			return err
		}
		err = check(st.ID(), sub.st)
		if err == nil {
			err = sameMount(dir.st, sub.st)
		}
		if err != nil {
			sub.Close()
			return &fs.PathError{Op: "remove", Path: p, Err: err}
		}
		err = removeContentsIf(sub, p, mine, removed)
		sub.Close()
		if errors.Is(err, ErrNotMine) {
			left = append(left, err)
			continue
		}
		if err != nil {
			return err
		}
		if err := ioerr.Retry(func() error { return unix.Unlinkat(dir.fd, n, unix.AT_REMOVEDIR) }); err != nil {
			return &fs.PathError{Op: "remove", Path: p, Err: err}
		}
		*removed++
	}
	return errors.Join(left...)
}
