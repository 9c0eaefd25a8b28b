package alpm

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyThisPackageImportsGoAlpm keeps cgo in one place: every other
// package works on plain Go values.
func TestOnlyThisPackageImportsGoAlpm(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}}`, "github.com/pactidy/pactidy/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const self = "github.com/pactidy/pactidy/alpm"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		checked++
		if fields[0] == self {
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, "github.com/Jguer/go-alpm") {
				t.Errorf("%s imports %s; only %s may", fields[0], imp, self)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("go list returned only %d packages:\n%s", checked, out)
	}
}
