package tui

import (
	"context"
	"os/exec"
	"time"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/report"
)

// Source runs the scans whose findings the UI shows.
type Source interface {
	// Scan computes every section and calls emit (from any goroutine) with
	// progress, with each section as soon as it is done, and once with the
	// Info of the database read. It returns when all sections are done;
	// an error is a failure of the whole run (an unreadable database).
	Scan(ctx context.Context, emit func(Event)) error
}

// OnDemandSource is a Source with a section its Scan leaves out and that
// is computed only when the user asks for it on its tab: the user data
// section (report.SectionUserdata) looks into a home and is a guess from
// names, so it is never scanned at start.
type OnDemandSource interface {
	Source
	// ScanSection computes one such section and emits its events as Scan
	// does (progress, then Done with the section's report, or Err). An
	// error it returns fails the section.
	ScanSection(ctx context.Context, section string, emit func(Event)) error
}

// UserAllowlist edits a user's own allowlist (allowlist.UserFile in the
// home), where keep-forever writes for user data. The file is written as
// its user, never by root.
type UserAllowlist interface {
	// Add appends e to user's allowlist and returns the file's path.
	Add(ctx context.Context, user string, e allowlist.Entry) (file string, err error)
	// Remove deletes e from user's allowlist and returns the file's path.
	Remove(ctx context.Context, user string, e allowlist.Entry) (file string, err error)
}

// Event is one piece of news from a running scan.
type Event struct {
	// Section is a report section name (report.SectionOrphans, ...), or ""
	// for news about the whole run.
	Section string
	// Done says Section is complete: Report holds its findings (the
	// section's fields) and the errors met while computing it.
	Done   bool
	Report *report.Report
	// Progress counts the work done so far in Section.
	Progress Progress
	// Err failed Section (or, with Section "", the run).
	Err error
	// Info, when set, answers the detail pane's questions.
	Info Info
}

// Progress is how far a section got.
type Progress struct {
	Packages int64 // packages read
	Dirs     int64 // directories walked
	Files    int64 // files looked at
	Bytes    int64 // bytes counted
}

// Info answers what the report does not carry.
type Info interface {
	// Package describes an installed package.
	Package(name string) (PackageInfo, bool)
	// Origin is the package owning the nearest owned parent directory of
	// the system path p ("" when none).
	Origin(p string) string
	// Root is the root directory the paths are relative to.
	Root() string
}

// PackageInfo is what the detail pane shows of a package.
type PackageInfo struct {
	Name          string
	Version       string
	Desc          string
	InstallDate   time.Time
	InstalledSize int64
	RequiredBy    []string
	OptionalFor   []string
	// Why is the --why explanation of why it is installed.
	Why report.Why
	// Removes is what pacman -Rns NAME removes with it, FreedBytes the
	// bytes that frees (known for orphans).
	Removes    []string
	FreedBytes int64
}

// Selection is what the user marked.
type Selection struct {
	Packages []string
	Unowned  []report.Unowned
	Cache    []report.CacheCandidate
	Userdata []report.UserData
}

// Empty reports whether nothing is marked.
func (s Selection) Empty() bool {
	return len(s.Packages) == 0 && len(s.Unowned) == 0 && len(s.Cache) == 0 && len(s.Userdata) == 0
}

// Plan is what a confirmed removal will do.
type Plan struct {
	// Packages is every package pacman will remove (the marked ones and
	// what -Rns takes along); Command is the exact command line.
	Packages     []string
	PackageBytes int64
	Command      []string
	// Entries go into the quarantine; CacheFiles are deleted.
	Entries    []report.Unowned
	EntryBytes int64
	CacheFiles []report.CacheCandidate
	CacheBytes int64
	// UserData go into the quarantine of their home, UserQuarantine (as
	// the system sees it), moved by the home's owner, UserOwner.
	UserData       []report.UserData
	UserDataBytes  int64
	UserQuarantine string
	UserOwner      string
	// Notes are warnings to read before saying yes.
	Notes []string
	// Handle is the engine's own plan.
	Handle any
}

// Total is the number of bytes the plan frees.
func (p *Plan) Total() int64 {
	return p.PackageBytes + p.EntryBytes + p.CacheBytes + p.UserDataBytes
}

// Result is what a removal did.
type Result struct {
	Removed     []string // packages gone from the database
	Quarantined int      // entries moved into the quarantine
	Pruned      int      // cache files deleted
	Freed       int64
	Failures    []Failure
	// QuarantineID names the quarantine run (pactidy quarantine restore ID).
	QuarantineID string
	// UserQuarantineDir and UserQuarantineID name the run in a home's own
	// quarantine that user data went into (restored by its owner with
	// pactidy quarantine restore --quarantine-dir DIR ID).
	UserQuarantineDir string
	UserQuarantineID  string
}

// Failure is one item that was not done, and why.
type Failure struct {
	What string
	Why  string
}

// Engine carries out a confirmed selection.
type Engine interface {
	// Plan works out what removing sel means.
	Plan(ctx context.Context, sel Selection) (*Plan, error)
	// PackageCommand is the pacman command for the plan's packages, run in
	// the terminal with the UI suspended; nil when there are none. An
	// error (pacman is running, the database changed) stops the removal
	// of packages before anything is done.
	PackageCommand(p *Plan) (*exec.Cmd, error)
	// AfterPackages reads the database again after the command ran
	// (runErr is how it ended) and says what was removed.
	AfterPackages(ctx context.Context, p *Plan, runErr error) (*Result, error)
	// Apply quarantines the plan's entries and user data and prunes its
	// cache files, calling progress after each item.
	Apply(ctx context.Context, p *Plan, progress func(done, total int, bytes int64)) (*Result, error)
}
