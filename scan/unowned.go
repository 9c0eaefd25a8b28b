package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/ioerr"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/progress"
)

// Types of unowned entries, as in the report's "type" field.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
	TypeOther   = "other"
)

// DefaultExcludes are the system paths that are not package territory:
// the unowned scan neither enters nor reports them.
var DefaultExcludes = []string{
	"/dev", "/proc", "/sys", "/run", "/tmp", "/var/tmp",
	"/home", "/root", "/mnt", "/media", "/lost+found",
	"/var/cache", "/var/log", "/var/lib/pacman",
	// pactidy's own quarantine (internal/quarantine.SystemDir); callers
	// add a --quarantine-dir elsewhere themselves.
	"/var/lib/pactidy/quarantine",
	// pactidy's state file (internal/state.DefaultPath); callers add a
	// --state file elsewhere themselves.
	"/var/lib/pactidy/state.json",
}

// minWalkers is the fewest directory readers the walk starts by default.
const minWalkers = 8

// UnownedOptions configure Unowned.
type UnownedOptions struct {
	// Root is the target root on the running system ("" means "/").
	// Paths are reported as the system inside the root sees them.
	Root string
	// Excludes are system paths or allowlist-style globs (a match covers
	// the subtree) that are not walked. Callers usually start from
	// DefaultExcludes.
	Excludes []string
	// DisabledRules names built-in rules to switch off ("all" for every
	// one).
	DisabledRules []string
	// ShowHidden reports what the rules hide, with HiddenBy set.
	ShowHidden bool
	// Allow keeps paths out of the findings; nil keeps nothing.
	Allow *allowlist.List
	// Workers reading directories in parallel; 0 picks a default.
	Workers int
	// MountInfo and Swaps describe the running system; "" means
	// /proc/self/mountinfo and /proc/swaps. A file that cannot be read is
	// not an error: mount points are then found by their device number.
	MountInfo string
	Swaps     string
	// Progress, when set, counts the directories listed, the entries
	// read and the bytes of unowned files found, as the walk goes.
	Progress *progress.Counters
	// RecordSeen keeps what the walk saw of the owned paths in
	// UnownedResult.Seen, for MissingFilesSeen.
	RecordSeen bool
}

// UnownedEntry is a path no package owns. A directory ends with '/' and
// stands for its whole subtree: Size is the sum of the apparent sizes of
// the non-directory entries below it, Entries how many entries it holds at
// any depth. For a file or symlink Size is its own size and Entries 0.
type UnownedEntry struct {
	Path    string
	Type    string
	Size    int64
	Entries int
	// HiddenBy names the rule that hides the entry (only with ShowHidden).
	HiddenBy string
	// Incomplete is set on a directory that (or part of which) could not
	// be read: Size and Entries count only what was readable.
	Incomplete bool
}

// UnownedResult is what Unowned found.
type UnownedResult struct {
	// Entries sorted by path.
	Entries []UnownedEntry
	// Errors are entries that could not be read; the walk went on.
	Errors []pkg.EntryError
	// NoFileLists names the installed packages whose file lists could not
	// be read. Their files would all look unowned, so the scan is not
	// made: Entries is empty and the section is unknown, not clean.
	NoFileLists []string
	// Skipped are mount points that were not entered (pseudo or network
	// file systems, bind mounts that revisit a walked directory), as
	// system paths with the reason.
	Skipped []Skip
	// Seen is what the walk saw of the owned paths (with RecordSeen).
	Seen *Seen
}

// Skip is a mount point the walk did not enter.
type Skip struct {
	Path   string
	Reason string
}

// Unowned walks the root and returns the paths no installed package owns,
// after the exclusions, the built-in rules and the allowlist. Only set-up
// errors (a bad option, an unreadable root) are returned as errors.
func Unowned(ctx context.Context, db *pkg.DB, o UnownedOptions) (*UnownedResult, error) {
	// Without a package's file list its files would look unowned: the
	// section cannot be known (and the walk is not made).
	var noLists []string
	for _, p := range db.Packages {
		if p.FilesErr != nil {
			noLists = append(noLists, p.Name)
		}
	}
	if len(noLists) > 0 {
		return &UnownedResult{NoFileLists: noLists}, nil
	}
	root := o.Root
	if root == "" {
		root = "/"
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("unowned scan: root: %w", err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return nil, fmt.Errorf("unowned scan: root: %w", err)
	}
	if fi, err := os.Stat(real); err != nil {
		return nil, fmt.Errorf("unowned scan: root: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("unowned scan: root %s is not a directory", root)
	}
	rules, err := newRuleSet(o.DisabledRules)
	if err != nil {
		return nil, err
	}
	excl, err := newExcludes(o.Excludes)
	if err != nil {
		return nil, err
	}
	owned := NewOwnedSet(db)
	w := &walker{
		ctx:        ctx,
		root:       strings.TrimSuffix(real, "/"),
		owned:      owned,
		excl:       excl,
		allow:      o.Allow,
		showHidden: o.ShowHidden,
		installed:  func(name string) bool { return db.Get(name) != nil },
		// Most walked directories are owned ones: room for them all.
		visited:  make(map[devIno]struct{}, len(owned.dirs)),
		progress: o.Progress,
	}
	if o.RecordSeen {
		w.seen = newSeen()
	}
	w.rules = rules.bind(owned, db)
	mountinfo := o.MountInfo
	if mountinfo == "" {
		mountinfo = "/proc/self/mountinfo"
	}
	w.mounts = planMounts(mountinfo, real, excl)
	swaps := o.Swaps
	if swaps == "" {
		swaps = "/proc/swaps"
	}
	for _, s := range swapFiles(swaps, real) {
		w.excl.exact[s] = true
	}
	workers := o.Workers
	if workers <= 0 {
		// With the page cache cold the walk waits on the disk: more
		// directories read at once keep its queue full (on two CPUs, 8
		// workers walked the 2,000-package root 10 % faster cold and as
		// fast warm as 2).
		workers = max(minWalkers, runtime.GOMAXPROCS(0))
	}
	entries, errs := w.run(workers)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := firstTransient(errs); err != nil {
		return nil, fmt.Errorf("unowned scan: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	sort.Slice(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	res := &UnownedResult{Entries: entries, Errors: errs, Seen: w.seen}
	for _, rel := range sortedMapKeys(w.mounts.skip) {
		res.Skipped = append(res.Skipped, Skip{Path: "/" + rel, Reason: w.mounts.skip[rel]})
	}
	return res, nil
}

// firstTransient is the first error of the walk that says nothing about
// the path (out of descriptors or memory, I/O error): the walk cannot
// stand for what is below it.
func firstTransient(errs []pkg.EntryError) error {
	for _, e := range errs {
		if ioerr.Transient(e.Err) {
			return e
		}
	}
	return nil
}

// OwnedSet holds every path an installed package owns, relative to the
// root, without the trailing '/' of directories, plus every ancestor
// directory of an owned path (a package need not list them all).
//
// It is indexed by directory: the walk looks its directory up once and
// then finds each entry's name among that directory's owned names, kept
// sorted in a slice. All the slices are cut from one array and the strings
// are the database's own, so the set costs 16 bytes a name and one map
// entry a directory: memory the walk does not have to touch.
type OwnedSet struct {
	dirs map[string]*ownedDir
	n    int
}

// ownedDir is the set of owned names in one directory, sorted.
type ownedDir struct {
	names []string
}

// NewOwnedSet indexes the file lists of db.
func NewOwnedSet(db *pkg.DB) *OwnedSet {
	// Count the names of each directory first (runs of one directory in
	// the sorted lists, hashed once a run), so that every directory's
	// names can be cut from one array at their number.
	count := make(map[string]int, 1024)
	run, runDir := 0, ""
	for _, p := range db.Packages {
		for _, f := range p.Files {
			dir, name := splitRel(strings.TrimRight(f, "/"))
			if name == "" {
				continue
			}
			if dir != runDir || run == 0 {
				if run > 0 {
					count[runDir] += run
				}
				run, runDir = 0, dir
			}
			run++
		}
	}
	if run > 0 {
		count[runDir] += run
	}
	// Every directory is a name in its parent, whether or not a package
	// lists it.
	dirNames := make([]string, 0, len(count))
	for dir := range count {
		dirNames = append(dirNames, dir)
	}
	for i := 0; i < len(dirNames); i++ {
		dir := dirNames[i]
		if dir == "" {
			continue
		}
		parent, _ := splitRel(dir)
		if _, ok := count[parent]; !ok {
			dirNames = append(dirNames, parent)
		}
		count[parent]++
	}
	total := 0
	for _, c := range count {
		total += c
	}
	arena := make([]string, total)
	nodes := make([]ownedDir, len(count))
	s := &OwnedSet{dirs: make(map[string]*ownedDir, len(count))}
	off, i := 0, 0
	for dir, c := range count {
		d := &nodes[i]
		d.names = arena[off : off : off+c]
		s.dirs[dir] = d
		off += c
		i++
	}
	var lastDir string
	var last *ownedDir
	for _, p := range db.Packages {
		for _, f := range p.Files {
			dir, name := splitRel(strings.TrimRight(f, "/"))
			if name == "" {
				continue
			}
			// File lists are sorted, so most files share the previous
			// file's directory.
			if last == nil || dir != lastDir {
				lastDir, last = dir, s.dirs[dir]
			}
			last.names = append(last.names, name)
		}
	}
	for _, dir := range dirNames {
		if dir != "" {
			parent, name := splitRel(dir)
			d := s.dirs[parent]
			d.names = append(d.names, name)
		}
	}
	for i := range nodes {
		d := &nodes[i]
		if !slices.IsSorted(d.names) {
			slices.Sort(d.names)
		}
		d.names = slices.Compact(d.names)
		s.n += len(d.names)
	}
	return s
}

// OwnedSetOf builds a set from paths relative to the root (as pacman
// -Qlq prints them after the root prefix; directories may end with '/').
func OwnedSetOf(paths []string) *OwnedSet {
	return NewOwnedSet(pkg.NewDB([]*pkg.Package{{Name: "-", Files: paths}}))
}

// has reports whether name is in the set; a nil set is empty.
func (d *ownedDir) has(name string) bool {
	if d == nil {
		return false
	}
	// A binary search with one comparison a step (slices.BinarySearch
	// makes two).
	lo, hi := 0, len(d.names)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d.names[m] < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(d.names) && d.names[lo] == name
}

// hasName is has without converting (nor allocating) name.
func (d *ownedDir) hasName(name []byte) bool {
	return d.has(unsafe.String(unsafe.SliceData(name), len(name)))
}

// len is the number of names in the set.
func (d *ownedDir) len() int {
	if d == nil {
		return 0
	}
	return len(d.names)
}

// names calls yield with each name in the set.
func (d *ownedDir) each(yield func(string)) {
	if d == nil {
		return
	}
	for _, f := range d.names {
		yield(f)
	}
}

func splitRel(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// Len is the number of owned paths, ancestors included.
func (s *OwnedSet) Len() int { return s.n }

// Has reports whether rel (no leading or trailing '/') is owned.
func (s *OwnedSet) Has(rel string) bool {
	dir, name := splitRel(rel)
	return name != "" && s.dirs[dir].has(name)
}

// children returns the owned names in the directory rel (nil if none).
func (s *OwnedSet) children(rel string) *ownedDir { return s.dirs[rel] }

// excludes are the paths not walked: exact relative paths (the fast path
// checked at every directory) and globs.
type excludes struct {
	exact map[string]bool
	globs *allowlist.List
}

func newExcludes(paths []string) (*excludes, error) {
	e := &excludes{exact: make(map[string]bool)}
	var globs []allowlist.Entry
	for _, p := range paths {
		rel := strings.Trim(filepath.Clean("/"+p), "/")
		if rel == "" {
			return nil, fmt.Errorf("unowned scan: excluding %q would exclude everything", p)
		}
		if !strings.ContainsAny(p, `*?[\`) {
			e.exact[rel] = true
			continue
		}
		ent, err := allowlist.ParseEntry("path " + p)
		if err != nil {
			return nil, fmt.Errorf("unowned scan: exclude %q: %w", p, err)
		}
		globs = append(globs, ent)
	}
	if len(globs) > 0 {
		l, err := allowlist.New(globs)
		if err != nil {
			return nil, fmt.Errorf("unowned scan: exclude: %w", err)
		}
		e.globs = l
	}
	return e, nil
}

// has reports whether rel (a directory when dir is set) is excluded; its
// ancestors were checked when the walk entered them.
func (e *excludes) has(rel []byte, dir bool) bool {
	if e.exact[string(rel)] {
		return true
	}
	if e.globs == nil {
		return false
	}
	p := "/" + string(rel)
	if dir {
		p += "/"
	}
	return e.globs.KeepsPath(p, nil)
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
