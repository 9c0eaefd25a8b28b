package quarantine

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Type is the kind of a file-system object.
type Type string

// The types the quarantine keeps. Sockets and device nodes are refused.
const (
	TypeFile    Type = "file"
	TypeDir     Type = "dir"
	TypeSymlink Type = "symlink"
	TypeFIFO    Type = "fifo"
	TypeOther   Type = "other"
)

func typeOf(mode uint32) Type {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return TypeFile
	case unix.S_IFDIR:
		return TypeDir
	case unix.S_IFLNK:
		return TypeSymlink
	case unix.S_IFIFO:
		return TypeFIFO
	}
	return TypeOther
}

// stat is what statx(2) says about one object, not following symlinks.
type stat struct {
	typ          Type
	mode         uint32 // st_mode
	dev, ino     uint64
	nlink        uint32
	uid, gid     uint32
	size         int64
	atime, mtime unix.Timespec
	mnt          uint64 // mount id
}

func (s stat) perm() uint32 { return s.mode & 0o7777 }

func retry(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

func statAt(dirfd int, name string) (stat, error) {
	var x unix.Statx_t
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_STATX_SYNC_AS_STAT
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	err := retry(func() error {
		return unix.Statx(dirfd, name, flags, unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, &x)
	})
	if err != nil {
		return stat{}, err
	}
	return stat{
		typ:   typeOf(uint32(x.Mode)),
		mode:  uint32(x.Mode),
		dev:   unix.Mkdev(x.Dev_major, x.Dev_minor),
		ino:   x.Ino,
		nlink: x.Nlink,
		uid:   x.Uid,
		gid:   x.Gid,
		size:  int64(x.Size),
		atime: unix.Timespec{Sec: x.Atime.Sec, Nsec: int64(x.Atime.Nsec)},
		mtime: unix.Timespec{Sec: x.Mtime.Sec, Nsec: int64(x.Mtime.Nsec)},
		mnt:   x.Mnt_id,
	}, nil
}

func fstat(fd int) (stat, error) { return statAt(fd, "") }

func openAt(dirfd int, name string, flags int, mode uint32) (int, error) {
	var fd int
	err := retry(func() error {
		var err error
		fd, err = unix.Openat(dirfd, name, flags|unix.O_CLOEXEC|unix.O_NOFOLLOW, mode)
		return err
	})
	return fd, err
}

// openDirAt opens a directory below dirfd without following a symlink.
func openDirAt(dirfd int, name string) (int, error) {
	return openAt(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
}

// openReadAt opens a regular file for reading; O_NONBLOCK keeps a FIFO
// swapped in for it from blocking the open.
func openReadAt(dirfd int, name string) (int, error) {
	return openAt(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
}

func closeFd(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// readNames lists a directory opened by handle.
func readNames(fd int) ([]string, error) {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return nil, err
	}
	buf := make([]byte, 32*1024)
	var names []string
	for {
		var n int
		err := retry(func() error {
			var err error
			n, err = unix.Getdents(fd, buf)
			return err
		})
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// openDirPath opens the directory rel (components separated by '/', ""
// for dirfd itself) below dirfd one component at a time, never following
// a symlink.
func openDirPath(dirfd int, rel string) (int, error) {
	fd, err := unix.Dup(dirfd)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	if rel == "" {
		return fd, nil
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." || c == ".." {
			closeFd(fd)
			return -1, fmt.Errorf("bad path component %q", c)
		}
		next, err := openDirAt(fd, c)
		closeFd(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// splitRel splits a relative path into its directory and last name.
func splitRel(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// procPath names the object name inside the directory dirfd for the
// l*xattr calls, which have no *at form.
func procPath(dirfd int, name string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name)
}

// xattrs reads the extended attributes (ACLs are system.posix_acl_*) of
// an object: through fd when it is open, else by name inside dirfd.
func xattrs(fd, dirfd int, name string) (map[string][]byte, error) {
	list := func(dest []byte) (int, error) {
		if fd >= 0 {
			return unix.Flistxattr(fd, dest)
		}
		return unix.Llistxattr(procPath(dirfd, name), dest)
	}
	get := func(attr string, dest []byte) (int, error) {
		if fd >= 0 {
			return unix.Fgetxattr(fd, attr, dest)
		}
		return unix.Lgetxattr(procPath(dirfd, name), attr, dest)
	}
	var buf []byte
	for {
		n, err := list(nil)
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list extended attributes: %w", err)
		}
		if n == 0 {
			return nil, nil
		}
		buf = make([]byte, n)
		n, err = list(buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list extended attributes: %w", err)
		}
		buf = buf[:n]
		break
	}
	out := map[string][]byte{}
	for _, attr := range strings.Split(strings.TrimRight(string(buf), "\x00"), "\x00") {
		if attr == "" {
			continue
		}
		for {
			n, err := get(attr, nil)
			if errors.Is(err, unix.ENODATA) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read extended attribute %s: %w", attr, err)
			}
			val := make([]byte, n)
			n, err = get(attr, val)
			if errors.Is(err, unix.ERANGE) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read extended attribute %s: %w", attr, err)
			}
			out[attr] = val[:n]
			break
		}
	}
	return out, nil
}

func setXattrs(fd, dirfd int, name string, attrs map[string][]byte) error {
	for _, attr := range sortedKeys(attrs) {
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, attr, attrs[attr], 0)
		} else {
			err = unix.Lsetxattr(procPath(dirfd, name), attr, attrs[attr], 0)
		}
		if err != nil {
			return fmt.Errorf("set extended attribute %s: %w", attr, err)
		}
	}
	return nil
}

func fsyncFd(fd int) error {
	return retry(func() error { return unix.Fsync(fd) })
}
