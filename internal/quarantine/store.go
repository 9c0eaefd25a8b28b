package quarantine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultDir is the quarantine of the target root (as pacman's --root):
// ROOT/var/lib/pactidy/quarantine.
func DefaultDir(root string) string {
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, "var/lib/pactidy/quarantine")
}

// SystemDir is DefaultDir as the target system sees it, for excluding it
// from the unowned scan.
const SystemDir = "/var/lib/pactidy/quarantine"

// UserDir is the quarantine for a user's own files, inside their home.
func UserDir(home string) string {
	return filepath.Join(home, ".local/share/pactidy/quarantine")
}

// Store is a quarantine directory holding runs.
type Store struct {
	// Dir is the store's absolute path on the running system.
	Dir string
	fd  int
	st  stat
	// Now is the clock (tests replace it).
	Now func() time.Time
}

// Open opens the store at dir, creating it (mode 0700) when missing. The
// store must belong to the user running pactidy and be writable by nobody
// else: it holds other people's files.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("quarantine %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create quarantine: %w", err)
	}
	fd, err := openAt(unix.AT_FDCWD, abs, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open quarantine %s: %w", abs, err)
	}
	st, err := fstat(fd)
	if err != nil {
		closeFd(fd)
		return nil, fmt.Errorf("open quarantine %s: %w", abs, err)
	}
	if int(st.uid) != os.Geteuid() || st.perm()&0o022 != 0 {
		closeFd(fd)
		return nil, fmt.Errorf("quarantine %s belongs to uid %d with mode %04o; it must belong to uid %d and be writable by nobody else",
			abs, st.uid, st.perm(), os.Geteuid())
	}
	return &Store{Dir: abs, fd: fd, st: st, Now: time.Now}, nil
}

// Close releases the store's handle.
func (s *Store) Close() error {
	closeFd(s.fd)
	s.fd = -1
	return nil
}

var idRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}-[0-9a-f]{4,}$`)

// ValidID reports whether id has the form of a run ID.
func ValidID(id string) bool { return idRE.MatchString(id) }

func (s *Store) newID() string {
	var b [2]byte
	rand.Read(b[:])
	return s.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// ids lists the runs, oldest first.
func (s *Store) ids() ([]string, error) {
	names, err := readNames(s.fd)
	if err != nil {
		return nil, fmt.Errorf("list quarantine %s: %w", s.Dir, err)
	}
	var out []string
	for _, n := range names {
		if ValidID(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ErrNoRun is returned for an ID the store does not hold.
var ErrNoRun = errors.New("no such quarantine run")

// ErrBusy is returned for a run another process is using.
var ErrBusy = errors.New("in use by another pactidy")

// runFiles are the open files of one run.
type runFiles struct {
	id      string
	dir     int
	data    int
	journal *os.File
	man     *os.File
}

func (f *runFiles) close() {
	closeFd(f.dir)
	closeFd(f.data)
	if f.journal != nil {
		f.journal.Close() // releases the lock
	}
	if f.man != nil {
		f.man.Close()
	}
}

// openRun opens a run and locks it (flock on its journal, released when
// the process ends, however it ends).
func (s *Store) openRun(id string) (*runFiles, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%q: %w", id, ErrNoRun)
	}
	f := &runFiles{id: id, dir: -1, data: -1}
	var err error
	if f.dir, err = openDirAt(s.fd, id); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%s: %w", id, ErrNoRun)
		}
		return nil, fmt.Errorf("open run %s: %w", id, err)
	}
	if f.data, err = openDirAt(f.dir, "data"); err != nil {
		f.close()
		return nil, fmt.Errorf("open run %s: %w", id, err)
	}
	if f.journal, err = openFileAt(f.dir, "journal", unix.O_RDWR|unix.O_APPEND, filepath.Join(s.Dir, id, "journal")); err != nil {
		f.close()
		return nil, fmt.Errorf("open run %s: %w", id, err)
	}
	if err := unix.Flock(int(f.journal.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("run %s: %w", id, ErrBusy)
		}
		return nil, fmt.Errorf("lock run %s: %w", id, err)
	}
	if f.man, err = openFileAt(f.dir, "manifest", unix.O_RDWR|unix.O_APPEND, filepath.Join(s.Dir, id, "manifest")); err != nil {
		f.close()
		return nil, fmt.Errorf("open run %s: %w", id, err)
	}
	return f, nil
}

func openFileAt(dirfd int, name string, flags int, display string) (*os.File, error) {
	fd, err := openAt(dirfd, name, flags, 0o600)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), display), nil
}

// createRun makes a new run: it is built under a temporary name (data
// directory, locked journal with its begin record, manifest), made
// durable, and only then renamed to its ID, so that a run directory
// always has a journal that says where it came from.
func (s *Store) createRun(begin record) (*runFiles, error) {
	var b [4]byte
	rand.Read(b[:])
	tmp := ".new-" + hex.EncodeToString(b[:])
	if err := unix.Mkdirat(s.fd, tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create run in %s: %w", s.Dir, err)
	}
	f := &runFiles{dir: -1, data: -1}
	fail := func(err error) (*runFiles, error) {
		f.close()
		removeAll(s.fd, tmp)
		return nil, fmt.Errorf("create run in %s: %w", s.Dir, err)
	}
	var err error
	if f.dir, err = openDirAt(s.fd, tmp); err != nil {
		return fail(err)
	}
	if err := unix.Mkdirat(f.dir, "data", 0o700); err != nil {
		return fail(err)
	}
	if f.data, err = openDirAt(f.dir, "data"); err != nil {
		return fail(err)
	}
	if f.journal, err = openFileAt(f.dir, "journal", unix.O_RDWR|unix.O_APPEND|unix.O_CREAT|unix.O_EXCL, "journal"); err != nil {
		return fail(err)
	}
	if err := unix.Flock(int(f.journal.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fail(err)
	}
	if f.man, err = openFileAt(f.dir, "manifest", unix.O_RDWR|unix.O_APPEND|unix.O_CREAT|unix.O_EXCL, "manifest"); err != nil {
		return fail(err)
	}
	begin.T, begin.Time = recBegin, s.Now().UTC()
	if err := appendSync(f.journal, begin); err != nil {
		return fail(err)
	}
	if err := f.man.Sync(); err != nil {
		return fail(err)
	}
	if err := fsyncFd(f.dir); err != nil {
		return fail(err)
	}
	for i := 0; ; i++ {
		f.id = s.newID()
		err := unix.Renameat2(s.fd, tmp, s.fd, f.id, unix.RENAME_NOREPLACE)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EEXIST) || i > 100 {
			return fail(err)
		}
	}
	if err := fsyncFd(s.fd); err != nil {
		f.close()
		return nil, fmt.Errorf("create run %s: %w", f.id, err)
	}
	return f, nil
}
