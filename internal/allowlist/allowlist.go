// Package allowlist reads and edits the files that keep packages and paths
// out of pactidy's findings forever.
//
// The format is line oriented. Blank lines and lines whose first non-blank
// character is '#' are comments; every other line is one entry:
//
//	path GLOB                    keep matching paths (and what is below them)
//	package NAME                 never propose NAME for removal
//	path-if-installed PKG GLOB   keep matching paths while PKG is installed
//
// GLOB is a system path; the leading '/' is optional. '*' and '?' match
// within one path component, '**' across components, [...] a character
// class, '\' quotes the next character. A match covers the subtree below
// it; a trailing '/' makes the pattern match directories only.
//
// Comments are whole lines only: a '#' after a space inside an entry is an
// error, so that a trailing remark cannot turn an entry into a pattern
// that never matches.
//
// A line that cannot be read is an error (FILE:LINE: ...), never skipped:
// a keep-entry that is silently dropped is how data gets deleted.
package allowlist

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kind is the kind of an entry.
type Kind int

// Entry kinds, spelled in the file as the keyword of the line.
const (
	KindPath Kind = iota
	KindPackage
	KindPathIfInstalled
)

var kindWords = [...]string{"path", "package", "path-if-installed"}

func (k Kind) String() string { return kindWords[k] }

// Entry is one line of an allowlist file.
type Entry struct {
	Kind Kind
	// Package is the NAME of "package" and the PKG of "path-if-installed".
	Package string
	// Glob is the pattern of path entries, normalized to one leading '/'.
	Glob string
	// File and Line say where the entry was read ("" and 0 for entries
	// made in code).
	File string
	Line int
	// fnmatch marks patterns imported from pacreport.conf, where '*'
	// crosses '/'.
	fnmatch bool
}

// String formats e as a line of an allowlist file.
func (e Entry) String() string {
	switch e.Kind {
	case KindPackage:
		return "package " + e.Package
	case KindPathIfInstalled:
		return "path-if-installed " + e.Package + " " + e.Glob
	}
	return "path " + e.Glob
}

// Source is "FILE:LINE", or "" for an entry made in code.
func (e Entry) Source() string {
	if e.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", e.File, e.Line)
}

// same reports whether two entries keep the same thing.
func (e Entry) same(o Entry) bool {
	return e.Kind == o.Kind && e.Package == o.Package && e.Glob == o.Glob && e.fnmatch == o.fnmatch
}

// ParseEntry reads one entry written as in a file ("path /opt/foo").
func ParseEntry(s string) (Entry, error) {
	if strings.ContainsAny(s, "\n\r") {
		return Entry{}, fmt.Errorf("an entry cannot contain a line break")
	}
	e, ok, err := parseLine(s)
	if err != nil {
		return Entry{}, err
	}
	if !ok {
		return Entry{}, fmt.Errorf("empty entry")
	}
	return e, nil
}

// parseLine reads one line; ok is false for blank and comment lines.
func parseLine(line string) (e Entry, ok bool, err error) {
	s := strings.TrimSpace(line)
	if s == "" || s[0] == '#' {
		return Entry{}, false, nil
	}
	word, rest := cut(s)
	switch word {
	case "path":
		if rest == "" {
			return Entry{}, false, fmt.Errorf("path: missing GLOB")
		}
		e = Entry{Kind: KindPath, Glob: normalizeGlob(rest)}
	case "package":
		if rest == "" {
			return Entry{}, false, fmt.Errorf("package: missing NAME")
		}
		if err := checkPackageName(rest); err != nil {
			return Entry{}, false, fmt.Errorf("package: %w", err)
		}
		e = Entry{Kind: KindPackage, Package: rest}
	case "path-if-installed":
		pkg, glob := cut(rest)
		if pkg == "" || glob == "" {
			return Entry{}, false, fmt.Errorf("path-if-installed: want PKG GLOB")
		}
		if err := checkPackageName(pkg); err != nil {
			return Entry{}, false, fmt.Errorf("path-if-installed: %w", err)
		}
		e = Entry{Kind: KindPathIfInstalled, Package: pkg, Glob: normalizeGlob(glob)}
	default:
		return Entry{}, false, fmt.Errorf("unknown entry %q: want 'path GLOB', 'package NAME' or 'path-if-installed PKG GLOB'", word)
	}
	if e.Glob != "" {
		if i := strings.IndexByte(e.Glob, '#'); i > 0 && (e.Glob[i-1] == ' ' || e.Glob[i-1] == '\t') {
			return Entry{}, false, fmt.Errorf("%q: comments go on their own line (write [#] for a literal '#' after a space)", e.Glob)
		}
		if _, err := compileGlob(e.Glob, componentSyntax); err != nil {
			return Entry{}, false, fmt.Errorf("bad pattern %q: %w", e.Glob, err)
		}
	}
	return e, true, nil
}

func cut(s string) (word, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i+1:])
}

// checkPackageName accepts what pacman accepts as a package name: letters
// and digits (ASCII), '@', '.', '_', '+' and '-', not starting with '-' or
// '.'. Anything else (a control character, a glob) can never name an
// installed package, and an entry that can never match must not look as
// if it kept something.
func checkPackageName(n string) error {
	bad := n == "" || n[0] == '-' || n[0] == '.'
	for i := 0; i < len(n) && !bad; i++ {
		c := n[i]
		bad = !isAlnum(c) && strings.IndexByte("@._+-", c) < 0
	}
	if !bad {
		return nil
	}
	if strings.ContainsAny(n, "*?[") {
		return fmt.Errorf("%q is not a package name (globs are not supported: name each package)", n)
	}
	return fmt.Errorf("%q is not a package name (pacman allows letters, digits and @._+- only)", n)
}

// ParseError points at the file and line that could not be read.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads an allowlist file's contents; name is used in errors and in
// the entries' File.
func Parse(name string, r io.Reader) ([]Entry, error) {
	var out []Entry
	err := eachLine(name, r, func(n int, line string) error {
		e, ok, err := parseLine(line)
		if err != nil || !ok {
			return err
		}
		e.File, e.Line = name, n
		out = append(out, e)
		return nil
	})
	return out, err
}

// eachLine calls fn for every line; an error of fn becomes a ParseError.
func eachLine(name string, r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(n, sc.Text()); err != nil {
			return &ParseError{File: name, Line: n, Err: err}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// ParsePacreport imports pacreport's configuration (/etc/pacreport.conf):
// "IgnoreUnowned = GLOB" in [Options] and "PKG = GLOB" in
// [PkgIgnoreUnowned]. Patterns match with or without a leading '/' (for
// pacreport a leading '/' never matches), and '*' crosses '/' as in
// pacreport. Other options are pacreport's own business and are skipped.
func ParsePacreport(name string, r io.Reader) ([]Entry, error) {
	var out []Entry
	section := ""
	err := eachLine(name, r, func(n int, line string) error {
		s := strings.TrimSpace(line)
		if s == "" || s[0] == '#' {
			return nil
		}
		if strings.HasPrefix(s, "[") {
			if !strings.HasSuffix(s, "]") {
				return fmt.Errorf("bad section header %q", s)
			}
			section = strings.TrimSpace(s[1 : len(s)-1])
			return nil
		}
		key, val, found := strings.Cut(s, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		var e Entry
		switch {
		case section == "Options" && key == "IgnoreUnowned":
			e = Entry{Kind: KindPath}
		case section == "PkgIgnoreUnowned":
			if err := checkPackageName(key); err != nil || key == "" {
				return fmt.Errorf("[PkgIgnoreUnowned]: %q is not a package name", key)
			}
			e = Entry{Kind: KindPathIfInstalled, Package: key}
		default:
			return nil
		}
		if !found || val == "" {
			return fmt.Errorf("%s: missing '= GLOB'", key)
		}
		e.Glob, e.fnmatch = normalizeGlob(val), true
		if _, err := compileGlob(e.Glob, fnmatchSyntax); err != nil {
			return fmt.Errorf("bad pattern %q: %w", val, err)
		}
		e.File, e.Line = name, n
		out = append(out, e)
		return nil
	})
	return out, err
}

// ParseLostfiles imports lostfiles' exclusions: lines "-/GLOB" ('*' within
// a component, '**' across). "+/path" lines name lostfiles' search roots;
// pactidy scans the whole root and skips them.
func ParseLostfiles(name string, r io.Reader) ([]Entry, error) {
	var out []Entry
	err := eachLine(name, r, func(n int, line string) error {
		s := strings.TrimSpace(line)
		if s == "" || s[0] == '#' || s[0] == '+' {
			return nil
		}
		if s[0] != '-' || len(s) < 2 {
			return fmt.Errorf("want '-/glob' or '+/path', got %q", s)
		}
		e := Entry{Kind: KindPath, Glob: normalizeGlob(s[1:]), File: name, Line: n}
		if _, err := compileGlob(e.Glob, componentSyntax); err != nil {
			return fmt.Errorf("bad pattern %q: %w", s[1:], err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// List is the merged allowlist of every file that was read.
//
// Path entries are indexed so that matching a path costs a few map
// lookups per component of the path, not one test per entry: a pattern
// without wildcards is a key of exact, any other pattern sits in byPrefix
// under the literal directories it starts with ("usr/share" for
// "/usr/share/*/foo"), which every path it can match starts with.
type List struct {
	entries  []Entry
	packages map[string]bool
	// paths holds the compiled path entries; index i is the i-th path
	// entry read, and the lowest index that matches wins (file order).
	paths []compiled
	// exact and byPrefix map a key to the first path entry under it; the
	// entry's next links to the following one (-1 ends the chain).
	exact    map[string]int32
	byPrefix map[string]int32
	last     map[string]int32 // the chain ends while building
}

type compiled struct {
	g     glob
	pkg   string // "" for unconditional entries
	entry int32  // index into entries
	next  int32  // the next path entry with the same key, or -1
}

// New compiles entries into a List.
func New(entries []Entry) (*List, error) {
	l := &List{
		entries:  make([]Entry, 0, len(entries)),
		packages: make(map[string]bool),
		paths:    make([]compiled, 0, len(entries)),
		exact:    make(map[string]int32, len(entries)),
		byPrefix: make(map[string]int32),
		last:     make(map[string]int32, len(entries)),
	}
	for _, e := range entries {
		if err := l.add(e); err != nil {
			return nil, err
		}
	}
	l.last = nil
	return l, nil
}

func (l *List) add(e Entry) error {
	l.entries = append(l.entries, e)
	if e.Kind == KindPackage {
		l.packages[e.Package] = true
		return nil
	}
	syntax := componentSyntax
	if e.fnmatch {
		syntax = fnmatchSyntax
	}
	g, err := compileGlob(e.Glob, syntax)
	if err != nil {
		if e.File != "" {
			return &ParseError{File: e.File, Line: e.Line, Err: err}
		}
		return fmt.Errorf("bad pattern %q: %w", e.Glob, err)
	}
	c := compiled{g: *g, entry: int32(len(l.entries) - 1), next: -1}
	if e.Kind == KindPathIfInstalled {
		c.pkg = e.Package
	}
	idx := int32(len(l.paths))
	l.paths = append(l.paths, c)
	index, key := l.exact, g.p
	if lit := literalLen(g.p); lit < len(g.p) {
		index, key = l.byPrefix, ""
		if i := strings.LastIndexByte(g.p[:lit], '/'); i >= 0 {
			key = g.p[:i]
		}
	}
	// The chain ends of both indexes share one map: "\x00" marks the
	// prefix keys (no path holds a NUL).
	lastKey := key
	if lit := literalLen(g.p); lit < len(g.p) {
		lastKey = "\x00" + key
	}
	if prev, ok := l.last[lastKey]; ok {
		l.paths[prev].next = idx
	} else {
		index[key] = idx
	}
	l.last[lastKey] = idx
	return nil
}

// literalLen is the length of the part of p before its first wildcard,
// class or quote.
func literalLen(p string) int {
	if i := strings.IndexAny(p, `*?[\`); i >= 0 {
		return i
	}
	return len(p)
}

// Entries returns every entry in the order read.
func (l *List) Entries() []Entry {
	if l == nil {
		return nil
	}
	return append([]Entry(nil), l.entries...)
}

// KeepsPackage reports whether a "package" entry keeps name.
func (l *List) KeepsPackage(name string) bool {
	return l != nil && l.packages[name]
}

// Packages lists the names kept by "package" entries, sorted.
func (l *List) Packages() []string {
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l.packages))
	for n := range l.packages {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// KeepsPath reports whether a path entry keeps systemPath (absolute, as
// the system sees it; a directory ends with '/'). installed tells whether
// a package is installed, for path-if-installed entries; nil means none is.
func (l *List) KeepsPath(systemPath string, installed func(string) bool) bool {
	_, ok := l.Match(systemPath, installed)
	return ok
}

// Match is KeepsPath that also returns the entry that keeps the path.
func (l *List) Match(systemPath string, installed func(string) bool) (Entry, bool) {
	if l == nil {
		return Entry{}, false
	}
	rel := strings.TrimLeft(systemPath, "/")
	if rel == "" {
		return Entry{}, false
	}
	isDir := strings.HasSuffix(rel, "/")
	plain := strings.TrimRight(rel, "/")
	best := int32(-1)
	usable := func(idx int32) bool {
		if best >= 0 && idx > best {
			return false
		}
		c := &l.paths[idx]
		return c.pkg == "" || (installed != nil && installed(c.pkg))
	}
	// Every ancestor of the path and the path itself: a literal entry
	// equal to one of them keeps the path (a directories-only entry
	// only when what it names is a directory); a pattern starting with
	// one of them may.
	for end := 0; ; {
		prefix := plain[:end]
		if idx, ok := l.byPrefix[prefix]; ok {
			for ; idx >= 0 && (best < 0 || idx < best); idx = l.paths[idx].next {
				if usable(idx) && l.paths[idx].g.match(rel) {
					best = idx
				}
			}
		}
		if idx, ok := l.exact[prefix]; ok && end > 0 {
			for ; idx >= 0 && (best < 0 || idx < best); idx = l.paths[idx].next {
				if usable(idx) && (!l.paths[idx].g.dirOnly || end < len(plain) || isDir) {
					best = idx
				}
			}
		}
		if end == len(plain) {
			break
		}
		if next := strings.IndexByte(plain[end+1:], '/'); next >= 0 {
			end += 1 + next
		} else {
			end = len(plain)
		}
	}
	if best < 0 {
		return Entry{}, false
	}
	return l.entries[l.paths[best].entry], true
}

// HasPathEntries reports whether any path entry exists (a scan can skip
// the checks otherwise).
func (l *List) HasPathEntries() bool { return l != nil && len(l.paths) > 0 }

// Sources says where the allowlist files are.
type Sources struct {
	// SysConfDir is the running system's configuration directory, "/etc"
	// unless a test points it elsewhere. Like pacman, pactidy reads its own
	// configuration from the running system even with --root; the paths in
	// it are paths as seen inside the root.
	SysConfDir string
	// Extra files (--allowlist), read after the system ones; they must exist.
	Extra []string
}

// Files returns the files Load reads, in order, with the reader of each.
// Missing system files are skipped; the main file and allowlist.d come
// first, then the imported pacreport and lostfiles configurations, then
// Extra.
func (s Sources) files() ([]source, error) {
	etc := s.SysConfDir
	if etc == "" {
		etc = "/etc"
	}
	out := []source{{path: filepath.Join(etc, "pactidy", "allowlist"), parse: Parse, optional: true}}
	drop, err := dirFiles(filepath.Join(etc, "pactidy", "allowlist.d"), "*.conf")
	if err != nil {
		return nil, err
	}
	for _, d := range drop {
		out = append(out, source{path: d, parse: Parse, optional: true})
	}
	out = append(out,
		source{path: filepath.Join(etc, "pacreport.conf"), parse: ParsePacreport, optional: true},
		source{path: filepath.Join(etc, "lostfiles.conf"), parse: ParseLostfiles, optional: true})
	// lostfiles' drop-in directory; every file in it, in lexical order.
	lf, err := dirFiles(filepath.Join(etc, "lostfiles.d"), "*")
	if err != nil {
		return nil, err
	}
	for _, d := range lf {
		fi, err := os.Stat(d)
		switch {
		case err == nil && fi.Mode().IsRegular():
			out = append(out, source{path: d, parse: ParseLostfiles, optional: true})
		case err != nil && !os.IsNotExist(err):
			return nil, fmt.Errorf("read allowlist: %w", err)
		}
	}
	for _, x := range s.Extra {
		out = append(out, source{path: x, parse: Parse})
	}
	return out, nil
}

// dirFiles lists the names in dir matching pattern, sorted, as full
// paths. A missing directory has none; a directory that cannot be read is
// an error (filepath.Glob would report no match, and the entries of the
// files in it would be dropped without a word).
func dirFiles(dir, pattern string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read allowlist directory: %w", err)
	}
	var out []string
	for _, e := range ents {
		if ok, _ := filepath.Match(pattern, e.Name()); ok && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

type source struct {
	path     string
	parse    func(string, io.Reader) ([]Entry, error)
	optional bool
}

// Load reads every allowlist file. A missing system file is fine; a
// missing --allowlist file, an unreadable file or a bad line is an error.
func Load(s Sources) (*List, error) {
	files, err := s.files()
	if err != nil {
		return nil, err
	}
	var all []Entry
	for _, f := range files {
		fh, err := os.Open(f.path)
		if err != nil {
			if f.optional && os.IsNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("read allowlist: %w", err)
		}
		es, err := f.parse(f.path, fh)
		fh.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	return New(all)
}
