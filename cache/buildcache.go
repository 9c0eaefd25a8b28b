package cache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pactidy/pactidy/internal/ioerr"
	"github.com/pactidy/pactidy/internal/pkg"
)

// BuildCacheDir is a directory where an AUR helper keeps one subdirectory
// per package base it built (~/.cache/yay, ~/.cache/paru/clone).
type BuildCacheDir struct {
	Helper string // "yay", "paru"
	Path   string
}

// BuildCache is the build directory of a package that is no longer
// installed.
type BuildCache struct {
	Helper string
	Name   string // the subdirectory: the package base
	Path   string
	Size   int64 // regular files inside, symlinks not followed
}

// BuildCaches lists the subdirectories of dirs whose name is neither the
// name nor the base of an installed package. Missing or unreadable
// directories are skipped silently: another user's home is usually not
// readable, and most systems have only one helper.
func BuildCaches(dirs []BuildCacheDir, installed *pkg.DB) ([]BuildCache, []FileError) {
	names := map[string]bool{}
	if installed != nil {
		for _, p := range installed.Packages {
			names[p.Name] = true
			if p.Base != "" {
				names[p.Base] = true
			}
		}
	}
	var out []BuildCache
	var errs []FileError
	seen := map[string]bool{}
	for _, d := range dirs {
		abs, err := filepath.Abs(d.Path)
		if err != nil || seen[abs] {
			continue
		}
		seen[abs] = true
		ents, err := os.ReadDir(abs)
		if err != nil {
			if ioerr.Transient(err) {
				errs = append(errs, FileError{Path: abs, Err: unwrapPath(err)})
			}
			continue
		}
		for _, e := range ents {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || names[e.Name()] {
				continue
			}
			full := filepath.Join(abs, e.Name())
			size, err := treeSize(full)
			if err != nil {
				errs = append(errs, FileError{Path: full, Err: err})
			}
			out = append(out, BuildCache{Helper: d.Helper, Name: e.Name(), Path: full, Size: size})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, errs
}

// treeSize sums the regular files under dir; the first error is returned
// with the size of what could be read.
func treeSize(dir string) (int64, error) {
	var size int64
	var first error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if first == nil {
				first = unwrapPath(err)
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			} else if !errors.Is(err, fs.ErrNotExist) && first == nil {
				first = unwrapPath(err)
			}
		}
		return nil
	})
	if first == nil {
		first = err
	}
	return size, first
}
