// Package hugeheap lets the Go heap use transparent huge pages on kernels
// that give them only to memory that asks for them (transparent_hugepage
// mode "madvise", as on the machines the benchmarks run on; in mode
// "always" the heap gets them anyway, in "never" not at all).
//
// A report holds tens of megabytes at once (file lists, the owned set,
// the walk). Served from 4 KiB pages, every page costs a fault the first
// time it is touched; on a virtual machine that can be 20 µs a page, a
// third of the unowned scan's time (15,000 faults for an 80 MB heap). With
// huge pages the same heap takes a few dozen faults.
//
// The runtime does not ask for huge pages itself. Reserve grows the heap
// by a block of address space that nothing has touched yet, advises huge
// pages on it and hands it straight back: the allocations that follow are
// served from it, since the runtime reuses the lowest free addresses
// first. Untouched, the block costs address space only.
package hugeheap

import (
	"os"
	"runtime"
	"strings"
)

// Reserve advises huge pages on size bytes of the heap's address space,
// to be used by the allocations that follow. It does nothing when
// GODEBUG disablethp=1 asks the runtime to keep huge pages away from the
// heap, under a limit on address space or data size (ulimit -v or -d: the
// block might not fit, and the runtime cannot survive a failed
// allocation), and where the kernel cannot do it; it never fails.
func Reserve(size int) {
	if disabled(os.Getenv("GODEBUG")) || limited() {
		return
	}
	if advise(size) {
		// Free the block now, while the heap is small, so that the next
		// allocations reuse it instead of growing the heap past it.
		runtime.GC()
	}
}

// disabled reports whether the GODEBUG setting godebug turns huge pages
// for the heap off (the last disablethp= wins, as in the runtime).
func disabled(godebug string) bool {
	off := false
	for _, kv := range strings.Split(godebug, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "disablethp="); ok {
			off = v == "1"
		}
	}
	return off
}
