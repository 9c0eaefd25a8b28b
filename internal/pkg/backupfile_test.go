package pkg

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadBackup(t *testing.T) {
	db := t.TempDir()
	dir := filepath.Join(db, "local", "foo-1:2.0-1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := "%FILES%\netc/\netc/foo.conf\netc/foo.d/a.conf\n\n%BACKUP%\netc/foo.conf\td41d8cd98f00b204e9800998ecf8427e\netc/foo.d/a.conf\t0123\n\n"
	if err := os.WriteFile(filepath.Join(dir, "files"), []byte(files), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBackup(db, "foo", "1:2.0-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []Backup{{Path: "etc/foo.conf", Hash: "d41d8cd98f00b204e9800998ecf8427e"}, {Path: "etc/foo.d/a.conf", Hash: "0123"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := ReadBackup(db, "bar", "1-1"); err == nil {
		t.Error("missing entry: no error")
	}
}
