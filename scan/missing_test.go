package scan

import (
	"context"
	"fmt"
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
