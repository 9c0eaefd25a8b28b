package alpm

/*
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>

// pactidy_limit_address_space keeps the address space small: glibc gives
// every thread that calls malloc an arena with 64 MiB reserved, and Go
// runs cgo calls on whichever of its threads is free, so libalpm's
// mallocs alone reserved a gigabyte; and every thread the Go runtime
// starts through pthreads reserved RLIMIT_STACK (8 MiB) for its stack.
//
// It runs as a constructor: before the Go runtime starts its first threads
// (which call malloc, and so would get arenas of their own).
__attribute__((constructor)) static void pactidy_limit_address_space(void) {
	mallopt(M_ARENA_MAX, 1);
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) == 0) {
		// See threadStack.
		if (pthread_attr_setstacksize(&attr, 1 << 20) == 0) {
			pthread_setattr_default_np(&attr);
		}
		pthread_attr_destroy(&attr);
	}
}
*/
import "C"

// Under "ulimit -v" a process fails once its reservations pass the limit,
// and the Go runtime then aborts with status 2, pactidy's usage-error
// status. Most of what pactidy reserved beyond the Go runtime's own was
// the C side's (see the constructor above); README ("Memory limits") has
// the figures.
