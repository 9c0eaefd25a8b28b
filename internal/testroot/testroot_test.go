package testroot

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// info parses pacman -Qi/-Qii output into one map per package; continuation
// lines are joined to their field with "\n".
func info(out string) []map[string]string {
	var pkgs []map[string]string
	var cur map[string]string
	var last string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "":
			cur = nil
		case len(line) > 16 && line[16] == ':' && line[0] != ' ':
			if cur == nil {
				cur = map[string]string{}
				pkgs = append(pkgs, cur)
			}
			last = strings.TrimSpace(line[:16])
			cur[last] = strings.TrimSpace(line[17:])
		case cur != nil:
			cur[last] = strings.TrimPrefix(cur[last]+"\n"+strings.TrimSpace(line), "\n")
		}
	}
	return pkgs
}

func lines(s string) []string {
	return strings.Fields(s)
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

var (
	libbar = Pkg{
		Name: "libbar", Version: "3.1-2",
		Provides: []string{"libbar.so=3-64"},
		Files:    map[string]string{"usr/lib/libbar.so.3": "\x7fELF"},
		Symlinks: map[string]string{"usr/lib/libbar.so": "libbar.so.3"},
	}
	baz = Pkg{
		Name: "baz", Version: "1.2-1",
		Files: map[string]string{"usr/share/baz/data.txt": "baz data\n"},
	}
	lonely = Pkg{
		Name: "lonely", Version: "0.1-1",
		Files: map[string]string{"usr/share/lonely/README": "nobody needs me\n"},
	}
	foo = Pkg{
		Name: "foo", Version: "1:2.0-1", Desc: "The foo tool",
		Depends:    []string{"libbar.so=3-64", "baz>=1.0"},
		OptDepends: []string{"qux: for qux support", "quux"},
		Provides:   []string{"foo-virtual=2.0"},
		Conflicts:  []string{"foo-git"},
		Groups:     []string{"grp"},
		Backup:     []string{"etc/foo.conf"},
		Files: map[string]string{
			"etc/foo.conf":         "answer = 42\n",
			"usr/bin/foo":          "#!/bin/sh\necho foo\n",
			"usr/share/foo/empty/": "",
		},
		Symlinks: map[string]string{"usr/bin/foo-link": "foo"},
		Modes:    map[string]fs.FileMode{"usr/bin/foo": 0o755},
	}
)

func TestInstall(t *testing.T) {
	r := New(t, WithHoldPkg("foo"), WithIgnorePkg("baz"), WithExtraConfig("CheckSpace"))
	r.InstallAsDeps(t, libbar, baz, lonely)
	r.Install(t, foo)

	if _, err := os.Stat(filepath.Join(r.PkgDir, "foo-1:2.0-1-any.pkg.tar.zst")); err != nil {
		t.Errorf("package file name with epoch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.DBPath, "local", "foo-1:2.0-1", "mtree")); err != nil {
		t.Errorf("local db entry: %v", err)
	}

	equal(t, "pacman -Q", strings.Split(strings.TrimSpace(r.Pacman(t, "-Q")), "\n"),
		[]string{"baz 1.2-1", "foo 1:2.0-1", "libbar 3.1-2", "lonely 0.1-1"})

	fooInfo := info(r.Pacman(t, "-Qii", "foo"))
	if len(fooInfo) != 1 {
		t.Fatalf("pacman -Qii foo: %d packages", len(fooInfo))
	}
	for field, want := range map[string]string{
		"Version":        "1:2.0-1",
		"Description":    "The foo tool",
		"Architecture":   "any",
		"Groups":         "grp",
		"Provides":       "foo-virtual=2.0",
		"Depends On":     "libbar.so=3-64  baz>=1.0",
		"Optional Deps":  "qux: for qux support\nquux",
		"Conflicts With": "foo-git",
		"Install Reason": "Explicitly installed",
		"Installed Size": "31.00 B",
		"Backup Files":   "UNMODIFIED\t" + r.Path("etc/foo.conf"),
	} {
		if got := fooInfo[0][field]; got != want {
			t.Errorf("pacman -Qii foo: %s = %q, want %q", field, got, want)
		}
	}
	libInfo := info(r.Pacman(t, "-Qi", "libbar"))
	if got := libInfo[0]["Required By"]; got != "foo" {
		t.Errorf("libbar Required By = %q, want foo (through libbar.so=3-64)", got)
	}
	if got := libInfo[0]["Install Reason"]; got != "Installed as a dependency for another package" {
		t.Errorf("libbar Install Reason = %q", got)
	}

	out, stderr, code := r.PacmanErr(t, "-Qdtq")
	if code != 0 || stderr != "" {
		t.Errorf("pacman -Qdtq: exit %d, stderr %q", code, stderr)
	}
	equal(t, "pacman -Qdtq", lines(out), []string{"lonely"})
	equal(t, "pacman -Qg grp", lines(r.Pacman(t, "-Qg", "grp")), []string{"grp", "foo"})

	var want []string
	for _, p := range []string{"etc/", "etc/foo.conf", "usr/", "usr/bin/", "usr/bin/foo", "usr/bin/foo-link",
		"usr/share/", "usr/share/foo/", "usr/share/foo/empty/"} {
		want = append(want, r.Dir+"/"+p)
	}
	equal(t, "pacman -Qlq foo", lines(r.Pacman(t, "-Qlq", "foo")), want)

	equal(t, "pacman -Qk", strings.Split(strings.TrimSpace(r.Pacman(t, "-Qk")), "\n"), []string{
		"baz: 4 total files, 0 missing files",
		"foo: 9 total files, 0 missing files",
		"libbar: 4 total files, 0 missing files",
		"lonely: 4 total files, 0 missing files",
	})
	// -Qkk compares against the packages' .MTREE: owner, mode, mtime, size,
	// checksums and link targets.
	out, stderr, code = r.PacmanErr(t, "-Qkk")
	if code != 0 || stderr != "" || strings.Count(out, ", 0 altered files") != 4 {
		t.Errorf("pacman -Qkk: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	// pacman 6.0.2 reports an edited backup file on stdout without counting
	// it as altered (exit 0); an edited plain file goes to stderr as a
	// warning, counts, and makes -Qkk exit 1. -Qk checks existence only.
	if err := os.WriteFile(r.Path("etc/foo.conf"), []byte("answer = 43\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = r.PacmanErr(t, "-Qkk", "foo")
	if code != 0 || stderr != "" || !strings.Contains(out, "backup file: foo: "+r.Path("etc/foo.conf")+" (MD5 checksum mismatch)\n") ||
		!strings.HasSuffix(out, "foo: 9 total files, 0 altered files\n") {
		t.Errorf("pacman -Qkk with an edited backup file: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if got := info(r.Pacman(t, "-Qii", "foo"))[0]["Backup Files"]; got != "MODIFIED\t"+r.Path("etc/foo.conf") {
		t.Errorf("pacman -Qii: Backup Files = %q", got)
	}
	if err := os.WriteFile(r.Path("usr/bin/foo"), []byte("#!/bin/sh\necho bar\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = r.PacmanErr(t, "-Qkk", "foo")
	if code != 1 || !strings.Contains(stderr, "warning: foo: "+r.Path("usr/bin/foo")+" (MD5 checksum mismatch)\n") ||
		!strings.HasSuffix(out, "foo: 9 total files, 1 altered file\n") {
		t.Errorf("pacman -Qkk with an edited file: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	r.Pacman(t, "-Qk", "foo")

	if b, err := os.ReadFile(r.Path("usr/share/baz/data.txt")); err != nil || string(b) != "baz data\n" {
		t.Errorf("installed file: %q, %v", b, err)
	}
	if target, err := os.Readlink(r.Path("usr/bin/foo-link")); err != nil || target != "foo" {
		t.Errorf("installed symlink: %q, %v", target, err)
	}
	if fi, err := os.Stat(r.Path("usr/share/foo/empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty directory: %v", err)
	}
	fi, err := os.Stat(r.Path("usr/bin/foo"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("usr/bin/foo mode: %v, %v", fi, err)
	} else if st := fi.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (st.Uid != 0 || st.Gid != 0) {
		t.Errorf("usr/bin/foo owned by %d:%d", st.Uid, st.Gid)
	}

	// The configuration is the root's own, as pacman-conf reads it.
	if _, err := exec.LookPath("pacman-conf"); err == nil {
		for opt, want := range map[string]string{
			"RootDir": r.Dir, "DBPath": r.DBPath + "/", "HookDir": r.HookDir + "/",
			"HoldPkg": "foo", "IgnorePkg": "baz", "CheckSpace": "CheckSpace",
		} {
			cmd := exec.Command("pacman-conf", "--config", r.Config, opt)
			got, err := cmd.Output()
			if err != nil || strings.TrimSpace(string(got)) != want {
				t.Errorf("pacman-conf %s = %q (%v), want %q", opt, got, err, want)
			}
		}
	}
	if log, err := os.ReadFile(r.LogFile); err != nil || !strings.Contains(string(log), "[ALPM] installed foo (1:2.0-1)") {
		t.Errorf("log file %s: %v\n%s", r.LogFile, err, log)
	}
}

func TestAddRepo(t *testing.T) {
	r := New(t)
	r.AddRepo(t, "extra", libbar, baz)
	r.AddRepo(t, "extra", lonely)
	r.AddRepo(t, "community", Pkg{Name: "qux", Version: "0.9-1"})

	for _, name := range []string{"extra", "community"} {
		if _, err := os.Stat(filepath.Join(r.DBPath, "sync", name+".db")); err != nil {
			t.Errorf("sync db: %v", err)
		}
	}
	equal(t, "pacman -Sl", strings.Split(strings.TrimSpace(r.Pacman(t, "-Sl")), "\n"), []string{
		"extra baz 1.2-1", "extra libbar 3.1-2", "extra lonely 0.1-1", "community qux 0.9-1",
	})

	// Installing from the repository goes through CacheDir.
	r.Pacman(t, "--noconfirm", "-S", "libbar", "baz")
	if _, err := os.Stat(filepath.Join(r.CacheDir, "libbar-3.1-2-any.pkg.tar.zst")); err != nil {
		t.Errorf("downloaded package: %v", err)
	}
	r.Install(t, foo)
	equal(t, "pacman -Qmq", lines(r.Pacman(t, "-Qmq")), []string{"foo"})
	equal(t, "pacman -Sl extra", strings.Split(strings.TrimSpace(r.Pacman(t, "-Sl", "extra")), "\n"), []string{
		"extra baz 1.2-1 [installed]", "extra libbar 3.1-2 [installed]", "extra lonely 0.1-1",
	})
}

func TestGenerate(t *testing.T) {
	spec := GenSpec{Packages: 50, FilesPerPkg: 12, Unowned: 40, CacheFiles: 60, DepFraction: 0.5, Seed: 7, WriteFiles: true}
	res, err := Generate(t.TempDir(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pacman"); err != nil {
		t.Skip("pacman is not installed")
	}
	r := Open(res)

	out, stderr, code := r.PacmanErr(t, "-Qk")
	if code != 0 || stderr != "" || strings.Count(out, ", 0 missing files\n") != spec.Packages {
		t.Errorf("pacman -Qk: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if n := len(lines(r.Pacman(t, "-Qq"))); n != spec.Packages {
		t.Errorf("pacman -Qq: %d packages, want %d", n, spec.Packages)
	}
	if n := len(lines(r.Pacman(t, "-Qeq"))); n != res.Explicit {
		t.Errorf("pacman -Qeq: %d packages, want %d", n, res.Explicit)
	}
	if out := r.Pacman(t, "-Dk"); !strings.Contains(out, "No database errors have been found!") {
		t.Errorf("pacman -Dk: %s", out)
	}

	out, stderr, code = r.PacmanErr(t, "-Qdtq")
	if code > 1 || stderr != "" {
		t.Errorf("pacman -Qdtq: exit %d, stderr %q", code, stderr)
	}
	equal(t, "pacman -Qdtq", lines(out), res.Unrequired)
	if len(res.Foreign) == 0 {
		t.Error("no foreign package generated")
	}
	equal(t, "pacman -Qmq", lines(r.Pacman(t, "-Qmq")), res.Foreign)

	// pacman's cycle-aware answer: what -Rsu would remove of all deps.
	cmd := r.Command("-Rsu", "--print", "--print-format", "%n", "-")
	cmd.Stdin = strings.NewReader(r.Pacman(t, "-Qqd"))
	rsu, err := cmd.Output()
	if err != nil {
		t.Fatalf("pacman -Rsu --print: %v", err)
	}
	got := lines(string(rsu))
	slices.Sort(got)
	equal(t, "pacman -Qqd | pacman -Rsu --print -", got, res.Unneeded)
	if len(res.Cycles) == 0 {
		t.Fatal("no cycle generated")
	}
	for _, name := range res.Cycles[0] {
		if !slices.Contains(res.Unneeded, name) || slices.Contains(res.Unrequired, name) {
			t.Errorf("unreachable cycle member %s: want it in Unneeded only", name)
		}
	}

	// Every path on disk is owned by a package or planted, apart from the
	// package databases and the cache.
	owned := map[string]bool{}
	for _, p := range lines(r.Pacman(t, "-Qlq")) {
		owned[strings.TrimPrefix(p, res.Root+"/")] = true
	}
	var unowned []string
	err = filepath.WalkDir(res.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == res.Root {
			return err
		}
		rel := strings.TrimPrefix(p, res.Root+"/")
		if d.IsDir() {
			rel += "/"
		}
		if rel == "var/lib/pacman/" || rel == "var/cache/pacman/pkg/" {
			return filepath.SkipDir
		}
		if !owned[rel] {
			unowned = append(unowned, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(unowned)
	equal(t, "unowned paths on disk", unowned, res.UnownedPaths)
	if res.UnownedEntries != spec.Unowned {
		t.Errorf("UnownedEntries = %d, want %d", res.UnownedEntries, spec.Unowned)
	}

	pkgs, _ := filepath.Glob(filepath.Join(res.CacheDir, "*.pkg.tar.zst"))
	sigs, _ := filepath.Glob(filepath.Join(res.CacheDir, "*.sig"))
	if len(pkgs) != spec.CacheFiles || res.CacheFiles != spec.CacheFiles || len(sigs) != res.CacheSigs {
		t.Errorf("cache: %d packages, %d sigs; result says %d, %d", len(pkgs), len(sigs), res.CacheFiles, res.CacheSigs)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	spec := GenSpec{Packages: 120, FilesPerPkg: 8, Unowned: 25, CacheFiles: 80, DepFraction: 0.6, Seed: 42}
	snapshot := func() (map[string]string, []string, GenResult) {
		res, err := Generate(t.TempDir(), spec)
		if err != nil {
			t.Fatal(err)
		}
		db := map[string]string{}
		local := filepath.Join(res.DBPath, "local")
		entries, _ := os.ReadDir(local)
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), "pacman-") {
				continue // its backup checksum covers pacman.conf, which names the directory
			}
			for _, f := range []string{"desc", "files"} {
				b, _ := os.ReadFile(filepath.Join(local, e.Name(), f))
				db[e.Name()+"/"+f] = string(b)
			}
		}
		cache, _ := os.ReadDir(res.CacheDir)
		var names []string
		for _, c := range cache {
			names = append(names, c.Name())
		}
		res.Root, res.DBPath, res.CacheDir, res.Config, res.RepoDir = "", "", "", "", ""
		return db, names, res
	}
	db1, cache1, res1 := snapshot()
	db2, cache2, res2 := snapshot()
	if len(db1) != 2*spec.Packages-2 {
		t.Errorf("local db has %d files", len(db1))
	}
	for k, v := range db1 {
		if db2[k] != v {
			t.Errorf("local db %s differs between runs", k)
		}
	}
	equal(t, "cache", cache1, cache2)
	equal(t, "unowned", res1.UnownedPaths, res2.UnownedPaths)
	equal(t, "foreign", res1.Foreign, res2.Foreign)
	if res1.OwnedFiles != res2.OwnedFiles || res1.Explicit != res2.Explicit {
		t.Errorf("results differ: %+v vs %+v", res1, res2)
	}
}

// TestVersionOlder checks the cache's version histories with the real
// vercmp.
func TestVersionOlder(t *testing.T) {
	if _, err := exec.LookPath("vercmp"); err != nil {
		t.Skip("vercmp is not installed")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 150 {
		v := randVersion(rng, i%10 == 0)
		o, ok := v.older(rng)
		if !ok {
			continue
		}
		out, err := exec.Command("vercmp", o.String(), v.String()).Output()
		if err != nil || strings.TrimSpace(string(out)) != "-1" {
			t.Errorf("vercmp %s %s = %q (%v), want -1", o, v, out, err)
		}
	}
}

func TestGenerateSmallSpecs(t *testing.T) {
	for _, spec := range []GenSpec{
		{Packages: 1},
		{Packages: 2, FilesPerPkg: 1, Unowned: 3, CacheFiles: 2},
		{Packages: 5, FilesPerPkg: 1, Unowned: 7, CacheFiles: 9, DepFraction: 1, WriteFiles: true},
		{Packages: 12, FilesPerPkg: 0, Unowned: 12, CacheFiles: 30, DepFraction: 0.3, Seed: 3, WriteFiles: true},
	} {
		t.Run(fmt.Sprintf("%d-%d", spec.Packages, spec.FilesPerPkg), func(t *testing.T) {
			res, err := Generate(t.TempDir(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if res.UnownedEntries != spec.Unowned || res.CacheFiles != spec.CacheFiles {
				t.Errorf("got %+v", res)
			}
			r := Open(res)
			if n := len(lines(r.Pacman(t, "-Qq"))); n != spec.Packages {
				t.Errorf("pacman -Qq: %d packages", n)
			}
			r.Pacman(t, "-Dk")
			if spec.WriteFiles {
				r.Pacman(t, "-Qk")
			}
		})
	}
	if _, err := Generate(t.TempDir(), GenSpec{}); err == nil {
		t.Error("Generate with no packages: no error")
	}
}

// BenchmarkGenerate measures the generator, not the disk: it writes to
// tmpfs when /dev/shm is there.
func BenchmarkGenerate(b *testing.B) {
	spec := GenSpec{Packages: 2000, FilesPerPkg: 150, Unowned: 500, CacheFiles: 3000, DepFraction: 0.6, Seed: 1, WriteFiles: true}
	for range b.N {
		dir, err := os.MkdirTemp("/dev/shm", "testroot-bench-")
		if err != nil {
			dir = b.TempDir()
		}
		if _, err := Generate(dir, spec); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
}
