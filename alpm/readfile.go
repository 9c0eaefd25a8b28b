package alpm

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// readFile reads the file at path, following symlinks as libalpm does,
// into buf (from its start; nil allocates, sized by fstat) and returns the
// bytes read. It uses open, read and close alone: os.Open also offers
// every file to the runtime's poller (refused for a regular file) and
// sets it blocking again, five system calls more for each of the
// thousands of desc and files entries of a local database. Errors are
// *fs.PathError, as os.ReadFile's.
func readFile(path string, buf []byte) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if buf == nil {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
		}
		// One byte more, so that the read that sees the end needs no
		// growing.
		buf = make([]byte, 0, max(st.Size, 0)+1)
	}
	b := buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		case n == 0:
			return b, nil
		}
		b = b[:len(b)+n]
	}
}
