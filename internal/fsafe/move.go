package fsafe

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/ioerr"
)

// TempPrefix starts the name of a temporary file Copy creates in the
// destination when the filesystem has no O_TMPFILE; Copy removes it on
// every error.
const TempPrefix = ".pactidy-tmp."

// Move moves the entry name of src, which must be the object want names,
// to dstName in dst, never replacing an entry there.
//
// On one filesystem it is a rename (of any type of entry, directories
// included) from a stage (see stage), so it is the planned object that
// moves. Across filesystems only a regular file can move: it is copied as
// Copy does and the original is then removed with RemoveFile.
//
// When dstName exists already and is a regular file with the same content
// as the source (a move interrupted between the link and the unlink), the
// move is finished by removing the source. When it differs, both are kept
// and the error matches ErrExists.
func Move(src *Dir, name string, want Identity, dst *Dir, dstName string) error {
	path := src.Join(name)
	if err := validName(dstName); err != nil {
		return &fs.PathError{Op: "move", Path: dst.Join(dstName), Err: err}
	}
	err := withStaged(src, name, want, "move", func(s *stage) error {
		err := ioerr.Retry(func() error { return unix.Renameat2(s.d.fd, name, dst.fd, dstName, unix.RENAME_NOREPLACE) })
		if err == unix.EINVAL && want.Type != fs.ModeDir {
			// No RENAME_NOREPLACE here: a hard link never replaces.
			err = ioerr.Retry(func() error { return unix.Linkat(s.d.fd, name, dst.fd, dstName, 0) })
			if err == nil {
				err = ioerr.Retry(func() error { return unix.Unlinkat(s.d.fd, name, 0) })
			}
		}
		if err != nil {
			return err
		}
		return dst.Sync()
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EXDEV):
		if want.Type != 0 {
			return &fs.PathError{Op: "move", Path: path,
				Err: fmt.Errorf("only regular files are copied across filesystems, this is a %s", typeName(want.Type))}
		}
		if err := Copy(src, name, want, dst, dstName); err != nil {
			return err
		}
	case errors.Is(err, unix.EEXIST) && want.Type == 0:
		f, _, oerr := src.Open(name, want)
		if oerr != nil {
			return oerr
		}
		same, serr := sameContent(f, dst, dstName)
		f.Close()
		if serr != nil {
			return serr
		}
		if !same {
			return &fs.PathError{Op: "move", Path: path, Err: fmt.Errorf("%w (%s)", ErrExists, dst.Join(dstName))}
		}
	case errors.Is(err, unix.EEXIST):
		return &fs.PathError{Op: "move", Path: path, Err: fmt.Errorf("%w (%s)", ErrExists, dst.Join(dstName))}
	default:
		return err
	}
	// The content is in dst; only the original is left to go.
	if err := RemoveFile(src, name, want); err != nil {
		return &CopiedError{Path: path, Dest: dst.Join(dstName), Err: err}
	}
	return nil
}

// CopiedError is the error of a move that copied the file to Dest but
// could not remove the original at Path afterwards: both exist now.
type CopiedError struct {
	Path, Dest string
	Err        error
}

func (e *CopiedError) Error() string {
	return fmt.Sprintf("copied to %s, but the original %s stays: %v", e.Dest, e.Path, unwrap(e.Err))
}

func (e *CopiedError) Unwrap() error { return e.Err }

// Copy copies the regular file name of src, which must be the file want
// names, to dstName in dst, never replacing an entry there. The source is
// opened with O_NOFOLLOW and checked, and the copy is made from that
// descriptor, so a name swapped for a symlink cannot make it copy another
// file. The data goes into a file no other user can open (an O_TMPFILE
// inode, or a mode 0600 O_EXCL temporary file), is synced and read back to
// compare its sha256 with the source's; only then does it get the source's
// owner (when the caller is root), mode and times and is linked to dstName.
// A source that changes while it is copied is an error matching
// ErrChanged. When dstName exists with the same content Copy does nothing
// and succeeds; with another content the error matches ErrExists.
func Copy(src *Dir, name string, want Identity, dst *Dir, dstName string) error {
	path := src.Join(name)
	if err := validName(dstName); err != nil {
		return &fs.PathError{Op: "copy", Path: dst.Join(dstName), Err: err}
	}
	in, st, err := src.Open(name, want)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := statx(dst.fd, dstName); err == nil {
		return existing(in, path, dst, dstName)
	} else if err != unix.ENOENT {
		return &fs.PathError{Op: "copy", Path: dst.Join(dstName), Err: err}
	}
	if free, err := dst.Free(); err == nil && free < st.Size {
		return &fs.PathError{Op: "copy", Path: path,
			Err: fmt.Errorf("%w: %d bytes needed, %d free in %s", unix.ENOSPC, st.Size, free, dst.Path())}
	}
	tmp, err := newTemp(dst)
	if err != nil {
		return err
	}
	defer tmp.discard()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp.f, h), in)
	if err != nil {
		return &fs.PathError{Op: "copy", Path: path, Err: fmt.Errorf("to %s: %w", dst.Path(), unwrap(err))}
	}
	after, err := statx(int(in.Fd()), "")
	if err == nil && (n != st.Size || after.Size != st.Size || !after.Mtime.Equal(st.Mtime)) {
		err = fmt.Errorf("written to while it was copied; %w", ErrChanged)
	}
	if err != nil {
		return &fs.PathError{Op: "copy", Path: path, Err: err}
	}
	if err := tmp.f.Sync(); err != nil {
		return &fs.PathError{Op: "copy", Path: path, Err: fmt.Errorf("sync the copy in %s: %w", dst.Path(), unwrap(err))}
	}
	sum, _, err := hashFrom(tmp.f)
	if err != nil {
		return &fs.PathError{Op: "copy", Path: path, Err: fmt.Errorf("read back the copy in %s: %w", dst.Path(), err)}
	}
	if !bytes.Equal(sum, h.Sum(nil)) {
		return &fs.PathError{Op: "copy", Path: path, Err: fmt.Errorf("the copy in %s differs from the original", dst.Path())}
	}
	if err := setMeta(tmp.fd(), st); err != nil {
		return &fs.PathError{Op: "copy", Path: path, Err: fmt.Errorf("set owner, mode and times of the copy: %w", err)}
	}
	if err := tmp.link(dstName); err != nil {
		if err == unix.EEXIST {
			return existing(in, path, dst, dstName)
		}
		return &fs.PathError{Op: "copy", Path: path, Err: fmt.Errorf("link the copy to %s: %w", dst.Join(dstName), err)}
	}
	return dst.Sync()
}

// existing decides a copy whose destination name is taken: success when
// it holds the same content, ErrExists otherwise.
func existing(in *os.File, path string, dst *Dir, dstName string) error {
	same, err := sameContent(in, dst, dstName)
	if err != nil {
		return err
	}
	if !same {
		return &fs.PathError{Op: "copy", Path: path, Err: fmt.Errorf("%w (%s)", ErrExists, dst.Join(dstName))}
	}
	return nil
}

// sameContent tells whether dstName in dst is a regular file with the
// content of in.
func sameContent(in *os.File, dst *Dir, dstName string) (bool, error) {
	st, err := dst.Lstat(dstName)
	if err != nil {
		return false, err
	}
	if !st.IsRegular() {
		return false, nil
	}
	other, ost, err := dst.Open(dstName, st.ID())
	if err != nil {
		return false, err
	}
	defer other.Close()
	ist, err := statx(int(in.Fd()), "")
	if err != nil {
		return false, &fs.PathError{Op: "stat", Path: in.Name(), Err: err}
	}
	if ist.Size != ost.Size {
		return false, nil
	}
	a, _, err := hashFrom(in)
	if err != nil {
		return false, &fs.PathError{Op: "read", Path: in.Name(), Err: err}
	}
	b, _, err := hashFrom(other)
	if err != nil {
		return false, &fs.PathError{Op: "read", Path: other.Name(), Err: err}
	}
	return bytes.Equal(a, b), nil
}

// hashFrom is the sha256 of f from its start (f's offset is left alone).
func hashFrom(f *os.File) ([]byte, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62))
	return h.Sum(nil), n, err
}

// A temp is the file a copy is written to before it gets its name.
type temp struct {
	dir  *Dir
	f    *os.File
	name string // "" for an O_TMPFILE inode, which has no name to clean up
	done bool
}

func newTemp(dir *Dir) (*temp, error) {
	var fd int
	err := ioerr.Retry(func() (err error) {
		fd, err = unix.Openat(dir.fd, ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err == nil {
		return &temp{dir: dir, f: os.NewFile(uintptr(fd), dir.Join("(new file)"))}, nil
	}
	if err != unix.EOPNOTSUPP && err != unix.EISDIR && err != unix.EINVAL && err != unix.ENOENT {
		return nil, &fs.PathError{Op: "create a file in", Path: dir.path, Err: err}
	}
	for i := 0; ; i++ {
		var rnd [8]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return nil, err
		}
		name := TempPrefix + hex.EncodeToString(rnd[:])
		err = ioerr.Retry(func() (err error) {
			fd, err = unix.Openat(dir.fd, name, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
			return err
		})
		if err == unix.EEXIST && i < 8 {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "create", Path: dir.Join(name), Err: err}
		}
		return &temp{dir: dir, f: os.NewFile(uintptr(fd), dir.Join(name)), name: name}, nil
	}
}

func (t *temp) fd() int { return int(t.f.Fd()) }

// link gives the temp file the name dstName, failing with EEXIST when the
// name is taken.
func (t *temp) link(dstName string) error {
	if t.name == "" {
		// linkat AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc works for
		// everyone.
		err := ioerr.Retry(func() error { return unix.Linkat(t.fd(), "", t.dir.fd, dstName, unix.AT_EMPTY_PATH) })
		if err == unix.EPERM || err == unix.ENOENT {
			proc := "/proc/self/fd/" + strconv.Itoa(t.fd())
			err = ioerr.Retry(func() error { return unix.Linkat(unix.AT_FDCWD, proc, t.dir.fd, dstName, unix.AT_SYMLINK_FOLLOW) })
		}
		if err == nil {
			t.done = true
		}
		return err
	}
	// By name: check that the name is still our file first (someone who can
	// write the directory could have swapped it).
	st, err := statx(t.dir.fd, t.name)
	if err != nil {
		return err
	}
	own, err := statx(t.fd(), "")
	if err != nil {
		return err
	}
	if st.Dev != own.Dev || st.Ino != own.Ino {
		return fmt.Errorf("temporary file %s was replaced; %w", t.dir.Join(t.name), ErrChanged)
	}
	if err := ioerr.Retry(func() error { return unix.Linkat(t.dir.fd, t.name, t.dir.fd, dstName, 0) }); err != nil {
		return err
	}
	t.done = true
	return nil
}

// discard closes the temp file and removes its temporary name.
func (t *temp) discard() {
	t.f.Close()
	if t.name != "" {
		unix.Unlinkat(t.dir.fd, t.name, 0)
	}
}

// setMeta gives the file open as fd the owner (when root), mode and times
// of st. The owner goes first: chown clears the setuid and setgid bits.
func setMeta(fd int, st Stat) error {
	if os.Geteuid() == 0 {
		if err := unix.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, unixPerm(st.Perm)); err != nil {
		return err
	}
	ts := [2]unix.Timespec{unix.NsecToTimespec(st.Atime.UnixNano()), unix.NsecToTimespec(st.Mtime.UnixNano())}
	// futimens(fd, ts) is utimensat(fd, NULL, ts, 0).
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// CanRemove tells, without changing anything, whether the caller may
// remove (or move away) the entry name of d: write and search permission
// on d, the sticky-bit rule (in a sticky directory only the owner of the
// directory or of the entry, or root, may remove it), a writable
// filesystem, and no immutable or append-only attribute on d or the entry.
// The error matches fs.ErrPermission (EACCES, EPERM) or names EROFS.
func CanRemove(d *Dir, name string) error {
	path := d.Join(name)
	st, err := d.Lstat(name)
	if err != nil {
		return err
	}
	dst, err := d.Fstat()
	if err != nil {
		return err
	}
	euid := uint32(os.Geteuid())
	if attrs(d.fd)&(fsImmutable|fsAppend) != 0 {
		return &fs.PathError{Op: "remove", Path: path, Err: fmt.Errorf("%w (directory %s is immutable or append-only; see lsattr)", unix.EPERM, d.path)}
	}
	if err := ioerr.Retry(func() error {
		return unix.Faccessat2(d.fd, "", unix.W_OK|unix.X_OK, unix.AT_EACCESS|unix.AT_EMPTY_PATH)
	}); err != nil {
		if err == unix.ENOSYS || err == unix.EINVAL {
			err = accessByMode(dst, euid)
		}
		if err != nil {
			return &fs.PathError{Op: "remove", Path: path, Err: fmt.Errorf("directory %s: %w", d.path, err)}
		}
	}
	if dst.Perm&fs.ModeSticky != 0 && euid != 0 && euid != dst.Uid && euid != st.Uid {
		return &fs.PathError{Op: "remove", Path: path,
			Err: fmt.Errorf("%w (directory %s is sticky and the entry belongs to uid %d)", unix.EPERM, d.path, st.Uid)}
	}
	if st.IsRegular() || st.IsDir() {
		fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err == nil {
			a := attrs(fd)
			unix.Close(fd)
			if a&(fsImmutable|fsAppend) != 0 {
				return &fs.PathError{Op: "remove", Path: path, Err: fmt.Errorf("%w (immutable or append-only; see lsattr)", unix.EPERM)}
			}
		}
	}
	return nil
}

const (
	fsImmutable = 0x10 // FS_IMMUTABLE_FL
	fsAppend    = 0x20 // FS_APPEND_FL
)

// attrs are the inode flags of fd (chattr); 0 where the filesystem has none.
func attrs(fd int) int {
	v, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return 0
	}
	return v
}

// accessByMode is the write+search check from the mode bits, for kernels
// without faccessat2.
func accessByMode(d Stat, euid uint32) error {
	if euid == 0 {
		return nil
	}
	var bits fs.FileMode = 0o003
	if euid == d.Uid {
		bits = 0o300
	} else if inGroup(d.Gid) {
		bits = 0o030
	}
	if d.Perm&bits != bits {
		return unix.EACCES
	}
	return nil
}

func inGroup(gid uint32) bool {
	if uint32(os.Getegid()) == gid {
		return true
	}
	gs, _ := os.Getgroups()
	for _, g := range gs {
		if uint32(g) == gid {
			return true
		}
	}
	return false
}

// RemoveTemps removes the temporary files (see TempPrefix) a killed Copy
// left in d: regular files of that name owned by the caller. A file that
// had already been given the source's owner is left alone and returned.
// With O_TMPFILE, which most filesystems have, Copy never leaves one.
func RemoveTemps(d *Dir) (kept []string, err error) {
	names, err := d.ReadDir()
	if err != nil {
		return nil, err
	}
	euid := uint32(os.Geteuid())
	for _, n := range names {
		if !strings.HasPrefix(n, TempPrefix) {
			continue
		}
		st, err := d.Lstat(n)
		if err != nil || !st.IsRegular() {
			continue
		}
		if st.Uid != euid {
			kept = append(kept, d.Join(n))
			continue
		}
		if err := RemoveFile(d, n, st.ID()); err != nil {
			kept = append(kept, d.Join(n))
		}
	}
	return kept, nil
}
