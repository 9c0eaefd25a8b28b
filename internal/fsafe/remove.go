package fsafe

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/ioerr"
)

// StagePrefix starts the names of the private directories an operation
// creates for the moment it acts (see stage). One left behind by a killed
// process holds the entry that was being removed or moved; Unstage puts
// such entries back.
const StagePrefix = ".pactidy-stage."

// A stage is a private directory created inside a Dir for one operation.
//
// Why: unlinkat and renameat act on a name, and a user who can write the
// directory can swap that name for another object (renameat2
// RENAME_EXCHANGE) between any check and the call, as often as they like.
// Working by handle already keeps the damage inside the directory, but the
// swapped-in object could still be another entry of it, or a hard link or
// symlink the user placed there. So the entry is first renamed into the
// stage: a directory made by the caller with mode 0700 and held open, whose
// entries nobody else can change. What arrived there is then stat'ed
// through the stage's handle and compared with the plan; from that moment
// the object cannot be swapped any more, so the check and the act are
// about the same object. When it is not the planned object it is renamed
// back (RENAME_NOREPLACE) and nothing happened. The user may rename the
// stage directory itself; that changes nothing, it is held by handle.
type stage struct {
	parent *Dir
	name   string
	d      *Dir
}

func newStage(parent *Dir) (*stage, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	name := StagePrefix + hex.EncodeToString(rnd[:])
	if err := ioerr.Retry(func() error { return unix.Mkdirat(parent.fd, name, 0o700) }); err != nil {
		return nil, &fs.PathError{Op: "create private directory", Path: parent.Join(name), Err: err}
	}
	d, err := parent.OpenDir(name)
	if err == nil {
		// Someone may have swapped in a directory of theirs between the
		// mkdir and the open: the stage must be ours, private and empty.
		st := d.Stat()
		if st.Uid != uint32(os.Geteuid()) || st.Perm != 0o700 || st.Nlink != 2 || st.Dev != parent.st.Dev {
			d.Close()
			err = &fs.PathError{Op: "create private directory", Path: parent.Join(name), Err: errors.New("replaced by another directory")}
		}
	}
	if err != nil {
		unix.Unlinkat(parent.fd, name, unix.AT_REMOVEDIR)
		return nil, err
	}
	return &stage{parent: parent, name: name, d: d}, nil
}

// take renames name from the parent into the stage.
func (s *stage) take(name string) error {
	err := ioerr.Retry(func() error { return unix.Renameat2(s.parent.fd, name, s.d.fd, name, unix.RENAME_NOREPLACE) })
	if err == unix.EINVAL {
		// A filesystem without RENAME_NOREPLACE; the stage is empty.
		err = ioerr.Retry(func() error { return unix.Renameat(s.parent.fd, name, s.d.fd, name) })
	}
	return err
}

// giveBack renames name from the stage back to the parent, never over
// another entry. When that fails the entry stays in the stage, which is
// then kept, and the error says where.
func (s *stage) giveBack(name string) error {
	err := ioerr.Retry(func() error { return unix.Renameat2(s.d.fd, name, s.parent.fd, name, unix.RENAME_NOREPLACE) })
	if err == unix.EINVAL {
		if _, serr := statx(s.parent.fd, name); serr == unix.ENOENT {
			err = ioerr.Retry(func() error { return unix.Renameat(s.d.fd, name, s.parent.fd, name) })
		} else {
			err = unix.EEXIST
		}
	}
	if err != nil {
		return fmt.Errorf("could not be put back (%v); it is kept as %s", err, s.d.Join(name))
	}
	return nil
}

// close removes the stage directory when it is empty; a stage still
// holding an entry is left for Unstage (its path was reported).
func (s *stage) close() {
	s.d.Close()
	// Only ever an empty directory goes: rmdir fails on anything else.
	unix.Unlinkat(s.parent.fd, s.name, unix.AT_REMOVEDIR)
}

// RemoveFile removes the entry name of d, which must be the non-directory
// (regular file, symlink, FIFO, socket, device) that want names. A
// symlink is removed itself, never what it points to. An entry that is not
// the planned one is left where it was and the error matches ErrChanged.
func RemoveFile(d *Dir, name string, want Identity) error {
	path := d.Join(name)
	if want.Type == fs.ModeDir {
		return &fs.PathError{Op: "remove", Path: path, Err: errors.New("is a directory (use RemoveTree)")}
	}
	return withStaged(d, name, want, "remove", func(s *stage) error {
		return ioerr.Retry(func() error { return unix.Unlinkat(s.d.fd, name, 0) })
	})
}

// RemoveTree removes the directory name of d, which must be the directory
// want names, and everything below it. It descends by handle: each
// subdirectory is opened with O_NOFOLLOW relative to its parent's handle
// and checked to be the directory that was listed; symlinks are removed,
// never followed; a mount point anywhere below (another device or another
// mount, bind mounts included) stops the removal with an error matching
// ErrMountPoint. When anything fails the part not yet removed is put back
// under its name.
func RemoveTree(d *Dir, name string, want Identity) error {
	path := d.Join(name)
	if want.Type != fs.ModeDir {
		return &fs.PathError{Op: "remove", Path: path, Err: errors.New("is not a directory (use RemoveFile)")}
	}
	return withStaged(d, name, want, "remove", func(s *stage) error {
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
		if err := removeContents(top, path); err != nil {
			return err
		}
		return ioerr.Retry(func() error { return unix.Unlinkat(s.d.fd, name, unix.AT_REMOVEDIR) })
	})
}

// withStaged takes name into a stage of d, checks it against want and runs
// act on it there; on any error the entry goes back under its name.
func withStaged(d *Dir, name string, want Identity, op string, act func(s *stage) error) error {
	path := d.Join(name)
	if err := validName(name); err != nil {
		return &fs.PathError{Op: op, Path: path, Err: err}
	}
	// A change visible already needs no stage.
	st, err := statx(d.fd, name)
	if err == nil {
		err = check(want, st)
	}
	if err != nil {
		return &fs.PathError{Op: op, Path: path, Err: err}
	}
	s, err := newStage(d)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.take(name); err != nil {
		return &fs.PathError{Op: op, Path: path, Err: err}
	}
	st, err = statx(s.d.fd, name)
	if err == nil {
		err = check(want, st)
	}
	if err == nil {
		err = act(s)
	}
	if err != nil {
		if _, serr := statx(s.d.fd, name); serr == nil {
			if berr := s.giveBack(name); berr != nil {
				err = fmt.Errorf("%w; %v", err, berr)
			}
		}
		return &fs.PathError{Op: op, Path: path, Err: err}
	}
	return nil
}

// sameMount returns an error matching ErrMountPoint when child is on
// another mount than parent.
func sameMount(parent, child Stat) error {
	if parent.Dev != child.Dev || (parent.MntID != 0 && child.MntID != 0 && parent.MntID != child.MntID) {
		return ErrMountPoint
	}
	return nil
}

// removeContents empties dir, depth first, by handle: RemoveTreeIf's walk
// with every object accepted.
func removeContents(dir *Dir, path string) error {
	var removed int
	return removeContentsIf(dir, path, func(Stat) bool { return true }, &removed)
}

// Unstage puts back the entries of stage directories a killed process left
// in d (see StagePrefix), never over an existing entry, and removes the
// emptied stages. It returns the paths it could not put back.
func Unstage(d *Dir) (kept []string, err error) {
	names, err := d.ReadDir()
	if err != nil {
		return nil, err
	}
	euid := uint32(os.Geteuid())
	for _, n := range names {
		if !strings.HasPrefix(n, StagePrefix) {
			continue
		}
		sd, err := d.OpenDir(n)
		if err != nil {
			continue
		}
		if sd.st.Uid != euid || sd.st.Perm != 0o700 {
			sd.Close()
			continue
		}
		s := &stage{parent: d, name: n, d: sd}
		ents, err := sd.ReadDir()
		if err != nil {
			sd.Close()
			return kept, err
		}
		for _, e := range ents {
			if err := s.giveBack(e); err != nil {
				kept = append(kept, sd.Join(e))
			}
		}
		s.close()
	}
	return kept, nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
