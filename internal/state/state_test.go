package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/report"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// sample is a report with findings in every section; odd is a path that
// is not UTF-8.
const odd = "/opt/caf\xe9/x"

func sample() *report.Report {
	return &report.Report{
		Sections:     report.AllSections,
		Orphans:      []report.Orphan{{Name: "libfoo"}, {Name: "libbar"}},
		Unneeded:     []report.Unneeded{{Name: "htop"}},
		Foreign:      []report.Foreign{{Name: "yay-bin"}},
		MissingFiles: []report.MissingFile{{Package: "htop", Path: "/usr/bin/htop"}},
		Pacfiles:     []report.Pacfile{{Path: "/etc/pacman.conf.pacnew"}},
		Unowned: []report.Unowned{{Path: "/opt/old/"}, {Path: odd},
			{Path: "/usr/share/icons/hicolor/icon-theme.cache", HiddenBy: "icon-cache"}},
		Cache: &report.Cache{
			Candidates: []report.CacheCandidate{{Path: "/var/cache/pacman/pkg/a-1-1-any.pkg.tar.zst", Size: 10},
				{Path: "/var/cache/pacman/pkg/a-2-1-any.pkg.tar.zst", Size: 20}},
			Kept:         []report.CacheCandidate{{Path: "/var/cache/pacman/pkg/a-3-1-any.pkg.tar.zst", Size: 30}},
			ReclaimBytes: 30,
		},
	}
}

func newOf(t *testing.T, fs []finding) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, f := range fs {
		if *f.new == nil {
			t.Errorf("%q not marked", f.key)
			continue
		}
		out[f.key] = **f.new
	}
	return out
}

func TestRoundTripAndMark(t *testing.T) {
	st := Store{Path: filepath.Join(t.TempDir(), "var/lib/pactidy/state.json")}
	s, exists, err := st.Load()
	if err != nil || exists || len(s.Sections) != 0 {
		t.Fatalf("first load: %v %v %+v", err, exists, s)
	}
	// First run: nothing was recorded, so everything is new.
	rep := sample()
	counts := s.Mark(rep)
	want := map[string]int{"orphans": 2, "unneeded": 1, "foreign": 1, "missing": 1, "pacfiles": 1, "unowned": 2, "cache": 2}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("first counts %v, want %v", counts, want)
	}
	if rep.Unowned[2].New != nil || rep.Cache.Kept[0].New != nil {
		t.Error("a hidden entry or a kept cache file was marked")
	}
	if err := st.Update(func(s *State) error { s.Record(rep, t0); return nil }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.Path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("state file: %v, mode %v", err, fi.Mode())
	}

	// Second run: one orphan gone, one new; a new unowned entry next to
	// the odd one, which is recognized byte for byte.
	s, exists, err = st.Load()
	if err != nil || !exists {
		t.Fatalf("second load: %v %v", err, exists)
	}
	if !s.Sections["unowned"].Keys[odd] || s.Sections["unowned"].Keys["/usr/share/icons/hicolor/icon-theme.cache"] {
		t.Errorf("unowned keys %v", s.Sections["unowned"].Keys)
	}
	if !s.Sections["orphans"].UpdatedAt.Equal(t0) {
		t.Errorf("updated_at %v", s.Sections["orphans"].UpdatedAt)
	}
	rep = sample()
	rep.Orphans = []report.Orphan{{Name: "libfoo"}, {Name: "libnew"}}
	rep.Unowned = append(rep.Unowned, report.Unowned{Path: "/opt/caf\xe9/y"})
	rep.Cache.Candidates = append(rep.Cache.Candidates, report.CacheCandidate{Path: "/var/cache/pacman/pkg/a-3-1-any.pkg.tar.zst", Size: 30})
	counts = s.Mark(rep)
	want = map[string]int{"orphans": 1, "unneeded": 0, "foreign": 0, "missing": 0, "pacfiles": 0, "unowned": 1, "cache": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("second counts %v, want %v", counts, want)
	}
	fs, _ := findings(rep, "orphans")
	if got := newOf(t, fs); !reflect.DeepEqual(got, map[string]bool{"libfoo": false, "libnew": true}) {
		t.Errorf("orphans marked %v", got)
	}
	fs, _ = findings(rep, "unowned")
	if got := newOf(t, fs); !reflect.DeepEqual(got, map[string]bool{"/opt/old/": false, odd: false, "/opt/caf\xe9/y": true}) {
		t.Errorf("unowned marked %v", got)
	}

	OnlyNew(rep)
	if len(rep.Orphans) != 1 || rep.Orphans[0].Name != "libnew" || len(rep.Unneeded) != 0 || rep.Unneeded == nil ||
		len(rep.Unowned) != 1 || rep.Unowned[0].Path != "/opt/caf\xe9/y" || len(rep.Pacfiles) != 0 {
		t.Errorf("only new: %+v", rep)
	}
	if len(rep.Cache.Candidates) != 1 || rep.Cache.ReclaimBytes != 30 || len(rep.Cache.Kept) != 1 {
		t.Errorf("only new cache: %+v", rep.Cache)
	}
}

// A report of some sections replaces those and keeps the others.
func TestRecordKeepsOtherSections(t *testing.T) {
	s := New()
	s.Record(sample(), t0)
	rep := &report.Report{Sections: []string{"orphans"}, Orphans: []report.Orphan{{Name: "x"}}}
	s.Record(rep, t0.Add(time.Hour))
	if !reflect.DeepEqual(s.Sections["orphans"].Keys, map[string]bool{"x": true}) {
		t.Errorf("orphans %v", s.Sections["orphans"].Keys)
	}
	if !s.Sections["foreign"].Keys["yay-bin"] || !s.Sections["foreign"].UpdatedAt.Equal(t0) {
		t.Errorf("foreign lost: %+v", s.Sections["foreign"])
	}
	// Foreign packages that could not be known are neither marked nor
	// recorded.
	rep = &report.Report{Sections: []string{"foreign"}, ForeignUnknown: true}
	if c := s.Mark(rep); len(c) != 0 {
		t.Errorf("unknown foreign marked: %v", c)
	}
	s.Record(rep, t0.Add(2*time.Hour))
	if !s.Sections["foreign"].Keys["yay-bin"] {
		t.Error("unknown foreign replaced the record")
	}
}

func TestDamagedFiles(t *testing.T) {
	tests := []struct{ name, content, reason string }{
		{"empty", "", "is not a pactidy state file"},
		{"cut short", `{"format": "pactidy-state", "version": 1, "sections": {"orph`, "is not a pactidy state file"},
		{"foreign json", `{"name": "something else"}`, "is not a pactidy state file"},
		{"not json", "\x00\x01binary", "is not a pactidy state file"},
		{"newer", `{"format": "pactidy-state", "version": 2, "sections": {}}`, "has format version 2"},
		{"unknown section", `{"format": "pactidy-state", "version": 1, "sections": {"bogus": {"keys": []}}}`, `unknown section "bogus"`},
		{"bad base64", `{"format": "pactidy-state", "version": 1, "sections": {"unowned": {"keys": [], "keys_base64": ["!!"]}}}`, "bad base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Store{Path: filepath.Join(t.TempDir(), "state.json")}
			if err := os.WriteFile(st.Path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, exists, err := st.Load()
			var d *DamagedError
			if !errors.As(err, &d) || !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), st.Path) {
				t.Fatalf("Load: %v, want a damaged-file error saying %q", err, tt.reason)
			}
			if s == nil || len(s.Sections) != 0 || !exists {
				t.Errorf("state %+v exists %v, want empty", s, exists)
			}
			// The next update replaces it; after that it loads cleanly.
			if err := st.Update(func(s *State) error { s.Record(sample(), t0); return nil }); err != nil {
				t.Fatal(err)
			}
			if s, _, err := st.Load(); err != nil || len(s.Sections) != len(report.AllSections) {
				t.Errorf("after replacing: %v, %d sections", err, len(s.Sections))
			}
		})
	}
}

// A symlink planted as the state file is not followed, neither to read
// nor to write: the link itself is replaced and its target left alone.
func TestSymlinkNotFollowed(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := Store{Path: filepath.Join(dir, "state.json")}
	if err := os.Symlink(target, st.Path); err != nil {
		t.Fatal(err)
	}
	_, _, err := st.Load()
	var d *DamagedError
	if !errors.As(err, &d) || !strings.Contains(err.Error(), "is a symlink") {
		t.Fatalf("Load: %v", err)
	}
	if err := st.Update(func(s *State) error { s.Record(sample(), t0); return nil }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me\n" {
		t.Errorf("symlink target written: %q", b)
	}
	if fi, err := os.Lstat(st.Path); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("state file is %v, %v", fi.Mode(), err)
	}
	// A symlink as the state directory is refused too.
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	st = Store{Path: filepath.Join(dir, "link", "state.json")}
	if err := st.Update(func(*State) error { return nil }); err == nil {
		t.Error("Update wrote through a symlinked directory")
	}
	if _, _, err := st.Load(); err == nil {
		t.Error("Load read through a symlinked directory")
	}
}

// No temporary file is left behind, also when fn fails.
func TestUpdateLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	st := Store{Path: filepath.Join(dir, "state.json")}
	if err := st.Update(func(s *State) error { s.Record(sample(), t0); return nil }); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(st.Path)
	boom := errors.New("boom")
	if err := st.Update(func(s *State) error { s.Sections = nil; return boom }); err != boom {
		t.Errorf("fn's error: %v", err)
	}
	after, _ := os.ReadFile(st.Path)
	if string(before) != string(after) {
		t.Error("a failed update changed the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v", entries)
	}
}

// Writers running at once (a report and the pacman hook) never lose each
// other's part: each update reads the file again under the lock.
func TestConcurrentUpdates(t *testing.T) {
	st := Store{Path: filepath.Join(t.TempDir(), "state.json")}
	const rounds = 20
	var wg sync.WaitGroup
	for _, section := range report.AllSections {
		wg.Add(1)
		go func(section string) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				err := st.Update(func(s *State) error {
					prev := s.Sections[section]
					keys := map[string]bool{}
					if prev != nil {
						for k := range prev.Keys {
							keys[k] = true
						}
					}
					keys[fmt.Sprint(i)] = true
					s.Sections[section] = &Section{UpdatedAt: t0, Keys: keys}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(section)
	}
	wg.Wait()
	s, _, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range report.AllSections {
		if n := len(s.Sections[section].Keys); n != rounds {
			t.Errorf("%s: %d keys, want %d (an update was lost)", section, n, rounds)
		}
	}
}

func TestHookRecord(t *testing.T) {
	st := Store{Path: filepath.Join(t.TempDir(), "state.json")}
	if err := st.Update(func(s *State) error {
		s.Hook = &Hook{UpdatedAt: t0, Orphans: []string{"b", "a"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(s *State) error { s.Record(sample(), t0); return nil }); err != nil {
		t.Fatal(err)
	}
	s, _, err := st.Load()
	if err != nil || s.Hook == nil || !reflect.DeepEqual(s.Hook.Orphans, []string{"b", "a"}) {
		t.Errorf("hook record: %v %+v", err, s.Hook)
	}
}

// An unreadable state file is an error, not an empty state; a directory
// the user cannot write makes Update fail without touching the file. As
// root the test runs itself again as nobody.
func TestUnprivileged(t *testing.T) {
	if dir := os.Getenv("PACTIDY_STATE_TEST_DIR"); dir != "" {
		if os.Geteuid() == 0 {
			t.Fatal("helper still runs as root")
		}
		readable := Store{Path: filepath.Join(dir, "ro", "state.json")}
		s, exists, err := readable.Load()
		if err != nil || !exists || s.Sections["orphans"] == nil {
			t.Errorf("readable state: %v %v", err, exists)
		}
		err = readable.Update(func(s *State) error { return nil })
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Update of a read-only directory: %v", err)
		}
		hidden := Store{Path: filepath.Join(dir, "secret", "state.json")}
		if _, _, err := hidden.Load(); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Load of an unreadable file: %v", err)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	dir, err := os.MkdirTemp("", "pactidy-state-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, sub := range []string{"ro", "secret"} {
		st := Store{Path: filepath.Join(dir, sub, "state.json")}
		if err := st.Update(func(s *State) error { s.Record(sample(), t0); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, "secret", "state.json"), 0o600)
	before, _ := os.ReadFile(filepath.Join(dir, "ro", "state.json"))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		exe, "-test.run=^TestUnprivileged$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PACTIDY_STATE_TEST_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestUnprivileged") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "ro", "state.json"))
	if string(before) != string(after) {
		t.Error("the state file changed")
	}
}

func TestEncodingIsStable(t *testing.T) {
	s := New()
	s.Record(sample(), t0)
	a, err := encode(s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := encode(s)
	if string(a) != string(b) {
		t.Error("two encodings of one state differ")
	}
	if !strings.Contains(string(a), `"keys_base64"`) || strings.Contains(string(a), "\ufffd") {
		t.Errorf("odd path not kept as bytes:\n%s", a)
	}
	keys := []string{}
	for k := range s.Sections {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 7 {
		t.Errorf("sections %v", keys)
	}
}

// TestUpdateFrom: a state loaded before is updated in place while the
// file is unchanged; once another writer replaced the file, the update
// starts from what that writer wrote, which is not lost.
func TestUpdateFrom(t *testing.T) {
	st := Store{Path: filepath.Join(t.TempDir(), "state.json")}
	first := New()
	first.Record(sample(), t0)
	if err := st.Update(func(s *State) error { *s = *first; return nil }); err != nil {
		t.Fatal(err)
	}
	prev, _, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	var got *State
	if err := st.UpdateFrom(prev, func(s *State) error {
		got = s
		s.Hook = &Hook{UpdatedAt: t0, Orphans: []string{"a"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != prev {
		t.Error("unchanged file: the loaded state was read again")
	}

	stale, _, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Another writer (the hook) between this Load and the update.
	if err := st.Update(func(s *State) error { s.Hook.Orphans = []string{"b"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateFrom(stale, func(s *State) error {
		got = s
		delete(s.Sections, report.SectionCache)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got == stale {
		t.Error("file replaced since the Load: the stale state was written back")
	}
	s, _, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if s.Hook == nil || !reflect.DeepEqual(s.Hook.Orphans, []string{"b"}) || s.Sections[report.SectionCache] != nil || s.Sections[report.SectionOrphans] == nil {
		t.Errorf("after both writers: hook %+v, sections %v", s.Hook, len(s.Sections))
	}
}

// edgeStates are an empty state, a full one (every section of sample and
// the hook's record), one whose hook recorded no orphans and one with an
// empty section.
func edgeStates() []*State {
	full := New()
	full.Record(sample(), t0)
	full.Hook = &Hook{UpdatedAt: t0.Add(time.Second / 3), Orphans: []string{"a<b>", "c\"d"}}
	emptyHook := New()
	emptyHook.Hook = &Hook{UpdatedAt: t0}
	emptySection := New()
	emptySection.Sections[report.SectionOrphans] = &Section{UpdatedAt: t0, Keys: map[string]bool{}}
	return []*State{New(), full, emptyHook, emptySection}
}

// TestEncodeIsMarshalIndent: the state file is what
// json.MarshalIndent(wire, "", " ") writes, for states with and without
// sections, keys, non-UTF-8 keys and the hook's record.
func TestEncodeIsMarshalIndent(t *testing.T) {
	for i, s := range edgeStates() {
		got, err := encode(s)
		if err != nil {
			t.Fatal(err)
		}
		w := toWire(s)
		want, err := json.MarshalIndent(w, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if want = append(want, '\n'); !bytes.Equal(got, want) {
			t.Errorf("state %d:\n got: %s\nwant: %s", i, got, want)
		}
	}
}

// TestDecodeFast: what encode writes, decodeFast reads back as the JSON
// decoder does, keys with escapes, non-UTF-8 bytes and odd characters
// included; any other layout is left to the JSON decoder.
func TestDecodeFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	pieces := []string{"a", "/usr/lib/x", "\"", "\\", "<", ">", "&", "\n", "\t", "\x01", "é", "\u2028", "\xff", "\xe2\x82", " ", "%"}
	randKey := func() string {
		var b strings.Builder
		for k := rng.IntN(6); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	states := edgeStates()
	for n := 0; n < 200; n++ {
		s := New()
		for _, name := range report.AllSections {
			if rng.IntN(3) == 0 {
				continue
			}
			sec := &Section{UpdatedAt: t0.Add(time.Duration(rng.Int64N(1e12))), Keys: map[string]bool{}}
			for k := rng.IntN(20); k > 0; k-- {
				sec.Keys[randKey()] = true
			}
			s.Sections[name] = sec
		}
		if rng.IntN(2) == 0 {
			s.Hook = &Hook{UpdatedAt: t0, Orphans: []string{randKey(), randKey()}}
		}
		states = append(states, s)
	}
	for i, s := range states {
		data, err := encode(s)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := decodeFast(slices.Clone(data))
		if !ok {
			t.Fatalf("state %d: decodeFast refused what encode wrote:\n%s", i, data)
		}
		slow, reason := decodeJSON(data)
		if reason != "" {
			t.Fatalf("state %d: %s", i, reason)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("state %d: decodeFast\n%+v\nthe JSON decoder\n%+v", i, fast, slow)
		}
		// Compact JSON and a file cut short are not encode's layout.
		compact, err := json.Marshal(toWire(s))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := decodeFast(compact); ok && len(s.Sections) > 0 {
			t.Errorf("state %d: decodeFast took compact JSON", i)
		}
		if got, reason := decode(compact); reason != "" || !reflect.DeepEqual(got, slow) {
			t.Errorf("state %d: decode of compact JSON: %q", i, reason)
		}
		if _, ok := decodeFast(data[:len(data)-3]); ok {
			t.Errorf("state %d: decodeFast took a file cut short", i)
		}
	}
	// What the JSON decoder refuses, decodeFast refuses too.
	for _, bad := range []string{
		`{"format": "pactidy-state", "version": 2, "sections": {}}`,
		"{\n \"format\": \"pactidy-state\",\n \"version\": 1,\n \"sections\": {\n  \"nosuch\": {\n   \"updated_at\": \"2026-01-01T00:00:00Z\",\n   \"keys\": []\n  }\n }\n}\n",
		"{\n \"format\": \"pactidy-state\",\n \"version\": 1,\n \"sections\": {\n  \"orphans\": {\n   \"updated_at\": \"2026-01-01T00:00:00Z\",\n   \"keys\": [],\n   \"keys_base64\": [\n    \"!!\"\n   ]\n  }\n }\n}\n",
		"{\n \"format\": \"pactidy-state\",\n \"version\": 1,\n \"sections\": {\n  \"orphans\": {\n   \"updated_at\": \"yesterday\",\n   \"keys\": []\n  }\n }\n}\n",
		"{\n \"format\": \"pactidy-state\",\n \"version\": 1,\n \"sections\": {\n  \"orphans\": {\n   \"updated_at\": \"2026-01-01T00:00:00Z\",\n   \"keys\": [\n    \"a\tb\"\n   ]\n  }\n }\n}\n",
	} {
		if _, ok := decodeFast([]byte(bad)); ok {
			t.Errorf("decodeFast took %q", bad)
		}
		if _, reason := decode([]byte(bad)); reason == "" {
			t.Errorf("decode took %q", bad)
		}
	}
}
