package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"github.com/pactidy/pactidy/internal/pkg"
)

func TestMissingFilesErrors(t *testing.T) {
	db := pkg.NewDB([]*pkg.Package{
		{Name: "a", Files: []string{"etc/", "etc/a.conf", "usr/share/doc/a/README", "var/secret/a"}},
		{Name: "b", Files: []string{"usr/", "usr/bin/b", "usr/lib/b/x"}},
	})
	lstat := func(p string) error {
		switch p {
		case "/r/etc/a.conf", "/r/usr/share/doc/a/README":
			return syscall.ENOENT
		case "/r/usr/lib/b/x":
			return syscall.ENOTDIR
		case "/r/var/secret/a":
			return syscall.EACCES
		case "/r/etc", "/r/usr", "/r/usr/bin/b":
			return nil
		}
		return fmt.Errorf("unexpected path %q", p)
	}
	missing, errs, err := missingFiles(context.Background(), "/r", db, []string{"usr/share/doc/*"}, lstat)
	if err != nil {
		t.Fatal(err)
	}
	want := []MissingFile{{"a", "/etc/a.conf"}, {"b", "/usr/lib/b/x"}}
	if !reflect.DeepEqual(missing, want) {
		t.Errorf("missing = %v, want %v", missing, want)
	}
	if len(errs) != 1 || errs[0].Path != "/var/secret/a" || errs[0].Err != syscall.EACCES {
		t.Errorf("errs = %v, want EACCES on /var/secret/a", errs)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := missingFiles(ctx, "/r", db, nil, lstat); err == nil {
		t.Error("cancelled scan returned no error")
	}
}

func TestPacfileKind(t *testing.T) {
	tests := []struct{ name, kind, orig string }{
		{"etc/a.conf.pacnew", KindPacnew, "etc/a.conf"},
		{"etc/a.conf.pacsave", KindPacsave, "etc/a.conf"},
		{"etc/a.conf.pacsave.12", KindPacsave, "etc/a.conf"},
		{"etc/a.conf.pacorig", KindPacorig, "etc/a.conf"},
		{"etc/a.conf.pacsave.x", "", ""},
		{"etc/a.conf.pacsave.", "", ""},
		{"etc/a.conf", "", ""},
	}
	for _, tt := range tests {
		kind, orig, ok := pacfileKind(tt.name)
		if kind != tt.kind || orig != tt.orig || ok != (tt.kind != "") {
			t.Errorf("pacfileKind(%q) = %q, %q, %v", tt.name, kind, orig, ok)
		}
	}
}

// The check relative to a directory handle answers as lstat on the whole
// path does: through symlinked directories, a missing directory, a file
// where a directory should be, a dangling symlink, the root itself.
func TestDirStatIsLstat(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/b", "real"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/b/file", "a/plain", "real/x"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("real", filepath.Join(root, "link"))
	os.Symlink("nowhere", filepath.Join(root, "a/dangling"))
	os.Symlink("loop", filepath.Join(root, "loop"))
	rels := []string{"a", "a/b", "a/b/file", "a/plain", "a/plain/under", "a/nodir/x", "a/dangling", "a/dangling/x",
		"link", "link/x", "link/y", "real/x", "loop/x", "top-missing", "a/b/file/deeper"}
	at := dirStat{fd: -1}
	defer at.close()
	for _, rel := range rels {
		want := lstat(filepath.Join(root, rel))
		if got := at.lstat(root+"/", rel); got != want {
			t.Errorf("%s: %v, lstat says %v", rel, got, want)
		}
	}
}
