package scan

import (
	"syscall"
	"unsafe"
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

// lstat is lstatPath(2) on a NUL-terminated path.
func lstatPath(path []byte, st *syscall.Stat_t) error {
	p := string(path[:len(path)-1])
	for {
		err := syscall.Lstat(p, st)
		if err != syscall.EINTR {
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
