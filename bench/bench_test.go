package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/testroot"
	"github.com/pactidy/pactidy/internal/vercmp"
)

// tinySizes exercise every kind of row in a second or two.
func tinySizes() []Size {
	return []Size{
		{Name: "tiny", Packages: true, Unowned: true, Cache: true, Report: true, CacheGrowth: []int{60}, Cold: asRoot,
			Spec: testroot.GenSpec{Packages: 30, FilesPerPkg: 8, Unowned: 20, CacheFiles: 30, DepFraction: 0.6, Seed: 3, WriteFiles: true}},
		{Name: "tinydb", Packages: true,
			Spec: testroot.GenSpec{Packages: 40, FilesPerPkg: 8, DepFraction: 0.6, Seed: 4}},
	}
}

// asRoot: the cold rows drop the page cache, which needs root.
var asRoot = os.Geteuid() == 0

// wantRows is the number of table rows per tiny size.
var wantRows = map[string]map[string]int{
	"tiny":   {"packages": 1, "unowned": 3, "unowned-cold": map[bool]int{true: 1}[asRoot], "cache": 2, "cache-report": 1, "report": 1, "tui": 2},
	"tinydb": {"packages": 1},
}

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"pacman", "find", "bash", "bsdtar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/install-deps.sh)", tool)
		}
	}
	if _, err := exec.LookPath("fdfind"); err != nil {
		if _, err := exec.LookPath("fd"); err != nil {
			t.Skip("fd is not installed (scripts/install-deps.sh)")
		}
	}
}

// buildPactidy builds the binary under test; CGO_CFLAGS comes from the
// environment (the Makefile sets it for libalpm 13).
func buildPactidy(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "pactidy")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/pactidy/pactidy/cmd/pactidy")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build pactidy: %v\n%s", err, out)
	}
	return bin
}

func TestHarnessSmoke(t *testing.T) {
	needTools(t)
	bin := buildPactidy(t)
	dir := t.TempDir()
	var stdout, log bytes.Buffer
	cfg := Config{Sizes: tinySizes(), Reps: 1, RootsDir: filepath.Join(dir, "roots"), OutDir: filepath.Join(dir, "out"),
		Pactidy: bin, Stdout: &stdout, Log: &log}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
	}

	got := map[string]map[string]int{}
	for _, r := range res.Rows {
		if got[r.Size] == nil {
			got[r.Size] = map[string]int{}
		}
		got[r.Size][r.Kind]++
		if r.PactidyError != "" || r.PeerError != "" {
			t.Errorf("%s %s: pactidy error %q, peer error %q", r.Size, r.What, r.PactidyError, r.PeerError)
			continue
		}
		if s := r.PactidyStats; s == nil || s.MedianNS <= 0 || s.MinNS <= 0 || s.PeakRSSKiB <= 0 {
			t.Errorf("%s %s: pactidy stats %+v", r.Size, r.What, s)
		}
		if r.Peer != "" && (r.PeerStats == nil || r.PeerStats.MedianNS <= 0 || r.Ratio <= 0) {
			t.Errorf("%s %s vs %s: peer stats %+v, ratio %v", r.Size, r.What, r.Peer, r.PeerStats, r.Ratio)
		}
		if r.Kind == "cache" && r.FilesPerSec <= 0 {
			t.Errorf("%s %s: no files/s", r.Size, r.What)
		}
		if !strings.Contains(stdout.String(), mdEscape(r.What)) {
			t.Errorf("table lacks %q", r.What)
		}
	}
	for size, kinds := range wantRows {
		for kind, n := range kinds {
			if got[size][kind] != n {
				t.Errorf("%s: %d %s rows, want %d", size, got[size][kind], kind, n)
			}
		}
	}
	for _, s := range res.Sizes {
		for _, m := range s.Commands {
			if len(m.Samples) != cfg.Reps {
				t.Errorf("%s %s: %d samples, want %d", s.Name, m.ID, len(m.Samples), cfg.Reps)
			}
		}
		if s.Roots[0].Cached || s.Roots[0].GenSeconds <= 0 {
			t.Errorf("%s: first run should generate its root: %+v", s.Name, s.Roots[0])
		}
	}

	var back Results
	b, err := os.ReadFile(filepath.Join(cfg.OutDir, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("latest.json: %v", err)
	}
	if len(back.Rows) != len(res.Rows) || len(back.Sizes) != len(res.Sizes) || back.Machine.NProc <= 0 || back.Machine.Pacman == "" {
		t.Errorf("latest.json: %d rows, %d sizes, machine %+v", len(back.Rows), len(back.Sizes), back.Machine)
	}
	if files, _ := filepath.Glob(filepath.Join(cfg.OutDir, "*-*.json")); len(files) != 1 {
		t.Errorf("timestamped results: %v", files)
	}
	if md, err := os.ReadFile(filepath.Join(cfg.OutDir, "latest.md")); err != nil || string(md) != stdout.String() {
		t.Errorf("latest.md differs from stdout (%v)", err)
	}

	// A second run reuses the roots; a pactidy that fails makes "n/a"
	// rows, not a failed run.
	cfg.Pactidy = "/bin/false"
	cfg.Sizes = cfg.Sizes[:1]
	stdout.Reset()
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run with a failing pactidy: %v", err)
	}
	for _, r := range res.Sizes[0].Roots {
		if !r.Cached {
			t.Errorf("root %s was generated again", r.Dir)
		}
	}
	for _, r := range res.Rows {
		if r.PactidyStats != nil || !strings.HasPrefix(r.PactidyError, "error: ") {
			t.Errorf("%s with /bin/false: stats %+v, error %q", r.What, r.PactidyStats, r.PactidyError)
		}
		// A peer that is pactidy itself (the full report against the
		// unowned scan) fails too.
		if r.Peer != "" && r.PeerStats == nil && !strings.HasPrefix(r.Peer, "pactidy ") {
			t.Errorf("%s vs %s: peer not measured: %q", r.What, r.Peer, r.PeerError)
		}
	}
	if !strings.Contains(stdout.String(), "n/a (error: ") {
		t.Errorf("table does not show the failures:\n%s", stdout.String())
	}
}

func TestStats(t *testing.T) {
	for _, tc := range []struct {
		walls            []int64
		median, min, max int64
	}{
		{[]int64{5}, 5, 5, 5},
		{[]int64{9, 1, 5}, 5, 1, 9},
		{[]int64{4, 1, 3, 8}, 3, 1, 8},
	} {
		m := &Measured{Command: &Command{}}
		for i, w := range tc.walls {
			m.Samples = append(m.Samples, Sample{WallNS: w, MaxRSSKiB: int64(i)})
		}
		st, ok := m.Stats()
		if !ok || st.MedianNS != tc.median || st.MinNS != tc.min || st.MaxNS != tc.max || st.PeakRSSKiB != int64(len(tc.walls)-1) {
			t.Errorf("%v: %+v", tc.walls, st)
		}
	}
	if _, ok := (&Measured{Command: &Command{}, Error: "x", Samples: []Sample{{WallNS: 1}}}).Stats(); ok {
		t.Error("a failed command has no stats")
	}
}

func TestStaleRoots(t *testing.T) {
	dir := t.TempDir()
	spec := testroot.GenSpec{Packages: 3, FilesPerPkg: 1, Seed: 1}
	keep := []string{"tiny-cache60-0123456789ab", "tinyx-0123456789ab", "tiny-notahash"}
	for _, d := range append(keep, "tiny-0123456789ab") {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r, err := prepareRoot(dir, "tiny", spec, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tiny-0123456789ab")); !os.IsNotExist(err) {
		t.Error("stale root of the same size was kept")
	}
	for _, d := range keep {
		if _, err := os.Stat(filepath.Join(dir, d)); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	if r.Result.Packages != 3 || r.Cached {
		t.Errorf("root: %+v", r)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"find", "/a b/c", "it's", "-o", ""})
	want := `find '/a b/c' 'it'\''s' -o ''`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}

func TestOlderName(t *testing.T) {
	for _, f := range []string{"lib-foo-1.2.3-1-x86_64.pkg.tar.zst", "bar-2:0.9-3.1-any.pkg.tar.zst", "baz-git-r12.abc-1-x86_64.pkg.tar.zst"} {
		prev := f
		for k := 3; k >= 1; k-- {
			o, ok := olderName(f, k)
			if !ok {
				t.Fatalf("olderName(%s, %d) failed", f, k)
			}
			if vercmp.Compare(version(o), version(prev)) >= 0 {
				t.Errorf("%s is not older than %s", o, prev)
			}
			if name(o) != name(f) {
				t.Errorf("%s: package name changed", o)
			}
			prev = o
		}
	}
}

// version and name parse a cache file name from the right.
func version(f string) string {
	p := strings.Split(strings.TrimSuffix(f, ".pkg.tar.zst"), "-")
	return p[len(p)-3] + "-" + p[len(p)-2]
}

func name(f string) string {
	p := strings.Split(f, "-")
	return strings.Join(p[:len(p)-3], "-")
}

func TestCompareMarkdown(t *testing.T) {
	row := func(what string, median int64, ratio float64) Row {
		return Row{Size: "large", What: what, Peer: "fdfind -HI", PactidyStats: &Stats{MedianNS: median}, Ratio: ratio}
	}
	old := &Results{GitRev: "aaa", Rows: []Row{row("unowned scan", 200e6, 2)}}
	cur := &Results{GitRev: "bbb", Rows: []Row{row("unowned scan", 100e6, 1), row("new row", 5e6, 0.5)}}
	md := compareMarkdown(old, cur)
	for _, want := range []string{
		"| large | unowned scan vs `fdfind -HI` | 200 ms | 100 ms | -50 % | 2.00 | 1.00 |",
		"| large | new row vs `fdfind -HI` | – | 5.00 ms |  |  | 0.50 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("comparison lacks %q:\n%s", want, md)
		}
	}
}
