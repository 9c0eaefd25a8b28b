package alpm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/progress"
)

// LoadFiles reads what the unowned-file scan and the cache plan need of
// each installed package (name, version, base, architecture, file list
// and backup entries) straight
// from the local database under dbPath, without libalpm: loading libalpm's
// view of 2,000 packages costs a tenth of a second of CPU that a scan of
// files does not use. Dependencies, reasons, provisions and the sync
// databases are left empty.
//
// It loads what libalpm loads (the directories of the local database
// whose names split into NAME-PKGVER-PKGREL, the first of a name in
// directory order) and reports what LoadWith reports about them, in the
// same words: damaged desc entries, missing files entries, entries libalpm
// would skip. What cannot be read fails the load, as in LoadWith.
// TestLoadFilesIsLoadWith holds the two to each other on damaged
// databases. counters, when set, counts the packages read.
func LoadFiles(dbPath string, counters *progress.Counters) (*pkg.DB, error) {
	dir := filepath.Join(dbPath, "local")
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("local database %s: %w", dir, unwrap(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("local database %s: not a directory", dir)
	}
	names, err := listLocal(dir)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(dir, len(names)); err != nil {
		return nil, err
	}
	// libalpm's choice, in directory order: a valid name, the first entry
	// of that name.
	loaded := make(map[string]bool, len(names))
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if name, _, ok := splitEntryName(n); ok && !seen[name] {
			seen[name], loaded[n] = true, true
		}
	}
	entries, err := readLocalDir(dir, names, true, true)
	if err != nil {
		return nil, err
	}
	pkgs := make([]*pkg.Package, 0, len(loaded))
	for i := range entries {
		e := &entries[i]
		if !loaded[e.dir] {
			continue
		}
		name, version, _ := splitEntryName(e.dir)
		p := &pkg.Package{Name: name, Version: version, Base: e.base, Arch: e.arch, Files: e.files, Backup: e.backup}
		if !e.hasFiles {
			p.FilesErr = fmt.Errorf("%s: %w", filepath.Join(dir, e.dir, "files"), e.filesErr)
		}
		pkgs = append(pkgs, p)
	}
	counters.Add(int64(len(pkgs)), 0, 0, 0)
	db := pkg.NewDB(pkgs)
	db.Errors = checkEntries(dir, entries, loaded)
	return db, nil
}

// checkVersion fails, as libalpm does, on a local database of another
// format than version 9: one whose ALPM_DB_VERSION says another number,
// or that has entries and no such file.
func checkVersion(dir string, entries int) error {
	path := filepath.Join(dir, "ALPM_DB_VERSION")
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && entries == 0:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("read the local database %s: it has no ALPM_DB_VERSION, so libalpm takes it for an old format (run pacman-db-upgrade)", dir)
	case err != nil:
		return fmt.Errorf("read the local database %s: %w", path, unwrap(err))
	}
	// As libalpm's fscanf("%zu"): blanks, then the number.
	text := strings.TrimLeft(string(data), " \t\n\v\f\r")
	n := 0
	for n < len(text) && text[n] >= '0' && text[n] <= '9' {
		n++
	}
	if v := strings.TrimLeft(text[:n], "0"); v != localDBVersion {
		return fmt.Errorf("read the local database %s: it is of format version %q, libalpm reads version %s (run pacman-db-upgrade)", dir, strings.TrimSpace(string(data)), localDBVersion)
	}
	return nil
}
