package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pactidy/pactidy/internal/testroot"
)

// Names a user can give files in directories pactidy reads as root: the
// cache, an AUR helper's build cache under their home, an allowlist or
// pacman.conf line. Each would do something to a terminal printed raw.
var hostileNames = []string{
	"clear\x1b[2J\x1b]0;owned\a",   // clears the screen, sets the title, rings
	"csi\u009b31mred",              // an 8-bit CSI
	"bidi\u202egpj.exe",            // shows as "exe.jpg"
	"new\nline: pactidy: all good", // forges a line of output
	"cr\roverwrite",
	"bad\xff\xfeutf8",
}

// terminalSafe fails when out holds anything that acts on a terminal: a
// control character other than the line ends of the output itself, an
// invalid byte, a C1 control, a bidi control or a line separator.
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s is not valid UTF-8:\n%q", what, out)
	}
	for _, r := range out {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x2028 || r == 0x2029 {
			t.Errorf("%s holds %U:\n%q", what, r, out)
			return
		}
	}
	// A name's newline must not start a line of its own.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "line: pactidy") {
			t.Errorf("%s: a file name forged the line %q", what, l)
		}
	}
}

func hostileRoot(t *testing.T) (r *testroot.Root, buildCache, oddCache string) {
	t.Helper()
	r = testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "foo", Version: "1.0-1", Files: map[string]string{"usr/share/foo/a": "x"}})
	old := time.Now().Add(-90 * 24 * time.Hour)
	touch := func(path string, dir bool) {
		t.Helper()
		var err error
		if dir {
			err = os.MkdirAll(path, 0o755)
		} else {
			err = os.WriteFile(path, []byte("not a real package"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range hostileNames {
		for _, v := range []string{"1.0-1", "2.0-1"} {
			touch(filepath.Join(r.CacheDir, n+"-"+v+"-any.pkg.tar.zst"), false)
		}
		touch(filepath.Join(r.CacheDir, n+".pkg.tar.zst"), false) // not a package file name
	}
	// A second cache directory whose own name is not UTF-8.
	oddCache = filepath.Join(r.Dir, "cache\xff\x1b[31m")
	touch(oddCache, true)
	touch(filepath.Join(oddCache, "foo-0.5-1-any.pkg.tar.zst"), false)
	buildCache = filepath.Join(r.Dir, "home", "user", ".cache", "yay")
	for _, n := range hostileNames {
		touch(filepath.Join(buildCache, n), true)
		touch(filepath.Join(buildCache, n, "PKGBUILD"), false)
	}
	return r, buildCache, oddCache
}

// Hostile names in the cache, the build cache, pacman.conf and the
// allowlist reach the terminal only quoted.
func TestHostileNamesText(t *testing.T) {
	r, buildCache, oddCache := hostileRoot(t)
	conf, err := os.OpenFile(r.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A directive pacman does not know: pactidy warns about it with the
	// line itself.
	if _, err := conf.WriteString("[options]\nEvil\x1b]0;owned\a\u202eDirective = 1\n"); err != nil {
		t.Fatal(err)
	}
	conf.Close()
	allow := filepath.Join(t.TempDir(), "allow")
	if err := os.WriteFile(allow, []byte("path /srv/"+strings.Join(hostileNames[:1], "")+"\npath /srv/bidi\u202ex\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"cache", "--keep", "0", "--keep-uninstalled", "0", "--cachedir", r.CacheDir, "--cachedir", oddCache, "--build-cache", buildCache},
		{"report", "--only", "cache,unowned"},
		{"allow", "list"},
		{"cache", "--cachedir", filepath.Join(r.Dir, "missing\x1b[31m\u202e")},
		{"--allowlist", filepath.Join(r.Dir, "no\x1b]0;x\a\nallowlist"), "report"},
	} {
		full := append([]string{"--config", r.Config, "--allowlist", allow}, args...)
		stdout, stderr, code := run(t, nil, full...)
		name := strings.Join(args[:1], " ")
		terminalSafe(t, name+" stdout", stdout)
		terminalSafe(t, name+" stderr", stderr)
		if code == exitUsage {
			t.Errorf("%q: exit %d: %s", args, code, stderr)
		}
		t.Logf("%q: exit %d\n%s%s", args, code, stdout, stderr)
	}
	// The names are shown, escaped, not dropped.
	stdout, stderr, _ := run(t, nil, "--config", r.Config, "cache", "--keep", "0", "--keep-uninstalled", "0", "--build-cache", buildCache)
	for _, want := range []string{`clear\x1b[2J\x1b]0;owned\a`, `bidi\u202egpj.exe`, `new\nline: pactidy: all good`, `bad\xff\xfeutf8`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("cache output lacks %s:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, `Evil\x1b]0;owned\a\u202eDirective`) {
		t.Errorf("the pacman.conf warning does not show the directive escaped:\n%s", stderr)
	}
}

// JSON keeps the exact bytes of every path that is not UTF-8.
func TestHostileNamesJSON(t *testing.T) {
	r, buildCache, oddCache := hostileRoot(t)
	stdout, stderr, code := run(t, nil, "--config", r.Config, "cache", "--json", "--keep", "0", "--keep-uninstalled", "0",
		"--cachedir", r.CacheDir, "--cachedir", oddCache, "--build-cache", buildCache)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Cache struct {
			Dirs       []string `json:"dirs"`
			DirsBytes  []string `json:"dirs_bytes"`
			Candidates []struct {
				Path      string `json:"path"`
				PathBytes string `json:"path_bytes"`
			} `json:"candidates"`
			Kept []struct {
				Path      string `json:"path"`
				PathBytes string `json:"path_bytes"`
			} `json:"kept"`
			BuildCaches []struct {
				Path      string `json:"path"`
				PathBytes string `json:"path_bytes"`
			} `json:"build_caches"`
		} `json:"cache"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	seen := map[string]bool{}
	check := func(what, path, pathBytes string) {
		t.Helper()
		if pathBytes == "" {
			if strings.ContainsRune(path, utf8.RuneError) {
				t.Errorf("%s %q: U+FFFD without path_bytes", what, path)
			}
			seen[path] = true
			return
		}
		raw, err := base64.StdEncoding.DecodeString(pathBytes)
		if err != nil || utf8.Valid(raw) {
			t.Errorf("%s %q: path_bytes %q (%v)", what, path, pathBytes, err)
		}
		seen[string(raw)] = true
	}
	for _, c := range doc.Cache.Candidates {
		check("candidate", c.Path, c.PathBytes)
	}
	for _, c := range doc.Cache.Kept {
		check("kept", c.Path, c.PathBytes)
	}
	for _, b := range doc.Cache.BuildCaches {
		check("build cache", b.Path, b.PathBytes)
	}
	if len(doc.Cache.DirsBytes) != len(doc.Cache.Dirs) {
		t.Fatalf("dirs %q, dirs_bytes %q", doc.Cache.Dirs, doc.Cache.DirsBytes)
	}
	for i, d := range doc.Cache.Dirs {
		check("dir", d, doc.Cache.DirsBytes[i])
	}
	for _, want := range []string{
		oddCache,
		filepath.Join(oddCache, "foo-0.5-1-any.pkg.tar.zst"),
		filepath.Join(r.CacheDir, "bad\xff\xfeutf8-1.0-1-any.pkg.tar.zst"),
		filepath.Join(r.CacheDir, "clear\x1b[2J\x1b]0;owned\a-2.0-1-any.pkg.tar.zst"),
		filepath.Join(buildCache, "bad\xff\xfeutf8"),
		filepath.Join(buildCache, "new\nline: pactidy: all good"),
	} {
		if !seen[want] {
			t.Errorf("JSON lacks the exact path %q", want)
		}
	}
}
