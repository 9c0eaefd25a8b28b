// Package fsafe holds the file primitives pactidy uses when it changes
// files as root in directories other users can write: the package cache,
// AUR helper caches under a user's home, the unowned files of a root.
//
// Every operation works relative to a directory handle (a Dir) opened once
// with O_DIRECTORY|O_NOFOLLOW; names below a Dir are single path
// components, resolved with openat/fstatat/unlinkat/renameat and never
// through a symlink. Every destructive call takes the Identity that was
// seen when the work was planned (device, inode, type, size) and refuses
// with an error matching ErrChanged when the object it is about to touch is
// not that one. An entry is first renamed into a private directory that
// only the caller can change (see stage), checked there and only then
// removed, so swapping names in a loop (renameat2 RENAME_EXCHANGE, the
// classic check-then-use race) cannot redirect a removal, a move or a copy
// to another file.
//
// Use: open the configured top directory with OpenDir (after Resolve
// when the configured path may be a symlink of root's) and compare its
// identity with the plan (Dir.Verify); open directories below it with
// Dir.OpenDir; remove with RemoveFile or RemoveTree (RemoveTreeIf for a
// tree that was copied), move or copy a regular file with Move or Copy,
// and check beforehand with CanRemove that originals can go. A process
// killed in the middle of an operation may leave the entry in a stage
// directory (StagePrefix) and, on filesystems without O_TMPFILE, a
// temporary file (TempPrefix): call Unstage on a directory, and
// RemoveTemps on a copy destination, before working in it.
//
// The package is Linux-only (it uses statx, renameat2, O_TMPFILE and
// linkat AT_EMPTY_PATH) like pacman roots themselves.
package fsafe

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// ErrChanged is matched (errors.Is) by the error of an operation that found
// a different object than the one planned; nothing was changed.
var ErrChanged = errors.New("changed since it was planned; not touched")

// ErrMountPoint is matched by the error of a tree operation that met a
// mount point; the mount point and what is above it are left in place.
var ErrMountPoint = errors.New("is a mount point; not crossed")

// ErrExists is matched by the error of a move or copy whose destination
// name is taken by a different file; both files are kept.
var ErrExists = errors.New("a different file of that name exists in the destination; both kept")

// Stat is what fstatat (statx) says about one object.
type Stat struct {
	Dev   uint64
	Ino   uint64
	MntID uint64 // mount id (statx STATX_MNT_ID); 0 when the kernel does not say
	Type  fs.FileMode
	Perm  fs.FileMode // permission bits with setuid, setgid and sticky (fs.ModeSetuid, ...)
	Size  int64
	Nlink uint32
	Uid   uint32
	Gid   uint32
	Atime time.Time
	Mtime time.Time
}

// Identity tells which object was planned: what an operation checks before
// it acts.
type Identity struct {
	Dev  uint64
	Ino  uint64
	Type fs.FileMode // fs.ModeType bits; 0 is a regular file
	// Size is checked for everything but directories, whose size changes
	// with their entries.
	Size int64
}

// ID is the identity of s.
func (s Stat) ID() Identity {
	return Identity{Dev: s.Dev, Ino: s.Ino, Type: s.Type, Size: s.Size}
}

// IsDir tells whether s is a directory.
func (s Stat) IsDir() bool { return s.Type == fs.ModeDir }

// IsRegular tells whether s is a regular file.
func (s Stat) IsRegular() bool { return s.Type == 0 }

// Mode is s's type and permission bits as an fs.FileMode.
func (s Stat) Mode() fs.FileMode { return s.Type | s.Perm }

// Matches tells whether s is the object id names, unchanged in size.
func (id Identity) Matches(s Stat) bool {
	if id.Dev != s.Dev || id.Ino != s.Ino || id.Type != s.Type {
		return false
	}
	return id.Type == fs.ModeDir || id.Size == s.Size
}

// ChangedError is the error of an operation that found another object
// than the planned one (inside an *fs.PathError naming it). It matches
// ErrChanged.
type ChangedError struct {
	Want Identity
	Got  Stat
}

func (e *ChangedError) Error() string {
	what := "replaced by another file"
	switch {
	case e.Got.Type != e.Want.Type:
		what = fmt.Sprintf("now a %s, planned as a %s", typeName(e.Got.Type), typeName(e.Want.Type))
	case e.Got.Dev == e.Want.Dev && e.Got.Ino == e.Want.Ino:
		what = fmt.Sprintf("size changed from %d to %d bytes", e.Want.Size, e.Got.Size)
	}
	return fmt.Sprintf("%s; %v", what, ErrChanged)
}

func (e *ChangedError) Is(target error) bool { return target == ErrChanged }

// check returns a *ChangedError unless got is the object want names.
func check(want Identity, got Stat) error {
	if want.Matches(got) {
		return nil
	}
	return &ChangedError{Want: want, Got: got}
}

func typeName(t fs.FileMode) string {
	switch t {
	case 0:
		return "regular file"
	case fs.ModeDir:
		return "directory"
	case fs.ModeSymlink:
		return "symlink"
	case fs.ModeNamedPipe:
		return "FIFO"
	case fs.ModeSocket:
		return "socket"
	case fs.ModeDevice | fs.ModeCharDevice:
		return "character device"
	case fs.ModeDevice:
		return "block device"
	}
	return "special file"
}

func fileType(mode uint16) fs.FileMode {
	switch uint32(mode) & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

func permBits(mode uint16) fs.FileMode {
	p := fs.FileMode(mode & 0o777)
	if mode&unix.S_ISUID != 0 {
		p |= fs.ModeSetuid
	}
	if mode&unix.S_ISGID != 0 {
		p |= fs.ModeSetgid
	}
	if mode&unix.S_ISVTX != 0 {
		p |= fs.ModeSticky
	}
	return p
}

// unixPerm turns Stat.Perm back into the bits chmod takes.
func unixPerm(p fs.FileMode) uint32 {
	m := uint32(p.Perm())
	if p&fs.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if p&fs.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if p&fs.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return m
}

const statxMask = unix.STATX_BASIC_STATS | unix.STATX_MNT_ID

// statx stats name in dirfd without following a symlink; name "" stats
// dirfd itself.
func statx(dirfd int, name string) (Stat, error) {
	var sx unix.Statx_t
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_STATX_SYNC_AS_STAT
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	for {
		err := unix.Statx(dirfd, name, flags, statxMask, &sx)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Stat{}, err
		}
		break
	}
	s := Stat{
		Dev:   unix.Mkdev(sx.Dev_major, sx.Dev_minor),
		Ino:   sx.Ino,
		Type:  fileType(sx.Mode),
		Perm:  permBits(sx.Mode),
		Size:  int64(sx.Size),
		Nlink: sx.Nlink,
		Uid:   sx.Uid,
		Gid:   sx.Gid,
		Atime: time.Unix(sx.Atime.Sec, int64(sx.Atime.Nsec)),
		Mtime: time.Unix(sx.Mtime.Sec, int64(sx.Mtime.Nsec)),
	}
	if sx.Mask&unix.STATX_MNT_ID != 0 {
		s.MntID = sx.Mnt_id
	}
	return s, nil
}

// validName refuses what is not a single path component.
func validName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%q is not a file name", name)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return fmt.Errorf("%q is not a single file name", name)
		}
	}
	return nil
}
