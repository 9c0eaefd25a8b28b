//go:build linux && amd64

package cache

import (
	"io/fs"
	"syscall"
	"time"
	"unsafe"
)

// lstatAt is lstat of name in the directory open as dirfd. Resolving one
// path component instead of the whole path makes it a third faster than
// os.Lstat, which matters with tens of thousands of cache files.
func lstatAt(dirfd int, dir, name string) (fs.FileMode, int64, time.Time, devIno, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return 0, 0, time.Time{}, devIno{}, err
	}
	var st syscall.Stat_t
	const atSymlinkNoFollow = 0x100
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(unsafe.Pointer(&st)), atSymlinkNoFollow, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return 0, 0, time.Time{}, devIno{}, errno
		}
		break
	}
	return fileType(st.Mode), st.Size, time.Unix(st.Mtim.Sec, st.Mtim.Nsec), devIno{st.Dev, st.Ino}, nil
}

func fileType(mode uint32) fs.FileMode {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		return 0
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFLNK:
		return fs.ModeSymlink
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}
