package alpm

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	galpm "github.com/Jguer/go-alpm/v2"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testroot"
)

// TestFilesMatchLibalpm holds Load's own reading of the "files" entries to
// libalpm's, package by package, on a pacman-built root and on a generated
// one.
func TestFilesMatchLibalpm(t *testing.T) {
	r := testroot.New(t)
	r.Install(t,
		testroot.Pkg{
			Name: "conf", Version: "1-1",
			Files: map[string]string{
				"etc/conf/a.conf": "a", "etc/conf/b.conf": "b", "usr/share/conf/z": "z", "usr/bin/conf": "x",
				"usr/share/conf/with space": "s", "usr/share/conf/ünïcode": "u",
			},
			Backup:   []string{"etc/conf/b.conf", "etc/conf/a.conf"},
			Symlinks: map[string]string{"usr/bin/conf-link": "conf"},
		},
		testroot.Pkg{Name: "empty", Version: "1-1"},
	)
	gen, err := testroot.Generate(filepath.Join(t.TempDir(), "gen"), testroot.GenSpec{Packages: 60, FilesPerPkg: 20, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]*conf.Config{
		"pacman":    {RootDir: r.Dir, DBPath: r.DBPath},
		"generated": {RootDir: gen.Root, DBPath: gen.DBPath},
	}
	for name, cfg := range roots {
		t.Run(name, func(t *testing.T) {
			h, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			db, err := h.Load()
			if err != nil {
				t.Fatal(err)
			}
			local, err := h.h.LocalDB()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			_ = local.PkgCache().ForEach(func(ip galpm.IPackage) error {
				n++
				p := db.Get(ip.Name())
				files, backup := libalpmFiles(ip)
				if p == nil {
					t.Errorf("%s not loaded", ip.Name())
					return nil
				}
				if !reflect.DeepEqual(p.Files, files) && !(len(p.Files) == 0 && len(files) == 0) {
					t.Errorf("%s files:\n got %q\nlibalpm %q", p.Name, p.Files, files)
				}
				if !reflect.DeepEqual(p.Backup, backup) {
					t.Errorf("%s backup: got %q, libalpm %q", p.Name, p.Backup, backup)
				}
				return nil
			})
			if n != len(db.Packages) || n < 2 {
				t.Errorf("libalpm has %d packages, Load %d", n, len(db.Packages))
			}
		})
	}
}

func TestReadFilesFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "files")
	content := "%FILES%\r\nusr/\nusr/b\nusr/a\n\n%BACKUP%\netc/x\t0123\netc/nohash\n\n%UNKNOWN%\nignored\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	files, backup, err := readFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"usr/", "usr/a", "usr/b"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files %q, want %q", files, want)
	}
	if len(backup) != 2 || backup[0].Path != "etc/x" || backup[0].Hash != "0123" || backup[1].Path != "etc/nohash" || backup[1].Hash != "" {
		t.Errorf("backup %+v", backup)
	}
	if _, _, err := readFiles(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("missing files entry gave no error")
	}
}

// libalpmFiles is the file list and backup entries as libalpm reads them;
// Load reads the same entries itself, in parallel (readFiles).
func libalpmFiles(ip galpm.IPackage) ([]string, []pkg.Backup) {
	files := ip.Files()
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	var backup []pkg.Backup
	if cp, ok := ip.(*galpm.Package); ok {
		_ = cp.Backup().ForEach(func(b galpm.BackupFile) error {
			backup = append(backup, pkg.Backup{Path: b.Name, Hash: b.Hash})
			return nil
		})
	}
	return names, backup
}
