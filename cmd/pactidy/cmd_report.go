package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

type reportOptions struct {
	json       bool
	prometheus bool
	quiet      bool
	exitCode   bool
	only       []string
	optional   string
	why        []string
	unowned    unownedOptions
	watch      watchOptions
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
	f.StringSliceVar(&opts.only, "only", nil, "report only these `sections` ("+strings.Join(report.AllSections, ",")+")")
	f.StringVar(&opts.optional, "optional", "keep", "optional dependencies of kept packages: keep or ignore")
	f.StringArrayVar(&opts.why, "why", nil, "explain why `package` is installed (repeatable), instead of the report")
	addUnownedFlags(f, &opts.unowned)
	addWatchFlags(f, &opts.watch)
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
		for _, k := range report.AllSections {
			known = known || k == s
		}
		if !known {
			return nil, 0, usagef("unknown section %q in --only: want some of %s", s, strings.Join(report.AllSections, ","))
		}
		want[s] = true
	}
	var sections []string
	for _, k := range report.AllSections {
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
	rep := &report.Report{SchemaVersion: report.SchemaVersion, Sections: sections, Optional: mode.String()}
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
	// File lists are most of the local database; read them only when a
	// section looks at files.
	files := len(opts.why) == 0 && (rep.Has(report.SectionMissing) || rep.Has(report.SectionPacfiles) || rep.Has(report.SectionUnowned))
	var db *pkg.DB
	if len(opts.why) == 0 && len(sections) == 1 && sections[0] == report.SectionCache {
		// The cache plan needs the installed versions only.
		db, err = loadInstalled(cfg)
	} else {
		db, err = loadPackages(cfg, files)
	}
	if err != nil {
		return err
	}
	allow, err := app.allowlist()
	if err != nil {
		return err
	}
	g := scan.NewGraph(db, scan.Options{HoldPkg: cfg.HoldPkg, Keep: allow.KeepsPackage, Optional: mode})
	if len(opts.why) > 0 {
		return printWhy(app, opts, g)
	}

	rep.Root = cfg.RootDir
	rep.GeneratedAt = app.Now()
	rep.Installed = len(db.Packages)
	for _, e := range db.Errors {
		rep.Errors = append(rep.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
	}
	addPathErrors := func(errs []scan.PathError) {
		for _, e := range errs {
			rep.Errors = append(rep.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
		}
	}
	rep.Elapsed = map[string]time.Duration{}
	if f := opts.watch.state.file; f != "" {
		// pactidy's own state is not an unowned file.
		if abs, err := filepath.Abs(f); err == nil {
			if sp, ok := systemPath(cfg.RootDir, abs); ok {
				opts.unowned.Excludes = append(opts.unowned.Excludes, sp)
			}
		}
	}
	for _, sec := range sections {
		start := time.Now()
		switch sec {
		case report.SectionOrphans:
			for _, o := range g.Orphans() {
				ro := report.Orphan{
					Name: o.Package.Name, Version: o.Package.Version, InstalledSize: o.Package.InstalledSize,
					Cycle: o.Cycle, OptionalFor: o.OptionalFor, RequiredBy: o.RequiredBy, FreedBytes: o.FreedBytes,
				}
				for _, r := range o.Removes {
					ro.Removes = append(ro.Removes, r.Name)
				}
				rep.Orphans = append(rep.Orphans, ro)
			}
		case report.SectionUnneeded:
			for _, p := range g.Unneeded() {
				rep.Unneeded = append(rep.Unneeded, report.Unneeded{Name: p.Name, Version: p.Version, InstalledSize: p.InstalledSize})
			}
		case report.SectionForeign:
			foreign, ok := scan.Foreign(db, allow.KeepsPackage)
			rep.ForeignUnknown = !ok
			for _, p := range foreign {
				rep.Foreign = append(rep.Foreign, report.Foreign{Name: p.Name, Version: p.Version})
			}
		case report.SectionMissing:
			missing, errs, err := scan.MissingFiles(ctx, cfg.RootDir, db, cfg.NoExtract)
			if err != nil {
				return err
			}
			for _, m := range missing {
				rep.MissingFiles = append(rep.MissingFiles, report.MissingFile{Package: m.Package, Path: m.Path, PathBytes: rawPath(m.Path)})
			}
			addPathErrors(errs)
		case report.SectionPacfiles:
			found, errs := scan.Pacfiles(cfg.RootDir, db)
			for _, f := range found {
				rep.Pacfiles = append(rep.Pacfiles, report.Pacfile{Path: f.Path, Kind: f.Kind, Package: f.Package, PathBytes: rawPath(f.Path)})
			}
			addPathErrors(errs)
		case report.SectionUnowned:
			if err := collectUnowned(ctx, app, cfg, db, allow, &opts.unowned, rep); err != nil {
				return err
			}
		case report.SectionCache:
			if err := collectCache(ctx, app, cfg, db, allow, rep); err != nil {
				return err
			}
		}
		rep.Elapsed[sec] = time.Since(start)
	}

	rep.Errors = uniqueErrors(rep.Errors)
	for i := range rep.Errors {
		rep.Errors[i].PathBytes = rawPath(rep.Errors[i].Path)
	}
	watched := app.watchReport(&opts.watch, cfg.RootDir, rep)
	findings := rep.Findings()
	if opts.quiet && findings == 0 {
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
	if opts.exitCode && findings > 0 {
		return errFindings
	}
	return nil
}

// rawPath is the base64 of a path that is not valid UTF-8 (JSON can only
// carry such a path with U+FFFD in place of the bad bytes), else "".
func rawPath(p string) string {
	if utf8.ValidString(p) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(p))
}

// loadPackages reads the local database, with file lists only when asked.
func loadPackages(cfg *conf.Config, files bool) (*pkg.DB, error) {
	h, err := alpm.Open(cfg)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.LoadWith(alpm.LoadOptions{Files: files})
}

func printWhy(app *App, opts *reportOptions, g *scan.Graph) error {
	var whys []report.Why
	for _, name := range opts.why {
		query, pkgs := "", []string{name}
		if _, ok := g.Why(name); !ok {
			// Like pacman -Qi: a provision names the packages providing it.
			query, pkgs = name, g.Providers(name)
			if len(pkgs) == 0 {
				return fmt.Errorf("--why %s: no installed package has that name or provides it (pacman -Qs searches)", name)
			}
		}
		for _, p := range pkgs {
			w, _ := g.Why(p)
			rw := report.Why{Package: w.Package, Query: query, Reason: w.Kind.String(), RequiredBy: w.RequiredBy, Cycle: w.Cycle}
			for _, l := range w.Chain {
				rw.Chain = append(rw.Chain, report.WhyLink{Name: l.Name, Optional: l.Optional})
			}
			whys = append(whys, rw)
		}
	}
	if opts.json {
		return report.WriteWhyJSON(app.Stdout, whys)
	}
	return report.WriteWhyText(app.Stdout, report.NewStyles(app.useColor()), whys)
}

// uniqueErrors drops repeats, keeping the first: two sections walking the
// same directory (pacfiles and unowned under /etc) meet its error twice.
func uniqueErrors(errs []report.Error) []report.Error {
	seen := make(map[report.Error]bool, len(errs))
	out := errs[:0]
	for _, e := range errs {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
