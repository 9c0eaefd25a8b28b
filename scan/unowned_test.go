package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
)

// fixture is a pacman-built root with planted unowned paths.
type fixture struct {
	r     *testroot.Root
	db    *pkg.DB
	allow *allowlist.List
	qlq   []string // pacman -Qlq
}

const testAllowlist = `# kept by the user
path /opt/mixed/keep
path /srv/**/*.keep
path-if-installed base /etc/base-generated
path-if-installed absent /etc/absent-generated
`

func newFixture(t *testing.T) *fixture {
	t.Helper()
	r := testroot.New(t)
	r.Install(t,
		testroot.Pkg{
			Name: "base", Version: "1.0-1",
			Backup: []string{"etc/foo.conf"},
			Files: map[string]string{
				"etc/foo.conf":                        "a=1\n",
				"usr/bin/foo":                         "#!/bin/sh\n",
				"usr/share/foo/a":                     "aaaa",
				"usr/share/foo/locked/inside":         "x",
				"usr/share/empty/":                    "",
				"usr/lib/python3/site/mod.py":         "pass\n",
				"usr/share/icons/hicolor/index.theme": "[Icon Theme]\n",
				"etc/ssh/sshd_config":                 "\n",
				"etc/systemd/system/":                 "",
				"srv/":                                "",
			},
			Symlinks: map[string]string{"usr/bin/foolink": "foo"},
		},
		testroot.Pkg{
			Name: "linux", Version: "6.1-1",
			Files: map[string]string{
				"usr/lib/modules/6.1-arch1/vmlinuz":     "kernel",
				"usr/lib/modules/6.1-arch1/pkgbase":     "linux\n",
				"usr/lib/modules/6.1-arch1/kernel/x.ko": "ko",
				"boot/":                                 "",
			},
		},
	)
	plant := func(rel, content string) {
		p := r.Path(rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(rel, target string) {
		p := r.Path(rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	// Plain leftovers.
	plant("etc/stray.conf", "stray")
	plant("etc/foo.conf.pacnew", "a=2\n")
	plant("usr/bin/extra", "12345")
	plant("opt/app/a", "aa")
	plant("opt/app/b/c", "ccc")
	plant("opt/app/d/", "")
	plant("srv/emptydir/", "")
	// Symlinks: to owned and unowned targets, dangling, loops.
	link("usr/bin/link-owned", "foo")
	link("usr/bin/link-unowned", "/opt/app/a")
	link("usr/bin/dangling", "nowhere")
	link("opt/loop1", "loop2")
	link("opt/loop2", "loop1")
	link("usr/share/foo/self", ".")
	// Names that are hard to print.
	plant("usr/share/foo/new\nline", "n")
	plant("usr/share/foo/bad\xffname", "b")
	plant("opt/we\x01ird/x", "w")
	// Rule-hidden.
	plant("usr/lib/modules/6.1-arch1/modules.dep", "dep")
	plant("usr/lib/modules/6.1-arch1/updates/dkms/y.ko", "ko")
	plant("usr/lib/python3/site/__pycache__/mod.cpython-311.pyc", "pyc")
	plant("usr/lib/python3/site/__pycache__/gone.cpython-311.pyc", "stale") // no gone.py: reported
	plant("usr/share/icons/hicolor/icon-theme.cache", "cache")
	plant("etc/ld.so.cache", "ld")
	plant("etc/machine-id", "id")
	plant("etc/ssh/ssh_host_ed25519_key", "key")
	plant("etc/ssh/ssh_host_ed25519_key.pub", "pub")
	plant("etc/passwd-", "bak")
	plant("etc/ssl/certs/ca.pem", "pem")
	link("etc/systemd/system/multi-user.target.wants/foo.service", "/usr/lib/systemd/system/foo.service")
	plant("boot/initramfs-linux.img", "img")
	plant("boot/initramfs-linux-fallback.img", "img")
	plant("boot/initramfs-linux-removed.img", "img") // not an installed kernel
	plant("usr/lib/modules/5.0-old/modules.dep", "old kernel tree")
	// Allowlist.
	plant("opt/mixed/keep/x", "x")
	plant("opt/mixed/drop", "d")
	plant("srv/data/a.keep", "k")
	plant("srv/data/b", "b")
	plant("etc/base-generated", "g")
	plant("etc/absent-generated", "g")
	// Out of scope.
	plant("home/user/file", "h")
	plant("tmp/x", "t")
	plant("var/tmp/x", "t")
	plant("root/.bashrc", "r")
	plant("lost+found/x", "l")
	// Other file types.
	if err := syscall.Mkfifo(r.Path("opt/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	es, err := allowlist.Parse("test-allowlist", strings.NewReader(testAllowlist))
	if err != nil {
		t.Fatal(err)
	}
	allow, err := allowlist.New(es)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{r: r, db: loadDB(t, r.Config, r.Dir, r.DBPath), allow: allow, qlq: strings.Split(strings.TrimSuffix(r.Pacman(t, "-Qlq"), "\n"), "\n")}
}

func loadDB(t testing.TB, config, root, dbpath string) *pkg.DB {
	t.Helper()
	_, db := testdb.Load(t, config, conf.Overrides{Root: root, DBPath: dbpath})
	return db
}

// oracle computes the expected findings naively: filepath.WalkDir over the
// root minus the set from pacman -Qlq, then rules and allowlist per path,
// then collapse of fully reportable directories.
func oracle(t testing.TB, root string, db *pkg.DB, qlq []string, allow *allowlist.List, excludes []string) ([]UnownedEntry, []string) {
	var rels []string
	for _, l := range qlq {
		// pacman prints paths with the root in front.
		rels = append(rels, strings.TrimPrefix(strings.TrimPrefix(l, root), "/"))
	}
	owned := OwnedSetOf(rels)
	excl := map[string]bool{}
	for _, e := range excludes {
		excl[strings.Trim(e, "/")] = true
	}
	type info struct {
		dir, reportable bool
		typ             string
		size            int64
		kids            []string
	}
	nodes := map[string]*info{"": {dir: true}}
	var errs []string
	installed := func(n string) bool { return db.Get(n) != nil }
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		if err != nil {
			sp := "/" + rel
			if d != nil && d.IsDir() && rel != "" {
				sp += "/"
			}
			errs = append(errs, sp)
			return nil
		}
		if rel == "" {
			return nil
		}
		parent := filepath.Dir(rel)
		if parent == "." {
			parent = ""
		}
		nodes[parent].kids = append(nodes[parent].kids, rel)
		fi, err := d.Info()
		if err != nil {
			t.Fatal(err)
		}
		in := &info{dir: d.IsDir(), typ: modeName(fi.Mode())}
		nodes[rel] = in
		if !in.dir {
			in.size = fi.Size()
		}
		if in.dir && (excl[rel] || rel == "lost+found") {
			return filepath.SkipDir
		}
		if owned.Has(rel) {
			return nil
		}
		sp := "/" + rel
		if in.dir {
			sp += "/"
		}
		rule, err := MatchRule(db, owned, nil, rel, in.typ)
		if err != nil {
			t.Fatal(err)
		}
		if allow.KeepsPath(sp, installed) || rule != "" {
			if in.dir {
				return filepath.SkipDir
			}
			return nil
		}
		in.reportable = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	full := map[string]bool{}
	var sum func(rel string) (bool, int64, int)
	sum = func(rel string) (bool, int64, int) {
		in := nodes[rel]
		ok := in.reportable
		size, count := in.size, 0
		for _, k := range in.kids {
			kok, ks, kc := sum(k)
			ok = ok && kok
			size += ks
			count += kc + 1
		}
		full[rel] = ok
		return ok, size, count
	}
	sum("")
	var out []UnownedEntry
	for rel, in := range nodes {
		if rel == "" || !full[rel] {
			continue
		}
		parent := filepath.Dir(rel)
		if parent == "." {
			parent = ""
		}
		if full[parent] {
			continue
		}
		_, size, count := sum(rel)
		e := UnownedEntry{Path: "/" + rel, Type: in.typ, Size: size, Entries: count}
		if in.dir {
			e.Path += "/"
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	sort.Strings(errs)
	return out, errs
}

func modeName(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return TypeFile
	case m.IsDir():
		return TypeDir
	case m&fs.ModeSymlink != 0:
		return TypeSymlink
	}
	return TypeOther
}

func entriesString(es []UnownedEntry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%q %s size=%d entries=%d", e.Path, e.Type, e.Size, e.Entries)
		if e.HiddenBy != "" {
			fmt.Fprintf(&b, " hidden-by=%s", e.HiddenBy)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func errPaths(errs []pkg.EntryError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Path)
	}
	sort.Strings(out)
	return out
}

func scanFixture(t testing.TB, root string, db *pkg.DB, allow *allowlist.List, mod func(*UnownedOptions)) *UnownedResult {
	t.Helper()
	o := UnownedOptions{Root: root, Excludes: DefaultExcludes, Allow: allow, Workers: 4}
	if mod != nil {
		mod(&o)
	}
	res, err := Unowned(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestUnownedMatchesOracle(t *testing.T) {
	f := newFixture(t)
	res := scanFixture(t, f.r.Dir, f.db, f.allow, nil)
	want, wantErrs := oracle(t, f.r.Dir, f.db, f.qlq, f.allow, DefaultExcludes)
	if got, w := entriesString(res.Entries), entriesString(want); got != w {
		t.Errorf("scan differs from the oracle\n got:\n%s\nwant:\n%s", got, w)
	}
	if got := errPaths(res.Errors); fmt.Sprint(got) != fmt.Sprint(wantErrs) {
		t.Errorf("errors %v, want %v", got, wantErrs)
	}

	// Spot checks, so that the oracle and the scan cannot agree on nonsense.
	byPath := map[string]UnownedEntry{}
	for _, e := range res.Entries {
		byPath[e.Path] = e
	}
	mustHave := map[string]string{
		"/etc/stray.conf":                   TypeFile,
		"/usr/bin/link-unowned":             TypeSymlink,
		"/usr/bin/dangling":                 TypeSymlink,
		"/usr/share/foo/self":               TypeSymlink,
		"/usr/share/foo/new\nline":          TypeFile,
		"/usr/share/foo/bad\xffname":        TypeFile,
		"/opt/mixed/drop":                   TypeFile,
		"/srv/data/b":                       TypeFile,
		"/srv/emptydir/":                    TypeDir,
		"/usr/lib/modules/5.0-old/":         TypeDir,
		"/boot/initramfs-linux-removed.img": TypeFile,
		"/usr/lib/python3/site/__pycache__/gone.cpython-311.pyc": TypeFile,
		"/etc/absent-generated":                                  TypeFile,
		"/opt/fifo":                                              TypeOther,
	}
	for p, typ := range mustHave {
		if e, ok := byPath[p]; !ok || e.Type != typ {
			t.Errorf("%q: got %+v, want type %s", p, e, typ)
		}
	}
	for _, p := range []string{"/opt/", "/opt/mixed/", "/opt/mixed/keep/", "/opt/mixed/keep/x", "/opt/app/a",
		"/etc/ld.so.cache", "/etc/machine-id", "/etc/passwd-", "/boot/initramfs-linux.img", "/etc/base-generated",
		"/usr/lib/modules/6.1-arch1/modules.dep", "/etc/foo.conf.pacnew", "/home/", "/tmp/", "/lost+found/", "/srv/data/a.keep", "/usr/share/foo/self/"} {
		if _, ok := byPath[p]; ok {
			t.Errorf("%q reported", p)
		}
	}
	if e := byPath["/opt/app/"]; e.Type != TypeDir || e.Entries != 4 || e.Size != 5 {
		t.Errorf("/opt/app/ = %+v, want a dir of 4 entries, 5 bytes", e)
	}
}

func TestUnownedShowHiddenAndRules(t *testing.T) {
	f := newFixture(t)
	res := scanFixture(t, f.r.Dir, f.db, f.allow, func(o *UnownedOptions) { o.ShowHidden = true })
	hidden := map[string]string{}
	for _, e := range res.Entries {
		if e.HiddenBy != "" {
			hidden[e.Path] = e.HiddenBy
		}
	}
	want := map[string]string{
		"/usr/lib/modules/6.1-arch1/modules.dep":                "kernel-modules",
		"/usr/lib/modules/6.1-arch1/updates/":                   "kernel-modules",
		"/usr/lib/python3/site/__pycache__/mod.cpython-311.pyc": "pycache",
		"/usr/share/icons/hicolor/icon-theme.cache":             "icon-cache",
		"/etc/ld.so.cache":                                      "ld-so-cache",
		"/etc/machine-id":                                       "machine-id",
		"/etc/ssh/ssh_host_ed25519_key":                         "ssh-host-keys",
		"/etc/ssh/ssh_host_ed25519_key.pub":                     "ssh-host-keys",
		"/etc/passwd-":                                          "shadow-backups",
		"/etc/ssl/":                                             "",
		"/etc/systemd/system/multi-user.target.wants/":          "systemd-enablement",
		"/etc/foo.conf.pacnew":                                  "pacfiles",
		"/boot/initramfs-linux.img":                             "initramfs",
		"/boot/initramfs-linux-fallback.img":                    "initramfs",
		"/etc/pacman.d/gnupg/":                                  "pacman-keyring",
	}
	for p, rule := range want {
		if rule == "" {
			continue
		}
		if hidden[p] != rule {
			t.Errorf("%q hidden by %q, want %q", p, hidden[p], rule)
		}
	}
	if hidden["/etc/ssl/certs/"] != "ca-certificates" && hidden["/etc/ssl/"] != "ca-certificates" {
		t.Errorf("/etc/ssl/certs not hidden by ca-certificates: %v", hidden)
	}

	// Switching a rule off reports what it hid; the oracle agrees.
	res = scanFixture(t, f.r.Dir, f.db, f.allow, func(o *UnownedOptions) { o.DisabledRules = []string{"all"} })
	found := false
	for _, e := range res.Entries {
		found = found || e.Path == "/etc/machine-id"
	}
	if !found {
		t.Errorf("with all rules off /etc/machine-id is not reported:\n%s", entriesString(res.Entries))
	}
	if _, err := Unowned(context.Background(), f.db, UnownedOptions{Root: f.r.Dir, DisabledRules: []string{"nope"}}); err == nil {
		t.Error("unknown rule accepted")
	}
}

// TestUnownedExcludes checks configurable scope: a glob exclude and
// dropping the defaults.
func TestUnownedExcludes(t *testing.T) {
	f := newFixture(t)
	res := scanFixture(t, f.r.Dir, f.db, f.allow, func(o *UnownedOptions) {
		o.Excludes = append(append([]string(nil), DefaultExcludes...), "/opt/app", "/usr/share/foo/*line")
	})
	for _, e := range res.Entries {
		if strings.HasPrefix(e.Path, "/opt/app") || strings.Contains(e.Path, "line") {
			t.Errorf("%q reported although excluded", e.Path)
		}
	}
	res = scanFixture(t, f.r.Dir, f.db, f.allow, func(o *UnownedOptions) { o.Excludes = nil })
	want, _ := oracle(t, f.r.Dir, f.db, f.qlq, f.allow, nil)
	if got, w := entriesString(res.Entries), entriesString(want); got != w {
		t.Errorf("without excludes, scan differs from the oracle\n got:\n%s\nwant:\n%s", got, w)
	}
}

// TestUnownedBindMount walks a root holding a bind mount of one of its own
// directories and a bind mount of the root into itself (a loop): the
// result is that of the root without the mounts.
func TestUnownedBindMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root (CAP_SYS_ADMIN)")
	}
	f := newFixture(t)
	for _, d := range []string{"opt/bind", "opt/loop", "usr/share/foo/bindhere"} {
		if err := os.MkdirAll(f.r.Path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	before := scanFixture(t, f.r.Dir, f.db, f.allow, nil)
	mount := func(src, dst string) {
		out, err := exec.Command("mount", "--bind", src, dst).CombinedOutput()
		if err != nil {
			t.Skipf("mount --bind not possible here: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", dst).Run() })
	}
	mount(f.r.Path("usr/share/foo"), f.r.Path("opt/bind"))
	mount(f.r.Dir, f.r.Path("opt/loop"))
	mount(f.r.Path("opt/app"), f.r.Path("usr/share/foo/bindhere"))
	after := scanFixture(t, f.r.Dir, f.db, f.allow, nil)
	// The mount points themselves are skipped, so their (empty) directories
	// are no longer reported, and /opt/ cannot collapse.
	var want []UnownedEntry
	for _, e := range before.Entries {
		switch e.Path {
		case "/opt/bind/", "/opt/loop/", "/usr/share/foo/bindhere/":
			continue
		}
		want = append(want, e)
	}
	if got, w := entriesString(after.Entries), entriesString(want); got != w {
		t.Errorf("with bind mounts\n got:\n%s\nwant:\n%s", got, w)
	}
	if len(after.Skipped) != 3 {
		t.Errorf("skipped %+v, want the 3 bind mounts", after.Skipped)
	}
}

// TestUnownedBindLoopNotInMountTable: when the mount table does not show
// a bind mount of the root into an unowned directory, the walk meets the
// root's directory a second time and must not enter it; the directory
// holding the mount point is then no longer reportable as a whole.
func TestUnownedBindLoopNotInMountTable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root (CAP_SYS_ADMIN)")
	}
	f := newFixture(t)
	if err := os.MkdirAll(f.r.Path("srv/unowned/loop"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.r.Path("srv/unowned/file"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := scanFixture(t, f.r.Dir, f.db, f.allow, nil)
	if out, err := exec.Command("mount", "--bind", f.r.Dir, f.r.Path("srv/unowned/loop")).CombinedOutput(); err != nil {
		t.Skipf("mount --bind not possible here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", f.r.Path("srv/unowned/loop")).Run() })
	noTable := filepath.Join(t.TempDir(), "no-mountinfo")
	after := scanFixture(t, f.r.Dir, f.db, f.allow, func(o *UnownedOptions) { o.MountInfo, o.Swaps = noTable, noTable })
	var want []UnownedEntry
	for _, e := range before.Entries {
		if e.Path == "/srv/unowned/" {
			if e.Entries != 2 || e.Size != 3 {
				t.Fatalf("before the mount: %+v, want 2 entries, 3 bytes", e)
			}
			e = UnownedEntry{Path: "/srv/unowned/file", Type: TypeFile, Size: 3}
		}
		want = append(want, e)
	}
	if got, w := entriesString(after.Entries), entriesString(want); got != w {
		t.Errorf("with a bind loop the mount table does not show\n got:\n%s\nwant:\n%s", got, w)
	}
}

// TestUnownedUnreadable runs the scan and the oracle as an unprivileged
// user, for whom one owned and one unowned directory are unreadable.
func TestUnownedUnreadable(t *testing.T) {
	if os.Getenv("PACTIDY_UNOWNED_HELPER") != "" {
		unreadableHelper(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to build the root and to switch to an unprivileged user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed; cannot run the scan as an unprivileged user")
	}
	f := newFixture(t)
	// opt/partly/ is reportable as a whole, but part of it is unreadable.
	for _, p := range []string{"opt/secret/x", "opt/secret/y/z", "opt/partly/a", "opt/partly/locked/x"} {
		os.MkdirAll(filepath.Dir(f.r.Path(p)), 0o755)
		os.WriteFile(f.r.Path(p), []byte("s"), 0o644)
	}
	os.Chmod(f.r.Path("opt/secret"), 0o000)
	os.Chmod(f.r.Path("opt/partly/locked"), 0o000)
	os.Chmod(f.r.Path("usr/share/foo/locked"), 0o000)
	// Let the unprivileged user reach the root.
	for d := f.r.Dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	qlq := filepath.Join(filepath.Dir(f.r.Dir), "qlq.json")
	data, _ := json.Marshal(f.qlq)
	os.WriteFile(qlq, data, 0o644)
	exe, _ := os.Executable()
	cmd := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		exe, "-test.run=^TestUnownedUnreadable$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(),
		"PACTIDY_UNOWNED_HELPER=1", "HELPER_ROOT="+f.r.Dir, "HELPER_CONFIG="+f.r.Config,
		"HELPER_DBPATH="+f.r.DBPath, "HELPER_QLQ="+qlq, "HOME=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(string(out), "setpriv:") {
			t.Skipf("cannot switch user: %s", out)
		}
		t.Fatalf("unprivileged scan: %v\n%s", err, out)
	}
	// A run that matched no test would pass too.
	if !strings.Contains(string(out), "--- PASS: TestUnownedUnreadable") {
		t.Fatalf("the scan did not run as nobody:\n%s", out)
	}
	t.Logf("%s", out)
}

func unreadableHelper(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("helper still runs as root")
	}
	root := os.Getenv("HELPER_ROOT")
	db := loadDB(t, os.Getenv("HELPER_CONFIG"), root, os.Getenv("HELPER_DBPATH"))
	var qlq []string
	data, err := os.ReadFile(os.Getenv("HELPER_QLQ"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(data, &qlq)
	es, _ := allowlist.Parse("test-allowlist", strings.NewReader(testAllowlist))
	allow, _ := allowlist.New(es)
	res := scanFixture(t, root, db, allow, nil)
	want, wantErrs := oracle(t, root, db, qlq, allow, DefaultExcludes)
	if got, w := entriesString(res.Entries), entriesString(want); got != w {
		t.Errorf("scan differs from the oracle\n got:\n%s\nwant:\n%s", got, w)
	}
	got := errPaths(res.Errors)
	if fmt.Sprint(got) != fmt.Sprint(wantErrs) {
		t.Errorf("errors %v, want %v", got, wantErrs)
	}
	for _, p := range []string{"/opt/secret/", "/usr/share/foo/locked/"} {
		found := false
		for _, e := range res.Errors {
			found = found || e.Path == p && errors.Is(e.Err, syscall.EACCES)
		}
		if !found {
			t.Errorf("no permission error for %s in %v", p, res.Errors)
		}
	}
	// An unreadable unowned directory, and one with an unreadable part,
	// say their size is a lower bound; readable ones do not.
	seen := 0
	for _, e := range res.Entries {
		want := e.Path == "/opt/secret/" || e.Path == "/opt/partly/"
		if want {
			seen++
		}
		if e.Incomplete != want {
			t.Errorf("%s: Incomplete = %v, want %v", e.Path, e.Incomplete, want)
		}
	}
	if seen != 2 {
		t.Errorf("/opt/secret/ and /opt/partly/ not both reported: %+v", res.Entries)
	}
	t.Logf("errors as nobody: %v", res.Errors)
}

func TestOwnedSet(t *testing.T) {
	db := pkg.NewDB([]*pkg.Package{
		{Name: "a", Files: []string{"usr/", "usr/bin/", "usr/bin/a", "opt/deep/x/y"}},
		{Name: "b", Files: []string{"usr/bin/b", "usr/share/b/"}},
	})
	s := NewOwnedSet(db)
	for p, want := range map[string]bool{
		"usr": true, "usr/bin": true, "usr/bin/a": true, "usr/bin/b": true, "usr/share/b": true,
		"usr/share": true, // an unlisted parent of an owned path
		"opt":       true, "opt/deep/x": true, "opt/deep/x/y": true,
		"usr/bin/c": false, "usr/share/b/x": false, "": false,
	} {
		if s.Has(p) != want {
			t.Errorf("Has(%q) = %v, want %v", p, !want, want)
		}
	}
}

func TestMountPlan(t *testing.T) {
	mi := filepath.Join(t.TempDir(), "mountinfo")
	os.WriteFile(mi, []byte(`22 27 0:21 / /proc rw - proc proc rw
27 1 254:0 / / rw - ext4 /dev/vda rw
30 27 254:1 / /r/boot rw - vfat /dev/vda1 rw
31 27 0:30 / /r/run rw - tmpfs tmpfs rw
32 27 254:0 /r/usr/share /r/srv/share rw - ext4 /dev/vda rw
33 27 254:0 /r /r/opt/loop rw - ext4 /dev/vda rw
34 27 0:40 / /r/mnt/nas rw - nfs4 nas:/x rw
35 27 0:41 / /r/opt/my\040fuse rw - fuse.sshfs host: rw
36 27 254:0 /elsewhere /r/opt/ext rw - ext4 /dev/vda rw
37 27 254:0 /r/home/u /r/srv/u rw - ext4 /dev/vda rw
`), 0o644)
	excl, _ := newExcludes(DefaultExcludes)
	plan := planMounts(mi, "/r", excl)
	want := map[string]string{
		"run":         "tmpfs file system",
		"srv/share":   "bind mount of /r/usr/share",
		"opt/loop":    "bind mount of /r",
		"mnt/nas":     "nfs4 file system",
		"opt/my fuse": "fuse.sshfs file system",
	}
	if fmt.Sprint(plan.skip) != fmt.Sprint(want) {
		t.Errorf("skip = %v\nwant %v", plan.skip, want)
	}
	if !plan.points["boot"] || !plan.points["opt/ext"] || plan.points["proc"] {
		t.Errorf("points = %v", plan.points)
	}
}

// TestUnownedGeneratedRoot compares the scan with the oracle on a larger
// generated root (libalpm database written directly, files on disk), and
// checks that every planted unowned path is accounted for.
func TestUnownedGeneratedRoot(t *testing.T) {
	if _, err := exec.LookPath("pacman"); err != nil {
		t.Skip("pacman is not installed")
	}
	res, err := testroot.Generate(t.TempDir(), testroot.GenSpec{Packages: 150, FilesPerPkg: 20, Unowned: 1500, DepFraction: 0.5, Seed: 3, WriteFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	db := loadDB(t, res.Config, res.Root, res.DBPath)
	cmd := exec.Command("pacman", "--config", res.Config, "--root", res.Root, "--dbpath", res.DBPath, "-Qlq")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pacman -Qlq: %v", err)
	}
	qlq := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	got := scanFixture(t, res.Root, db, nil, nil)
	want, wantErrs := oracle(t, res.Root, db, qlq, nil, DefaultExcludes)
	if g, w := entriesString(got.Entries), entriesString(want); g != w {
		t.Fatalf("scan differs from the oracle\n got:\n%s\nwant:\n%s", g, w)
	}
	if len(got.Errors) != len(wantErrs) {
		t.Errorf("errors %v, want %v", got.Errors, wantErrs)
	}
	// Every planted path is reported, below a reported directory, hidden
	// by a rule or outside the scope.
	reported := map[string]bool{}
	for _, e := range got.Entries {
		reported[strings.TrimPrefix(e.Path, "/")] = true
	}
	owned := OwnedSetOf(nil)
	for _, p := range res.UnownedPaths {
		covered := false
		for q := strings.TrimSuffix(p, "/"); q != "" && !covered; {
			covered = reported[q] || reported[q+"/"]
			i := strings.LastIndexByte(q, '/')
			if i < 0 {
				break
			}
			q = q[:i]
		}
		if !covered {
			rule, _ := MatchRule(db, owned, nil, strings.TrimSuffix(p, "/"), TypeFile)
			if rule == "" && !strings.HasPrefix(p, "var/lib/pacman/") && !strings.HasPrefix(p, "var/cache/") && !strings.HasPrefix(p, "var/log/") {
				t.Errorf("planted %q is not reported", p)
			}
		}
	}
	if len(got.Entries) == 0 {
		t.Fatal("nothing reported")
	}
	t.Logf("%d planted unowned paths, %d findings after collapsing", len(res.UnownedPaths), len(got.Entries))
}
