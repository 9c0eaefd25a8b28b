//go:build linux

package hugeheap

import "golang.org/x/sys/unix"

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
