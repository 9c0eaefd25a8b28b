package allowlist

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrDuplicate is returned by Add when the file already has the entry.
var ErrDuplicate = errors.New("already in the allowlist")

// ErrNotFound is returned by Remove when the file lacks the entry.
var ErrNotFound = errors.New("not in the allowlist")

// DuplicateError says where the existing entry is.
type DuplicateError struct{ Existing Entry }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%q is already in the allowlist at %s", e.Existing.String(), e.Existing.Source())
}

func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// Add appends e to the allowlist file (created with its directory when
// missing). Comments, blank lines and the order of the other lines are
// kept. Adding an entry the file already has is refused with a
// *DuplicateError.
func Add(file string, e Entry) error {
	return edit(file, func(lines [][]byte, entries []Entry) ([][]byte, error) {
		for _, x := range entries {
			if x.same(e) {
				return nil, &DuplicateError{Existing: x}
			}
		}
		return append(lines, []byte(e.String())), nil
	})
}

// Remove deletes every line of the file that holds e; ErrNotFound when
// there is none.
func Remove(file string, e Entry) error {
	return edit(file, func(lines [][]byte, entries []Entry) ([][]byte, error) {
		drop := map[int]bool{}
		for _, x := range entries {
			if x.same(e) {
				drop[x.Line] = true
			}
		}
		if len(drop) == 0 {
			return nil, fmt.Errorf("%s: %q: %w", file, e.String(), ErrNotFound)
		}
		var out [][]byte
		for i, l := range lines {
			if !drop[i+1] {
				out = append(out, l)
			}
		}
		return out, nil
	})
}

// edit runs change on the file's lines under an exclusive lock and
// replaces the file atomically (temporary file, fsync, rename). The lock
// is a flock(2) on the directory, because the rename replaces the file's
// inode and a lock on the old one would protect nothing.
func edit(file string, change func(lines [][]byte, entries []Entry) ([][]byte, error)) error {
	// The rename would replace a symlink (a list kept with one's dotfiles)
	// by a regular file and leave the real list unchanged: edit the target.
	if fi, err := os.Lstat(file); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(file)
		if err != nil {
			return fmt.Errorf("allowlist: %s is a symlink that cannot be followed: %w", file, err)
		}
		file = real
	}
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("allowlist: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("allowlist: %w", err)
	}
	defer d.Close()
	if err := flock(d); err != nil {
		return fmt.Errorf("allowlist: lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(d.Fd()), syscall.LOCK_UN)

	mode := os.FileMode(0o644)
	data, err := os.ReadFile(file)
	switch {
	case err == nil:
		if fi, err := os.Stat(file); err == nil {
			mode = fi.Mode().Perm()
		}
	case os.IsNotExist(err):
	default:
		return fmt.Errorf("allowlist: %w", err)
	}
	entries, err := Parse(file, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("allowlist: refusing to edit a file with a bad line: %w", err)
	}
	var lines [][]byte
	if len(data) > 0 {
		lines = bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	}
	lines, err = change(lines, entries)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	for _, l := range lines {
		out.Write(l)
		out.WriteByte('\n')
	}
	if err := replaceFile(file, out.Bytes(), mode); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("allowlist: cannot write %s: permission denied (run as root, or choose another file with --file)", file)
		}
		return err
	}
	return nil
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func replaceFile(file string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return fmt.Errorf("allowlist: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("allowlist: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("allowlist: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("allowlist: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("allowlist: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("allowlist: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
