package quarantine

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/fsafe"
)

// Reasons an entry is skipped; a *SkipError wraps one of them.
var (
	// ErrChanged: the entry is not the object the scan saw (type, device,
	// inode or size differ, a symlink appeared in its path, or it changed
	// while it was being copied).
	ErrChanged = errors.New("changed since the scan")
	// ErrGone: the entry no longer exists.
	ErrGone = errors.New("no longer exists")
	// ErrOwned: an installed package owns the entry or something below it.
	ErrOwned = errors.New("owned by an installed package")
	// ErrAllowlisted: the allowlist covers the entry or something below it.
	ErrAllowlisted = errors.New("kept by the allowlist")
	// ErrMountPoint: the entry is a mount point or has one below it.
	ErrMountPoint = errors.New("is or holds a mount point")
	// ErrProtected: the root, a top-level directory, a path outside the
	// root, or the quarantine store itself.
	ErrProtected = errors.New("protected path")
	// ErrUnsupported: a socket or device node, which the quarantine
	// cannot keep.
	ErrUnsupported = errors.New("unsupported file type")
)

var errMountBelow = fmt.Errorf("%w (another file system below)", ErrMountPoint)

// SkipError says why an entry was left in place. Nothing was changed.
type SkipError struct {
	Path   string
	Err    error // one of the Err* reasons above
	Detail string
}

func (e *SkipError) Error() string {
	if e.Detail == "" {
		return "skipped: " + e.Err.Error()
	}
	return fmt.Sprintf("skipped: %v: %s", e.Err, e.Detail)
}

func (e *SkipError) Unwrap() error { return e.Err }

func skip(p string, reason error, format string, args ...any) *SkipError {
	return &SkipError{Path: p, Err: reason, Detail: fmt.Sprintf(format, args...)}
}

// Entry is an unowned entry as the scan saw it.
type Entry struct {
	// Path as the target system sees it ("/opt/foo"), exact bytes.
	Path string
	Type Type
	// Dev and Ino identify the object seen at scan time.
	Dev, Ino uint64
	// Size is the size of a file or symlink; for a directory the sum of
	// the apparent sizes of the non-directories below it (the scan's
	// Size).
	Size int64
}

// topLevel are names under the root that are never quarantined, whatever
// they are.
var topLevel = map[string]bool{
	"bin": true, "boot": true, "dev": true, "efi": true, "etc": true, "home": true,
	"lib": true, "lib32": true, "lib64": true, "lost+found": true, "media": true,
	"mnt": true, "opt": true, "proc": true, "root": true, "run": true, "sbin": true,
	"srv": true, "sys": true, "tmp": true, "usr": true, "var": true,
}

// relOf checks a system path and returns it relative to the root.
func relOf(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", skip(p, ErrProtected, "not an absolute path")
	}
	if strings.ContainsRune(p, 0) {
		return "", skip(p, ErrProtected, "NUL in the path")
	}
	rel := strings.Trim(p, "/")
	for _, c := range strings.Split(rel, "/") {
		if c == ".." || c == "." || (c == "" && rel != "") {
			return "", skip(p, ErrProtected, "not a clean path inside the root")
		}
	}
	if rel == "" {
		return "", skip(p, ErrProtected, "the root itself")
	}
	if !strings.Contains(rel, "/") && topLevel[rel] {
		return "", skip(p, ErrProtected, "a top-level directory")
	}
	return rel, nil
}

// Stat reads what Quarantine later compares: the entry's type, device,
// inode and size (for a directory, the sizes below it summed), reached by
// handle from root. Callers use it when they plan.
func Stat(root, p string) (Entry, error) {
	rel, err := relOf(p)
	if err != nil {
		return Entry{}, err
	}
	// The root is configuration: a symlink to it is followed (as Begin
	// does), nothing below it is.
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return Entry{}, fmt.Errorf("root: %w", err)
	}
	rootfd, err := openAt(unix.AT_FDCWD, real, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return Entry{}, fmt.Errorf("open root %s: %w", root, err)
	}
	defer closeFd(rootfd)
	dir, name := splitRel(rel)
	pfd, err := openDirPath(rootfd, dir)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", p, err)
	}
	defer closeFd(pfd)
	st, err := statAt(pfd, name)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", p, err)
	}
	e := Entry{Path: p, Type: st.typ, Dev: st.dev, Ino: st.ino, Size: st.size}
	if st.typ == TypeDir {
		e.Size = 0
		err := walkFrom(pfd, name, "", st, func(_ int, _, _ string, st stat, _ int) error {
			if st.typ != TypeDir {
				e.Size += st.size
			}
			return nil
		})
		if err != nil {
			return Entry{}, fmt.Errorf("%s: %w", p, err)
		}
	}
	return e, nil
}

// mountPoints lists the mount points of this mount namespace.
func mountPoints(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, fsafe.UnescapeMount(fields[4]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return out, nil
}

// mountAtOrBelow reports a mount point at real (a path of the running
// system) or below it.
func mountAtOrBelow(mounts []string, real string) (string, bool) {
	real = path.Clean(real)
	for _, m := range mounts {
		if m == real || strings.HasPrefix(m, real+"/") {
			return m, true
		}
	}
	return "", false
}
