// Package alpm is the only package that talks to libalpm. It turns the
// local and sync databases of a root into plain pkg values.
//
// The handle getters Root, DBPath, Lockfile, LogFile, GPGDir and DBExt of
// go-alpm free memory libalpm owns; the paths are kept on the Go side
// instead and those getters are never called.
package alpm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	galpm "github.com/Jguer/go-alpm/v2"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/ioerr"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/progress"
)

// Version is the version of the libalpm in use.
func Version() string { return galpm.Version() }

// VerCmp is libalpm's version comparison.
func VerCmp(a, b string) int { return galpm.VerCmp(a, b) }

// Handle is an open libalpm handle for one root.
type Handle struct {
	h      *galpm.Handle
	root   string
	dbPath string
	repos  []conf.Repo
}

// Open initializes libalpm for cfg's root and database and registers every
// [repo] section as a sync database. It only reads; no lock is taken.
func Open(cfg *conf.Config) (*Handle, error) {
	if fi, err := os.Stat(filepath.Join(cfg.DBPath, "local")); err != nil {
		return nil, fmt.Errorf("local database %s: %w", filepath.Join(cfg.DBPath, "local"), unwrap(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("local database %s: not a directory", filepath.Join(cfg.DBPath, "local"))
	}
	h, err := galpm.Initialize(cfg.RootDir, cfg.DBPath)
	if err != nil {
		// libalpm takes a version file it cannot open for one of another
		// version; say so when the file is right.
		version := filepath.Join(cfg.DBPath, "local", "ALPM_DB_VERSION")
		if b, rerr := os.ReadFile(version); rerr == nil && strings.TrimSpace(string(b)) == localDBVersion {
			return nil, fmt.Errorf("libalpm on root %s, database %s: %w, although %s says %s: libalpm could not read it (too few file descriptors or too little memory?)", cfg.RootDir, cfg.DBPath, err, version, localDBVersion)
		}
		return nil, fmt.Errorf("libalpm on root %s, database %s: %w", cfg.RootDir, cfg.DBPath, err)
	}
	// No log callback: go-alpm hands libalpm a pointer to a Go closure,
	// which the cgo pointer rules forbid. Corrupt entries are found by
	// checkEntries instead.
	a := &Handle{h: h, root: cfg.RootDir, dbPath: cfg.DBPath, repos: cfg.Repos}
	if len(cfg.Architectures) > 0 {
		_ = h.SetArchitectures(cfg.Architectures)
	}
	for _, r := range cfg.Repos {
		// Reading needs no signature checks; nothing is installed from here.
		if _, err := h.RegisterSyncDB(r.Name, 0); err != nil {
			h.Release()
			return nil, fmt.Errorf("register sync database %s: %w", r.Name, err)
		}
	}
	return a, nil
}

// localDBVersion is the local database format of every libalpm pactidy
// supports (pacman 4.2 and newer).
const localDBVersion = "9"

// Close releases libalpm.
func (a *Handle) Close() error {
	if a.h == nil {
		return nil
	}
	err := a.h.Release()
	a.h = nil
	return err
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Load reads every installed package with its files and backup entries,
// and which of them are in a sync database. Corrupt entries of the local
// database are listed in DB.Errors with their paths.
func (a *Handle) Load() (*pkg.DB, error) { return a.LoadWith(LoadOptions{Files: true}) }

// LoadOptions choose what LoadWith reads besides the package metadata.
type LoadOptions struct {
	// Files reads each package's file list and backup entries (the local
	// database's "files" entries). Dependency analyses do not need them,
	// and skipping them saves reading one more file per package.
	Files bool
	// NoEntryCheck skips the direct read of every desc entry that finds
	// damage libalpm lets through. For callers that only need names and
	// versions (which come from the entry's directory name either way).
	NoEntryCheck bool
	// NoSync skips reading the sync databases: InSync stays false and
	// SyncDBs empty.
	NoSync bool
	// Progress, when set, counts the packages read.
	Progress *progress.Counters
}

// LoadWith is Load reading only what o asks for.
//
// libalpm answers a failed read with silence: a local database directory
// it cannot open (out of file descriptors, say) is an empty database, and
// a desc it cannot open leaves the package without dependencies, reason or
// architecture. So the directory is listed here first and what libalpm
// returns is checked against it; any read that fails for another reason
// than "no such file" is an error of the whole load, never a package less.
func (a *Handle) LoadWith(o LoadOptions) (*pkg.DB, error) {
	localDir := filepath.Join(a.dbPath, "local")
	names, err := listLocal(localDir)
	if err != nil {
		return nil, err
	}
	local, err := a.h.LocalDB()
	if err != nil {
		return nil, fmt.Errorf("local database %s: %w", a.dbPath, err)
	}
	type listing struct {
		entries []localEntry
		err     error
	}
	listed := make(chan listing, 1)
	readDir := func() {
		if o.NoEntryCheck && !o.Files {
			listed <- listing{}
			return
		}
		e, err := readLocalDir(localDir, names, o.Files, !o.NoEntryCheck)
		listed <- listing{e, err}
	}
	// With descriptors to spare, the entries are read beside libalpm.
	// Without (a "ulimit -n" of a dozen), the two would take each
	// other's last descriptor, and libalpm takes a database it cannot
	// open for an empty one: then they read one after the other.
	crowded := spareFiles() <= 1
	if !crowded {
		go readDir()
	}
	var syncNames map[string]bool
	var syncDBs []string
	var errs []pkg.EntryError
	if !o.NoSync {
		var err error
		if syncNames, syncDBs, errs, err = a.syncNames(); err != nil {
			if !crowded {
				<-listed
			}
			return nil, err
		}
	}
	var pkgs []*pkg.Package
	loaded := map[string]bool{}
	loadedNames := map[string]bool{}
	err = local.PkgCache().ForEach(func(ip galpm.IPackage) error {
		p := convert(ip)
		p.InSync = syncNames[p.Name]
		loaded[p.Name+"-"+p.Version] = true
		loadedNames[p.Name] = true
		pkgs = append(pkgs, p)
		o.Progress.Add(1, 0, 0, 0)
		return nil
	})
	if crowded {
		readDir()
	}
	l := <-listed
	if err != nil {
		return nil, fmt.Errorf("local database %s: %w", a.dbPath, err)
	}
	if l.err != nil {
		return nil, l.err
	}
	if err := a.checkLoaded(localDir, names, loaded, loadedNames); err != nil {
		return nil, err
	}
	for _, p := range pkgs {
		if err := checkUnread(localDir, p); err != nil {
			return nil, err
		}
	}
	errs = append(errs, checkEntries(localDir, l.entries, loaded)...)
	if o.Files {
		byDir := make(map[string]*localEntry, len(l.entries))
		for i := range l.entries {
			byDir[l.entries[i].dir] = &l.entries[i]
		}
		for _, p := range pkgs {
			if e := byDir[p.Name+"-"+p.Version]; e != nil {
				p.Files, p.Backup = e.files, e.backup
				if !e.hasFiles {
					p.FilesErr = fmt.Errorf("%s: %w", filepath.Join(localDir, e.dir, "files"), e.filesErr)
				}
			}
		}
	}
	db := pkg.NewDB(pkgs)
	db.SyncDBs = syncDBs
	db.Errors = errs
	return db, nil
}

func (a *Handle) syncNames() (map[string]bool, []string, []pkg.EntryError, error) {
	names := map[string]bool{}
	var readable []string
	var errs []pkg.EntryError
	dbs, err := a.h.SyncDBs()
	if err != nil {
		return names, nil, []pkg.EntryError{{Path: filepath.Join(a.dbPath, "sync"), Err: err}}, nil
	}
	for _, db := range dbs.Slice() {
		file := filepath.Join(a.dbPath, "sync", db.Name()+".db")
		if err := probeFile(file); err != nil {
			if ioerr.Transient(err) {
				return nil, nil, nil, fmt.Errorf("read sync database %s: %w", file, unwrap(err))
			}
			errs = append(errs, pkg.EntryError{Path: file, Err: fmt.Errorf("sync database not readable (%v); run pacman -Sy", unwrap(err))})
			continue
		}
		n := 0
		_ = db.PkgCache().ForEach(func(p galpm.IPackage) error {
			names[p.Name()] = true
			n++
			return nil
		})
		if n == 0 {
			// libalpm returns no packages both for an empty repository and
			// for a file it cannot read; only the latter sets an error.
			// It also cannot read a file when the process is out of
			// descriptors for a moment (the other readers of a report hold
			// some): read it again in a fresh handle, a few times, apart,
			// and take what a read finds.
			var err error
			for try := range syncReadTries {
				time.Sleep(time.Duration(try) * 25 * time.Millisecond)
				var found []string
				if found, err = a.readSyncDB(db.Name()); err == nil {
					for _, name := range found {
						names[name] = true
					}
					break
				}
			}
			if err != nil {
				// libalpm does not say why; if the file cannot be opened
				// now, it is the machine, not the file.
				if perr := probeFile(file); ioerr.Transient(perr) {
					return nil, nil, nil, fmt.Errorf("read sync database %s: %w", file, unwrap(perr))
				}
				errs = append(errs, pkg.EntryError{Path: file, Err: fmt.Errorf("sync database not readable (%v); run pacman -Syy", err)})
				continue
			}
		}
		readable = append(readable, db.Name())
	}
	return names, readable, errs, nil
}

// probeFile opens and reads the first byte of file.
func probeFile(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.Read(b[:]); err != nil && err != io.EOF {
		return err
	}
	return nil
}

// syncReadTries is how many times a sync database that came back empty
// with an error is read again.
const syncReadTries = 4

// readSyncDB reads one sync database in a fresh handle, whose error state
// is clean: the names of its packages, or libalpm's error if it could not
// be loaded (no names and no error: an empty repository).
func (a *Handle) readSyncDB(name string) ([]string, error) {
	h, err := galpm.Initialize(a.root, a.dbPath)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	db, err := h.RegisterSyncDB(name, 0)
	if err != nil {
		return nil, err
	}
	var names []string
	_ = db.PkgCache().ForEach(func(p galpm.IPackage) error {
		names = append(names, p.Name())
		return nil
	})
	if len(names) == 0 {
		return nil, h.LastError()
	}
	return names, nil
}

// localEntry is what a direct read of one local database directory found.
type localEntry struct {
	dir string // NAME-VERSION
	err error  // desc unreadable or inconsistent
	// base and arch are the desc's %BASE% and %ARCH%.
	base, arch string
	// hasFiles is false when the files entry is missing.
	hasFiles bool
	filesErr error
	// files and backup of the files entry, when asked for.
	files  []string
	backup []pkg.Backup
}

// listLocal lists the entries (directories, or symlinks to directories:
// libalpm stat()s them) of the local database in directory order, the
// order libalpm reads them in, and checks that its version file can be
// read: libalpm takes an unreadable one for a database of another
// version.
func listLocal(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("read the local database %s: %w", dir, unwrap(err))
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("read the local database %s: %w", dir, unwrap(err))
	}
	var names []string
	for _, e := range entries {
		typ := e.Type()
		if typ&fs.ModeSymlink != 0 {
			fi, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // dangling: libalpm skips it too
				}
				return nil, fmt.Errorf("read the local database entry %s: %w", filepath.Join(dir, e.Name()), unwrap(err))
			}
			typ = fi.Mode().Type()
		}
		if typ.IsDir() {
			names = append(names, e.Name())
		}
	}
	if version := filepath.Join(dir, "ALPM_DB_VERSION"); len(names) > 0 {
		if err := probeFile(version); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read the local database %s: %w", version, unwrap(err))
		}
	}
	return names, nil
}

// readLocalDir reads every entry's desc header in parallel with libalpm's
// own load, so the check costs little wall time. A read that fails for
// another reason than a missing file is returned as the error.
func readLocalDir(dir string, names []string, withFiles, checkDescs bool) ([]localEntry, error) {
	out := make([]localEntry, len(names))
	fatal := make([]error, len(names))
	workers := min(runtime.GOMAXPROCS(0)*4, 16, spareFiles())
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte // desc entries are read into it one after another
			for i := range next {
				path := filepath.Join(dir, names[i])
				le := localEntry{dir: names[i], hasFiles: true}
				if checkDescs {
					le.base, le.arch, le.err, fatal[i] = checkDesc(filepath.Join(path, "desc"), names[i], &buf)
				}
				var err error
				if withFiles {
					le.files, le.backup, err = readFiles(filepath.Join(path, "files"))
				} else {
					_, err = os.Stat(filepath.Join(path, "files"))
				}
				switch {
				case err == nil:
				case errors.Is(err, fs.ErrNotExist):
					le.hasFiles, le.filesErr = false, unwrap(err)
				default:
					fatal[i] = fmt.Errorf("read %s: %w", filepath.Join(path, "files"), unwrap(err))
				}
				out[i] = le
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range fatal {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// spareFiles is how many files the readers may hold open at once beside
// libalpm's and the runtime's own, at least 1: under a low "ulimit -n"
// fewer readers keep the load from failing for want of descriptors.
func spareFiles() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<20 {
		return 1 << 20
	}
	return max(1, (int(lim.Cur)-16)/2)
}

// readFiles parses a local database "files" entry the way libalpm does
// (be_local.c): the %FILES% paths, sorted, and the %BACKUP% "path<TAB>md5"
// lines. Reading these directly lets all entries be read in parallel
// instead of one by one through libalpm.
func readFiles(path string) ([]string, []pkg.Backup, error) {
	data, err := readFile(path, nil)
	if err != nil {
		return nil, nil, unwrap(err)
	}
	// The paths are substrings of the file's text, which is never
	// written again: one allocation for the text and one for the list.
	files := make([]string, 0, bytes.Count(data, []byte{'\n'}))
	var backup []pkg.Backup
	section := ""
	text := unsafe.String(unsafe.SliceData(data), len(data))
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		line = strings.TrimRight(line, "\r\n") // _alpm_strip_newline
		switch {
		case line == "":
			section = ""
		case section == "" && len(line) > 2 && line[0] == '%' && line[len(line)-1] == '%':
			section = line
		case section == "%FILES%":
			files = append(files, line)
		case section == "%BACKUP%":
			// Like _alpm_split_backup: no tab means no hash.
			name, hash, _ := strings.Cut(line, "\t")
			backup = append(backup, pkg.Backup{Path: name, Hash: hash})
		}
	}
	if !sort.StringsAreSorted(files) {
		sort.Strings(files)
	}
	return files, backup, nil
}

// checkLoaded fails when libalpm did not load an entry it should have: one
// whose name splits into NAME-VERSION-REL like a package and that is not a
// second entry of a loaded package. libalpm drops entries it cannot read
// without an error; here that is an error of the load.
func (a *Handle) checkLoaded(dir string, names []string, loaded, loadedNames map[string]bool) error {
	for _, n := range names {
		if loaded[n] {
			continue
		}
		if name, _, ok := splitEntryName(n); ok && !loadedNames[name] {
			why := "it gave no reason"
			if err := a.h.LastError(); err != nil {
				why = err.Error()
			}
			return fmt.Errorf("read the local database %s: libalpm could not load %s (%s); nothing was changed", dir, n, why)
		}
	}
	return nil
}

// checkUnread fails when libalpm could not read a package's desc: it then
// returns every field empty (no architecture, build or install date,
// dependencies or reason) instead of an error. Such a package is read
// directly; if its desc has what libalpm returned empty, or cannot be
// opened, the load fails.
func checkUnread(dir string, p *pkg.Package) error {
	if p.Arch != "" || p.BuildDate.Unix() != 0 || p.InstallDate.Unix() != 0 {
		return nil
	}
	path := filepath.Join(dir, p.Name+"-"+p.Version, "desc")
	data, err := readFile(path, nil)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A missing desc is damage; checkDesc reports it.
		return nil
	case err != nil:
		return fmt.Errorf("read %s: %w", path, unwrap(err))
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i+1 < len(lines); i++ {
		switch lines[i] {
		case "%ARCH%", "%BUILDDATE%", "%INSTALLDATE%":
			if lines[i+1] != "" {
				return fmt.Errorf("read %s: libalpm could not read it (its %s and everything else came back empty); nothing was changed", path, lines[i])
			}
		}
	}
	return nil
}

// checkEntries reports, by path, the directories of the local database
// dir that libalpm skipped and the entries whose desc or files are
// damaged.
func checkEntries(dir string, entries []localEntry, loaded map[string]bool) []pkg.EntryError {
	var errs []pkg.EntryError
	for _, e := range entries {
		path := filepath.Join(dir, e.dir)
		switch {
		case !loaded[e.dir]:
			msg := "corrupt database entry: libalpm could not read it"
			if e.err != nil {
				msg += " (" + e.err.Error() + ")"
			}
			errs = append(errs, pkg.EntryError{Path: path, Err: errors.New(msg)})
			continue
		case e.err != nil:
			errs = append(errs, pkg.EntryError{Path: filepath.Join(path, "desc"), Err: e.err})
		}
		if !e.hasFiles {
			errs = append(errs, pkg.EntryError{Path: filepath.Join(path, "files"), Err: e.filesErr})
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return dedupErrors(errs)
}

// checkDesc catches desc files libalpm accepts although they are truncated
// or damaged: it then takes name and version from the directory name and
// leaves the rest empty, which would make a dependency look explicit.
//
// damage is what is wrong with the entry; fatal is set when the desc could
// not be read for another reason than being missing. base and arch are
// its %BASE% and %ARCH%, as libalpm reads them. The file is read into
// *buf, which is grown as needed and kept for the next call.
func checkDesc(path, dirName string, buf *[]byte) (base, arch string, damage, fatal error) {
	data, err := readFile(path, (*buf)[:0])
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", unwrap(err), nil
	} else if err != nil {
		return "", "", nil, fmt.Errorf("read %s: %w", path, unwrap(err))
	}
	*buf = data
	// The line after a %NAME% or %VERSION% line is its value (the last
	// such line wins; a key on the last line, with no newline after it,
	// has none).
	var name, version string
	for rest := data; ; {
		line, after, more := bytes.Cut(rest, []byte{'\n'})
		if !more {
			break
		}
		value, _, _ := bytes.Cut(after, []byte{'\n'})
		switch string(line) {
		case "%NAME%":
			name = string(value)
		case "%VERSION%":
			version = string(value)
		case "%BASE%":
			base = string(bytes.TrimRight(value, "\r"))
		case "%ARCH%":
			arch = string(bytes.TrimRight(value, "\r"))
		}
		rest = after
	}
	const fix = "reinstall the package (pacman -S --dbonly NAME) or restore the database from a backup"
	if name == "" || version == "" || name+"-"+version != dirName {
		return base, arch, fmt.Errorf("damaged desc: %%NAME%% and %%VERSION%% (%q, %q) do not match the entry; %s", name, version, fix), nil
	}
	// libalpm ends every field with a blank line and always writes
	// %VALIDATION% after %REASON%: a file cut short (a full disk) loses
	// the reason and the dependencies without libalpm noticing.
	if !bytes.HasSuffix(data, []byte("\n\n")) || !bytes.Contains(data, []byte("\n%VALIDATION%\n")) {
		return base, arch, fmt.Errorf("damaged desc: the entry is cut short (its install reason and dependencies may be lost); %s", fix), nil
	}
	return base, arch, nil, nil
}

func dedupErrors(errs []pkg.EntryError) []pkg.EntryError {
	seen := map[string]bool{}
	out := errs[:0]
	for _, e := range errs {
		k := e.Path + "\x00" + e.Err.Error()
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

func deps(l galpm.IDependList) []pkg.Dep {
	var out []pkg.Dep
	_ = l.ForEach(func(d *galpm.Depend) error {
		out = append(out, pkg.Dep{
			Name:    d.Name,
			Mod:     pkg.Mod(d.Mod - galpm.DepModAny),
			Version: d.Version,
			Desc:    d.Description,
		})
		return nil
	})
	return out
}

func convert(ip galpm.IPackage) *pkg.Package {
	p := &pkg.Package{
		Name:          ip.Name(),
		Version:       ip.Version(),
		Base:          ip.Base(),
		Desc:          ip.Description(),
		Arch:          ip.Architecture(),
		URL:           ip.URL(),
		Packager:      ip.Packager(),
		Reason:        pkg.Reason(ip.Reason()),
		Depends:       deps(ip.Depends()),
		OptDepends:    deps(ip.OptionalDepends()),
		Provides:      deps(ip.Provides()),
		Conflicts:     deps(ip.Conflicts()),
		Groups:        ip.Groups().Slice(),
		BuildDate:     ip.BuildDate(),
		InstallDate:   ip.InstallDate(),
		InstalledSize: ip.ISize(),
		Validation:    validation(ip.Validation()),
	}
	return p
}

func validation(v galpm.Validation) []string {
	var out []string
	for _, x := range []struct {
		bit  galpm.Validation
		name string
	}{
		{galpm.ValidationNone, "none"},
		{galpm.ValidationMD5Sum, "md5"},
		{galpm.ValidationSHA256Sum, "sha256"},
		{galpm.ValidationSignature, "pgp"},
	} {
		if v&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	return out
}
