// Package report is the machine-readable shape of pactidy's findings and
// the printers (text, JSON, Prometheus) that present it. The JSON field
// names are a contract: fields may be added, none may change.
package report

import "time"

// SchemaVersion is the version of the JSON contract.
const SchemaVersion = 1

// Section names, as accepted by --only.
const (
	SectionOrphans  = "orphans"
	SectionUnneeded = "unneeded"
	SectionForeign  = "foreign"
	SectionMissing  = "missing"
	SectionPacfiles = "pacfiles"
	SectionUnowned  = "unowned"
	SectionCache    = "cache"
	// SectionUserdata is never part of the default report: it looks into
	// homes, and it is a heuristic.
	SectionUserdata = "userdata"
)

// AllSections in report order.
var AllSections = []string{SectionOrphans, SectionUnneeded, SectionForeign, SectionMissing, SectionPacfiles, SectionUnowned, SectionCache}

// KnownSections are every section --only accepts, in report order: the
// default ones and those computed only when asked for (userdata).
var KnownSections = []string{SectionOrphans, SectionUnneeded, SectionForeign, SectionMissing, SectionPacfiles, SectionUnowned, SectionCache, SectionUserdata}

// Report is everything one run found.
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	Root          string `json:"root"`
	// RootBytes is the raw root path, base64, only when Root is not
	// valid UTF-8 (as path_bytes everywhere).
	RootBytes   string    `json:"root_bytes,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	// Sections lists the sections that were computed; the others are absent
	// from JSON and not printed.
	Sections []string `json:"sections"`

	Orphans      []Orphan      `json:"orphans"`
	Unneeded     []Unneeded    `json:"unneeded"`
	Foreign      []Foreign     `json:"foreign"`
	MissingFiles []MissingFile `json:"missing_files"`
	Pacfiles     []Pacfile     `json:"pacfiles"`
	Unowned      []Unowned     `json:"unowned"`
	Cache        *Cache        `json:"cache"`
	Userdata     []UserData    `json:"userdata"`
	Errors       []Error       `json:"errors"`
	// ForeignUnknown is set when no sync database could be read, so foreign
	// packages cannot be told apart.
	ForeignUnknown bool `json:"foreign_unknown"`
	// UnownedIncomplete is set when the file lists of some installed
	// packages (UnownedNoFileLists) could not be read: their files would
	// look unowned, so no unowned path is reported (the section is
	// unknown, not clean; the errors name the files entries).
	UnownedIncomplete  bool     `json:"unowned_incomplete"`
	UnownedNoFileLists []string `json:"unowned_no_file_lists,omitempty"`
	// Installed is the number of installed packages.
	Installed int `json:"installed"`
	// Optional is how optional dependencies were counted: "keep" (they
	// keep packages, like pacman -Qdt) or "ignore" (like -Qdtt).
	Optional string `json:"optional,omitempty"`

	// Elapsed is how long each computed section took, by section name,
	// for the Prometheus gauges (not part of the JSON).
	Elapsed map[string]time.Duration `json:"-"`
	// NewCounts is, by section, how many findings a comparison with the
	// state file found new (nil when no state was compared); see
	// internal/state. Not part of the JSON: each finding says "new".
	NewCounts map[string]int `json:"-"`
}

// Has reports whether section was computed.
func (r *Report) Has(section string) bool {
	for _, s := range r.Sections {
		if s == section {
			return true
		}
	}
	return false
}

// Orphan is a dependency package nothing the user wants still needs.
type Orphan struct {
	Name          string   `json:"name"`
	Version       string   `json:"version"`
	InstalledSize int64    `json:"installed_size"`
	Cycle         bool     `json:"cycle"`
	OptionalFor   []string `json:"optional_for"`
	Removes       []string `json:"removes"`
	FreedBytes    int64    `json:"freed_bytes"`
	// RequiredBy are the other orphans that depend on it; when it is not
	// empty, pacman -Rns of this package alone fails and Removes includes
	// them (what pacman -Rcns removes).
	RequiredBy []string `json:"required_by"`
	// New is set when a state file was compared (internal/state): true
	// when the finding was not in the last recorded report.
	New *bool `json:"new,omitempty"`
}

// Unneeded is an explicit package nothing requires.
type Unneeded struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	InstalledSize int64  `json:"installed_size"`
	// New is set when a state file was compared (internal/state): true
	// when the finding was not in the last recorded report.
	New *bool `json:"new,omitempty"`
}

// Foreign is an installed package in no sync database.
type Foreign struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// New is set when a state file was compared (internal/state): true
	// when the finding was not in the last recorded report.
	New *bool `json:"new,omitempty"`
}

// MissingFile is an owned path absent on disk.
type MissingFile struct {
	Package string `json:"package"`
	Path    string `json:"path"`
	// PathBytes is the raw path, base64, only when Path is not valid UTF-8
	// (as in Unowned).
	PathBytes string `json:"path_bytes,omitempty"`
	// New is set when a state file was compared (internal/state): true
	// when the finding was not in the last recorded report.
	New *bool `json:"new,omitempty"`
}

// Pacfile is a .pacnew, .pacsave or .pacorig file.
type Pacfile struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Package string `json:"package"`
	// PathBytes is the raw path, base64, only when Path is not valid UTF-8
	// (as in Unowned).
	PathBytes string `json:"path_bytes,omitempty"`
	// New is set when a state file was compared (internal/state): true
	// when the finding was not in the last recorded report.
	New *bool `json:"new,omitempty"`
}

// Unowned is a path no package owns; a directory stands for its subtree.
type Unowned struct {
	Path    string `json:"path"`
	Type    string `json:"type"` // file, dir, symlink, other
	Size    int64  `json:"size"`
	Entries int    `json:"entries"`
	// PathBytes is the raw path, base64 (standard encoding), present only
	// when Path is not valid UTF-8: JSON strings cannot hold such bytes,
	// so Path then carries U+FFFD in their place.
	PathBytes string `json:"path_bytes,omitempty"`
	// HiddenBy names the built-in rule that hides the path; such entries
	// are only reported with --show-hidden.
	HiddenBy string `json:"hidden_by,omitempty"`
	// Incomplete is set on a directory that could not be read in full:
	// size and entries count only the readable part (see errors).
	Incomplete bool `json:"incomplete,omitempty"`
	// New is set when a state file was compared (internal/state): true
	// when the finding was not in the last recorded report.
	New *bool `json:"new,omitempty"`
}

// Cache is the cache pruning plan.
type Cache struct {
	Dirs []string `json:"dirs"`
	// DirsBytes is present only when a directory of Dirs is not valid
	// UTF-8: then it holds, at the same index, the raw path in base64
	// ("" for the valid ones).
	DirsBytes  []string         `json:"dirs_bytes,omitempty"`
	Candidates []CacheCandidate `json:"candidates"`
	// ReclaimBytes is the sum of the candidates' sizes; a signature is a
	// candidate of its own ("signature of ..."), so it is counted once.
	ReclaimBytes int64 `json:"reclaim_bytes"`
	// Kept are the cache files that stay, with the reason why.
	Kept []CacheCandidate `json:"kept"`
	// BuildCaches are AUR helper build directories of packages that are no
	// longer installed; reported, never removed by pactidy.
	BuildCaches     []CacheBuild `json:"build_caches"`
	BuildCacheBytes int64        `json:"build_cache_bytes"`
}

// CacheCandidate is a cache file the plan would remove (or, in Kept, keep).
type CacheCandidate struct {
	Path    string `json:"path"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Size    int64  `json:"size"`
	Reason  string `json:"reason"`
	// Kind is package, signature, stray_signature, partial, unparseable
	// or special (a symlink or other non-regular entry).
	Kind string `json:"kind"`
	// PathBytes is the raw path, base64, only when Path is not valid UTF-8
	// (as in Unowned).
	PathBytes string `json:"path_bytes,omitempty"`
	// New is set when a state file was compared (internal/state): true
	// when the finding was not in the last recorded report.
	New *bool `json:"new,omitempty"`
}

// CacheBuild is an AUR helper's build directory of a package no longer
// installed.
type CacheBuild struct {
	Helper string `json:"helper"`
	Name   string `json:"name"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	// PathBytes is the raw path, base64, only when Path is not valid UTF-8
	// (as in Unowned).
	PathBytes string `json:"path_bytes,omitempty"`
}

// Error is a problem with one path; the rest of the report is still valid.
type Error struct {
	Path  string `json:"path"`
	Error string `json:"error"`
	// PathBytes is the raw path, base64, only when Path is not valid UTF-8
	// (as in Unowned).
	PathBytes string `json:"path_bytes,omitempty"`
}

// UserData is a top-level entry of a home's ~/.config, ~/.cache,
// ~/.local/share, ~/.local/state or a dot-directory in the home.
type UserData struct {
	User string `json:"user"`
	Path string `json:"path"`
	// Kind is cache, config, data, state or home.
	Kind    string    `json:"kind"`
	Type    string    `json:"type"` // dir, file, symlink, other
	Size    int64     `json:"size"`
	Entries int       `json:"entries"`
	MTime   time.Time `json:"mtime"`
	// SafeToDrop is set for cache entries (programs recreate them); config
	// and data entries need a look before they go.
	SafeToDrop bool `json:"safe_to_drop"`
	// MatchedBy is the evidence that an installed program uses the entry;
	// matched entries are only listed with --show-hidden.
	MatchedBy string `json:"matched_by,omitempty"`
	// Checked are the names looked for among what is installed, for an
	// entry with no installed owner found.
	Checked    []string `json:"checked,omitempty"`
	Incomplete bool     `json:"incomplete,omitempty"`
	PathBytes  string   `json:"path_bytes,omitempty"`
}

// UserdataShown counts the user data entries with no installed owner.
func (r *Report) UserdataShown() int {
	n := 0
	for _, u := range r.Userdata {
		if u.MatchedBy == "" {
			n++
		}
	}
	return n
}
