package quarantine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/fsafe"
)

// Options configure a run.
type Options struct {
	// Root is the target root on the running system ("" means "/"); entry
	// paths are as the system inside it sees them.
	Root string
	// Owned reports whether an installed package owns path or anything
	// below it (scan.OwnedSet.Has has that meaning). nil checks nothing.
	Owned func(path string) bool
	// Allowlisted reports whether the allowlist keeps path. It is asked
	// for the entry and every object below it. nil keeps nothing.
	Allowlisted func(path string, isDir bool) bool
	// Delete removes entries permanently instead of keeping them. Only
	// when the user asked for exactly that.
	Delete bool
	// Progress is called after each entry with its result.
	Progress func(Result)
	// MountInfo is the mount table ("" means /proc/self/mountinfo).
	MountInfo string
}

// Method says how an entry left its place.
const (
	MethodRename = "rename" // on the store's file system
	MethodCopy   = "copy"   // copied, verified, then removed
	MethodDelete = "delete" // removed for good (Options.Delete)
)

// Result is what happened to one entry.
type Result struct {
	Entry Entry
	// N is the entry's number in the run (data/N); -1 when it was skipped.
	N      int
	Method string
	// Objects and Bytes count what was moved: every object of the tree,
	// and the sizes of the non-directories (hard links once).
	Objects int
	Bytes   int64
	// Err is nil when the entry is in the quarantine (or deleted), a
	// *SkipError when it was left untouched because it changed or is
	// protected, or another error (the entry is then in place too, unless
	// the error says otherwise).
	Err error
}

// Run is one quarantine operation; entries go into it one by one.
type Run struct {
	ID    string
	store *Store
	o     Options
	f     *runFiles
	// root is the target root, opened once.
	root     *fsafe.Dir
	rootReal string
	mounts   []string
	n        int
	ended    bool
}

// faultHook, when set (tests), is called at each step of an entry, where
// a crash is interesting.
var faultHook func(step string)

func fault(step string) {
	if faultHook != nil {
		faultHook(step)
	}
}

// Begin starts a run. Call Recover first, and Close when done.
func (s *Store) Begin(o Options) (*Run, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	real, err := filepath.EvalSymlinks(o.Root)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	mi := o.MountInfo
	if mi == "" {
		mi = "/proc/self/mountinfo"
	}
	mounts, err := mountPoints(mi)
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	root, err := fsafe.OpenDir(real)
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	f, err := s.createRun(record{Root: []byte(real), Delete: o.Delete, PID: os.Getpid()})
	if err != nil {
		root.Close()
		return nil, err
	}
	return &Run{ID: f.id, store: s, o: o, f: f, root: root, rootReal: real, mounts: mounts}, nil
}

func (r *Run) journal(rec record) error {
	rec.Time = r.store.Now().UTC()
	return appendSync(r.f.journal, rec)
}

// QuarantineAll quarantines entries in order. When ctx is done it stops
// between entries (the current one is finished, never left half-moved)
// and returns ctx.Err() with the results so far.
func (r *Run) QuarantineAll(ctx context.Context, entries []Entry) ([]Result, error) {
	var out []Result
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, r.Quarantine(e))
	}
	return out, nil
}

// Quarantine checks the entry again and moves it into the run (see the
// package documentation). It never returns with the entry half-moved
// unless the process dies, and then Recover finishes the job.
func (r *Run) Quarantine(e Entry) Result {
	res := r.quarantine(e)
	if r.o.Progress != nil {
		r.o.Progress(res)
	}
	return res
}

func (r *Run) quarantine(e Entry) Result {
	res := Result{Entry: e, N: -1}
	// The report writes a directory with a trailing '/'.
	if len(e.Path) > 1 {
		e.Path = strings.TrimRight(e.Path, "/")
	}
	if r.ended {
		res.Err = errors.New("quarantine run already closed")
		return res
	}
	rel, err := relOf(e.Path)
	if err != nil {
		res.Err = err
		return res
	}
	dir, name := splitRel(rel)
	pdir, err := openParent(r.root, dir)
	if err != nil {
		res.Err = lookupErr(e.Path, err)
		return res
	}
	defer pdir.Close()
	pfd := pdir.Fd()
	st, err := r.check(e, rel, pfd, name)
	if err != nil {
		res.Err = err
		return res
	}
	n := r.n
	r.n++
	res.N = n
	res.Method = MethodRename
	switch {
	case r.o.Delete:
		res.Method = MethodDelete
	case st.dev != r.store.st.dev:
		res.Method = MethodCopy
	}
	intent := record{T: recIntent, N: n, Op: res.Method, Path: []byte(e.Path), Type: st.typ, Dev: st.dev, Ino: st.ino}
	if err := r.journal(intent); err != nil {
		res.Err = err
		return res
	}
	fault("intent")
	var objs []Object
	switch res.Method {
	case MethodRename:
		objs, err = r.rename(pfd, name, n, e.Path, st)
		if errors.Is(err, unix.EXDEV) {
			// Same device number, another mount (a bind mount).
			res.Method, intent.Op = MethodCopy, MethodCopy
			if err = r.journal(intent); err == nil {
				objs, err = r.copy(pdir, name, n, e.Path, st)
			}
		}
	case MethodCopy:
		objs, err = r.copy(pdir, name, n, e.Path, st)
	case MethodDelete:
		objs, err = r.delete(pdir, name, n, e.Path, st)
	}
	if err != nil {
		res.Err = err
		if !errors.Is(err, errInQuarantine) {
			if jerr := r.journal(record{T: recAbort, N: n, Err: err.Error()}); jerr != nil {
				res.Err = errors.Join(err, jerr)
			}
			return res
		}
	}
	res.Objects, res.Bytes = len(objs), sumBytes(objs)
	done := record{T: recDone, N: n, Objects: res.Objects, Bytes: res.Bytes}
	if err != nil {
		done.Err = err.Error()
	}
	if jerr := r.journal(done); jerr != nil {
		res.Err = errors.Join(res.Err, jerr)
	}
	fault("done")
	return res
}

// errInQuarantine marks an error after which the entry is in the
// quarantine nevertheless (its original could not be removed entirely).
var errInQuarantine = errors.New("the entry is in the quarantine, but")

func sumBytes(objs []Object) int64 {
	var n int64
	for _, o := range objs {
		if o.Type != TypeDir && o.HardlinkOf == "" {
			n += o.Size
		}
	}
	return n
}

func lookupErr(p string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return skip(p, ErrGone, "")
	case errors.Is(err, errNotDir), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return skip(p, ErrChanged, "a directory of its path was replaced (by a symlink or a file)")
	}
	return fmt.Errorf("open the directory of %s: %w", quote(p), err)
}

var errNotDir = errors.New("not a directory")

// openParent opens the directory rel ("" for root itself) below root, one
// component at a time, never through a symlink.
func openParent(root *fsafe.Dir, rel string) (*fsafe.Dir, error) {
	d, err := fsafe.OpenDir(root.Path())
	if err != nil {
		return nil, err
	}
	if err := d.Verify(root.Stat().ID()); err != nil {
		d.Close()
		return nil, err
	}
	if rel == "" {
		return d, nil
	}
	for _, c := range strings.Split(rel, "/") {
		next, err := d.OpenDir(c)
		if err != nil {
			st, serr := statAt(d.Fd(), c)
			d.Close()
			switch {
			case serr != nil:
				return nil, serr
			case st.typ != TypeDir:
				return nil, errNotDir
			}
			return nil, err
		}
		d.Close()
		d = next
	}
	return d, nil
}

func identity(st stat) fsafe.Identity {
	t := fs.FileMode(0)
	switch st.typ {
	case TypeDir:
		t = fs.ModeDir
	case TypeSymlink:
		t = fs.ModeSymlink
	case TypeFIFO:
		t = fs.ModeNamedPipe
	}
	return fsafe.Identity{Dev: st.dev, Ino: st.ino, Type: t, Size: st.size}
}

func quote(p string) string { return strconv.Quote(p) }

// check compares the entry with what the scan saw and applies the rules.
func (r *Run) check(e Entry, rel string, pfd int, name string) (stat, error) {
	pst, err := fstat(pfd)
	if err != nil {
		return stat{}, err
	}
	st, err := statAt(pfd, name)
	if err != nil {
		return stat{}, lookupErr(e.Path, err)
	}
	switch {
	// (the unowned scan calls a FIFO "other")
	case st.typ != e.Type && !(e.Type == TypeOther && st.typ == TypeFIFO):
		return stat{}, skip(e.Path, ErrChanged, "was a %s, is a %s", e.Type, st.typ)
	case st.dev != e.Dev || st.ino != e.Ino:
		return stat{}, skip(e.Path, ErrChanged, "another file now has its name (device and inode differ)")
	case st.typ != TypeDir && st.size != e.Size:
		return stat{}, skip(e.Path, ErrChanged, "size was %d, is %d", e.Size, st.size)
	case st.typ == TypeOther:
		return stat{}, skip(e.Path, ErrUnsupported, "a socket or device node")
	case st.dev != pst.dev || st.mnt != pst.mnt:
		return stat{}, skip(e.Path, ErrMountPoint, "")
	}
	real := r.rootReal + "/" + rel
	if r.rootReal == "/" {
		real = "/" + rel
	}
	if m, ok := mountAtOrBelow(r.mounts, real); ok {
		return stat{}, skip(e.Path, ErrMountPoint, "mount point %s", quote(m))
	}
	if within(real, r.store.Dir) || within(r.store.Dir, real) {
		return stat{}, skip(e.Path, ErrProtected, "the quarantine store")
	}
	if r.o.Owned != nil && r.o.Owned(e.Path) {
		return stat{}, skip(e.Path, ErrOwned, "")
	}
	var size int64
	err = walkFrom(pfd, name, "", st, func(_ int, _, orel string, ost stat, _ int) error {
		p := joinPath(e.Path, orel)
		switch {
		case ost.typ == TypeOther:
			return skip(p, ErrUnsupported, "a socket or device node below the entry")
		case ost.dev != st.dev || ost.mnt != st.mnt:
			return skip(p, ErrMountPoint, "mount point %s below the entry", quote(p))
		case ost.dev == r.store.st.dev && ost.ino == r.store.st.ino:
			return skip(p, ErrProtected, "the quarantine store is below the entry")
		case r.o.Allowlisted != nil && r.o.Allowlisted(p, ost.typ == TypeDir):
			return skip(p, ErrAllowlisted, "%s", quote(p))
		}
		if ost.typ != TypeDir {
			size += ost.size
		}
		return nil
	})
	var se *SkipError
	switch {
	case errors.As(err, &se):
		se.Path = e.Path
		return stat{}, se
	case errors.Is(err, unix.ENOENT), errors.Is(err, errMoved), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return stat{}, skip(e.Path, ErrChanged, "changed while being checked: %v", err)
	case err != nil:
		return stat{}, fmt.Errorf("read %s: %w", quote(e.Path), err)
	}
	if st.typ == TypeDir && size != e.Size {
		return stat{}, skip(e.Path, ErrChanged, "the files below it were %d bytes, are %d", e.Size, size)
	}
	return st, nil
}

func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// rename moves the entry into data/N on the store's file system, checks
// that what arrived is the object that was checked, and writes its
// manifest lines.
func (r *Run) rename(pfd int, name string, n int, p string, st stat) ([]Object, error) {
	dst := strconv.Itoa(n)
	if err := retry(func() error { return unix.Renameat2(pfd, name, r.f.data, dst, unix.RENAME_NOREPLACE) }); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, skip(p, ErrGone, "")
		}
		return nil, fmt.Errorf("move %s into the quarantine: %w", quote(p), err)
	}
	fault("renamed")
	got, err := statAt(r.f.data, dst)
	if err == nil && (got.dev != st.dev || got.ino != st.ino) {
		// Swapped between the check and the rename: put it back.
		if err := unix.Renameat2(r.f.data, dst, pfd, name, unix.RENAME_NOREPLACE); err != nil {
			return nil, fmt.Errorf("an object swapped in for %s was moved into the quarantine as %s and could not be put back: %v",
				quote(p), filepath.Join(r.store.Dir, r.ID, "data", dst), err)
		}
		return nil, skip(p, ErrChanged, "replaced just before it was moved")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errInQuarantine, err)
	}
	if err := fsyncFd(r.f.data); err != nil {
		return nil, fmt.Errorf("%w: %v", errInQuarantine, err)
	}
	if err := fsyncFd(pfd); err != nil {
		return nil, fmt.Errorf("%w: %v", errInQuarantine, err)
	}
	fault("synced")
	objs, err := describeTree(r.f.data, dst, p)
	if err == nil {
		err = writeBlock(r.f.man, n, MethodRename, objs)
	}
	if err != nil {
		// Unreadable (a file its owner cannot read, say), or no room for
		// the manifest: without its manifest it could not be restored,
		// so it goes back.
		if berr := unix.Renameat2(r.f.data, dst, pfd, name, unix.RENAME_NOREPLACE); berr != nil {
			return nil, fmt.Errorf("%w: its manifest could not be written (%v), and it could not be put back: %v", errInQuarantine, err, berr)
		}
		if serr := fsyncFd(pfd); serr != nil {
			return nil, serr
		}
		return nil, fmt.Errorf("%s left in place: its manifest could not be written: %w", quote(p), err)
	}
	fault("manifest")
	return objs, nil
}

// copy copies the entry into data/N, verifies the copy, writes the
// manifest and only then removes the original, by handle.
func (r *Run) copy(pdir *fsafe.Dir, name string, n int, p string, st stat) ([]Object, error) {
	dst := strconv.Itoa(n)
	pfd := pdir.Fd()
	if err := fsafe.CanRemove(pdir, name); err != nil {
		return nil, fmt.Errorf("cannot remove %s afterwards: %w", quote(p), err)
	}
	objs, err := copyTreeFault(pfd, name, st, r.f.data, dst, p)
	if err == nil {
		if err = fsyncFd(r.f.data); err == nil {
			err = verifyTree(r.f.data, dst, objs)
		}
	}
	if err != nil {
		rerr := removeAll(r.f.data, dst)
		if errors.Is(rerr, unix.ENOENT) {
			rerr = nil
		}
		if errors.Is(err, errMoved) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			err = skip(p, ErrChanged, "changed while being copied: %v", err)
		} else {
			err = fmt.Errorf("copy %s into the quarantine: %w", quote(p), err)
		}
		if rerr != nil {
			err = fmt.Errorf("%w; removing the partial copy: %v", err, rerr)
		}
		return nil, err
	}
	if err := writeBlock(r.f.man, n, MethodCopy, objs); err != nil {
		removeAll(r.f.data, dst)
		return nil, err
	}
	fault("manifest")
	if err := removeOriginal(pdir, name, st, objs); err != nil {
		if !errors.Is(err, fsafe.ErrPartlyRemoved) {
			// Nothing was removed (the name was swapped after the copy,
			// say): drop the copy, the original stays the only one.
			if rerr := removeAll(r.f.data, dst); rerr != nil {
				return objs, fmt.Errorf("%w: the original %s could not be removed (%v), nor the copy (%v)", errInQuarantine, quote(p), err, rerr)
			}
			if errors.Is(err, fsafe.ErrChanged) {
				return nil, skip(p, ErrChanged, "replaced while it was being copied; the copy was dropped")
			}
			return nil, fmt.Errorf("remove %s after copying it (the copy was dropped): %w", quote(p), err)
		}
		return objs, fmt.Errorf("%w: the original %s could not be removed entirely: %v", errInQuarantine, quote(p), err)
	}
	fault("removed")
	return objs, nil
}

// delete records the entry in the manifest and removes it for good.
func (r *Run) delete(pdir *fsafe.Dir, name string, n int, p string, st stat) ([]Object, error) {
	if err := fsafe.CanRemove(pdir, name); err != nil {
		return nil, fmt.Errorf("cannot remove %s: %w", quote(p), err)
	}
	objs, err := describeTree(pdir.Fd(), name, p)
	if errors.Is(err, errMoved) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return nil, skip(p, ErrChanged, "changed while being read: %v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", quote(p), err)
	}
	if objs[0].Ino != st.ino {
		return nil, skip(p, ErrChanged, "replaced just before it was removed")
	}
	if err := writeBlock(r.f.man, n, MethodDelete, objs); err != nil {
		return nil, err
	}
	fault("manifest")
	if err := removeOriginal(pdir, name, st, objs); err != nil {
		if !errors.Is(err, fsafe.ErrPartlyRemoved) {
			if errors.Is(err, fsafe.ErrChanged) {
				return nil, skip(p, ErrChanged, "replaced just before it was removed")
			}
			return nil, fmt.Errorf("remove %s: %w", quote(p), err)
		}
		return objs, fmt.Errorf("%w: %s could not be removed entirely: %v", errInQuarantine, quote(p), err)
	}
	return objs, nil
}

// removeOriginal removes what was copied (the objects' inodes on the
// entry's device), and nothing else.
func removeOriginal(pdir *fsafe.Dir, name string, st stat, objs []Object) error {
	inos := make(map[uint64]bool, len(objs))
	for _, o := range objs {
		inos[o.Ino] = true
	}
	top := objs[0]
	want := identity(stat{typ: top.Type, dev: st.dev, ino: top.Ino, size: top.Size})
	err := fsafe.RemoveTreeIf(pdir, name, want, func(s fsafe.Stat) bool { return s.Dev == st.dev && inos[s.Ino] })
	if err != nil {
		return err
	}
	return pdir.Sync()
}

// copyTreeFault copies srcName, which must be the object want (type,
// device, inode), to dstName; see copier.
func copyTreeFault(srcDir int, srcName string, want stat, dstDir int, dstName, p string) ([]Object, error) {
	c := &copier{entryPath: p, top: -1, links: map[[2]uint64]string{}}
	if faultHook != nil {
		c.fault = func() { fault("copying") }
	}
	defer closeFd(c.top)
	st, err := statAt(srcDir, srcName)
	if err != nil {
		return nil, err
	}
	if st.dev != want.dev || st.ino != want.ino || st.typ != want.typ {
		return nil, errMoved
	}
	if err := c.copy(srcDir, srcName, dstDir, dstName, "", st); err != nil {
		return nil, err
	}
	return c.objs, nil
}

// checkWritable refuses a directory on a read-only file system before
// anything is copied out of it.
func checkWritable(fd int) error {
	var sf unix.Statfs_t
	if err := unix.Fstatfs(fd, &sf); err != nil {
		return err
	}
	if sf.Flags&unix.ST_RDONLY != 0 {
		return unix.EROFS
	}
	return nil
}

// Close ends the run: the journal says it finished (or stopped, when
// stopped is true: the caller was interrupted).
func (r *Run) Close() error {
	return r.end(endComplete)
}

// Stop ends the run as stopped early (SIGINT): what was done stays done.
func (r *Run) Stop() error {
	return r.end(endStopped)
}

func (r *Run) end(reason string) error {
	if r.ended {
		return nil
	}
	r.ended = true
	err := r.journal(record{T: recEnd, Reason: reason})
	r.root.Close()
	r.f.close()
	return err
}
