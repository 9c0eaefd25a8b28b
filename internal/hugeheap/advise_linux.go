//go:build linux

package hugeheap

import "golang.org/x/sys/unix"

// limited reports whether the process's address space or data size is
// limited (or the limits cannot be read).
func limited() bool {
	for _, res := range []int{unix.RLIMIT_AS, unix.RLIMIT_DATA} {
		var lim unix.Rlimit
		if err := unix.Getrlimit(res, &lim); err != nil || lim.Cur != unix.RLIM_INFINITY {
			return true
		}
	}
	return false
}

// advise allocates a block of size bytes, advises huge pages on it and
// drops it. A block this large gets address space of its own, fresh from
// the kernel and never touched (the runtime does not zero memory it knows
// to be zero). It reports whether the advice was taken.
//
//go:noinline
func advise(size int) bool {
	b := make([]byte, size)
	return unix.Madvise(b, unix.MADV_HUGEPAGE) == nil
}
