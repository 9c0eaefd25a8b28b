package cache_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/testroot"
)

var old = time.Now().Add(-100 * 24 * time.Hour)

// pruneDir is a cache directory of real package files where keep 1 removes
// foo 1.0 and 2.0 (with 2.0's signature) and a stray signature.
func pruneDir(t *testing.T) (dir string, keep, remove []string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "pkg")
	for _, v := range []string{"1.0-1", "2.0-1", "3.0-1"} {
		testroot.Build(t, dir, testroot.Pkg{Name: "foo", Version: v, Files: map[string]string{"usr/share/foo/v": strings.Repeat(v, 1000)}})
	}
	for _, s := range []string{"foo-2.0-1-any.pkg.tar.zst.sig", "bar-1-1-any.pkg.tar.zst.sig"} {
		if err := os.WriteFile(filepath.Join(dir, s), []byte("sig"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if err := os.Chtimes(filepath.Join(dir, e.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return dir, []string{"foo-3.0-1-any.pkg.tar.zst"},
		[]string{"foo-2.0-1-any.pkg.tar.zst", "foo-2.0-1-any.pkg.tar.zst.sig", "foo-1.0-1-any.pkg.tar.zst", "bar-1-1-any.pkg.tar.zst.sig"}
}

func planDir(t *testing.T, dirs ...string) *cache.Plan {
	t.Helper()
	l, err := cache.Scan(dirs)
	if err != nil {
		t.Fatal(err)
	}
	o := cache.DefaultOptions()
	o.Keep = 1
	return cache.NewPlan(l, o)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func readAll(t *testing.T, dir string, names []string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		m[n] = b
	}
	return m
}

func TestApplyRemove(t *testing.T) {
	dir, keep, remove := pruneDir(t)
	p := planDir(t, dir)
	if p.Removals != len(remove) {
		t.Fatalf("plan removes %d files, want %d", p.Removals, len(remove))
	}
	res, err := cache.Apply(context.Background(), p, cache.Action{})
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("Apply: %v %v", err, res.Failed)
	}
	if res.Bytes != p.ReclaimBytes || len(res.Done) != len(remove) {
		t.Errorf("done %d files, %d bytes; plan %d files, %d bytes", len(res.Done), res.Bytes, p.Removals, p.ReclaimBytes)
	}
	for _, n := range remove {
		if exists(filepath.Join(dir, n)) {
			t.Errorf("%s still there", n)
		}
	}
	for _, n := range keep {
		if !exists(filepath.Join(dir, n)) {
			t.Errorf("%s was removed", n)
		}
	}
}

func testMove(t *testing.T, dir, dest string, remove []string) {
	t.Helper()
	want := readAll(t, dir, remove)
	p := planDir(t, dir)
	res, err := cache.Apply(context.Background(), p, cache.Action{MoveTo: dest})
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("Apply: %v %v", err, res.Failed)
	}
	for _, n := range remove {
		if exists(filepath.Join(dir, n)) {
			t.Errorf("%s still in the cache", n)
		}
		got, err := os.ReadFile(filepath.Join(dest, n))
		if err != nil || !bytes.Equal(got, want[n]) {
			t.Errorf("%s at the destination: %v (equal %v)", n, err, bytes.Equal(got, want[n]))
		}
		if fi, err := os.Stat(filepath.Join(dest, n)); err == nil && !fi.ModTime().Equal(old) && fi.ModTime().Unix() != old.Unix() {
			t.Errorf("%s: modification time %v, want %v", n, fi.ModTime(), old)
		}
	}
	ents, _ := os.ReadDir(dest)
	if len(ents) != len(remove) {
		t.Errorf("destination holds %d entries, want %d (leftover temporary files?)", len(ents), len(remove))
	}
}

func TestApplyMoveSameFilesystem(t *testing.T) {
	dir, _, remove := pruneDir(t)
	testMove(t, dir, t.TempDir(), remove)
}

// otherFS returns a directory on another filesystem than dir, or skips.
func otherFS(t *testing.T, dir string) string {
	t.Helper()
	var a syscall.Stat_t
	if err := syscall.Stat(dir, &a); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{os.Getenv("PACTIDY_TEST_OTHER_FS"), "/dev/shm", "/run/user/" + itoa(os.Getuid())} {
		if base == "" {
			continue
		}
		var b syscall.Stat_t
		if syscall.Stat(base, &b) != nil || b.Dev == a.Dev {
			continue
		}
		d, err := os.MkdirTemp(base, "pactidy-move-")
		if err != nil {
			continue
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	// root (CI) can make one.
	if os.Geteuid() == 0 {
		d := t.TempDir()
		if err := syscall.Mount("tmpfs", d, "tmpfs", 0, "size=16m"); err == nil {
			t.Cleanup(func() { syscall.Unmount(d, 0) })
			return d
		}
	}
	t.Skipf("no writable directory on another filesystem than %s (set PACTIDY_TEST_OTHER_FS)", dir)
	return ""
}

func itoa(n int) string {
	b := []byte{}
	for n >= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(append([]byte{byte('0' + n)}, b...))
}

func TestApplyMoveAcrossFilesystems(t *testing.T) {
	dir, _, remove := pruneDir(t)
	testMove(t, dir, otherFS(t, dir), remove)
}

// A full destination filesystem: the move fails with a clear message,
// nothing is lost and no temporary file stays behind.
func TestApplyMoveNoSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big-1-1-any.pkg.tar.zst")
	content := bytes.Repeat([]byte("x"), 256<<10)
	if err := os.WriteFile(big, content, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{big, filepath.Join(dir, "big-2-1-any.pkg.tar.zst")} {
		if err := os.WriteFile(n, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dest := t.TempDir()
	if err := syscall.Mount("tmpfs", dest, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dest, 0) })
	p := planDir(t, dir)
	res, err := cache.Apply(context.Background(), p, cache.Action{MoveTo: dest})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 {
		t.Fatalf("failed %v, want one failure", res.Failed)
	}
	msg := res.Failed[0].Error()
	for _, w := range []string{big, "no space left on device", "nothing was lost"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
	if got, err := os.ReadFile(big); err != nil || !bytes.Equal(got, content) {
		t.Errorf("source damaged: %v", err)
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Errorf("destination holds %d entries after the failure", len(ents))
	}
}

// Files that changed after planning are not touched; a symlink put in
// place of a package is not followed.
func TestApplyChangedSincePlanned(t *testing.T) {
	dir, _, _ := pruneDir(t)
	p := planDir(t, dir)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "foo-1.0-1-any.pkg.tar.zst")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	grown := filepath.Join(dir, "foo-2.0-1-any.pkg.tar.zst")
	if err := os.WriteFile(grown, []byte("different size"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := cache.Apply(context.Background(), p, cache.Action{})
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]error{}
	for _, f := range res.Failed {
		failed[f.Path] = f.Err
	}
	for _, n := range []string{link, grown} {
		if !errors.Is(failed[n], cache.ErrNotPlanned) {
			t.Errorf("%s: %v, want ErrNotPlanned", n, failed[n])
		}
		if !exists(n) {
			t.Errorf("%s removed", n)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Error("symlink target touched")
	}
}

// An interrupt stops between files: the package being handled keeps its
// signature company, the rest stays.
func TestApplyInterrupt(t *testing.T) {
	dir, _, _ := pruneDir(t)
	p := planDir(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	res, err := cache.Apply(ctx, p, cache.Action{Progress: func(f cache.File, err error) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply: %v, want context.Canceled", err)
	}
	if len(res.Done) != 2 || res.Done[1].Path != res.Done[0].Path+".sig" {
		t.Fatalf("done %v, want a package and its signature", res.Done)
	}
	for _, n := range []string{"foo-1.0-1-any.pkg.tar.zst", "bar-1-1-any.pkg.tar.zst.sig"} {
		if !exists(filepath.Join(dir, n)) {
			t.Errorf("%s removed after the interrupt", n)
		}
	}
}

func TestApplyDownloadDir(t *testing.T) {
	dir := t.TempDir()
	dl := filepath.Join(dir, "download-XyZ")
	if err := os.Mkdir(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dl, "foo-1-1-any.pkg.tar.zst.part"), make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{filepath.Join(dl, "foo-1-1-any.pkg.tar.zst.part"), dl} {
		if err := os.Chtimes(n, old, old); err != nil {
			t.Fatal(err)
		}
	}
	p := planDir(t, dir)
	if p.Removals != 1 || p.ReclaimBytes != 100 || !p.Files[0].IsDir {
		t.Fatalf("plan %+v", p.Files)
	}
	res, err := cache.Apply(context.Background(), p, cache.Action{})
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("Apply: %v %v", err, res.Failed)
	}
	if exists(dl) {
		t.Error("download directory still there")
	}
}

func TestApplyRefusesCacheAsDestination(t *testing.T) {
	dir, _, _ := pruneDir(t)
	p := planDir(t, dir)
	if _, err := cache.Apply(context.Background(), p, cache.Action{MoveTo: dir + "/."}); err == nil {
		t.Error("moving into the cache directory itself was accepted")
	}
	if _, err := cache.Apply(context.Background(), p, cache.Action{MoveTo: filepath.Join(dir, "foo-3.0-1-any.pkg.tar.zst")}); err == nil {
		t.Error("moving into a file was accepted")
	}
}

func TestCheckLock(t *testing.T) {
	db := t.TempDir()
	if err := cache.CheckLock(db); err != nil {
		t.Fatalf("no lock: %v", err)
	}
	if err := os.WriteFile(filepath.Join(db, "db.lck"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := cache.CheckLock(db)
	var le *cache.LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), filepath.Join(db, "db.lck")) {
		t.Errorf("CheckLock = %v", err)
	}
}

func TestApplyMoveLeavesDownloadDirs(t *testing.T) {
	dir := t.TempDir()
	dl := filepath.Join(dir, "download-XyZ")
	if err := os.Mkdir(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dl, old, old); err != nil {
		t.Fatal(err)
	}
	res, err := cache.Apply(context.Background(), planDir(t, dir), cache.Action{MoveTo: t.TempDir()})
	if err != nil || len(res.Failed) != 0 || len(res.Skipped) != 1 || len(res.Done) != 0 {
		t.Fatalf("Apply: %v, %+v", err, res)
	}
	if !exists(dl) {
		t.Error("download directory removed by a move")
	}
}

// A cache directory named twice, once through a symlink, is one directory:
// its files are not duplicates of themselves, and pruning keeps the kept.
func TestSameDirectoryTwiceThroughSymlink(t *testing.T) {
	dir, keep, remove := pruneDir(t)
	link := filepath.Join(t.TempDir(), "pkg-link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	p := planDir(t, dir, link)
	if len(p.Dirs) != 1 || p.Dirs[0] != dir {
		t.Fatalf("plan dirs = %q, want only %s", p.Dirs, dir)
	}
	if p.Removals != len(remove) {
		t.Fatalf("plan removes %d files, want %d: %+v", p.Removals, len(remove), p.Candidates())
	}
	if _, err := cache.Apply(context.Background(), p, cache.Action{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keep {
		if !exists(filepath.Join(dir, k)) {
			t.Errorf("%s was removed; it is the kept version", k)
		}
	}
}

// When a package cannot be removed or moved, its signature stays with it
// instead of being removed or moved alone.
func TestApplySignatureStaysWithFailedPackage(t *testing.T) {
	for _, move := range []bool{false, true} {
		t.Run(map[bool]string{false: "remove", true: "move"}[move], func(t *testing.T) {
			dir, _, _ := pruneDir(t)
			p := planDir(t, dir)
			pkgFile := filepath.Join(dir, "foo-2.0-1-any.pkg.tar.zst")
			// The package changes after planning, so Apply leaves it.
			f, err := os.OpenFile(pkgFile, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("x"))
			f.Close()
			a := cache.Action{}
			if move {
				a.MoveTo = t.TempDir()
			}
			res, err := cache.Apply(context.Background(), p, a)
			if err != nil {
				t.Fatal(err)
			}
			if !exists(pkgFile) || !exists(pkgFile+".sig") {
				t.Errorf("package kept: %v, its signature kept: %v; want both", exists(pkgFile), exists(pkgFile+".sig"))
			}
			if a.MoveTo != "" && exists(filepath.Join(a.MoveTo, "foo-2.0-1-any.pkg.tar.zst.sig")) {
				t.Errorf("signature moved without its package")
			}
			failed := map[string]bool{}
			for _, f := range res.Failed {
				failed[filepath.Base(f.Path)] = true
			}
			if !failed["foo-2.0-1-any.pkg.tar.zst"] || !failed["foo-2.0-1-any.pkg.tar.zst.sig"] || len(failed) != 2 {
				t.Errorf("failed = %v, want the package and its signature", res.Failed)
			}
			if exists(filepath.Join(dir, "foo-1.0-1-any.pkg.tar.zst")) {
				t.Errorf("the other candidates were not handled")
			}
		})
	}
}
