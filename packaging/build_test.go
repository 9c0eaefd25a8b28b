package packaging

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/testroot"
)

// srcinfo reads the values of key from the committed .SRCINFO.
func srcinfo(t *testing.T, key string) []string {
	t.Helper()
	b, err := os.ReadFile("../.SRCINFO")
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " = ")
		if ok && k == key {
			vals = append(vals, v)
		}
	}
	return vals
}

// TestReleaseChecksum holds the PKGBUILD's checksum to the release tarball:
// `make dist` of the tag v$pkgver, which is what the source URL serves.
func TestReleaseChecksum(t *testing.T) {
	ver := srcinfo(t, "pkgver")
	sums := srcinfo(t, "sha256sums")
	if len(ver) != 1 || len(sums) != 1 {
		t.Fatalf(".SRCINFO: want one pkgver and one sha256sums, got %q and %q", ver, sums)
	}
	if sums[0] == "SKIP" {
		t.Fatal("the release tarball's checksum is SKIP; run make dist and put its sha256 in the PKGBUILD")
	}
	tag := "v" + ver[0]
	if err := exec.Command("git", "rev-parse", "--verify", "--quiet", tag+"^{commit}").Run(); err != nil {
		// A clone made without tags (shallow, or --no-tags) cannot rebuild
		// the release tarball; a clone with the tag checks it.
		t.Skipf("the tag %s is not in this clone (git fetch --tags): the release tarball cannot be rebuilt here", tag)
	}
	tarball := filepath.Join(t.TempDir(), "dist.tar.gz")
	cmd := exec.Command("bash", "scripts/dist.sh", tag, tarball)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/dist.sh %s: %v\n%s", tag, err, out)
	}
	b, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != sums[0] {
		t.Errorf("sha256 of the %s tarball is %s, the PKGBUILD says %s", tag, got, sums[0])
	}
}

// pkgFile is one entry of a package's file list.
type pkgFile struct {
	mode        string
	owner, grp  string
	isDir, link bool
}

// TestBuildInstallRun builds the package from the working tree with the real
// makepkg as an unprivileged user, checks what it contains, installs it with
// pacman into a scratch root and runs the installed binary.
func TestBuildInstallRun(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("building the package needs root (makepkg runs as nobody, pacman -U installs into a scratch root); run make test as root")
	}
	for _, c := range []string{"makepkg", "pacman", "bsdtar", "git", "readelf", "runuser"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s is not installed (run scripts/install-deps.sh): %v", c, err)
		}
	}
	vers := srcinfo(t, "pkgver")
	if len(vers) != 1 {
		t.Fatalf(".SRCINFO has pkgver %q", vers)
	}
	ver := vers[0]
	// Not t.TempDir(): its parent is private, and nobody must reach this.
	work, err := os.MkdirTemp("", "pactidy-makepkg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	build := filepath.Join(work, "build")
	mustMkdir(t, build, 0o777)

	// The working tree (with uncommitted changes) as the release tarball.
	stash, err := exec.Command("git", "stash", "create").Output()
	if err != nil {
		t.Fatalf("git stash create: %v", err)
	}
	rev := strings.TrimSpace(string(stash))
	if rev == "" {
		rev = "HEAD"
	}
	src := filepath.Join(build, "pactidy-"+ver+".tar.gz")
	gitArchive := exec.Command("git", "archive", "--format=tar.gz", "--prefix=pactidy-"+ver+"/", "-o", src, rev)
	gitArchive.Dir = ".."
	if out, err := gitArchive.CombinedOutput(); err != nil {
		t.Fatalf("git archive: %v\n%s", err, out)
	}
	pkgbuild, err := os.ReadFile("../PKGBUILD")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(build, "PKGBUILD"), pkgbuild, 0o644)

	// Go modules come from a file:// proxy made of this machine's module
	// cache: the build needs no network and nobody cannot read /root.
	proxy := modProxy(t, work)
	gocache := filepath.Join(work, "gocache")
	mustMkdir(t, gocache, 0o777)

	// Arch's compiler and linker flags, so that the ELF checks below check
	// what an Arch build produces; on libalpm 13 the two defines that let
	// go-alpm build (they are harmless on newer headers).
	conf, err := os.ReadFile("/etc/makepkg.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf = append(conf, []byte(`
CFLAGS="-O2 -pipe -fno-plt -fexceptions -Wp,-D_FORTIFY_SOURCE=2 -Wformat -Werror=format-security -fstack-clash-protection -fcf-protection"
LDFLAGS="-Wl,-O1,--sort-common,--as-needed,-z,relro,-z,now"
OPTIONS=(strip docs !libtool !staticlibs emptydirs zipman purge !debug !lto)
`)...)
	if m, _ := exec.Command("pkg-config", "--modversion", "libalpm").Output(); strings.HasPrefix(string(m), "13.") {
		conf = append(conf, []byte(`CFLAGS+=" -D__alpm_list_t=_alpm_list_t -D__alpm_handle_t=_alpm_handle_t"`+"\n")...)
	}
	makepkgConf := filepath.Join(work, "makepkg.conf")
	writeFile(t, makepkgConf, conf, 0o644)

	goBin := goBinDir(t)
	makepkg := exec.Command("runuser", "-u", "nobody", "--", "makepkg",
		"--config", makepkgConf, "--skipchecksums", "--nodeps", "--noprogressbar", "--force")
	makepkg.Dir = build
	makepkg.Env = []string{
		"PATH=" + goBin + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + work,
		"GOPATH=" + filepath.Join(work, "gopath"),
		"GOMODCACHE=" + filepath.Join(build, "modcache"),
		"GOCACHE=" + gocache,
		"GOPROXY=file://" + proxy,
		"GOSUMDB=off",
		"GOTOOLCHAIN=local",
		"LANG=C",
	}
	out, err := makepkg.CombinedOutput()
	if err != nil {
		ls, _ := exec.Command("ls", "-la", build).CombinedOutput()
		t.Fatalf("makepkg as nobody in %s: %v\n%s\n%s", build, err, ls, tail(out, 60))
	}
	pkgs, _ := filepath.Glob(filepath.Join(build, "pactidy-"+ver+"-*.pkg.tar.*"))
	if len(pkgs) != 1 {
		t.Fatalf("makepkg made %q, want one package\n%s", pkgs, tail(out, 30))
	}
	pkgFilePath := pkgs[0]

	files := listPackage(t, pkgFilePath)
	want := map[string]string{
		"usr/bin/pactidy":                                  "-rwxr-xr-x",
		"etc/pactidy/pactidy.conf":                         "-rw-r--r--",
		"etc/pactidy/allowlist":                            "-rw-r--r--",
		"etc/pactidy/allowlist.d/":                         "drwxr-xr-x",
		"usr/share/libalpm/hooks/pactidy.hook":             "-rw-r--r--",
		"var/lib/pactidy/":                                 "drwx------",
		"usr/share/bash-completion/completions/pactidy":    "-rw-r--r--",
		"usr/share/zsh/site-functions/_pactidy":            "-rw-r--r--",
		"usr/share/fish/vendor_completions.d/pactidy.fish": "-rw-r--r--",
		"usr/share/man/man1/pactidy.1.gz":                  "-rw-r--r--",
		"usr/share/doc/pactidy/README.md":                  "-rw-r--r--",
		"usr/share/licenses/pactidy/LICENSE":               "-rw-r--r--",
	}
	units, _ := filepath.Glob("*.service")
	timers, _ := filepath.Glob("*.timer")
	if len(units) == 0 || len(timers) == 0 {
		t.Fatalf("no systemd units in packaging/: %q %q", units, timers)
	}
	for _, u := range append(units, timers...) {
		want["usr/lib/systemd/system/"+u] = "-rw-r--r--"
	}
	for p, mode := range want {
		f, ok := files[p]
		switch {
		case !ok:
			t.Errorf("package lacks %s", p)
		case f.mode != mode:
			t.Errorf("%s has mode %s, want %s", p, f.mode, mode)
		}
	}
	var man int
	for p, f := range files {
		if f.owner != "root" || f.grp != "root" {
			t.Errorf("%s is owned by %s:%s, want root:root", p, f.owner, f.grp)
		}
		if strings.HasPrefix(p, "usr/local/") {
			t.Errorf("%s: nothing may go to /usr/local", p)
		}
		if !f.isDir && !strings.HasPrefix(p, ".") && strings.Contains(f.mode[1:], "w") && strings.ContainsAny(f.mode[5:6]+f.mode[8:9], "w") {
			t.Errorf("%s is writable by group or others (%s)", p, f.mode)
		}
		if strings.HasPrefix(p, "usr/share/man/man1/") {
			man++
		}
	}
	if man < 5 {
		t.Errorf("only %d man pages in the package; want one per command", man)
	}
	backup := pkgInfo(t, pkgFilePath, "backup")
	sort.Strings(backup)
	if strings.Join(backup, " ") != "etc/pactidy/allowlist etc/pactidy/pactidy.conf" {
		t.Errorf(".PKGINFO backup = %q", backup)
	}

	// What namcap would flag that can be checked here: a PIE with full
	// RELRO and no RPATH.
	extract := filepath.Join(work, "extract")
	mustMkdir(t, extract, 0o755)
	if out, err := exec.Command("bsdtar", "-xf", pkgFilePath, "-C", extract, "usr/bin/pactidy").CombinedOutput(); err != nil {
		t.Fatalf("bsdtar -x: %v\n%s", err, out)
	}
	checkELF(t, filepath.Join(extract, "usr/bin/pactidy"))

	// Install it into a scratch root with the real pacman and run it.
	scratch := testroot.New(t)
	pac := exec.Command("pacman", "--config", scratch.Config, "--root", scratch.Dir, "--dbpath", scratch.DBPath,
		"--noconfirm", "--nodeps", "--nodeps", "-U", pkgFilePath)
	if out, err := pac.CombinedOutput(); err != nil {
		t.Fatalf("pacman -U: %v\n%s", err, out)
	}
	bin := scratch.Path("/usr/bin/pactidy")
	vout, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(vout), ver) {
		t.Errorf("installed pactidy version: %v: %s (want %s)", err, vout, ver)
	}
	// The scratch root itself is the fixture: pactidy is installed in it.
	rep := exec.Command(bin, "--config", scratch.Config, "--root", scratch.Dir, "--dbpath", scratch.DBPath,
		"report", "--json", "--only", "orphans,foreign,missing,pacfiles")
	rep.Env = append(os.Environ(), "PACTIDY_SYSCONFDIR="+scratch.Path("/etc"))
	jout, err := rep.Output()
	if err != nil {
		t.Fatalf("installed pactidy report --json: %v\n%s", err, jout)
	}
	var r struct {
		Installed    int               `json:"installed"`
		MissingFiles []json.RawMessage `json:"missing_files"`
		Orphans      []json.RawMessage `json:"orphans"`
	}
	if err := json.Unmarshal(jout, &r); err != nil {
		t.Fatalf("report --json: %v\n%s", err, jout)
	}
	if r.Installed != 1 || len(r.MissingFiles) != 0 || len(r.Orphans) != 0 {
		t.Errorf("report of the scratch root: installed %d, missing %d, orphans %d; want 1, 0, 0\n%s",
			r.Installed, len(r.MissingFiles), len(r.Orphans), jout)
	}
	// pacman itself agrees the package is complete on disk.
	if out, err := exec.Command("pacman", "--config", scratch.Config, "--root", scratch.Dir, "--dbpath", scratch.DBPath,
		"-Qkk", "pactidy").CombinedOutput(); err != nil {
		t.Errorf("pacman -Qkk pactidy: %v\n%s", err, out)
	}
}

// modProxy lays out, as a GOPROXY directory readable by nobody, the zips of
// the modules the build downloads and the go.mod files of the whole module
// graph (the go command reads those of modules it never builds).
func modProxy(t *testing.T, work string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download: %v", err)
	}
	cache := filepath.Join(strings.TrimSpace(goEnv(t, "GOMODCACHE")), "cache", "download")
	proxy := filepath.Join(work, "proxy")
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var m struct{ Zip, Error string }
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		if m.Error != "" {
			t.Fatalf("go mod download: %s", m.Error)
		}
		rel, err := filepath.Rel(cache, m.Zip)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("%s is not under %s", m.Zip, cache)
		}
		copyFile(t, m.Zip, filepath.Join(proxy, rel))
	}
	err = filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && (strings.HasSuffix(p, ".mod") || strings.HasSuffix(p, ".info")) {
			rel, _ := filepath.Rel(cache, p)
			copyFile(t, p, filepath.Join(proxy, rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return proxy
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return string(out)
}

// goBinDir is the directory of the go command the test runs with; makepkg's
// PATH gets it so that nobody builds with the same toolchain.
func goBinDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(strings.TrimSpace(goEnv(t, "GOROOT")), "bin")
}

var lsLine = regexp.MustCompile(`^([-dlcbps][-rwxsStT]{9})\S*\s+\d+\s+(\S+)\s+(\S+)\s+\d+\s+\S+\s+\S+\s+\S+\s+(.*)$`)

// listPackage lists the package with bsdtar -tv.
func listPackage(t *testing.T, file string) map[string]pkgFile {
	t.Helper()
	out, err := exec.Command("bsdtar", "-tvf", file).Output()
	if err != nil {
		t.Fatalf("bsdtar -tv %s: %v", file, err)
	}
	files := map[string]pkgFile{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := lsLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("cannot parse bsdtar line %q", l)
		}
		name := m[4]
		if strings.HasPrefix(m[1], "l") {
			name, _, _ = strings.Cut(name, " -> ")
		}
		files[name] = pkgFile{mode: m[1], owner: m[2], grp: m[3], isDir: m[1][0] == 'd', link: m[1][0] == 'l'}
	}
	return files
}

// pkgInfo returns the values of key in the package's .PKGINFO.
func pkgInfo(t *testing.T, file, key string) []string {
	t.Helper()
	out, err := exec.Command("bsdtar", "-xOf", file, ".PKGINFO").Output()
	if err != nil {
		t.Fatalf("read .PKGINFO: %v", err)
	}
	var vals []string
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, " = "); ok && k == key {
			vals = append(vals, v)
		}
	}
	return vals
}

// checkELF: position independent, full RELRO (GNU_RELRO and BIND_NOW), no
// RPATH or RUNPATH, linked against libalpm.
func checkELF(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_DYN {
		t.Errorf("%s is %v, want a position independent executable (ET_DYN)", path, f.Type)
	}
	relro := false
	for _, p := range f.Progs {
		relro = relro || p.Type == elf.PT_GNU_RELRO
	}
	if !relro {
		t.Errorf("%s has no GNU_RELRO segment", path)
	}
	out, err := exec.Command("readelf", "-d", path).Output()
	if err != nil {
		t.Fatalf("readelf -d: %v", err)
	}
	dyn := string(out)
	if !strings.Contains(dyn, "BIND_NOW") && !regexp.MustCompile(`FLAGS_1.*\bNOW\b`).MatchString(dyn) {
		t.Errorf("%s is not linked with -z now (partial RELRO):\n%s", path, dyn)
	}
	if strings.Contains(dyn, "(RPATH)") || strings.Contains(dyn, "(RUNPATH)") {
		t.Errorf("%s carries an RPATH:\n%s", path, dyn)
	}
	if !strings.Contains(dyn, "libalpm.so") {
		t.Errorf("%s is not linked against libalpm:\n%s", path, dyn)
	}
}

func mustMkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, b, mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("...\n%s", strings.Join(lines, "\n"))
}
