package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/clean"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/findings"
	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// cleanOptions are the flags of `pactidy clean`.
type cleanOptions struct {
	Yes    bool
	DryRun bool
	JSON   bool
	// orphans
	KeepConfig bool
	Elevate    string
	Optional   string
	// unowned
	QuarantineDir string
	NoQuarantine  bool
	Unowned       findings.UnownedOptions
	// cache
	Cache cacheOptions
}

const cleanHelp = `Remove what the report found. Without names, everything the report lists
in that section (never what a rule or the allowlist hides); with names, only
those, and each must be a current finding.

The plan (what, how many, how many bytes) is printed first. On a terminal
pactidy then asks; otherwise it refuses (exit status 2) unless --yes is
given. --dry-run prints the plan and stops.

  orphans [NAME...]  remove orphaned packages with pacman -Rns (-Rs with
                     --keep-config; -Rcns when a named package is needed by
                     another orphan, which then goes too). Explicitly
                     installed packages nothing needs may be named one by
                     one. pacman runs with its own hooks and log; as a normal
                     user through --elevate (sudo by default).
  unowned [PATH...]  move unowned files into the quarantine, from where
                     'pactidy quarantine restore' puts them back
                     (--no-quarantine deletes them for good)
  cache              remove the old package files 'pactidy cache' lists,
                     with the same flags (--move DIR moves them)

Exit status:
  0  done (or nothing to do, or a dry run)
  1  failure; some items may have been removed (the output says which)
  2  usage error, or no terminal to ask and no --yes
  N  pacman's own exit status when pacman failed
`

func newCleanCmd(app *App) *cobra.Command {
	opts := &cleanOptions{}
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove orphans, unowned files or old cache files (asks first)",
		Long:  cleanHelp,
		Example: `  pactidy clean orphans --dry-run
  pactidy clean orphans libfoo libbar
  pactidy clean unowned /opt/oldapp
  pactidy clean cache --keep 2 --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask: the plan is confirmed (needed without a terminal)")
	pf.BoolVarP(&opts.DryRun, "dry-run", "n", false, "print the plan only; change nothing")
	pf.BoolVar(&opts.JSON, "json", false, "print the plan and the result as JSON")

	orphans := &cobra.Command{
		Use:   "orphans [NAME...]",
		Short: "Remove orphaned packages with pacman",
		Long:  cleanHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.cleanSettings(cmd, opts); err != nil {
				return err
			}
			return runCleanOrphans(cmd.Context(), app, opts, args)
		},
	}
	f := orphans.Flags()
	f.BoolVar(&opts.KeepConfig, "keep-config", false, "keep changed configuration files as .pacsave (pacman -Rs instead of -Rns)")
	f.StringVar(&opts.Elevate, "elevate", "", "command that runs pacman as root when pactidy is not root: sudo, doas, run0 or `CMD` (default sudo)")
	f.StringVar(&opts.Optional, "optional", "keep", "optional dependencies of kept packages: keep or ignore (as in the report)")

	unowned := &cobra.Command{
		Use:   "unowned [PATH...]",
		Short: "Move unowned files into the quarantine",
		Long:  cleanHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.cleanSettings(cmd, opts); err != nil {
				return err
			}
			return runCleanUnowned(cmd.Context(), app, opts, args)
		},
	}
	f = unowned.Flags()
	f.StringVar(&opts.QuarantineDir, "quarantine-dir", "", "quarantine `dir` (default: ROOT/var/lib/pactidy/quarantine)")
	f.BoolVar(&opts.NoQuarantine, "no-quarantine", false, "delete for good instead of quarantining (cannot be undone)")
	addUnownedFlags(f, &opts.Unowned)
	f.MarkHidden("show-hidden")

	cacheCmd := &cobra.Command{
		Use:   "cache",
		Short: "Remove the old package files of the pacman cache",
		Long:  cleanHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Cache.keepUninstalledSet = cmd.Flags().Changed("keep-uninstalled")
			if err := app.cacheSettings(cmd, &opts.Cache); err != nil {
				return err
			}
			return runCleanCache(cmd.Context(), app, opts)
		},
	}
	f = cacheCmd.Flags()
	addCachePlanFlags(f, &opts.Cache)
	f.StringVar(&opts.Cache.Move, "move", "", "move the files into `dir` instead of removing them")

	cmd.AddCommand(orphans, unowned, cacheCmd)
	cmd.AddCommand(newCleanUserdataCmd(app, opts))

	// Shell completion: the names clean orphans accepts, and flag values.
	orphans.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		return removableNames(app, args), cobra.ShellCompDirectiveNoFileComp
	}
	fixed := func(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = orphans.RegisterFlagCompletionFunc("elevate", fixed(clean.Elevators...))
	_ = orphans.RegisterFlagCompletionFunc("optional", fixed("keep", "ignore"))
	_ = unowned.RegisterFlagCompletionFunc("no-rule", fixed(append(scan.RuleNames(), "all")...))
	_ = cacheCmd.RegisterFlagCompletionFunc("ignore", commaList(func() []string { return installedNames(app) }))
	return cmd
}

// removableNames are the packages clean orphans accepts (orphans, and
// explicit packages nothing needs), leaving out those already given;
// nothing when the database cannot be read (completion stays quiet).
func removableNames(app *App, given []string) []string {
	cfg, err := app.configNoWarn()
	if err != nil {
		return nil
	}
	db, err := findings.LoadDB(cfg, alpm.LoadOptions{})
	if err != nil {
		return nil
	}
	allow, err := app.allowlist()
	if err != nil {
		return nil
	}
	g := scan.NewGraph(db, scan.Options{HoldPkg: cfg.HoldPkg, Keep: allow.KeepsPackage})
	skip := map[string]bool{}
	for _, a := range given {
		skip[a] = true
	}
	var out []string
	for _, o := range g.Orphans() {
		if !skip[o.Package.Name] {
			out = append(out, o.Package.Name)
		}
	}
	for _, p := range g.Unneeded() {
		if !skip[p.Name] {
			out = append(out, p.Name)
		}
	}
	return out
}

// cleanSettings fills the flags of clean orphans and clean unowned that
// were not given from the settings file.
func (app *App) cleanSettings(cmd *cobra.Command, o *cleanOptions) error {
	s, err := app.settings()
	if err != nil {
		return err
	}
	f := cmd.Flags()
	set := func(flag string, fill func()) {
		if f.Lookup(flag) != nil && !f.Changed(flag) {
			fill()
		}
	}
	set("elevate", func() { o.Elevate = s.Elevate })
	set("optional", func() { o.Optional = s.Optional })
	set("quarantine-dir", func() { o.QuarantineDir = s.QuarantineDir })
	set("no-rule", func() { o.Unowned.NoRules = append([]string(nil), s.NoRules...) })
	set("unowned-exclude", func() { o.Unowned.Excludes = append([]string(nil), s.UnownedExcludes...) })
	return nil
}

func runCleanOrphans(ctx context.Context, app *App, opts *cleanOptions, names []string) error {
	var mode scan.OptionalMode
	switch opts.Optional {
	case "keep":
		mode = scan.OptionalKeep
	case "ignore":
		mode = scan.OptionalIgnore
	default:
		return usagef("invalid --optional %q: want keep or ignore", opts.Optional)
	}
	cfg, err := app.config()
	if err != nil {
		return err
	}
	db, err := findings.LoadDB(cfg, alpm.LoadOptions{})
	if err != nil {
		return err
	}
	for _, e := range db.Errors {
		// A damaged entry hides what a package needs: nothing is safe.
		return fmt.Errorf("the package database is damaged, nothing is removed: %s: %s", quote.Quote(e.Path), quote.Quote(e.Err.Error()))
	}
	allow, err := app.allowlist()
	if err != nil {
		return err
	}
	g := scan.NewGraph(db, scan.Options{HoldPkg: cfg.HoldPkg, Keep: allow.KeepsPackage, Optional: mode})
	a, err := clean.PlanPackages(g, names)
	if err != nil {
		var ref *clean.RefusedError
		if errors.As(err, &ref) {
			printRefusals(app, ref)
			var errs []report.Error
			for _, r := range ref.Refusals {
				errs = append(errs, report.Error{Path: r.Name, Error: "refused: " + r.Reason})
			}
			if err := writeRefusedJSON(app, opts, "orphans", errs); err != nil {
				return err
			}
			return errors.New("nothing was removed")
		}
		return err
	}
	c := &cleaner{app: app, opts: opts, cfg: cfg, section: "orphans"}
	c.engine = clean.Options{
		KeepConfig: opts.KeepConfig,
		Elevate:    opts.Elevate,
		Stdin:      app.Stdin,
		Stdout:     app.Stdout,
		Stderr:     app.Stderr,
	}
	if opts.JSON {
		// stdout carries the JSON document only.
		c.engine.Stdout = app.Stderr
	}
	return c.run(ctx, a)
}

func printRefusals(app *App, ref *clean.RefusedError) {
	for _, r := range ref.Refusals {
		fmt.Fprintf(app.Stderr, "pactidy: refusing to remove %s: %s\n", quote.Quote(r.Name), quote.Quote(r.Reason))
		if r.Why != nil && r.Why.Kind == scan.WhyRequired {
			fmt.Fprintf(app.Stderr, "  (pactidy report --why %s explains it)\n", shellQuote(r.Name))
		}
	}
}

func runCleanUnowned(ctx context.Context, app *App, opts *cleanOptions, paths []string) error {
	if opts.Unowned.ShowHidden {
		return usagef("--show-hidden: clean never takes what a rule hides")
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return usagef("%s: name unowned entries by their absolute path, as the report lists them", quote.Quote(p))
		}
	}
	if opts.NoQuarantine && opts.QuarantineDir != "" {
		return usagef("--no-quarantine and --quarantine-dir exclude each other")
	}
	cfg, err := app.config()
	if err != nil {
		return err
	}
	allow, err := app.allowlist()
	if err != nil {
		return err
	}
	found, err := unownedFindings(ctx, app, cfg, allow, opts.Unowned)
	if err != nil {
		return err
	}
	a, dropped := clean.PlanEntries(cfg.RootDir, found, paths)
	var unknown []string
	var refused []report.Error
	for _, d := range dropped {
		if errors.Is(d.Err, clean.ErrNotFound) {
			unknown = append(unknown, quote.Quote(d.Name))
			refused = append(refused, report.Error{Path: d.Name, Error: "refused: " + d.Err.Error()})
			continue
		}
		fmt.Fprintf(app.Stderr, "pactidy: %s: %s; left out\n", quote.Quote(d.Name), quote.Quote(d.Err.Error()))
	}
	if len(unknown) > 0 {
		if err := writeRefusedJSON(app, opts, "unowned", refused); err != nil {
			return err
		}
		return fmt.Errorf("%s: %v; nothing was moved", strings.Join(unknown, ", "), clean.ErrNotFound)
	}
	a.Permanent = opts.NoQuarantine
	dir := opts.QuarantineDir
	if dir == "" && !opts.NoQuarantine {
		dir = quarantine.DefaultDir(cfg.RootDir)
	}
	c := &cleaner{app: app, opts: opts, cfg: cfg, section: "unowned", quarantineDir: dir}
	c.engine = clean.Options{QuarantineDir: opts.QuarantineDir, Allow: allow}
	return c.run(ctx, a)
}

// unownedFindings are the unowned entries the report would list, with the
// same options (what a rule hides is never among them), as the scan saw
// them. A damaged database entry hides what a package owns: then nothing
// is safe to take.
func unownedFindings(ctx context.Context, app *App, cfg *conf.Config, allow *allowlist.List, o findings.UnownedOptions) ([]scan.UnownedEntry, error) {
	if err := scan.CheckRules(o.NoRules); err != nil {
		return nil, usagef("--no-rule: %v", err)
	}
	if err := app.skipQuarantine(&o); err != nil {
		return nil, err
	}
	fo, err := app.findingsOptions(cfg, allow)
	if err != nil {
		return nil, err
	}
	fo.Sections, fo.Unowned, fo.ProgressInterval = []string{report.SectionUnowned}, o, -1
	res, err := findings.Run(ctx, fo, nil)
	if err != nil {
		return nil, err
	}
	for _, e := range res.DB.Errors {
		return nil, fmt.Errorf("the package database is damaged, nothing is moved: %s: %s", quote.Quote(e.Path), quote.Quote(e.Err.Error()))
	}
	for _, e := range res.Report.Errors {
		fmt.Fprintf(app.Stderr, "pactidy: warning: %s: %s\n", quote.Quote(e.Path), quote.Quote(e.Error))
	}
	return res.Unowned.Entries, nil
}

func runCleanCache(ctx context.Context, app *App, opts *cleanOptions) error {
	o := opts.Cache
	o.Remove = o.Move == ""
	cfg, plan, err := planCache(app, o, !opts.DryRun)
	if err != nil {
		return err
	}
	for _, e := range plan.Errors {
		fmt.Fprintf(app.Stderr, "pactidy: %s: %s\n", quote.Quote(e.Path), quote.Quote(e.Err.Error()))
	}
	c := &cleaner{app: app, opts: opts, cfg: cfg, section: "cache", cachePlan: findings.CacheReport(plan)}
	return c.run(ctx, clean.PlanCache(plan, o.Move))
}

// cleaner prints a plan, asks, runs the engine and prints the result.
type cleaner struct {
	app     *App
	opts    *cleanOptions
	cfg     *conf.Config
	section string
	engine  clean.Options
	// cachePlan is the cache plan in the report's shape (clean cache).
	cachePlan *report.Cache
	// quarantineDir is where unowned entries go ("" with --no-quarantine).
	quarantineDir string
	// out collects the JSON document.
	out cleanJSON
	// done is the word for an item done ("" prints nothing: pacman
	// speaks for itself).
	done string
}

func (c *cleaner) run(ctx context.Context, a clean.Action) error {
	app := c.app
	c.out = cleanJSON{
		SchemaVersion: report.SchemaVersion,
		GeneratedAt:   app.Now().UTC().Format(time.RFC3339),
		Section:       c.section,
		Action:        "plan",
		Plan:          planJSON(a, c.cachePlan),
		Errors:        []report.Error{},
	}
	if !c.opts.JSON {
		c.printPlan(a)
	}
	if a.Items() == 0 {
		if !c.opts.JSON {
			fmt.Fprintln(app.Stdout, "Nothing to remove.")
		}
		return c.finish()
	}
	if c.opts.DryRun {
		if !c.opts.JSON {
			fmt.Fprintln(app.Stderr, "Dry run: nothing was changed.")
		}
		return c.finish()
	}
	if !c.opts.Yes {
		if app.StdinIsTerminal == nil || !app.StdinIsTerminal() || app.Stdin == nil {
			return usagef("refusing to remove without confirmation: no terminal to ask on; pass --yes to confirm the plan (or --dry-run to see it)")
		}
		ok, err := ask(app.Stdin, app.Stderr, fmt.Sprintf("%s? [y/N] ", verbOf(a, c.opts)))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(app.Stderr, "Nothing was changed.")
			return nil
		}
	}
	c.engine.Confirmed = true
	switch a := a.(type) {
	case *clean.QuarantineEntries:
		c.done = "quarantined"
		if a.Permanent {
			c.done = "deleted"
		}
	case *clean.PruneCache:
		c.done = "removed"
		if a.MoveTo != "" {
			c.done = "moved"
		}
	}
	plan := &clean.Plan{Config: c.cfg, Actions: []clean.Action{a}}
	res, err := clean.Run(ctx, plan, c.engine, c.event)
	c.out.Action = "clean"
	c.out.Result = resultJSON(res)
	if err != nil {
		c.out.Errors = append(c.out.Errors, report.Error{Error: err.Error()})
	}
	if ferr := c.finish(); ferr != nil {
		return ferr
	}
	if !c.opts.JSON {
		c.printSummary(a, res)
	}
	switch {
	case err != nil && errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted after %d of %d items; the others are untouched", res.Done+res.Failed, a.Items())
	case err != nil:
		return err
	case res.Failed > 0:
		return fmt.Errorf("%d of %d items could not be removed", res.Failed, a.Items())
	}
	return nil
}

// event prints one engine event as a line (text output only).
func (c *cleaner) event(e clean.Event) {
	if c.opts.JSON {
		return
	}
	app := c.app
	switch e.Kind {
	case clean.Command:
		fmt.Fprintf(app.Stderr, ":: running %s\n", shellJoin(e.Argv))
	case clean.ItemDone:
		if c.done != "" {
			fmt.Fprintf(app.Stdout, "%s %s (%s)\n", c.done, quote.Quote(e.Item), report.HumanBytes(e.Bytes))
		}
	case clean.ItemFailed:
		fmt.Fprintf(app.Stderr, "pactidy: %s: %s\n", quote.Quote(e.Item), quote.Quote(e.Err.Error()))
	case clean.ItemSkipped:
		fmt.Fprintf(app.Stderr, "pactidy: %s: skipped: %s\n", quote.Quote(e.Item), quote.Quote(e.Err.Error()))
	}
}

func verbOf(a clean.Action, opts *cleanOptions) string {
	n, b := a.Items(), report.HumanBytes(a.Bytes())
	switch a := a.(type) {
	case *clean.RemovePackages:
		return fmt.Sprintf("Remove %d %s (%s)", n, plural(n, "package", "packages"), b)
	case *clean.QuarantineEntries:
		if a.Permanent {
			return fmt.Sprintf("Delete %d %s for good (%s)", n, plural(n, "entry", "entries"), b)
		}
		return fmt.Sprintf("Move %d %s into the quarantine (%s)", n, plural(n, "entry", "entries"), b)
	case *clean.PruneCache:
		if a.MoveTo != "" {
			return fmt.Sprintf("Move %d cache %s to %s (%s)", n, plural(n, "file", "files"), quote.Quote(a.MoveTo), b)
		}
		return fmt.Sprintf("Remove %d cache %s (%s)", n, plural(n, "file", "files"), b)
	}
	return "Go on"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ask reads a yes or no from in; anything but y or yes is no.
func ask(in io.Reader, out io.Writer, q string) (bool, error) {
	fmt.Fprint(out, q)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(out)
			return false, nil
		}
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

func (c *cleaner) printPlan(a clean.Action) {
	app := c.app
	st := report.NewStyles(app.useColor())
	w := app.Stdout
	switch a := a.(type) {
	case *clean.RemovePackages:
		if len(a.Packages) == 0 {
			return
		}
		cmd, err := clean.PacmanCommand(c.cfg, a, withConfirmed(c.engine))
		line := ""
		if err == nil {
			line = shellJoin(cmd.Args)
		}
		fmt.Fprintf(w, "%s\n", st.Header(fmt.Sprintf("%d %s, %s:", len(a.Packages), plural(len(a.Packages), "package", "packages"), report.HumanBytes(a.Bytes()))))
		for _, p := range a.Packages {
			note := ""
			if !p.Target {
				note = " (taken along)"
			}
			if len(p.OptionalFor) > 0 {
				note += " (optional for " + strings.Join(p.OptionalFor, ", ") + ")"
			}
			fmt.Fprintf(w, "  %s %s  %s%s\n", st.Name(quote.Quote(p.Name)), quote.Quote(p.Version), st.Size(report.HumanBytes(p.Size)), st.Dim(quote.Quote(note)))
		}
		if line != "" {
			fmt.Fprintf(w, "Command: %s\n", line)
		} else {
			fmt.Fprintf(app.Stderr, "pactidy: %s\n", quote.Quote(err.Error()))
		}
	case *clean.QuarantineEntries:
		if len(a.Entries) == 0 {
			return
		}
		fmt.Fprintf(w, "%s\n", st.Header(fmt.Sprintf("%d unowned %s, %s:", len(a.Entries), plural(len(a.Entries), "entry", "entries"), report.HumanBytes(a.Bytes()))))
		for _, e := range a.Entries {
			n := ""
			if e.Type == "dir" {
				n = fmt.Sprintf(", %d %s", e.Entries, plural(e.Entries, "entry", "entries"))
			}
			fmt.Fprintf(w, "  %s  %s%s  %s\n", quote.Quote(e.Path), e.Type, n, st.Size(report.HumanBytes(e.Size)))
		}
		if a.Permanent {
			fmt.Fprintf(w, "%s\n", st.Warn("--no-quarantine: these are deleted for good, with no way back."))
		} else {
			fmt.Fprintf(w, "Into the quarantine %s (pactidy quarantine restore puts them back).\n", quote.Quote(c.quarantineDir))
		}
	case *clean.PruneCache:
		if err := report.WriteCacheText(w, st, c.cachePlan); err != nil {
			fmt.Fprintf(app.Stderr, "pactidy: %s\n", quote.Quote(err.Error()))
		}
	}
}

// quarantineFlag is the --quarantine-dir a restore needs to find dir.
func quarantineFlag(dir string) string {
	if dir == quarantine.DefaultDir("/") {
		return ""
	}
	return " --quarantine-dir " + shellQuote(dir)
}

func withConfirmed(o clean.Options) clean.Options {
	o.Confirmed = true
	return o
}

func (c *cleaner) printSummary(a clean.Action, res *clean.Result) {
	w := c.app.Stdout
	for _, ar := range res.Actions {
		if pr := ar.Packages; pr != nil {
			fmt.Fprintf(w, "%d %s removed, %s freed\n", len(pr.Removed), plural(len(pr.Removed), "package", "packages"), report.HumanBytes(pr.Freed))
			if len(pr.Kept) > 0 {
				fmt.Fprintf(w, "Still installed: %s\n", strings.Join(pr.Kept, " "))
			}
			for _, u := range pr.Unexpected {
				fmt.Fprintf(c.app.Stderr, "pactidy: warning: %s was removed too, although the plan did not list it\n", u.Name)
			}
			continue
		}
		verb := "removed"
		if pc, ok := a.(*clean.PruneCache); ok && pc.MoveTo != "" {
			verb = "moved to " + quote.Quote(pc.MoveTo)
		}
		if qa, ok := a.(*clean.QuarantineEntries); ok && !qa.Permanent {
			verb = "quarantined"
		}
		if qr := ar.Quarantine; qr != nil {
			for _, rec := range qr.Recovered {
				if rec.Err == nil {
					fmt.Fprintf(c.app.Stderr, "pactidy: earlier run %s was interrupted: %s %s\n", rec.ID, rec.How, quote.Quote(rec.Path))
				}
			}
		}
		fmt.Fprintf(w, "%d of %d %s, %s", len(ar.Done), ar.Action.Items(), verb, report.HumanBytes(ar.Bytes))
		if len(ar.Skipped) > 0 {
			fmt.Fprintf(w, "; %d skipped", len(ar.Skipped))
		}
		if len(ar.Failed) > 0 {
			fmt.Fprintf(w, "; %d failed", len(ar.Failed))
		}
		fmt.Fprintln(w)
		if qr := ar.Quarantine; qr != nil && len(ar.Done) > 0 && !a.(*clean.QuarantineEntries).Permanent {
			fmt.Fprintf(w, "Undo with: pactidy quarantine restore %s%s\n", qr.ID, quarantineFlag(qr.Dir))
		}
	}
}

// shellJoin quotes a command line so that it can be pasted into a shell;
// a word with control characters or invalid UTF-8 is Go-quoted instead.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if !quote.Safe(s) {
		return quote.Quote(s)
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// The JSON document of `pactidy clean --json`.
type cleanJSON struct {
	SchemaVersion int              `json:"schema_version"`
	GeneratedAt   string           `json:"generated_at"`
	Section       string           `json:"section"`
	Action        string           `json:"action"` // plan or clean
	Plan          cleanPlanJSON    `json:"plan"`
	Result        *cleanResultJSON `json:"result,omitempty"`
	Errors        []report.Error   `json:"errors"`
}

type cleanPlanJSON struct {
	Items    int                `json:"items"`
	Bytes    int64              `json:"bytes"`
	Cascade  bool               `json:"cascade,omitempty"`
	Targets  []string           `json:"targets,omitempty"`
	Packages []cleanPackageJSON `json:"packages,omitempty"`
	Entries  []cleanEntryJSON   `json:"entries,omitempty"`
	Cache    *report.Cache      `json:"cache,omitempty"`
	MoveTo   string             `json:"move_to,omitempty"`
}

type cleanPackageJSON struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Size        int64    `json:"size"`
	Target      bool     `json:"target"`
	OptionalFor []string `json:"optional_for,omitempty"`
}

type cleanEntryJSON struct {
	Path      string `json:"path"`
	Type      string `json:"type"`
	Size      int64  `json:"size"`
	Entries   int    `json:"entries"`
	PathBytes string `json:"path_bytes,omitempty"`
}

type cleanResultJSON struct {
	Done    int              `json:"done"`
	Failed  int              `json:"failed"`
	Skipped int              `json:"skipped"`
	Bytes   int64            `json:"bytes"`
	Items   []cleanItemJSON  `json:"items"`
	Pacman  *cleanPacmanJSON `json:"pacman,omitempty"`
	// Quarantine is the store and run unowned entries went into.
	Quarantine *cleanQuarantineJSON `json:"quarantine,omitempty"`
}

type cleanQuarantineJSON struct {
	Dir      string `json:"dir"`
	ID       string `json:"id"`
	DirBytes string `json:"dir_bytes,omitempty"`
}

type cleanItemJSON struct {
	Name      string `json:"name"`
	Status    string `json:"status"` // done, failed, skipped
	Bytes     int64  `json:"bytes,omitempty"`
	Error     string `json:"error,omitempty"`
	PathBytes string `json:"path_bytes,omitempty"`
}

type cleanPacmanJSON struct {
	Argv       []string `json:"argv"`
	ExitStatus int      `json:"exit_status"`
	Removed    []string `json:"removed"`
	Freed      int64    `json:"freed_bytes"`
	Kept       []string `json:"kept"`
	Unexpected []string `json:"unexpected"`
}

func planJSON(a clean.Action, c *report.Cache) cleanPlanJSON {
	p := cleanPlanJSON{Items: a.Items(), Bytes: a.Bytes()}
	switch a := a.(type) {
	case *clean.RemovePackages:
		p.Cascade, p.Targets = a.Cascade, a.Targets
		p.Packages = []cleanPackageJSON{}
		for _, k := range a.Packages {
			p.Packages = append(p.Packages, cleanPackageJSON{Name: k.Name, Version: k.Version, Size: k.Size, Target: k.Target, OptionalFor: k.OptionalFor})
		}
	case *clean.QuarantineEntries:
		p.Entries = []cleanEntryJSON{}
		for _, e := range a.Entries {
			p.Entries = append(p.Entries, cleanEntryJSON{Path: e.Path, Type: e.Type, Size: e.Size, Entries: e.Entries, PathBytes: report.RawPath(e.Path)})
		}
	case *clean.PruneCache:
		p.Cache, p.MoveTo = c, a.MoveTo
	}
	return p
}

func resultJSON(res *clean.Result) *cleanResultJSON {
	out := &cleanResultJSON{Done: res.Done, Failed: res.Failed, Skipped: res.Skipped, Bytes: res.Bytes, Items: []cleanItemJSON{}}
	for _, ar := range res.Actions {
		for _, d := range ar.Done {
			out.Items = append(out.Items, cleanItemJSON{Name: d.Name, Status: "done", Bytes: d.Bytes, PathBytes: report.RawPath(d.Name)})
		}
		for _, f := range ar.Failed {
			out.Items = append(out.Items, cleanItemJSON{Name: f.Name, Status: "failed", Error: f.Err.Error(), PathBytes: report.RawPath(f.Name)})
		}
		for _, s := range ar.Skipped {
			out.Items = append(out.Items, cleanItemJSON{Name: s.Name, Status: "skipped", Error: s.Err.Error(), PathBytes: report.RawPath(s.Name)})
		}
		if qr := ar.Quarantine; qr != nil {
			out.Quarantine = &cleanQuarantineJSON{Dir: qr.Dir, ID: qr.ID, DirBytes: report.RawPath(qr.Dir)}
		}
		if pr := ar.Packages; pr != nil {
			pj := &cleanPacmanJSON{Argv: pr.Argv, ExitStatus: pr.ExitStatus, Freed: pr.Freed, Removed: []string{}, Kept: []string{}, Unexpected: []string{}}
			for _, r := range pr.Removed {
				pj.Removed = append(pj.Removed, r.Name)
			}
			pj.Kept = append(pj.Kept, pr.Kept...)
			for _, u := range pr.Unexpected {
				pj.Unexpected = append(pj.Unexpected, u.Name)
			}
			out.Pacman = pj
		}
	}
	return out
}

// writeRefusedJSON prints, with --json, the document of a plan refused as
// a whole: action "refused", nothing planned, the reasons in errors.
func writeRefusedJSON(app *App, opts *cleanOptions, section string, errs []report.Error) error {
	if !opts.JSON {
		return nil
	}
	report.FillErrorBytes(errs)
	c := &cleaner{app: app, opts: opts, out: cleanJSON{
		SchemaVersion: report.SchemaVersion,
		GeneratedAt:   app.Now().UTC().Format(time.RFC3339),
		Section:       section,
		Action:        "refused",
		Errors:        errs,
	}}
	return c.finish()
}

func (c *cleaner) finish() error {
	if !c.opts.JSON {
		return nil
	}
	report.FillErrorBytes(c.out.Errors)
	if c.out.Plan.Cache != nil {
		c.out.Plan.Cache.FillPathBytes()
	}
	b, err := json.Marshal(c.out)
	if err != nil {
		return err
	}
	_, err = c.app.Stdout.Write(append(b, '\n'))
	return err
}
