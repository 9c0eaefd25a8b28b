// Package conf reads pacman.conf the way pacman does: sections, Include
// with globs, repeated CacheDir, Architecture = auto, and the defaults that
// --root changes. pacman-conf(8) is the reference; the tests compare with it.
package conf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Repo is a [repo] section: a sync database.
type Repo struct {
	Name     string
	Servers  []string
	SigLevel []string
	Usage    []string
}

// Config is the effective configuration.
type Config struct {
	// File is the main configuration file that was read.
	File          string
	RootDir       string
	DBPath        string
	LogFile       string
	GPGDir        string
	CacheDirs     []string
	HookDirs      []string
	HoldPkg       []string
	IgnorePkg     []string
	IgnoreGroup   []string
	NoUpgrade     []string
	NoExtract     []string
	Architectures []string
	Repos         []Repo
	// Warnings are directives pacman ignores with a warning.
	Warnings []string
}

// Overrides are the command-line options with pacman's meaning.
type Overrides struct {
	Root   string // --root
	DBPath string // --dbpath
}

// ParseError points at the file and line that could not be read.
type ParseError struct {
	File string
	Line int // 0 when the whole file is at fault
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config file %s, line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("config file %s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Default is pacman's default configuration file.
const Default = "/etc/pacman.conf"

// maxIncludeDepth stops Include loops.
const maxIncludeDepth = 10

type parser struct {
	cfg     *Config
	section string
	repo    *Repo
	// set records options given explicitly, to apply defaults afterwards.
	set map[string]bool
}

// Load reads path (and its Includes) and applies defaults and overrides.
func Load(path string, o Overrides) (*Config, error) {
	p := &parser{cfg: &Config{File: path}, set: map[string]bool{}}
	if err := p.parseFile(path, 0); err != nil {
		return nil, err
	}
	p.finish(o)
	return p.cfg, nil
}

func (p *parser) parseFile(path string, depth int) error {
	if depth > maxIncludeDepth {
		return &ParseError{File: path, Err: errors.New("too many nested Include directives")}
	}
	f, err := os.Open(path)
	if err != nil {
		return &ParseError{File: path, Err: fmt.Errorf("could not be read: %w", unwrapPathErr(err))}
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64*1024)
	line := 0
	for {
		text, err := readLine(r)
		if err == io.EOF {
			return nil
		}
		line++
		if err != nil {
			return &ParseError{File: path, Line: line, Err: fmt.Errorf("could not be read: %w", unwrapPathErr(err))}
		}
		if err := p.parseLine(path, line, text, depth); err != nil {
			return err
		}
	}
}

// lineMax is the buffer pacman reads its configuration with (PATH_MAX in
// ini.c): fgets(3) returns at most lineMax-1 bytes at a time.
const lineMax = 4096

// readLine returns what one fgets(line, PATH_MAX, fp) of pacman returns:
// up to and without the next newline, but at most lineMax-1 bytes. A
// longer line comes back in pieces, which pacman numbers and reads as
// lines of their own, and so does pactidy: the configuration means what
// it means to pacman (a 10 MB comment line is a comment and then pieces
// pacman warns about), and line numbers in messages are pacman's. As in C,
// a NUL ends the text.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for len(b) < lineMax-1 {
		c, err := r.ReadByte()
		if err == io.EOF && len(b) > 0 {
			break
		}
		if err != nil {
			return "", err
		}
		if c == '\n' {
			break
		}
		b = append(b, c)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b), nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (p *parser) parseLine(file string, n int, text string, depth int) error {
	// Like pacman, only whole-line comments: "CacheDir = /a # x" is three dirs.
	text = strings.TrimSpace(text)
	if text == "" || text[0] == '#' {
		return nil
	}
	perr := func(format string, args ...any) error {
		return &ParseError{File: file, Line: n, Err: fmt.Errorf(format, args...)}
	}
	if text[0] == '[' {
		if text[len(text)-1] != ']' || len(text) < 3 {
			return perr("bad section name %q", text)
		}
		p.section = text[1 : len(text)-1]
		p.repo = nil
		if p.section != "options" {
			p.cfg.Repos = append(p.cfg.Repos, Repo{Name: p.section})
			p.repo = &p.cfg.Repos[len(p.cfg.Repos)-1]
		}
		return nil
	}
	if p.section == "" {
		return perr("all directives must belong to a section")
	}
	key, value, hasValue := strings.Cut(text, "=")
	key = strings.TrimSpace(key)
	value = strings.TrimSpace(value)
	if hasValue && value == "" {
		// pacman takes "IgnorePkg =" (the default pacman.conf has it
		// commented out that way) as an empty list; an empty path or
		// Include is a mistake.
		switch key {
		case "Include", "RootDir", "DBPath", "LogFile", "GPGDir":
			return perr("directive '%s' needs a value", key)
		}
	}
	if key == "Include" {
		if !hasValue {
			return perr("directive 'Include' needs a value")
		}
		return p.include(file, n, value, depth)
	}
	if p.repo != nil {
		return p.repoDirective(file, n, key, value, hasValue)
	}
	return p.optionDirective(file, n, key, value, hasValue)
}

func (p *parser) include(file string, n int, pattern string, depth int) error {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return &ParseError{File: file, Line: n, Err: fmt.Errorf("bad Include pattern %q: %w", pattern, err)}
	}
	matches = dropHidden(pattern, matches)
	if len(matches) == 0 {
		// pacman treats a pattern that matches nothing as a file name.
		matches = []string{pattern}
	}
	sort.Strings(matches)
	for _, m := range matches {
		if err := p.parseFile(m, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// dropHidden removes the matches glob(3), which pacman uses, never returns:
// a name starting with '.' is only matched by a pattern component that
// starts with '.' too (filepath.Glob's '*' matches it). Editor lock files
// such as ".#core.conf" would otherwise be read.
func dropHidden(pattern string, matches []string) []string {
	pat := strings.Split(filepath.Clean(pattern), "/")
	out := matches[:0]
	for _, m := range matches {
		comps := strings.Split(m, "/")
		hidden := false
		if len(comps) == len(pat) {
			for i, c := range comps {
				if strings.HasPrefix(c, ".") && !strings.HasPrefix(pat[i], ".") {
					hidden = true
				}
			}
		} else {
			base := filepath.Base(m)
			hidden = strings.HasPrefix(base, ".") && !strings.HasPrefix(filepath.Base(pattern), ".")
		}
		if !hidden {
			out = append(out, m)
		}
	}
	return out
}

func (p *parser) repoDirective(file string, n int, key, value string, hasValue bool) error {
	if !hasValue {
		p.warn(file, n, key)
		return nil
	}
	switch key {
	case "Server":
		if value != "" {
			p.repo.Servers = append(p.repo.Servers, value)
		}
	case "SigLevel":
		p.repo.SigLevel = append(p.repo.SigLevel, strings.Fields(value)...)
	case "Usage":
		p.repo.Usage = append(p.repo.Usage, strings.Fields(value)...)
	default:
		p.warn(file, n, key)
	}
	return nil
}

func (p *parser) optionDirective(file string, n int, key, value string, hasValue bool) error {
	if !hasValue {
		switch key {
		case "UseSyslog", "ILoveCandy", "VerbosePkgLists", "CheckSpace", "Color",
			"DisableDownloadTimeout", "NoProgressBar", "DisableSandbox":
		default:
			p.warn(file, n, key)
		}
		return nil
	}
	c := p.cfg
	list := strings.Fields(value)
	switch key {
	case "RootDir":
		c.RootDir = value
	case "DBPath":
		c.DBPath = value
	case "LogFile":
		c.LogFile = value
	case "GPGDir":
		c.GPGDir = value
	case "CacheDir":
		c.CacheDirs = append(c.CacheDirs, list...)
	case "HookDir":
		c.HookDirs = append(c.HookDirs, list...)
	case "HoldPkg":
		c.HoldPkg = append(c.HoldPkg, list...)
	case "IgnorePkg":
		c.IgnorePkg = append(c.IgnorePkg, list...)
	case "IgnoreGroup":
		c.IgnoreGroup = append(c.IgnoreGroup, list...)
	case "NoUpgrade":
		c.NoUpgrade = append(c.NoUpgrade, list...)
	case "NoExtract":
		c.NoExtract = append(c.NoExtract, list...)
	case "Architecture":
		for _, a := range list {
			if a == "auto" {
				a = machine()
			}
			if !contains(c.Architectures, a) {
				c.Architectures = append(c.Architectures, a)
			}
		}
	case "XferCommand", "CleanMethod", "SigLevel", "LocalFileSigLevel", "RemoteFileSigLevel",
		"ParallelDownloads", "DownloadUser":
	default:
		p.warn(file, n, key)
	}
	p.set[key] = true
	return nil
}

func (p *parser) warn(file string, n int, key string) {
	p.cfg.Warnings = append(p.cfg.Warnings, fmt.Sprintf(
		"config file %s, line %d: directive '%s' in section '%s' not recognized", file, n, key, p.section))
}

// finish applies pacman's defaults: --root moves the default DBPath and
// LogFile inside the root, but not CacheDir, HookDir or GPGDir.
func (p *parser) finish(o Overrides) {
	c := p.cfg
	if o.Root != "" {
		c.RootDir = o.Root
	}
	if o.DBPath != "" {
		c.DBPath = o.DBPath
	}
	if c.RootDir != "" {
		if c.DBPath == "" {
			c.DBPath = filepath.Join(c.RootDir, "var/lib/pacman")
		}
		if c.LogFile == "" {
			c.LogFile = filepath.Join(c.RootDir, "var/log/pacman.log")
		}
	} else {
		c.RootDir = "/"
	}
	if c.DBPath == "" {
		c.DBPath = "/var/lib/pacman"
	}
	if c.LogFile == "" {
		c.LogFile = "/var/log/pacman.log"
	}
	if c.GPGDir == "" {
		c.GPGDir = "/etc/pacman.d/gnupg"
	}
	if len(c.CacheDirs) == 0 {
		c.CacheDirs = []string{"/var/cache/pacman/pkg"}
	}
	if len(c.HookDirs) == 0 {
		c.HookDirs = []string{"/etc/pacman.d/hooks"}
	}
	if len(c.Architectures) == 0 {
		c.Architectures = []string{machine()}
	}
	c.RootDir = clean(c.RootDir)
	c.DBPath = clean(c.DBPath)
	c.GPGDir = clean(c.GPGDir)
	for i := range c.CacheDirs {
		c.CacheDirs[i] = clean(c.CacheDirs[i])
	}
	for i := range c.HookDirs {
		c.HookDirs[i] = clean(c.HookDirs[i])
	}
	arch := ""
	if len(c.Architectures) > 0 {
		arch = c.Architectures[0]
	}
	for i := range c.Repos {
		for j, s := range c.Repos[i].Servers {
			s = strings.ReplaceAll(s, "$repo", c.Repos[i].Name)
			c.Repos[i].Servers[j] = strings.ReplaceAll(s, "$arch", arch)
		}
	}
}

func clean(p string) string {
	if p == "" {
		return p
	}
	return filepath.Clean(p)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// machine is uname -m, which Architecture = auto means.
func machine() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "x86_64"
	}
	var b strings.Builder
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}
