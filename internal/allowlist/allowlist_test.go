package allowlist

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		glob string
		path string
		want bool
	}{
		{"/opt/foo", "/opt/foo", true},
		{"opt/foo", "/opt/foo", true}, // leading slash optional
		{"/opt/foo", "/opt/foo/", true},
		{"/opt/foo", "/opt/foo/bar/baz", true}, // a match covers the subtree
		{"/opt/foo", "/opt/foobar", false},
		{"/opt/foo", "/opt", false},
		{"/opt/*", "/opt/x", true},
		{"/opt/*", "/opt/x/y", true}, // /opt/x matched, y is below it
		{"/opt/*/cache", "/opt/x/cache", true},
		{"/opt/*/cache", "/opt/x/y/cache", false}, // '*' stays in one component
		{"/opt/**/cache", "/opt/x/y/cache", true},
		{"/opt/**/cache", "/opt/cache", true}, // '**/' matches zero components
		{"/opt/**", "/opt/a/b/c", true},
		{"/opt/**", "/opt", false},
		{"/**/*.pyc", "/usr/lib/x/a.pyc", true},
		{"/**/*.pyc", "/a.pyc", true},
		// '**' inside a component crosses components too; only a whole
		// "**/" component may match nothing.
		{"/usr/lib/**.so", "/usr/lib/python/x.so", true},
		{"/usr/lib/**.so", "/usr/lib/x.sox", false},
		{"/opt/x**/cache", "/opt/xa/b/cache", true},
		{"/opt/x**/cache", "/opt/xcache", false},
		{"/etc/*.conf", "/etc/a.conf", true},
		{"/etc/*.conf", "/etc/a.conf.bak", false},
		{"/etc/?.conf", "/etc/a.conf", true},
		{"/etc/?.conf", "/etc/ab.conf", false},
		{"/etc/[ab].conf", "/etc/b.conf", true},
		{"/etc/[!ab].conf", "/etc/b.conf", false},
		{"/etc/[!ab].conf", "/etc/c.conf", true},
		{"/etc/[a-c]x", "/etc/bx", true},
		{"/etc/\\*", "/etc/*", true},
		{"/etc/\\*", "/etc/a", false},
		{"/srv/a.b", "/srv/aXb", false}, // '.' is literal
		{"/srv/data/", "/srv/data/", true},
		{"/srv/data/", "/srv/data", false}, // trailing '/': directories only
		{"/srv/data/", "/srv/data/file", true},
		{"/srv/data/", "/srv/data/sub/", true},
		{"/srv/da ta", "/srv/da ta", true},
		{"/srv/a#b", "/srv/a#b", true},
		{"/srv/a [#]b", "/srv/a #b", true},
		{"/srv/\xff*", "/srv/\xffx", true},
	}
	for _, tt := range tests {
		t.Run(tt.glob+" "+tt.path, func(t *testing.T) {
			l, err := New([]Entry{{Kind: KindPath, Glob: normalizeGlob(tt.glob)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := l.KeepsPath(tt.path, nil); got != tt.want {
				t.Errorf("KeepsPath(%q) with %q = %v, want %v", tt.path, tt.glob, got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	in := `# keep these
path /opt/foo
  path   srv/**/keep   
package linux-lts

path-if-installed docker /var/lib/docker/
	# indented comment
`
	es, err := Parse("a.conf", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a.conf:2 path /opt/foo",
		"a.conf:3 path /srv/**/keep",
		"a.conf:4 package linux-lts",
		"a.conf:6 path-if-installed docker /var/lib/docker/",
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Source()+" "+e.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"path /a\nfile /b\n", `f:2: unknown entry "file"`},
		{"path\n", "f:1: path: missing GLOB"},
		{"package\n", "f:1: package: missing NAME"},
		{"package a/b\n", `f:1: package: "a/b" is not a package name`},
		{"path-if-installed foo\n", "f:1: path-if-installed: want PKG GLOB"},
		{"\n\npath /etc/[ab\n", "f:3: bad pattern \"/etc/[ab\": unterminated '['"},
		{"path /usr/../etc\n", "f:1: bad pattern"},
		{"path /\n", "f:1: bad pattern \"/\": the pattern matches the whole root"},
		{"path /**\n", "f:1: bad pattern \"/**\": the pattern matches the whole root"},
		{"path /*/**/\n", "f:1: bad pattern \"/*/**/\": the pattern matches the whole root"},
		{"path /a\\\n", "f:1: bad pattern"},
		{"path /opt/x   # keep\n", `f:1: "/opt/x   # keep": comments go on their own line`},
		// Entries that can never match are refused, not kept as dead lines.
		{"package \x1b[31mred\n", `f:1: package: "\x1b[31mred" is not a package name`},
		{"package lin\u202eux\n", `f:1: package: "lin\u202eux" is not a package name`},
		{"package *\n", `f:1: package: "*" is not a package name (globs are not supported`},
		{"package linux*\n", `f:1: package: "linux*" is not a package name (globs are not supported`},
		{"package .hidden\n", `f:1: package: ".hidden" is not a package name`},
		{"path-if-installed do\acker /var/lib/docker\n", `f:1: path-if-installed: "do\acker" is not a package name`},
		{"path /srv/a\x00b\n", `f:1: bad pattern "/srv/a\x00b": a path cannot contain a NUL byte`},
		{"path-if-installed docker /srv/\x00\n", `f:1: bad pattern`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Parse("f", strings.NewReader(tt.in))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%T is not a *ParseError", err)
			}
		})
	}
}

func TestPathIfInstalled(t *testing.T) {
	l, err := New([]Entry{{Kind: KindPathIfInstalled, Package: "docker", Glob: "/var/lib/docker"}})
	if err != nil {
		t.Fatal(err)
	}
	installed := map[string]bool{}
	has := func(n string) bool { return installed[n] }
	if l.KeepsPath("/var/lib/docker/x", has) {
		t.Error("kept while docker is not installed")
	}
	installed["docker"] = true
	if !l.KeepsPath("/var/lib/docker/x", has) {
		t.Error("not kept while docker is installed")
	}
	if l.KeepsPath("/var/lib/docker/x", nil) {
		t.Error("kept with a nil installed func")
	}
}

func TestPackages(t *testing.T) {
	es, err := Parse("f", strings.NewReader("package b\npackage a\npath /x\n"))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := New(es)
	if !l.KeepsPackage("a") || l.KeepsPackage("x") {
		t.Error("KeepsPackage wrong")
	}
	if got := fmt.Sprint(l.Packages()); got != "[a b]" {
		t.Errorf("Packages() = %s", got)
	}
	var nilList *List
	if nilList.KeepsPackage("a") || nilList.Packages() != nil || nilList.KeepsPath("/a", nil) {
		t.Error("nil list keeps something")
	}
}

func TestPacreport(t *testing.T) {
	in := `[Options]
IgnoreUnowned = usr/local/*
IgnoreUnowned = /srv/www
SomethingElse = 1

[PkgIgnoreUnowned]
docker = var/lib/docker
`
	es, err := ParsePacreport("/etc/pacreport.conf", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(es)
	if err != nil {
		t.Fatal(err)
	}
	inst := func(n string) bool { return n == "docker" }
	for p, want := range map[string]bool{
		"/usr/local/bin/x":    true, // pacreport's '*' crosses '/'
		"/usr/localx":         false,
		"/srv/www/index.html": true, // with or without the leading slash
		"/var/lib/docker/a":   true,
		"/var/lib/other":      false,
	} {
		if got := l.KeepsPath(p, inst); got != want {
			t.Errorf("KeepsPath(%q) = %v, want %v", p, got, want)
		}
	}
	if es[2].Kind != KindPathIfInstalled || es[2].Package != "docker" || es[2].Line != 7 {
		t.Errorf("entry %+v", es[2])
	}
	if _, err := ParsePacreport("p", strings.NewReader("[PkgIgnoreUnowned]\ndocker\n")); err == nil || !strings.HasPrefix(err.Error(), "p:2: ") {
		t.Errorf("error %v, want p:2: ...", err)
	}
}

func TestLostfiles(t *testing.T) {
	in := "# lostfiles\n+/usr\n-/usr/lib/modules\n-/opt/**/cache\n"
	es, err := ParseLostfiles("l", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Glob != "/usr/lib/modules" || es[1].Line != 4 {
		t.Fatalf("entries %+v", es)
	}
	if _, err := ParseLostfiles("l", strings.NewReader("/usr/x\n")); err == nil || !strings.HasPrefix(err.Error(), "l:1: ") {
		t.Errorf("error %v", err)
	}
}

func TestLoad(t *testing.T) {
	etc := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(etc, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("pactidy/allowlist", "path /a\n")
	write("pactidy/allowlist.d/20-b.conf", "path /b\n")
	write("pactidy/allowlist.d/10-c.conf", "path /c\n")
	write("pactidy/allowlist.d/ignored.txt", "bad line\n")
	write("pacreport.conf", "[Options]\nIgnoreUnowned = d\n")
	write("lostfiles.conf", "-/e\n")
	write("lostfiles.d/local", "-/g\n")
	extra := write("extra", "package f\n")
	l, err := Load(Sources{SysConfDir: etc, Extra: []string{extra}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l.Entries() {
		got = append(got, strings.TrimPrefix(e.Source(), etc+"/")+" "+e.String())
	}
	want := "pactidy/allowlist:1 path /a|pactidy/allowlist.d/10-c.conf:1 path /c|pactidy/allowlist.d/20-b.conf:1 path /b|pacreport.conf:2 path /d|lostfiles.conf:1 path /e|lostfiles.d/local:1 path /g|extra:1 package f"
	if strings.Join(got, "|") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}

	// Nothing at all is fine; a missing --allowlist file is not.
	if _, err := Load(Sources{SysConfDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Sources{SysConfDir: t.TempDir(), Extra: []string{filepath.Join(etc, "nope")}}); err == nil {
		t.Fatal("missing --allowlist file accepted")
	}
	write("pactidy/allowlist.d/30-bad.conf", "path /x\npath /y[\n")
	_, err = Load(Sources{SysConfDir: etc})
	if err == nil || err.Error() != filepath.Join(etc, "pactidy/allowlist.d/30-bad.conf")+":2: bad pattern \"/y[\": unterminated '[' in the pattern" {
		t.Fatalf("error %v", err)
	}
}

func TestAddRemove(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "allowlist")
	mustEntry := func(s string) Entry {
		e, err := ParseEntry(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if err := Add(file, mustEntry("path /opt/a")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("# my list\npath /opt/a\n\n# packages\npackage foo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(file, 0o600)
	if err := Add(file, mustEntry("path opt/b")); err != nil {
		t.Fatal(err)
	}
	err := Add(file, mustEntry("path opt/a"))
	if !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), file+":2") {
		t.Fatalf("duplicate add: %v", err)
	}
	if err := Remove(file, mustEntry("package foo")); err != nil {
		t.Fatal(err)
	}
	if err := Remove(file, mustEntry("package foo")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	data, _ := os.ReadFile(file)
	if want := "# my list\npath /opt/a\n\n# packages\npath /opt/b\n"; string(data) != want {
		t.Fatalf("file is\n%q\nwant\n%q", data, want)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the original 0600", fi.Mode().Perm())
	}
	// A file with a bad line is not rewritten.
	os.WriteFile(file, []byte("bogus\n"), 0o644)
	if err := Add(file, mustEntry("path /x")); err == nil || !strings.Contains(err.Error(), file+":1:") {
		t.Fatalf("edit of a bad file: %v", err)
	}
	if _, err := ParseEntry("path /a\npath /b"); err == nil {
		t.Error("entry with a newline accepted")
	}
}

// TestConcurrentAdd adds from many goroutines and from other processes at
// once; the lock must keep every entry.
func TestConcurrentAdd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "allowlist")
	const goroutines, procs, each = 8, 3, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each+procs)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errs <- Add(file, Entry{Kind: KindPath, Glob: fmt.Sprintf("/g%d/%d", g, i)})
			}
		}()
	}
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "ALLOWLIST_HELPER_FILE="+file, fmt.Sprintf("ALLOWLIST_HELPER_ID=%d", p))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("helper: %v\n%s", err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	es, err := Parse(file, strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if want := goroutines*each + procs*each; len(es) != want {
		t.Fatalf("%d entries, want %d", len(es), want)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".allowlist.tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestMain runs the other processes of TestConcurrentAdd: the test binary
// started with ALLOWLIST_HELPER_FILE adds ten entries and exits, without
// running (or skipping) any test.
func TestMain(m *testing.M) {
	if file := os.Getenv("ALLOWLIST_HELPER_FILE"); file != "" {
		id := os.Getenv("ALLOWLIST_HELPER_ID")
		for i := 0; i < 10; i++ {
			if err := Add(file, Entry{Kind: KindPath, Glob: fmt.Sprintf("/p%s/%d", id, i)}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// An allowlist that is a symlink (kept with one's dotfiles) is edited in
// place: the link stays a link and its target gets the entry.
func TestEditFollowsSymlink(t *testing.T) {
	mustEntry := func(s string) Entry {
		e, err := ParseEntry(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "allowlist")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("# mine\npath /opt/keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "etc", "pactidy", "allowlist")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../dotfiles/allowlist", link); err != nil {
		t.Fatal(err)
	}
	if err := Add(link, mustEntry("package vim")); err != nil {
		t.Fatal(err)
	}
	if err := Remove(link, mustEntry("path /opt/keep")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	data, err := os.ReadFile(target)
	if err != nil || string(data) != "# mine\npackage vim\n" {
		t.Errorf("target %q, %v", data, err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("nowhere/allowlist", dangling); err != nil {
		t.Fatal(err)
	}
	if err := Add(dangling, mustEntry("package vim")); err == nil {
		t.Error("edit through a dangling symlink succeeded")
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("dangling symlink replaced")
	}
}

// A normal user editing root's allowlist is told what to do, and the file
// stays as it was.
func TestEditPermissionDenied(t *testing.T) {
	if file := os.Getenv("ALLOWLIST_PERM_FILE"); file != "" {
		err := Add(file, Entry{Kind: KindPackage, Package: "vim"})
		if err == nil || !strings.Contains(err.Error(), file+": permission denied (run as root") {
			t.Fatalf("Add as a normal user: %v", err)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	file := filepath.Join(dir, "allowlist")
	if err := os.WriteFile(file, []byte("path /opt/keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	cmd := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		exe, "-test.run=^TestEditPermissionDenied$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "ALLOWLIST_PERM_FILE="+file, "HOME=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "setpriv:") {
			t.Skipf("cannot switch user: %s", out)
		}
		t.Fatalf("%v\n%s", err, out)
	}
	// A run that matched no test would pass too.
	if !strings.Contains(string(out), "--- PASS: TestEditPermissionDenied") {
		t.Fatalf("the check did not run as nobody:\n%s", out)
	}
	if data, _ := os.ReadFile(file); string(data) != "path /opt/keep\n" {
		t.Errorf("file changed: %q", data)
	}
}
