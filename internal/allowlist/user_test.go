package allowlist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadUser(t *testing.T) {
	root := t.TempDir()
	if l, err := LoadUser(root, "/home/bob"); err != nil || l.HasPathEntries() {
		t.Fatalf("no home: %v", err)
	}
	file := filepath.Join(root, "home/bob", UserFile)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("# mine\npath /home/bob/.config/keepme\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := LoadUser(root, "/home/bob")
	if err != nil {
		t.Fatal(err)
	}
	if !l.KeepsPath("/home/bob/.config/keepme", nil) || l.KeepsPath("/home/bob/.config/other", nil) {
		t.Error("the user's entry does not keep exactly its path")
	}
	if err := os.WriteFile(file, []byte("path /ok\nbogus line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadUser(root, "/home/bob"); err == nil || !strings.Contains(err.Error(), UserFile+":2") {
		t.Errorf("bad line: %v", err)
	}
	// A symlink in its place is not followed.
	secret := filepath.Join(root, "secret")
	if err := os.WriteFile(secret, []byte("path /x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(file)
	if err := os.Symlink(secret, file); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadUser(root, "/home/bob"); err == nil {
		t.Error("a symlinked allowlist was read")
	}
}
