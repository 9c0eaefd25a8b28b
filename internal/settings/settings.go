// Package settings reads pactidy's own settings file,
// /etc/pactidy/pactidy.conf, written in pacman.conf's style:
//
//	# a comment, on its own line
//	[report]
//	Sections = orphans unneeded foreign missing pacfiles
//	Optional = ignore
//	NoRule = pycache
//	UnownedExclude = /srv/data
//	PrometheusFile = /var/lib/prometheus/node-exporter/pactidy.prom
//	[cache]
//	Keep = 2
//	KeepUninstalled = 0
//	[clean]
//	Elevate = doas
//	[quarantine]
//	Dir = /var/lib/pactidy/quarantine
//	Retention = 30d
//	Include = /etc/pactidy/pactidy.conf.d/*.conf
//
// Every value has a default; the file only changes what it names. NoRule
// and UnownedExclude may be repeated (each line adds); for the other keys
// the last line wins. An unknown section or key, a missing value or a bad
// one stops with FILE:LINE: what is wrong, like the allowlist: a setting
// that is silently ignored is a setting the user believes in and does not
// have.
//
// The command line overrides a setting (Override); every value remembers
// where it came from (the default, FILE:LINE or the flag), for `pactidy
// settings`.
package settings

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// Name is the settings file below the system configuration directory.
const Name = "pactidy/pactidy.conf"

// Default values that are not plain zero values.
const (
	DefaultKeep      = 3
	DefaultRetention = "30d"
	// Never as the Retention keeps quarantined files until purged by hand.
	Never = "never"
)

// Settings are the effective values.
type Settings struct {
	// [report]
	// Sections of a report without --only, in report order.
	Sections []string
	// Optional is "keep" or "ignore" (report --optional).
	Optional string
	// NoRules are the built-in unowned rules switched off (report --no-rule).
	NoRules []string
	// UnownedExcludes are system paths or globs the unowned scan skips,
	// besides the built-in exclusions (report --unowned-exclude).
	UnownedExcludes []string
	// PrometheusFile is where `report --metrics` (the report timer) also
	// writes the Prometheus gauges; "" writes none.
	PrometheusFile string

	// [cache]
	// Keep is the number of versions kept of installed packages.
	Keep int
	// KeepUninstalled is the number kept of packages that are not
	// installed; -1 means the same as Keep.
	KeepUninstalled int

	// [clean]
	// Elevate is the command that runs pacman for a normal user (sudo,
	// doas, run0 or a command line); "" means the default (sudo when
	// present).
	Elevate string

	// [quarantine]
	// QuarantineDir holds quarantined files; "" means
	// /var/lib/pactidy/quarantine of the target root.
	QuarantineDir string
	// Retention is how long quarantined files are kept before a purge
	// (30d, 2w, 12h), or "never".
	Retention string

	// File is the settings file that was read ("" when there was none).
	File    string
	origins map[string][]Origin
}

// Origin says where a value came from.
type Origin struct {
	File string // the settings file, or "" for a default or a flag
	Line int
	Flag string // "--keep": the command line
}

func (o Origin) String() string {
	switch {
	case o.Flag != "":
		return "flag " + o.Flag
	case o.File != "":
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return "default"
}

// Error is a line of a settings file that cannot be used.
type Error struct {
	File string
	Line int // 0 when the whole file is at fault
	Err  error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("settings %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Default returns the built-in settings.
func Default() *Settings {
	return &Settings{
		Sections:        append([]string(nil), report.AllSections...),
		Optional:        "keep",
		Keep:            DefaultKeep,
		KeepUninstalled: -1,
		Retention:       DefaultRetention,
		origins:         map[string][]Origin{},
	}
}

// key is one setting: where it lives, how a value is read and shown.
type key struct {
	section, name string
	// list keys add a value per line (or per word, for words lists);
	// the others replace theirs.
	list bool
	// words: a value is several words (spaces or commas between them).
	words bool
	set   func(s *Settings, v string) error
	reset func(s *Settings)
	show  func(s *Settings) []string
}

// ID is "section.Key", the name Origin and Override take.
func (k *key) ID() string { return k.section + "." + k.name }

var keys = []*key{
	{section: "report", name: "Sections", words: true,
		set: func(s *Settings, v string) error {
			want := map[string]bool{}
			for _, w := range words(v) {
				if !contains(report.AllSections, w) {
					return fmt.Errorf("unknown section %q: want some of %s", w, strings.Join(report.AllSections, " "))
				}
				want[w] = true
			}
			if len(want) == 0 {
				return fmt.Errorf("needs at least one section: %s", strings.Join(report.AllSections, " "))
			}
			s.Sections = nil
			for _, sec := range report.AllSections {
				if want[sec] {
					s.Sections = append(s.Sections, sec)
				}
			}
			return nil
		},
		show: func(s *Settings) []string { return []string{strings.Join(s.Sections, " ")} }},
	{section: "report", name: "Optional",
		set: func(s *Settings, v string) error {
			if v != "keep" && v != "ignore" {
				return fmt.Errorf("%q: want keep or ignore", v)
			}
			s.Optional = v
			return nil
		},
		show: func(s *Settings) []string { return []string{s.Optional} }},
	{section: "report", name: "NoRule", list: true, words: true,
		set: func(s *Settings, v string) error {
			ws := words(v)
			if err := scan.CheckRules(ws); err != nil {
				return err
			}
			s.NoRules = append(s.NoRules, ws...)
			return nil
		},
		reset: func(s *Settings) { s.NoRules = nil },
		show:  func(s *Settings) []string { return s.NoRules }},
	{section: "report", name: "UnownedExclude", list: true,
		set: func(s *Settings, v string) error {
			if err := checkExclude(v); err != nil {
				return err
			}
			s.UnownedExcludes = append(s.UnownedExcludes, v)
			return nil
		},
		reset: func(s *Settings) { s.UnownedExcludes = nil },
		show:  func(s *Settings) []string { return s.UnownedExcludes }},
	{section: "report", name: "PrometheusFile",
		set: func(s *Settings, v string) error {
			if !filepath.IsAbs(v) || strings.HasSuffix(v, "/") {
				return fmt.Errorf("%q: want the absolute path of a file", v)
			}
			if !strings.HasSuffix(v, ".prom") {
				return fmt.Errorf("%q: node_exporter's textfile collector reads only files ending in .prom", v)
			}
			s.PrometheusFile = filepath.Clean(v)
			return nil
		},
		show: func(s *Settings) []string {
			if s.PrometheusFile == "" {
				return []string{"(none)"}
			}
			return []string{s.PrometheusFile}
		}},
	{section: "cache", name: "Keep",
		set: func(s *Settings, v string) error {
			n, err := count(v)
			s.Keep = n
			return err
		},
		show: func(s *Settings) []string { return []string{strconv.Itoa(s.Keep)} }},
	{section: "cache", name: "KeepUninstalled",
		set: func(s *Settings, v string) error {
			n, err := count(v)
			s.KeepUninstalled = n
			return err
		},
		show: func(s *Settings) []string {
			if s.KeepUninstalled < 0 {
				return []string{fmt.Sprintf("%d (same as Keep)", s.Keep)}
			}
			return []string{strconv.Itoa(s.KeepUninstalled)}
		}},
	{section: "clean", name: "Elevate",
		set: func(s *Settings, v string) error {
			s.Elevate = v
			return nil
		},
		show: func(s *Settings) []string {
			if s.Elevate == "" {
				return []string{"sudo (when present)"}
			}
			return []string{s.Elevate}
		}},
	{section: "quarantine", name: "Dir",
		set: func(s *Settings, v string) error {
			if !filepath.IsAbs(v) {
				return fmt.Errorf("%q: want an absolute path", v)
			}
			if filepath.Clean(v) == "/" {
				return fmt.Errorf("%q: the quarantine cannot be the root directory", v)
			}
			s.QuarantineDir = filepath.Clean(v)
			return nil
		},
		show: func(s *Settings) []string {
			if s.QuarantineDir == "" {
				return []string{"/var/lib/pactidy/quarantine (of the target root)"}
			}
			return []string{s.QuarantineDir}
		}},
	{section: "quarantine", name: "Retention",
		set: func(s *Settings, v string) error {
			if v == Never {
				s.Retention = v
				return nil
			}
			d, err := cache.ParseAge(v)
			if err != nil {
				return fmt.Errorf("%v, or %s", err, Never)
			}
			if d == 0 {
				return fmt.Errorf("%q would purge at once: want an age such as 30d, or %s", v, Never)
			}
			s.Retention = v
			return nil
		},
		show: func(s *Settings) []string { return []string{s.Retention} }},
}

func lookup(section, name string) *key {
	for _, k := range keys {
		if k.section == section && k.name == name {
			return k
		}
	}
	return nil
}

func lookupID(id string) *key {
	section, name, _ := strings.Cut(id, ".")
	return lookup(section, name)
}

func sectionKnown(section string) bool {
	for _, k := range keys {
		if k.section == section {
			return true
		}
	}
	return false
}

func knownIn(section string) []string {
	var out []string
	for _, k := range keys {
		if k.section == section {
			out = append(out, k.name)
		}
	}
	return out
}

func sections() []string {
	var out []string
	for _, k := range keys {
		if !contains(out, k.section) {
			out = append(out, k.section)
		}
	}
	return out
}

// RetentionAge is Retention as a duration; ok is false for "never".
func (s *Settings) RetentionAge() (d time.Duration, ok bool) {
	if s.Retention == Never {
		return 0, false
	}
	d, err := cache.ParseAge(s.Retention)
	return d, err == nil && d > 0
}

// Origins returns where the values of the setting id ("cache.Keep") came
// from: one origin for a single value, one per value for a list (none for
// an empty list that nothing set).
func (s *Settings) Origins(id string) []Origin {
	if o, ok := s.origins[id]; ok {
		return o
	}
	k := lookupID(id)
	if k != nil && k.list {
		return nil
	}
	return []Origin{{}}
}

// Origin is the origin of a single-valued setting.
func (s *Settings) Origin(id string) Origin {
	o := s.Origins(id)
	if len(o) == 0 {
		return Origin{}
	}
	return o[len(o)-1]
}

// Override sets the setting id from the command line flag, replacing what
// the file said (for a list, all of it). values are read like the file's.
func (s *Settings) Override(id, flag string, values []string) error {
	k := lookupID(id)
	if k == nil {
		return fmt.Errorf("unknown setting %q", id)
	}
	if !k.list {
		values = []string{strings.Join(values, " ")}
	} else {
		k.reset(s)
		s.origins[id] = nil
	}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if err := k.set(s, v); err != nil {
			return fmt.Errorf("%s: %v", flag, err)
		}
		s.note(k, v, Origin{Flag: flag})
	}
	return nil
}

// note records the origin of what set just stored.
func (s *Settings) note(k *key, v string, o Origin) {
	id := k.ID()
	if !k.list {
		s.origins[id] = []Origin{o}
		return
	}
	n := 1
	if k.words {
		n = len(words(v))
	}
	for i := 0; i < n; i++ {
		s.origins[id] = append(s.origins[id], o)
	}
}

// Entry is one shown value, for `pactidy settings`.
type Entry struct {
	Section string `json:"section"`
	Key     string `json:"key"`
	Value   string `json:"value"`
	From    string `json:"from"`
}

// Entries lists every setting in file order; a list gives one entry per
// value (and an empty value when it is empty).
func (s *Settings) Entries() []Entry {
	var out []Entry
	for _, k := range keys {
		vals := k.show(s)
		origins := s.Origins(k.ID())
		if len(vals) == 0 {
			out = append(out, Entry{Section: k.section, Key: k.name, From: Origin{}.String()})
			continue
		}
		for i, v := range vals {
			o := Origin{}
			if i < len(origins) {
				o = origins[i]
			}
			out = append(out, Entry{Section: k.section, Key: k.name, Value: v, From: o.String()})
		}
	}
	return out
}

// Load reads the settings file at path. When optional is set a file that
// does not exist gives the defaults; any other failure to read it is an
// error (an unreadable file is not an absent one).
func Load(path string, optional bool) (*Settings, error) {
	s := Default()
	p := &parser{s: s}
	if err := p.file(path, "", 0, optional); err != nil {
		return nil, err
	}
	return s, nil
}

// maxDepth stops Include loops.
const maxDepth = 10

type parser struct {
	s *Settings
}

func (p *parser) file(path, section string, depth int, optional bool) error {
	if depth > maxDepth {
		return &Error{File: path, Err: errors.New("too many nested Include lines (a loop?)")}
	}
	f, err := os.Open(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &Error{File: path, Err: fmt.Errorf("cannot be read: %w", err)}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return &Error{File: path, Err: errors.New("is a directory")}
	}
	if depth == 0 {
		p.s.File = path
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		var err error
		section, err = p.line(path, n, sc.Text(), section, depth)
		if err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &Error{File: path, Line: n + 1, Err: err}
	}
	return nil
}

// line reads one line and returns the section that follows it.
func (p *parser) line(file string, n int, text, section string, depth int) (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return section, &Error{File: file, Line: n, Err: fmt.Errorf(format, args...)}
	}
	text = strings.TrimSpace(text)
	if text == "" || text[0] == '#' {
		return section, nil
	}
	if text[0] == '[' {
		if len(text) < 3 || text[len(text)-1] != ']' {
			return fail("bad section header %q: want [NAME]", text)
		}
		name := text[1 : len(text)-1]
		if !sectionKnown(name) {
			return fail("unknown section [%s]: want one of [%s]", name, strings.Join(sections(), "], ["))
		}
		return name, nil
	}
	name, value, hasValue := strings.Cut(text, "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if name == "Include" {
		if value == "" {
			return fail("Include needs a file or glob (Include = /etc/pactidy/pactidy.conf.d/*.conf)")
		}
		return section, p.include(file, n, value, section, depth)
	}
	if section == "" {
		return fail("%q is outside a section: put it below [%s]", name, sectionOf(name))
	}
	k := lookup(section, name)
	if k == nil {
		if s := sectionOf(name); s != "" && s != section {
			return fail("%s belongs in [%s], not [%s]", name, s, section)
		}
		return fail("unknown setting %q in [%s]: known are %s", name, section, strings.Join(knownIn(section), ", "))
	}
	if !hasValue || (value == "" && !k.list) {
		return fail("%s needs a value (%s = ...)", name, name)
	}
	if strings.Contains(value, " #") || strings.Contains(value, "\t#") {
		return fail("%q: comments go on their own line", value)
	}
	if err := k.set(p.s, value); err != nil {
		return fail("%s: %v", name, err)
	}
	p.s.note(k, value, Origin{File: file, Line: n})
	return section, nil
}

// include reads the files a pattern names, in lexical order, each starting
// in the including file's section; the section after the Include line is
// the including file's again. A relative pattern is relative to the
// including file's directory. A plain name must exist; a glob may match
// nothing (an empty drop-in directory).
func (p *parser) include(file string, n int, pattern, section string, depth int) error {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(file), pattern)
	}
	if !strings.ContainsAny(pattern, `*?[\`) {
		return p.file(pattern, section, depth+1, false)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return &Error{File: file, Line: n, Err: fmt.Errorf("bad Include pattern %q: %v", pattern, err)}
	}
	sort.Strings(matches)
	for _, m := range matches {
		if strings.HasPrefix(filepath.Base(m), ".") && !strings.HasPrefix(filepath.Base(pattern), ".") {
			continue // editor leftovers, as glob(3) skips them
		}
		if err := p.file(m, section, depth+1, false); err != nil {
			return err
		}
	}
	return nil
}

func sectionOf(name string) string {
	for _, k := range keys {
		if k.name == name {
			return k.section
		}
	}
	return ""
}

func words(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

func count(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q: want a whole number, 0 or more", v)
	}
	return n, nil
}

// checkExclude accepts what the unowned scan's exclusions accept: a system
// path or an allowlist-style glob, never the whole system.
func checkExclude(v string) error {
	if v == "" {
		return errors.New("needs a path or glob")
	}
	if strings.Trim(filepath.Clean("/"+v), "/") == "" {
		return fmt.Errorf("%q would exclude everything", v)
	}
	e, err := allowlist.ParseEntry("path " + v)
	if err != nil {
		return err
	}
	if _, err := allowlist.New([]allowlist.Entry{e}); err != nil {
		return err
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
