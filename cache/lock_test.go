package cache

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLock(t *testing.T) {
	db := t.TempDir()
	unlock, err := Lock(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(db, LockFile)); err != nil {
		t.Fatalf("lock file not created: %v", err)
	}
	// While we hold it, pacman (or a second pactidy) is refused.
	var locked *LockedError
	if _, err := Lock(db); !errors.As(err, &locked) {
		t.Errorf("second Lock = %v, want a LockedError", err)
	}
	if err := CheckLock(db); !errors.As(err, &locked) {
		t.Errorf("CheckLock while held = %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(db, LockFile)); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
	if _, err := Lock(filepath.Join(db, "missing")); err == nil {
		t.Error("Lock in a missing database directory succeeded")
	}
}

// TestLockReadOnlyDBPath: a user who cannot create the lock (the database
// belongs to root) still gets the check, and nothing is created. As root
// the test re-runs itself as nobody.
func TestLockReadOnlyDBPath(t *testing.T) {
	if db := os.Getenv("PACTIDY_LOCK_HELPER"); db != "" {
		if os.Geteuid() == 0 {
			t.Fatal("helper still runs as root")
		}
		unlock, err := Lock(db)
		if err != nil {
			t.Fatalf("Lock without permission: %v", err)
		}
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(db, LockFile)); !os.IsNotExist(err) {
			t.Fatalf("lock file appeared: %v", err)
		}
		if err := os.WriteFile(filepath.Join(db, "probe"), nil, 0o644); err == nil {
			t.Fatal("the directory was writable; the test proves nothing")
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to own a database directory a normal user cannot write")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed; cannot run as a normal user")
	}
	db, err := os.MkdirTemp("", "pactidy-lock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(db) })
	if err := os.Chmod(db, 0o555); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		exe, "-test.run=^TestLockReadOnlyDBPath$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PACTIDY_LOCK_HELPER="+db)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS: TestLockReadOnlyDBPath") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	// And a lock that exists is still refused for that user: checked by
	// CheckLock, which Lock falls back to.
	if err := os.Chmod(db, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(db, LockFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(db, 0o555)
	cmd = exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		exe, "-test.run=^TestLockReadOnlyDBPath$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PACTIDY_LOCK_HELPER="+db)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "pacman is using the cache") {
		t.Errorf("held lock not refused for a normal user: %v\n%s", err, out)
	}
}
