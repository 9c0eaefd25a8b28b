package tui

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pactidy/pactidy/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden compares the main screens, without colours, at 80x24 and
// 120x40 with testdata/*.golden (go test ./tui -run Golden -update
// rewrites them).
func TestGolden(t *testing.T) {
	screens := []struct {
		name  string
		setup func(t *testing.T, m *Model)
	}{
		{"first-frame", func(t *testing.T, m *Model) {}},
		{"orphans", func(t *testing.T, m *Model) {
			deliverAll(m, sampleReport())
			press(t, m, "j", "space")
		}},
		{"unowned", func(t *testing.T, m *Model) {
			deliverAll(m, sampleReport())
			press(t, m, "tab", "tab", "tab", "space")
		}},
		{"unowned-scanning", func(t *testing.T, m *Model) {
			deliver(m, sampleReport(), report.SectionOrphans, report.SectionCache)
			m.Update(scanMsg{gen: m.scanGen, ev: Event{Section: report.SectionUnowned, Progress: Progress{Dirs: 5120, Bytes: 3 << 30}}})
			press(t, m, "tab", "tab", "tab")
		}},
		{"cache", func(t *testing.T, m *Model) {
			deliverAll(m, sampleReport())
			press(t, m, "shift+tab", "shift+tab", "shift+tab", "shift+tab")
		}},
		{"keep", func(t *testing.T, m *Model) {
			deliverAll(m, sampleReport())
			press(t, m, "tab", "tab", "tab", "K", "down")
		}},
		{"confirm", func(t *testing.T, m *Model) {
			deliverAll(m, sampleReport())
			press(t, m, "j", "space", "tab", "tab", "tab", "space", "d")
		}},
		{"result", func(t *testing.T, m *Model) {
			deliverAll(m, sampleReport())
			m.page = pageResult
			m.result.set(&Result{Removed: []string{"cycle-a", "cycle-b"}, Quarantined: 1, Freed: 40 << 20,
				Failures: []Failure{{What: "/var/lib/gone/", Why: "changed since the scan (inode)"}}, QuarantineID: "20260102-030405-ab12"})
		}},
		{"userdata-idle", func(t *testing.T, m *Model) {
			m.opts.Source = &demandSource{rep: sampleUserdata()}
			deliverAll(m, sampleReport())
			press(t, m, "shift+tab")
		}},
		{"userdata", func(t *testing.T, m *Model) {
			m.opts.Source = &demandSource{rep: sampleUserdata()}
			deliverAll(m, sampleReport())
			press(t, m, "shift+tab", "r", "j", "space")
		}},
		{"userdata-confirm", func(t *testing.T, m *Model) {
			m.opts.Source = &demandSource{rep: sampleUserdata()}
			m.opts.Engine = &userEngine{}
			deliverAll(m, sampleReport())
			press(t, m, "shift+tab", "r", "space", "space", "d")
		}},
		{"help", func(t *testing.T, m *Model) {
			deliverAll(m, sampleReport())
			press(t, m, "?")
		}},
		{"errors", func(t *testing.T, m *Model) {
			deliverAll(m, sampleReport())
			press(t, m, "e")
		}},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, sc := range screens {
			name := sc.name + "-" + itoa(size[0]) + "x" + itoa(size[1])
			t.Run(name, func(t *testing.T) {
				m := newTestModel(t, size[0], size[1])
				sc.setup(t, m)
				got := screen(m) + "\n"
				file := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the golden file\n--- got\n%s--- want\n%s", name, got, want)
				}
			})
		}
	}
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
