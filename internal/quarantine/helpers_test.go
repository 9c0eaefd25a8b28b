package quarantine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// snap is what a test records about one object, independently of the
// package's own code: everything restore must bring back.
type snap struct {
	Mode     uint32
	UID, GID uint32
	Size     int64
	MTime    int64
	SHA      string
	Link     string
	Xattrs   string
	LinkedTo string // first path of the same entry with the same inode
}

// snapshot records the trees at paths (system paths below root).
func snapshot(t testing.TB, root string, paths []string) map[string]snap {
	t.Helper()
	out := map[string]snap{}
	for _, p := range paths {
		first := map[uint64]string{}
		err := filepath.WalkDir(root+p, func(full string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			sys := strings.TrimPrefix(full, root)
			var st unix.Stat_t
			if err := unix.Lstat(full, &st); err != nil {
				return err
			}
			s := snap{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size, MTime: st.Mtim.Nano()}
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFREG:
				b, err := os.ReadFile(full)
				if err != nil {
					return err
				}
				h := sha256.Sum256(b)
				s.SHA = hex.EncodeToString(h[:])
			case unix.S_IFLNK:
				l, err := os.Readlink(full)
				if err != nil {
					return err
				}
				s.Link = l
			}
			s.Xattrs = listXattrs(t, full)
			if st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Nlink > 1 {
				if f, ok := first[st.Ino]; ok {
					s.LinkedTo = f
				} else {
					first[st.Ino] = sys
				}
			}
			out[sys] = s
			return nil
		})
		if err != nil {
			t.Fatalf("snapshot %q: %v", p, err)
		}
	}
	return out
}

func listXattrs(t testing.TB, p string) string {
	buf := make([]byte, 64*1024)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatalf("llistxattr %q: %v", p, err)
	}
	var parts []string
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		val := make([]byte, 64*1024)
		m, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			t.Fatalf("lgetxattr %q %s: %v", p, name, err)
		}
		parts = append(parts, name+"="+hex.EncodeToString(val[:m]))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func diffSnaps(a, b map[string]snap) []string {
	var out []string
	for p, x := range a {
		y, ok := b[p]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%q missing", p))
		case x != y:
			out = append(out, fmt.Sprintf("%q: was %+v, is %+v", p, x, y))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, fmt.Sprintf("%q appeared", p))
		}
	}
	sort.Strings(out)
	return out
}

// posixACL encodes an access ACL (the system.posix_acl_access value):
// owner rw, user uid r, group r, mask r, other r.
func posixACL(uid uint32) []byte {
	const undefined = 0xffffffff
	ents := []struct {
		tag, perm uint16
		id        uint32
	}{{0x01, 6, undefined}, {0x02, 4, uid}, {0x04, 4, undefined}, {0x10, 4, undefined}, {0x20, 4, undefined}}
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range ents {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}

// makeEntries creates unowned entries of every kind in root+base (which
// must exist) and returns their system paths. k varies contents and names.
func makeEntries(t testing.TB, root, base string, k int) []string {
	t.Helper()
	dir := root + base
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, content string, mode os.FileMode) {
		t.Helper()
		must(os.WriteFile(p, []byte(content), mode))
		must(os.Chmod(p, mode))
	}
	isRoot := os.Geteuid() == 0
	var paths []string
	add := func(name string) string {
		paths = append(paths, base+"/"+name)
		return dir + "/" + name
	}
	// A plain file with a user xattr.
	p := add(fmt.Sprintf("file-%d.txt", k))
	write(p, strings.Repeat("contents ", k+1), 0o640)
	must(unix.Setxattr(p, "user.note", []byte("kept"), 0))
	// A file with an ACL.
	p = add(fmt.Sprintf("acl-%d", k))
	write(p, "acl", 0o644)
	must(unix.Setxattr(p, "system.posix_acl_access", posixACL(65534), 0))
	// Odd names.
	write(add(fmt.Sprintf("new\nline-%d", k)), "newline", 0o600)
	write(add(fmt.Sprintf("bad\xff\xfe-%d", k)), "invalid utf-8", 0o644)
	write(add(fmt.Sprintf("esc\x1b[31m-%d", k)), "escape", 0o644)
	// A symlink to an owned-looking file outside, and a FIFO.
	must(os.Symlink("/etc/passwd", add(fmt.Sprintf("sym-%d", k))))
	must(unix.Mkfifo(add(fmt.Sprintf("fifo-%d", k)), 0o620))
	// A directory tree with everything inside.
	d := add(fmt.Sprintf("tree-%d", k))
	must(os.MkdirAll(d+"/a/b", 0o755))
	must(os.Mkdir(d+"/empty", 0o700))
	write(d+"/a/b/c.txt", "deep", 0o644)
	write(d+"/a/suid", "#!/bin/sh\n", 0o4755)
	must(os.Symlink("b/c.txt", d+"/a/rel-link"))
	must(os.Symlink("/nonexistent", d+"/dangling"))
	must(unix.Mkfifo(d+"/a/pipe", 0o600))
	write(d+"/h1", "hard linked", 0o644)
	must(os.Link(d+"/h1", d+"/h2"))
	must(os.Link(d+"/h1", d+"/a/h3"))
	write(d+"/new\nline\xff", "odd", 0o644)
	must(unix.Setxattr(d+"/a", "user.dir", []byte{0, 1, 2}, 0))
	if isRoot {
		must(os.Lchown(d+"/a/b/c.txt", 1234, 5678))
		must(os.Lchown(d+"/a/rel-link", 4321, 8765))
		must(os.Chown(d+"/a/b", 2000, 2000))
		must(os.Chmod(d+"/a/suid", 0o4755)) // chown cleared it? no: chown was on others
	}
	must(os.Chmod(d+"/a", 0o750))
	// Times last, children first.
	for i, q := range []string{d + "/a/b/c.txt", d + "/a/b", d + "/a", d + "/empty", d} {
		ts := []unix.Timespec{{Sec: 1600000000 + int64(i), Nsec: 123}, {Sec: 1500000000 + int64(i*7+k), Nsec: 456789}}
		must(unix.UtimesNanoAt(unix.AT_FDCWD, q, ts, unix.AT_SYMLINK_NOFOLLOW))
	}
	must(unix.UtimesNanoAt(unix.AT_FDCWD, d+"/a/rel-link", []unix.Timespec{{Sec: 1400000000}, {Sec: 1400000001, Nsec: 5}}, unix.AT_SYMLINK_NOFOLLOW))
	return paths
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory and unmounts
// it when the test ends. Root only.
func mountTmpfs(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	mountAt(t, dir, size)
	return dir
}

// mountAt mounts a tmpfs at dir (which must exist) until the test ends.
func mountAt(t testing.TB, dir string, size int64) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

func stats(t testing.TB, root string, paths []string) []Entry {
	t.Helper()
	var out []Entry
	for _, p := range paths {
		e, err := Stat(root, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
