// Package ioerr tells the read failures that say nothing about what is on
// disk from the answers about it. "No such file" and "permission denied"
// describe a path; "too many open files", "out of memory" or an I/O error
// describe the machine at that moment, and whatever the read would have
// found is unknown. Treating such a failure as "absent" is how an
// installed package comes to look uninstalled and its files get deleted,
// so callers fail the whole command on it.
package ioerr

import (
	"errors"
	"syscall"
)

// Transient reports whether err is (or wraps) a failure of the machine
// rather than an answer about the path: out of file descriptors (EMFILE,
// ENFILE), memory or buffers (ENOMEM, ENOBUFS), an I/O error (EIO), or a
// call that should be retried (EAGAIN, EINTR).
func Transient(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.ENOBUFS, syscall.EIO, syscall.EAGAIN, syscall.EINTR:
		return true
	}
	return false
}

// Retry runs f again while it fails with EINTR: a system call interrupted
// by a signal (SIGURG, which the Go runtime sends to preempt, included)
// said nothing yet.
func Retry(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}
