package testroot

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GenSpec describes a generated root. Two of the packages are always
// "pacman" (owning etc/pacman.conf, var/lib/pacman/, var/cache/pacman/pkg/)
// and "filesystem" (owning the top directories, etc/fstab, etc/hosts), with
// fixed file lists. With WriteFiles about one backup file in ten differs on
// disk from its recorded checksum, as after an admin's edit.
type GenSpec struct {
	Packages    int     // installed packages, e.g. 2000 (at least 1)
	FilesPerPkg int     // average regular files per package, e.g. 150
	Unowned     int     // unowned paths planted on disk (files and directories, each counts)
	CacheFiles  int     // fake NAME-VER-ARCH.pkg.tar.zst files in CacheDir
	DepFraction float64 // share of packages installed as dependencies
	Seed        int64
	WriteFiles  bool // create the owned files on disk (empty, backup files with content)
}

// GenResult describes what Generate wrote and the facts a test can check a
// scanner against.
type GenResult struct {
	Root     string // the target root (RootDir)
	DBPath   string // Root/var/lib/pacman
	CacheDir string // Root/var/cache/pacman/pkg
	Config   string // Root/etc/pacman.conf, owned by the generated "pacman" package
	RepoDir  string // holds core.db.tar.gz, the [core] Server of Config

	Packages       int // installed packages
	Explicit       int // of them explicitly installed
	OwnedFiles     int // regular files and symlinks in all file lists (each owned once)
	OwnedDirs      int // distinct directories in all file lists
	UnownedEntries int // == len(UnownedPaths)
	CacheFiles     int // package files in CacheDir
	CacheSigs      int // .sig files in CacheDir, one of them without its package

	// UnownedPaths are the planted unowned paths, relative to Root, sorted,
	// directories with a trailing '/'. Not listed (and owned by nothing):
	// the contents of var/lib/pacman/ and var/cache/pacman/pkg/.
	UnownedPaths []string
	// Foreign are installed packages missing from the sync DB: pacman -Qmq.
	Foreign []string
	// Unrequired are dependency packages that no installed package depends
	// on or optionally depends on: pacman -Qdtq.
	Unrequired []string
	// Unneeded are dependency packages not reachable from an explicitly
	// installed package through depends (optdepends ignored), so they
	// include dependency cycles: pacman -Qqd | pacman -Rsu --print -.
	Unneeded []string
	// Cycles are the dependency cycles planted among dependency packages,
	// each in dependency order (a depends on b, ..., last depends on a).
	// The first half are unreachable (only their members require them, so
	// pacman -Qdt misses them); the rest hang below an explicit package.
	Cycles [][]string
}

// Generate writes a root with a large local database into dir/root (and a
// sync repository into dir/repo) without running pacman. The result is
// deterministic for a given spec: the same names, versions, dependency
// graph, file lists and cache file names. The local database has no mtree
// files, so pacman -Qkk says "no mtree file" for every package; -Qk works.
//
// Creating files is nearly all of its cost: 2000 packages of 150 files with
// WriteFiles take about 3 s on tmpfs, and minutes on a slow disk, so put
// large trees on tmpfs (e.g. TMPDIR=/dev/shm).
func Generate(dir string, spec GenSpec) (GenResult, error) {
	if spec.Packages < 1 || spec.FilesPerPkg < 0 || spec.Unowned < 0 || spec.CacheFiles < 0 ||
		spec.DepFraction < 0 || spec.DepFraction > 1 {
		return GenResult{}, fmt.Errorf("generate: invalid spec %+v", spec)
	}
	root := filepath.Join(dir, "root")
	if _, err := os.Stat(root); err == nil {
		return GenResult{}, fmt.Errorf("generate: %s already exists", root)
	}
	g := &generator{
		spec: spec,
		rng:  rand.New(rand.NewPCG(uint64(spec.Seed), 0x7061637469647921)),
		conf: newConfig(root),
	}
	g.conf.holdPkg = []string{"pacman"}
	g.repoDir = filepath.Join(dir, "repo")
	g.conf.repos = []repo{{name: "core", dir: g.repoDir}}

	g.names()
	g.graph()
	g.fileLists()
	g.plantUnowned()
	g.syncChoice()

	res := GenResult{
		Root:     root,
		DBPath:   g.conf.dbPath,
		CacheDir: g.conf.cacheDir,
		Config:   filepath.Join(root, "etc/pacman.conf"),
		RepoDir:  g.repoDir,
		Packages: len(g.pkgs),
	}
	steps := []func() error{
		g.conf.mkdirs,
		func() error { return os.MkdirAll(g.repoDir, 0o755) },
		func() error { return os.WriteFile(res.Config, []byte(g.conf.String()), 0o644) },
		g.writeLocalDB,
		g.writeSyncDB,
		g.writeTree,
		func() error { return g.writeCache(&res) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return GenResult{}, fmt.Errorf("generate %s: %w", dir, err)
		}
	}
	g.facts(&res)
	return res, nil
}

type genPkg struct {
	name    string
	ver     version
	arch    string
	kind    pkgKind
	dep     bool
	foreign bool
	soname  string // "libfoo.so" when the package provides "libfoo.so=N-64"
	sover   int
	virtual string // a "-git" package provides and conflicts with this name

	edges      []int // indices of the packages it depends on
	depends    []string
	optdepends []string
	optEdges   []int
	provides   []string
	conflicts  []string
	groups     []string

	files   []string // regular files and symlinks
	dirs    []string // directories listed on their own (empty package dirs)
	links   map[string]string
	backup  []string
	content map[string]string // backup files' content
	ownDir  string            // a directory only this package owns
	size    int64
	build   int64
	install int64

	syncVer *version // nil: not in the sync DB
}

type pkgKind int

const (
	kindApp pkgKind = iota
	kindLib
	kindPython
	kindPerl
	kindFont
	kindGit
	kindBase // pacman and filesystem
)

type generator struct {
	spec    GenSpec
	rng     *rand.Rand
	conf    config
	repoDir string

	pkgs      []*genPkg
	order     []int    // topological position: edges go to earlier positions
	pos       []int    // pos[i] = position of package i in order
	syncOnly  []genPkg // in the sync DB, not installed
	cycles    [][]int
	ownedDirs map[string]bool
	unowned   []string        // planted paths, dirs with trailing '/'
	modified  map[string]bool // backup files whose content differs on disk
}

var stems = []string{
	"alsa", "atk", "bison", "brotli", "cairo", "curl", "dbus", "expat", "ffmpeg", "flac",
	"freetype", "fribidi", "gdbm", "gettext", "glib", "gmp", "gnutls", "gpgme", "graphite", "gtk",
	"harfbuzz", "icu", "jansson", "lame", "lcms", "lz4", "mpfr", "ncurses", "nettle", "nghttp",
	"ogg", "opus", "pango", "pcre", "pixman", "png", "popt", "readline", "sasl", "sqlite",
	"ssh", "tiff", "unistring", "vorbis", "wayland", "webp", "xml", "xslt", "yaml", "zstd",
	"zimg", "boost", "fmt", "spdlog", "protobuf", "grpc", "abseil", "snappy", "leveldb", "lmdb",
	"tcl", "lua", "ruby", "node", "qt", "mesa", "vulkan", "llvm", "clang", "binutils",
	"cmake", "meson", "ninja", "vim", "emacs", "nano", "tmux", "htop", "rsync", "wget",
	"aria", "mpv", "gimp", "inkscape", "krita", "cups", "avahi", "polkit", "udisks", "upower",
}

var suffixes = []string{"utils", "tools", "common", "data", "docs", "cli", "daemon", "plugins"}

var groupNames = []string{"base-devel", "xorg", "gnome", "kde-applications", "texlive"}

func (g *generator) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

func (g *generator) chance(percent int) bool { return g.rng.IntN(100) < percent }

// names creates the packages with names, versions, kinds and reasons.
func (g *generator) names() {
	used := map[string]bool{}
	unique := func(name string) string {
		if !used[name] {
			used[name] = true
			return name
		}
		for i := 2; ; i++ {
			if n := name + strconv.Itoa(i); !used[n] {
				used[n] = true
				return n
			}
		}
	}
	add := func(p *genPkg) {
		g.pkgs = append(g.pkgs, p)
	}
	add(&genPkg{name: unique("pacman"), ver: version{nums: []int{6, 0, 2}, rel: 1}, arch: "x86_64", kind: kindBase})
	if g.spec.Packages > 1 {
		add(&genPkg{name: unique("filesystem"), ver: version{nums: []int{2023, 9, 18}, rel: 2}, arch: "any", kind: kindBase})
	}
	nDeps := int(g.spec.DepFraction*float64(g.spec.Packages-len(g.pkgs)) + 0.5)
	reasons := make([]bool, g.spec.Packages-len(g.pkgs))
	for i := range nDeps {
		reasons[i] = true
	}
	g.rng.Shuffle(len(reasons), func(i, j int) { reasons[i], reasons[j] = reasons[j], reasons[i] })

	for _, dep := range reasons {
		p := &genPkg{dep: dep, arch: "x86_64"}
		stem := g.pick(stems)
		switch r := g.rng.IntN(100); {
		case r < 32:
			p.kind = kindLib
			if g.chance(4) {
				p.name = unique("lib" + stem + "++")
			} else {
				p.name = unique("lib" + stem)
			}
		case r < 47:
			p.kind, p.arch = kindPython, "any"
			p.name = unique("python-" + stem)
		case r < 52:
			p.kind = kindPerl
			p.name = unique("perl-" + stem)
		case r < 55:
			p.kind, p.arch = kindFont, "any"
			p.name = unique("ttf-" + stem)
		case r < 57 && !dep:
			p.kind = kindGit
			p.virtual = unique(stem + "-" + g.pick(suffixes))
			p.name = unique(p.virtual + "-git")
		default:
			p.kind = kindApp
			switch r := g.rng.IntN(3); r {
			case 0:
				p.name = unique(stem)
			case 1:
				p.name = unique(stem + "-" + g.pick(suffixes))
			default:
				p.name = unique(stem + "-" + g.pick(stems))
			}
			if g.chance(10) {
				p.arch = "any"
			}
		}
		p.ver = randVersion(g.rng, p.kind == kindGit)
		if p.kind == kindLib {
			p.soname = p.name + ".so"
			p.sover = 1 + g.rng.IntN(12)
		}
		add(p)
	}
	// Packages in the sync DB only: optional dependencies point at some of
	// them, and each "-git" package's non-git original is one.
	for _, p := range g.pkgs {
		if p.virtual != "" {
			g.syncOnly = append(g.syncOnly, genPkg{name: p.virtual, ver: randVersion(g.rng, false), arch: "x86_64"})
		}
	}
	for range max(1, g.spec.Packages/20) {
		name := unique(g.pick(stems) + "-" + g.pick(suffixes))
		g.syncOnly = append(g.syncOnly, genPkg{name: name, ver: randVersion(g.rng, false), arch: "x86_64"})
	}
}

// graph builds the dependency graph: a DAG over a random topological order
// (explicit packages tend to come last), some dependency packages that
// nothing requires, and planted 2- and 3-cycles.
func (g *generator) graph() {
	n := len(g.pkgs)
	keys := make([]float64, n)
	for i, p := range g.pkgs {
		keys[i] = g.rng.Float64()
		if !p.dep {
			keys[i] += 0.6
		}
	}
	keys[0] = -1 // pacman is the bottom of the stack
	g.order = make([]int, n)
	for i := range g.order {
		g.order[i] = i
	}
	sort.SliceStable(g.order, func(a, b int) bool { return keys[g.order[a]] < keys[g.order[b]] })
	g.pos = make([]int, n)
	for i, idx := range g.order {
		g.pos[idx] = i
	}

	var deps []int
	for _, idx := range g.order {
		if g.pkgs[idx].dep {
			deps = append(deps, idx)
		}
	}
	g.rng.Shuffle(len(deps), func(i, j int) { deps[i], deps[j] = deps[j], deps[i] })
	noIncoming := map[int]bool{}
	take := func(k int) []int {
		out := deps[:k]
		deps = deps[k:]
		return out
	}
	if len(deps) >= 3 {
		for _, i := range take(max(1, len(deps)*4/100)) {
			noIncoming[i] = true
		}
	}
	if len(deps) >= 8 {
		nc := max(1, len(deps)/150)
		for c := range 2 * nc {
			size := 2 + c%2
			members := take(size)
			g.cycles = append(g.cycles, members)
			if c < nc { // unreachable: nothing outside the cycle requires it
				for _, m := range members {
					noIncoming[m] = true
				}
			}
		}
	}

	edge := func(from, to int) bool {
		if from == to || slices.Contains(g.pkgs[from].edges, to) {
			return false
		}
		g.pkgs[from].edges = append(g.pkgs[from].edges, to)
		return true
	}
	for k, idx := range g.order {
		p := g.pkgs[idx]
		if p.kind == kindBase || k == 0 {
			continue
		}
		var want int
		switch {
		case !p.dep:
			want = g.rng.IntN(7)
		case p.kind == kindLib:
			want = g.rng.IntN(3)
		default:
			want = g.rng.IntN(4)
		}
		for try := 0; try < want*4 && len(p.edges) < want; try++ {
			to := g.order[g.rng.IntN(k)]
			if noIncoming[to] || (!g.pkgs[to].dep && !g.chance(15)) {
				continue
			}
			edge(idx, to)
		}
	}
	for _, c := range g.cycles {
		for i, m := range c {
			edge(m, c[(i+1)%len(c)])
		}
	}
	// Most dependency packages are required by something.
	required := make([]bool, n)
	for _, p := range g.pkgs {
		for _, to := range p.edges {
			required[to] = true
		}
	}
	for i, p := range g.pkgs {
		if !p.dep || required[i] || noIncoming[i] {
			continue
		}
		if k := g.pos[i]; k+1 < n {
			from := g.order[k+1+g.rng.IntN(n-k-1)]
			if g.pkgs[from].kind != kindBase {
				edge(from, i)
			}
		}
	}
	for _, c := range g.cycles[len(g.cycles)/2:] {
		// A reachable cycle hangs below an explicit package.
		for _, idx := range slices.Backward(g.order) {
			if p := g.pkgs[idx]; !p.dep && p.kind != kindBase {
				edge(idx, c[0])
				break
			}
		}
	}

	for _, p := range g.pkgs {
		for _, to := range p.edges {
			p.depends = append(p.depends, g.depString(g.pkgs[to]))
		}
		if p.soname != "" {
			p.provides = append(p.provides, fmt.Sprintf("%s=%d-64", p.soname, p.sover))
		}
		if p.virtual != "" {
			p.provides = append(p.provides, p.virtual+"="+p.ver.pkgver())
			p.conflicts = append(p.conflicts, p.virtual)
		}
		if p.kind != kindBase && g.chance(3) {
			p.conflicts = append(p.conflicts, p.name+"-legacy")
		}
		if p.kind != kindBase && g.chance(15) {
			p.groups = append(p.groups, g.pick(groupNames))
		}
	}

	// Optional dependencies: on installed packages (which keeps them out of
	// pacman -Qdt), on packages of the sync DB, and on unknown names.
	for i, p := range g.pkgs {
		if p.kind == kindBase || !g.chance(20) {
			continue
		}
		for range 1 + g.rng.IntN(3) {
			var name string
			switch r := g.rng.IntN(10); {
			case r < 5:
				to := g.rng.IntN(n)
				if to == i || g.pkgs[to].kind == kindBase || slices.Contains(p.optEdges, to) {
					continue
				}
				p.optEdges = append(p.optEdges, to)
				name = g.pkgs[to].name
			case r < 8:
				name = g.syncOnly[g.rng.IntN(len(g.syncOnly))].name
			default:
				name = "missing-" + g.pick(stems)
			}
			if g.chance(80) {
				name += ": for " + g.pick(stems) + " support"
			}
			if !slices.Contains(p.optdepends, name) {
				p.optdepends = append(p.optdepends, name)
			}
		}
	}
	// Make sure one otherwise unrequired dependency is only optional for an
	// explicit package: -Qdt keeps it, -Qdtt lists it.
	var orphans []int
	for i := range noIncoming {
		if !g.inCycle(i) {
			orphans = append(orphans, i)
		}
	}
	slices.Sort(orphans)
	if len(orphans) >= 2 {
		for _, idx := range slices.Backward(g.order) {
			if p := g.pkgs[idx]; !p.dep && p.kind != kindBase {
				if !slices.Contains(p.optEdges, orphans[0]) {
					p.optEdges = append(p.optEdges, orphans[0])
					p.optdepends = append(p.optdepends, g.pkgs[orphans[0]].name+": for extra features")
				}
				break
			}
		}
	}
}

func (g *generator) inCycle(i int) bool {
	for _, c := range g.cycles {
		if slices.Contains(c, i) {
			return true
		}
	}
	return false
}

// depString names q in a depends entry, by name, versioned name, soname or
// the virtual name a "-git" package provides. Every form is satisfied by q
// and by no other installed package.
func (g *generator) depString(q *genPkg) string {
	r := g.rng.IntN(100)
	switch {
	case q.virtual != "" && r < 70:
		return q.virtual
	case q.soname != "" && r < 40:
		return fmt.Sprintf("%s=%d-64", q.soname, q.sover)
	case q.soname != "" && r < 50:
		return q.soname
	case r < 70:
		return q.name
	case r < 92:
		return q.name + ">=" + q.ver.pkgver()
	default:
		return q.name + "=" + q.ver.String()
	}
}

// fileLists gives every package its files; each regular file is owned by
// one package, directories may be shared.
func (g *generator) fileLists() {
	g.ownedDirs = map[string]bool{}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, p := range g.pkgs {
		p.build = base + int64(g.rng.IntN(300*86400))
		p.install = p.build + int64(g.rng.IntN(30*86400)) + 3600
		p.links = map[string]string{}
		p.content = map[string]string{}
		switch {
		case p.kind == kindBase && p.name == "pacman":
			p.files = []string{"etc/makepkg.conf", "etc/pacman.conf", "usr/bin/makepkg", "usr/bin/pacman",
				"usr/bin/repo-add", "usr/share/pacman/PKGBUILD.proto"}
			p.dirs = []string{"etc/pacman.d/gnupg/", "etc/pacman.d/hooks/", "var/cache/pacman/pkg/", "var/lib/pacman/", "var/log/"}
			p.backup = []string{"etc/makepkg.conf", "etc/pacman.conf"}
			p.content["etc/pacman.conf"] = g.conf.String()
			p.content["etc/makepkg.conf"] = "# makepkg configuration\n"
			p.ownDir = "usr/share/pacman/"
		case p.kind == kindBase:
			p.files = []string{"etc/fstab", "etc/hosts", "etc/issue"}
			p.dirs = []string{"etc/", "home/", "opt/", "srv/", "usr/", "usr/bin/", "usr/include/", "usr/lib/",
				"usr/local/", "usr/local/bin/", "usr/local/lib/", "usr/local/share/", "usr/share/", "var/",
				"var/cache/", "var/lib/", "var/log/", "var/tmp/"}
			p.backup = []string{"etc/fstab", "etc/hosts"}
			p.content["etc/fstab"] = "# /etc/fstab: static file system information\n"
			p.content["etc/hosts"] = "127.0.0.1 localhost\n"
			p.ownDir = "srv/"
		default:
			g.packageFiles(p)
		}
		var size int64
		for range p.files {
			size += int64(512 + g.rng.IntN(64<<10))
		}
		p.size = size
		for _, f := range append(append([]string(nil), p.files...), p.dirs...) {
			for d := path.Dir(strings.TrimSuffix(f, "/")); d != "."; d = path.Dir(d) {
				g.ownedDirs[d+"/"] = true
			}
		}
		for _, d := range p.dirs {
			g.ownedDirs[d] = true
		}
	}
}

func (g *generator) packageFiles(p *genPkg) {
	n := 0
	if f := g.spec.FilesPerPkg; f > 0 {
		n = 1 + g.rng.IntN(2*f-1)
	}
	var primary []string
	var tree string // package-specific directory for the rest
	switch p.kind {
	case kindLib:
		so := fmt.Sprintf("usr/lib/%s.%d", p.soname, p.sover)
		primary = []string{so, "usr/lib/" + p.soname, "usr/include/" + p.name + "/" + p.name + ".h",
			"usr/lib/pkgconfig/" + p.name + ".pc", "usr/share/licenses/" + p.name + "/LICENSE"}
		p.links["usr/lib/"+p.soname] = path.Base(so)
		tree = "usr/include/" + p.name + "/"
	case kindPython:
		mod := strings.ReplaceAll(strings.TrimPrefix(p.name, "python-"), "-", "_")
		tree = "usr/lib/python3.11/site-packages/" + mod + "/"
		primary = []string{tree + "__init__.py", "usr/lib/python3.11/site-packages/" + mod + "-" + p.ver.pkgver() + ".dist-info/METADATA"}
	case kindPerl:
		mod := strings.TrimPrefix(p.name, "perl-")
		tree = "usr/share/perl5/vendor_perl/" + strings.ToUpper(mod[:1]) + mod[1:] + "/"
		primary = []string{tree + "Base.pm", "usr/share/man/man3/" + mod + ".3pm.gz"}
	case kindFont:
		tree = "usr/share/fonts/" + p.name + "/"
		primary = []string{tree + "Regular.ttf", tree + "Bold.ttf", "usr/share/licenses/" + p.name + "/LICENSE"}
	default:
		tree = "usr/share/" + p.name + "/"
		primary = []string{"usr/bin/" + p.name, "usr/share/man/man1/" + p.name + ".1.gz",
			"usr/share/doc/" + p.name + "/README.md", "usr/share/icons/hicolor/48x48/apps/" + p.name + ".png",
			"usr/share/applications/" + p.name + ".desktop"}
		if g.chance(25) && n >= 2 {
			conf := "etc/" + p.name + ".conf"
			p.backup = append(p.backup, conf)
			p.content[conf] = "# " + p.name + " configuration\nenabled = yes\n"
			primary = append([]string{conf}, primary...)
		}
	}
	p.ownDir = tree
	if n < len(primary) {
		primary = primary[:n]
		for l := range p.links {
			if !slices.Contains(primary, l) {
				delete(p.links, l)
			}
		}
		for _, b := range p.backup {
			if !slices.Contains(primary, b) {
				p.backup = nil
			}
		}
	}
	p.files = append(p.files, primary...)
	rest := n - len(primary)
	exts := []string{".py", ".so", ".png", ".json", ".txt", ".mo", ".svg", ".h", ".js", ".dat"}
	subdirs := max(1, rest/25)
	for j := range rest {
		sub := j % subdirs
		dir := tree
		if sub > 0 {
			dir += "part" + strconv.Itoa(sub/5) + "/sub" + strconv.Itoa(sub) + "/"
		}
		p.files = append(p.files, dir+"f"+strconv.Itoa(j)+exts[g.rng.IntN(len(exts))])
	}
	if !slices.ContainsFunc(p.files, func(f string) bool { return strings.HasPrefix(f, tree) }) {
		p.ownDir = "" // nothing of its own to plant strays in
	}
}

// plantUnowned chooses exactly spec.Unowned unowned paths. Every directory
// that has to be created for them and is owned by no package counts too.
func (g *generator) plantUnowned() {
	g.modified = map[string]bool{}
	for _, p := range g.pkgs {
		for _, b := range p.backup {
			if b != "etc/pacman.conf" && g.chance(10) {
				g.modified[b] = true
			}
		}
	}
	seen := map[string]bool{}
	var withDir, withPy, withBackup []*genPkg
	for _, p := range g.pkgs {
		if p.ownDir != "" {
			withDir = append(withDir, p)
			if p.kind == kindPython {
				withPy = append(withPy, p)
			}
		}
		if len(p.backup) > 0 && p.kind != kindBase {
			withBackup = append(withBackup, p)
		}
	}
	// newEntries returns the paths planting paths adds: the paths and
	// their directories that are neither owned nor planted yet.
	newEntries := func(paths []string) []string {
		var out []string
		local := map[string]bool{}
		for _, pth := range paths {
			parts := strings.Split(strings.TrimSuffix(pth, "/"), "/")
			for k := 1; k < len(parts); k++ {
				d := strings.Join(parts[:k], "/") + "/"
				if !g.ownedDirs[d] && !seen[d] && !local[d] {
					local[d] = true
					out = append(out, d)
				}
			}
			if !seen[pth] && !local[pth] {
				local[pth] = true
				out = append(out, pth)
			}
		}
		return out
	}
	k := 0
	for len(g.unowned) < g.spec.Unowned {
		k++
		left := g.spec.Unowned - len(g.unowned)
		var paths []string
		switch r := g.rng.IntN(100); {
		case r < 35 && len(withDir) > 0:
			p := withDir[g.rng.IntN(len(withDir))]
			paths = []string{p.ownDir + "stray-" + strconv.Itoa(k) + ".tmp"}
		case r < 55 && len(withPy) > 0:
			p := withPy[g.rng.IntN(len(withPy))]
			pc := p.ownDir + "__pycache__/"
			paths = []string{pc, pc + "mod" + strconv.Itoa(k) + ".cpython-311.pyc"}
		case r < 65 && len(withBackup) > 0:
			p := withBackup[g.rng.IntN(len(withBackup))]
			paths = []string{p.backup[0] + []string{".pacnew", ".pacsave"}[g.rng.IntN(2)]}
		case r < 80:
			d := "opt/" + g.pick(stems) + "-" + strconv.Itoa(k) + "/"
			paths = []string{d, d + "bin/", d + "bin/run", d + "lib/", d + "lib/core.so", d + "README"}
		case r < 90:
			paths = []string{"usr/local/bin/" + g.pick(stems) + "-" + strconv.Itoa(k)}
		default:
			d := "var/lib/" + g.pick(stems) + "-state-" + strconv.Itoa(k) + "/"
			paths = []string{d, d + "state.json"}
		}
		entries := newEntries(paths)
		if len(entries) == 0 {
			continue
		}
		if len(entries) > left {
			// Too many for what is left: a single stray file in a directory
			// that is owned or already planted.
			entries = newEntries([]string{"etc/stray-" + strconv.Itoa(k) + ".conf"})
		}
		for _, e := range entries {
			seen[e] = true
		}
		g.unowned = append(g.unowned, entries...)
	}
	sort.Strings(g.unowned)
}

// syncChoice decides which installed packages are in the sync DB (and in
// which version): most are, in the installed version or a newer pkgrel.
func (g *generator) syncChoice() {
	for _, p := range g.pkgs {
		if p.kind == kindGit || (p.kind != kindBase && g.chance(4)) {
			p.foreign = true
			continue
		}
		v := p.ver
		if p.kind != kindBase && g.chance(10) {
			v = v.newer()
		}
		p.syncVer = &v
	}
	// Always at least one foreign package.
	if len(g.pkgs) > 2 && !slices.ContainsFunc(g.pkgs, func(p *genPkg) bool { return p.foreign }) {
		p := g.pkgs[len(g.pkgs)-1]
		p.foreign, p.syncVer = true, nil
	}
}

func (p *genPkg) fileList() []string {
	set := map[string]bool{}
	for _, f := range p.files {
		set[f] = true
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			set[d+"/"] = true
		}
	}
	for _, d := range p.dirs {
		set[d] = true
		for x := path.Dir(strings.TrimSuffix(d, "/")); x != "."; x = path.Dir(x) {
			set[x+"/"] = true
		}
	}
	return sortedKeys(set)
}

func (g *generator) writeLocalDB() error {
	local := filepath.Join(g.conf.dbPath, "local")
	if err := os.MkdirAll(local, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(local, "ALPM_DB_VERSION"), []byte("9\n"), 0o644); err != nil {
		return err
	}
	return parallel(len(g.pkgs), func(i int) error {
		p := g.pkgs[i]
		d := filepath.Join(local, p.name+"-"+p.ver.String())
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
		var b bytes.Buffer
		entry(&b, "NAME", p.name)
		entry(&b, "VERSION", p.ver.String())
		entry(&b, "BASE", p.name)
		entry(&b, "DESC", p.desc())
		entry(&b, "URL", "https://example.invalid/"+p.name)
		entry(&b, "ARCH", p.arch)
		entry(&b, "BUILDDATE", strconv.FormatInt(p.build, 10))
		entry(&b, "INSTALLDATE", strconv.FormatInt(p.install, 10))
		entry(&b, "PACKAGER", p.packager())
		entry(&b, "SIZE", strconv.FormatInt(p.size, 10))
		if p.dep {
			entry(&b, "REASON", "1")
		}
		entry(&b, "GROUPS", p.groups...)
		entry(&b, "LICENSE", "MIT")
		entry(&b, "VALIDATION", "none")
		entry(&b, "DEPENDS", p.depends...)
		entry(&b, "OPTDEPENDS", p.optdepends...)
		entry(&b, "CONFLICTS", p.conflicts...)
		entry(&b, "PROVIDES", p.provides...)
		if err := os.WriteFile(filepath.Join(d, "desc"), b.Bytes(), 0o644); err != nil {
			return err
		}
		b.Reset()
		entry(&b, "FILES", p.fileList()...)
		var backup []string
		for _, f := range p.backup {
			sum := md5.Sum([]byte(p.content[f]))
			backup = append(backup, f+"\t"+hex.EncodeToString(sum[:]))
		}
		entry(&b, "BACKUP", backup...)
		return os.WriteFile(filepath.Join(d, "files"), b.Bytes(), 0o644)
	})
}

// parallel runs fn for 0..n-1 on a few goroutines and returns the first
// error. Creating files is the cost of Generate, and on a disk-backed
// file system it is latency-bound, so more workers than cores help.
func parallel(n int, fn func(i int) error) error {
	const workers = 8
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
					for range next {
					}
					return
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	return <-errs
}

// entry writes one %KEY% section as libalpm does; empty lists are omitted.
func entry(b *bytes.Buffer, key string, values ...string) {
	if len(values) == 0 {
		return
	}
	b.WriteString("%" + key + "%\n")
	for _, v := range values {
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
}

func (p *genPkg) desc() string {
	switch p.kind {
	case kindLib:
		return "A library for " + strings.TrimPrefix(p.name, "lib")
	case kindPython:
		return "Python bindings for " + strings.TrimPrefix(p.name, "python-")
	case kindBase:
		return "Base package " + p.name
	}
	return "The " + p.name + " program"
}

func (p *genPkg) packager() string {
	if p.foreign {
		return "Unknown Packager"
	}
	return "Generated Packager <gen@example.invalid>"
}

// writeSyncDB writes core.db.tar.gz the way repo-add lays it out and copies
// it to DBPath/sync/core.db, as pacman -Sy would.
func (g *generator) writeSyncDB() error {
	stage, err := os.MkdirTemp(filepath.Dir(g.repoDir), ".sync-stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	type syncPkg struct {
		p   *genPkg
		ver version
	}
	var all []syncPkg
	for _, p := range g.pkgs {
		if p.syncVer != nil {
			all = append(all, syncPkg{p, *p.syncVer})
		}
	}
	for i := range g.syncOnly {
		all = append(all, syncPkg{&g.syncOnly[i], g.syncOnly[i].ver})
	}
	var names bytes.Buffer
	var b bytes.Buffer
	for _, s := range all {
		p := s.p
		dirName := p.name + "-" + s.ver.String()
		d := filepath.Join(stage, dirName)
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
		file := p.name + "-" + s.ver.String() + "-" + p.arch + ".pkg.tar.zst"
		md := md5.Sum([]byte(file))
		sh := sha256.Sum256([]byte(file))
		b.Reset()
		entry(&b, "FILENAME", file)
		entry(&b, "NAME", p.name)
		entry(&b, "BASE", p.name)
		entry(&b, "VERSION", s.ver.String())
		entry(&b, "DESC", p.desc())
		entry(&b, "GROUPS", p.groups...)
		entry(&b, "CSIZE", strconv.FormatInt(p.size/3+1024, 10))
		entry(&b, "ISIZE", strconv.FormatInt(p.size, 10))
		entry(&b, "MD5SUM", hex.EncodeToString(md[:]))
		entry(&b, "SHA256SUM", hex.EncodeToString(sh[:]))
		entry(&b, "URL", "https://example.invalid/"+p.name)
		entry(&b, "LICENSE", "MIT")
		entry(&b, "ARCH", p.arch)
		entry(&b, "BUILDDATE", strconv.FormatInt(p.build, 10))
		entry(&b, "PACKAGER", p.packager())
		entry(&b, "CONFLICTS", p.conflicts...)
		entry(&b, "PROVIDES", p.provides...)
		entry(&b, "DEPENDS", p.depends...)
		entry(&b, "OPTDEPENDS", p.optdepends...)
		if err := os.WriteFile(filepath.Join(d, "desc"), b.Bytes(), 0o644); err != nil {
			return err
		}
		for _, x := range []string{d, filepath.Join(d, "desc")} {
			if err := lutimes(x, p.build); err != nil {
				return err
			}
		}
		names.WriteString(dirName)
		names.WriteByte(0)
	}
	db := filepath.Join(g.repoDir, "core.db.tar.gz")
	args := append([]string{"-czf", db}, rootOwner...)
	args = append(args, "--null", "--files-from", "-")
	if _, err := bsdtar(stage, bytes.NewReader(names.Bytes()), args...); err != nil {
		return fmt.Errorf("write sync db: %w", err)
	}
	if err := os.Symlink("core.db.tar.gz", filepath.Join(g.repoDir, "core.db")); err != nil {
		return err
	}
	data, err := os.ReadFile(db)
	if err != nil {
		return err
	}
	sync := filepath.Join(g.conf.dbPath, "sync")
	if err := os.MkdirAll(sync, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(sync, "core.db"), data, 0o644)
}

// writeTree creates the owned files (when asked) and the unowned ones.
// mkdirOnce returns a MkdirAll below root that skips directories it has
// already made (not safe for concurrent use).
func mkdirOnce(root string) func(rel string) error {
	made := map[string]bool{}
	return func(rel string) error {
		if made[rel] {
			return nil
		}
		made[rel] = true
		return os.MkdirAll(filepath.Join(root, rel), 0o755)
	}
}

func (g *generator) writeTree() error {
	root := g.conf.root
	if g.spec.WriteFiles {
		err := parallel(len(g.pkgs), func(i int) error {
			p := g.pkgs[i]
			mkdir := mkdirOnce(root)
			for _, d := range p.dirs {
				if err := mkdir(d); err != nil {
					return err
				}
			}
			for _, f := range p.files {
				if err := mkdir(path.Dir(f)); err != nil {
					return err
				}
				full := filepath.Join(root, f)
				if target, ok := p.links[f]; ok {
					if err := os.Symlink(target, full); err != nil {
						return err
					}
					continue
				}
				if f == "etc/pacman.conf" {
					continue // written with the real configuration
				}
				content := p.content[f]
				if g.modified[f] {
					content += "# changed by the admin\n"
				}
				if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	mkdir := mkdirOnce(root)
	for _, u := range g.unowned {
		if strings.HasSuffix(u, "/") {
			if err := mkdir(u); err != nil {
				return err
			}
			continue
		}
		if err := mkdir(path.Dir(u)); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, u), []byte("unowned\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeCache writes spec.CacheFiles package files: for installed packages
// the installed version, older ones and sometimes a newer pkgrel; also
// packages that are not installed. About a third have a .sig, and one .sig
// has no package.
func (g *generator) writeCache(res *GenResult) error {
	if g.spec.CacheFiles == 0 {
		return nil
	}
	type line struct {
		name, arch string
		cur        version // next version to write
		started    bool
		mtime      int64
	}
	var lines []*line
	for _, p := range g.pkgs {
		lines = append(lines, &line{name: p.name, arch: p.arch, cur: p.ver, mtime: p.install})
	}
	for _, s := range g.syncOnly {
		lines = append(lines, &line{name: s.name, arch: s.arch, cur: s.ver, mtime: 1704067200})
	}
	g.rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	written := map[string]bool{}
	write := func(name string, data []byte, mtime int64) error {
		full := filepath.Join(g.conf.cacheDir, name)
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return err
		}
		t := time.Unix(mtime, 0)
		return os.Chtimes(full, t, t)
	}
	stuck := 0
	for i := 0; res.CacheFiles < g.spec.CacheFiles; i++ {
		if stuck > 4*len(lines) {
			return errors.New("cache: ran out of distinct versions")
		}
		l := lines[i%len(lines)]
		// The first visit writes the installed (or sync) version and
		// sometimes the next pkgrel; later visits go back in history.
		var vers []version
		var mtimes []int64
		if !l.started {
			l.started = true
			vers, mtimes = append(vers, l.cur), append(mtimes, l.mtime)
			if g.chance(10) {
				vers, mtimes = append(vers, l.cur.newer()), append(mtimes, l.mtime+86400)
			}
		}
		for range g.rng.IntN(3) {
			older, ok := l.cur.older(g.rng)
			if !ok {
				break
			}
			l.cur = older
			l.mtime -= int64(86400 * (1 + g.rng.IntN(60)))
			vers, mtimes = append(vers, older), append(mtimes, l.mtime)
		}
		if len(vers) == 0 {
			stuck++
			continue
		}
		for j, v := range vers {
			if res.CacheFiles >= g.spec.CacheFiles {
				break
			}
			file := l.name + "-" + v.String() + "-" + l.arch + ".pkg.tar.zst"
			if written[file] {
				stuck++
				continue
			}
			written[file] = true
			data := bytes.Repeat([]byte("fake package "+file+"\n"), 1+g.rng.IntN(64))
			if err := write(file, data, mtimes[j]); err != nil {
				return err
			}
			res.CacheFiles++
			if g.chance(33) {
				if err := write(file+".sig", bytes.Repeat([]byte{0x89}, 566), mtimes[j]); err != nil {
					return err
				}
				res.CacheSigs++
			}
		}
	}
	if err := write("orphaned-sig-1.0-1-any.pkg.tar.zst.sig", bytes.Repeat([]byte{0x89}, 566), 1704067200); err != nil {
		return err
	}
	res.CacheSigs++
	return nil
}

// facts fills in the ground truth a test compares pacman and scanners with.
func (g *generator) facts(res *GenResult) {
	n := len(g.pkgs)
	required := make([]bool, n)
	optional := make([]bool, n)
	for _, p := range g.pkgs {
		for _, to := range p.edges {
			required[to] = true
		}
		for _, to := range p.optEdges {
			optional[to] = true
		}
	}
	reach := make([]bool, n)
	var stack []int
	for i, p := range g.pkgs {
		if !p.dep {
			reach[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, to := range g.pkgs[i].edges {
			if !reach[to] {
				reach[to] = true
				stack = append(stack, to)
			}
		}
	}
	dirs := map[string]bool{}
	for i, p := range g.pkgs {
		if !p.dep {
			res.Explicit++
		}
		if p.foreign {
			res.Foreign = append(res.Foreign, p.name)
		}
		if p.dep && !required[i] && !optional[i] {
			res.Unrequired = append(res.Unrequired, p.name)
		}
		if p.dep && !reach[i] {
			res.Unneeded = append(res.Unneeded, p.name)
		}
		res.OwnedFiles += len(p.files)
		for _, f := range p.fileList() {
			if strings.HasSuffix(f, "/") {
				dirs[f] = true
			}
		}
	}
	res.OwnedDirs = len(dirs)
	for _, c := range g.cycles {
		var names []string
		for _, i := range c {
			names = append(names, g.pkgs[i].name)
		}
		res.Cycles = append(res.Cycles, names)
	}
	sort.Strings(res.Foreign)
	sort.Strings(res.Unrequired)
	sort.Strings(res.Unneeded)
	res.UnownedPaths = g.unowned
	res.UnownedEntries = len(g.unowned)
}
