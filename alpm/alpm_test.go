package alpm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testroot"
	"github.com/pactidy/pactidy/internal/vercmp"
)

// open opens r's database with r's pacman.conf; the test closes it.
func open(t *testing.T, r *testroot.Root) *Handle {
	t.Helper()
	cfg, err := conf.Load(r.Config, conf.Overrides{Root: r.Dir, DBPath: r.DBPath})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func load(t *testing.T, r *testroot.Root) *pkg.DB {
	t.Helper()
	db, err := open(t, r).Load()
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func names(ps []*pkg.Package) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

func TestLoadPacmanRoot(t *testing.T) {
	r := testroot.New(t)
	r.AddRepo(t, "core", testroot.Pkg{Name: "app", Version: "1.0-1"}, testroot.Pkg{Name: "libfoo", Version: "1:2.3-4"})
	r.InstallAsDeps(t,
		testroot.Pkg{
			Name: "libfoo", Version: "1:2.3-4", Arch: "any",
			Provides: []string{"libfoo.so=2-64", "foo-api"},
			Groups:   []string{"base-devel", "libs"},
			Files: map[string]string{
				"usr/lib/libfoo.so.2": "ELF",
				"etc/foo.conf":        "key=value\n",
			},
			Backup: []string{"etc/foo.conf"},
		},
		testroot.Pkg{Name: "helper", Version: "0.1-1"},
	)
	r.Install(t,
		testroot.Pkg{
			Name: "app", Version: "1.0-1", Desc: "the app",
			Depends:    []string{"libfoo.so>=2-64", "helper"},
			OptDepends: []string{"extra-tool: for extras"},
			Files:      map[string]string{"usr/bin/app": "#!/bin/sh\n"},
			Symlinks:   map[string]string{"usr/bin/app-link": "app"},
		},
		testroot.Pkg{Name: "local-only", Version: "3-1", Files: map[string]string{"opt/local/file": "x"}},
	)
	db := load(t, r)

	if got, want := names(db.Packages), []string{"app", "helper", "libfoo", "local-only"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("packages = %v, want %v", got, want)
	}
	if len(db.Errors) != 0 {
		t.Errorf("errors = %v", db.Errors)
	}
	app, lib := db.Get("app"), db.Get("libfoo")
	if app.Reason != pkg.Explicit || lib.Reason != pkg.Dependency {
		t.Errorf("reasons: app %v, libfoo %v", app.Reason, lib.Reason)
	}
	if app.Desc != "the app" || app.Version != "1.0-1" || lib.Version != "1:2.3-4" {
		t.Errorf("app %q %q, libfoo %q", app.Desc, app.Version, lib.Version)
	}
	wantDeps := []pkg.Dep{{Name: "libfoo.so", Mod: pkg.GE, Version: "2-64"}, {Name: "helper"}}
	if len(app.Depends) != 2 || app.Depends[0] != wantDeps[0] || app.Depends[1] != wantDeps[1] {
		t.Errorf("app depends = %+v", app.Depends)
	}
	if len(app.OptDepends) != 1 || app.OptDepends[0] != (pkg.Dep{Name: "extra-tool", Desc: "for extras"}) {
		t.Errorf("app optdepends = %+v", app.OptDepends)
	}
	if len(lib.Provides) != 2 || lib.Provides[0] != (pkg.Dep{Name: "libfoo.so", Mod: pkg.EQ, Version: "2-64"}) || lib.Provides[1].Name != "foo-api" {
		t.Errorf("libfoo provides = %+v", lib.Provides)
	}
	if strings.Join(lib.Groups, ",") != "base-devel,libs" {
		t.Errorf("libfoo groups = %v", lib.Groups)
	}
	if s := db.Satisfiers(app.Depends[0]); len(s) != 1 || s[0] != lib {
		t.Errorf("libfoo.so>=2-64 satisfied by %v", names(s))
	}
	wantFiles := []string{"etc/", "etc/foo.conf", "usr/", "usr/lib/", "usr/lib/libfoo.so.2"}
	if strings.Join(lib.Files, " ") != strings.Join(wantFiles, " ") {
		t.Errorf("libfoo files = %v, want %v", lib.Files, wantFiles)
	}
	if !contains(app.Files, "usr/bin/app-link") {
		t.Errorf("app files = %v, want the symlink", app.Files)
	}
	if len(lib.Backup) != 1 || lib.Backup[0].Path != "etc/foo.conf" || len(lib.Backup[0].Hash) != 32 {
		t.Errorf("libfoo backup = %+v", lib.Backup)
	}
	if lib.InstalledSize <= 0 || lib.InstallDate.IsZero() {
		t.Errorf("libfoo size %d, install date %v", lib.InstalledSize, lib.InstallDate)
	}
	if strings.Join(db.SyncDBs, ",") != "core" {
		t.Errorf("sync dbs = %v", db.SyncDBs)
	}
	// Foreign detection agrees with pacman -Qm.
	var foreign []string
	for _, p := range db.Packages {
		if !p.InSync {
			foreign = append(foreign, p.Name)
		}
	}
	out, _, _ := r.PacmanErr(t, "-Qmq")
	if got, want := strings.Join(foreign, " "), strings.Join(strings.Fields(out), " "); got != want {
		t.Errorf("foreign = %q, pacman -Qmq = %q", got, want)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMissingSyncDB(t *testing.T) {
	r := testroot.New(t, testroot.WithExtraConfig(""))
	r.Install(t, testroot.Pkg{Name: "a", Version: "1-1"})
	f, err := os.OpenFile(r.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n[never-synced]\nServer = file:///nonexistent\n")
	f.Close()
	db := load(t, r)
	if len(db.SyncDBs) != 0 {
		t.Errorf("sync dbs = %v, want none readable", db.SyncDBs)
	}
	if len(db.Errors) != 1 || !strings.Contains(db.Errors[0].Path, filepath.Join("sync", "never-synced.db")) {
		t.Errorf("errors = %v, want one naming the sync db file", db.Errors)
	}
}

func TestCorruptEntries(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "good", Version: "1-1"}, testroot.Pkg{Name: "bad", Version: "2-1"}, testroot.Pkg{Name: "nofiles", Version: "1-1"})
	local := filepath.Join(r.DBPath, "local")
	if err := os.WriteFile(filepath.Join(local, "bad-2-1", "desc"), []byte("%NAME%\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(local, "nofiles-1-1", "files")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(local, "notapackage"), 0o755); err != nil {
		t.Fatal(err)
	}
	db := load(t, r)
	if db.Get("good") == nil {
		t.Fatalf("good not loaded; packages %v", names(db.Packages))
	}
	var paths []string
	for _, e := range db.Errors {
		paths = append(paths, e.Error())
	}
	all := strings.Join(paths, "\n")
	for _, want := range []string{
		filepath.Join(local, "bad-2-1"),
		filepath.Join(local, "nofiles-1-1", "files"),
		filepath.Join(local, "notapackage"),
	} {
		if !strings.Contains(all, want) {
			t.Errorf("errors do not name %s:\n%s", want, all)
		}
	}
}

func TestVerCmpMatchesPureGo(t *testing.T) {
	versions := []string{
		"1.0", "1.0-1", "1.0-2", "1.0-1.1", "1:0.1-1", "2:0-1", "1.0rc1-1", "1.0a", "1.0alpha",
		"1.0.1", "1.0.a", "1.0_a", "1.01", "1.10", "1.9", "r100.abc123-1", "0:1.0", "20240101-1",
	}
	for _, a := range versions {
		for _, b := range versions {
			if got, want := vercmp.Compare(a, b), VerCmp(a, b); got != want {
				t.Errorf("vercmp.Compare(%q, %q) = %d, libalpm says %d", a, b, got, want)
			}
		}
	}
	// Ordering facts the cache and orphan code rely on.
	order := []string{"1.0rc1-1", "1.0-1", "1.0-1.1", "1.0-2", "1.0.1-1", "1:0.1-1"}
	for i := 0; i+1 < len(order); i++ {
		if VerCmp(order[i], order[i+1]) >= 0 {
			t.Errorf("libalpm: %s should be older than %s", order[i], order[i+1])
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := &conf.Config{RootDir: dir, DBPath: filepath.Join(dir, "nodb")}
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nodb", "local")) {
		t.Errorf("Open on a missing database: %v", err)
	}
}

func TestLoadOptions(t *testing.T) {
	r := testroot.New(t)
	r.AddRepo(t, "core", testroot.Pkg{Name: "a", Version: "1-1"})
	r.Install(t, testroot.Pkg{Name: "a", Version: "1-1", Files: map[string]string{"usr/a": "a"}}, testroot.Pkg{Name: "b", Version: "1-1"})
	if err := os.WriteFile(filepath.Join(r.DBPath, "local", "b-1-1", "desc"), []byte("%NAME%\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := open(t, r)
	db, err := h.LoadWith(LoadOptions{NoEntryCheck: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := db.Get("a"); a == nil || a.Files != nil || a.InSync || len(db.SyncDBs) != 0 || len(db.Errors) != 0 {
		t.Errorf("light load: a=%+v syncdbs=%v errors=%v", a, db.SyncDBs, db.Errors)
	}
	db, err = h.LoadWith(LoadOptions{Files: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := db.Get("a"); a == nil || len(a.Files) != 2 || !a.InSync || len(db.Errors) != 1 {
		t.Errorf("full load: a=%+v errors=%v", a, db.Errors)
	}
}

// TestUnreadableSyncDB: a damaged sync database is reported, not read as an
// empty repository (which would make every package foreign); a really
// empty repository is fine.
func TestUnreadableSyncDB(t *testing.T) {
	r := testroot.New(t)
	r.AddRepo(t, "core", testroot.Pkg{Name: "a", Version: "1-1"})
	r.AddRepo(t, "empty")
	r.Install(t, testroot.Pkg{Name: "a", Version: "1-1"})
	db := load(t, r)
	if strings.Join(db.SyncDBs, ",") != "core,empty" || len(db.Errors) != 0 || !db.Get("a").InSync {
		t.Fatalf("healthy: sync dbs %v, errors %v", db.SyncDBs, db.Errors)
	}
	if err := os.WriteFile(filepath.Join(r.DBPath, "sync", "core.db"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db = load(t, r)
	if strings.Join(db.SyncDBs, ",") != "empty" {
		t.Errorf("sync dbs = %v, want only the empty one readable", db.SyncDBs)
	}
	if len(db.Errors) != 1 || !strings.Contains(db.Errors[0].Error(), filepath.Join("sync", "core.db")) {
		t.Errorf("errors = %v, want one naming core.db", db.Errors)
	}
}

// TestTruncatedDesc: a desc cut short after %VERSION% makes libalpm treat a
// dependency as explicit; the entry is reported.
func TestTruncatedDesc(t *testing.T) {
	r := testroot.New(t)
	r.InstallAsDeps(t, testroot.Pkg{Name: "dep", Version: "1-1"})
	path := filepath.Join(r.DBPath, "local", "dep-1-1", "desc")
	if err := os.WriteFile(path, []byte("%NAME%\ndep\n\n%VERSION%\n1-1\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := load(t, r)
	if len(db.Errors) != 1 || db.Errors[0].Path != path || !strings.Contains(db.Errors[0].Error(), "cut short") {
		t.Errorf("errors = %v, want the truncated desc", db.Errors)
	}
}

// TestCheckDescParse holds checkDesc's line scan to the plain reading it
// replaced (split at newlines; the line after a key is its value), on
// random desc-like texts, with a reused buffer.
func TestCheckDescParse(t *testing.T) {
	reference := func(data string) (name, version string) {
		lines := strings.Split(data, "\n")
		for i := 0; i+1 < len(lines); i++ {
			switch lines[i] {
			case "%NAME%":
				name = lines[i+1]
			case "%VERSION%":
				version = lines[i+1]
			}
		}
		return name, version
	}
	tokens := []string{"%NAME%", "%VERSION%", "foo", "1-1", "", "%VALIDATION%", "none", "foo\r", "%NAME%\r"}
	dir := t.TempDir()
	path := filepath.Join(dir, "desc")
	rng := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for n := 0; n < 3000; n++ {
		var parts []string
		for k := rng.IntN(12); k > 0; k-- {
			parts = append(parts, tokens[rng.IntN(len(tokens))])
		}
		data := strings.Join(parts, "\n")
		if rng.IntN(2) == 0 {
			data += "\n"
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		name, version := reference(data)
		_, _, damage, fatal := checkDesc(path, "foo-1-1", &buf)
		if fatal != nil {
			t.Fatal(fatal)
		}
		matches := name != "" && version != "" && name+"-"+version == "foo-1-1"
		complete := strings.HasSuffix(data, "\n\n") && strings.Contains(data, "\n%VALIDATION%\n")
		if want := matches && complete; (damage == nil) != want {
			t.Fatalf("desc %q: damage %v, want damaged %v (name %q, version %q)", data, damage, !want, name, version)
		}
		if !matches && (damage == nil || !strings.Contains(damage.Error(), fmt.Sprintf("(%q, %q)", name, version))) {
			t.Fatalf("desc %q: damage %v, want it to name %q, %q", data, damage, name, version)
		}
	}
}
