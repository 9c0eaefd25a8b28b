package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/progress"
)

// The walk reads directories in parallel with getdents(2): the entry type
// comes with the name, so an owned entry costs one map lookup and no
// stat(2). Only unowned entries are stat'ed, for their size.
//
// Directories form a tree of nodes. A node waits for its own listing and
// for every child directory; when the last of them is done the node is
// folded into its parent. An unowned directory whose whole subtree is
// reportable becomes one entry; otherwise its reportable pieces are passed
// up. This is the "collapse" of unowned directories, computed bottom-up
// while the walk runs.

type devIno struct{ dev, ino uint64 }

type walker struct {
	ctx        context.Context
	root       string // real path without trailing '/' ("" for "/")
	owned      *OwnedSet
	excl       *excludes
	mounts     mountPlan
	rules      *ruleSet
	allow      *allowlist.List
	installed  func(string) bool
	showHidden bool
	progress   *progress.Counters

	mu    sync.Mutex
	cond  *sync.Cond
	queue []*walkNode
	// outstanding counts directories not listed yet; waiting counts
	// workers blocked in pop.
	outstanding atomic.Int64
	waiting     atomic.Int32

	errMu sync.Mutex
	errs  []pkg.EntryError

	visitMu sync.Mutex
	visited map[devIno]struct{}

	// seen, when set, records the directories listed and the owned names
	// missing from them, for the missing-files check.
	seen *Seen

	result []UnownedEntry
}

type walkNode struct {
	parent *walkNode
	rel    string // relative to the root, no leading or trailing '/'
	// unowned is set for a directory no package owns; nothing below it
	// can be owned.
	unowned bool
	// hiddenBy is set for a directory a rule hides that is reported
	// anyway (ShowHidden): its subtree is counted, not judged.
	hiddenBy string
	dev      uint64

	pending atomic.Int32 // the listing plus each child directory

	mu    sync.Mutex
	size  int64
	count int
	// dirty is set when something below an unowned directory is not
	// reportable (kept, hidden, excluded, a mount point), so the
	// directory cannot be reported as a whole.
	dirty bool
	// revisit marks a directory already walked under another path.
	revisit bool
	// incomplete is set when this directory or one below it could not be
	// read: its size and count are lower bounds.
	incomplete bool
	items      []UnownedEntry
	hiddenSum
}

// hiddenSum tells whether a single rule hides everything below an
// unowned directory that is dirty: then the directory (a *.wants
// directory of enablement links, say) is itself hidden by that rule and
// shown once with ShowHidden, not entry by entry.
type hiddenSum struct {
	rule string // the rule hiding entries below
	// mixed is set when something else made the directory dirty: another
	// rule, an exclusion, the allowlist, an error.
	mixed bool
	// hsize and hcount are the size and count of the hidden entries.
	hsize  int64
	hcount int
}

// hide notes an entry hidden by rule, of size bytes and count entries
// (itself and what is below it).
func (h *hiddenSum) hide(rule string, size int64, count int) {
	switch h.rule {
	case "":
		h.rule = rule
	case rule:
	default:
		h.mixed = true
	}
	h.hsize += size
	h.hcount += count
}

func (h *hiddenSum) merge(o *hiddenSum) {
	if o.rule != "" {
		h.hide(o.rule, o.hsize, o.hcount)
	}
	h.mixed = h.mixed || o.mixed
}

// hiddenWhole is the rule that hides everything below the unowned
// directory n, or "".
func (n *walkNode) hiddenWhole() string {
	if !n.unowned || n.hiddenBy != "" || n.mixed || n.incomplete || n.revisit || n.count > 0 {
		return ""
	}
	return n.rule
}

// run walks the tree with n workers and returns the entries and errors.
//
// Each worker keeps the directories it finds on a stack of its own and
// hands half of them to the shared queue only while another worker waits:
// passing every directory through a shared queue makes the workers sleep
// and wake all the time and is slower than one worker.
func (w *walker) run(n int) ([]UnownedEntry, []pkg.EntryError) {
	w.cond = sync.NewCond(&w.mu)
	root := &walkNode{}
	root.pending.Store(1)
	w.outstanding.Store(1)
	w.queue = append(w.queue, root)
	var wg sync.WaitGroup
	workers := make([]*walkWorker, n)
	for i := range workers {
		wk := &walkWorker{w: w, buf: make([]byte, 64*1024)}
		workers[i] = wk
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []*walkNode
			for {
				var nd *walkNode
				if k := len(local); k > 0 {
					nd, local = local[k-1], local[:k-1]
				} else if nd = w.pop(); nd == nil {
					return
				}
				if w.ctx.Err() == nil {
					wk.list(nd)
				}
				local = append(local, wk.kids...)
				wk.kids = wk.kids[:0]
				wk.finish(nd)
				if w.outstanding.Add(-1) == 0 {
					w.mu.Lock()
					w.cond.Broadcast()
					w.mu.Unlock()
					continue
				}
				if len(local) > 1 && w.waiting.Load() > 0 {
					// Share the oldest half: directories nearer the top
					// hold the bigger subtrees.
					half := len(local) / 2
					w.push(local[:half])
					local = append(local[:0], local[half:]...)
				}
			}
		}()
	}
	wg.Wait()
	size := len(w.result)
	for _, wk := range workers {
		size += len(wk.out)
	}
	result := make([]UnownedEntry, 0, size)
	result = append(result, w.result...)
	for _, wk := range workers {
		result = append(result, wk.out...)
	}
	return result, w.errs
}

// pop waits for a shared directory; nil when the walk is over.
func (w *walker) pop() *walkNode {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.queue) == 0 && w.outstanding.Load() > 0 {
		w.waiting.Add(1)
		w.cond.Wait()
		w.waiting.Add(-1)
	}
	if len(w.queue) == 0 {
		return nil
	}
	nd := w.queue[len(w.queue)-1]
	w.queue = w.queue[:len(w.queue)-1]
	return nd
}

func (w *walker) push(nodes []*walkNode) {
	w.mu.Lock()
	w.queue = append(w.queue, nodes...)
	w.mu.Unlock()
	w.cond.Broadcast()
}

func (w *walker) addErr(sysPath string, err error) {
	if errors.Is(err, syscall.ENOENT) {
		err = errVanished
	}
	w.errMu.Lock()
	w.errs = append(w.errs, pkg.EntryError{Path: sysPath, Err: err})
	w.errMu.Unlock()
}

var errVanished = errors.New("vanished during the scan")

// finish folds a node whose listing and children are done into its
// parent, and so on up while parents complete.
//
// Only an unowned directory can become one entry (or one hidden entry):
// what reaches a directory a package owns is final and goes straight to
// the worker's output instead of being copied up the tree level by level.
func (wk *walkWorker) finish(n *walkNode) {
	w := wk.w
	if n.pending.Add(-1) != 0 {
		return
	}
	for {
		p := n.parent
		if p == nil {
			w.result = n.items
			return
		}
		p.mu.Lock()
		items := &p.items
		if !p.unowned {
			items = &wk.out
		}
		switch rule := n.hiddenWhole(); {
		case n.revisit:
			p.dirty, p.mixed = true, true
		case n.hiddenBy != "":
			*items = append(*items, UnownedEntry{Path: "/" + n.rel + "/", Type: TypeDir, Size: n.size, Entries: n.count, HiddenBy: n.hiddenBy})
			p.dirty = true
			p.hide(n.hiddenBy, n.size, n.count+1)
		case rule != "":
			if w.showHidden {
				*items = append(*items, UnownedEntry{Path: "/" + n.rel + "/", Type: TypeDir, Size: n.hsize, Entries: n.hcount, HiddenBy: rule})
			}
			p.dirty = true
			p.hide(rule, n.hsize, n.hcount+1)
		case n.unowned && !n.dirty:
			*items = append(*items, UnownedEntry{Path: "/" + n.rel + "/", Type: TypeDir, Size: n.size, Entries: n.count, Incomplete: n.incomplete})
			p.size += n.size
			p.count += n.count + 1
			p.incomplete = p.incomplete || n.incomplete
		default:
			*items = append(*items, n.items...)
			p.dirty, p.mixed = true, true
		}
		n.items = nil
		p.mu.Unlock()
		if p.pending.Add(-1) != 0 {
			return
		}
		n = p
	}
}

type walkWorker struct {
	w    *walker
	buf  []byte // getdents buffer
	key  []byte // relative path of the current entry
	path []byte // absolute path for system calls
	kids []*walkNode
	// out are the final entries this worker found; scratch holds a
	// listing's entries until they are judged.
	out     []UnownedEntry
	scratch []UnownedEntry
}

// lstatAt is lstat(2) of name in the directory open as dirfd.
func (wk *walkWorker) lstatAt(dirfd int, name []byte, st *unix.Stat_t) error {
	return fstatatNoFollow(dirfd, name, st)
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// abs returns the absolute path of rel as a NUL-terminated byte string
// (reused; valid until the next call).
func (wk *walkWorker) abs(rel []byte) []byte {
	wk.path = append(wk.path[:0], wk.w.root...)
	wk.path = append(wk.path, '/')
	wk.path = append(wk.path, rel...)
	wk.path = append(wk.path, 0)
	return wk.path
}

func sysPath(rel string, dir bool) string {
	if dir {
		return "/" + rel + "/"
	}
	return "/" + rel
}

func (wk *walkWorker) list(n *walkNode) {
	w := wk.w
	fd, err := openDir(wk.abs([]byte(n.rel)))
	if err != nil {
		w.addErr(sysPath(n.rel, n.rel != ""), err)
		n.mu.Lock()
		n.incomplete = true
		n.mu.Unlock()
		return
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		w.addErr(sysPath(n.rel, true), err)
		return
	}
	n.dev = uint64(st.Dev)
	if n.parent != nil && n.dev != n.parent.dev && !w.mounts.points[n.rel] && isPseudoFd(fd) {
		// A mount point the mount table did not show us.
		n.revisit = true
		return
	}
	if !w.visit(devIno{uint64(st.Dev), st.Ino}) {
		n.revisit = true
		return
	}

	acc := walkAccum{items: wk.scratch[:0]}
	var seen, ownedSeen int64
	complete := true
	wk.kids = wk.kids[:0]
	var owned *ownedDir
	if !n.unowned {
		owned = w.owned.children(n.rel)
	}
	for {
		nr, err := getdents(fd, wk.buf)
		if err != nil {
			w.addErr(sysPath(n.rel, true), err)
			n.mu.Lock()
			n.incomplete = true
			n.mu.Unlock()
			complete = false
			break
		}
		if nr <= 0 {
			break
		}
		for off := 0; off < nr; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
			ino := binary.NativeEndian.Uint64(wk.buf[off:])
			reclen := int(binary.NativeEndian.Uint16(wk.buf[off+16:]))
			typ := wk.buf[off+18]
			name := wk.buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			off += reclen
			if ino == 0 || (len(name) == 1 && name[0] == '.') || (len(name) == 2 && name[0] == '.' && name[1] == '.') {
				continue
			}
			seen++
			if wk.entry(n, fd, owned, name, typ, &acc) {
				ownedSeen++
			}
		}
	}
	if w.seen != nil && complete && !n.unowned && w.seen.searchable(&st) {
		wk.recordSeen(n.rel, fd, owned, int(ownedSeen))
	}
	w.progress.Add(0, 1, seen, acc.size)
	if !n.unowned {
		wk.out = append(wk.out, acc.items...)
	}
	n.mu.Lock()
	n.size += acc.size
	n.count += acc.count
	if n.unowned {
		n.items = append(n.items, acc.items...)
	}
	wk.scratch = acc.items[:0]
	n.dirty = n.dirty || acc.dirty
	n.merge(&acc.hiddenSum)
	n.mu.Unlock()
	if len(wk.kids) > 0 {
		for _, k := range wk.kids {
			k.pending.Store(1) // its own listing
		}
		n.pending.Add(int32(len(wk.kids)))
		w.outstanding.Add(int64(len(wk.kids)))
	}
}

// walkAccum collects a listing's findings, merged into the node once.
type walkAccum struct {
	size  int64
	count int
	dirty bool
	items []UnownedEntry
	hiddenSum
}

// other notes an entry that makes the directory dirty for another
// reason than a rule.
func (a *walkAccum) other() { a.dirty, a.mixed = true, true }

func (w *walker) visit(k devIno) bool {
	w.visitMu.Lock()
	defer w.visitMu.Unlock()
	if _, ok := w.visited[k]; ok {
		return false
	}
	w.visited[k] = struct{}{}
	return true
}

// entry judges one directory entry of n and reports whether its name is
// one of the owned names of n.
//
// Most entries are owned files: they cost one lookup of their name and
// nothing else. Unowned entries are stat'ed relative to the directory's
// descriptor dirfd, which resolves one name instead of a whole path.
func (wk *walkWorker) entry(n *walkNode, dirfd int, owned *ownedDir, name []byte, dtype uint8, acc *walkAccum) bool {
	w := wk.w
	typ := direntType(dtype)
	var st *unix.Stat_t
	if dtype == syscall.DT_UNKNOWN {
		var s unix.Stat_t
		if err := wk.lstatAt(dirfd, name, &s); err != nil {
			w.addErr(sysPath(joinRel(n.rel, string(name)), false), err)
			acc.mixed = true
			// Known to be there, but not what it is.
			return owned != nil && owned.hasName(name)
		}
		st, typ = &s, modeType(s.Mode)
	}
	isDir := typ == TypeDir
	if !isDir && owned != nil && owned.hasName(name) {
		return true
	}
	wk.key = wk.key[:0]
	if n.rel != "" {
		wk.key = append(wk.key, n.rel...)
		wk.key = append(wk.key, '/')
	}
	wk.key = append(wk.key, name...)
	key := wk.key

	ownedName := owned != nil && owned.hasName(name)
	if isDir && (w.excl.has(key, true) || w.mounts.skip[string(key)] != "" || w.lostFound(n, name)) {
		acc.other()
		return ownedName
	}
	if ownedName {
		if isDir {
			wk.kids = append(wk.kids, &walkNode{parent: n, rel: string(key)})
		}
		return true
	}

	// Unowned.
	rel := string(key)
	if !isDir && w.excl.has(key, false) {
		acc.other()
		return false
	}
	hidden := ""
	if n.hiddenBy == "" {
		if w.allow.HasPathEntries() && w.allow.KeepsPath(sysPath(rel, isDir), w.installed) {
			acc.other()
			return false
		}
		if hidden = w.rules.match(rel, typ); hidden != "" {
			acc.dirty = true
			if !w.showHidden {
				acc.hide(hidden, 0, 1)
				return false
			}
		}
	}
	if isDir {
		wk.kids = append(wk.kids, &walkNode{parent: n, rel: rel, unowned: true, hiddenBy: hidden})
		return false
	}
	if st == nil {
		var s unix.Stat_t
		if err := wk.lstatAt(dirfd, name, &s); err != nil {
			w.addErr("/"+rel, err)
			if !errors.Is(err, syscall.ENOENT) {
				acc.other()
			}
			return false
		}
		st = &s
	}
	e := UnownedEntry{Path: "/" + rel, Type: typ, Size: st.Size, HiddenBy: hidden}
	if hidden == "" {
		acc.size += st.Size
		acc.count++
	} else if n.hiddenBy == "" {
		acc.hide(hidden, st.Size, 1)
	}
	acc.items = append(acc.items, e)
	return false
}

// lostFound reports a lost+found directory at the top of a file system.
func (w *walker) lostFound(n *walkNode, name []byte) bool {
	return string(name) == "lost+found" && (n.parent == nil || w.mounts.points[n.rel])
}

func direntType(t uint8) string {
	switch t {
	case syscall.DT_REG:
		return TypeFile
	case syscall.DT_DIR:
		return TypeDir
	case syscall.DT_LNK:
		return TypeSymlink
	}
	return TypeOther
}

func modeType(m uint32) string {
	switch m & syscall.S_IFMT {
	case syscall.S_IFREG:
		return TypeFile
	case syscall.S_IFDIR:
		return TypeDir
	case syscall.S_IFLNK:
		return TypeSymlink
	}
	return TypeOther
}
