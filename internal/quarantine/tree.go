package quarantine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Object is one file-system object of a quarantined entry: the entry
// itself (Rel "") or something below it.
type Object struct {
	// Path is the original path as the target system sees it, exact bytes.
	Path string
	// Rel is the path below the entry, "" for the entry itself.
	Rel  string
	Type Type
	// Size is the apparent size (a symlink's is its target's length).
	Size int64
	// SHA256 of a regular file's contents, hex.
	SHA256 string
	// Mode holds the permission bits, setuid, setgid and sticky included.
	Mode     uint32
	UID, GID uint32
	MTime    time.Time
	// Link is a symlink's target, exact bytes.
	Link string
	// HardlinkOf is the Rel of the first object of the entry that shares
	// this one's inode.
	HardlinkOf string
	// Xattrs are the extended attributes, ACLs included.
	Xattrs map[string][]byte
	// Ino is the inode number at the original place.
	Ino uint64

	atime unix.Timespec
}

func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

func joinPath(entry, rel string) string {
	if rel == "" {
		return entry
	}
	return entry + "/" + rel
}

func tsTime(ts unix.Timespec) time.Time { return time.Unix(ts.Sec, ts.Nsec).UTC() }

func objectOf(entryPath, rel string, st stat) Object {
	return Object{
		Path:  joinPath(entryPath, rel),
		Rel:   rel,
		Type:  st.typ,
		Size:  st.size,
		Mode:  st.perm(),
		UID:   st.uid,
		GID:   st.gid,
		MTime: tsTime(st.mtime),
		Ino:   st.ino,
		atime: st.atime,
	}
}

var errMoved = errors.New("changed while being read")

// visitFunc sees one object of a tree: its directory handle, name, path
// below the top of the walk, and its stat; fd is the object opened for
// reading when it is a directory or a regular file (else -1).
type visitFunc func(dirfd int, name, rel string, st stat, fd int) error

// walkTree visits the object name in dirfd and everything below it,
// parents first, names sorted, by handle and without following symlinks.
func walkTree(dirfd int, name, rel string, fn visitFunc) error {
	st, err := statAt(dirfd, name)
	if err != nil {
		return pathErr(rel, err)
	}
	return walkFrom(dirfd, name, rel, st, fn)
}

func walkFrom(dirfd int, name, rel string, st stat, fn visitFunc) error {
	fd := -1
	switch st.typ {
	case TypeDir:
		var err error
		if fd, err = openDirAt(dirfd, name); err != nil {
			return pathErr(rel, err)
		}
	case TypeFile:
		var err error
		if fd, err = openReadAt(dirfd, name); err != nil {
			return pathErr(rel, err)
		}
	}
	defer closeFd(fd)
	if fd >= 0 {
		got, err := fstat(fd)
		if err != nil {
			return pathErr(rel, err)
		}
		if got.dev != st.dev || got.ino != st.ino || got.typ != st.typ {
			return pathErr(rel, errMoved)
		}
	}
	if err := fn(dirfd, name, rel, st, fd); err != nil {
		return err
	}
	if st.typ != TypeDir {
		return nil
	}
	names, err := readNames(fd)
	if err != nil {
		return pathErr(rel, err)
	}
	sort.Strings(names)
	for _, n := range names {
		cst, err := statAt(fd, n)
		if err != nil {
			return pathErr(joinRel(rel, n), err)
		}
		if err := walkFrom(fd, n, joinRel(rel, n), cst, fn); err != nil {
			return err
		}
	}
	return nil
}

// treeError names the object below an entry that an error is about.
type treeError struct {
	Rel string
	Err error
}

func (e *treeError) Error() string {
	if e.Rel == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", quoteRel(e.Rel), e.Err)
}

func (e *treeError) Unwrap() error { return e.Err }

func pathErr(rel string, err error) error {
	var te *treeError
	if errors.As(err, &te) {
		return err
	}
	return &treeError{Rel: rel, Err: err}
}

func quoteRel(rel string) string { return fmt.Sprintf("%q", rel) }

// hashFd reads a whole file from its start.
func hashFd(fd int) (string, int64, error) {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	buf := make([]byte, 128*1024)
	var total int64
	for {
		var n int
		err := retry(func() error {
			var err error
			n, err = unix.Read(fd, buf)
			return err
		})
		if err != nil {
			return "", total, err
		}
		if n == 0 {
			return hex.EncodeToString(h.Sum(nil)), total, nil
		}
		h.Write(buf[:n])
		total += int64(n)
	}
}

// describeTree walks an entry and returns its objects with the hashes of
// regular files and all metadata.
func describeTree(dirfd int, name, entryPath string) ([]Object, error) {
	var objs []Object
	first := map[[2]uint64]string{}
	err := walkTree(dirfd, name, "", func(dirfd int, name, rel string, st stat, fd int) error {
		o := objectOf(entryPath, rel, st)
		if err := describe(&o, dirfd, name, st, fd, first); err != nil {
			return pathErr(rel, err)
		}
		objs = append(objs, o)
		return nil
	})
	return objs, err
}

func describe(o *Object, dirfd int, name string, st stat, fd int, first map[[2]uint64]string) error {
	var err error
	if o.Xattrs, err = xattrs(fd, dirfd, name); err != nil {
		return err
	}
	switch st.typ {
	case TypeFile:
		var n int64
		if o.SHA256, n, err = hashFd(fd); err != nil {
			return err
		}
		if n != st.size {
			return errMoved
		}
	case TypeSymlink:
		if o.Link, err = readlinkAt(dirfd, name); err != nil {
			return err
		}
	}
	if st.typ != TypeDir && st.nlink > 1 {
		key := [2]uint64{st.dev, st.ino}
		if r, ok := first[key]; ok {
			o.HardlinkOf = r
		} else {
			first[key] = o.Rel
		}
	}
	return nil
}

func readlinkAt(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// copier copies one entry, keeping its tree, contents and metadata.
type copier struct {
	entryPath string
	// top is the handle of the copy's top directory, for hard links.
	top   int
	links map[[2]uint64]string
	objs  []Object
	// fault, when set, is called before each object is created (tests).
	fault func()
}

func (c *copier) copy(srcDir int, srcName string, dstDir int, dstName, rel string, st stat) error {
	o := objectOf(c.entryPath, rel, st)
	if st.typ != TypeDir && st.nlink > 1 {
		key := [2]uint64{st.dev, st.ino}
		if first, ok := c.links[key]; ok {
			prev := c.objs[slices.IndexFunc(c.objs, func(p Object) bool { return p.Rel == first })]
			o.HardlinkOf, o.SHA256, o.Link, o.Xattrs = first, prev.SHA256, prev.Link, prev.Xattrs
			if err := unix.Linkat(c.top, first, dstDir, dstName, 0); err != nil {
				return pathErr(rel, fmt.Errorf("hard link: %w", err))
			}
			c.objs = append(c.objs, o)
			return nil
		}
		c.links[key] = rel
	}
	var err error
	switch st.typ {
	case TypeFile:
		err = c.copyFile(srcDir, srcName, dstDir, dstName, st, &o)
	case TypeDir:
		err = c.copyDir(srcDir, srcName, dstDir, dstName, rel, st, &o)
	case TypeSymlink:
		err = c.copySpecial(srcDir, srcName, dstDir, dstName, st, &o)
	case TypeFIFO:
		err = c.copySpecial(srcDir, srcName, dstDir, dstName, st, &o)
	default:
		err = fmt.Errorf("cannot keep a %s", st.typ)
	}
	if err != nil {
		return pathErr(rel, err)
	}
	if st.typ != TypeDir {
		c.objs = append(c.objs, o)
	}
	return nil
}

func (c *copier) copyFile(srcDir int, srcName string, dstDir int, dstName string, st stat, o *Object) error {
	src, err := openReadAt(srcDir, srcName)
	if err != nil {
		return err
	}
	defer closeFd(src)
	if got, err := fstat(src); err != nil {
		return err
	} else if got.ino != st.ino || got.dev != st.dev || got.typ != TypeFile {
		return errMoved
	}
	if o.Xattrs, err = xattrs(src, -1, ""); err != nil {
		return err
	}
	dst, err := openAt(dstDir, dstName, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer closeFd(dst)
	h := sha256.New()
	buf := make([]byte, 128*1024)
	var total int64
	for {
		var n int
		if err := retry(func() error { var e error; n, e = unix.Read(src, buf); return e }); err != nil {
			return err
		}
		if n == 0 {
			break
		}
		h.Write(buf[:n])
		for w := buf[:n]; len(w) > 0; {
			var m int
			if err := retry(func() error { var e error; m, e = unix.Write(dst, w); return e }); err != nil {
				return err
			}
			w = w[m:]
		}
		total += int64(n)
	}
	after, err := fstat(src)
	if err != nil {
		return err
	}
	if total != st.size || after.size != st.size || after.mtime != st.mtime {
		return errMoved
	}
	o.SHA256 = hex.EncodeToString(h.Sum(nil))
	if err := c.meta(dst, dstDir, dstName, st, o.Xattrs); err != nil {
		return err
	}
	return fsyncFd(dst)
}

func (c *copier) copyDir(srcDir int, srcName string, dstDir int, dstName, rel string, st stat, o *Object) error {
	src, err := openDirAt(srcDir, srcName)
	if err != nil {
		return err
	}
	defer closeFd(src)
	if got, err := fstat(src); err != nil {
		return err
	} else if got.ino != st.ino || got.dev != st.dev || got.typ != TypeDir {
		return errMoved
	}
	if o.Xattrs, err = xattrs(src, -1, ""); err != nil {
		return err
	}
	if c.fault != nil {
		c.fault()
	}
	if err := unix.Mkdirat(dstDir, dstName, 0o700); err != nil {
		return err
	}
	dst, err := openDirAt(dstDir, dstName)
	if err != nil {
		return err
	}
	defer closeFd(dst)
	if rel == "" {
		if c.top, err = unix.Dup(dst); err != nil {
			return err
		}
		unix.CloseOnExec(c.top)
	}
	c.objs = append(c.objs, *o)
	idx := len(c.objs) - 1
	names, err := readNames(src)
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		cst, err := statAt(src, n)
		if err != nil {
			return pathErr(joinRel(rel, n), err)
		}
		if cst.dev != st.dev {
			return pathErr(joinRel(rel, n), errMountBelow)
		}
		if err := c.copy(src, n, dst, n, joinRel(rel, n), cst); err != nil {
			return err
		}
	}
	if err := c.meta(dst, dstDir, dstName, st, c.objs[idx].Xattrs); err != nil {
		return err
	}
	return fsyncFd(dst)
}

func (c *copier) copySpecial(srcDir int, srcName string, dstDir int, dstName string, st stat, o *Object) error {
	var err error
	if o.Xattrs, err = xattrs(-1, srcDir, srcName); err != nil {
		return err
	}
	if c.fault != nil {
		c.fault()
	}
	if st.typ == TypeSymlink {
		if o.Link, err = readlinkAt(srcDir, srcName); err != nil {
			return err
		}
		if err := unix.Symlinkat(o.Link, dstDir, dstName); err != nil {
			return err
		}
	} else if err := unix.Mkfifoat(dstDir, dstName, 0o600); err != nil {
		return err
	}
	if again, err := statAt(srcDir, srcName); err != nil {
		return err
	} else if again.ino != st.ino || again.dev != st.dev || again.typ != st.typ {
		return errMoved
	}
	return c.meta(-1, dstDir, dstName, st, o.Xattrs)
}

// meta gives the copy the source's owner, mode, extended attributes and
// timestamps, in that order: chown clears setuid bits, an ACL is set after
// the mode it refines, and nothing after the timestamps changes them.
func (c *copier) meta(fd, dirfd int, name string, st stat, attrs map[string][]byte) error {
	var err error
	if fd >= 0 {
		err = unix.Fchown(fd, int(st.uid), int(st.gid))
	} else {
		err = unix.Fchownat(dirfd, name, int(st.uid), int(st.gid), unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("set owner %d:%d: %w", st.uid, st.gid, err)
	}
	if st.typ != TypeSymlink {
		if fd >= 0 {
			err = unix.Fchmod(fd, st.perm())
		} else {
			err = unix.Fchmodat(dirfd, name, st.perm(), 0)
		}
		if err != nil {
			return fmt.Errorf("set mode %o: %w", st.perm(), err)
		}
	}
	// A default ACL of the destination's parent may have given the new
	// object attributes the source does not have.
	have, err := xattrs(fd, dirfd, name)
	if err != nil {
		return err
	}
	for attr := range have {
		if _, ok := attrs[attr]; ok {
			continue
		}
		if fd >= 0 {
			err = unix.Fremovexattr(fd, attr)
		} else {
			err = unix.Lremovexattr(procPath(dirfd, name), attr)
		}
		if err != nil {
			return fmt.Errorf("remove extended attribute %s: %w", attr, err)
		}
	}
	if err := setXattrs(fd, dirfd, name, attrs); err != nil {
		return err
	}
	ts := []unix.Timespec{st.atime, st.mtime}
	if err := unix.UtimesNanoAt(dirfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// verifyTree checks that the tree at name in dirfd holds exactly objs:
// the same paths, types, contents, metadata and hard links.
func verifyTree(dirfd int, name string, objs []Object) error {
	want := map[string]*Object{}
	for i := range objs {
		want[objs[i].Rel] = &objs[i]
	}
	inos := map[string]uint64{}
	seen := 0
	err := walkTree(dirfd, name, "", func(dirfd int, name, rel string, st stat, fd int) error {
		w, ok := want[rel]
		if !ok {
			return pathErr(rel, errors.New("not in the manifest"))
		}
		seen++
		got := objectOf("", rel, st)
		if err := describe(&got, dirfd, name, st, fd, map[[2]uint64]string{}); err != nil {
			return pathErr(rel, err)
		}
		inos[rel] = st.ino
		if d := diffObject(w, &got); d != "" {
			return pathErr(rel, fmt.Errorf("differs from the manifest: %s", d))
		}
		if w.HardlinkOf != "" && inos[w.HardlinkOf] != st.ino {
			return pathErr(rel, fmt.Errorf("is no longer a hard link of %s", quoteRel(w.HardlinkOf)))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(objs) {
		return fmt.Errorf("%d of the manifest's %d objects are missing", len(objs)-seen, len(objs))
	}
	return nil
}

// diffObject names the first difference between the recorded and the
// found object ("" when they agree).
func diffObject(w, g *Object) string {
	switch {
	case w.Type != g.Type:
		return fmt.Sprintf("type %s, found %s", w.Type, g.Type)
	case w.Type != TypeDir && w.Size != g.Size:
		return fmt.Sprintf("size %d, found %d", w.Size, g.Size)
	case w.SHA256 != g.SHA256:
		return "contents (sha256)"
	case w.Link != g.Link:
		return "symlink target"
	case w.Type != TypeSymlink && w.Mode != g.Mode:
		return fmt.Sprintf("mode %04o, found %04o", w.Mode, g.Mode)
	case w.UID != g.UID || w.GID != g.GID:
		return fmt.Sprintf("owner %d:%d, found %d:%d", w.UID, w.GID, g.UID, g.GID)
	case !w.MTime.Equal(g.MTime):
		return fmt.Sprintf("mtime %s, found %s", w.MTime.Format(time.RFC3339Nano), g.MTime.Format(time.RFC3339Nano))
	case !maps.EqualFunc(w.Xattrs, g.Xattrs, bytes.Equal):
		return "extended attributes"
	}
	return ""
}

// removeTree removes name in dirfd and everything below it, by handle,
// children first, but only objects for which mine says yes: anything else
// found below is left, and its directories with it, and reported.
func removeTree(dirfd int, name string, mine func(stat) bool) error {
	st, err := statAt(dirfd, name)
	if err != nil {
		return err
	}
	if !mine(st) {
		return fmt.Errorf("%w: not the object that was copied", ErrChanged)
	}
	if st.typ == TypeDir {
		fd, err := openDirAt(dirfd, name)
		if err != nil {
			return err
		}
		if got, err := fstat(fd); err != nil || got.ino != st.ino || got.dev != st.dev {
			closeFd(fd)
			return fmt.Errorf("%w: replaced while being removed", ErrChanged)
		}
		names, err := readNames(fd)
		if err != nil {
			closeFd(fd)
			return err
		}
		var errs []error
		for _, n := range names {
			if err := removeTree(fd, n, mine); err != nil {
				errs = append(errs, pathErr(n, err))
			}
		}
		closeFd(fd)
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		return retry(func() error { return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR) })
	}
	return retry(func() error { return unix.Unlinkat(dirfd, name, 0) })
}

// removeAll removes name in dirfd and everything below it: a tree of the
// store's own (a run, a partial copy). Directories without write
// permission for their owner are made writable first.
func removeAll(dirfd int, name string) error {
	st, err := statAt(dirfd, name)
	if err != nil {
		return err
	}
	if st.typ == TypeDir {
		fd, err := openDirAt(dirfd, name)
		if err != nil {
			return err
		}
		if st.perm()&0o700 != 0o700 {
			unix.Fchmod(fd, 0o700)
		}
		names, err := readNames(fd)
		if err != nil {
			closeFd(fd)
			return err
		}
		for _, n := range names {
			if err := removeAll(fd, n); err != nil {
				closeFd(fd)
				return pathErr(n, err)
			}
		}
		closeFd(fd)
		return retry(func() error { return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR) })
	}
	return retry(func() error { return unix.Unlinkat(dirfd, name, 0) })
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
