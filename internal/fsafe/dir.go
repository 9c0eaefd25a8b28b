package fsafe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/ioerr"
)

// Dir is an open directory: the handle every other operation works
// relative to. It is the directory that was opened, whatever happens to
// its path afterwards; names below it are never resolved through a
// symlink. A Dir is safe for concurrent use; Close it when done.
type Dir struct {
	fd   int
	path string
	st   Stat
}

const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// OpenDir opens the directory at path. The last component of path must be
// the directory itself, not a symlink to one (use Resolve first where a
// configured path may legitimately be a symlink); the components above it
// are the caller's configuration and are followed. Compare Stat().ID()
// with what was planned (Verify) before trusting it.
func OpenDir(path string) (*Dir, error) {
	path = filepath.Clean(path)
	var fd int
	err := ioerr.Retry(func() (err error) {
		fd, err = unix.Open(path, dirFlags, 0)
		return err
	})
	if err == unix.ENOTDIR || err == unix.ELOOP {
		var st unix.Stat_t
		if unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			err = errSymlink
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open directory", Path: path, Err: err}
	}
	return newDir(fd, path)
}

// OpenDir opens the directory name directly below d, never through a
// symlink (a symlink of that name is an error, not followed).
func (d *Dir) OpenDir(name string) (*Dir, error) {
	path := d.Join(name)
	if err := validName(name); err != nil {
		return nil, &fs.PathError{Op: "open directory", Path: path, Err: err}
	}
	var fd int
	err := ioerr.Retry(func() (err error) {
		fd, err = unix.Openat(d.fd, name, dirFlags, 0)
		return err
	})
	if err == unix.ENOTDIR || err == unix.ELOOP {
		if st, serr := statx(d.fd, name); serr == nil && st.Type == fs.ModeSymlink {
			err = errSymlink
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open directory", Path: path, Err: err}
	}
	return newDir(fd, path)
}

// errSymlink is what opening a symlink as a directory says (ENOTDIR or
// ELOOP), in words.
var errSymlink = errors.New("is a symlink; not followed")

func newDir(fd int, path string) (*Dir, error) {
	st, err := statx(fd, "")
	if err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return &Dir{fd: fd, path: path, st: st}, nil
}

// Close releases the handle.
func (d *Dir) Close() error {
	if d == nil || d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	if err != nil {
		return &fs.PathError{Op: "close", Path: d.path, Err: err}
	}
	return nil
}

// Path is the path d was opened as (for messages: the directory may have
// been renamed since).
func (d *Dir) Path() string { return d.path }

// Join is the path of name below d, for messages.
func (d *Dir) Join(name string) string { return d.path + "/" + name }

// Fd is the descriptor of d, for *at calls this package does not wrap. It
// stays owned by d.
func (d *Dir) Fd() int { return d.fd }

// Stat is what d was when it was opened (device and inode never change).
func (d *Dir) Stat() Stat { return d.st }

// Fstat stats d now.
func (d *Dir) Fstat() (Stat, error) {
	st, err := statx(d.fd, "")
	if err != nil {
		return Stat{}, &fs.PathError{Op: "stat", Path: d.path, Err: err}
	}
	return st, nil
}

// Verify returns an error matching ErrChanged unless d is the directory
// want names.
func (d *Dir) Verify(want Identity) error {
	if err := check(want, d.st); err != nil {
		return &fs.PathError{Op: "open directory", Path: d.path, Err: err}
	}
	return nil
}

// Lstat stats name below d without following a symlink.
func (d *Dir) Lstat(name string) (Stat, error) {
	if err := validName(name); err != nil {
		return Stat{}, &fs.PathError{Op: "stat", Path: d.Join(name), Err: err}
	}
	st, err := statx(d.fd, name)
	if err != nil {
		return Stat{}, &fs.PathError{Op: "stat", Path: d.Join(name), Err: err}
	}
	return st, nil
}

// ReadDir returns the names in d (without "." and ".."), in directory
// order.
func (d *Dir) ReadDir() ([]string, error) {
	// A descriptor of its own: the read offset is per open file, and d
	// may be read by several callers.
	var fd int
	err := ioerr.Retry(func() (err error) {
		fd, err = unix.Openat(d.fd, ".", dirFlags, 0)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "read directory", Path: d.path, Err: err}
	}
	defer unix.Close(fd)
	if st, err := statx(fd, ""); err != nil || st.Dev != d.st.Dev || st.Ino != d.st.Ino {
		return nil, &fs.PathError{Op: "read directory", Path: d.path, Err: errors.New("reopened as another directory")}
	}
	var names []string
	buf := make([]byte, 32<<10)
	for {
		var n int
		err := ioerr.Retry(func() (err error) {
			n, err = unix.Getdents(fd, buf)
			return err
		})
		if err != nil {
			return nil, &fs.PathError{Op: "read directory", Path: d.path, Err: err}
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// Open opens the regular file name below d for reading, never through a
// symlink, and checks that it is the file want names. Opening never
// blocks (a FIFO put there is refused, not waited on).
func (d *Dir) Open(name string, want Identity) (*os.File, Stat, error) {
	path := d.Join(name)
	if err := validName(name); err != nil {
		return nil, Stat{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var fd int
	err := ioerr.Retry(func() (err error) {
		fd, err = unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		return err
	})
	if err == unix.ELOOP {
		// The planned file was replaced by a symlink: say what it is now.
		if st, serr := statx(d.fd, name); serr == nil {
			if cerr := check(want, st); cerr != nil {
				err = cerr
			} else {
				// Swapped back already: it was a symlink when opened.
				err = &ChangedError{Want: want, Got: Stat{Type: fs.ModeSymlink}}
			}
		}
	}
	if err != nil {
		return nil, Stat{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	st, err := statx(fd, "")
	if err == nil {
		err = check(want, st)
	}
	if err == nil && !st.IsRegular() {
		err = fmt.Errorf("not a regular file")
	}
	if err != nil {
		unix.Close(fd)
		return nil, Stat{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	// Reads of a regular file do not care about O_NONBLOCK, but clear it
	// for the callers that hand the file on.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, Stat{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), st, nil
}

// Free is the space available to the caller on d's filesystem, in bytes.
func (d *Dir) Free() (int64, error) {
	var sfs unix.Statfs_t
	if err := ioerr.Retry(func() error { return unix.Fstatfs(d.fd, &sfs) }); err != nil {
		return 0, &fs.PathError{Op: "statfs", Path: d.path, Err: err}
	}
	return int64(sfs.Bavail) * int64(sfs.Bsize), nil
}

// Sync flushes d's entries (after a rename or link into it) to disk.
func (d *Dir) Sync() error {
	if err := ioerr.Retry(func() error { return unix.Fsync(d.fd) }); err != nil {
		return &fs.PathError{Op: "sync", Path: d.path, Err: err}
	}
	return nil
}

// Resolve returns path with symlinks resolved, for a configured directory
// that may legitimately be a symlink (a cache on another disk). It refuses
// a symlink anywhere in path that is owned by someone other than root and
// the caller: such a link is another user's to point wherever they like.
// The answer is only as good as the moment it was made: open the result
// with OpenDir and compare identities with the plan from there on.
func Resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	euid := uint32(os.Geteuid())
	// Walk the components, checking each symlink's owner.
	cur := "/"
	rest := abs
	for hops := 0; ; {
		rest = trimSlash(rest)
		if rest == "" {
			return cur, nil
		}
		comp := rest
		if i := indexSlash(rest); i >= 0 {
			comp, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		next := filepath.Join(cur, comp)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", &fs.PathError{Op: "resolve", Path: abs, Err: unix.ELOOP}
		}
		var sx unix.Stat_t
		if err := unix.Lstat(next, &sx); err != nil {
			return "", &fs.PathError{Op: "resolve", Path: next, Err: err}
		}
		if sx.Uid != 0 && sx.Uid != euid {
			return "", &fs.PathError{Op: "resolve", Path: next,
				Err: fmt.Errorf("is a symlink owned by uid %d; not followed (give the directory it points to)", sx.Uid)}
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			cur = "/"
		}
		rest = target + "/" + rest
	}
}

func trimSlash(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	return s
}

func indexSlash(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}
