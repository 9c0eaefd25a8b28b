package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type marked struct {
	Name, Path string
	New        *bool
}

type newDoc struct {
	Orphans, Unneeded, Pacfiles, Unowned []marked
}

func decodeNew(t *testing.T, out string) newDoc {
	t.Helper()
	var d newDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return d
}

// marks maps each finding's name (or path) to "new", "old" or "absent".
func marks(items []marked) map[string]string {
	m := map[string]string{}
	for _, it := range items {
		k := it.Name + it.Path
		switch {
		case it.New == nil:
			m[k] = "absent"
		case *it.New:
			m[k] = "new"
		default:
			m[k] = "old"
		}
	}
	return m
}

// The state file: the first report records, the next marks each finding
// new or not, --new shows only the new ones, --no-state leaves it alone.
func TestReportNewSinceLastRun(t *testing.T) {
	r := reportRoot(t)
	g := []string{"--config", r.Config, "report", "--only", "orphans,unneeded,foreign,missing,pacfiles,unowned"}
	statePath := r.Path("var/lib/pactidy/state.json")

	out, stderr, code := run(t, nil, append(g, "--json", "--no-state")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(out, `"new"`) {
		t.Errorf("--no-state marks findings:\n%s", out)
	}
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Fatalf("--no-state wrote the state: %v", err)
	}

	// First run: no earlier record, everything is new.
	out, stderr, code = run(t, nil, append(g, "--json")...)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for name, m := range marks(decodeNew(t, out).Orphans) {
		if m != "new" {
			t.Errorf("first run: orphan %s is %s", name, m)
		}
	}
	if _, err := os.Stat(statePath); err != nil {
		t.Fatalf("state not written: %v", err)
	}
	// Second run: nothing new; the state file is not an unowned finding.
	out, _, _ = run(t, nil, append(g, "--json")...)
	d := decodeNew(t, out)
	for name, m := range marks(d.Orphans) {
		if m != "old" {
			t.Errorf("second run: orphan %s is %s", name, m)
		}
	}
	for _, u := range d.Unowned {
		if strings.HasPrefix(u.Path, "/var/lib/pactidy") {
			t.Errorf("the state is reported unowned: %s", u.Path)
		}
		if u.New == nil || *u.New {
			t.Errorf("second run: unowned %s new=%v", u.Path, u.New)
		}
	}
	out, _, code = run(t, nil, append(g, "--new")...)
	if code != exitOK || strings.Contains(out, "cyc-a") || strings.Contains(out, ".pacnew") {
		t.Errorf("--new with nothing new (exit %d):\n%s", code, out)
	}
	if out, _, _ := run(t, nil, append(g, "--new", "--quiet")...); out != "" {
		t.Errorf("--new --quiet with nothing new printed:\n%s", out)
	}

	// Something new: firefox becomes a dependency (an orphan, taking gtk3
	// and cairo along), a .pacnew appears.
	r.Pacman(t, "-D", "--asdeps", "firefox")
	if err := os.WriteFile(r.Path("etc/other.conf.pacnew"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, nil, append(g, "--json", "--new")...)
	d = decodeNew(t, out)
	got := marks(d.Orphans)
	if want := map[string]string{"firefox": "new", "gtk3": "new", "cairo": "new"}; !equalMaps(got, want) {
		t.Errorf("--new orphans %v, want %v", got, want)
	}
	if got, want := marks(d.Pacfiles), map[string]string{"/etc/other.conf.pacnew": "new"}; !equalMaps(got, want) {
		t.Errorf("--new pacfiles %v, want %v", got, want)
	}
	if len(d.Unneeded) != 0 {
		t.Errorf("--new lists old findings: %+v", d.Unneeded)
	}
	// Recorded: the same again is not new.
	out, _, _ = run(t, nil, append(g, "--json", "--new")...)
	if d := decodeNew(t, out); len(d.Orphans) != 0 {
		t.Errorf("new twice: %+v", d.Orphans)
	}
	// Usage errors.
	for _, args := range [][]string{{"--new", "--no-state"}, {"--new", "--prometheus"}} {
		if _, _, code := run(t, nil, append(g, args...)...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A damaged state file is reported once and replaced; the report runs.
func TestReportDamagedState(t *testing.T) {
	r := reportRoot(t)
	statePath := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(statePath, []byte("{\"format\": \"someone else\"}"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := []string{"--config", r.Config, "report", "--only", "orphans", "--state", statePath}
	out, stderr, code := run(t, nil, g...)
	if code != exitOK || !strings.Contains(out, "cyc-a") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(stderr, "pactidy: note: state file "+statePath+" is not a pactidy state file; it will be replaced") {
		t.Errorf("stderr %q", stderr)
	}
	_, stderr, _ = run(t, nil, g...)
	if stderr != "" {
		t.Errorf("reported twice: %q", stderr)
	}
}

// --output writes what would have been printed, atomically; --metrics
// writes the settings' PrometheusFile, which promtool accepts.
func TestReportOutputAndMetrics(t *testing.T) {
	r := reportRoot(t)
	dir := t.TempDir()
	prom := filepath.Join(dir, "pactidy.prom")
	etc, _ := sysconf(t, "[report]\nPrometheusFile = "+prom+"\n")
	env := map[string]string{"PACTIDY_SYSCONFDIR": etc}
	g := []string{"--config", r.Config, "report", "--only", "orphans,unneeded,foreign,missing,pacfiles", "--no-state"}

	want, _, _ := run(t, env, append(g, "--json")...)
	outFile := filepath.Join(dir, "report.json")
	out, stderr, code := run(t, env, append(g, "--json", "--output", outFile)...)
	if code != exitOK || out != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if got, _ := os.ReadFile(outFile); string(got) != want {
		t.Errorf("--output wrote:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat(prom); !os.IsNotExist(err) {
		t.Errorf("metrics written without --metrics: %v", err)
	}

	out, _, code = run(t, env, append(g, "--prometheus", "--output", filepath.Join(dir, "explicit.prom"))...)
	if code != exitOK || out != "" {
		t.Fatalf("--prometheus --output: exit %d, %q", code, out)
	}
	out, stderr, code = run(t, env, "--config", r.Config, "report", "--quiet", "--metrics",
		"--state", filepath.Join(dir, "state.json"), "--only", "orphans,unneeded,foreign,missing,pacfiles")
	if code != exitOK || !strings.Contains(out, "cyc-a") {
		t.Fatalf("--metrics: exit %d, %q %q", code, out, stderr)
	}
	data, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pactidy_orphans 4\n", `pactidy_new{section="orphans"} 4`, `pactidy_scan_duration_seconds{section="pacfiles"} `,
		"pactidy_last_success_timestamp_seconds 1767323045\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, data)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not installed (run scripts/install-deps.sh): %v", err)
	}
	for _, f := range []string{prom, filepath.Join(dir, "explicit.prom")} {
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(promtool, "check", "metrics") // reads standard input
		cmd.Stdin = in
		msg, err := cmd.CombinedOutput()
		in.Close()
		if err != nil || len(msg) > 0 {
			t.Errorf("promtool check metrics %s: %v\n%s", f, err, msg)
		}
	}
}

// A normal user gets the report without the state and a note; as root the
// test runs itself again as nobody.
func TestReportStateAsNormalUser(t *testing.T) {
	if config := os.Getenv("PACTIDY_STATE_USER_CONFIG"); config != "" {
		if os.Geteuid() == 0 {
			t.Fatal("helper still runs as root")
		}
		out, stderr, code := run(t, nil, "--config", config, "report", "--only", "orphans", "--json")
		if code != exitOK || !strings.Contains(out, `"cyc-a"`) {
			t.Fatalf("exit %d:\n%s\n%s", code, out, stderr)
		}
		// The state root wrote is readable: findings are marked.
		if !strings.Contains(out, `"new": false`) {
			t.Errorf("no marks from the readable state:\n%s", out)
		}
		if !strings.Contains(stderr, "pactidy: note: ") || !strings.Contains(stderr, "permission denied: this report was not recorded (run it as root to record it)") {
			t.Errorf("stderr %q", stderr)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to build the root and to switch to an unprivileged user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	r := reportRoot(t)
	if _, stderr, code := run(t, nil, "--config", r.Config, "report", "--only", "orphans"); code != exitOK || stderr != "" {
		t.Fatalf("as root: exit %d, %s", code, stderr)
	}
	statePath := r.Path("var/lib/pactidy/state.json")
	before, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for d := r.Dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		exe, "-test.run=^TestReportStateAsNormalUser$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PACTIDY_STATE_USER_CONFIG="+r.Config, "HOME=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestReportStateAsNormalUser") {
		t.Fatalf("report as nobody: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(statePath); string(after) != string(before) {
		t.Error("the state changed")
	}
}
