package scan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/pactidy/pactidy/internal/fsafe"
	"github.com/pactidy/pactidy/internal/pkg"
)

// Kinds of user data, by where an entry lives in a home.
const (
	UserKindCache  = "cache"  // ~/.cache
	UserKindConfig = "config" // ~/.config
	UserKindData   = "data"   // ~/.local/share
	UserKindState  = "state"  // ~/.local/state
	UserKindHome   = "home"   // a dot-directory directly in the home
)

// userDirs are the places looked through, relative to a home.
var userDirs = []struct{ rel, kind string }{
	{".config", UserKindConfig},
	{".cache", UserKindCache},
	{".local/share", UserKindData},
	{".local/state", UserKindState},
}

// Home is one user's home directory.
type Home struct {
	User string
	UID  int
	GID  int
	// Dir is the home as the target system sees it (/home/alice); the scan
	// reads it below the root.
	Dir string
	// Login is set for a user with a login shell.
	Login bool
}

// UserEntry is one top-level entry of a home's data directories.
type UserEntry struct {
	User string
	// Path as the target system sees it.
	Path    string
	Kind    string
	Type    string // dir, file, symlink, other
	Size    int64  // bytes of the regular files in the tree
	Entries int    // entries below it (0 for a file)
	// MTime is the newest modification time in the tree.
	MTime time.Time
	// Identity is what the entry was when scanned; a removal checks it.
	Identity fsafe.Identity
	// MatchedBy is the evidence that an installed program uses the entry
	// ("package firefox", "binary /usr/bin/foo", "shared location"), empty
	// for a finding.
	MatchedBy string
	// Checked are the names looked for, for a finding: the entry's name
	// reduced as the match reduces it.
	Checked []string
	// Incomplete is set when part of the tree could not be read: size and
	// entries count only the readable part.
	Incomplete bool
}

// SafeToDrop tells whether the entry only holds data a program recreates.
func (e UserEntry) SafeToDrop() bool { return e.Kind == UserKindCache }

// UserDataOptions configure UserData.
type UserDataOptions struct {
	// Root is the target root ("/" or --root).
	Root  string
	Homes []Home
	// DB is the local database with file lists.
	DB *pkg.DB
	// Keep reports entries the allowlist keeps (the user's own allowlist
	// included); they are left out entirely. May be nil.
	Keep func(user, path string) bool
}

// UserData lists the top-level entries of each home's ~/.config, ~/.cache,
// ~/.local/share and ~/.local/state and the dot-directories directly in the
// home, and decides for each whether an installed program plausibly uses
// it. found are the entries with no installed owner, largest first; matched
// are the others, with their evidence. A home or directory that cannot be
// read is an error in errs (never "empty"); a missing data directory is
// simply not there.
//
// It is a heuristic: a match is a name that an installed package, one of
// its provisions or groups, a binary, a desktop file or a directory a
// package owns reduces to, so a program installed outside pacman (or whose
// data is named unlike anything it installs) shows up as a finding.
func UserData(ctx context.Context, opts UserDataOptions) (found, matched []UserEntry, errs []PathError) {
	idx, ierrs := newOwnerIndex(opts.Root, opts.DB)
	errs = append(errs, ierrs...)
	for _, h := range opts.Homes {
		if ctx.Err() != nil {
			errs = append(errs, PathError{Path: h.Dir, Err: ctx.Err()})
			break
		}
		ents, herrs := homeEntries(opts.Root, h)
		errs = append(errs, herrs...)
		for _, e := range ents {
			if opts.Keep != nil && opts.Keep(h.User, e.Path) {
				continue
			}
			e.MatchedBy, e.Checked = idx.match(e.Kind, path.Base(e.Path))
			if e.MatchedBy != "" {
				e.Checked = nil
				matched = append(matched, e)
			} else {
				found = append(found, e)
			}
		}
	}
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].Size != found[j].Size {
			return found[i].Size > found[j].Size
		}
		return found[i].Path < found[j].Path
	})
	sort.SliceStable(matched, func(i, j int) bool { return matched[i].Path < matched[j].Path })
	return found, matched, errs
}

// homeEntries reads one home by directory handle from the root down.
func homeEntries(root string, h Home) ([]UserEntry, []PathError) {
	var errs []PathError
	home, err := openBelow(root, h.Dir)
	if err != nil {
		return nil, []PathError{{Path: h.Dir, Err: err}}
	}
	defer home.Close()
	var out []UserEntry
	for _, d := range userDirs {
		dir, err := openRel(home, d.rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, PathError{Path: path.Join(h.Dir, d.rel), Err: err})
			continue
		}
		ents, derrs := dirEntries(dir, h, path.Join(h.Dir, d.rel), d.kind, nil)
		dir.Close()
		out = append(out, ents...)
		errs = append(errs, derrs...)
	}
	// Dot-directories in the home itself; the data directories above are
	// looked into, not listed.
	skip := map[string]bool{".config": true, ".cache": true, ".local": true}
	ents, herrs := dirEntries(home, h, h.Dir, UserKindHome, func(name string, st fsafe.Stat) bool {
		return strings.HasPrefix(name, ".") && st.IsDir() && !skip[name]
	})
	return append(out, ents...), append(errs, herrs...)
}

// dirEntries measures each entry of dir that want accepts (all when nil).
func dirEntries(dir *fsafe.Dir, h Home, dirPath, kind string, want func(string, fsafe.Stat) bool) ([]UserEntry, []PathError) {
	names, err := dir.ReadDir()
	if err != nil {
		return nil, []PathError{{Path: dirPath, Err: err}}
	}
	sort.Strings(names)
	var out []UserEntry
	var errs []PathError
	for _, name := range names {
		p := path.Join(dirPath, name)
		st, err := dir.Lstat(name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, PathError{Path: p, Err: err})
			}
			continue
		}
		if want != nil && !want(name, st) {
			continue
		}
		e := UserEntry{User: h.User, Path: p, Kind: kind, Type: typeName(st), Identity: st.ID(), MTime: st.Mtime}
		if st.IsRegular() {
			e.Size = st.Size
		}
		if st.IsDir() {
			sub, err := dir.OpenDir(name)
			if err == nil && !sub.Stat().ID().Matches(st) {
				sub.Close()
				err = fmt.Errorf("changed while it was read")
			}
			if err != nil {
				errs = append(errs, PathError{Path: p, Err: err})
				e.Incomplete = true
			} else {
				e.Incomplete = measure(sub, p, st.Dev, &e, &errs)
				sub.Close()
			}
		}
		out = append(out, e)
	}
	return out, errs
}

// measure adds the tree below d to e, never following a symlink and never
// leaving d's filesystem. It reports whether part of it was unreadable.
func measure(d *fsafe.Dir, dirPath string, dev uint64, e *UserEntry, errs *[]PathError) (incomplete bool) {
	names, err := d.ReadDir()
	if err != nil {
		*errs = append(*errs, PathError{Path: dirPath, Err: err})
		return true
	}
	for _, name := range names {
		p := dirPath + "/" + name
		st, err := d.Lstat(name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				*errs = append(*errs, PathError{Path: p, Err: err})
				incomplete = true
			}
			continue
		}
		e.Entries++
		if st.Mtime.After(e.MTime) {
			e.MTime = st.Mtime
		}
		switch {
		case st.IsRegular():
			e.Size += st.Size
		case st.IsDir() && st.Dev == dev:
			sub, err := d.OpenDir(name)
			if err != nil {
				*errs = append(*errs, PathError{Path: p, Err: err})
				incomplete = true
				continue
			}
			if measure(sub, p, dev, e, errs) {
				incomplete = true
			}
			sub.Close()
		}
	}
	return incomplete
}

func typeName(st fsafe.Stat) string {
	switch {
	case st.IsRegular():
		return "file"
	case st.IsDir():
		return "dir"
	case st.Type == fs.ModeSymlink:
		return "symlink"
	}
	return "other"
}

// openBelow opens dir (as the target sees it) below root, one component at
// a time, never through a symlink: a home is its user's to rearrange.
func openBelow(root, dir string) (*fsafe.Dir, error) {
	r, err := fsafe.OpenDir(root)
	if err != nil {
		return nil, err
	}
	d, err := openRel(r, strings.TrimPrefix(path.Clean("/"+dir), "/"))
	r.Close()
	return d, err
}

// openRel opens the relative path rel below d by handles. The result is a
// new Dir; d stays open.
func openRel(d *fsafe.Dir, rel string) (*fsafe.Dir, error) {
	cur := d
	for _, c := range strings.Split(rel, "/") {
		if c == "" {
			continue
		}
		next, err := cur.OpenDir(c)
		if cur != d {
			cur.Close()
		}
		if err != nil {
			return nil, err
		}
		cur = next
	}
	if cur == d {
		return nil, fmt.Errorf("open %s: empty path", d.Path())
	}
	return cur, nil
}

// sharedLocations are used by many programs (or by the desktop itself);
// they are always kept. Keyed by kind and exact name.
var sharedLocations = map[string][]string{
	UserKindCache: {"fontconfig", "thumbnails", "mesa_shader_cache", "mesa_shader_cache_db", "nvidia", "radv_builtin_shaders64",
		"icon-cache.kcache", "ksycoca5", "ksycoca6", "pactidy", "sessions", "dconf", "gstreamer-1.0", "babl", "gegl-0.4", "event-sound-cache.tdb"},
	UserKindConfig: {"autostart", "mimeapps.list", "user-dirs.dirs", "user-dirs.locale", "pulse", "dconf", "gtk-2.0", "gtk-3.0",
		"gtk-4.0", "fontconfig", "environment.d", "systemd", "menus", "xsettingsd", "kdeglobals", "QtProject.conf",
		"Trolltech.conf", "pactidy", "ibus", "enchant", "gnome-session", "monitors.xml", "session", "xdg-desktop-portal",
		"dbus-1", "mimeapps", "gconf", "Mousepad"},
	UserKindData: {"applications", "keyrings", "Trash", "recently-used.xbel", "icons", "fonts", "mime", "sounds", "themes",
		"desktop-directories", "systemd", "gvfs-metadata", "pactidy", "backgrounds", "sessions", "xorg", "dbus-1",
		"flatpak", "color", "gnome-shell", "user-places.xbel"},
	UserKindState: {"wireplumber", "pactidy", "lesshst", "bash", "zsh"},
	UserKindHome: {".ssh", ".gnupg", ".pki", ".icons", ".fonts", ".themes", ".local", ".var", ".dbus", ".compose-cache",
		".terminfo", ".w3m", ".password-store", ".thumbnails", ".Trash"},
}

// aliases name the package of data directories whose names say nothing
// about the program that writes them.
var aliases = map[string][]string{
	"mozilla":       {"firefox", "thunderbird", "librewolf", "firefox-esr", "seamonkey"},
	"thunderbird":   {"thunderbird"},
	"google-chrome": {"google-chrome", "google-chrome-beta", "google-chrome-unstable"},
	"code":          {"code", "visual-studio-code-bin", "vscodium", "vscodium-bin"},
	"code - oss":    {"code"},
	"vscode":        {"code", "visual-studio-code-bin", "vscodium", "vscodium-bin"},
	"cargo":         {"rust", "rustup", "cargo"},
	"rustup":        {"rustup"},
	"npm":           {"npm", "nodejs"},
	"go":            {"go"},
	"gradle":        {"gradle"},
	"m2":            {"maven"},
	"wine":          {"wine", "wine-staging"},
	"steam":         {"steam"},
	"nv":            {"nvidia-utils"},
	"electron":      {"electron"},
	"pip":           {"python-pip"},
}

// ownerIndex maps reduced names to the evidence that something installed
// uses them.
type ownerIndex struct {
	names  map[string]string
	shared map[string]map[string]bool
}

// newOwnerIndex indexes what the installed packages name: package names,
// provisions, groups, binaries in /usr/bin, desktop files (their names,
// Exec and StartupWMClass) and the directories /etc/xdg/NAME/,
// /usr/share/NAME/ and /usr/lib/NAME/ packages own.
func newOwnerIndex(root string, db *pkg.DB) (*ownerIndex, []PathError) {
	idx := &ownerIndex{names: map[string]string{}, shared: map[string]map[string]bool{}}
	for kind, names := range sharedLocations {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		idx.shared[kind] = m
	}
	var errs []PathError
	var desktop []string
	installed := map[string]bool{}
	for _, p := range db.Packages {
		installed[p.Name] = true
		idx.add(p.Name, "package "+p.Name)
		if p.Base != "" {
			idx.add(p.Base, "package base "+p.Base+" ("+p.Name+")")
		}
		for _, d := range p.Provides {
			idx.add(d.Name, "provided by package "+p.Name)
		}
		for _, g := range p.Groups {
			idx.add(g, "group "+g+" ("+p.Name+")")
		}
		for _, f := range p.Files {
			switch {
			case strings.HasPrefix(f, "usr/bin/") && !strings.HasSuffix(f, "/"):
				idx.add(f[len("usr/bin/"):], "binary /"+f+" ("+p.Name+")")
			case strings.HasPrefix(f, "usr/share/applications/") && strings.HasSuffix(f, ".desktop"):
				name := strings.TrimSuffix(f[len("usr/share/applications/"):], ".desktop")
				if !strings.Contains(name, "/") {
					idx.add(name, "desktop file /"+f+" ("+p.Name+")")
					desktop = append(desktop, f)
				}
			default:
				for _, pre := range []string{"etc/xdg/", "usr/share/", "usr/lib/"} {
					rest, ok := strings.CutPrefix(f, pre)
					if ok && strings.Count(rest, "/") == 1 && strings.HasSuffix(rest, "/") {
						idx.add(strings.TrimSuffix(rest, "/"), "directory /"+f+" ("+p.Name+")")
					}
				}
			}
		}
	}
	for alias, pkgs := range aliases {
		for _, p := range pkgs {
			if installed[p] {
				idx.add(alias, "package "+p)
				break
			}
		}
	}
	if len(desktop) > 0 {
		r, err := fsafe.OpenDir(root)
		if err != nil {
			return idx, append(errs, PathError{Path: "/", Err: err})
		}
		defer r.Close()
		for _, f := range desktop {
			keys, err := desktopKeys(r, f)
			if err != nil {
				errs = append(errs, PathError{Path: "/" + f, Err: err})
				continue
			}
			for _, k := range keys {
				idx.add(k, "desktop file /"+f)
			}
		}
	}
	return idx, errs
}

// desktopKeys reads Exec's program name and StartupWMClass from a desktop
// file below the root. A missing file is no error: the missing section
// reports it.
func desktopKeys(root *fsafe.Dir, rel string) ([]string, error) {
	dir, err := openRel(root, path.Dir(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	st, err := dir.Lstat(path.Base(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !st.IsRegular() {
		return nil, nil
	}
	f, _, err := dir.Open(path.Base(rel), st.ID())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		k, v, ok := bytes.Cut(line, []byte("="))
		if !ok {
			continue
		}
		switch string(bytes.TrimSpace(k)) {
		case "Exec", "TryExec":
			fields := strings.Fields(string(v))
			for len(fields) > 0 && (fields[0] == "env" || strings.Contains(fields[0], "=")) {
				fields = fields[1:]
			}
			if len(fields) > 0 {
				keys = append(keys, path.Base(strings.Trim(fields[0], `"'`)))
			}
		case "StartupWMClass":
			keys = append(keys, strings.TrimSpace(string(v)))
		}
	}
	return keys, sc.Err()
}

func (idx *ownerIndex) add(name, evidence string) {
	for _, k := range reduce(name) {
		if _, ok := idx.names[k]; !ok {
			idx.names[k] = evidence
		}
	}
}

// match returns the evidence that something installed uses an entry of
// this kind and name, or "" and the reduced names that were looked for.
func (idx *ownerIndex) match(kind, name string) (string, []string) {
	if idx.shared[kind][name] {
		return "shared location", nil
	}
	keys := reduce(name)
	for _, k := range keys {
		if ev, ok := idx.names[k]; ok {
			return ev, nil
		}
	}
	return "", keys
}

// reverseDNS are the first labels of reverse-DNS application ids
// (org.gnome.Nautilus).
var reverseDNS = map[string]bool{"org": true, "com": true, "io": true, "net": true, "de": true, "dev": true,
	"app": true, "me": true, "fr": true, "uk": true, "ch": true, "nl": true, "info": true, "edu": true, "page": true}

var dropSuffixes = []string{"-git", "-bin", "-nightly", "-beta", "-devel", "-dev", "-stable", "-appimage", "-unstable",
	"-electron", ".d", ".conf", ".cfg", ".ini", ".json", ".toml", ".yaml", ".yml", ".xml", ".rc", ".db", ".sqlite",
	".log", ".list", ".xbel", ".state", ".lock"}

// reduce returns the forms of a name that are compared: lower case, without
// a leading dot, a reverse-DNS id reduced to its last label, common
// suffixes (-git, -bin, .d, file extensions) dropped, a trailing version
// (gtk-3.0, python3.12) dropped, and all of these without separators.
func reduce(name string) []string {
	seen := map[string]bool{}
	var out []string
	addForm := func(s string) {
		if len(s) < 2 || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	s := strings.ToLower(strings.TrimPrefix(name, "."))
	forms := []string{s}
	if labels := strings.Split(s, "."); len(labels) >= 3 && reverseDNS[labels[0]] {
		forms = append(forms, labels[len(labels)-1], strings.Join(labels[1:], "."))
	}
	for _, f := range forms {
		for changed := true; changed; {
			changed = false
			for _, suf := range dropSuffixes {
				if t, ok := strings.CutSuffix(f, suf); ok && len(t) >= 2 {
					addForm(f)
					f, changed = t, true
				}
			}
		}
		addForm(f)
		v := strings.TrimRight(f, "0123456789.-_")
		addForm(v)
		addForm(squash(f))
		addForm(squash(v))
	}
	return out
}

// squash drops everything but letters and digits.
func squash(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}
