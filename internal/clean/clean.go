// Package clean is pactidy's removal engine: the one place where findings
// are acted on. Both front ends use it the same way:
//
//  1. make a Plan from current findings: PlanPackages (orphans, or
//     unneeded explicit packages named one by one), PlanEntries (unowned
//     paths) and PlanCache (a cache.Plan). Each action records what was
//     seen when the findings were made (versions and sizes of the
//     packages, the identity of each unowned entry, the cache files), so
//     that nothing that changed since is touched;
//  2. show the plan and ask the user (the front end's job);
//  3. call Run, which carries the actions out in order and reports every
//     step as an Event: the command line of pacman, an item started, done,
//     failed or skipped, with running counts and bytes. The clean command
//     prints these events as lines, the TUI draws a progress bar.
//
// Packages are removed by the system's pacman, one transaction per
// RemovePackages action, with pacman's own hooks, log and prompts; a
// normal user's call is elevated (sudo, doas, run0 or a command of their
// choice). Afterwards the database is read again and the result says what
// was really removed. PacmanCommand builds the very *exec.Cmd that Run
// would start, for a front end that must run it itself (the TUI hands it
// to tea.ExecProcess), and Verify then reads the outcome.
//
// Unowned entries go into internal/quarantine's store, where they can be
// restored; the quarantine checks each entry again just before it moves,
// against the database as it is then. Cache files go through cache.Apply,
// under pacman's lock.
//
// Run never prints and never reads a terminal. When pacman holds its lock
// (db.lck) Run changes nothing and returns a *LockedError. When ctx is
// cancelled (SIGINT, SIGHUP, SIGTERM), Run finishes the item at hand,
// reports the rest as skipped and returns ctx.Err(): a pacman transaction
// is never killed, a file is never left half-moved.
package clean

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
)

// Plan is a list of actions on one root, in the order Run carries them
// out.
type Plan struct {
	// Config is the effective pacman configuration of the root the plan
	// was made for: pacman is called with its file, root and database
	// path, and the lock and the database are looked up there.
	Config *conf.Config
	// Actions are *RemovePackages, *QuarantineEntries and *PruneCache.
	Actions []Action
}

// Action is one step of a plan: *RemovePackages, *QuarantineEntries or
// *PruneCache.
type Action interface {
	// Items is the number of things the action acts on (packages, entries,
	// files) and Bytes their size as planned.
	Items() int
	Bytes() int64
	action()
}

// Items counts the items of all actions.
func (p *Plan) Items() int {
	n := 0
	for _, a := range p.Actions {
		n += a.Items()
	}
	return n
}

// Bytes sums the planned bytes of all actions.
func (p *Plan) Bytes() int64 {
	var n int64
	for _, a := range p.Actions {
		n += a.Bytes()
	}
	return n
}

// PruneCache removes or moves the candidates of a cache plan.
type PruneCache struct {
	Plan *cache.Plan
	// MoveTo moves the files into this directory; "" removes them.
	MoveTo string
}

func (c *PruneCache) Items() int   { return c.Plan.Removals }
func (c *PruneCache) Bytes() int64 { return c.Plan.ReclaimBytes }
func (*PruneCache) action()        {}

// PlanCache makes the action that carries out a cache plan.
func PlanCache(p *cache.Plan, moveTo string) *PruneCache {
	return &PruneCache{Plan: p, MoveTo: moveTo}
}

// Options say how Run carries a plan out.
type Options struct {
	// KeepConfig removes packages with -Rs instead of -Rns: without -n
	// pacman keeps modified configuration files as .pacsave.
	KeepConfig bool
	// Confirmed says the user has already confirmed the plan in pactidy:
	// pacman gets --noconfirm. Otherwise pacman asks itself.
	Confirmed bool
	// Elevate is the command that runs pacman with root privileges for a
	// user who is not root: "sudo", "doas", "run0" or a command line of
	// one's own ("sudo -A"). "" means sudo when it is installed. Ignored
	// when running as root.
	Elevate string
	// Pacman is the pacman binary; "" looks it up in PATH.
	Pacman string
	// Stdin, Stdout and Stderr are pacman's (nil: pactidy's own), so that
	// its questions, output and errors reach the user unchanged.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// QuarantineDir is the store unowned entries go into; "" means
	// quarantine.DefaultDir of the plan's root.
	QuarantineDir string
	// Allow is the allowlist, asked again for every unowned entry and
	// everything below it just before the entry moves. nil keeps nothing.
	Allow *allowlist.List
	// IsRoot tells whether pactidy runs as root (nil: the effective user
	// id is 0). Tests set it to exercise elevation.
	IsRoot func() bool
}

// EventKind says what an Event reports.
type EventKind int

// Kinds of events, in the order they come for an action.
const (
	// ActionStarted: Run begins Plan.Actions[Action].
	ActionStarted EventKind = iota
	// Command: Argv is about to be run (pacman, maybe elevated); a front
	// end shows it first.
	Command
	// ItemStarted: Item is being worked on.
	ItemStarted
	// ItemDone: Item was removed (or moved); Bytes is its size.
	ItemDone
	// ItemFailed: Item could not be removed; Err says why.
	ItemFailed
	// ItemSkipped: Item was left alone on purpose (changed since the plan,
	// interrupted before it, not movable); Err says why.
	ItemSkipped
	// ActionDone: Plan.Actions[Action] is finished; Err is set when the
	// action as a whole failed (pacman's exit status, the lock).
	ActionDone
)

var eventNames = [...]string{"action_started", "command", "item_started", "item_done", "item_failed", "item_skipped", "action_done"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one step of Run.
type Event struct {
	Kind EventKind
	// Action is the index in Plan.Actions.
	Action int
	// Item is a package name or a path (absolute, on the running system).
	Item  string
	Bytes int64
	Err   error
	// Argv is the command line of a Command event.
	Argv []string
	// Progress counts the whole plan after this event.
	Progress Progress
}

// Progress is the running count of a Run.
type Progress struct {
	Items                 int // planned
	Done, Failed, Skipped int
	Bytes                 int64 // planned
	BytesDone             int64
}

// Finished is the number of items dealt with so far.
func (p Progress) Finished() int { return p.Done + p.Failed + p.Skipped }

// Result is what Run did.
type Result struct {
	Actions []ActionResult
	// Done, Failed, Skipped and Bytes count the items of all actions.
	Done, Failed, Skipped int
	Bytes                 int64
}

// ActionResult is what happened to one action.
type ActionResult struct {
	Action  Action
	Done    []Item
	Failed  []ItemError
	Skipped []ItemError
	// Bytes is the size of Done: for packages the installed size of those
	// really removed.
	Bytes int64
	// Packages is set for a RemovePackages action.
	Packages *PackagesResult
	// Quarantine is set for a QuarantineEntries action that began.
	Quarantine *QuarantineResult
	// Cache is cache.Apply's own result, for a PruneCache action that
	// began.
	Cache *cache.Result
	// Err is set when the action failed as a whole.
	Err error
}

// Item is one thing acted on.
type Item struct {
	Name  string // package name or path
	Bytes int64
}

// ItemError is an item that was not removed, and why.
type ItemError struct {
	Name string
	Err  error
}

func (e ItemError) Error() string { return e.Name + ": " + e.Err.Error() }

// ErrInterrupted is the reason of items skipped after ctx was cancelled.
var ErrInterrupted = errors.New("interrupted before it was reached; untouched")

// runner carries one Run: it keeps the counts and emits the events.
type runner struct {
	plan *Plan
	opts Options
	emit func(Event)
	prog Progress
	res  *Result
}

func (r *runner) send(e Event) {
	switch e.Kind {
	case ItemDone:
		r.prog.Done++
		r.prog.BytesDone += e.Bytes
		r.res.Done++
		r.res.Bytes += e.Bytes
	case ItemFailed:
		r.prog.Failed++
		r.res.Failed++
	case ItemSkipped:
		r.prog.Skipped++
		r.res.Skipped++
	}
	e.Progress = r.prog
	if r.emit != nil {
		r.emit(e)
	}
}

// done, failed and skipped record an item in ar and emit its event.
func (r *runner) done(i int, ar *ActionResult, name string, bytes int64) {
	ar.Done = append(ar.Done, Item{Name: name, Bytes: bytes})
	ar.Bytes += bytes
	r.send(Event{Kind: ItemDone, Action: i, Item: name, Bytes: bytes})
}

func (r *runner) failed(i int, ar *ActionResult, name string, err error) {
	ar.Failed = append(ar.Failed, ItemError{Name: name, Err: err})
	r.send(Event{Kind: ItemFailed, Action: i, Item: name, Err: err})
}

func (r *runner) skipped(i int, ar *ActionResult, name string, err error) {
	ar.Skipped = append(ar.Skipped, ItemError{Name: name, Err: err})
	r.send(Event{Kind: ItemSkipped, Action: i, Item: name, Err: err})
}

// Run carries plan out. Per-item problems are in the result (and the
// events); the returned error is set when an action failed as a whole
// (*LockedError before anything was done, *PacmanError, a quarantine that
// cannot be used) or when ctx was cancelled (ctx.Err(), after the item at
// hand was finished). emit may be nil.
func Run(ctx context.Context, plan *Plan, opts Options, emit func(Event)) (*Result, error) {
	r := &runner{plan: plan, opts: opts, emit: emit, res: &Result{}}
	r.prog.Items, r.prog.Bytes = plan.Items(), plan.Bytes()
	if plan.Config == nil {
		return r.res, errors.New("clean: plan without a configuration")
	}
	// pacman may be half-way through a transaction: nothing of what the
	// plan saw can be trusted, so nothing starts.
	if err := CheckLock(plan.Config.DBPath); err != nil {
		return r.res, err
	}
	var firstErr error
	for i, a := range plan.Actions {
		ar := ActionResult{Action: a}
		if err := ctx.Err(); err != nil {
			r.skipAll(i, &ar, a, ErrInterrupted)
			r.res.Actions = append(r.res.Actions, ar)
			firstErr = cmpErr(firstErr, err)
			continue
		}
		r.send(Event{Kind: ActionStarted, Action: i})
		var err error
		switch a := a.(type) {
		case *RemovePackages:
			err = r.packages(ctx, i, a, &ar)
		case *QuarantineEntries:
			err = r.quarantine(ctx, i, a, &ar)
		case *PruneCache:
			err = r.cache(ctx, i, a, &ar)
		default:
			err = fmt.Errorf("clean: unknown action %T", a)
		}
		ar.Err = err
		r.res.Actions = append(r.res.Actions, ar)
		r.send(Event{Kind: ActionDone, Action: i, Err: err})
		firstErr = cmpErr(firstErr, err)
	}
	return r.res, firstErr
}

// cmpErr keeps the first error, but an interruption wins: the caller must
// learn that the run stopped early.
func cmpErr(old, new error) error {
	switch {
	case new == nil:
		return old
	case old == nil:
		return new
	case errors.Is(new, context.Canceled) && !errors.Is(old, context.Canceled):
		return new
	}
	return old
}

// skipAll reports every item of a not started action as skipped.
func (r *runner) skipAll(i int, ar *ActionResult, a Action, why error) {
	for _, name := range itemNames(a) {
		r.skipped(i, ar, name, why)
	}
}

func itemNames(a Action) []string {
	var out []string
	switch a := a.(type) {
	case *RemovePackages:
		for _, p := range a.Packages {
			out = append(out, p.Name)
		}
	case *QuarantineEntries:
		for _, e := range a.Entries {
			out = append(out, e.Path)
		}
	case *PruneCache:
		for _, f := range a.Plan.Candidates() {
			out = append(out, f.Path)
		}
	}
	return out
}
