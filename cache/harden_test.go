package cache_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/fsafe/fsafetest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	fsafetest.Main()
	if dir := os.Getenv("PACTIDY_MOVE_AS_USER"); dir != "" {
		os.Exit(moveAsUser(dir))
	}
	code := m.Run()
	fsafetest.Cleanup()
	os.Exit(code)
}

// The attacks of issue 9, each as root pruning a cache that nobody can
// write while nobody swaps names in a loop. Each runs until raceTries
// tries or raceTime, whichever comes first.
const (
	raceTries = 3000
	raceTime  = 15 * time.Second
)

const (
	oldPkg = "foo-1.0-1-any.pkg.tar.zst" // planned for removal (keep 1)
	newPkg = "foo-2.0-1-any.pkg.tar.zst" // kept
)

func writeOld(t *testing.T, path, content string, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// rootFiles makes a directory of root's files (mode 0600) outside any
// cache, with the names a cache would have; intact reports any change.
func rootFiles(t *testing.T, names ...string) (dir string, intact func() bool) {
	dir = fsafetest.Dir(t, false)
	for _, n := range names {
		writeOld(t, filepath.Join(dir, n), "root's "+n, 0o600)
	}
	return dir, func() bool {
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil || string(b) != "root's "+n {
				t.Errorf("root's file %s outside the cache: %q %v", n, b, err)
				return false
			}
		}
		return true
	}
}

// placeAt renames a new entry made by mk into dir under name, or under alt
// when the swapper has put something at name. When both are taken it
// leaves things as they are.
func placeAt(t *testing.T, private, dir, name, alt string, mk func(p string)) {
	t.Helper()
	p := filepath.Join(private, "new")
	os.RemoveAll(p)
	mk(p)
	for _, n := range []string{name, alt} {
		err := unix.Renameat2(unix.AT_FDCWD, p, unix.AT_FDCWD, filepath.Join(dir, n), unix.RENAME_NOREPLACE)
		if err == nil {
			return
		}
		if err != unix.EEXIST {
			t.Fatal(err)
		}
	}
}

// ensure places an entry of type typ made by mk under name or alt unless
// one of them already holds one. A removal may take the attacker's
// symlink with it (a defect of its own, not the one under test); the
// attack then goes on with a new one.
func ensure(t *testing.T, private, dir, name, alt string, typ fs.FileMode, mk func(p string)) {
	t.Helper()
	for _, n := range []string{name, alt} {
		if fi, err := os.Lstat(filepath.Join(dir, n)); err == nil && fi.Mode().Type() == typ {
			return
		}
	}
	placeAt(t, private, dir, name, alt, mk)
}

// attack runs try under a swapper of a and b until the budget is spent;
// try says whether the planned operation was carried out, and intact is
// checked after each try.
func attack(t *testing.T, a, b string, try func() bool, intact func() bool) {
	sw := fsafetest.Swap(t, a, b)
	budget := fsafetest.Budget{Tries: raceTries, Duration: raceTime}
	done := 0
	for budget.Next() {
		if try() {
			done++
		}
		if !intact() {
			n, d := budget.Done()
			t.Fatalf("the attack succeeded at try %d (%v)", n, d)
		}
	}
	sw.Stop(t)
	n, d := budget.Done()
	t.Logf("%d tries in %v, %d carried out, the others refused; %d exchanges", n, d.Round(time.Millisecond), done, sw.Swaps)
	if done == 0 {
		t.Error("no try was carried out: the operation under attack never ran")
	}
}

func keepOne(t *testing.T, dirs ...string) (*cache.Plan, error) {
	l, err := cache.Scan(dirs)
	if err != nil {
		return nil, err
	}
	o := cache.DefaultOptions()
	o.Keep = 1
	return cache.NewPlan(l, o), nil
}

// An old download-* directory is swapped for a symlink to a directory of
// root's files between the plan and the removal.
func TestRaceDownloadDirSwappedForSymlink(t *testing.T) {
	victim, intact := rootFiles(t, "pkg-1-1-any.pkg.tar.zst.part", "passwd", "shadow")
	c := fsafetest.Dir(t, true)
	private := fsafetest.Dir(t, false)
	mkDownload := func(p string) {
		os.Mkdir(p, 0o755)
		for _, n := range []string{"pkg-1-1-any.pkg.tar.zst.part", "passwd"} {
			writeOld(t, filepath.Join(p, n), "partial", 0o644)
		}
		fsafetest.Chown(t, p, filepath.Join(p, "passwd"), filepath.Join(p, "pkg-1-1-any.pkg.tar.zst.part"))
		os.Chtimes(p, old, old)
	}
	mkLink := func(p string) {
		os.Symlink(victim, p)
		fsafetest.Chown(t, p)
	}
	const dl = "download-AbCd"
	attack(t, filepath.Join(c, dl), filepath.Join(c, "link"), func() bool {
		ensure(t, private, c, dl, "link", fs.ModeDir, mkDownload)
		ensure(t, private, c, dl, "link", fs.ModeSymlink, mkLink)
		p, err := keepOne(t, c)
		if err != nil {
			return false
		}
		res, err := cache.Apply(context.Background(), p, cache.Action{})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Done) > 0
	}, intact)
}

// The cache directory itself is swapped for a symlink to a directory of
// root's files of the same names.
func TestRaceCacheDirSwappedForSymlink(t *testing.T) {
	victim, intact := rootFiles(t, oldPkg, newPkg, oldPkg+".sig")
	parent := fsafetest.Dir(t, true)
	c := filepath.Join(parent, "pkg")
	fsafetest.MkdirAs(t, c)
	writeOld(t, filepath.Join(c, newPkg), "new", 0o644)
	if err := os.Symlink(victim, filepath.Join(parent, "link")); err != nil {
		t.Fatal(err)
	}
	fsafetest.Chown(t, filepath.Join(parent, "link"))
	// The real cache directory, whatever its name at the moment.
	held, err := os.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	real := "/proc/self/fd/" + itoa(int(held.Fd()))
	attack(t, c, filepath.Join(parent, "link"), func() bool {
		if !exists(filepath.Join(real, oldPkg)) {
			writeOld(t, filepath.Join(real, oldPkg), "old", 0o644)
			writeOld(t, filepath.Join(real, oldPkg+".sig"), "sig", 0o644)
		}
		p, err := keepOne(t, c)
		if err != nil {
			return false
		}
		res, err := cache.Apply(context.Background(), p, cache.Action{})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Done) > 0
	}, intact)
}

// A planned package is swapped for a symlink to a mode 0600 root file
// while it is moved to another filesystem: the secret must never be
// copied out.
func TestRaceMoveAcrossFilesystemsLeaksNothing(t *testing.T) {
	// The secret has the size of the package, so that no size check
	// stops the copy by chance.
	const pkgContent, secret = "nobody's package", "root's secret!!!"
	victim := fsafetest.Dir(t, false)
	writeOld(t, filepath.Join(victim, "secret"), secret, 0o600)
	c := fsafetest.Dir(t, true)
	private := fsafetest.Dir(t, false)
	dest := fsafetest.Tmpfs(t, "8m")
	writeOld(t, filepath.Join(c, newPkg), "new", 0o644)
	fsafetest.Chown(t, filepath.Join(c, newPkg))
	intact := func() bool {
		if b, err := os.ReadFile(filepath.Join(victim, "secret")); err != nil || string(b) != secret {
			t.Errorf("root's secret: %q %v", b, err)
			return false
		}
		ents, err := os.ReadDir(dest)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := filepath.Join(dest, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "secret") {
				fi, _ := os.Lstat(p)
				t.Errorf("root's secret copied to %s (mode %v)", p, fi.Mode())
				return false
			}
			os.Remove(p)
		}
		return true
	}
	attack(t, filepath.Join(c, oldPkg), filepath.Join(c, "link"), func() bool {
		ensure(t, private, c, oldPkg, "link", 0, func(p string) {
			writeOld(t, p, pkgContent, 0o644)
			fsafetest.Chown(t, p)
		})
		ensure(t, private, c, oldPkg, "link", fs.ModeSymlink, func(p string) {
			os.Symlink(filepath.Join(victim, "secret"), p)
			fsafetest.Chown(t, p)
		})
		p, err := keepOne(t, c)
		if err != nil {
			return false
		}
		res, err := cache.Apply(context.Background(), p, cache.Action{MoveTo: dest})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Done) > 0
	}, intact)
}

// pairCache is a cache where keep 1 moves the package oldPkg with its
// signature; the contents are given.
func pairCache(t *testing.T, pkg, sig string) string {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, oldPkg), pkg, 0o644)
	writeOld(t, filepath.Join(dir, oldPkg+".sig"), sig, 0o644)
	writeOld(t, filepath.Join(dir, newPkg), "new", 0o644)
	return dir
}

func applyKeepOne(t *testing.T, dir string, a cache.Action) *cache.Result {
	t.Helper()
	p, err := keepOne(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cache.Apply(context.Background(), p, a)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

func content(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func noTemporaries(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temporary entry left in %s: %s", d, e.Name())
			}
		}
	}
}

// A move killed between the link into the destination and the unlink of
// the original left the file in both places: the next move finishes it.
// A different file of that name in the destination keeps both and says so.
func TestApplyMoveFileAlreadyInDestination(t *testing.T) {
	for _, cross := range []bool{false, true} {
		name := "same filesystem"
		if cross {
			name = "across filesystems"
		}
		t.Run(name, func(t *testing.T) {
			dir := pairCache(t, "package", "signature")
			dest := t.TempDir()
			if cross {
				dest = otherFS(t, dir)
			}
			// Identical: left by an interrupted move.
			writeOld(t, filepath.Join(dest, oldPkg), "package", 0o644)
			res := applyKeepOne(t, dir, cache.Action{MoveTo: dest})
			if len(res.Failed) > 0 || len(res.Done) != 2 {
				t.Fatalf("identical copy in the destination: done %v, failed %v", res.Done, res.Failed)
			}
			if exists(filepath.Join(dir, oldPkg)) || content(t, filepath.Join(dest, oldPkg)) != "package" ||
				content(t, filepath.Join(dest, oldPkg+".sig")) != "signature" {
				t.Error("the interrupted move was not finished")
			}

			// Different: both kept, with a message naming the other file.
			dir = pairCache(t, "package", "signature")
			dest = t.TempDir()
			if cross {
				dest = otherFS(t, dir)
			}
			writeOld(t, filepath.Join(dest, oldPkg), "another package", 0o644)
			res = applyKeepOne(t, dir, cache.Action{MoveTo: dest})
			if len(res.Done) != 0 || len(res.Failed) != 2 {
				t.Fatalf("different file in the destination: done %v, failed %v", res.Done, res.Failed)
			}
			msg := res.Failed[0].Error()
			for _, w := range []string{filepath.Join(dir, oldPkg), filepath.Join(dest, oldPkg), "both kept"} {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
			if content(t, filepath.Join(dir, oldPkg)) != "package" || content(t, filepath.Join(dest, oldPkg)) != "another package" ||
				!exists(filepath.Join(dir, oldPkg+".sig")) || exists(filepath.Join(dest, oldPkg+".sig")) {
				t.Error("a file was lost or split from its signature")
			}
			noTemporaries(t, dir, dest)
		})
	}
}

// The destination fills up in the middle of a pair: the package and its
// signature stay together, in the cache.
func TestApplyMoveFullDiskKeepsPair(t *testing.T) {
	// The package fits in the 64 KiB tmpfs, the two together do not.
	dir := pairCache(t, strings.Repeat("p", 40<<10), strings.Repeat("s", 40<<10))
	dest := fsafetest.Tmpfs(t, "64k")
	res := applyKeepOne(t, dir, cache.Action{MoveTo: dest})
	if len(res.Done) != 0 || len(res.Failed) != 2 {
		t.Fatalf("done %v, failed %v", res.Done, res.Failed)
	}
	if !strings.Contains(res.Failed[0].Error(), "no space left on device") {
		t.Errorf("message %q", res.Failed[0].Error())
	}
	if !exists(filepath.Join(dir, oldPkg)) || !exists(filepath.Join(dir, oldPkg+".sig")) {
		t.Error("the package and its signature were split")
	}
	noTemporaries(t, dir, dest)
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Errorf("the destination holds %d entries", len(ents))
	}
}

// When the signature cannot follow its package for another reason, the
// package moves back.
func TestApplyMoveSignatureFailsPackageMovesBack(t *testing.T) {
	for _, cross := range []bool{false, true} {
		dir := pairCache(t, "package", "signature")
		dest := t.TempDir()
		if cross {
			dest = otherFS(t, dir)
		}
		writeOld(t, filepath.Join(dest, oldPkg+".sig"), "another signature", 0o644)
		res := applyKeepOne(t, dir, cache.Action{MoveTo: dest})
		if len(res.Done) != 0 || len(res.Failed) != 2 {
			t.Fatalf("cross %v: done %v, failed %v", cross, res.Done, res.Failed)
		}
		if content(t, filepath.Join(dir, oldPkg)) != "package" || exists(filepath.Join(dest, oldPkg)) {
			t.Errorf("cross %v: the package did not go back to its signature", cross)
		}
		if !strings.Contains(res.Failed[0].Error(), "moved back") {
			t.Errorf("cross %v: message %q", cross, res.Failed[0].Error())
		}
		noTemporaries(t, dir, dest)
	}
}

// A user who cannot remove the originals is refused before anything is
// copied.
func TestApplyMoveRefusedBeforeCopyWhenOriginalsStay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a cache the user cannot change")
	}
	base := fsafetest.Dir(t, false)
	dir := filepath.Join(base, "pkg")
	os.Mkdir(dir, 0o755)
	for i, v := range []string{"1.0", "1.1", "1.2", "2.0"} {
		writeOld(t, filepath.Join(dir, "foo-"+v+"-1-any.pkg.tar.zst"), strings.Repeat("x", 100+i), 0o644)
	}
	// Across filesystems, where a move copies first.
	dest := filepath.Join(fsafetest.Tmpfs(t, "1m"), "dest")
	fsafetest.MkdirAs(t, dest)
	cmd := exec.Command(fsafetest.Exe(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), "PACTIDY_MOVE_AS_USER="+dir+"\n"+dest)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: fsafetest.Nobody, Gid: fsafetest.Nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "refused: ") || !strings.Contains(string(out), "permission denied") {
		t.Errorf("as nobody: %s", out)
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Errorf("%d files copied before the refusal", len(ents))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 4 {
		t.Errorf("the cache holds %d files, want 4", len(ents))
	}
}

// moveAsUser is the nobody side of TestApplyMoveRefusedBeforeCopyWhenOriginalsStay.
func moveAsUser(spec string) int {
	dir, dest, _ := strings.Cut(spec, "\n")
	if os.Geteuid() == 0 {
		os.Stdout.WriteString("still root\n")
		return 1
	}
	l, err := cache.Scan([]string{dir})
	if err != nil {
		os.Stdout.WriteString(err.Error() + "\n")
		return 1
	}
	o := cache.DefaultOptions()
	o.Keep = 1
	res, err := cache.Apply(context.Background(), cache.NewPlan(l, o), cache.Action{MoveTo: dest})
	switch {
	case err != nil && errors.Is(err, fs.ErrPermission):
		os.Stdout.WriteString("refused: " + err.Error() + "\n")
	case err != nil:
		os.Stdout.WriteString("error: " + err.Error() + "\n")
	default:
		os.Stdout.WriteString("done " + itoa(len(res.Done)) + ", failed " + itoa(len(res.Failed)) + "\n")
		for _, f := range res.Failed {
			os.Stdout.WriteString(f.Error() + "\n")
		}
	}
	return 0
}
