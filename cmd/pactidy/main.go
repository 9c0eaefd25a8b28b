// Command pactidy keeps an Arch Linux system clean: orphaned and foreign
// packages, missing and unowned files, .pacnew files and the package cache.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pactidy/pactidy/internal/hugeheap"
	"github.com/pactidy/pactidy/internal/quote"
)

// Exit statuses; documented in the root command's help and the README.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitFindings = 3
)

// stopSignals end a run cleanly: the context is cancelled, a command that
// changes files finishes the file at hand, releases pacman's lock and
// removes its temporary files, and pactidy exits with an error saying it
// was interrupted. SIGHUP is a closed terminal, SIGTERM a shutdown or
// kill(1). SIGQUIT (Ctrl-\) would otherwise make the Go runtime dump its
// stacks and exit at once, leaving db.lck behind so that pacman refuses to
// run: a user who presses it wants pactidy to stop, not a crash, so it is
// handled like Ctrl-C (a stack dump is still there: GOTRACEBACK=crash and
// SIGABRT).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// heapReserve is the heap address space advised for huge pages at start:
// more than the full report of a large system uses (its peak resident set
// is about 120 MB).
const heapReserve = 256 << 20

func main() {
	if err := reserveRuntimeFiles(); err != nil {
		fmt.Fprintf(os.Stderr, "pactidy: %v\n", err)
		os.Exit(exitFailure)
	}
	// After the poller has its descriptors: the collection Reserve runs
	// starts timers, which would otherwise start the poller at a moment
	// of their choosing (under ulimit -n 6, while reserveRuntimeFiles
	// holds the spare descriptors, and the runtime complains on stderr).
	hugeheap.Reserve(heapReserve)
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	app := newApp()
	err := newRootCmd(app).ExecuteContext(ctx)
	os.Exit(exitCode(app, err))
}

func exitCode(app *App, err error) int {
	var uerr *usageError
	// pacman's failure passes its exit status through.
	var status interface{ ExitStatus() int }
	switch {
	case err == nil, errors.Is(err, errHookFlag):
		return exitOK
	case errors.Is(err, errFindings):
		return exitFindings
	case errors.As(err, &uerr):
		fmt.Fprintf(app.Stderr, "pactidy: %s\nRun 'pactidy --help' for usage.\n", quote.Quote(err.Error()))
		return exitUsage
	case errors.As(err, &status) && status.ExitStatus() > 0:
		fmt.Fprintf(app.Stderr, "pactidy: %s\n", quote.Quote(err.Error()))
		return status.ExitStatus()
	default:
		// A message may carry a file name or a line of a configuration
		// file: never raw on the terminal.
		fmt.Fprintf(app.Stderr, "pactidy: %s\n", quote.Quote(err.Error()))
		return exitFailure
	}
}

// reserveRuntimeFiles starts the Go runtime's poller, which needs two file
// descriptors of its own, while they can still be had: the runtime sets it
// up at the first file opened (which holds a third) and, when it cannot,
// aborts the program with
// exit status 2 (pactidy's usage-error status) and a stack dump. With too
// few descriptors pactidy fails here instead, plainly; any later shortage
// is an error of the read that meets it.
func reserveRuntimeFiles() error {
	var fds []int
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	for range 3 {
		fd, err := syscall.Dup(2)
		if err != nil {
			var lim syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
			return fmt.Errorf("too few file descriptors to start (ulimit -n is %d): %v", lim.Cur, err)
		}
		fds = append(fds, fd)
	}
	for _, fd := range fds {
		syscall.Close(fd)
	}
	fds = nil
	// Opening any file starts the poller.
	f, err := os.Open("/")
	if err != nil {
		return fmt.Errorf("open /: %v", err)
	}
	return f.Close()
}
