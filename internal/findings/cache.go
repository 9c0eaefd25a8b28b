package findings

import (
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/ioerr"
	"github.com/pactidy/pactidy/internal/report"
)

// cacheListing is the cache directories as listed before the database is
// read, with the errors met.
type cacheListing struct {
	l    *cache.Listing
	errs []report.Error
	// err is a read that failed for want of memory or descriptors, or
	// with an I/O error: the section fails on it.
	err error
}

// listCache lists the configured cache directories. One that does not
// exist is skipped (there is nothing to prune in it); one that cannot be
// read is an error of the report, not of the run.
func (r *run) listCache(st *section) cacheListing {
	var out cacheListing
	var dirs []string
	for _, d := range r.cfg.CacheDirs {
		fi, err := os.Stat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case ioerr.Transient(err):
			out.err = err
			return out
		case err != nil:
			out.errs = append(out.errs, report.Error{Path: d, Error: err.Error()})
		case !fi.IsDir():
			out.errs = append(out.errs, report.Error{Path: d, Error: "cache directory is not a directory"})
		default:
			dirs = append(dirs, d)
		}
	}
	l, err := cache.ScanWith(dirs, &st.counters)
	if ioerr.Transient(err) {
		// What the cache holds is unknown, not empty.
		out.err = err
		return out
	}
	if err != nil {
		out.errs = append(out.errs, report.Error{Path: "", Error: err.Error()})
		l = &cache.Listing{}
	}
	out.l = l
	return out
}

// cachePlan plans the listed cache into part.Cache (and part.Errors).
func (r *run) cachePlan(listed cacheListing, part *report.Report) (*cache.Plan, error) {
	if listed.err != nil {
		return nil, listed.err
	}
	part.Errors = append(part.Errors, listed.errs...)
	o := cache.DefaultOptions()
	if r.opts.Cache != nil {
		o = *r.opts.Cache
	}
	o.Installed, o.Root, o.DBPath = r.db, r.cfg.RootDir, r.cfg.DBPath
	if o.Now.IsZero() {
		o.Now = r.opts.Now()
	}
	if o.Allow == nil {
		o.Allow = r.allow.KeepsPackage
	}
	plan := cache.NewPlan(listed.l, o)
	bdirs := r.opts.BuildCacheDirs
	if bdirs == nil {
		bdirs = DefaultBuildCacheDirs(r.cfg.RootDir, r.opts.Getenv)
	}
	var errs []cache.FileError
	plan.BuildCaches, errs = cache.BuildCaches(bdirs, r.db)
	plan.Errors = append(plan.Errors, errs...)
	if err := cache.FirstTransient(plan.Errors); err != nil {
		return nil, err
	}
	part.Cache = CacheReport(plan)
	for _, e := range plan.Errors {
		part.Errors = append(part.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
	}
	return plan, nil
}

// CacheReport is a cache plan in the report's shape; every list is
// non-nil.
func CacheReport(p *cache.Plan) *report.Cache {
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

// DefaultBuildCacheDirs are the yay and paru build caches of the invoking
// user (the one behind sudo) and of root. They belong to the running
// system, so they are only looked at when root is "/". getenv reads the
// environment (SUDO_USER, XDG_CACHE_HOME, HOME).
func DefaultBuildCacheDirs(root string, getenv func(string) string) []cache.BuildCacheDir {
	if filepath.Clean(root) != "/" {
		return nil
	}
	var caches []string
	if u := getenv("SUDO_USER"); u != "" && os.Geteuid() == 0 {
		if pw, err := user.Lookup(u); err == nil && pw.HomeDir != "" {
			caches = append(caches, filepath.Join(pw.HomeDir, ".cache"))
		}
	} else if x := getenv("XDG_CACHE_HOME"); x != "" {
		caches = append(caches, x)
	} else if h := getenv("HOME"); h != "" {
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
