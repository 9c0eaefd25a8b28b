package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/findings"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// reportGCPercent is the garbage collector's GOGC for report (unless GOGC
// is set). A full report holds the file lists, the owned-path index, the
// cache plan and the state at once, and at Go's default of 100 its heap
// peaks at twice that: 103 MB for 58 MB live on the 2,000-package root,
// 130-136 MiB resident. At 50 the peak is 1.5 times the live heap:
// 108-114 MiB resident, for about 5 % more time.
const reportGCPercent = 50

type reportOptions struct {
	json       bool
	prometheus bool
	quiet      bool
	exitCode   bool
	only       []string
	optional   string
	why        []string
	unowned    findings.UnownedOptions
	watch      watchOptions
	userdata   userdataOptions
}

const reportHelp = `Report what can be cleaned up. Nothing is changed and no root privileges
are needed.

Sections (all by default; --only selects some, comma-separated):
  orphans   dependency packages nothing you want still needs, including
            dependency cycles pacman -Qdt never lists; with what pacman
            -Rns would remove along with each and the bytes freed
  unneeded  explicitly installed packages nothing depends on (pacman -Qet);
            for review only, they never count as findings
  foreign   packages in no sync database (pacman -Qm)
  missing   files that packages own and that are missing (pacman -Qk)
  pacfiles  .pacnew, .pacsave and .pacorig files with the owning package
  unowned   files no package owns
  cache     old package files a cache prune would remove
  userdata  never by default: entries of ~/.config, ~/.cache, ~/.local/share,
            ~/.local/state and home dot-directories no installed program
            seems to use (a guess from names; --user NAME, --all-users)

Roots that keep packages: explicitly installed packages, HoldPkg from
pacman.conf and the allowlist. By default optional dependencies of kept
packages are kept too (like pacman -Qdt); --optional=ignore keeps only
real dependencies (like pacman -Qdtt and yay -Yc).

Exit status:
  0  the report ran (with or without findings)
  1  failure (unreadable configuration or database, I/O error)
  2  usage error (unknown flag, bad value)
  3  with --exit-code: something was found (unneeded packages and
     unreadable paths do not count)
`

func newReportCmd(app *App) *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Report what can be cleaned (read-only)",
		Long:  reportHelp,
		Example: `  pactidy report
  pactidy report --only orphans,pacfiles --quiet     # for cron: silent unless something is found
  pactidy report --json | jq '.orphans[].name'
  pactidy report --prometheus > /var/lib/node_exporter/pactidy.prom
  pactidy report --why cairo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.reportSettings(cmd, opts); err != nil {
				return err
			}
			return runReport(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.json, "json", false, "print JSON (schema_version 1, see the README)")
	f.BoolVar(&opts.prometheus, "prometheus", false, "print gauges for the node_exporter textfile collector")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "print nothing when nothing was found (text output only)")
	f.BoolVar(&opts.exitCode, "exit-code", false, "exit with status 3 when something was found")
	f.StringSliceVar(&opts.only, "only", nil, "report only these `sections` ("+strings.Join(report.KnownSections, ",")+"; userdata only when named)")
	f.StringVar(&opts.optional, "optional", "keep", "optional dependencies of kept packages: keep or ignore")
	f.StringArrayVar(&opts.why, "why", nil, "explain why `package` is installed (repeatable), instead of the report")
	addUnownedFlags(f, &opts.unowned)
	addWatchFlags(f, &opts.watch)
	addUserdataFlags(f, &opts.userdata)
	return cmd
}

// check validates the flags and returns the selected sections in report
// order and the optional-dependency mode.
func (o *reportOptions) check() ([]string, scan.OptionalMode, error) {
	var mode scan.OptionalMode
	switch o.optional {
	case "keep":
		mode = scan.OptionalKeep
	case "ignore":
		mode = scan.OptionalIgnore
	default:
		return nil, 0, usagef("invalid --optional %q: want keep or ignore", o.optional)
	}
	switch {
	case o.json && o.prometheus:
		return nil, 0, usagef("--json and --prometheus cannot be combined")
	case o.quiet && (o.json || o.prometheus):
		return nil, 0, usagef("--quiet only applies to text output; JSON and Prometheus output is always written")
	case len(o.why) > 0 && o.prometheus:
		return nil, 0, usagef("--why prints text or JSON, not Prometheus gauges")
	}
	if err := o.watch.check(o); err != nil {
		return nil, 0, err
	}
	if o.only == nil {
		return report.AllSections, mode, nil
	}
	want := map[string]bool{}
	for _, s := range o.only {
		s = strings.TrimSpace(s)
		known := false
		for _, k := range report.KnownSections {
			known = known || k == s
		}
		if !known {
			return nil, 0, usagef("unknown section %q in --only: want some of %s", s, strings.Join(report.KnownSections, ","))
		}
		want[s] = true
	}
	var sections []string
	for _, k := range report.KnownSections {
		if want[k] {
			sections = append(sections, k)
		}
	}
	if len(sections) == 0 {
		return nil, 0, usagef("--only needs at least one section: %s", strings.Join(report.AllSections, ","))
	}
	return sections, mode, nil
}

func runReport(ctx context.Context, app *App, opts *reportOptions) error {
	sections, mode, err := opts.check()
	if err != nil {
		return err
	}
	if app.Getenv("GOGC") == "" {
		debug.SetGCPercent(reportGCPercent)
	}
	if err := scan.CheckRules(opts.unowned.NoRules); err != nil {
		return usagef("--no-rule: %v", err)
	}
	cfg, err := app.configNoWarn()
	if err != nil {
		return err
	}
	// pacman.conf's warnings come out at the end (before an error, which
	// they may explain), except when --quiet found nothing.
	quietClean := false
	defer func() {
		if !quietClean {
			app.configWarnings(cfg)
		}
	}()
	allow, err := app.allowlist()
	if err != nil {
		return err
	}
	fo, err := app.findingsOptions(cfg, allow)
	if err != nil {
		return err
	}
	fo.Sections, fo.Optional, fo.Unowned, fo.ProgressInterval = sections, mode, opts.unowned, -1
	if len(opts.why) > 0 {
		return printWhy(app, opts, fo)
	}
	if slices.Contains(sections, report.SectionUserdata) {
		if fo.Homes, err = app.homes(cfg, opts.userdata); err != nil {
			return err
		}
		if fo.UserKeep, err = userKeep(cfg.RootDir, allow, fo.Homes); err != nil {
			return err
		}
	} else if opts.userdata.User != "" || opts.userdata.AllUsers {
		return usagef("--user and --all-users choose the homes of the userdata section: add --only userdata")
	}
	if slices.Contains(sections, report.SectionUnowned) {
		if err := app.skipQuarantine(&fo.Unowned); err != nil {
			return err
		}
	}
	if f := opts.watch.state.file; f != "" {
		// pactidy's own state is not an unowned file.
		if abs, err := filepath.Abs(f); err == nil {
			fo.Unowned.SkipDirs = append(slices.Clip(fo.Unowned.SkipDirs), abs)
		}
	}
	loaded := opts.watch.loadState(cfg.RootDir)
	res, err := findings.Run(ctx, fo, nil)
	if err != nil {
		return err
	}
	rep := res.Report
	watched := app.watchReport(&opts.watch, cfg.RootDir, rep, loaded)
	found := rep.Findings()
	if opts.quiet && found == 0 {
		quietClean = true
		return watched.err
	}
	var p report.Printer
	switch {
	case opts.json:
		p = report.NewJSON()
	case opts.prometheus:
		p = report.NewPrometheus()
	default:
		p = report.NewText(report.NewStyles(app.useColor()))
	}
	out := io.Writer(app.Stdout)
	var buf bytes.Buffer
	if opts.watch.output != "" {
		out = &buf
	}
	if err := p.Print(out, rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := writeOutput(&opts.watch, &buf); err != nil {
		return err
	}
	for _, e := range rep.Errors {
		// A file name may hold newlines or terminal escapes.
		fmt.Fprintf(app.Stderr, "pactidy: warning: %s: %s\n", report.QuotePath(e.Path), report.QuotePath(e.Error))
	}
	watched.printNotes(app)
	if watched.err != nil {
		return watched.err
	}
	if opts.exitCode && found > 0 {
		return errFindings
	}
	return nil
}

// findingsOptions are what every computation of findings starts from: the
// configuration, the allowlist, the settings' cache policy (Keep,
// KeepUninstalled), the clock and the environment. Callers add their
// sections and flags.
func (app *App) findingsOptions(cfg *conf.Config, allow *allowlist.List) (findings.Options, error) {
	policy, err := app.cachePolicy()
	if err != nil {
		return findings.Options{}, err
	}
	return findings.Options{Config: cfg, Allow: allow, Cache: policy, Getenv: app.Getenv, Now: app.Now}, nil
}

func printWhy(app *App, opts *reportOptions, fo findings.Options) error {
	whys, err := findings.Why(fo, opts.why)
	if err != nil {
		return fmt.Errorf("--why %w", err)
	}
	if opts.json {
		return report.WriteWhyJSON(app.Stdout, whys)
	}
	return report.WriteWhyText(app.Stdout, report.NewStyles(app.useColor()), whys)
}
