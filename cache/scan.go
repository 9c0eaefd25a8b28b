package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/fsafe"
	"github.com/pactidy/pactidy/internal/ioerr"
	"github.com/pactidy/pactidy/internal/progress"
)

// Entry is one top-level entry of a cache directory that may concern the
// planner: anything with ".pkg.tar" in its name and pacman's download-*
// directories. Everything else in a cache directory is left alone.
type Entry struct {
	Dir     int    // index into Listing.Dirs
	Name    string // base name
	Type    fs.FileMode
	Size    int64 // for a directory: the regular files inside it
	ModTime time.Time
	// ID is the entry as it was seen (device, inode, type and size of the
	// entry itself): Apply touches only that very object.
	ID fsafe.Identity
}

type devIno struct{ dev, ino uint64 }

// Listing is what Scan read from the cache directories.
type Listing struct {
	Dirs []string
	// DirIDs are the directories of Dirs as they were read.
	DirIDs  []fsafe.Identity
	Entries []Entry
	Errors  []FileError

	progress *progress.Counters
}

// FileError is a problem with one path; planning goes on without it.
type FileError struct {
	Path string
	Err  error
}

func (e FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e FileError) Unwrap() error { return e.Err }

// downloadPrefix names the temporary directories pacman 7 downloads into.
const downloadPrefix = "download-"

// interesting tells whether a directory entry is something Scan records.
func interesting(name string) bool {
	return strings.Contains(name, pkgExt) || strings.HasPrefix(name, downloadPrefix)
}

// Scan lists dirs. The directories are cleaned and made absolute; a
// directory given twice is read once, also when the second name reaches it
// through a symlink or a bind mount: its files would otherwise each look
// like a duplicate of themselves, and removing the "duplicates" would
// remove the only copies. A directory that does not exist or cannot be
// read is an error (the caller named it); a file that vanishes or cannot be
// examined is recorded in Errors.
func Scan(dirs []string) (*Listing, error) {
	return ScanWith(dirs, nil)
}

// ScanWith is Scan counting, in c, each directory listed and each entry
// examined with its size.
func ScanWith(dirs []string, c *progress.Counters) (*Listing, error) {
	l := &Listing{progress: c}
	seen := map[string]bool{}
	var opened []fsafe.Identity
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("cache directory %s: %w", d, err)
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		if opened, err = l.scanDir(abs, opened); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// scanDir reads dir unless it is one of the directories already opened,
// and returns opened with dir added.
func (l *Listing) scanDir(dir string, opened []fsafe.Identity) ([]fsafe.Identity, error) {
	f, err := openCacheDir(dir)
	if err != nil {
		return opened, err
	}
	defer f.Close()
	id := f.Stat().ID()
	for _, o := range opened {
		if o.Dev == id.Dev && o.Ino == id.Ino {
			return opened, nil
		}
	}
	opened = append(opened, id)
	idx := len(l.Dirs)
	l.Dirs = append(l.Dirs, dir)
	l.DirIDs = append(l.DirIDs, id)
	names, err := f.ReadDir()
	if err != nil {
		return opened, fmt.Errorf("read cache directory %s: %w", dir, unwrapPath(err))
	}
	cand := make([]string, 0, len(names))
	for _, name := range names {
		if interesting(name) {
			cand = append(cand, name)
		}
	}
	// lstat is most of the time of a big cache; spread it over the CPUs.
	dirfd := f.Fd()
	ents := make([]Entry, len(cand))
	errs := make([]error, len(cand))
	workers := runtime.GOMAXPROCS(0)
	if workers > 8 {
		workers = 8
	}
	if n := len(cand)/2048 + 1; workers > n {
		workers = n
	}
	var wg sync.WaitGroup
	chunk := (len(cand) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, (w+1)*chunk
		if hi > len(cand) {
			hi = len(cand)
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				ents[i], errs[i] = statEntry(dirfd, dir, idx, cand[i])
				l.progress.Add(0, 0, 1, ents[i].Size)
			}
		}(lo, hi)
	}
	wg.Wait()
	l.progress.Add(0, 1, 0, 0)
	// An entry is large: grow the list once, not entry by entry.
	l.Entries = slices.Grow(l.Entries, len(cand))
	for i := range cand {
		switch {
		case errs[i] == errSkip || errors.Is(errs[i], fs.ErrNotExist):
		case ioerr.Transient(errs[i]):
			// What this entry is cannot be known; a plan without it
			// would count the versions of its package wrong.
			return opened, fmt.Errorf("read cache directory %s: %s: %w", dir, cand[i], errs[i])
		case errs[i] != nil:
			l.Errors = append(l.Errors, FileError{Path: dir + "/" + cand[i], Err: errs[i]})
		default:
			l.Entries = append(l.Entries, ents[i])
		}
	}
	return opened, nil
}

var errSkip = errors.New("skip")

func statEntry(dirfd int, dir string, idx int, name string) (Entry, error) {
	typ, size, mtime, di, err := lstatAt(dirfd, dir, name)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Dir: idx, Name: name, Type: typ, Size: size, ModTime: mtime,
		ID: fsafe.Identity{Dev: di.dev, Ino: di.ino, Type: typ, Size: size}}
	if typ.IsDir() {
		if !strings.HasPrefix(name, downloadPrefix) {
			return e, errSkip
		}
		e.Size, e.ModTime, err = dirUsage(dirfd, name, di, e.ModTime)
	}
	return e, err
}

// dirUsage sums the regular files directly in the directory name of
// dirfd, which must be the directory want (opened by handle, never through
// a symlink), and returns the newest modification time of it and its
// entries.
func dirUsage(dirfd int, name string, want devIno, mtime time.Time) (int64, time.Time, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, mtime, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, mtime, err
	}
	if st.Dev != want.dev || st.Ino != want.ino {
		return 0, mtime, errors.New("replaced while it was read")
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return 0, mtime, unwrapPath(err)
	}
	var size int64
	for _, n := range names {
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG {
			size += st.Size
		}
		if t := time.Unix(st.Mtim.Sec, st.Mtim.Nsec); t.After(mtime) {
			mtime = t
		}
	}
	return size, mtime, nil
}

// openCacheDir opens a cache directory by handle: a symlink of root's or
// the caller's on the way is followed (a cache on another disk), one of
// another user's is refused, and the directory itself is opened with
// O_NOFOLLOW. Apply opens it the same way and checks that it is the
// directory Scan read.
func openCacheDir(dir string) (*fsafe.Dir, error) {
	real, err := fsafe.Resolve(dir)
	if err != nil {
		// Not unwrapped: the symlink refused may be a parent of dir.
		return nil, fmt.Errorf("cache directory %s: %w", dir, err)
	}
	d, err := fsafe.OpenDir(real)
	if err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", dir, unwrapPath(err))
	}
	return d, nil
}

// FirstTransient returns the first of errs that failed for want of memory
// or file descriptors or with an I/O error (as an error naming the path):
// such a read says nothing about the file, and a command that meets one
// fails rather than act on a plan without it.
func FirstTransient(errs []FileError) error {
	for _, e := range errs {
		if ioerr.Transient(e.Err) {
			return e
		}
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dirID is the identity of Dirs[i]; zero (matching nothing) for a listing
// not made by Scan.
func (l *Listing) dirID(i int) fsafe.Identity {
	if i < len(l.DirIDs) {
		return l.DirIDs[i]
	}
	return fsafe.Identity{}
}
