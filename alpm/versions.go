package alpm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/pactidy/pactidy/internal/pkg"
)

// LoadVersions reads which packages are installed, in which version and
// for which architecture (and their pkgbase), straight from the local
// database under dbPath, without libalpm: the cache plan needs nothing
// else, and libalpm would parse every entry in full, one after the other.
//
// It reads what libalpm reads (local/NAME-VERSION/desc) and judges it the
// same way: the directory name gives name and version, split from the
// right; a desc whose %NAME% or %VERSION% disagrees is damaged, recorded in
// DB.Errors, and the package stays installed under its directory name (as
// libalpm keeps it). A directory name that is not NAME-PKGVER-PKGREL is not
// a package to libalpm either; it goes to DB.Errors. A local database, an
// entry or a desc that cannot be read is an error: a package must never
// look uninstalled because its entry was unreadable.
func LoadVersions(dbPath string) (*pkg.DB, error) {
	dir := filepath.Join(dbPath, "local")
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("local database %s: %w", dir, unwrap(err))
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("local database %s: %w", dir, unwrap(err))
	}
	var names []string
	var errs []pkg.EntryError
	for _, e := range ents {
		typ := e.Type()
		if typ&os.ModeSymlink != 0 {
			// libalpm stat()s the entry: a link to a directory counts.
			fi, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("local database entry %s: %w", filepath.Join(dir, e.Name()), unwrap(err))
			}
			typ = fi.Mode().Type()
		}
		if !typ.IsDir() {
			continue
		}
		if _, _, ok := splitEntryName(e.Name()); !ok {
			errs = append(errs, pkg.EntryError{Path: filepath.Join(dir, e.Name()),
				Err: errors.New("corrupt database entry: the name is not NAME-PKGVER-PKGREL; libalpm ignores it")})
			continue
		}
		names = append(names, e.Name())
	}

	pkgs := make([]*pkg.Package, len(names))
	perr := make([]error, len(names))
	damaged := make([]error, len(names))
	var wg sync.WaitGroup
	var next int
	var mu sync.Mutex
	for w := min(runtime.GOMAXPROCS(0)*4, 16, len(names)); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 4096)
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(names) {
					return
				}
				pkgs[i], damaged[i], perr[i] = readVersion(dir, names[i], &buf)
			}
		}()
	}
	wg.Wait()
	for i, err := range perr {
		if err != nil {
			return nil, err
		}
		if damaged[i] != nil {
			errs = append(errs, pkg.EntryError{Path: filepath.Join(dir, names[i], "desc"), Err: damaged[i]})
		}
	}
	// libalpm keeps the first entry of a name and ignores later ones
	// ("duplicated database entry"); the directory order is sorted here.
	seen := make(map[string]bool, len(pkgs))
	out := pkgs[:0]
	for i, p := range pkgs {
		if seen[p.Name] {
			errs = append(errs, pkg.EntryError{Path: filepath.Join(dir, names[i]),
				Err: fmt.Errorf("duplicated database entry for %s", p.Name)})
			continue
		}
		seen[p.Name] = true
		out = append(out, p)
	}
	db := pkg.NewDB(out)
	db.Errors = errs
	return db, nil
}

// splitEntryName splits NAME-PKGVER-PKGREL from the right, as libalpm's
// _alpm_splitname does: a name may hold '-', a version never does. Like
// libalpm it needs two hyphens and a name, nothing more: pacman never
// writes "foo--1" or "foo-1-", but libalpm loads such an entry (version
// "-1", "1-"), so it is a package here too.
func splitEntryName(s string) (name, version string, ok bool) {
	rel := strings.LastIndexByte(s, '-')
	if rel < 0 {
		return "", "", false
	}
	ver := strings.LastIndexByte(s[:rel], '-')
	if ver <= 0 {
		return "", "", false
	}
	return s[:ver], s[ver+1:], true
}

// readVersion reads one entry's desc for the fields the cache plan uses.
// damaged is set when the desc disagrees with the directory name; err
// when it cannot be read.
func readVersion(dir, entry string, buf *[]byte) (p *pkg.Package, damaged, err error) {
	name, version, _ := splitEntryName(entry)
	p = &pkg.Package{Name: name, Version: version}
	path := filepath.Join(dir, entry, "desc")
	data, err := readFile(path, *buf)
	if err == nil {
		*buf = data
	}
	if err != nil {
		return nil, nil, fmt.Errorf("local database entry %s: %w", path, unwrap(err))
	}
	var dname, dversion string
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		if len(line) < 3 || line[0] != '%' || line[len(line)-1] != '%' {
			continue
		}
		// A field's values run to the next blank line; the ones read
		// here have one value.
		var value []byte
		for first := true; len(data) > 0; first = false {
			var v []byte
			v, data = cutLine(data)
			if len(v) == 0 {
				break
			}
			if first {
				value = v
			}
		}
		switch string(line) {
		case "%NAME%":
			dname = string(value)
		case "%VERSION%":
			dversion = string(value)
		case "%BASE%":
			p.Base = string(value)
		case "%ARCH%":
			p.Arch = string(value)
		}
	}
	if dname != name || dversion != version {
		damaged = fmt.Errorf("damaged desc: %%NAME%% and %%VERSION%% (%q, %q) do not match the entry; reinstall the package (pacman -S --dbonly NAME) or restore the database from a backup", dname, dversion)
	}
	return p, damaged, nil
}

// cutLine returns the first line of data (without "\n" or "\r\n", as
// libalpm strips them) and the rest.
func cutLine(data []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(data, []byte{'\n'})
	return bytes.TrimRight(line, "\r"), rest
}
