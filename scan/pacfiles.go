package scan

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pactidy/pactidy/internal/pkg"
)

// Pacfile kinds.
const (
	KindPacnew  = "pacnew"
	KindPacsave = "pacsave"
	KindPacorig = "pacorig"
)

// Pacfile is a .pacnew, .pacsave (also .pacsave.N) or .pacorig file.
type Pacfile struct {
	// Path as the target system sees it ("/etc/foo.conf.pacnew").
	Path string
	Kind string
	// Package owns the original file ("/etc/foo.conf"); empty when no
	// installed package does, as for the .pacsave of a removed package.
	Package string
}

// pacfileKind returns the kind of name and the original file's name.
func pacfileKind(name string) (kind, orig string, ok bool) {
	for _, k := range []string{KindPacnew, KindPacsave, KindPacorig} {
		if strings.HasSuffix(name, "."+k) {
			return k, strings.TrimSuffix(name, "."+k), true
		}
	}
	// pacman shifts older .pacsave files to .pacsave.1, .pacsave.2, ...
	if i := strings.LastIndex(name, ".pacsave."); i >= 0 {
		n := name[i+len(".pacsave."):]
		if n != "" && strings.Trim(n, "0123456789") == "" {
			return KindPacsave, name[:i], true
		}
	}
	return "", "", false
}

// Pacfiles finds pacfiles in every directory holding a package's backup
// file and anywhere below <root>/etc. Symlinks are not followed. Paths
// the walk cannot read go into errs (FirstTransient tells which of them
// must fail the command). The result is sorted by path.
func Pacfiles(root string, db *pkg.DB) (found []Pacfile, errs []PathError) {
	backupOwner := map[string]string{} // relative path -> package
	dirs := map[string]bool{}
	for _, p := range db.Packages {
		for _, b := range p.Backup {
			backupOwner[b.Path] = p.Name
			if d := path.Dir(b.Path); d != "etc" && !strings.HasPrefix(d, "etc/") {
				dirs[d] = true
			}
		}
	}
	seen := map[string]bool{}
	add := func(rel string) {
		if seen[rel] {
			return
		}
		if kind, orig, ok := pacfileKind(rel); ok {
			seen[rel] = true
			found = append(found, Pacfile{Path: "/" + rel, Kind: kind, Package: owner(db, backupOwner, orig)})
		}
	}

	// Backup files outside /etc: only their own pacfiles count.
	for d := range dirs {
		entries, err := os.ReadDir(filepath.Join(root, d))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, PathError{Path: "/" + d, Err: unwrapPath(err)})
			}
			continue
		}
		for _, e := range entries {
			rel := path.Join(d, e.Name())
			if _, orig, ok := pacfileKind(rel); ok && backupOwner[orig] != "" && !e.IsDir() {
				add(rel)
			}
		}
	}

	etc := filepath.Join(root, "etc")
	err := filepath.WalkDir(etc, func(full string, d fs.DirEntry, err error) error {
		rel := strings.TrimPrefix(filepath.ToSlash(strings.TrimPrefix(full, root)), "/")
		if err != nil {
			if full == etc && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			errs = append(errs, PathError{Path: "/" + rel, Err: unwrapPath(err)})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			add(rel)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, PathError{Path: "/etc", Err: unwrapPath(err)})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Path < found[j].Path })
	return found, errs
}

// owner is the package owning rel: a backup entry, else any file list.
// Only pacfiles of non-backup files get here, so a plain search is fine.
func owner(db *pkg.DB, backupOwner map[string]string, rel string) string {
	if o := backupOwner[rel]; o != "" {
		return o
	}
	for _, p := range db.Packages {
		for _, f := range p.Files {
			if f == rel {
				return p.Name
			}
		}
	}
	return ""
}
