//go:build !(linux && amd64)

package cache

import (
	"io/fs"
	"os"
	"time"
)

// lstatAt is lstat of name in dir (dirfd is not used on this platform).
func lstatAt(dirfd int, dir, name string) (fs.FileMode, int64, time.Time, error) {
	fi, err := os.Lstat(dir + "/" + name)
	if err != nil {
		return 0, 0, time.Time{}, unwrapPath(err)
	}
	return fi.Mode().Type(), fi.Size(), fi.ModTime(), nil
}
