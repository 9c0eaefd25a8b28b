package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/internal/testroot"
)

var cacheTestNow = time.Now()

func runCacheArgs(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return invocation{now: func() time.Time { return cacheTestNow }}.run(t, args...)
}

// cacheRoot is a root with foo 2.0-1 installed and, in its cache, four
// versions of foo, two of the uninstalled gone, a signature and a stray
// signature.
func cacheRoot(t *testing.T) *testroot.Root {
	t.Helper()
	r := testroot.New(t)
	foo := func(v string) testroot.Pkg {
		return testroot.Pkg{Name: "foo", Version: v, Files: map[string]string{"usr/share/foo/" + v: strings.Repeat("x", 2000)}}
	}
	r.Install(t, foo("2.0-1"))
	for _, v := range []string{"1.0-1", "1.5-1", "1.8-1", "2.0-1"} {
		testroot.Build(t, r.CacheDir, foo(v))
	}
	for _, v := range []string{"1-1", "2-1"} {
		testroot.Build(t, r.CacheDir, testroot.Pkg{Name: "gone", Version: v, Arch: "any"})
	}
	for _, s := range []string{"foo-1.0-1-any.pkg.tar.zst.sig", "stray-1-1-any.pkg.tar.zst.sig"} {
		if err := os.WriteFile(filepath.Join(r.CacheDir, s), make([]byte, 310), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-60 * 24 * time.Hour)
	ents, _ := os.ReadDir(r.CacheDir)
	for _, e := range ents {
		if err := os.Chtimes(filepath.Join(r.CacheDir, e.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

type cacheDoc struct {
	SchemaVersion int            `json:"schema_version"`
	GeneratedAt   string         `json:"generated_at"`
	Action        string         `json:"action"`
	Cache         report.Cache   `json:"cache"`
	Errors        []report.Error `json:"errors"`
	Result        *struct {
		Files int   `json:"files"`
		Bytes int64 `json:"bytes"`
	} `json:"result"`
}

func decodeCache(t *testing.T, out string) cacheDoc {
	t.Helper()
	var d cacheDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	return d
}

func baseNames(cs []report.CacheCandidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, filepath.Base(c.Path))
	}
	sort.Strings(out)
	return out
}

func TestCacheCommandJSON(t *testing.T) {
	r := cacheRoot(t)
	out, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--json", "--keep", "1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	d := decodeCache(t, out)
	if d.SchemaVersion != 1 || d.Action != "plan" || d.Errors == nil || d.GeneratedAt == "" {
		t.Errorf("document %+v", d)
	}
	if len(d.Cache.Dirs) != 1 || d.Cache.Dirs[0] != r.CacheDir {
		t.Errorf("dirs %q, want [%s]", d.Cache.Dirs, r.CacheDir)
	}
	want := []string{"foo-1.0-1-any.pkg.tar.zst", "foo-1.0-1-any.pkg.tar.zst.sig", "foo-1.5-1-any.pkg.tar.zst", "foo-1.8-1-any.pkg.tar.zst",
		"gone-1-1-any.pkg.tar.zst", "stray-1-1-any.pkg.tar.zst.sig"}
	if got := baseNames(d.Cache.Candidates); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("candidates %q, want %q", got, want)
	}
	var sum int64
	for _, c := range d.Cache.Candidates {
		if !filepath.IsAbs(c.Path) || c.Reason == "" || c.Kind == "" {
			t.Errorf("candidate %+v", c)
		}
		fi, err := os.Stat(c.Path)
		if err != nil || fi.Size() != c.Size {
			t.Errorf("%s: %v, size %d", c.Path, err, c.Size)
		}
		sum += c.Size
	}
	if sum != d.Cache.ReclaimBytes {
		t.Errorf("reclaim_bytes %d, candidates sum to %d", d.Cache.ReclaimBytes, sum)
	}
	if got := baseNames(d.Cache.Kept); strings.Join(got, " ") != "foo-2.0-1-any.pkg.tar.zst gone-2-1-any.pkg.tar.zst" {
		t.Errorf("kept %q", got)
	}
	// The document's keys, as the contract names them.
	var raw map[string]map[string]json.RawMessage
	json.Unmarshal([]byte(strings.Replace(out, `"schema_version": 1,`, "", 1)), &raw)
	for _, k := range []string{"dirs", "candidates", "reclaim_bytes"} {
		if _, ok := raw["cache"][k]; !ok {
			t.Errorf("cache has no %q", k)
		}
	}
}

func TestCacheCommandText(t *testing.T) {
	r := cacheRoot(t)
	out, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--keep", "1", "--exit-code")
	if code != exitFindings {
		t.Fatalf("exit %d, want %d: %s", code, exitFindings, stderr)
	}
	for _, w := range []string{
		"Package cache (6 files,",
		"foo any", "keep    2.0-1", "remove  1.8-1", "remove  1.0-1 +sig", "older than the newest version",
		"gone any", "not installed; older than the newest version",
		"stray-1-1-any.pkg.tar.zst.sig", "signature without its package file",
		"Total reclaimable:",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(stderr, "Dry run") {
		t.Errorf("stderr %q", stderr)
	}
	for _, n := range []string{"foo-1.0-1-any.pkg.tar.zst", "stray-1-1-any.pkg.tar.zst.sig"} {
		if _, err := os.Stat(filepath.Join(r.CacheDir, n)); err != nil {
			t.Errorf("dry run touched %s", n)
		}
	}
}

func TestCacheCommandRemove(t *testing.T) {
	r := cacheRoot(t)
	out, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--keep", "1", "--keep-uninstalled", "0", "--remove")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "7 files removed") {
		t.Errorf("output %q", out)
	}
	ents, _ := os.ReadDir(r.CacheDir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != "foo-2.0-1-any.pkg.tar.zst" {
		t.Errorf("left in the cache: %q", left)
	}
}

func TestCacheCommandMove(t *testing.T) {
	r := cacheRoot(t)
	dest := t.TempDir()
	out, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--keep", "3", "--move", dest, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	d := decodeCache(t, out)
	if d.Action != "move" || d.Result == nil || d.Result.Files != 3 || d.Result.Bytes != d.Cache.ReclaimBytes {
		t.Errorf("result %+v of %+v", d.Result, d.Cache.Candidates)
	}
	for _, n := range []string{"foo-1.0-1-any.pkg.tar.zst", "foo-1.0-1-any.pkg.tar.zst.sig", "stray-1-1-any.pkg.tar.zst.sig"} {
		if _, err := os.Stat(filepath.Join(dest, n)); err != nil {
			t.Errorf("%s not moved: %v", n, err)
		}
	}
}

func TestCacheCommandRefusesWhilePacmanRuns(t *testing.T) {
	r := cacheRoot(t)
	lock := filepath.Join(r.DBPath, "db.lck")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--keep", "0", "--remove")
	if code != exitFailure || !strings.Contains(stderr, lock) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(r.CacheDir, "foo-1.0-1-any.pkg.tar.zst")); err != nil {
		t.Error("a file was removed while pacman held its lock")
	}
	// A dry run is fine.
	if _, stderr, code := runCacheArgs(t, "--config", r.Config, "cache"); code != exitOK {
		t.Errorf("dry run: exit %d, %s", code, stderr)
	}
}

func TestCacheCommandUsageErrors(t *testing.T) {
	r := cacheRoot(t)
	for _, args := range [][]string{
		{"--keep", "-1"},
		{"--keep-uninstalled", "-2"},
		{"--keep-uninstalled", "-1"}, // -1 is only the internal "same as --keep"
		{"--remove", "--move", "/tmp"},
		{"--min-age", "thirty days"},
		{"--ignore", "[x"},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := runCacheArgs(t, append([]string{"--config", r.Config, "cache"}, args...)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d: %s", code, exitUsage, stderr)
			}
		})
	}
	missing := filepath.Join(t.TempDir(), "nope")
	_, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--cachedir", missing)
	if code != exitFailure || !strings.Contains(stderr, missing) {
		t.Errorf("missing cache dir: exit %d, %q", code, stderr)
	}
}

func TestCacheCommandOptions(t *testing.T) {
	r := cacheRoot(t)
	second := t.TempDir()
	testroot.Build(t, second, testroot.Pkg{Name: "foo", Version: "1.9-1"})
	old := time.Now().Add(-60 * 24 * time.Hour)
	os.Chtimes(filepath.Join(second, "foo-1.9-1-any.pkg.tar.zst"), old, old)
	recent := filepath.Join(r.CacheDir, "foo-1.5-1-any.pkg.tar.zst")
	os.Chtimes(recent, time.Now(), time.Now())
	builds := t.TempDir()
	for _, d := range []string{"foo/src", "removed-long-ago/src"} {
		os.MkdirAll(filepath.Join(builds, d), 0o755)
	}
	os.WriteFile(filepath.Join(builds, "removed-long-ago/src/big"), make([]byte, 4096), 0o644)

	out, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--json", "--cachedir", r.CacheDir, "--cachedir", second,
		"--keep", "1", "--ignore", "gone", "--min-age", "2w", "--arch", "any", "--build-cache", builds)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	d := decodeCache(t, out)
	want := []string{"foo-1.0-1-any.pkg.tar.zst", "foo-1.0-1-any.pkg.tar.zst.sig", "foo-1.8-1-any.pkg.tar.zst", "foo-1.9-1-any.pkg.tar.zst", "stray-1-1-any.pkg.tar.zst.sig"}
	if got := baseNames(d.Cache.Candidates); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("candidates %q, want %q", got, want)
	}
	if len(d.Cache.BuildCaches) != 1 || d.Cache.BuildCaches[0].Name != "removed-long-ago" || d.Cache.BuildCaches[0].Size != 4096 || d.Cache.BuildCacheBytes != 4096 {
		t.Errorf("build caches %+v", d.Cache.BuildCaches)
	}
}

// The command loads the database without file lists; the backup entries of
// a package with a pending .pacnew are read on demand, and the version
// before the installed one stays as pacdiff's merge base.
func TestCacheCommandKeepsPacnewMergeBase(t *testing.T) {
	r := testroot.New(t)
	cfgPkg := func(v string) testroot.Pkg {
		return testroot.Pkg{Name: "cfg-pkg", Version: v, Backup: []string{"etc/cfg-pkg.conf"},
			Files: map[string]string{"etc/cfg-pkg.conf": "v = " + v + "\n"}}
	}
	r.Install(t, cfgPkg("3.0-1"))
	if err := os.WriteFile(r.Path("etc/cfg-pkg.conf.pacnew"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0-1", "2.0-1", "3.0-1"} {
		testroot.Build(t, r.CacheDir, cfgPkg(v))
	}
	out, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--json", "--keep", "1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	d := decodeCache(t, out)
	if got := strings.Join(baseNames(d.Cache.Candidates), " "); got != "cfg-pkg-1.0-1-any.pkg.tar.zst" {
		t.Errorf("candidates %q", got)
	}
	found := false
	for _, k := range d.Cache.Kept {
		if filepath.Base(k.Path) == "cfg-pkg-2.0-1-any.pkg.tar.zst" {
			found = k.Reason == "merge base for /etc/cfg-pkg.conf.pacnew (pacdiff)"
		}
	}
	if !found {
		t.Errorf("2.0-1 not kept as merge base: %+v", d.Cache.Kept)
	}
}

func TestCacheCommandSkipsMissingConfiguredDir(t *testing.T) {
	r := testroot.New(t, testroot.WithExtraConfig("CacheDir = "+filepath.Join(t.TempDir(), "never-created")))
	r.Install(t, testroot.Pkg{Name: "foo", Version: "1-1"})
	testroot.Build(t, r.CacheDir, testroot.Pkg{Name: "foo", Version: "1-1"})
	out, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--json")
	if code != exitOK || !strings.Contains(stderr, "never-created") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if d := decodeCache(t, out); len(d.Cache.Dirs) != 1 || len(d.Cache.Kept) != 1 {
		t.Errorf("plan %+v", d.Cache)
	}
}

// A cache the user may not change: every failure names its file and the
// run ends with the advice to run as root, or, when root itself is refused,
// to look at the file attributes.
func TestCacheCommandPermissionDenied(t *testing.T) {
	r := cacheRoot(t)
	advice := []string{"run pactidy as root", "run as root"}
	if os.Geteuid() == 0 {
		advice = []string{"immutable or append-only", "even as root", "lsattr"}
		// root passes permission checks; an immutable directory still
		// refuses unlinking (EPERM).
		if out, err := exec.Command("chattr", "+i", r.CacheDir).CombinedOutput(); err != nil {
			t.Skipf("chattr +i: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", r.CacheDir).Run() })
	} else {
		if err := os.Chmod(r.CacheDir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(r.CacheDir, 0o755) })
	}
	_, stderr, code := runCacheArgs(t, "--config", r.Config, "cache", "--keep", "1", "--remove")
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	for _, w := range append([]string{filepath.Join(r.CacheDir, "foo-1.0-1-any.pkg.tar.zst") + ": "}, advice...) {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if os.Geteuid() == 0 && strings.Contains(stderr, "as root (") {
		t.Errorf("root is told to run as root:\n%s", stderr)
	}
}

// The hand-written JSON of the cache command is byte for byte what
// encoding/json writes for the same document, whatever the file names.
func TestCacheJSONMatchesEncodingJSON(t *testing.T) {
	odd := []string{"", "plain", "quote\"back\\slash", "new\nline\ttab\rcr\bbs\fff", "\x00\x01\x1f\x7f", "<a&b>", "bad\xffutf8\xc3", "ünïcödé ✓", "line\u2028para\u2029", "\U0001F600"}
	var cands []report.CacheCandidate
	for i, s := range odd {
		cands = append(cands, report.CacheCandidate{Path: "/c/" + s, Name: s, Version: s, Arch: s, Size: int64(i) << 40, Reason: s, Kind: s})
	}
	for _, doc := range []cacheJSON{
		{SchemaVersion: 1, GeneratedAt: "2026-01-02T03:04:05Z", Action: "plan", Errors: []report.Error{},
			Cache: &report.Cache{Dirs: []string{}, Candidates: []report.CacheCandidate{}, Kept: []report.CacheCandidate{}, BuildCaches: []report.CacheBuild{}}},
		{SchemaVersion: 1, GeneratedAt: "x", Action: "move", Errors: []report.Error{{Path: "/p\n", Error: "e<"}},
			Result: &cacheResultJS{Files: 3, Bytes: 9, Failed: 1, MovedTo: "/m"},
			Cache: &report.Cache{Dirs: odd, Candidates: cands, Kept: cands[:3], ReclaimBytes: 77, BuildCacheBytes: 5,
				BuildCaches: []report.CacheBuild{{Helper: "yay", Name: "n\"", Path: "/p", Size: 5}}}},
	} {
		got, err := doc.marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("hand-written JSON differs\n got %s\nwant %s", got, want)
		}
	}
}

// The report's cache section alone reads the installed versions only: not
// the sync databases, which the plan does not need (an unreadable one is
// no error there), and it plans as the cache command does.
func TestReportOnlyCacheReadsNoSyncDB(t *testing.T) {
	r := cacheRoot(t)
	testroot.Build(t, r.CacheDir, testroot.Pkg{Name: "foo", Version: "0.1-1"})
	f, err := os.OpenFile(r.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n[neverfetched]\nServer = file:///nonexistent\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	base := []string{"--config", r.Config, "--root", r.Dir, "--dbpath", r.DBPath}

	out, stderr, code := runCacheArgs(t, append(base, "report", "--only", "cache", "--json")...)
	if code != exitOK {
		t.Fatalf("report --only cache: exit %d\n%s", code, stderr)
	}
	var rep struct {
		Cache  report.Cache   `json:"cache"`
		Errors []report.Error `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors: %+v", rep.Errors)
	}
	cout, stderr, code := runCacheArgs(t, append(base, "cache", "--json")...)
	if code != exitOK {
		t.Fatalf("cache --json: exit %d\n%s", code, stderr)
	}
	want := strings.Join(baseNames(decodeCache(t, cout).Cache.Candidates), " ")
	if got := strings.Join(baseNames(rep.Cache.Candidates), " "); got != want || got == "" {
		t.Errorf("report --only cache candidates %q, cache --json %q", got, want)
	}

	// The sync database is missing indeed: a section that needs it says so.
	out, _, _ = runCacheArgs(t, append(base, "report", "--only", "foreign", "--json")...)
	if !strings.Contains(out, "neverfetched.db") {
		t.Errorf("report --only foreign does not name the missing sync database:\n%s", out)
	}
}
