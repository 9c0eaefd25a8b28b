//go:build !(linux && amd64)

package cache

import (
	"io/fs"
	"os"
	"syscall"
	"time"
)

// lstatAt is lstat of name in dir (dirfd is not used on this platform).
func lstatAt(dirfd int, dir, name string) (fs.FileMode, int64, time.Time, devIno, error) {
	fi, err := os.Lstat(dir + "/" + name)
	if err != nil {
		return 0, 0, time.Time{}, devIno{}, unwrapPath(err)
	}
	var di devIno
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		di = devIno{uint64(st.Dev), uint64(st.Ino)}
	}
	return fi.Mode().Type(), fi.Size(), fi.ModTime(), di, nil
}
