package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/testroot"
)

// sysconf makes a system configuration directory holding pactidy.conf.
func sysconf(t *testing.T, content string) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "pactidy", "pactidy.conf")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func TestSettingsCommand(t *testing.T) {
	out, stderr, code := run(t, nil, "settings")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"does not exist: built-in defaults", "[cache] Keep", "3 (same as Keep)", "[quarantine] Retention", "30d"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, ".conf:") || strings.Contains(out, "flag ") {
		t.Errorf("defaults shown as coming from somewhere else:\n%s", out)
	}

	etc, file := sysconf(t, "[cache]\nKeep = 1\n[report]\nNoRule = pycache\nOptional = ignore\n")
	env := map[string]string{"PACTIDY_SYSCONFDIR": etc}
	out, stderr, code = run(t, env, "settings", "--keep", "4", "--no-rule", "fontconfig,icon-cache")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"Settings file " + file,
		"[cache] Keep 4 flag --keep",
		"[cache] KeepUninstalled 4 (same as Keep) default",
		"[report] NoRule fontconfig flag --no-rule",
		"[report] NoRule icon-cache flag --no-rule",
		"[report] Optional ignore " + file + ":5",
	} {
		if !strings.Contains(squeeze(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pycache") {
		t.Errorf("--no-rule did not replace the file's list:\n%s", out)
	}

	out, _, code = run(t, env, "settings", "--json")
	var doc struct {
		File     string
		Read     bool
		Settings []struct{ Section, Key, Value, From string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitOK {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if doc.File != file || !doc.Read {
		t.Errorf("file %q read %v", doc.File, doc.Read)
	}
	found := false
	for _, s := range doc.Settings {
		if s.Section == "cache" && s.Key == "Keep" {
			found = s.Value == "1" && s.From == file+":2"
		}
	}
	if !found {
		t.Errorf("JSON lacks Keep = 1 from %s:2: %+v", file, doc.Settings)
	}

	// --settings names another file, which must exist.
	_, other := sysconf(t, "[cache]\nKeep = 9\n")
	out, _, code = run(t, env, "--settings", other, "settings")
	if code != exitOK || !strings.Contains(out, other+":2") {
		t.Errorf("--settings: exit %d\n%s", code, out)
	}
	_, stderr, code = run(t, env, "--settings", other+".missing", "settings")
	if code != exitFailure || !strings.Contains(stderr, other+".missing: cannot be read") {
		t.Errorf("missing --settings file: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = run(t, env, "settings", "--keep", "lots")
	if code != exitUsage || !strings.Contains(stderr, "--keep") {
		t.Errorf("bad flag value: exit %d, stderr %q", code, stderr)
	}
}

// A bad settings file stops the commands that read it, naming FILE:LINE;
// one that does not read settings still runs.
func TestBadSettingsStopTheRun(t *testing.T) {
	etc, file := sysconf(t, "[cache]\nKeep = 2\nKept = 3\n")
	env := map[string]string{"PACTIDY_SYSCONFDIR": etc}
	r := reportRoot(t)
	for _, args := range [][]string{{"settings"}, {"--config", r.Config, "report"}, {"--config", r.Config, "cache"}} {
		out, stderr, code := run(t, env, args...)
		if code != exitFailure || out != "" || !strings.Contains(stderr, file+":3: unknown setting \"Kept\" in [cache]") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
	if _, stderr, code := run(t, env, "version"); code != exitOK {
		t.Errorf("version: exit %d, %s", code, stderr)
	}
}

func TestReportUsesSettings(t *testing.T) {
	r := reportRoot(t)
	etc, _ := sysconf(t, "[report]\nSections = orphans foreign\nOptional = ignore\n")
	env := map[string]string{"PACTIDY_SYSCONFDIR": etc}
	out, stderr, code := run(t, env, "--config", r.Config, "report", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Sections []string
		Optional string
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if strings.Join(doc.Sections, ",") != "orphans,foreign" || doc.Optional != "ignore" {
		t.Errorf("sections %q optional %q, want the settings'", doc.Sections, doc.Optional)
	}
	// Flags win.
	out, _, _ = run(t, env, "--config", r.Config, "report", "--json", "--only", "unneeded", "--optional", "keep")
	doc.Sections = nil
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if strings.Join(doc.Sections, ",") != "unneeded" || doc.Optional != "keep" {
		t.Errorf("with flags: sections %q optional %q", doc.Sections, doc.Optional)
	}
}

func TestCacheUsesSettings(t *testing.T) {
	r := cacheRoot(t)
	etc, _ := sysconf(t, "[cache]\nKeep = 1\nKeepUninstalled = 0\n")
	env := map[string]string{"PACTIDY_SYSCONFDIR": etc}
	count := func(args ...string) int {
		t.Helper()
		out, stderr, code := run(t, env, append([]string{"--config", r.Config, "cache", "--json"}, args...)...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return len(decodeCache(t, out).Cache.Candidates)
	}
	fromSettings, flags := count(), count("--keep", "3", "--keep-uninstalled", "3")
	if fromSettings <= flags {
		t.Errorf("keep 1 / 0 from the settings: %d candidates, --keep 3: %d", fromSettings, flags)
	}
	out, stderr, code := run(t, nil, "--config", r.Config, "cache", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := len(decodeCache(t, out).Cache.Candidates); got != flags {
		t.Errorf("no settings: %d candidates, want the defaults' %d (--keep 3)", got, flags)
	}
	// The report's cache section is the same plan.
	out, stderr, code = run(t, env, "--config", r.Config, "report", "--only", "cache", "--json", "--no-state")
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var rep struct{ Cache struct{ Candidates []any } }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if got := len(rep.Cache.Candidates); got != fromSettings {
		t.Errorf("report cache section: %d candidates, want the settings' %d", got, fromSettings)
	}
}

// squeeze turns runs of spaces (tabwriter's padding) into one.
func squeeze(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

// runAt runs a command line in a test App whose clock says now.
func runAt(t *testing.T, now time.Time, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return invocation{env: env, now: func() time.Time { return now }}.run(t, args...)
}

// The quarantine commands take their directory from [quarantine] Dir, and
// purge --expired (what pactidy-quarantine.timer runs) the retention.
func TestQuarantineUsesSettings(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1.0-1", Files: map[string]string{"opt/app/bin/app": "x"}})
	if err := os.WriteFile(r.Path("opt/app/cache.db"), []byte("cache"), 0o644); err != nil {
		t.Fatal(err)
	}
	qdir := filepath.Join(t.TempDir(), "q")
	st, err := quarantine.Open(qdir)
	if err != nil {
		t.Fatal(err)
	}
	run0, err := st.Begin(quarantine.Options{Root: r.Dir})
	if err != nil {
		t.Fatal(err)
	}
	e, err := quarantine.Stat(r.Dir, "/opt/app/cache.db")
	if err != nil {
		t.Fatal(err)
	}
	if res := run0.Quarantine(e); res.Err != nil {
		t.Fatal(res.Err)
	}
	run0.Close()
	st.Close()

	g := []string{"--config", r.Config}
	later := time.Now().Add(40 * 24 * time.Hour)
	for _, tt := range []struct {
		retention string
		purged    bool
	}{{"never", false}, {"6w", false}, {"30d", true}} {
		etc, _ := sysconf(t, "[quarantine]\nDir = "+qdir+"\nRetention = "+tt.retention+"\n")
		env := map[string]string{"PACTIDY_SYSCONFDIR": etc}
		out, stderr, code := runAt(t, later, env, append(g, "quarantine", "list")...)
		if code != exitOK || !strings.Contains(out, run0.ID) {
			t.Fatalf("list of the configured quarantine: exit %d, %q %q", code, out, stderr)
		}
		out, stderr, code = runAt(t, later, env, append(g, "quarantine", "purge", "--expired")...)
		if code != exitOK || stderr != "" {
			t.Fatalf("purge --expired: exit %d, %q", code, stderr)
		}
		if got := out == "purged "+run0.ID+"\n"; got != tt.purged {
			t.Errorf("Retention = %s, 40 days later: purge said %q", tt.retention, out)
		}
	}
	if _, _, code := run(t, nil, append(g, "quarantine", "purge", "--expired", "--older-than", "1d")...); code != exitUsage {
		t.Errorf("--expired with --older-than: exit %d", code)
	}
}
