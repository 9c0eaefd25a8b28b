package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/report"
)

// TestReportAsNormalUser: the report is read-only and needs no root. As
// root the test re-runs itself as nobody on a root built by pacman.
func TestReportAsNormalUser(t *testing.T) {
	if config := os.Getenv("PACTIDY_REPORT_USER_CONFIG"); config != "" {
		if os.Geteuid() == 0 {
			t.Fatal("helper still runs as root")
		}
		out, stderr, code := run(t, nil, "--config", config, "report", "--json", "--only", "orphans,unneeded,foreign,missing,pacfiles,unowned")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rep report.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		var orphans []string
		for _, o := range rep.Orphans {
			orphans = append(orphans, o.Name)
		}
		if got := strings.Join(orphans, " "); got != "cyc-a cyc-b oldlib oldlib-data" {
			t.Errorf("orphans as nobody: %q", got)
		}
		if len(rep.MissingFiles) != 1 || len(rep.Pacfiles) != 1 || len(rep.Foreign) != 1 {
			t.Errorf("as nobody: missing %v, pacfiles %v, foreign %v", rep.MissingFiles, rep.Pacfiles, rep.Foreign)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to build the root and to switch to an unprivileged user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed; cannot run as a normal user")
	}
	r := reportRoot(t)
	// Let the unprivileged user reach the root, as on a real system.
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
		exe, "-test.run=^TestReportAsNormalUser$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PACTIDY_REPORT_USER_CONFIG="+r.Config, "HOME=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestReportAsNormalUser") {
		t.Fatalf("report as nobody: %v\n%s", err, out)
	}
}
