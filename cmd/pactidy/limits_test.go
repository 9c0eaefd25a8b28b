package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/testroot"
)

// TestMain lets a test run pactidy's real main in a process of its own
// (this test binary, re-executed with PACTIDY_TEST_MAIN=1), so that
// process limits set by a shell (ulimit) and exit statuses are the
// program's own.
func TestMain(m *testing.M) {
	if os.Getenv("PACTIDY_TEST_MAIN") == "1" {
		os.Args = append([]string{"pactidy"}, os.Args[1:]...)
		main()
		os.Exit(0) // main always exits; this is never reached
	}
	os.Exit(m.Run())
}

// runLimited runs pactidy with args under the shell commands in limits
// (e.g. "ulimit -n 8") and returns its output and exit status.
func runLimited(t *testing.T, limits string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", append([]string{"-c", limits + ` && exec $PACTIDY_TEST_WRAP "$0" "$@"`, exe}, args...)...)
	cmd.Env = append(os.Environ(), "PACTIDY_TEST_MAIN=1", "PACTIDY_SYSCONFDIR="+t.TempDir(), "NO_COLOR=1", "HOME=/nonexistent", "XDG_CACHE_HOME=", "SUDO_USER=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// limitsRoot has dependencies (so that a desc libalpm cannot read would
// change the orphans), files, a sync repository, and a cache with the
// installed version of foo among older ones.
func limitsRoot(t *testing.T) (*testroot.Root, map[string][]byte) {
	t.Helper()
	r := testroot.New(t)
	files := func(name string) map[string]string {
		return map[string]string{"usr/share/" + name + "/a": name, "usr/share/" + name + "/b": name}
	}
	var deps []testroot.Pkg
	for i := range 12 {
		deps = append(deps, testroot.Pkg{Name: fmt.Sprintf("lib%02d", i), Version: "1.0-1", Files: files(fmt.Sprintf("lib%02d", i))})
	}
	r.InstallAsDeps(t, deps...)
	var need []string
	for _, d := range deps[:8] {
		need = append(need, d.Name)
	}
	foo := func(v string) testroot.Pkg {
		return testroot.Pkg{Name: "foo", Version: v, Depends: need, Files: files("foo")}
	}
	r.Install(t, foo("1.5-1"))
	r.AddRepo(t, "core", deps[:4]...)
	for _, v := range []string{"1.0-1", "1.2-1", "1.5-1", "2.0-1"} {
		testroot.Build(t, r.CacheDir, foo(v))
	}
	testroot.Build(t, r.CacheDir, testroot.Pkg{Name: "gone", Version: "1-1"})
	old := time.Now().Add(-60 * 24 * time.Hour)
	cache := map[string][]byte{}
	ents, err := os.ReadDir(r.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(r.CacheDir, e.Name())
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		if cache[e.Name()], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	return r, cache
}

func restoreCache(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	old := time.Now().Add(-60 * 24 * time.Hour)
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestFewFileDescriptors: under any "ulimit -n" pactidy either does what
// it does without the limit, or fails with exit status 1 and a message;
// it never treats what it could not read as absent (a package as not
// installed, whose cached versions --remove then deletes) and never
// aborts with the runtime's status 2.
func TestFewFileDescriptors(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	r, cache := limitsRoot(t)
	commands := [][]string{
		{"--config", r.Config, "cache", "--keep", "1"},
		{"--config", r.Config, "report"},
	}
	base := make([]string, len(commands))
	for i, args := range commands {
		out, stderr, code := runLimited(t, "true", args...)
		if code != exitOK {
			t.Fatalf("%q without a limit: exit %d: %s", args, code, stderr)
		}
		base[i] = out
	}
	removeArgs := []string{"--config", r.Config, "cache", "--keep", "0", "--keep-uninstalled", "0", "--remove"}
	restoreCache(t, r.CacheDir, cache)
	if _, stderr, code := runLimited(t, "true", removeArgs...); code != exitOK {
		t.Fatalf("--remove without a limit: exit %d: %s", code, stderr)
	}
	baseLeft := listDir(t, r.CacheDir)
	if strings.Join(baseLeft, " ") != "foo-1.5-1-"+archOf(t, baseLeft) {
		t.Fatalf("--remove without a limit left %q", baseLeft)
	}

	worked, failed := 0, 0
	for _, n := range []int{6, 7, 8, 9, 10, 11, 12, 16} {
		limit := fmt.Sprintf("ulimit -n %d", n)
		restoreCache(t, r.CacheDir, cache)
		for i, args := range commands {
			out, stderr, code := runLimited(t, limit, args...)
			switch code {
			case exitOK:
				worked++
				if out != base[i] {
					t.Errorf("%s, %q: exit 0 with other output:\n%s\nwithout the limit:\n%s\nstderr: %s", limit, args[2:], out, base[i], stderr)
				}
			case exitFailure:
				failed++
				if !strings.HasPrefix(stderr, "pactidy: ") || strings.Contains(stderr, "goroutine ") {
					t.Errorf("%s, %q: exit 1 without a plain message: %q", limit, args[2:], stderr)
				}
			default:
				t.Errorf("%s, %q: exit %d: %s", limit, args[2:], code, stderr)
			}
		}
		restoreCache(t, r.CacheDir, cache)
		_, stderr, code := runLimited(t, limit, removeArgs...)
		left := listDir(t, r.CacheDir)
		switch {
		case code != exitOK && code != exitFailure:
			t.Errorf("%s, --remove: exit %d: %s", limit, code, stderr)
		case code == exitOK && strings.Join(left, " ") != strings.Join(baseLeft, " "):
			t.Errorf("%s, --remove: exit 0, left %q, without the limit %q", limit, left, baseLeft)
		}
		if !contains(left, baseLeft[0]) {
			t.Errorf("%s, --remove removed the installed version %s (exit %d, stderr %q)", limit, baseLeft[0], code, stderr)
		}
	}
	t.Logf("ulimit -n 6 to 16: %d runs as without the limit, %d failed with exit 1", worked, failed)
	if worked == 0 {
		t.Error("no run worked under any of the limits; the test shows nothing")
	}
}

func archOf(t *testing.T, names []string) string {
	t.Helper()
	for _, n := range names {
		if strings.HasPrefix(n, "foo-1.5-1-") {
			return strings.TrimPrefix(n, "foo-1.5-1-")
		}
	}
	t.Fatalf("no foo-1.5-1 in %q", names)
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A package whose files entry is missing would make its files look
// unowned: the unowned section is then unknown, never a list of them.
func TestUnownedWithoutAFileList(t *testing.T) {
	r := testroot.New(t)
	r.Install(t,
		testroot.Pkg{Name: "foo", Version: "1-1", Files: map[string]string{"usr/share/foo/a": "a", "usr/lib/foo/b": "b"}},
		testroot.Pkg{Name: "bar", Version: "1-1", Files: map[string]string{"usr/share/bar/c": "c"}})
	files := filepath.Join(r.DBPath, "local", "foo-1-1", "files")
	if err := os.Remove(files); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, nil, "--config", r.Config, "report", "--json", "--only", "unowned")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Unowned     []struct{ Path string } `json:"unowned"`
		Incomplete  *bool                   `json:"unowned_incomplete"`
		NoFileLists []string                `json:"unowned_no_file_lists"`
		Errors      []struct{ Path string } `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, u := range rep.Unowned {
		if strings.Contains(u.Path, "foo") {
			t.Errorf("%s of foo, whose file list is missing, reported as unowned", u.Path)
		}
	}
	if rep.Incomplete == nil || !*rep.Incomplete || strings.Join(rep.NoFileLists, " ") != "foo" {
		t.Errorf("unowned_incomplete %v, unowned_no_file_lists %q; want true and foo", rep.Incomplete, rep.NoFileLists)
	}
	named := false
	for _, e := range rep.Errors {
		named = named || e.Path == files
	}
	if !named {
		t.Errorf("errors %v do not name %s", rep.Errors, files)
	}
	text, _, code := run(t, nil, "--config", r.Config, "report", "--only", "unowned")
	if code != exitOK || !strings.Contains(text, "Files no package owns: unknown, the file list of foo could not be read") {
		t.Errorf("exit %d, text:\n%s", code, text)
	}
	prom, _, _ := run(t, nil, "--config", r.Config, "report", "--prometheus", "--only", "unowned")
	if strings.Contains(prom, "pactidy_unowned") {
		t.Errorf("gauges of an unknown section:\n%s", prom)
	}
	// With the entry back, foo's files are owned and the section known.
	if err := os.WriteFile(files, []byte("%FILES%\nusr/\nusr/lib/\nusr/lib/foo/\nusr/lib/foo/b\nusr/share/\nusr/share/foo/\nusr/share/foo/a\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, nil, "--config", r.Config, "report", "--json", "--only", "unowned")
	if !strings.Contains(out, `"unowned_incomplete": false`) || strings.Contains(out, "/usr/share/foo") {
		t.Errorf("with the file list back:\n%s", out)
	}
}

// A desc or files entry pactidy cannot read (here: as a user without
// permission) fails the command, naming it; it is never a package without
// dependencies or a package not installed.
func TestUnreadableEntriesFail(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make an entry another user cannot read")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	r, _ := limitsRoot(t)
	for d := r.Dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe, _ := os.Executable()
	for d := filepath.Dir(exe); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	t.Setenv("PACTIDY_TEST_WRAP", setpriv+" --reuid=nobody --regid=nogroup --clear-groups --")
	if out, stderr, code := runLimited(t, "true", "--config", r.Config, "cache"); code != exitOK {
		t.Fatalf("as nobody, all readable: exit %d: %s%s", code, out, stderr)
	}
	for _, entry := range []string{"lib03-1.0-1/desc", "lib05-1.0-1/files"} {
		path := filepath.Join(r.DBPath, "local", entry)
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"cache"}, {"report"}, {"report", "--only", "orphans"}} {
			if strings.HasSuffix(entry, "files") && strings.Join(args, " ") != "report" {
				continue // the cache plan and the orphans do not read file lists
			}
			out, stderr, code := runLimited(t, "true", append([]string{"--config", r.Config}, args...)...)
			if code != exitFailure || !strings.Contains(stderr, path) {
				t.Errorf("%s unreadable, %q: exit %d, stderr %q (want 1 naming it)\n%s", entry, args, code, stderr, out)
			}
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAddressSpaceLimit: pactidy reports on a small system within the
// address space the README documents. Before, glibc's per-thread malloc
// arenas (libalpm's mallocs on Go's threads) and 8 MiB thread stacks made
// it reserve 1.7 GB for "pactidy version" and 2.6 GB for a report on
// 2,000 packages, and the Go runtime aborted with status 2.
func TestAddressSpaceLimit(t *testing.T) {
	r, _ := limitsRoot(t)
	out, stderr, code := runLimited(t, "ulimit -v 1000000", "--config", r.Config, "report", "--json")
	if code != exitOK {
		t.Fatalf("report under ulimit -v 1000000: exit %d\n%.2000s", code, stderr)
	}
	if !strings.Contains(out, `"orphans"`) {
		t.Errorf("report under the limit:\n%s", out)
	}
}
