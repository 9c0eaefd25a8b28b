package alpm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testroot"
)

// filesView is what LoadFiles promises of a database: per package its
// name, version, base, architecture, files, backup entries and files
// error, and the database's errors.
func filesView(db *pkg.DB) string {
	var b strings.Builder
	for _, p := range db.Packages {
		fmt.Fprintf(&b, "%s %s base=%q arch=%q files=%q backup=%v", p.Name, p.Version, p.Base, p.Arch, p.Files, p.Backup)
		if p.FilesErr != nil {
			fmt.Fprintf(&b, " fileserr=%q", p.FilesErr.Error())
		}
		b.WriteByte('\n')
	}
	for _, e := range db.Errors {
		fmt.Fprintf(&b, "error %s: %s\n", e.Path, e.Err)
	}
	return b.String()
}

// TestLoadFilesIsLoadWith: without libalpm, LoadFiles finds the packages,
// files, bases and damage that LoadWith finds through libalpm, on a root
// pacman built and then damaged every way a file-only read can see:
// desc entries that disagree, are cut short or are missing, a missing
// files entry, a directory that is not a package, a second entry of a
// package, an entry that is a symlink, an edited %BASE%. What fails one
// load fails the other: a database of another format, an unreadable
// files entry.
func TestLoadFilesIsLoadWith(t *testing.T) {
	r := testroot.New(t)
	var pkgs []testroot.Pkg
	for _, n := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel-x"} {
		pkgs = append(pkgs, testroot.Pkg{
			Name: n, Version: "1.0-1",
			Files:    map[string]string{"etc/" + n + ".conf": "c", "usr/share/" + n + "/data": "d", "usr/bin/" + n: "x"},
			Backup:   []string{"etc/" + n + ".conf"},
			Symlinks: map[string]string{"usr/bin/" + n + "-link": n},
		})
	}
	r.Install(t, pkgs...)
	local := filepath.Join(r.DBPath, "local")
	edit := func(entry, file string, f func(string) string) {
		t.Helper()
		path := filepath.Join(local, entry, file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(f(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	compare := func(what string) {
		t.Helper()
		want := load(t, r)
		got, err := LoadFiles(r.DBPath, nil)
		if err != nil {
			t.Fatalf("%s: LoadFiles: %v", what, err)
		}
		if g, w := filesView(got), filesView(want); g != w {
			t.Fatalf("%s: LoadFiles:\n%s\nLoadWith:\n%s", what, g, w)
		}
	}
	compare("as pacman installed it")

	edit("alpha-1.0-1", "desc", func(s string) string { return strings.Replace(s, "%NAME%\nalpha\n", "%NAME%\nalphax\n", 1) })
	edit("bravo-1.0-1", "desc", func(s string) string { return s[:strings.Index(s, "%VERSION%")+len("%VERSION%\n1.0-1\n\n")] })
	if err := os.Remove(filepath.Join(local, "charlie-1.0-1", "desc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(local, "delta-1.0-1", "files")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(local, "notapackage"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(local, "echo-0.9-1"), os.DirFS(filepath.Join(local, "echo-1.0-1"))); err != nil {
		t.Fatal(err)
	}
	edit("echo-0.9-1", "desc", func(s string) string { return strings.Replace(s, "1.0-1", "0.9-1", 1) })
	edit("echo-0.9-1", "files", func(s string) string { return s + "usr/share/echo/old\n" })
	moved := filepath.Join(r.Dir, "foxtrot-entry")
	if err := os.Rename(filepath.Join(local, "foxtrot-1.0-1"), moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(moved, filepath.Join(local, "foxtrot-1.0-1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(r.Dir, "nowhere"), filepath.Join(local, "dangling-1-1")); err != nil {
		t.Fatal(err)
	}
	// Names pacman never writes but libalpm loads: an empty version or
	// release; and one it does not, with an empty name.
	for _, odd := range []string{"india--1", "juliet-1-", "-kilo-1"} {
		if err := os.CopyFS(filepath.Join(local, odd), os.DirFS(filepath.Join(local, "hotel-x-1.0-1"))); err != nil {
			t.Fatal(err)
		}
	}
	edit("golf-1.0-1", "desc", func(s string) string {
		if strings.Contains(s, "%BASE%\n") {
			return strings.Replace(s, "%BASE%\ngolf\n", "%BASE%\ngolf-base\n", 1)
		}
		return strings.Replace(s, "%VERSION%\n1.0-1\n\n", "%VERSION%\n1.0-1\n\n%BASE%\ngolf-base\n\n", 1)
	})
	compare("damaged")
	if db, _ := LoadFiles(r.DBPath, nil); db.Get("golf") == nil || db.Get("golf").Base != "golf-base" || db.Get("foxtrot") == nil || len(db.Get("foxtrot").Files) == 0 || db.Get("india") == nil || db.Get("juliet") == nil {
		t.Fatalf("the edited base or the symlinked entry was not read:\n%s", filesView(db))
	}

	// Failures of both.
	files := filepath.Join(local, "hotel-x-1.0-1", "files")
	if err := os.Rename(files, files+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(files, 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := Open(&conf.Config{RootDir: r.Dir, DBPath: r.DBPath})
	if err != nil {
		t.Fatal(err)
	}
	_, werr := h.LoadWith(LoadOptions{Files: true, NoSync: true})
	h.Close()
	_, ferr := LoadFiles(r.DBPath, nil)
	if werr == nil || ferr == nil || !strings.Contains(ferr.Error(), files) {
		t.Errorf("a files entry that is a directory: LoadWith %v, LoadFiles %v", werr, ferr)
	}
	os.Remove(files)
	if err := os.Rename(files+".moved", files); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "ALPM_DB_VERSION"), []byte("8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err = Open(&conf.Config{RootDir: r.Dir, DBPath: r.DBPath})
	if err == nil {
		_, err = h.LoadWith(LoadOptions{Files: true, NoSync: true})
		h.Close()
	}
	_, ferr = LoadFiles(r.DBPath, nil)
	if err == nil || ferr == nil || !strings.Contains(ferr.Error(), "format version") {
		t.Errorf("a database of format 8: LoadWith %v, LoadFiles %v", err, ferr)
	}
}
