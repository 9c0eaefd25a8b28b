package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
)

// collectCache fills rep.Cache with the cache plan at default settings.
// A configured cache directory that does not exist is skipped (there is
// nothing to prune in it); one that cannot be read is an error of the
// report, not of the run.
func collectCache(ctx context.Context, app *App, cfg *conf.Config, db *pkg.DB, allow *allowlist.List, rep *report.Report) error {
	var dirs []string
	for _, d := range cfg.CacheDirs {
		fi, err := os.Stat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			rep.Errors = append(rep.Errors, report.Error{Path: d, Error: err.Error()})
		case !fi.IsDir():
			rep.Errors = append(rep.Errors, report.Error{Path: d, Error: "cache directory is not a directory"})
		default:
			dirs = append(dirs, d)
		}
	}
	l, err := cache.Scan(dirs)
	if err != nil {
		rep.Errors = append(rep.Errors, report.Error{Path: "", Error: err.Error()})
		l = &cache.Listing{}
	}
	o := cache.DefaultOptions()
	o.Installed, o.Root, o.DBPath, o.Now = db, cfg.RootDir, cfg.DBPath, app.Now()
	o.Allow = allow.KeepsPackage
	plan := cache.NewPlan(l, o)
	var errs []cache.FileError
	plan.BuildCaches, errs = cache.BuildCaches(defaultBuildCacheDirs(app, cfg), db)
	plan.Errors = append(plan.Errors, errs...)
	rep.Cache = toReportCache(plan)
	for _, e := range plan.Errors {
		rep.Errors = append(rep.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
	}
	return nil
}

// toReportCache is the plan in the report's shape; every list is non-nil.
func toReportCache(p *cache.Plan) *report.Cache {
	c := &report.Cache{
		Dirs:         append([]string{}, p.Dirs...),
		Candidates:   make([]report.CacheCandidate, 0, p.Removals),
		Kept:         make([]report.CacheCandidate, 0, len(p.Files)-p.Removals),
		ReclaimBytes: p.ReclaimBytes,
		BuildCaches:  make([]report.CacheBuild, 0, len(p.BuildCaches)),
	}
	for _, f := range p.Files {
		e := report.CacheCandidate{Path: f.Path, Name: f.Name, Version: f.Version, Arch: f.Arch, Size: f.Size, Reason: f.Reason, Kind: f.Kind.String()}
		if f.Remove {
			c.Candidates = append(c.Candidates, e)
		} else {
			c.Kept = append(c.Kept, e)
		}
	}
	for _, b := range p.BuildCaches {
		c.BuildCaches = append(c.BuildCaches, report.CacheBuild{Helper: b.Helper, Name: b.Name, Path: b.Path, Size: b.Size})
		c.BuildCacheBytes += b.Size
	}
	return c
}

// defaultBuildCacheDirs are the yay and paru build caches of the invoking
// user (the one behind sudo) and of root. They belong to the running
// system, so they are only looked at when the root is "/".
func defaultBuildCacheDirs(app *App, cfg *conf.Config) []cache.BuildCacheDir {
	if filepath.Clean(cfg.RootDir) != "/" {
		return nil
	}
	var caches []string
	if u := app.Getenv("SUDO_USER"); u != "" && os.Geteuid() == 0 {
		if pw, err := user.Lookup(u); err == nil && pw.HomeDir != "" {
			caches = append(caches, filepath.Join(pw.HomeDir, ".cache"))
		}
	} else if x := app.Getenv("XDG_CACHE_HOME"); x != "" {
		caches = append(caches, x)
	} else if h := app.Getenv("HOME"); h != "" {
		caches = append(caches, filepath.Join(h, ".cache"))
	}
	caches = append(caches, "/root/.cache")
	var out []cache.BuildCacheDir
	for _, c := range caches {
		out = append(out, buildCacheDirsIn(c)...)
	}
	return out
}

func buildCacheDirsIn(cacheHome string) []cache.BuildCacheDir {
	return []cache.BuildCacheDir{
		{Helper: "yay", Path: filepath.Join(cacheHome, "yay")},
		{Helper: "paru", Path: filepath.Join(cacheHome, "paru", "clone")},
	}
}
