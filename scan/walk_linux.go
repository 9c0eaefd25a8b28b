package scan

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openDir opens a NUL-terminated path as a directory without following a
// symlink in its last component (it could have been swapped in since the
// listing that named it).
func openDir(path []byte) (int, error) {
	for {
		fd, _, errno := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(&path[0])),
			uintptr(syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(fd), nil
	}
}

// atFDCWD is AT_FDCWD; a variable so it converts to uintptr.
var atFDCWD = -100

// fstatatNoFollow is fstatat(2) of name in the directory open as dirfd,
// without following a symlink.
func fstatatNoFollow(dirfd int, name []byte, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, unsafe.String(unsafe.SliceData(name), len(name)), st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

func getdents(fd int, buf []byte) (int, error) {
	for {
		n, err := syscall.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		return n, err
	}
}
