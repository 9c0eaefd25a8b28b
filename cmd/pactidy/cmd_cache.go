package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/clean"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/findings"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
)

// cacheOptions are the flags of `pactidy cache`.
type cacheOptions struct {
	CacheDirs       []string
	Keep            int
	KeepUninstalled int // -1: same as Keep
	NoKeepInstalled bool
	Ignore          []string
	Arch            string
	MinAge          string
	Remove          bool
	Move            string
	JSON            bool
	ExitCode        bool
	// BuildCacheDirs replace the default AUR helper build caches.
	BuildCacheDirs []string
	// keepUninstalledSet: --keep-uninstalled was given (then -1 is wrong).
	keepUninstalledSet bool
}

func newCacheCmd(app *App) *cobra.Command {
	opts := cacheOptions{}
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Plan or prune old package files in the pacman cache",
		Long: `Show which package files of the pacman cache can go (a dry run), or remove
or move them.

Kept: the --keep newest versions of every package (by name and architecture,
counted across all cache directories), --keep-uninstalled of packages that are
not installed, the installed version, and the version before it when a .pacnew
waits for a merge (pacdiff needs it). A package's .sig goes with it. Also
removed: signatures without their package, partial downloads older than a day,
and extra copies of one file in several cache directories. Names that are not
package file names and symlinks are never touched.

` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.keepUninstalledSet = cmd.Flags().Changed("keep-uninstalled")
			if err := app.cacheSettings(cmd, &opts); err != nil {
				return err
			}
			return runCache(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	addCachePlanFlags(f, &opts)
	f.BoolVar(&opts.Remove, "remove", false, "remove the candidates")
	f.StringVar(&opts.Move, "move", "", "move the candidates into `dir`")
	f.BoolVar(&opts.JSON, "json", false, "print the plan as JSON")
	f.BoolVar(&opts.ExitCode, "exit-code", false, "exit with status 3 when a dry run finds files to remove")
	return cmd
}

// addCachePlanFlags adds the flags that shape the cache plan; `pactidy
// clean cache` has the same.
func addCachePlanFlags(f *pflag.FlagSet, opts *cacheOptions) {
	f.StringArrayVar(&opts.CacheDirs, "cachedir", nil, "cache `dir` to prune instead of pacman.conf's CacheDir (repeatable)")
	f.IntVarP(&opts.Keep, "keep", "k", 3, "versions of each package to keep")
	f.IntVar(&opts.KeepUninstalled, "keep-uninstalled", -1, "versions to keep of packages that are not installed")
	f.Lookup("keep-uninstalled").DefValue = "same as --keep"
	f.BoolVar(&opts.NoKeepInstalled, "no-keep-installed", false, "do not protect the installed version when it is older than the kept ones")
	f.StringSliceVar(&opts.Ignore, "ignore", nil, "keep every version of these `packages` (comma-separated names or globs)")
	f.StringVar(&opts.Arch, "arch", "", "only prune packages of this `architecture`")
	f.StringVar(&opts.MinAge, "min-age", "", "keep files modified more recently than this `age` (30d, 2w, 12h)")
	f.StringArrayVar(&opts.BuildCacheDirs, "build-cache", nil, "AUR helper build cache `dir` to check instead of ~/.cache/yay and ~/.cache/paru/clone (repeatable)")
}

func (o cacheOptions) validate() (time.Duration, error) {
	if o.Keep < 0 {
		return 0, usagef("invalid --keep %d: want 0 or more", o.Keep)
	}
	if o.KeepUninstalled < -1 || (o.keepUninstalledSet && o.KeepUninstalled < 0) {
		return 0, usagef("invalid --keep-uninstalled %d: want 0 or more", o.KeepUninstalled)
	}
	if o.Remove && o.Move != "" {
		return 0, usagef("--remove and --move exclude each other")
	}
	age, err := cache.ParseAge(o.MinAge)
	if err != nil {
		return 0, usagef("--min-age: %v", err)
	}
	for _, pat := range o.Ignore {
		if _, err := filepath.Match(pat, ""); err != nil {
			return 0, usagef("invalid --ignore pattern %q: %v", pat, err)
		}
	}
	return age, nil
}

func runCache(ctx context.Context, app *App, opts cacheOptions) error {
	acting := opts.Remove || opts.Move != ""
	cfg, plan, err := planCache(app, opts, acting)
	if err != nil {
		return err
	}
	rc := findings.CacheReport(plan)

	out := cacheOutput{app: app, opts: opts, cache: rc, plan: plan}
	if !opts.JSON {
		if err := report.WriteCacheText(app.Stdout, report.NewStyles(app.useColor()), rc); err != nil {
			return err
		}
	}
	for _, e := range plan.Errors {
		out.errors = append(out.errors, report.Error{Path: e.Path, Error: e.Err.Error()})
		if !opts.JSON {
			fmt.Fprintf(app.Stderr, "pactidy: %s: %s\n", report.QuotePath(e.Path), report.QuotePath(e.Err.Error()))
		}
	}

	if !acting {
		if err := out.finish(); err != nil {
			return err
		}
		if plan.Removals > 0 && !opts.JSON {
			fmt.Fprintf(app.Stderr, "Dry run, nothing changed: --remove deletes these files, --move DIR moves them.\n")
		}
		if opts.ExitCode && plan.Removals > 0 {
			return errFindings
		}
		return nil
	}

	// A reader of our output that goes away (a closed pipe) must not kill
	// pactidy between taking pacman's lock and releasing it: writes then
	// fail with EPIPE instead.
	signal.Ignore(syscall.SIGPIPE)
	// The engine holds pacman's lock while files go: pacman may have
	// started while the plan was made.
	cr, aerr := clean.Run(ctx, &clean.Plan{Config: cfg, Actions: []clean.Action{clean.PlanCache(plan, opts.Move)}}, clean.Options{}, nil)
	var res *cache.Result
	if len(cr.Actions) > 0 {
		res = cr.Actions[0].Cache
	}
	var locked *clean.LockedError
	var cacheLocked *cache.LockedError
	if errors.As(aerr, &locked) || errors.As(aerr, &cacheLocked) {
		return fmt.Errorf("refusing to change the cache: %w", aerr)
	}
	if res == nil {
		if !errors.Is(aerr, context.Canceled) {
			return aerr
		}
		res = &cache.Result{} // interrupted before the first file
	}
	out.result = res
	denied := false
	asRoot := os.Geteuid() == 0
	for _, f := range res.Failed {
		msg := f.Err.Error()
		switch {
		case errors.Is(f.Err, fs.ErrPermission) && asRoot:
			// root is only refused by file attributes.
			denied = true
			msg += " (the file or its directory is immutable or append-only; see lsattr, chattr -i)"
		case errors.Is(f.Err, fs.ErrPermission):
			denied = true
			msg += " (run pactidy as root to change the cache)"
		}
		out.errors = append(out.errors, report.Error{Path: f.Path, Error: msg})
		if !opts.JSON {
			fmt.Fprintf(app.Stderr, "pactidy: %s: %s\n", report.QuotePath(f.Path), report.QuotePath(msg))
		}
	}
	for _, f := range res.Skipped {
		if !opts.JSON {
			fmt.Fprintf(app.Stderr, "pactidy: %s: %s\n", report.QuotePath(f.Path), report.QuotePath(f.Err.Error()))
		}
	}
	if err := out.finish(); err != nil {
		return err
	}
	verb := "removed"
	if opts.Move != "" {
		verb = "moved to " + report.QuotePath(opts.Move)
	}
	if !opts.JSON {
		fmt.Fprintf(app.Stdout, "%d %s %s, %s\n", len(res.Done), cachePlural(len(res.Done), "file", "files"), verb, report.HumanBytes(res.Bytes))
	}
	switch {
	case aerr != nil && errors.Is(aerr, context.Canceled):
		return fmt.Errorf("interrupted after %d of %d files; the others are untouched", len(res.Done)+len(res.Failed), plan.Removals)
	case aerr != nil && errors.Is(aerr, fs.ErrPermission) && !asRoot:
		return fmt.Errorf("%w; run as root (sudo pactidy cache ...)", aerr)
	case aerr != nil:
		return aerr
	case len(res.Failed) > 0 && denied && asRoot:
		return fmt.Errorf("%d of %d files could not be %s: operation not permitted even as root; check the attributes of the files named above (lsattr)", len(res.Failed), plan.Removals, strings.SplitN(verb, " ", 2)[0])
	case len(res.Failed) > 0 && denied:
		return fmt.Errorf("%d of %d files could not be %s: permission denied; run as root (sudo pactidy cache ...)", len(res.Failed), plan.Removals, strings.SplitN(verb, " ", 2)[0])
	case len(res.Failed) > 0:
		return fmt.Errorf("%d of %d files could not be %s", len(res.Failed), plan.Removals, strings.SplitN(verb, " ", 2)[0])
	}
	return nil
}

// planCache makes the cache plan of opts; checkLock refuses when pacman
// holds its lock (before any time is spent planning).
func planCache(app *App, opts cacheOptions, checkLock bool) (*conf.Config, *cache.Plan, error) {
	minAge, err := opts.validate()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := app.config()
	if err != nil {
		return nil, nil, err
	}
	dirs := opts.CacheDirs
	if len(dirs) == 0 {
		// pacman.conf may name a cache directory that was never created:
		// nothing to prune there. A --cachedir that does not exist is an
		// error (Scan reports it).
		for _, d := range cfg.CacheDirs {
			if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(app.Stderr, "pactidy: warning: cache directory %s (CacheDir of %s) does not exist\n", report.QuotePath(d), report.QuotePath(cfg.File))
				continue
			}
			dirs = append(dirs, d)
		}
	}
	if checkLock {
		if err := cache.CheckLock(cfg.DBPath); err != nil {
			return nil, nil, fmt.Errorf("refusing to change the cache: %w", err)
		}
	}
	// Reading the cache directories and the database are independent and
	// about equally long on a big cache: do them at the same time.
	type scanned struct {
		l   *cache.Listing
		err error
	}
	scan := make(chan scanned, 1)
	go func() {
		l, err := cache.Scan(dirs)
		scan <- scanned{l, err}
	}()
	db, err := loadInstalled(cfg)
	sc := <-scan
	if err != nil {
		return nil, nil, err
	}
	if sc.err != nil {
		return nil, nil, sc.err
	}
	l := sc.l
	for _, e := range db.Errors {
		fmt.Fprintf(app.Stderr, "pactidy: warning: %s: %s\n", report.QuotePath(e.Path), report.QuotePath(e.Err.Error()))
	}
	allow, err := app.allowlist()
	if err != nil {
		return nil, nil, err
	}
	o := cache.Options{
		Keep: opts.Keep, KeepUninstalled: opts.KeepUninstalled, NoKeepInstalled: opts.NoKeepInstalled,
		Ignore: opts.Ignore, Allow: allow.KeepsPackage, Arch: opts.Arch, MinAge: minAge,
		Now: app.Now(), Installed: db, Root: cfg.RootDir, DBPath: cfg.DBPath,
	}
	plan := cache.NewPlan(l, o)
	bdirs := findings.DefaultBuildCacheDirs(cfg.RootDir, app.Getenv)
	if len(opts.BuildCacheDirs) > 0 {
		bdirs = nil
		for _, d := range opts.BuildCacheDirs {
			bdirs = append(bdirs, cache.BuildCacheDir{Helper: helperOf(d), Path: d})
		}
	}
	var berrs []cache.FileError
	plan.BuildCaches, berrs = cache.BuildCaches(bdirs, db)
	plan.Errors = append(plan.Errors, berrs...)
	if err := cache.FirstTransient(plan.Errors); err != nil {
		return nil, nil, err
	}
	return cfg, plan, nil
}

// loadInstalled reads which versions are installed: names, versions and
// architectures are all the plan needs (the backup entries of the few
// packages whose .pacnew merge base is at stake are read on demand by the
// planner).
func loadInstalled(cfg *conf.Config) (*pkg.DB, error) {
	return alpm.LoadVersions(cfg.DBPath)
}

func helperOf(dir string) string {
	switch {
	case strings.Contains(dir, "paru"):
		return "paru"
	case strings.Contains(dir, "yay"):
		return "yay"
	}
	return "aur"
}

func cachePlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// cacheOutput prints the JSON document of `pactidy cache --json`.
type cacheOutput struct {
	app    *App
	opts   cacheOptions
	cache  *report.Cache
	plan   *cache.Plan
	result *cache.Result
	errors []report.Error
}

type cacheJSON struct {
	SchemaVersion int            `json:"schema_version"`
	GeneratedAt   string         `json:"generated_at"`
	Action        string         `json:"action"` // plan, remove or move
	Cache         *report.Cache  `json:"cache"`
	Result        *cacheResultJS `json:"result,omitempty"`
	Errors        []report.Error `json:"errors"`
}

type cacheResultJS struct {
	Files   int    `json:"files"`
	Bytes   int64  `json:"bytes"`
	Failed  int    `json:"failed"`
	MovedTo string `json:"moved_to,omitempty"`
	// MovedToBytes is the raw directory, base64, when MovedTo is not valid
	// UTF-8.
	MovedToBytes string `json:"moved_to_bytes,omitempty"`
}

func (o *cacheOutput) finish() error {
	if !o.opts.JSON {
		return nil
	}
	doc := cacheJSON{
		SchemaVersion: report.SchemaVersion,
		GeneratedAt:   o.app.Now().UTC().Format(time.RFC3339),
		Action:        "plan",
		Cache:         o.cache,
		Errors:        o.errors,
	}
	if doc.Errors == nil {
		doc.Errors = []report.Error{}
	}
	o.cache.FillPathBytes()
	report.FillErrorBytes(doc.Errors)
	if o.result != nil {
		doc.Action = "remove"
		if o.opts.Move != "" {
			doc.Action = "move"
		}
		doc.Result = &cacheResultJS{Files: len(o.result.Done), Bytes: o.result.Bytes, Failed: len(o.result.Failed), MovedTo: o.opts.Move, MovedToBytes: report.RawPath(o.opts.Move)}
	}
	// Indented for a person at a terminal; compact for programs, which is
	// several times faster to write for a big cache, and streamed.
	if o.app.IsTerminal() {
		b, err := doc.marshal()
		if err != nil {
			return err
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, b, "", "  "); err != nil {
			return err
		}
		_, err = o.app.Stdout.Write(append(ind.Bytes(), '\n'))
		return err
	}
	if err := doc.writeTo(o.app.Stdout); err != nil {
		return err
	}
	_, err := io.WriteString(o.app.Stdout, "\n")
	return err
}

// marshal is writeTo into memory.
func (d *cacheJSON) marshal() ([]byte, error) {
	var b bytes.Buffer
	if err := d.writeTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeTo writes the document as encoding/json would (the test compares
// them), but the file lists by hand and one file at a time: reflection
// over tens of thousands of files, or building the whole document in
// memory, is most of the time of printing a big plan.
func (d *cacheJSON) writeTo(w io.Writer) error {
	s := report.NewJSONStream(w)
	s.Raw(`{"schema_version":`)
	s.Int(int64(d.SchemaVersion))
	s.Raw(`,"generated_at":`)
	s.Str(d.GeneratedAt)
	s.Raw(`,"action":`)
	s.Str(d.Action)
	s.Raw(`,"cache":`)
	s.Cache(d.Cache)
	if d.Result != nil {
		s.Value(`,"result":`, d.Result)
	}
	s.Value(`,"errors":`, d.Errors)
	s.Raw("}")
	return s.Flush()
}
