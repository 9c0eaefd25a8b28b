package fsafe

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/fsafe/fsafetest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	fsafetest.Main()
	code := m.Run()
	fsafetest.Cleanup()
	os.Exit(code)
}

func write(t *testing.T, path, content string, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

func openDir(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func ident(t *testing.T, d *Dir, name string) Identity {
	t.Helper()
	st, err := d.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	return st.ID()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// noLeftovers fails when a stage or temporary file is left in dir.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), StagePrefix) || strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("left behind in %s: %s", dir, e.Name())
		}
	}
}

func TestOpenDirRefusesSymlink(t *testing.T) {
	tmp := t.TempDir()
	os.Mkdir(filepath.Join(tmp, "real"), 0o755)
	os.Symlink("real", filepath.Join(tmp, "link"))
	if _, err := OpenDir(filepath.Join(tmp, "link")); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("OpenDir of a symlink: %v", err)
	}
	d := openDir(t, tmp)
	if _, err := d.OpenDir("link"); err == nil {
		t.Fatal("Dir.OpenDir followed a symlink")
	}
	for _, bad := range []string{"", ".", "..", "real/..", "a/b"} {
		if _, err := d.OpenDir(bad); err == nil {
			t.Errorf("OpenDir(%q) accepted", bad)
		}
	}
	sub, err := d.OpenDir("real")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Verify(ident(t, d, "real")); err != nil {
		t.Fatal(err)
	}
	if err := sub.Verify(d.Stat().ID()); !errors.Is(err, ErrChanged) {
		t.Fatalf("Verify against another directory: %v", err)
	}
}

func TestResolve(t *testing.T) {
	tmp := t.TempDir()
	os.MkdirAll(filepath.Join(tmp, "a", "b"), 0o755)
	os.Symlink("a/b", filepath.Join(tmp, "l1"))
	os.Symlink(filepath.Join(tmp, "l1"), filepath.Join(tmp, "l2"))
	got, err := Resolve(filepath.Join(tmp, "l2"))
	want, _ := filepath.EvalSymlinks(filepath.Join(tmp, "l2"))
	if err != nil || got != want {
		t.Fatalf("Resolve = %q, %v; want %q", got, err, want)
	}
	if os.Geteuid() == 0 {
		os.Symlink("a", filepath.Join(tmp, "theirs"))
		fsafetest.Chown(t, filepath.Join(tmp, "theirs"))
		if _, err := Resolve(filepath.Join(tmp, "theirs", "b")); err == nil || !strings.Contains(err.Error(), "owned by uid") {
			t.Fatalf("Resolve followed another user's symlink: %v", err)
		}
	}
}

func TestReadDir(t *testing.T) {
	tmp := t.TempDir()
	var want []string
	for i := 0; i < 3000; i++ {
		n := "f" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + time.Duration(i).String()
		if exists(filepath.Join(tmp, n)) {
			continue
		}
		write(t, filepath.Join(tmp, n), "", 0o644)
		want = append(want, n)
	}
	d := openDir(t, tmp)
	for round := 0; round < 2; round++ {
		got, err := d.ReadDir()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d names, want %d", round, len(got), len(want))
		}
	}
}

func TestRemoveFile(t *testing.T) {
	tmp := t.TempDir()
	d := openDir(t, tmp)
	write(t, filepath.Join(tmp, "a"), "aaa", 0o644)
	write(t, filepath.Join(tmp, "target"), "keep", 0o600)
	os.Symlink("target", filepath.Join(tmp, "link"))
	unix.Mkfifo(filepath.Join(tmp, "fifo"), 0o644)

	idA := ident(t, d, "a")
	// Grown since planned: refused, in place.
	write(t, filepath.Join(tmp, "a"), "aaaa", 0o644)
	if err := RemoveFile(d, "a", idA); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), filepath.Join(tmp, "a")) {
		t.Fatalf("grown file: %v", err)
	}
	// Replaced by another file of the same size.
	write(t, filepath.Join(tmp, "b"), "aaa", 0o644)
	os.Rename(filepath.Join(tmp, "b"), filepath.Join(tmp, "a"))
	if err := RemoveFile(d, "a", Identity{Dev: idA.Dev, Ino: idA.Ino, Size: 3}); !errors.Is(err, ErrChanged) {
		t.Fatalf("replaced file: %v", err)
	}
	// Replaced by a symlink: the link is not followed, nothing goes.
	os.Remove(filepath.Join(tmp, "a"))
	os.Symlink("target", filepath.Join(tmp, "a"))
	if err := RemoveFile(d, "a", idA); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("symlink in place of a file: %v", err)
	}
	// A planned symlink and FIFO go themselves.
	for _, n := range []string{"link", "fifo", "a"} {
		if err := RemoveFile(d, n, ident(t, d, n)); err != nil {
			t.Fatal(err)
		}
		if exists(filepath.Join(tmp, n)) {
			t.Errorf("%s still there", n)
		}
	}
	if b, err := os.ReadFile(filepath.Join(tmp, "target")); err != nil || string(b) != "keep" {
		t.Fatalf("the symlinks' target: %q %v", b, err)
	}
	if err := RemoveFile(d, "target", Identity{Type: fs.ModeDir}); err == nil {
		t.Fatal("RemoveFile took a directory identity")
	}
	if err := RemoveFile(d, "gone", idA); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	noLeftovers(t, tmp)
}

func TestRemoveTree(t *testing.T) {
	tmp := t.TempDir()
	outside := filepath.Join(tmp, "outside")
	os.Mkdir(outside, 0o755)
	write(t, filepath.Join(outside, "precious"), "x", 0o644)
	top := filepath.Join(tmp, "cache", "download-1")
	os.MkdirAll(filepath.Join(top, "sub", "deeper"), 0o755)
	write(t, filepath.Join(top, "f"), "1", 0o644)
	write(t, filepath.Join(top, "sub", "deeper", "g"), "2", 0o644)
	os.Symlink(outside, filepath.Join(top, "sub", "escape"))
	os.Symlink(filepath.Join(outside, "precious"), filepath.Join(top, "fileLink"))
	unix.Mkfifo(filepath.Join(top, "sub", "fifo"), 0o600)

	d := openDir(t, filepath.Join(tmp, "cache"))
	id := ident(t, d, "download-1")
	if err := RemoveFile(d, "download-1", id); err == nil {
		t.Fatal("RemoveFile removed a directory")
	}
	if err := RemoveTree(d, "download-1", id); err != nil {
		t.Fatal(err)
	}
	if exists(top) || !exists(filepath.Join(outside, "precious")) {
		t.Fatalf("after RemoveTree: top there %v, precious there %v", exists(top), exists(filepath.Join(outside, "precious")))
	}
	// A symlink where a directory was planned.
	os.Symlink(outside, top)
	if err := RemoveTree(d, "download-1", id); !errors.Is(err, ErrChanged) {
		t.Fatalf("symlink in place of the tree: %v", err)
	}
	if !exists(filepath.Join(outside, "precious")) || !exists(top) {
		t.Fatal("the symlink or its target was removed")
	}
	noLeftovers(t, filepath.Join(tmp, "cache"))
}

func TestRemoveTreeStopsAtMountPoint(t *testing.T) {
	base := fsafetest.Dir(t, false)
	top := filepath.Join(base, "tree")
	os.MkdirAll(filepath.Join(top, "a", "mnt"), 0o755)
	write(t, filepath.Join(top, "a", "before"), "1", 0o644)
	mnt := filepath.Join(top, "a", "mnt")
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	write(t, filepath.Join(mnt, "on-the-mount"), "m", 0o644)

	d := openDir(t, base)
	err := RemoveTree(d, "tree", ident(t, d, "tree"))
	if !errors.Is(err, ErrMountPoint) {
		t.Fatalf("RemoveTree across a mount point: %v", err)
	}
	if !exists(filepath.Join(mnt, "on-the-mount")) {
		t.Fatal("a file on the mount was removed")
	}
	if !exists(top) {
		t.Fatal("the tree was not put back under its name")
	}
	noLeftovers(t, base)

	// The top of the tree itself on another mount.
	sub := filepath.Join(top, "a")
	da := openDir(t, sub)
	if err := RemoveTree(da, "mnt", ident(t, da, "mnt")); !errors.Is(err, ErrMountPoint) && !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("RemoveTree of a mount point: %v", err)
	}
	if !exists(filepath.Join(mnt, "on-the-mount")) {
		t.Fatal("a file on the mount was removed")
	}
}

func TestMove(t *testing.T) {
	other := fsafetest.Tmpfs(t, "4m")
	for _, tc := range []struct {
		name string
		dst  func(t *testing.T) string
	}{
		{"same filesystem", func(t *testing.T) string { return t.TempDir() }},
		{"across filesystems", func(t *testing.T) string {
			d, _ := os.MkdirTemp(other, "dst")
			return d
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := t.TempDir(), tc.dst(t)
			p := filepath.Join(src, "pkg")
			write(t, p, "package data", 0o640)
			os.Chown(p, 12345, 54321)
			mtime := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
			os.Chtimes(p, mtime, mtime)
			sd, dd := openDir(t, src), openDir(t, dst)
			id := ident(t, sd, "pkg")
			if err := Move(sd, "pkg", id, dd, "pkg"); err != nil {
				t.Fatal(err)
			}
			if exists(p) {
				t.Error("source still there")
			}
			st, err := dd.Lstat("pkg")
			if err != nil {
				t.Fatal(err)
			}
			if st.Perm != 0o640 || !st.Mtime.Equal(mtime) || (os.Geteuid() == 0 && (st.Uid != 12345 || st.Gid != 54321)) {
				t.Errorf("moved file: perm %v mtime %v owner %d:%d", st.Perm, st.Mtime, st.Uid, st.Gid)
			}
			if b, _ := os.ReadFile(filepath.Join(dst, "pkg")); string(b) != "package data" {
				t.Errorf("content %q", b)
			}
			noLeftovers(t, src)
			noLeftovers(t, dst)
		})
	}
}

func TestMoveDestinationTaken(t *testing.T) {
	other := fsafetest.Tmpfs(t, "4m")
	for _, cross := range []bool{false, true} {
		src, dst := t.TempDir(), t.TempDir()
		if cross {
			dst, _ = os.MkdirTemp(other, "dst")
		}
		sd, dd := openDir(t, src), openDir(t, dst)
		// Identical: a move interrupted between link and unlink finishes.
		write(t, filepath.Join(src, "same"), "same content", 0o644)
		write(t, filepath.Join(dst, "same"), "same content", 0o644)
		if err := Move(sd, "same", ident(t, sd, "same"), dd, "same"); err != nil {
			t.Fatalf("cross %v: identical copy in the destination: %v", cross, err)
		}
		if exists(filepath.Join(src, "same")) {
			t.Errorf("cross %v: the source of an identical file stays", cross)
		}
		// Different: both kept, the error says so.
		write(t, filepath.Join(src, "diff"), "ours", 0o644)
		write(t, filepath.Join(dst, "diff"), "theirs", 0o644)
		err := Move(sd, "diff", ident(t, sd, "diff"), dd, "diff")
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), filepath.Join(dst, "diff")) {
			t.Fatalf("cross %v: different file in the destination: %v", cross, err)
		}
		a, _ := os.ReadFile(filepath.Join(src, "diff"))
		b, _ := os.ReadFile(filepath.Join(dst, "diff"))
		if string(a) != "ours" || string(b) != "theirs" {
			t.Errorf("cross %v: after a refused move: %q %q", cross, a, b)
		}
		noLeftovers(t, src)
		noLeftovers(t, dst)
	}
}

func TestCopyNoSpace(t *testing.T) {
	full := fsafetest.Tmpfs(t, "64k")
	src := t.TempDir()
	write(t, filepath.Join(src, "big"), strings.Repeat("x", 200<<10), 0o644)
	sd, dd := openDir(t, src), openDir(t, full)
	err := Move(sd, "big", ident(t, sd, "big"), dd, "big")
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("move onto a full filesystem: %v", err)
	}
	if !exists(filepath.Join(src, "big")) || exists(filepath.Join(full, "big")) {
		t.Fatal("a failed move changed something")
	}
	noLeftovers(t, full)
	noLeftovers(t, src)
}

func TestCopyRefusesNonRegular(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	unix.Mkfifo(filepath.Join(src, "fifo"), 0o644)
	sd, dd := openDir(t, src), openDir(t, dst)
	done := make(chan error, 1)
	go func() { done <- Copy(sd, "fifo", ident(t, sd, "fifo"), dd, "fifo") }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("copied a FIFO")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Copy blocked on a FIFO")
	}
}

func TestCanRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make the files of another user")
	}
	tmp := fsafetest.Dir(t, false)
	write(t, filepath.Join(tmp, "f"), "", 0o644)
	d := openDir(t, tmp)
	if err := CanRemove(d, "f"); err != nil {
		t.Fatalf("root on its own directory: %v", err)
	}
	if err := CanRemove(d, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing entry: %v", err)
	}
	// As nobody (a re-run of this test binary): not its directory.
	out := asNobody(t, "TestCanRemoveHelper", "PACTIDY_CANREMOVE_DIR="+tmp)
	if !strings.Contains(out, "refused: ") || !strings.Contains(out, "permission denied") {
		t.Fatalf("as nobody: %s", out)
	}
	// A sticky directory nobody may write: only its own entries.
	os.Chmod(tmp, fs.ModeSticky|0o777)
	write(t, filepath.Join(tmp, "theirs"), "", 0o644)
	out = asNobody(t, "TestCanRemoveHelper", "PACTIDY_CANREMOVE_DIR="+tmp)
	if !strings.Contains(out, "refused: ") || !strings.Contains(out, "sticky") {
		t.Fatalf("sticky, as nobody: %s", out)
	}
	os.Chown(filepath.Join(tmp, "f"), fsafetest.Nobody, fsafetest.Nobody)
	out = asNobody(t, "TestCanRemoveHelper", "PACTIDY_CANREMOVE_DIR="+tmp)
	if !strings.Contains(out, "allowed") {
		t.Fatalf("sticky, own file, as nobody: %s", out)
	}
}

// TestCanRemoveHelper runs as nobody for TestCanRemove.
func TestCanRemoveHelper(t *testing.T) {
	dir := os.Getenv("PACTIDY_CANREMOVE_DIR")
	if dir == "" {
		t.Skip("helper of TestCanRemove")
	}
	d := openDir(t, dir)
	if err := CanRemove(d, "f"); err != nil {
		os.Stdout.WriteString("refused: " + err.Error() + "\n")
	} else {
		os.Stdout.WriteString("allowed\n")
	}
}

func asNobody(t *testing.T, test string, env ...string) string {
	t.Helper()
	cmd := exec.Command(fsafetest.Exe(t), "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: fsafetest.Nobody, Gid: fsafetest.Nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s as nobody: %v\n%s", test, err, out)
	}
	return string(out)
}

// What a killed process leaves: an entry in a stage and a temporary file.
func TestUnstageAndRemoveTemps(t *testing.T) {
	tmp := t.TempDir()
	d := openDir(t, tmp)
	write(t, filepath.Join(tmp, "taken"), "new", 0o644)
	for _, n := range []string{"a", "taken"} {
		stage := filepath.Join(tmp, StagePrefix+n)
		os.Mkdir(stage, 0o700)
		write(t, filepath.Join(stage, n), "staged "+n, 0o644)
	}
	// Not ours to touch: another user's directory of that name.
	theirs := filepath.Join(tmp, StagePrefix+"theirs")
	os.Mkdir(theirs, 0o700)
	write(t, filepath.Join(theirs, "x"), "x", 0o644)
	if os.Geteuid() == 0 {
		fsafetest.Chown(t, theirs)
	}
	kept, err := Unstage(d)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(tmp, "a")); string(b) != "staged a" {
		t.Errorf("a not put back: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(tmp, "taken")); string(b) != "new" {
		t.Errorf("an entry was put back over another: %q", b)
	}
	if len(kept) != 1 || kept[0] != filepath.Join(tmp, StagePrefix+"taken", "taken") {
		t.Errorf("kept %q", kept)
	}
	if exists(filepath.Join(tmp, StagePrefix+"a")) {
		t.Error("the emptied stage stays")
	}
	if os.Geteuid() == 0 && !exists(filepath.Join(theirs, "x")) {
		t.Error("another user's directory was emptied")
	}

	write(t, filepath.Join(tmp, TempPrefix+"1"), "partial copy", 0o600)
	if _, err := RemoveTemps(d); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(tmp, TempPrefix+"1")) {
		t.Error("temporary file stays")
	}
}
