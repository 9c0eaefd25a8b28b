package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
)

// cleanRun runs pactidy with stdin; terminal says whether it is a terminal.
func cleanRun(t *testing.T, stdin string, terminal bool, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return invocation{stdin: strings.NewReader(stdin), stdinIsTerminal: func() bool { return terminal }}.run(t, args...)
}

// orphanRoot: app -> lib1 (kept), oa <-> ob (a cycle of orphans), oc -> od
// (orphans).
func orphanRoot(t *testing.T) *testroot.Root {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("removing packages with the real pacman needs root")
	}
	r := testroot.New(t)
	data := func(n string) map[string]string {
		return map[string]string{"usr/share/" + n + "/x": strings.Repeat(n, 300)}
	}
	r.InstallAsDeps(t,
		testroot.Pkg{Name: "lib1", Version: "1-1", Files: data("lib1")},
		testroot.Pkg{Name: "oa", Version: "1-1", Depends: []string{"ob"}, Files: data("oa")},
		testroot.Pkg{Name: "ob", Version: "1-1", Depends: []string{"oa"}, Files: data("ob")},
		testroot.Pkg{Name: "oc", Version: "1-1", Depends: []string{"od"}, Files: data("oc")},
		testroot.Pkg{Name: "od", Version: "1-1", Files: data("od")},
	)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1-1", Depends: []string{"lib1"}, Files: data("app")})
	return r
}

func names(t *testing.T, r *testroot.Root) []string {
	t.Helper()
	_, db := testdb.Load(t, r.Config, conf.Overrides{})
	var out []string
	for _, p := range db.Packages {
		out = append(out, p.Name)
	}
	return out
}

func TestCleanOrphansAsksOrRefuses(t *testing.T) {
	r := orphanRoot(t)
	all := []string{"app", "lib1", "oa", "ob", "oc", "od"}
	base := []string{"--config", r.Config, "clean", "orphans"}

	// --dry-run prints the whole -Rns set and the command, changes nothing.
	out, errs, code := cleanRun(t, "", false, append(base, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "4 packages") || !strings.Contains(errs, "Dry run") {
		t.Errorf("--dry-run: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"oa 1-1", "ob 1-1", "oc 1-1", "od 1-1", "-Rns --noconfirm -- oa ob oc od"} {
		if !strings.Contains(out, want) {
			t.Errorf("--dry-run plan lacks %q:\n%s", want, out)
		}
	}
	if got := names(t, r); !reflect.DeepEqual(got, all) {
		t.Fatalf("after --dry-run: %q", got)
	}

	// No terminal and no --yes: exit 2, nothing done.
	out, errs, code = cleanRun(t, "y\n", false, base...)
	if code != exitUsage || !strings.Contains(errs, "--yes") {
		t.Errorf("without a terminal: exit %d\n%s\n%s", code, out, errs)
	}
	if got := names(t, r); !reflect.DeepEqual(got, all) {
		t.Fatalf("after the refusal: %q", got)
	}

	t.Logf("DRY\n%s\n%s", out, errs)
	// On a terminal: "n" keeps everything.
	_, errs, code = cleanRun(t, "n\n", true, base...)
	if code != 0 || !strings.Contains(errs, "Remove 4 packages") || !strings.Contains(errs, "Nothing was changed") {
		t.Errorf("answer n: exit %d\n%s", code, errs)
	}
	if got := names(t, r); !reflect.DeepEqual(got, all) {
		t.Fatalf("after answering n: %q", got)
	}

	// A non-orphan is refused with its chain.
	_, errs, code = cleanRun(t, "", false, append(base, "--yes", "lib1", "oc")...)
	if code != exitFailure || !strings.Contains(errs, "lib1: not an orphan, needed: app -> lib1") {
		t.Errorf("lib1: exit %d\n%s", code, errs)
	}
	if got := names(t, r); !reflect.DeepEqual(got, all) {
		t.Fatalf("after refusing lib1: %q", got)
	}
	out, _, code = cleanRun(t, "", false, append(base, "--yes", "--json", "lib1")...)
	var refused struct {
		Action string `json:"action"`
		Errors []struct {
			Path  string `json:"path"`
			Error string `json:"error"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &refused); err != nil || code != exitFailure || refused.Action != "refused" ||
		len(refused.Errors) != 1 || refused.Errors[0].Path != "lib1" || !strings.Contains(refused.Errors[0].Error, "app -> lib1") {
		t.Errorf("--json refusal: exit %d, %v\n%s", code, err, out)
	}

	// "y" on a terminal: one orphan of the cycle, which cascades.
	out, errs, code = cleanRun(t, "y\n", true, append(base, "oa")...)
	if code != 0 || !strings.Contains(errs, ":: running ") || !strings.Contains(errs, " -Rcns --noconfirm -- oa") ||
		!strings.Contains(out, "2 packages removed") {
		t.Errorf("answer y: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("RUN\n%s\n%s", out, errs)
	if got := names(t, r); !reflect.DeepEqual(got, []string{"app", "lib1", "oc", "od"}) {
		t.Fatalf("after removing oa: %q", got)
	}
}

func TestCleanOrphansJSON(t *testing.T) {
	r := orphanRoot(t)
	lock := filepath.Join(r.DBPath, "db.lck")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code := cleanRun(t, "", false, "--config", r.Config, "clean", "orphans", "--yes", "--json")
	if code != exitFailure || !strings.Contains(errs, "pacman is running") || !strings.Contains(errs, lock) {
		t.Errorf("with db.lck: exit %d\n%s", code, errs)
	}
	if got := names(t, r); len(got) != 6 {
		t.Fatalf("with db.lck held: %q", got)
	}
	os.Remove(lock)

	out, errs, code := cleanRun(t, "", false, "--config", r.Config, "clean", "orphans", "--yes", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var doc struct {
		Section string `json:"section"`
		Action  string `json:"action"`
		Plan    struct {
			Items    int      `json:"items"`
			Bytes    int64    `json:"bytes"`
			Targets  []string `json:"targets"`
			Packages []struct {
				Name string `json:"name"`
				Size int64  `json:"size"`
			} `json:"packages"`
		} `json:"plan"`
		Result struct {
			Done   int   `json:"done"`
			Bytes  int64 `json:"bytes"`
			Pacman struct {
				Argv       []string `json:"argv"`
				ExitStatus int      `json:"exit_status"`
				Removed    []string `json:"removed"`
				Freed      int64    `json:"freed_bytes"`
			} `json:"pacman"`
		} `json:"result"`
		Errors []any `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Section != "orphans" || doc.Action != "clean" || doc.Plan.Items != 4 || doc.Result.Done != 4 ||
		doc.Result.Bytes != doc.Plan.Bytes || doc.Result.Pacman.Freed != doc.Plan.Bytes || doc.Plan.Bytes == 0 ||
		!reflect.DeepEqual(doc.Result.Pacman.Removed, []string{"oa", "ob", "oc", "od"}) || len(doc.Errors) != 0 {
		t.Errorf("document %+v", doc)
	}
	// pacman's output went to stderr, not into the document.
	if !strings.Contains(errs, "removing") {
		t.Errorf("pacman's output: %q", errs)
	}
	if got := names(t, r); !reflect.DeepEqual(got, []string{"app", "lib1"}) {
		t.Fatalf("after clean: %q", got)
	}
}

func TestCleanCache(t *testing.T) {
	r := cacheRoot(t)
	before, _ := os.ReadDir(r.CacheDir)
	args := []string{"--config", r.Config, "clean", "cache", "--keep", "1"}
	out, errs, code := cleanRun(t, "", false, append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(errs, "Dry run") {
		t.Fatalf("--dry-run: exit %d\n%s\n%s", code, out, errs)
	}
	if after, _ := os.ReadDir(r.CacheDir); len(after) != len(before) {
		t.Fatalf("--dry-run changed the cache")
	}
	_, _, code = cleanRun(t, "", false, args...)
	if code != exitUsage {
		t.Fatalf("without a terminal: exit %d", code)
	}
	out, errs, code = cleanRun(t, "", false, append(args, "--yes")...)
	if code != 0 {
		t.Fatalf("--yes: exit %d\n%s\n%s", code, out, errs)
	}
	// --keep 1 keeps foo 2.0-1 (installed and newest) and gone 2-1; the
	// three older foo, their signature, gone 1-1 and the stray signature go.
	var left []string
	after, _ := os.ReadDir(r.CacheDir)
	for _, e := range after {
		left = append(left, e.Name())
	}
	want := []string{"foo-2.0-1-any.pkg.tar.zst", "gone-2-1-any.pkg.tar.zst"}
	if !reflect.DeepEqual(left, want) {
		t.Errorf("left in the cache: %q, want %q\n%s", left, want, out)
	}
	if !strings.Contains(out, "6 of 6 removed") || !strings.Contains(out, "removed "+filepath.Join(r.CacheDir, "foo-1.0-1-any.pkg.tar.zst")) {
		t.Errorf("output:\n%s", out)
	}
}

func TestCleanUnowned(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("building a root with pacman needs root here")
	}
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1-1", Files: map[string]string{"opt/app/bin": "x"}})
	for p, c := range map[string]string{"opt/app/junk": "junk", "opt/old/a": "aa", "opt/old/b/c": "ccc", "opt/other": "o"} {
		if err := os.MkdirAll(filepath.Dir(r.Path(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.Path(p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"--config", r.Config, "clean", "unowned"}
	exists := func(p string) bool { _, err := os.Lstat(r.Path(p)); return err == nil }

	// Without names the plan is every finding; a dry run moves nothing.
	out, errs, code := cleanRun(t, "", false, append(base, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "/opt/app/junk  file") || !strings.Contains(out, "/opt/old/  dir, 3 entries") ||
		!strings.Contains(out, "/opt/other  file") || !strings.Contains(out, "Into the quarantine "+filepath.Join(r.Dir, "var/lib/pactidy/quarantine")) {
		t.Errorf("--dry-run: exit %d\n%s\n%s", code, out, errs)
	}
	if !exists("opt/app/junk") || !exists("opt/old/b/c") {
		t.Fatal("--dry-run moved something")
	}
	// A path that is not a finding: nothing moves.
	_, errs, code = cleanRun(t, "", false, append(base, "--yes", "/opt/app/junk", "/opt/app/bin")...)
	if code != exitFailure || !strings.Contains(errs, "/opt/app/bin: not an unowned entry") || !exists("opt/app/junk") {
		t.Errorf("an owned path named: exit %d\n%s", code, errs)
	}
	// No terminal, no --yes.
	if _, _, code = cleanRun(t, "", false, append(base, "/opt/app/junk")...); code != exitUsage || !exists("opt/app/junk") {
		t.Errorf("without a terminal: exit %d", code)
	}

	out, errs, code = cleanRun(t, "", false, append(base, "--yes", "--json", "/opt/app/junk", "/opt/old")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	var doc struct {
		Action string `json:"action"`
		Plan   struct {
			Items   int `json:"items"`
			Entries []struct {
				Path string `json:"path"`
			} `json:"entries"`
		} `json:"plan"`
		Result struct {
			Done       int   `json:"done"`
			Bytes      int64 `json:"bytes"`
			Quarantine struct {
				Dir string `json:"dir"`
				ID  string `json:"id"`
			} `json:"quarantine"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Action != "clean" || doc.Plan.Items != 2 || doc.Result.Done != 2 || doc.Result.Bytes != 4+2+3 || doc.Result.Quarantine.ID == "" {
		t.Errorf("document %+v", doc)
	}
	if exists("opt/app/junk") || exists("opt/old") || !exists("opt/other") || !exists("opt/app/bin") {
		t.Errorf("after clean: junk %v, old %v, other %v, bin %v", exists("opt/app/junk"), exists("opt/old"), exists("opt/other"), exists("opt/app/bin"))
	}
	// The quarantine command finds the run and puts it back.
	out, errs, code = cleanRun(t, "", false, "--config", r.Config, "quarantine", "restore", doc.Result.Quarantine.ID)
	if code != 0 || !exists("opt/app/junk") || !exists("opt/old/b/c") {
		t.Errorf("restore: exit %d\n%s\n%s", code, out, errs)
	}

	// --no-quarantine deletes, and says so in the plan.
	out, errs, code = cleanRun(t, "", false, append(base, "--yes", "--no-quarantine", "/opt/other")...)
	if code != 0 || exists("opt/other") || !strings.Contains(out, "deleted for good") {
		t.Errorf("--no-quarantine: exit %d\n%s\n%s", code, out, errs)
	}
}

func TestCleanCompletion(t *testing.T) {
	r := orphanRoot(t)
	// cobra's hidden __complete command is what the shell scripts call.
	out, errs, code := cleanRun(t, "", false, "--config", r.Config, "__complete", "clean", "orphans", "oa", "")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			got = append(got, l)
		}
	}
	// The other orphans and app (explicit, nothing needs it); not lib1
	// (app needs it) nor oa (given).
	if want := []string{"ob", "oc", "od", "app"}; !reflect.DeepEqual(got, want) {
		t.Errorf("completions %q, want %q", got, want)
	}
}

func TestCleanOrphansPacmanFails(t *testing.T) {
	r := orphanRoot(t)
	// A hook that makes pacman refuse the transaction.
	hook := "[Trigger]\nOperation = Remove\nType = Package\nTarget = oc\n\n" +
		"[Action]\nDescription = Refusing to remove oc\nWhen = PreTransaction\nExec = /nonexistent/refuse\nAbortOnFail\n"
	if err := os.WriteFile(filepath.Join(r.HookDir, "refuse.hook"), []byte(hook), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := cleanRun(t, "", false, "--config", r.Config, "clean", "orphans", "--yes", "oc")
	if code != 1 || !strings.Contains(errs, "pacman failed with exit status 1") || !strings.Contains(out+errs, "Refusing to remove oc") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "0 packages removed") || !strings.Contains(out, "Still installed: oc od") {
		t.Errorf("summary:\n%s", out)
	}
	if got := names(t, r); len(got) != 6 {
		t.Errorf("installed after pacman failed: %q", got)
	}
}
