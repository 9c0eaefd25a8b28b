package scan

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Seen is what an unowned walk saw of the owned paths: the directories it
// listed in full, and the owned names each of them lacked. The walk reads
// every owned directory anyway, so the missing-files check learns from it
// whether most owned paths exist instead of asking the kernel once per
// path; paths in directories the walk did not list (excluded, below a
// symlink, on a skipped mount, unreadable) are still checked with lstat.
type Seen struct {
	mu sync.Mutex
	// listed holds the directories (relative to the root, no '/' at
	// either end) read to the end without an error, through no symlink.
	listed map[string]struct{}
	// absent maps the owned paths missing from a listed directory to
	// what fstatat said of them then (ENOENT, or another error).
	absent map[string]error

	euid, egid int
	groups     []int
}

func newSeen() *Seen {
	s := &Seen{listed: make(map[string]struct{}, 4096), absent: map[string]error{}, euid: os.Geteuid(), egid: os.Getegid()}
	s.groups, _ = os.Getgroups()
	return s
}

// searchable tells, from its mode, owner and group, whether this process
// may search the directory st: lstat of a path below a directory it may
// list but not search fails with EACCES, and so the walk's listing does
// not stand for lstat there. (An ACL may say otherwise; the mode bits are
// the common case, and a directory judged unsearchable only costs its
// paths an lstat each.)
func (s *Seen) searchable(st *syscall.Stat_t) bool {
	switch {
	case s.euid == 0:
		return true
	case int(st.Uid) == s.euid:
		return st.Mode&0o100 != 0
	case int(st.Gid) == s.egid || slices.Contains(s.groups, int(st.Gid)):
		return st.Mode&0o010 != 0
	}
	return st.Mode&0o001 != 0
}

// recordSeen notes that the directory rel, open as fd, was listed in full
// and that ownedSeen of its owned names were in the listing. When fewer
// than all were, the directory is read again to learn which are absent,
// and each is confirmed with fstatat (it may have been created since).
func (wk *walkWorker) recordSeen(rel string, fd int, owned *ownedDir, ownedSeen int) {
	s := wk.w.seen
	var absent map[string]error
	if ownedSeen < owned.len() {
		names, ok := wk.relist(fd)
		if !ok {
			return // not listed: its owned paths get an lstat each
		}
		absent = map[string]error{}
		owned.each(func(name string) {
			if _, ok := names[name]; ok {
				return
			}
			var st unix.Stat_t
			if err := fstatatNoFollow(fd, []byte(name), &st); err != nil {
				absent[joinRel(rel, name)] = err
			}
		})
	}
	s.mu.Lock()
	s.listed[rel] = struct{}{}
	for k, v := range absent {
		s.absent[k] = v
	}
	s.mu.Unlock()
}

// relist reads the directory open as fd again from its start and returns
// its names; ok is false when it could not be read.
func (wk *walkWorker) relist(fd int) (names map[string]struct{}, ok bool) {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return nil, false
	}
	names = map[string]struct{}{}
	for {
		nr, err := getdents(fd, wk.buf)
		if err != nil {
			return nil, false
		}
		if nr <= 0 {
			return names, true
		}
		for off := 0; off < nr; {
			ino := binary.NativeEndian.Uint64(wk.buf[off:])
			reclen := int(binary.NativeEndian.Uint16(wk.buf[off+16:]))
			name := wk.buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			off += reclen
			if ino != 0 {
				names[string(name)] = struct{}{}
			}
		}
	}
}
