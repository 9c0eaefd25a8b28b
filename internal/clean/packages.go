package clean

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/scan"
)

// RemovePackages is one pacman transaction: pacman -R with exactly the
// Targets.
type RemovePackages struct {
	// Targets are the names pacman is given, in this order.
	Targets []string
	// Cascade adds -c: a target is needed by a package that is not a
	// target (pacman -Rns alone would refuse).
	Cascade bool
	// Packages are everything pacman is expected to remove: the targets
	// (in order) and then, sorted by name, what it takes along (the -c
	// cascade and the -s dependencies), with versions and sizes as seen
	// when the plan was made.
	Packages []Package
}

// Package is one package of a removal.
type Package struct {
	Name    string
	Version string
	// Size is the installed size.
	Size int64
	// Target: named on pacman's command line; otherwise taken along.
	Target bool
	// OptionalFor are installed packages outside the removal that list
	// this one as an optional dependency: pacman removes it anyway.
	OptionalFor []string
}

func (a *RemovePackages) Items() int { return len(a.Packages) }

func (a *RemovePackages) Bytes() int64 {
	var n int64
	for _, p := range a.Packages {
		n += p.Size
	}
	return n
}

func (*RemovePackages) action() {}

// Refusal is a package that may not be removed this way, and why.
type Refusal struct {
	Name   string
	Reason string
	// Why explains an installed package (scan.Graph.Why); its Chain leads
	// from a root to the package when something needs it.
	Why *scan.Why
}

// RefusedError lists the packages PlanPackages refused; nothing is planned.
type RefusedError struct{ Refusals []Refusal }

func (e *RefusedError) Error() string {
	var b strings.Builder
	for i, r := range e.Refusals {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", r.Name, r.Reason)
	}
	return "refusing to remove " + b.String()
}

// PlanPackages plans the removal of names, or of every current orphan when
// names is empty. Only orphans may be named, and explicit packages that
// nothing needs (the unneeded section); any other name is refused with the
// reason and the chain that keeps it. A removal that would take along a
// package that HoldPkg or the allowlist keeps is refused too.
func PlanPackages(g *scan.Graph, names []string) (*RemovePackages, error) {
	if len(names) == 0 {
		for _, o := range g.Orphans() {
			names = append(names, o.Package.Name)
		}
		if len(names) == 0 {
			return &RemovePackages{}, nil
		}
	}
	unneeded := map[string]bool{}
	for _, p := range g.Unneeded() {
		unneeded[p.Name] = true
	}
	var refused []Refusal
	seen := map[string]bool{}
	var targets []string
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		w, ok := g.Why(n)
		switch {
		case !ok:
			reason := "not installed"
			if prov := g.Providers(n); len(prov) > 0 {
				reason += " (provided by " + strings.Join(prov, ", ") + "; name the package itself)"
			}
			refused = append(refused, Refusal{Name: n, Reason: reason})
			continue
		case w.Kind == scan.WhyOrphan, w.Kind == scan.WhyExplicit && unneeded[n]:
			targets = append(targets, n)
			continue
		}
		refused = append(refused, Refusal{Name: n, Reason: whyReason(g, w), Why: &w})
	}
	if len(refused) > 0 {
		return nil, &RefusedError{Refusals: refused}
	}
	rem, err := g.RemovalOf(targets)
	if err != nil {
		return nil, err
	}
	a := &RemovePackages{Targets: targets, Cascade: rem.Cascade}
	in := map[string]bool{}
	for _, p := range append(append([]*pkg.Package{}, rem.Targets...), rem.Others...) {
		in[p.Name] = true
	}
	add := func(p *pkg.Package, target bool) {
		e := Package{Name: p.Name, Version: p.Version, Size: p.InstalledSize, Target: target}
		for _, o := range g.OptionalFor(p.Name) {
			if !in[o] {
				e.OptionalFor = append(e.OptionalFor, o)
			}
		}
		a.Packages = append(a.Packages, e)
	}
	for _, p := range rem.Targets {
		add(p, true)
	}
	for _, p := range rem.Others {
		// -s and -c never take an explicit package; HoldPkg and the
		// allowlist are wishes pacman does not know (HoldPkg only as a
		// question), so such a removal is not planned at all.
		if w, _ := g.Why(p.Name); w.Kind == scan.WhyHeld || w.Kind == scan.WhyAllowlisted {
			refused = append(refused, Refusal{Name: strings.Join(targets, " "),
				Reason: fmt.Sprintf("pacman -R would also remove %s, which %s keeps; leave out the packages that need it", p.Name, whyReason(g, w))})
		}
		add(p, false)
	}
	if len(refused) > 0 {
		return nil, &RefusedError{Refusals: refused}
	}
	return a, nil
}

// whyReason says in words why a package is kept.
func whyReason(g *scan.Graph, w scan.Why) string {
	switch w.Kind {
	case scan.WhyHeld:
		return "HoldPkg in pacman.conf"
	case scan.WhyAllowlisted:
		return "the allowlist"
	case scan.WhyExplicit:
		var parts []string
		if r := g.RequiredBy(w.Package); len(r) > 0 {
			parts = append(parts, "required by "+strings.Join(r, ", "))
		}
		if o := g.OptionalFor(w.Package); len(o) > 0 {
			parts = append(parts, "optional for "+strings.Join(o, ", "))
		}
		if len(parts) == 0 {
			return "explicitly installed"
		}
		return "explicitly installed and " + strings.Join(parts, ", ")
	case scan.WhyRequired:
		var chain []string
		for _, l := range w.Chain {
			s := l.Name
			if l.Optional {
				s = "(optional) " + s
			}
			chain = append(chain, s)
		}
		return "not an orphan, needed: " + strings.Join(chain, " -> ")
	}
	return w.Kind.String()
}

// LockedError says pacman holds its database lock.
type LockedError struct{ Path string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("pacman is running (its lock file %s exists); nothing was changed. Wait until it has finished, "+
		"or, if no pacman is running, remove the stale lock: rm %s", e.Path, e.Path)
}

// LockFile is pacman's database lock, relative to DBPath.
const LockFile = "db.lck"

// CheckLock returns a *LockedError when dbPath/db.lck exists.
func CheckLock(dbPath string) error {
	p := filepath.Join(dbPath, LockFile)
	_, err := os.Lstat(p)
	switch {
	case err == nil:
		return &LockedError{Path: p}
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return fmt.Errorf("check pacman's lock file %s: %w", p, err)
}

// PacmanError is pacman's failure: its exit status passes through.
type PacmanError struct {
	Argv   []string
	Status int
}

func (e *PacmanError) Error() string {
	return fmt.Sprintf("pacman failed with exit status %d (its messages are above)", e.Status)
}

// ExitStatus is pacman's exit status, for pactidy's own.
func (e *PacmanError) ExitStatus() int { return e.Status }

// ErrChanged says the package database is not what the plan saw.
var ErrChanged = errors.New("the package database changed since the plan was made")

// PackagesResult is what a pacman transaction really did, read from the
// database afterwards.
type PackagesResult struct {
	// Argv is the command that ran.
	Argv []string
	// ExitStatus is pacman's (-1 when it could not be started or was
	// killed by a signal).
	ExitStatus int
	// Removed are the planned packages that are gone, with their
	// installed size; Freed is the sum.
	Removed []Item
	Freed   int64
	// Kept are planned packages that are still installed.
	Kept []string
	// Unexpected are packages that are gone although the plan did not
	// list them (pacman's hooks, or a concurrent pacman).
	Unexpected []Item
}

// Pacman is a prepared pacman transaction: the command to start, and what
// the database held before it.
type Pacman struct {
	// Cmd is the command; its standard streams are Options' (or pactidy's
	// own). A front end may replace them before starting it.
	Cmd *exec.Cmd
	// Argv is the exact command line (elevation included).
	Argv []string

	cfg    *conf.Config
	action *RemovePackages
	before *pkg.DB
}

// PreparePackages checks that pacman is not running and that the database
// still is what the plan saw (the same packages, in the same versions,
// would be removed), and builds the pacman command. Nothing is started.
func PreparePackages(cfg *conf.Config, a *RemovePackages, opts Options) (*Pacman, error) {
	if len(a.Targets) == 0 {
		return nil, errors.New("no packages to remove")
	}
	if err := CheckLock(cfg.DBPath); err != nil {
		return nil, err
	}
	before, err := loadDB(cfg)
	if err != nil {
		return nil, err
	}
	if err := sameRemoval(before, a); err != nil {
		return nil, err
	}
	cmd, err := PacmanCommand(cfg, a, opts)
	if err != nil {
		return nil, err
	}
	return &Pacman{Cmd: cmd, Argv: cmd.Args, cfg: cfg, action: a, before: before}, nil
}

// sameRemoval checks that removing a's targets from db removes exactly
// the packages a lists, in the versions it lists.
func sameRemoval(db *pkg.DB, a *RemovePackages) error {
	g := scan.NewGraph(db, scan.Options{})
	rem, err := g.RemovalOf(a.Targets)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrChanged, err)
	}
	now := map[string]string{}
	for _, p := range append(append([]*pkg.Package{}, rem.Targets...), rem.Others...) {
		now[p.Name] = p.Version
	}
	var diffs []string
	for _, p := range a.Packages {
		v, ok := now[p.Name]
		switch {
		case !ok && db.Get(p.Name) == nil:
			diffs = append(diffs, p.Name+" is no longer installed")
		case !ok:
			diffs = append(diffs, p.Name+" would no longer be removed")
		case v != p.Version:
			diffs = append(diffs, fmt.Sprintf("%s is now version %s, not %s", p.Name, v, p.Version))
		}
		delete(now, p.Name)
	}
	var extra []string
	for n := range now {
		extra = append(extra, n)
	}
	sort.Strings(extra)
	for _, n := range extra {
		diffs = append(diffs, n+" would be removed too")
	}
	if rem.Cascade && !a.Cascade {
		diffs = append(diffs, "a package outside the plan now needs one of the targets")
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w (%s); nothing was removed, look again", ErrChanged, strings.Join(diffs, "; "))
	}
	return nil
}

// PacmanCommand builds the pacman command of a: -Rns (-Rs with
// KeepConfig, -c added for a cascade, --noconfirm when already
// confirmed) with --config, --root and --dbpath of cfg, elevated when not
// running as root.
func PacmanCommand(cfg *conf.Config, a *RemovePackages, opts Options) (*exec.Cmd, error) {
	pacman := opts.Pacman
	if pacman == "" {
		pacman = "pacman"
	}
	path, err := exec.LookPath(pacman)
	if err != nil {
		return nil, fmt.Errorf("pacman: %w", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	flags := "-R"
	if a.Cascade {
		flags += "c"
	}
	if !opts.KeepConfig {
		flags += "n"
	}
	flags += "s"
	argv := []string{path, "--config", cfg.File, "--root", cfg.RootDir, "--dbpath", cfg.DBPath, flags}
	if opts.Confirmed {
		argv = append(argv, "--noconfirm")
	}
	argv = append(argv, "--")
	argv = append(argv, a.Targets...)
	isRoot := opts.IsRoot
	if isRoot == nil {
		isRoot = func() bool { return os.Geteuid() == 0 }
	}
	if !isRoot() {
		el, err := ElevateCommand(opts.Elevate)
		if err != nil {
			return nil, err
		}
		argv = append(el, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	if cmd.Stdin == nil {
		cmd.Stdin = os.Stdin
	}
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	return cmd, nil
}

// Elevators are the elevation commands known by name.
var Elevators = []string{"sudo", "doas", "run0"}

// ElevateCommand is the command line that runs a command as root: spec
// split at spaces ("sudo", "doas", "run0", "sudo -A", "/path/to/cmd");
// "" means sudo when it is installed.
func ElevateCommand(spec string) ([]string, error) {
	f := strings.Fields(spec)
	if len(f) == 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return nil, errors.New("pacman must run as root, and sudo is not installed: run pactidy as root, or name a command with --elevate (doas, run0, CMD)")
		}
		return []string{"sudo"}, nil
	}
	if _, err := exec.LookPath(f[0]); err != nil {
		return nil, fmt.Errorf("elevation command %q: %w", f[0], err)
	}
	return f, nil
}

// Finish reads the database after pacman ran (runErr is what running Cmd
// returned) and says what was removed. The error is a *PacmanError when
// pacman failed.
func (p *Pacman) Finish(runErr error) (*PackagesResult, error) {
	res := &PackagesResult{Argv: p.Argv}
	var exit *exec.ExitError
	var perr error
	switch {
	case runErr == nil:
	case errors.As(runErr, &exit):
		res.ExitStatus = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitStatus = 128 + int(ws.Signal())
		}
		perr = &PacmanError{Argv: p.Argv, Status: res.ExitStatus}
	default:
		res.ExitStatus = -1
		perr = fmt.Errorf("run %s: %w", p.Argv[0], runErr)
	}
	after, err := loadDB(p.cfg)
	if err != nil {
		// What pacman did cannot be told; its own failure comes first.
		if perr != nil {
			return res, perr
		}
		return res, fmt.Errorf("pacman ran, but the database could not be read again: %w", err)
	}
	planned := map[string]bool{}
	for _, pk := range p.action.Packages {
		planned[pk.Name] = true
		if after.Get(pk.Name) != nil {
			res.Kept = append(res.Kept, pk.Name)
			continue
		}
		size := pk.Size
		if b := p.before.Get(pk.Name); b != nil {
			size = b.InstalledSize
		}
		res.Removed = append(res.Removed, Item{Name: pk.Name, Bytes: size})
		res.Freed += size
	}
	for _, b := range p.before.Packages {
		if !planned[b.Name] && after.Get(b.Name) == nil {
			res.Unexpected = append(res.Unexpected, Item{Name: b.Name, Bytes: b.InstalledSize})
		}
	}
	return res, perr
}

// loadDB reads the local database as the rest of pactidy does, through
// libalpm: names, versions, sizes and dependencies.
func loadDB(cfg *conf.Config) (*pkg.DB, error) {
	h, err := alpm.Open(cfg)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	db, err := h.LoadWith(alpm.LoadOptions{NoSync: true})
	if err != nil {
		return nil, err
	}
	if len(db.Errors) > 0 {
		return nil, fmt.Errorf("local database: %v", db.Errors[0])
	}
	return db, nil
}

// packages carries out a RemovePackages action with pacman.
func (r *runner) packages(ctx context.Context, i int, a *RemovePackages, ar *ActionResult) error {
	p, err := PreparePackages(r.plan.Config, a, r.opts)
	if err != nil {
		r.skipAll(i, ar, a, err)
		return err
	}
	r.send(Event{Kind: Command, Action: i, Argv: p.Argv})
	for _, pk := range a.Packages {
		r.send(Event{Kind: ItemStarted, Action: i, Item: pk.Name, Bytes: pk.Size})
	}
	// Not exec.CommandContext: an interrupt reaches pacman from the
	// terminal, and pacman decides how to stop; killing it mid-transaction
	// would leave a broken database.
	runErr := p.Cmd.Run()
	res, err := p.Finish(runErr)
	ar.Packages = res
	why := errors.New("still installed")
	if err != nil {
		why = err
	}
	if len(res.Removed)+len(res.Kept) == 0 {
		// The database could not be read again: nothing is known.
		for _, pk := range a.Packages {
			r.failed(i, ar, pk.Name, why)
		}
		return err
	}
	for _, it := range res.Removed {
		r.done(i, ar, it.Name, it.Bytes)
	}
	for _, n := range res.Kept {
		r.failed(i, ar, n, why)
	}
	return err
}
