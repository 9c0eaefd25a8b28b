// Package cache plans and carries out the pruning of pacman's package cache:
// keep the N newest versions of every package (M of packages that are not
// installed), always the installed version and the base a pending .pacnew
// merge needs, and remove the rest together with stray signatures and old
// partial downloads.
//
// Planning is plain Go on a Listing (see Scan), so the report, the TUI and
// the cache command all show the same Plan; Apply carries a Plan out.
package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pactidy/pactidy/internal/fsafe"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/vercmp"
)

// Kind is what a file in the cache is.
type Kind int

// Kinds of cache files.
const (
	// Package is a package file NAME-VER-ARCH.pkg.tar*.
	Package Kind = iota
	// Signature is the .sig of a package file next to it; it goes wherever
	// its package goes.
	Signature
	// StraySignature is a .sig whose package file is not in its directory.
	StraySignature
	// Partial is an interrupted download: *.part or a download-* directory.
	Partial
	// Unparseable is a *.pkg.tar* name that is not a package file name; it
	// is reported and never removed.
	Unparseable
	// Special is a symlink or another non-regular entry; never touched.
	Special
)

var kindNames = [...]string{"package", "signature", "stray_signature", "partial", "unparseable", "special"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Options are the pruning policy. The zero value keeps nothing but the
// installed versions; DefaultOptions is paccache's default.
type Options struct {
	// Keep is how many of the newest versions of an installed package stay.
	Keep int
	// KeepUninstalled is the same for packages that are not installed;
	// negative means Keep.
	KeepUninstalled int
	// NoKeepInstalled drops the protection of the installed version (as
	// paccache, which may remove it after a downgrade).
	NoKeepInstalled bool
	// Ignore lists package names (or path.Match globs) kept entirely.
	Ignore []string
	// Allow reports allowlisted package names, kept entirely. May be nil.
	Allow func(name string) bool
	// Arch limits candidates to one architecture ("" means all).
	Arch string
	// MinAge keeps files modified less than MinAge before Now.
	MinAge time.Duration
	// PartialAge is how old a partial download must be to be removed
	// (0 means a day).
	PartialAge time.Duration
	// Now is the planning time (zero means time.Now()).
	Now time.Time
	// Installed is the local database; nil means nothing is installed.
	Installed *pkg.DB
	// Root is the installation root, used to find .pacnew files of
	// installed packages ("" skips that check).
	Root string
	// DBPath is where the backup entries of installed packages are read
	// when Installed was loaded without file lists.
	DBPath string
}

// DefaultOptions keep 3 versions of every package, installed or not.
func DefaultOptions() Options {
	return Options{Keep: 3, KeepUninstalled: -1}
}

// DefaultPartialAge is how old a partial download must be to be removed.
const DefaultPartialAge = 24 * time.Hour

// File is one file (or download-* directory) of the cache with the plan's
// verdict.
type File struct {
	Path    string // absolute
	Dir     string // the cache directory holding it
	Name    string // package name ("" when unknown)
	Version string
	Arch    string
	Kind    Kind
	Size    int64
	ModTime time.Time
	IsDir   bool
	// ID and DirID are the file and its cache directory as Scan saw them;
	// Apply acts only on those very objects.
	ID, DirID fsafe.Identity
	// Remove is the verdict; Reason says why it is removed or kept.
	Remove bool
	Reason string
}

// Plan is what pruning would do.
type Plan struct {
	Dirs []string
	// DirIDs are the directories of Dirs as Scan read them.
	DirIDs []fsafe.Identity
	// Files are every file considered, kept and removed: package files
	// grouped by name and architecture, newest version first, each followed
	// by its signature; then stray signatures, partial downloads and the
	// files that are never touched.
	Files []File
	// ReclaimBytes is the size of the files to remove (signatures are
	// files of their own and counted like any other).
	ReclaimBytes int64
	// Removals is the number of files to remove.
	Removals int
	// BuildCaches are AUR helper build directories of packages no longer
	// installed; reported, not part of Files.
	BuildCaches []BuildCache
	Errors      []FileError
}

// Candidates are the files to remove, in plan order.
func (p *Plan) Candidates() []File {
	out := make([]File, 0, p.Removals)
	for _, f := range p.Files {
		if f.Remove {
			out = append(out, f)
		}
	}
	return out
}

// Kept are the files that stay, in plan order.
func (p *Plan) Kept() []File {
	out := make([]File, 0, len(p.Files)-p.Removals)
	for _, f := range p.Files {
		if !f.Remove {
			out = append(out, f)
		}
	}
	return out
}

// planner holds the state of one NewPlan call.
type planner struct {
	o      Options
	l      *Listing
	now    time.Time
	keepU  int
	cutoff time.Time // files modified after this are young (MinAge)
	// The reasons of the version rule, made once.
	installedWhy, uninstalledWhy whys
	// errs are reads the planning needed and could not make.
	errs []FileError
}

type whys struct{ kept, old string }

func makeWhys(policy string, keep int) whys {
	if keep == 0 {
		return whys{old: policy + "no version kept"}
	}
	return whys{kept: policy + kept(keep), old: policy + "older than the " + newest(keep)}
}

// NewPlan applies o to the listing.
func NewPlan(l *Listing, o Options) *Plan {
	p := &planner{o: o, l: l, now: o.Now, keepU: o.KeepUninstalled}
	if p.now.IsZero() {
		p.now = time.Now()
	}
	if p.keepU < 0 {
		p.keepU = o.Keep
	}
	if o.MinAge > 0 {
		p.cutoff = p.now.Add(-o.MinAge)
	}
	p.installedWhy = makeWhys("", o.Keep)
	p.uninstalledWhy = makeWhys("not installed; ", p.keepU)
	return p.plan()
}

type group struct {
	name, arch string
	files      []int // indices into the planner's files
}

func (p *planner) plan() *Plan {
	l := p.l
	plan := &Plan{Dirs: l.Dirs, DirIDs: l.DirIDs, Errors: append([]FileError(nil), l.Errors...), Files: make([]File, 0, len(l.Entries))}

	// Classify. Package files by directory and name, to pair signatures.
	// Files are big: they stay in all, the classes hold indices.
	all := make([]File, 0, len(l.Entries))
	var pkgs, sigs, others []int
	for _, e := range l.Entries {
		dir := l.Dirs[e.Dir]
		f := File{Path: dir + "/" + e.Name, Dir: dir, Size: e.Size, ModTime: e.ModTime, ID: e.ID, DirID: l.dirID(e.Dir)}
		switch {
		case e.Type.IsDir():
			f.Kind, f.IsDir = Partial, true
			others = append(others, len(all))
			all = append(all, f)
			continue
		case e.Type != 0:
			f.Kind, f.Reason = Special, "not a regular file, never touched"
			others = append(others, len(all))
			all = append(all, f)
			continue
		}
		name := e.Name
		switch {
		case strings.HasSuffix(name, ".part"):
			f.Kind = Partial
			p.setName(&f, strings.TrimSuffix(strings.TrimSuffix(name, ".part"), ".sig"))
			others = append(others, len(all))
		case strings.HasSuffix(name, ".sig"):
			p.setName(&f, strings.TrimSuffix(name, ".sig"))
			sigs = append(sigs, len(all))
		default:
			if !p.setName(&f, name) {
				f.Kind, f.Reason = Unparseable, "not a package file name, never removed"
				others = append(others, len(all))
				break
			}
			pkgs = append(pkgs, len(all))
		}
		all = append(all, f)
	}

	// Group by (name, arch) across all directories.
	type key struct{ name, arch string }
	groups := map[key]*group{}
	var order []*group
	for _, i := range pkgs {
		f := &all[i]
		k := key{f.Name, f.Arch}
		g := groups[k]
		if g == nil {
			g = &group{name: f.Name, arch: f.Arch}
			groups[k] = g
			order = append(order, g)
		}
		g.files = append(g.files, i)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].name != order[j].name {
			return order[i].name < order[j].name
		}
		return order[i].arch < order[j].arch
	})
	for _, g := range order {
		p.decide(g, all)
	}

	// Signatures follow their package; the others are stray. Only the
	// signatures are indexed: they are the smaller set.
	sigAt := make(map[string]int, len(sigs)) // package path -> index in all
	for _, j := range sigs {
		sigAt[strings.TrimSuffix(all[j].Path, ".sig")] = j
	}
	paired := make([]bool, len(all))
	sigOf := make([]int, len(all)) // package index -> signature index + 1
	for _, i := range pkgs {
		if j, ok := sigAt[all[i].Path]; ok {
			s := &all[j]
			s.Kind, s.Remove, s.Reason = Signature, all[i].Remove, "signature of "+filepath.Base(all[i].Path)
			sigOf[i], paired[j] = j+1, true
		}
	}
	var rest []int // strays and others
	for _, o := range others {
		if all[o].Kind != Special && all[o].Kind != Unparseable {
			continue
		}
		if j, ok := sigAt[all[o].Path]; ok {
			s := &all[j]
			s.Kind, s.Reason = Signature, "signature of "+filepath.Base(all[o].Path)+", never removed"
			rest, paired[j] = append(rest, j), true
		}
	}
	for _, j := range sigs {
		s := &all[j]
		switch {
		case paired[j]:
		case s.Name == "":
			s.Kind, s.Reason = Unparseable, "signature with a name that is not a package file name, never removed"
			rest = append(rest, j)
		default:
			s.Kind = StraySignature
			p.verdict(s, true, "signature without its package file")
			rest = append(rest, j)
		}
	}

	for _, g := range order {
		for _, i := range g.files {
			plan.add(all[i])
			if j := sigOf[i]; j > 0 {
				plan.add(all[j-1])
			}
		}
	}

	partialAge := p.o.PartialAge
	if partialAge <= 0 {
		partialAge = DefaultPartialAge
	}
	for _, i := range others {
		f := &all[i]
		if f.Kind != Partial {
			continue
		}
		if f.ModTime.After(p.now.Add(-partialAge)) {
			f.Reason = "partial download less than " + fmtAge(partialAge) + " old"
			continue
		}
		p.verdict(f, true, "partial download older than "+fmtAge(partialAge))
	}
	rest = append(rest, others...)
	sort.SliceStable(rest, func(i, j int) bool {
		a, b := &all[rest[i]], &all[rest[j]]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Path < b.Path
	})
	for _, i := range rest {
		plan.add(all[i])
	}
	plan.Errors = append(plan.Errors, p.errs...)
	return plan
}

func (plan *Plan) add(f File) {
	plan.Files = append(plan.Files, f)
	if f.Remove {
		plan.Removals++
		plan.ReclaimBytes += f.Size
	}
}

// setName fills name, version and arch from a package file name.
func (p *planner) setName(f *File, file string) bool {
	n, ok := ParseName(file)
	if !ok {
		return false
	}
	f.Name, f.Version, f.Arch = n.Name, n.Version, n.Arch
	return true
}

// spared tells why a file of a named package is kept whatever its version,
// or "".
func (p *planner) spared(name, arch string) string {
	if name == "" {
		return ""
	}
	for _, pat := range p.o.Ignore {
		if pat == name {
			return "ignored (--ignore " + pat + ")"
		}
		if ok, _ := path.Match(pat, name); ok {
			return "ignored (--ignore " + pat + ")"
		}
	}
	if p.o.Allow != nil && p.o.Allow(name) {
		return "allowlisted package"
	}
	if p.o.Arch != "" && arch != p.o.Arch {
		return "architecture " + arch + " not selected (--arch " + p.o.Arch + ")"
	}
	return ""
}

// verdict sets f's decision, applying the filters that keep files whatever
// the version rule says.
func (p *planner) verdict(f *File, remove bool, reason string) {
	if remove {
		if why := p.spared(f.Name, f.Arch); why != "" {
			remove, reason = false, why
		} else if !p.cutoff.IsZero() && f.ModTime.After(p.cutoff) {
			remove, reason = false, "modified within "+fmtAge(p.o.MinAge)+" (--min-age)"
		}
	}
	f.Remove, f.Reason = remove, reason
}

// decide applies the version rule to one (name, arch) group and sorts its
// files newest first.
func (p *planner) decide(g *group, pkgs []File) {
	sort.SliceStable(g.files, func(i, j int) bool {
		a, b := &pkgs[g.files[i]], &pkgs[g.files[j]]
		if c := vercmp.Compare(a.Version, b.Version); c != 0 {
			return c > 0
		}
		// The first cache directory is pacman's own choice among copies.
		if a.Dir != b.Dir {
			return p.dirIndex(a.Dir) < p.dirIndex(b.Dir)
		}
		return a.Path < b.Path
	})

	var inst *pkg.Package
	if p.o.Installed != nil {
		inst = p.o.Installed.Get(g.name)
	}
	keep, why := p.keepU, &p.uninstalledWhy
	if inst != nil {
		keep, why = p.o.Keep, &p.installedWhy
	}
	sameArch := inst != nil && (inst.Arch == g.arch || inst.Arch == "")
	protected := ""
	if sameArch && !p.o.NoKeepInstalled {
		protected = inst.Version
	}
	// The version before the installed one is the base pacdiff needs to
	// merge a pending .pacnew; look for .pacnew files only when that
	// version would otherwise go.
	mergeBase, pacnews := "", []string(nil)
	if sameArch {
		rank, prev := -1, ""
		for _, i := range g.files {
			v := pkgs[i].Version
			if rank < 0 || vercmp.Compare(v, prev) != 0 {
				rank++
				prev = v
			}
			if vercmp.Compare(v, inst.Version) < 0 {
				if rank >= keep {
					if pacnews = p.pacnews(inst); len(pacnews) > 0 {
						mergeBase = v
					}
				}
				break
			}
		}
	}

	rank := -1
	prev, first := "", ""
	remove, reason := false, ""
	for _, i := range g.files {
		f := &pkgs[i]
		if rank >= 0 && vercmp.Compare(f.Version, prev) == 0 {
			// Another copy of a version already seen (another directory or
			// compression): only the first copy counts as the version.
			if remove {
				p.verdict(f, true, reason)
			} else {
				p.verdict(f, true, "duplicate of "+first)
			}
			continue
		}
		rank++
		prev, first = f.Version, f.Path
		switch {
		case protected != "" && vercmp.Compare(f.Version, protected) == 0:
			remove, reason = false, "installed version"
		case rank < keep:
			remove, reason = false, why.kept
		case mergeBase != "" && vercmp.Compare(f.Version, mergeBase) == 0:
			remove, reason = false, "merge base for "+strings.Join(pacnews, ", ")+" (pacdiff)"
		default:
			remove, reason = true, why.old
		}
		p.verdict(f, remove, reason)
	}
}

func (p *planner) dirIndex(dir string) int {
	for i, d := range p.l.Dirs {
		if d == dir {
			return i
		}
	}
	return len(p.l.Dirs)
}

// pacnews lists the .pacnew files on disk of inst's backup files.
func (p *planner) pacnews(inst *pkg.Package) []string {
	if p.o.Root == "" {
		return nil
	}
	backup := inst.Backup
	if backup == nil && p.o.DBPath != "" {
		// The database was loaded without file lists.
		var err error
		if backup, err = pkg.ReadBackup(p.o.DBPath, inst.Name, inst.Version); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// Unknown: keep the merge base rather than guess.
			p.errs = append(p.errs, FileError{Path: filepath.Join(p.o.DBPath, "local", inst.Name+"-"+inst.Version, "files"), Err: err})
			return []string{"(backup files of " + inst.Name + " unreadable)"}
		}
	}
	var out []string
	for _, b := range backup {
		name := "/" + strings.TrimPrefix(b.Path, "/") + ".pacnew"
		_, err := os.Lstat(filepath.Join(p.o.Root, name))
		switch {
		case err == nil:
			out = append(out, name)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			p.errs = append(p.errs, FileError{Path: filepath.Join(p.o.Root, name), Err: unwrapPath(err)})
			out = append(out, name+" (unreadable)")
		}
	}
	return out
}

func newest(n int) string {
	if n == 1 {
		return "newest version"
	}
	return fmt.Sprintf("%d newest versions", n)
}

func kept(n int) string {
	if n == 1 {
		return "the newest version"
	}
	return "one of the " + newest(n)
}

// fmtAge prints a duration the way --min-age accepts it.
func fmtAge(d time.Duration) string {
	switch {
	case d%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%dw", d/(7*24*time.Hour))
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}
