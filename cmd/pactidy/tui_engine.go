package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/clean"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
	"github.com/pactidy/pactidy/tui"
)

// scanState is what the last scan found, as the removal engine needs it:
// the graph the orphans came from, the unowned entries with their
// identities and the cache plan with its files'.
type scanState struct {
	mu        sync.Mutex
	cfg       *conf.Config
	graph     *scan.Graph
	unowned   []scan.UnownedEntry
	cachePlan *cache.Plan
	// The on-demand userdata section: its configuration, the homes looked
	// through and the entries with no installed owner.
	userCfg  *conf.Config
	homes    []scan.Home
	userdata []scan.UserEntry
}

func (s *scanState) set(f func(s *scanState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *scanState) get() (cfg *conf.Config, g *scan.Graph, unowned []scan.UnownedEntry, cp *cache.Plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg, s.graph, s.unowned, s.cachePlan
}

func (s *scanState) getUserData() (*conf.Config, []scan.Home, []scan.UserEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userCfg, s.homes, s.userdata
}

// tuiEngine carries out what the user confirmed in the UI through the
// removal engine (internal/clean), on the findings of the last scan.
type tuiEngine struct {
	app   *App
	state *scanState
	opts  clean.Options
}

var _ tui.Engine = (*tuiEngine)(nil)

// enginePlan is the engine's side of a tui.Plan.
type enginePlan struct {
	cfg      *conf.Config
	packages *clean.RemovePackages
	entries  *clean.QuarantineEntries
	cache    *clean.PruneCache
	pacman   *clean.Pacman
	// userdata is moved by the home's owner into the home's quarantine.
	userdata *clean.UserData
}

func (e *tuiEngine) confirmed() clean.Options {
	o := e.opts
	o.Confirmed = true
	return o
}

func (e *tuiEngine) Plan(ctx context.Context, sel tui.Selection) (*tui.Plan, error) {
	cfg, g, unowned, cp := e.state.get()
	if cfg == nil && (len(sel.Packages) > 0 || len(sel.Unowned) > 0 || len(sel.Cache) > 0) {
		return nil, errors.New("the scan has not finished yet")
	}
	ep := &enginePlan{cfg: cfg}
	p := &tui.Plan{Handle: ep}
	if len(sel.Userdata) > 0 {
		if err := e.planUserData(sel.Userdata, ep, p); err != nil {
			return nil, err
		}
	}
	if len(sel.Packages) > 0 {
		if g == nil {
			return nil, errors.New("the package sections have not finished yet")
		}
		a, err := clean.PlanPackages(g, sel.Packages)
		if err != nil {
			return nil, err
		}
		ep.packages = a
		for _, pk := range a.Packages {
			p.Packages = append(p.Packages, pk.Name)
			if len(pk.OptionalFor) > 0 {
				p.Notes = append(p.Notes, fmt.Sprintf("%s is an optional dependency of %s", pk.Name, joinNames(pk.OptionalFor)))
			}
		}
		p.PackageBytes = a.Bytes()
		cmd, err := clean.PacmanCommand(cfg, a, e.confirmed())
		if err != nil {
			return nil, err
		}
		p.Command = cmd.Args
	}
	if len(sel.Unowned) > 0 {
		var names []string
		for _, u := range sel.Unowned {
			names = append(names, u.Path)
		}
		if unowned == nil {
			// A scan that kept no identities: PlanEntries reads each
			// entry's now, as pactidy clean unowned does.
			for _, u := range sel.Unowned {
				unowned = append(unowned, scan.UnownedEntry{Path: u.Path, Type: u.Type, Size: u.Size, Entries: u.Entries, HiddenBy: u.HiddenBy, Incomplete: u.Incomplete})
			}
		}
		a, dropped := clean.PlanEntries(cfg.RootDir, unowned, names)
		for _, d := range dropped {
			p.Notes = append(p.Notes, d.Error()+"; left out")
		}
		if a != nil && len(a.Entries) > 0 {
			ep.entries = a
			for _, q := range a.Entries {
				p.Entries = append(p.Entries, report.Unowned{Path: q.Path, Type: q.Type, Size: q.Size, Entries: q.Entries})
			}
			p.EntryBytes = a.Bytes()
		}
	}
	if len(sel.Cache) > 0 {
		if cp == nil {
			return nil, errors.New("the cache section has not finished yet")
		}
		want := map[string]bool{}
		for _, c := range sel.Cache {
			want[c.Path] = true
		}
		// The same plan, with only the chosen files to remove.
		sub := *cp
		sub.Files = append([]cache.File(nil), cp.Files...)
		sub.Removals, sub.ReclaimBytes = 0, 0
		for i := range sub.Files {
			f := &sub.Files[i]
			f.Remove = f.Remove && want[f.Path]
			if f.Remove {
				sub.Removals++
				sub.ReclaimBytes += f.Size
				p.CacheFiles = append(p.CacheFiles, report.CacheCandidate{Path: f.Path, Name: f.Name, Version: f.Version, Arch: f.Arch, Size: f.Size, Reason: f.Reason})
			}
		}
		p.CacheBytes = sub.ReclaimBytes
		ep.cache = clean.PlanCache(&sub, "")
	}
	return p, nil
}

// planUserData plans the move of the marked user data, as pactidy clean
// userdata does: each entry must still be what the scan saw.
func (e *tuiEngine) planUserData(sel []report.UserData, ep *enginePlan, p *tui.Plan) error {
	cfg, homes, found := e.state.getUserData()
	if cfg == nil {
		return errors.New("the user data has not been scanned")
	}
	user := sel[0].User
	var names []string
	marked := map[string]report.UserData{}
	for _, u := range sel {
		if u.User != user {
			return errors.New("user data of one home at a time: unmark the entries of the other homes")
		}
		names = append(names, u.Path)
		marked[u.Path] = u
	}
	h, ok := scan.UserByName(homes, user)
	if !ok {
		return fmt.Errorf("%s: not a user whose home was looked through", quote.Quote(user))
	}
	a, dropped := clean.PlanUserData(cfg.RootDir, h, found, names)
	for _, d := range dropped {
		p.Notes = append(p.Notes, fmt.Sprintf("%s: %v; left out", d.Name, d.Err))
	}
	if a.Items() == 0 {
		return nil
	}
	ep.userdata = a
	for _, q := range a.Entries {
		u := marked[q.Path]
		u.Size = q.Size
		p.UserData = append(p.UserData, u)
	}
	p.UserDataBytes = a.Bytes()
	p.UserQuarantine = quarantine.UserDir(h.Dir)
	p.UserOwner = h.User
	return nil
}

func (e *tuiEngine) PackageCommand(p *tui.Plan) (*exec.Cmd, error) {
	ep := p.Handle.(*enginePlan)
	if ep.packages == nil || len(ep.packages.Packages) == 0 {
		return nil, nil
	}
	pm, err := clean.PreparePackages(ep.cfg, ep.packages, e.confirmed())
	if err != nil {
		return nil, err
	}
	ep.pacman = pm
	return pm.Cmd, nil
}

func (e *tuiEngine) AfterPackages(ctx context.Context, p *tui.Plan, runErr error) (*tui.Result, error) {
	ep := p.Handle.(*enginePlan)
	if ep.pacman == nil {
		return nil, runErr
	}
	pr, err := ep.pacman.Finish(runErr)
	res := &tui.Result{}
	if pr != nil {
		for _, it := range pr.Removed {
			res.Removed = append(res.Removed, it.Name)
		}
		res.Freed = pr.Freed
		for _, k := range pr.Kept {
			res.Failures = append(res.Failures, tui.Failure{What: k, Why: "still installed"})
		}
	}
	return res, err
}

func (e *tuiEngine) Apply(ctx context.Context, p *tui.Plan, progress func(done, total int, bytes int64)) (*tui.Result, error) {
	ep := p.Handle.(*enginePlan)
	plan := &clean.Plan{Config: ep.cfg}
	if ep.entries != nil {
		plan.Actions = append(plan.Actions, ep.entries)
	}
	if ep.cache != nil {
		plan.Actions = append(plan.Actions, ep.cache)
	}
	out := &tui.Result{}
	if len(plan.Actions) > 0 {
		if err := e.applySystem(ctx, plan, out, progress); err != nil {
			return out, err
		}
	}
	if ep.userdata != nil {
		return out, e.applyUserData(ctx, ep.userdata, out, progress)
	}
	return out, nil
}

// applySystem runs the quarantine of unowned entries and the cache prune.
func (e *tuiEngine) applySystem(ctx context.Context, plan *clean.Plan, out *tui.Result, progress func(done, total int, bytes int64)) error {
	opts := e.confirmed()
	// What was kept forever in this session counts.
	if allow, err := e.app.allowlist(); err == nil {
		opts.Allow = allow
	} else {
		return err
	}
	res, err := clean.Run(ctx, plan, opts, func(ev clean.Event) {
		progress(ev.Progress.Finished(), ev.Progress.Items, ev.Progress.BytesDone)
	})
	if res == nil {
		return err
	}
	out.Freed = res.Bytes
	for _, ar := range res.Actions {
		switch ar.Action.(type) {
		case *clean.QuarantineEntries:
			out.Quarantined += len(ar.Done)
		case *clean.PruneCache:
			out.Pruned += len(ar.Done)
		}
		if ar.Quarantine != nil && ar.Quarantine.ID != "" && len(ar.Done) > 0 {
			out.QuarantineID = ar.Quarantine.ID
		}
		for _, f := range append(ar.Failed, ar.Skipped...) {
			out.Failures = append(out.Failures, tui.Failure{What: f.Name, Why: f.Err.Error()})
		}
	}
	return err
}

// applyUserData moves the planned user data into the home's quarantine as
// the home's owner: in this process when it is the owner, else (as root)
// by pactidy clean userdata run as the owner, whose JSON result it reads.
// Root itself never writes into the home.
func (e *tuiEngine) applyUserData(ctx context.Context, p *clean.UserData, out *tui.Result, progress func(done, total int, bytes int64)) error {
	res := &cleanResultJSON{Items: []cleanItemJSON{}}
	switch uid := os.Geteuid(); {
	case uid == p.Home.UID:
		done, bytes := 0, int64(0)
		err := e.app.userMove(ctx, p, res, func(r quarantine.Result) {
			done++
			bytes += r.Bytes
			progress(done, p.Items(), bytes)
		})
		if err != nil {
			out.Failures = append(out.Failures, tui.Failure{What: "user data", Why: err.Error()})
		}
	case uid == 0:
		progress(0, p.Items(), 0) // the owner's run reports at its end
		if err := e.asOwnerJSON(ctx, p, res); err != nil {
			return err
		}
	default:
		return fmt.Errorf("the data of %s is moved by %s only", quote.Quote(p.Home.User), quote.Quote(p.Home.User))
	}
	out.Quarantined += res.Done
	out.Freed += res.Bytes
	for _, it := range res.Items {
		if it.Status != "done" {
			out.Failures = append(out.Failures, tui.Failure{What: it.Name, Why: it.Error})
		}
	}
	if q := res.Quarantine; q != nil {
		out.UserQuarantineDir, out.UserQuarantineID = q.Dir, q.ID
	}
	return nil
}

// asOwnerJSON runs pactidy clean userdata --json as the home's owner for
// the plan's entries and reads its result. The child scans again and moves
// only what is still a finding.
func (e *tuiEngine) asOwnerJSON(ctx context.Context, p *clean.UserData, res *cleanResultJSON) error {
	args := []string{"clean", "userdata", "--yes", "--json", "--user", p.Home.User, "--"}
	for _, q := range p.Entries {
		args = append(args, q.Path)
	}
	cmd, err := e.app.ownerCommand(ctx, p.Home, args...)
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var doc cleanJSON
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.Result == nil {
		msg := strings.TrimSpace(stderr.String())
		if runErr == nil {
			runErr = fmt.Errorf("no result from pactidy clean userdata run as %s", p.Home.User)
		}
		if msg != "" {
			return fmt.Errorf("moving the data as %s: %v: %s", p.Home.User, runErr, msg)
		}
		return fmt.Errorf("moving the data as %s: %w", p.Home.User, runErr)
	}
	*res = *doc.Result
	return nil
}

func joinNames(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
