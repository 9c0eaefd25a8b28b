package main

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// unownedOptions tune the unowned-file scan of the report.
type unownedOptions struct {
	Excludes          []string
	NoDefaultExcludes bool
	NoRules           []string
	ShowHidden        bool
	Workers           int
}

func addUnownedFlags(f *pflag.FlagSet, o *unownedOptions) {
	f.StringArrayVar(&o.Excludes, "unowned-exclude", nil,
		"do not scan this system `path` or glob for unowned files (repeatable; added to the defaults)")
	f.BoolVar(&o.NoDefaultExcludes, "unowned-no-default-excludes", false,
		"also scan the default exclusions: "+strings.Join(scan.DefaultExcludes, " "))
	f.StringArrayVar(&o.NoRules, "no-rule", nil,
		"switch off the built-in rule `NAME` that hides generated files (repeatable; 'all' for every rule): "+strings.Join(scan.RuleNames(), ", "))
	f.BoolVar(&o.ShowHidden, "show-hidden", false,
		"also list the unowned paths the built-in rules hide, marked with the rule")
	f.IntVar(&o.Workers, "unowned-workers", 0, "directories read in parallel (0: one per CPU)")
	f.MarkHidden("unowned-workers")
}

// collectUnowned fills rep.Unowned (and rep.Errors).
func collectUnowned(ctx context.Context, app *App, cfg *conf.Config, db *pkg.DB, allow *allowlist.List, o *unownedOptions, rep *report.Report) error {
	if err := scan.CheckRules(o.NoRules); err != nil {
		return usagef("--no-rule: %v", err)
	}
	if len(db.Packages) > 0 && !hasFileLists(db) {
		// Without file lists everything would look unowned.
		return errors.New("unowned scan: the package database was read without file lists")
	}
	var excl []string
	if !o.NoDefaultExcludes {
		excl = append(excl, scan.DefaultExcludes...)
	}
	excl = append(excl, o.Excludes...)
	// pacman's own database, cache and log are not package territory
	// wherever the configuration puts them.
	for _, p := range append([]string{cfg.DBPath, cfg.LogFile}, cfg.CacheDirs...) {
		if sp, ok := systemPath(cfg.RootDir, p); ok {
			excl = append(excl, sp)
		}
	}
	// Nor is the quarantine, when the settings put it elsewhere.
	s, err := app.settings()
	if err != nil {
		return err
	}
	if sp, ok := systemPath(cfg.RootDir, s.QuarantineDir); ok {
		excl = append(excl, sp)
	}
	res, err := scan.Unowned(ctx, db, scan.UnownedOptions{
		Root:          cfg.RootDir,
		Excludes:      excl,
		DisabledRules: o.NoRules,
		ShowHidden:    o.ShowHidden,
		Allow:         allow,
		Workers:       o.Workers,
	})
	if err != nil {
		return err
	}
	rep.Unowned = make([]report.Unowned, 0, len(res.Entries))
	for _, e := range res.Entries {
		u := report.Unowned{Path: e.Path, Type: e.Type, Size: e.Size, Entries: e.Entries, HiddenBy: e.HiddenBy, Incomplete: e.Incomplete}
		if !utf8.ValidString(e.Path) {
			u.PathBytes = base64.StdEncoding.EncodeToString([]byte(e.Path))
		}
		rep.Unowned = append(rep.Unowned, u)
	}
	for _, e := range res.Errors {
		rep.Errors = append(rep.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
	}
	return nil
}

func hasFileLists(db *pkg.DB) bool {
	for _, p := range db.Packages {
		if len(p.Files) > 0 {
			return true
		}
	}
	return false
}

// systemPath maps a path of the running system inside root to the path
// the root's system sees.
func systemPath(root, p string) (string, bool) {
	if p == "" {
		return "", false
	}
	root = filepath.Clean(root)
	p = filepath.Clean(p)
	if root == "/" {
		return p, p != "/"
	}
	rest, ok := strings.CutPrefix(p, root+"/")
	if !ok {
		return "", false
	}
	return "/" + rest, true
}
