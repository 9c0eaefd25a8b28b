package scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/ioerr"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/progress"
)

// MissingFile is a path a package owns that is not on disk.
type MissingFile struct {
	Package string
	// Path as the target system sees it ("/usr/bin/foo"); directories keep
	// their trailing '/'.
	Path string
}

// PathError is a problem with one path; the scan went on without it.
type PathError struct {
	Path string // as the target system sees it
	Err  error
}

func (e PathError) Error() string { return e.Path + ": " + e.Err.Error() }

// missingWorkers bounds the parallel lstat calls. The work is waiting on
// the file system (cold caches, network or spinning disks), not on CPUs.
const missingWorkers = 16

// MissingFiles checks every file of every package with lstat under root,
// as pacman -Qk does: a path is missing when it does not exist or a parent
// is not a directory. Paths matching pacman.conf's NoExtract (noExtract,
// pacman's pattern rules) are never extracted and so not missing. Other
// errors, such as a directory the user may not search, go into errs. The
// result is in package order and each package's file order.
func MissingFiles(ctx context.Context, root string, db *pkg.DB, noExtract []string) (missing []MissingFile, errs []PathError, err error) {
	return checkMissing(ctx, root, db, noExtract, nil, nil, nil)
}

// MissingFilesWith is MissingFiles counting, in c, each package checked
// and its files as it goes.
func MissingFilesWith(ctx context.Context, root string, db *pkg.DB, noExtract []string, c *progress.Counters) (missing []MissingFile, errs []PathError, err error) {
	return checkMissing(ctx, root, db, noExtract, nil, nil, c)
}

// MissingFilesSeen is MissingFilesWith taking what the unowned walk saw
// (UnownedResult.Seen, of the same root and db) as the answer for the
// paths in the directories it listed; the others get an lstat each. The
// result is MissingFiles's, as of the walk.
func MissingFilesSeen(ctx context.Context, root string, db *pkg.DB, noExtract []string, seen *Seen, c *progress.Counters) (missing []MissingFile, errs []PathError, err error) {
	return checkMissing(ctx, root, db, noExtract, nil, seen, c)
}

// lstat is lstat(2) without building an os.FileInfo: hundreds of
// thousands of calls, and only the error matters.
func lstat(path string) error {
	var st syscall.Stat_t
	for {
		err := syscall.Lstat(path, &st)
		if err != syscall.EINTR {
			return err
		}
	}
}

func missingFiles(ctx context.Context, root string, db *pkg.DB, noExtract []string, lstat func(string) error) ([]MissingFile, []PathError, error) {
	return checkMissing(ctx, root, db, noExtract, lstat, nil, nil)
}

// checkMissing checks with lstat, or, when lstat is nil, relative to an
// O_PATH handle of each file's directory (kept while a package's files stay
// in it): the kernel then resolves one name per file instead of the whole
// path, most of the cost of 300,000 lstat calls. The outcome is lstat's:
// the directory is opened following symlinks as lstat follows them in a
// path's directories, and a directory that does not exist or is not one
// makes its files missing (ENOENT, ENOTDIR).
//
// With seen, a path in a directory the walk listed is judged by the walk.
func checkMissing(ctx context.Context, root string, db *pkg.DB, noExtract []string, lstat func(string) error, seen *Seen, c *progress.Counters) ([]MissingFile, []PathError, error) {
	prefix := strings.TrimSuffix(root, "/") + "/"
	type result struct {
		missing []MissingFile
		errs    []PathError
	}
	results := make([]result, len(db.Packages))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < missingWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := dirStat{fd: -1}
			defer at.close()
			for i := range work {
				p := db.Packages[i]
				var r result
				buf := []byte(prefix)
				lastDir, lastListed := "\x00", false // no directory is named NUL
				for _, f := range p.Files {
					var err error
					rel := strings.TrimSuffix(f, "/")
					if seen != nil {
						// Lists are sorted: most paths share the
						// previous one's directory.
						dir, _ := splitRel(rel)
						if dir != lastDir {
							_, lastListed = seen.listed[dir]
							lastDir = dir
						}
					}
					if lastListed {
						err = seen.absent[rel]
					} else if lstat != nil {
						buf = append(buf[:len(prefix)], rel...)
						err = lstat(string(buf))
					} else {
						err = at.lstat(prefix, rel)
					}
					if err == nil {
						continue
					}
					switch {
					case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENOTDIR):
						if !noExtracted(noExtract, f) {
							r.missing = append(r.missing, MissingFile{Package: p.Name, Path: "/" + f})
						}
					default:
						r.errs = append(r.errs, PathError{Path: "/" + f, Err: unwrapPath(err)})
					}
				}
				results[i] = r
				c.Add(1, 0, int64(len(p.Files)), 0)
			}
		}()
	}
	var cancelled error
feed:
	for i := range db.Packages {
		if err := ctx.Err(); err != nil {
			cancelled = err
			break
		}
		select {
		case work <- i:
		case <-ctx.Done():
			cancelled = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if cancelled != nil {
		return nil, nil, cancelled
	}
	var missing []MissingFile
	var errs []PathError
	for _, r := range results {
		missing = append(missing, r.missing...)
		errs = append(errs, r.errs...)
	}
	if err := FirstTransient(errs); err != nil {
		return nil, nil, fmt.Errorf("missing files: %w", err)
	}
	return missing, errs, nil
}

// noExtracted applies NoExtract like libalpm's _alpm_fnmatch_patterns: the
// last matching pattern decides, and a leading '!' makes it an exception.
func noExtracted(patterns []string, path string) bool {
	for i := len(patterns) - 1; i >= 0; i-- {
		p := patterns[i]
		inverted := strings.HasPrefix(p, "!")
		if inverted || strings.HasPrefix(p, `\`) {
			p = p[1:]
		}
		if fnmatch(p, path) {
			return !inverted
		}
	}
	return false
}

// FirstTransient returns the first of errs that failed for want of memory
// or file descriptors or with an I/O error: such a read says nothing about
// the path, and what a scan did not see there is unknown, so the command
// fails. Permission denied and vanished paths are answers, not failures.
func FirstTransient(errs []PathError) error {
	for _, e := range errs {
		if ioerr.Transient(e.Err) {
			return fmt.Errorf("%s: %w", e.Path, e.Err)
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

// dirStat lstats names relative to a handle of their directory, reopened
// when the directory changes.
type dirStat struct {
	dir    string
	fd     int
	err    error
	opened bool
	path   []byte
}

// lstat is lstat(prefix+rel) without resolving the directory again when
// it is the previous call's.
func (s *dirStat) lstat(prefix, rel string) error {
	dir, name := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, name = rel[:i], rel[i+1:]
	}
	if !s.opened || dir != s.dir {
		s.close()
		s.dir, s.opened = dir, true
		s.path = append(append(s.path[:0], prefix...), dir...)
		for {
			s.fd, s.err = unix.Open(string(s.path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if s.err != unix.EINTR {
				break
			}
		}
	}
	if s.err != nil {
		return s.err
	}
	var st unix.Stat_t
	for {
		err := unix.Fstatat(s.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

func (s *dirStat) close() {
	if s.opened && s.err == nil && s.fd >= 0 {
		unix.Close(s.fd)
	}
	s.fd, s.err, s.opened = -1, nil, false
}
