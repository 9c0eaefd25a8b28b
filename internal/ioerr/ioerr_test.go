package ioerr

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

func TestTransient(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fs.ErrNotExist, false},
		{&fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}, false},
		{&fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, false},
		{fmt.Errorf("read: %w", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EMFILE}), true},
		{&os.SyscallError{Syscall: "getdents", Err: syscall.EIO}, true},
		{syscall.ENFILE, true},
		{syscall.ENOMEM, true},
	} {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestRetry(t *testing.T) {
	calls := 0
	err := Retry(func() error {
		calls++
		if calls < 3 {
			return syscall.EINTR
		}
		return syscall.ENOENT
	})
	if err != syscall.ENOENT || calls != 3 {
		t.Errorf("Retry: %v after %d calls, want ENOENT after 3", err, calls)
	}
}
