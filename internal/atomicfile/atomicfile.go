// Package atomicfile replaces a file so that a reader sees the old
// contents or the new, never a part: a new file of a unique name in the
// same directory, written and fsynced, renamed over the old one, then the
// directory fsynced. The state file and the Prometheus textfile (which
// node_exporter may read at any moment) are written this way.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/fsafe"
	"github.com/pactidy/pactidy/internal/ioerr"
)

// WriteFile replaces path with data, with mode perm (whatever the umask).
// The directory must exist and is not reached through a symlink as its last
// component; a symlink at path is replaced, never followed.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	dir, err := fsafe.OpenDir(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer dir.Close()
	return Write(dir, filepath.Base(path), data, perm)
}

// Write replaces name in dir with data.
func Write(dir *fsafe.Dir, name string, data []byte, perm fs.FileMode) error {
	var tmp string
	var fd int
	for i := 0; ; i++ {
		// A leading dot: node_exporter reads only *.prom, and nobody takes
		// the temporary file for the real one.
		tmp = "." + name + ".tmp-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(i)
		var err error
		fd, err = openat(dir.Fd(), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == unix.EEXIST && i < 100 {
			continue
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", dir.Join(name), err)
		}
		break
	}
	f := os.NewFile(uintptr(fd), dir.Join(tmp))
	fail := func(err error) error {
		f.Close()
		unix.Unlinkat(dir.Fd(), tmp, 0)
		return fmt.Errorf("write %s: %w", dir.Join(name), err)
	}
	if err := f.Chmod(perm.Perm()); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		unix.Unlinkat(dir.Fd(), tmp, 0)
		return fmt.Errorf("write %s: %w", dir.Join(name), err)
	}
	if err := ioerr.Retry(func() error { return unix.Renameat(dir.Fd(), tmp, dir.Fd(), name) }); err != nil {
		unix.Unlinkat(dir.Fd(), tmp, 0)
		return fmt.Errorf("write %s: %w", dir.Join(name), err)
	}
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", dir.Join(name), err)
	}
	return nil
}

func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	var fd int
	err := ioerr.Retry(func() (err error) {
		fd, err = unix.Openat(dirfd, name, flags, mode)
		return err
	})
	return fd, err
}
