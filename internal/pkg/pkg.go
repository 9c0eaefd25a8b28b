// Package pkg holds installed packages as plain Go values. The alpm package
// fills them from libalpm; the engine packages (scan, cache) only read them,
// so they never need cgo and can be tested on in-memory data too.
package pkg

import (
	"sort"
	"strings"
	"time"

	"github.com/pactidy/pactidy/internal/vercmp"
)

// Reason is why a package is installed.
type Reason int

const (
	// Explicit packages were asked for by the user.
	Explicit Reason = 0
	// Dependency packages were pulled in by another package.
	Dependency Reason = 1
)

func (r Reason) String() string {
	if r == Dependency {
		return "dependency"
	}
	return "explicit"
}

// Backup is a file pacman tracks for .pacnew/.pacsave handling.
type Backup struct {
	Path string // relative to the root, no leading slash
	Hash string // md5 of the file as installed
}

// Package is one installed package.
type Package struct {
	Name          string
	Version       string
	Base          string
	Desc          string
	Arch          string
	URL           string
	Packager      string
	Reason        Reason
	Depends       []Dep
	OptDepends    []Dep
	Provides      []Dep
	Conflicts     []Dep
	Groups        []string
	BuildDate     time.Time
	InstallDate   time.Time
	InstalledSize int64
	// Files are relative to the root without a leading slash; directories
	// end with '/'. Sorted as libalpm stores them.
	Files  []string
	Backup []Backup
	// FilesErr is set when the package's file list was asked for and
	// could not be read: Files and Backup are then unknown, not empty.
	FilesErr   error
	Validation []string
	// InSync is true when a package of this name is in any sync DB.
	InSync bool
}

// EntryError is a problem with one database entry or path; the rest of the
// data is still usable.
type EntryError struct {
	Path string
	Err  error
}

func (e EntryError) Error() string { return e.Path + ": " + e.Err.Error() }

// DB is a snapshot of the local database of one root.
type DB struct {
	// Packages sorted by name.
	Packages []*Package
	// SyncDBs names the sync databases that could be read. When it is empty
	// foreign packages cannot be told apart from repository ones.
	SyncDBs []string
	// Errors lists corrupt or unreadable entries.
	Errors []EntryError

	byName    map[string]*Package
	providers map[string][]*Package
}

// NewDB indexes packages (which it sorts by name).
func NewDB(pkgs []*Package) *DB {
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	db := &DB{
		Packages:  pkgs,
		byName:    make(map[string]*Package, len(pkgs)),
		providers: make(map[string][]*Package, len(pkgs)),
	}
	for _, p := range pkgs {
		db.byName[p.Name] = p
		db.providers[p.Name] = append(db.providers[p.Name], p)
		for _, pr := range p.Provides {
			if pr.Name != p.Name {
				db.providers[pr.Name] = append(db.providers[pr.Name], p)
			}
		}
	}
	return db
}

// Get returns the installed package of that name, or nil.
func (db *DB) Get(name string) *Package { return db.byName[name] }

// Satisfiers returns every installed package that satisfies d, by name or
// by provision, with libalpm's rules. Several packages may satisfy one
// dependency (two providers of one name); all of them are returned.
func (db *DB) Satisfiers(d Dep) []*Package {
	cands := db.providers[d.Name]
	var out []*Package
	for _, p := range cands {
		if d.SatisfiedBy(p) {
			out = append(out, p)
		}
	}
	return out
}

// Mod is a version constraint operator.
type Mod int

// Operators as in libalpm's alpm_depmod_t.
const (
	Any Mod = iota
	EQ
	GE
	LE
	GT
	LT
)

func (m Mod) String() string {
	return [...]string{"", "=", ">=", "<=", ">", "<"}[m]
}

// Dep is a dependency, optional dependency or provision: "name[op version][: desc]".
type Dep struct {
	Name    string
	Mod     Mod
	Version string
	Desc    string // only for optional dependencies
}

// ParseDep parses a dependency string like libalpm's alpm_dep_from_string.
func ParseDep(s string) Dep {
	var d Dep
	if i := strings.Index(s, ": "); i >= 0 {
		d.Desc = s[i+2:]
		s = s[:i]
	}
	i := strings.IndexAny(s, "<>=")
	if i < 0 {
		d.Name = s
		return d
	}
	d.Name = s[:i]
	op := s[i:]
	switch {
	case strings.HasPrefix(op, ">="):
		d.Mod, d.Version = GE, op[2:]
	case strings.HasPrefix(op, "<="):
		d.Mod, d.Version = LE, op[2:]
	case strings.HasPrefix(op, "="):
		d.Mod, d.Version = EQ, op[1:]
	case strings.HasPrefix(op, ">"):
		d.Mod, d.Version = GT, op[1:]
	case strings.HasPrefix(op, "<"):
		d.Mod, d.Version = LT, op[1:]
	}
	return d
}

// String formats d the way pacman prints it.
func (d Dep) String() string {
	s := d.Name
	if d.Mod != Any {
		s += d.Mod.String() + d.Version
	}
	if d.Desc != "" {
		s += ": " + d.Desc
	}
	return s
}

// versionOK applies the operator to vercmp(version, d.Version).
func (d Dep) versionOK(version string) bool {
	c := vercmp.Compare(version, d.Version)
	switch d.Mod {
	case Any:
		return true
	case EQ:
		return c == 0
	case GE:
		return c >= 0
	case LE:
		return c <= 0
	case GT:
		return c > 0
	case LT:
		return c < 0
	}
	return false
}

// SatisfiedBy follows libalpm's _alpm_depcmp: the package's own name and
// version, or a provision. A versioned dependency is only satisfied by a
// provision that carries "=version".
func (d Dep) SatisfiedBy(p *Package) bool {
	if p.Name == d.Name && d.versionOK(p.Version) {
		return true
	}
	for _, pr := range p.Provides {
		if pr.Name != d.Name {
			continue
		}
		if d.Mod == Any {
			return true
		}
		if pr.Mod == EQ && d.versionOK(pr.Version) {
			return true
		}
	}
	return false
}
