package packaging

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// unitFiles are the systemd units the package installs.
func unitFiles(t *testing.T) []string {
	t.Helper()
	var units []string
	for _, pat := range []string{"*.service", "*.timer"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		units = append(units, m...)
	}
	sort.Strings(units)
	if len(units) < 6 {
		t.Fatalf("only %d units: %v", len(units), units)
	}
	return units
}

// buildPactidy builds the binary the units run.
func buildPactidy(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(t.TempDir(), "pactidy")
	if out, err := exec.Command(goBin, "build", "-o", bin, "../cmd/pactidy").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// directives reads a unit file into section.Key -> values.
func directives(t *testing.T, file string) map[string][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = strings.Trim(l, "[]")
		default:
			k, v, _ := strings.Cut(l, "=")
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

// TestUnitsVerify runs systemd-analyze verify (Debian's systemd package;
// it needs no running systemd) on every unit. verify insists that
// ExecStart's binary exists, so the units are checked in a copy whose
// /usr/bin/pactidy is a freshly built binary. verify only warns about an
// unknown key (exit status 0), so any output fails the test too. It also
// runs man for every Documentation= page.
func TestUnitsVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not installed (run scripts/install-deps.sh): %v", err)
	}
	bin := buildPactidy(t)
	dir := t.TempDir()
	var copies []string
	for _, u := range unitFiles(t) {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		c := filepath.Join(dir, u)
		if err := os.WriteFile(c, []byte(strings.ReplaceAll(string(data), "/usr/bin/pactidy", bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, c)
	}
	// verify looks up the Documentation= man pages: give it the pages
	// the package installs, written by the binary.
	man := filepath.Join(dir, "man")
	if out, err := exec.Command(bin, "man", filepath.Join(man, "man1")).CombinedOutput(); err != nil {
		t.Fatalf("pactidy man: %v\n%s", err, out)
	}
	cmd := exec.Command(sa, append([]string{"verify"}, copies...)...)
	cmd.Env = append(os.Environ(), "MANPATH="+man)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	// verify does catch mistakes: an unknown key is reported, a missing
	// binary fails.
	bad := filepath.Join(dir, "bad.service")
	os.WriteFile(bad, []byte("[Service]\nType=oneshot\nExecStart="+bin+" version\nNicee=19\n"), 0o644)
	if out, _ := exec.Command(sa, "verify", bad).CombinedOutput(); !strings.Contains(string(out), "Nicee") {
		t.Errorf("verify did not report an unknown key: %s", out)
	}
	os.WriteFile(bad, []byte("[Service]\nType=oneshot\nExecStart=/nonexistent/pactidy version\n"), 0o644)
	if out, err := exec.Command(sa, "verify", bad).CombinedOutput(); err == nil {
		t.Errorf("verify accepted a missing binary: %s", out)
	}

	// Every ExecStart's flags exist: the binary parses them (with --help,
	// which runs nothing).
	for _, u := range unitFiles(t) {
		for _, exec1 := range directives(t, u)["Service.ExecStart"] {
			args := strings.Fields(exec1)
			if len(args) < 2 || args[0] != "/usr/bin/pactidy" {
				t.Errorf("%s: ExecStart=%s does not run /usr/bin/pactidy", u, exec1)
				continue
			}
			cmd := exec.Command(bin, append(args[1:], "--help")...)
			cmd.Env = append(os.Environ(), "PACTIDY_SYSCONFDIR="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: %s --help: %v\n%s", u, exec1, err, out)
			}
		}
	}
}

// Every service runs at idle priority, sandboxed, with only what it needs
// writable; every timer has its service and is enabled through
// timers.target.
func TestUnitsSandboxed(t *testing.T) {
	want := map[string]string{
		"Service.Nice":                "19",
		"Service.CPUSchedulingPolicy": "idle",
		"Service.IOSchedulingClass":   "idle",
		"Service.ProtectSystem":       "strict",
		"Service.ProtectHome":         "read-only",
		"Service.PrivateTmp":          "true",
		"Service.NoNewPrivileges":     "true",
		"Service.Type":                "oneshot",
	}
	writable := map[string]string{
		"pactidy-report.service":     "StateDirectory=pactidy ReadWritePaths=-/var/lib/prometheus/node-exporter -/var/lib/node_exporter",
		"pactidy-cache.service":      "ReadWritePaths=/var/cache/pacman/pkg /var/lib/pacman",
		"pactidy-quarantine.service": "ReadWritePaths=-/var/lib/pactidy/quarantine",
	}
	for _, u := range unitFiles(t) {
		d := directives(t, u)
		switch filepath.Ext(u) {
		case ".service":
			for k, v := range want {
				if got := strings.Join(d[k], " "); got != v {
					t.Errorf("%s: %s=%q, want %q", u, k, got, v)
				}
			}
			var w []string
			for _, k := range []string{"StateDirectory", "ReadWritePaths"} {
				for _, v := range d["Service."+k] {
					w = append(w, k+"="+v)
				}
			}
			if got := strings.Join(w, " "); got != writable[u] {
				t.Errorf("%s: writable %q, want %q", u, got, writable[u])
			}
		case ".timer":
			svc := strings.TrimSuffix(u, ".timer") + ".service"
			if _, err := os.Stat(svc); err != nil {
				t.Errorf("%s: no %s", u, svc)
			}
			if got := strings.Join(d["Install.WantedBy"], " "); got != "timers.target" {
				t.Errorf("%s: WantedBy=%q", u, got)
			}
			if got := strings.Join(d["Timer.Persistent"], " "); got != "true" {
				t.Errorf("%s: Persistent=%q", u, got)
			}
		}
	}
}

// The README's Prometheus alert rules are valid rules (promtool check
// rules) over the gauges pactidy writes.
func TestREADMEAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not installed (run scripts/install-deps.sh): %v", err)
	}
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "```yaml\ngroups:")
	if i < 0 {
		t.Fatal("README has no alert rules")
	}
	rules := s[i+len("```yaml\n"):]
	rules = rules[:strings.Index(rules, "```")]
	for _, gauge := range []string{"pactidy_orphans", "pactidy_cache_reclaim_bytes", "pactidy_missing_files", "pactidy_last_success_timestamp_seconds"} {
		if !strings.Contains(rules, gauge) {
			t.Errorf("the rules do not use %s", gauge)
		}
	}
	f := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(f, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput(); err != nil || !strings.Contains(string(out), "SUCCESS: 4 rules found") {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
