package findings

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// unowned runs the unowned scan into part.Unowned (and part.Errors).
func (r *run) unowned(ctx context.Context, st *section, part *report.Report) (*scan.UnownedResult, error) {
	o := r.opts.Unowned
	if len(r.db.Packages) > 0 && !hasFileLists(r.db) {
		// Without file lists everything would look unowned.
		return nil, errors.New("unowned scan: the package database was read without file lists")
	}
	var excl []string
	if !o.NoDefaultExcludes {
		excl = append(excl, scan.DefaultExcludes...)
	}
	excl = append(excl, o.Excludes...)
	// pacman's own database, cache and log are not package territory
	// wherever the configuration puts them, nor is pactidy's quarantine.
	own := append([]string{r.cfg.DBPath, r.cfg.LogFile}, r.cfg.CacheDirs...)
	for _, p := range append(own, o.SkipDirs...) {
		if sp, ok := systemPath(r.cfg.RootDir, p); ok {
			excl = append(excl, sp)
		}
	}
	res, err := scan.Unowned(ctx, r.db, scan.UnownedOptions{
		Root:          r.cfg.RootDir,
		Excludes:      excl,
		DisabledRules: o.NoRules,
		ShowHidden:    o.ShowHidden,
		Allow:         r.allow,
		Workers:       o.Workers,
		Progress:      &st.counters,
		RecordSeen:    r.walked != nil,
	})
	if err != nil {
		return nil, err
	}
	part.UnownedIncomplete, part.UnownedNoFileLists = len(res.NoFileLists) > 0, res.NoFileLists
	part.Unowned = make([]report.Unowned, 0, len(res.Entries))
	for _, e := range res.Entries {
		part.Unowned = append(part.Unowned, report.Unowned{
			Path: e.Path, Type: e.Type, Size: e.Size, Entries: e.Entries, HiddenBy: e.HiddenBy,
			Incomplete: e.Incomplete, PathBytes: report.RawPath(e.Path),
		})
	}
	for _, e := range res.Errors {
		part.Errors = append(part.Errors, report.Error{Path: e.Path, Error: e.Err.Error()})
	}
	return res, nil
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
