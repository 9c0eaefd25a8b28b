package report

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Root:          "/",
		GeneratedAt:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)),
		Sections:      []string{SectionOrphans, SectionUnneeded, SectionForeign, SectionMissing, SectionPacfiles},
		Installed:     42,
		Orphans: []Orphan{
			{Name: "libfoo", Version: "1.0-1", InstalledSize: 2048, Removes: []string{"libbar"}, FreedBytes: 3072},
			{Name: "cyc", Version: "2-1", InstalledSize: 10, Cycle: true, OptionalFor: []string{"app"}, RequiredBy: []string{"cyc2"}, Removes: []string{"cyc2"}, FreedBytes: 20},
		},
		Unneeded:     []Unneeded{{Name: "tool", Version: "3-1", InstalledSize: 1 << 20}},
		Foreign:      nil,
		MissingFiles: []MissingFile{{Package: "tool", Path: "/usr/bin/tool"}, {Package: "tool", Path: "/usr/share/bad\nname"}},
		Pacfiles:     []Pacfile{{Path: "/etc/x.conf.pacnew", Kind: "pacnew", Package: "x"}, {Path: "/etc/gone.conf.pacsave", Kind: "pacsave"}},
		Errors:       []Error{{Path: "/etc/secret", Error: "permission denied"}},
	}
}

func TestJSONContract(t *testing.T) {
	var b bytes.Buffer
	if err := NewJSON().Print(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "root", "generated_at", "orphans", "unneeded", "foreign", "missing_files", "pacfiles", "errors"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	for _, k := range []string{"unowned", "cache"} {
		if _, ok := m[k]; ok {
			t.Errorf("section %q present although not computed", k)
		}
	}
	if m["generated_at"] != "2026-01-02T02:04:05Z" {
		t.Errorf("generated_at = %v", m["generated_at"])
	}
	if f, ok := m["foreign"].([]any); !ok || len(f) != 0 {
		t.Errorf("foreign = %#v, want []", m["foreign"])
	}
	o := m["orphans"].([]any)[0].(map[string]any)
	want := map[string]any{"name": "libfoo", "version": "1.0-1", "installed_size": 2048.0, "cycle": false,
		"optional_for": []any{}, "removes": []any{"libbar"}, "freed_bytes": 3072.0, "required_by": []any{}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("orphan = %#v\nwant %#v", o, want)
	}
	rep := sampleReport()
	rep.Sections = append(rep.Sections, SectionCache)
	var cb bytes.Buffer
	NewJSON().Print(&cb, rep)
	if !strings.Contains(cb.String(), `"candidates": []`) || !strings.Contains(cb.String(), `"kept": []`) || strings.Contains(cb.String(), "null") {
		t.Errorf("cache section with nulls:\n%s", cb.String())
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Pacfiles[1].Package != "" || back.MissingFiles[1].Path != "/usr/share/bad\nname" {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

func TestPrometheus(t *testing.T) {
	rep := sampleReport()
	var b bytes.Buffer
	if err := NewPrometheus().Print(&b, rep); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	line := regexp.MustCompile(`^(pactidy_[a-z_]+) (-?[0-9]+)$`)
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if strings.HasPrefix(l, "# HELP ") || strings.HasPrefix(l, "# TYPE ") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("bad line %q", l)
		}
		values[m[1]] = m[2]
	}
	want := map[string]string{
		"pactidy_orphans": "2", "pactidy_orphans_cycle": "1", "pactidy_orphans_bytes": "2058",
		"pactidy_unneeded": "1", "pactidy_foreign": "0", "pactidy_missing_files": "2", "pactidy_pacfiles": "2",
		"pactidy_errors": "1", "pactidy_last_run_timestamp_seconds": "1767319445",
		"pactidy_last_success_timestamp_seconds": "1767319445",
	}
	if !reflect.DeepEqual(values, want) {
		t.Errorf("gauges %v\nwant %v", values, want)
	}
	if !strings.Contains(b.String(), "# TYPE pactidy_orphans gauge\n") {
		t.Error("no TYPE line")
	}
	rep.ForeignUnknown = true
	b.Reset()
	NewPrometheus().Print(&b, rep)
	if strings.Contains(b.String(), "pactidy_foreign ") {
		t.Error("foreign gauge written although unknown")
	}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := NewText(NewStyles(false)).Print(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	want := `pactidy report for /, 42 packages installed

Orphaned packages (2, 2.01 KiB, 1 in dependency cycles): nothing you want needs them
  libfoo  1.0-1  2.00 KiB  removes also libbar, frees 3.00 KiB
  cyc     2-1    10 B      cycle; removes also cyc2, frees 20 B; optional for app

Unneeded explicit packages (1, 1.00 MiB): nothing depends on them; review, do not remove blindly
  tool  3-1  1.00 MiB

Foreign packages: none

Missing files (2 in 1 package): reinstall to restore them
  tool  /usr/bin/tool
  tool  "/usr/share/bad\nname"

Pacnew, pacsave and pacorig files (2): merge them, e.g. with pacdiff
  /etc/x.conf.pacnew      pacnew   x
  /etc/gone.conf.pacsave  pacsave  (no owner)

1 path could not be read (listed on stderr).
`
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}

	// Colour changes nothing but the escapes.
	rep := sampleReport()
	var c bytes.Buffer
	NewText(NewStyles(true)).Print(&c, rep)
	ansi := regexp.MustCompile("\x1b\\[[0-9;]*m")
	if !ansi.MatchString(c.String()) || ansi.ReplaceAllString(c.String(), "") != want {
		t.Errorf("coloured text differs beyond escapes:\n%s", c.String())
	}

	rep.ForeignUnknown = true
	b.Reset()
	NewText(NewStyles(false)).Print(&b, rep)
	if !strings.Contains(b.String(), "Foreign packages: unknown, no sync database could be read (run pacman -Sy)") {
		t.Errorf("unknown foreign not said:\n%s", b.String())
	}
}

func TestFindings(t *testing.T) {
	rep := sampleReport()
	if n := rep.Findings(); n != 6 {
		t.Errorf("Findings = %d, want 6 (unneeded and errors do not count)", n)
	}
	// Entries a built-in rule hides (shown with --show-hidden) are not findings.
	rep.Sections = append(rep.Sections, SectionUnowned)
	rep.Unowned = append(rep.Unowned, Unowned{Path: "/etc/machine-id", Type: "file", Size: 33, HiddenBy: "machine-id"})
	if n := rep.Findings(); n != 6 {
		t.Errorf("Findings with a hidden unowned entry = %d, want 6", n)
	}
	var b bytes.Buffer
	if err := NewPrometheus().Print(&b, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "pactidy_unowned_bytes 33") || !strings.Contains(b.String(), "\npactidy_unowned ") {
		t.Errorf("prometheus counts hidden entries:\n%s", b.String())
	}
}

func TestWhyText(t *testing.T) {
	var b bytes.Buffer
	err := WriteWhyText(&b, NewStyles(false), []Why{
		{Package: "cairo", Reason: "required", Chain: []WhyLink{{Name: "firefox"}, {Name: "gtk3"}, {Name: "cairo"}}},
		{Package: "gs", Reason: "required", Chain: []WhyLink{{Name: "gimp"}, {Name: "gs", Optional: true}}},
		{Package: "vim", Reason: "explicit"},
		{Package: "old", Reason: "orphan", Cycle: true, RequiredBy: []string{"older"}},
	})
	want := `cairo: firefox -> gtk3 -> cairo
gs: gimp -> gs (optional)
vim: installed explicitly
old: nothing keeps it: it is an orphan, in or below a dependency cycle (required only by orphans: older)
`
	if err != nil || b.String() != want {
		t.Errorf("why:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestUnownedIncompleteText(t *testing.T) {
	var b bytes.Buffer
	if err := writeUnownedText(&b, NewStyles(false), []Unowned{{Path: "/opt/secret/", Type: "dir", Entries: 0, Incomplete: true}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "/opt/secret/") || !strings.Contains(b.String(), "not fully readable") {
		t.Errorf("incomplete directory not marked:\n%s", b.String())
	}
}

// The gauges with their labels, checked by Prometheus's own promtool
// (Debian's prometheus package ships it; scripts/install-deps.sh installs
// it): format, HELP and TYPE lines, naming conventions.
func TestPrometheusLabelsAndPromtool(t *testing.T) {
	rep := sampleReport()
	rep.Sections = KnownSections
	rep.Unowned = []Unowned{{Path: "/opt/x", Size: 5}}
	rep.Userdata = []UserData{{User: "a", Path: "/home/a/.config/gone", Size: 11}, {User: "a", Path: "/home/a/.ssh", Size: 99, MatchedBy: "shared location"}}
	rep.Cache = &Cache{ReclaimBytes: 7}
	rep.Elapsed = map[string]time.Duration{SectionOrphans: 150 * time.Millisecond, SectionUnowned: 2500 * time.Millisecond, "database": time.Second}
	rep.NewCounts = map[string]int{SectionOrphans: 1, SectionUnowned: 0, SectionCache: 3}
	var b bytes.Buffer
	if err := NewPrometheus().Print(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# TYPE pactidy_scan_duration_seconds gauge\n" +
			"pactidy_scan_duration_seconds{section=\"orphans\"} 0.15\n" +
			"pactidy_scan_duration_seconds{section=\"unowned\"} 2.5\n",
		"# TYPE pactidy_new gauge\n" +
			"pactidy_new{section=\"orphans\"} 1\n" +
			"pactidy_new{section=\"unowned\"} 0\n" +
			"pactidy_new{section=\"cache\"} 3\n",
		"pactidy_last_success_timestamp_seconds 1767319445\n",
		"pactidy_userdata 1\n",
		"pactidy_userdata_bytes 11\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks\n%s\nin:\n%s", want, out)
		}
	}
	if strings.Contains(out, `section="database"`) {
		t.Error("a duration of something that is not a report section")
	}
	// Without a state compared there is no pactidy_new at all.
	rep.NewCounts = nil
	var nb bytes.Buffer
	NewPrometheus().Print(&nb, rep)
	if strings.Contains(nb.String(), "pactidy_new") {
		t.Error("pactidy_new without a state")
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not installed (run scripts/install-deps.sh): %v", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(out)
	if msg, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(msg)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\non:\n%s", err, msg, out)
	}
	// promtool does find mistakes: a gauge without HELP, a bad line.
	cmd = exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader("# TYPE x_total counter\nx_total{a=\"b} 1\n")
	if msg, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("promtool accepted a broken file: %s", msg)
	}
}
