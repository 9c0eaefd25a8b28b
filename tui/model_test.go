package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/report"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

// sampleReport has a few findings in every section.
func sampleReport() *report.Report {
	return &report.Report{
		Sections: report.AllSections,
		Root:     "/",
		Orphans: []report.Orphan{
			{Name: "libold", Version: "1.2-1", InstalledSize: 3 << 20, Removes: []string{"libold"}, FreedBytes: 3 << 20},
			{Name: "cycle-a", Version: "1-1", InstalledSize: 1 << 10, Cycle: true, RequiredBy: []string{"cycle-b"}, Removes: []string{"cycle-a", "cycle-b"}, FreedBytes: 2 << 10},
			{Name: "cycle-b", Version: "1-1", InstalledSize: 1 << 10, Cycle: true, RequiredBy: []string{"cycle-a"}, Removes: []string{"cycle-a", "cycle-b"}, FreedBytes: 2 << 10},
			{Name: "libspell", Version: "0.9-2", InstalledSize: 200 << 10, OptionalFor: []string{"editor"}, Removes: []string{"libspell"}, FreedBytes: 200 << 10},
		},
		Unneeded: []report.Unneeded{{Name: "editor", Version: "2.0-1", InstalledSize: 5 << 20}, {Name: "game", Version: "0.1-1", InstalledSize: 90 << 20}},
		Foreign:  []report.Foreign{{Name: "aur-tool", Version: "3-1"}},
		Unowned: []report.Unowned{
			{Path: "/opt/old-app/", Type: "dir", Size: 40 << 20, Entries: 120},
			{Path: "/etc/stale.conf", Type: "file", Size: 300},
			{Path: "/var/lib/gone/", Type: "dir", Size: 8 << 10, Entries: 3},
			{Path: "/usr/share/icons/hicolor/icon-theme.cache", Type: "file", Size: 12 << 10, HiddenBy: "icon-cache"},
			{Path: "/etc/bad\nname", Type: "file", Size: 1},
		},
		Cache: &report.Cache{
			Dirs: []string{"/var/cache/pacman/pkg"},
			Candidates: []report.CacheCandidate{
				{Path: "/var/cache/pacman/pkg/editor-1.0-1-x86_64.pkg.tar.zst", Name: "editor", Version: "1.0-1", Arch: "x86_64", Size: 4 << 20, Reason: "older than the 3 newest", Kind: "package"},
				{Path: "/var/cache/pacman/pkg/gone-1-1-any.pkg.tar.zst", Name: "gone", Version: "1-1", Arch: "any", Size: 1 << 20, Reason: "not installed", Kind: "package"},
			},
			Kept: []report.CacheCandidate{
				{Path: "/var/cache/pacman/pkg/editor-2.0-1-x86_64.pkg.tar.zst", Name: "editor", Version: "2.0-1", Arch: "x86_64", Size: 4 << 20, Reason: "installed", Kind: "package"},
			},
			ReclaimBytes: 5 << 20,
		},
		Pacfiles:     []report.Pacfile{{Path: "/etc/editor.conf.pacnew", Kind: "pacnew", Package: "editor"}},
		MissingFiles: []report.MissingFile{{Package: "editor", Path: "/usr/share/doc/editor/README"}},
		Errors:       []report.Error{{Path: "/root/private", Error: "permission denied"}},
	}
}

// fakeInfo answers the detail pane from fixed data.
type fakeInfo struct{}

func (fakeInfo) Root() string { return "/nonexistent-root" }
func (fakeInfo) Origin(p string) string {
	if strings.HasPrefix(p, "/opt/") {
		return "opt-owner"
	}
	return ""
}
func (fakeInfo) Package(name string) (PackageInfo, bool) {
	return PackageInfo{
		Name: name, Version: "1-1", Desc: "the " + name + " package", InstallDate: time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC),
		InstalledSize: 3 << 20, OptionalFor: nil, RequiredBy: nil,
		Why: report.Why{Package: name, Reason: "required", Chain: []report.WhyLink{{Name: "base"}, {Name: name}}},
	}, true
}

// newTestModel is a model of size w×h whose scan is started but whose
// sections have not arrived.
func newTestModel(t testing.TB, w, h int) *Model {
	t.Helper()
	file := filepath.Join(t.TempDir(), "allowlist")
	m := New(Options{AllowlistFile: file})
	m.startScan()
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// deliver hands section sec of rep to m as a finished scan would.
func deliver(m *Model, rep *report.Report, secs ...string) {
	for _, sec := range secs {
		m.Update(scanMsg{gen: m.scanGen, ev: Event{Section: sec, Done: true, Report: rep}})
	}
}

func deliverAll(m *Model, rep *report.Report) {
	m.Update(scanMsg{gen: m.scanGen, ev: Event{Info: fakeInfo{}}})
	deliver(m, rep, report.AllSections...)
	m.Update(scanMsg{gen: m.scanGen, finished: true})
}

// press sends the keys named (as in the key map) to m and runs the
// commands that do not wait for outside events.
func press(t testing.TB, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		runCmd(m, cmd)
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	}
	r := []rune(k)[0]
	if r >= 'A' && r <= 'Z' {
		return tea.KeyPressMsg{Code: r + 'a' - 'A', ShiftedCode: r, Text: k, Mod: tea.ModShift}
	}
	return tea.KeyPressMsg{Code: r, Text: k}
}

// runCmd runs the commands of the UI's own side effects (allowlist edits,
// plans) and feeds their messages back; it leaves the scan, the spinner
// and the cursor blink alone.
func runCmd(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			runCmd(m, c)
		}
	case keptMsg, unkeptMsg, planMsg, pathInfoMsg, applyMsg:
		_, next := m.Update(msg)
		runCmd(m, next)
	case scanMsg:
		// An on-demand scan of a test source emits and returns at once:
		// its messages are taken in order until its channel closes.
		if msg.demand {
			_, next := m.Update(msg)
			runCmd(m, next)
		}
	}
}

func screen(m *Model) string { return ansi.Strip(m.render()) }

func labels(s *sectionModel) []string {
	var out []string
	for _, it := range s.visible {
		out = append(out, it.key)
	}
	return out
}

func TestKeyNames(t *testing.T) {
	k := DefaultKeyMap()
	for _, tc := range []struct {
		name string
		want string
	}{{"space", "space"}, {"tab", "tab"}, {"shift+tab", "shift+tab"}, {"K", "K"}, {"esc", "esc"}, {"/", "/"}} {
		if got := keyMsg(tc.name).String(); got != tc.want {
			t.Errorf("key %s reads as %q", tc.name, got)
		}
	}
	if !matches(keyMsg("space"), k.Mark) || !matches(keyMsg("K"), k.Keep) || !matches(keyMsg("shift+tab"), k.PrevTab) {
		t.Error("the key map does not match its own keys")
	}
}

func TestNavigation(t *testing.T) {
	m := newTestModel(t, 80, 24)
	deliverAll(m, sampleReport())
	s := m.sections[secOrphans]
	if got := labels(s); strings.Join(got, " ") != "libold libspell cycle-a cycle-b" {
		t.Fatalf("orphans by size: %v", got)
	}
	press(t, m, "j", "j")
	if it := s.current(); it == nil || it.key != "cycle-a" {
		t.Fatalf("after j j the cursor is on %v", it)
	}
	press(t, m, "k")
	if it := s.current(); it.key != "libspell" {
		t.Fatalf("after k the cursor is on %s", it.key)
	}
	if !strings.Contains(screen(m), "optional for editor") {
		t.Errorf("libspell's tag is not shown:\n%s", screen(m))
	}
	press(t, m, "tab", "tab", "tab")
	if m.active != secUnowned {
		t.Fatalf("three tabs lead to %s", sectionTitles[m.active])
	}
	press(t, m, "shift+tab")
	if m.active != secForeign {
		t.Fatalf("shift+tab leads to %s", sectionTitles[m.active])
	}
	for range numSections {
		press(t, m, "tab")
	}
	if m.active != secForeign {
		t.Fatalf("a full round of tabs leads to %s", sectionTitles[m.active])
	}
	press(t, m, "G")
	if s := m.sections[secForeign]; s.table.Cursor() != len(s.visible)-1 {
		t.Errorf("G leaves the cursor at %d", s.table.Cursor())
	}
}

func TestMarking(t *testing.T) {
	m := newTestModel(t, 80, 24)
	deliverAll(m, sampleReport())
	for _, s := range m.sections {
		if n := len(s.marked()); n != 0 {
			t.Fatalf("%s starts with %d marked", sectionTitles[s.id], n)
		}
	}
	press(t, m, "space") // marks libold, moves down
	s := m.sections[secOrphans]
	if got := s.marked(); len(got) != 1 || got[0].key != "libold" {
		t.Fatalf("space marked %v", got)
	}
	if !strings.Contains(screen(m), "● libold") {
		t.Errorf("the mark is not drawn:\n%s", screen(m))
	}
	press(t, m, "i")
	if got := len(s.marked()); got != 3 {
		t.Errorf("invert left %d marked, want 3", got)
	}
	press(t, m, "a")
	if got := len(s.marked()); got != 4 {
		t.Errorf("mark all left %d marked, want 4", got)
	}
	press(t, m, "i")
	if got := len(s.marked()); got != 0 {
		t.Errorf("invert of all left %d marked", got)
	}
	// Information-only sections cannot be marked.
	m.active = secPacfiles
	press(t, m, "space", "a")
	if got := len(m.sections[secPacfiles].marked()); got != 0 {
		t.Errorf("a pacfile was marked")
	}
}

func TestFilterAndSort(t *testing.T) {
	m := newTestModel(t, 80, 24)
	deliverAll(m, sampleReport())
	m.active = secUnowned
	s := m.sections[secUnowned]
	press(t, m, "/", "e", "t", "c")
	if got := labels(s); len(got) != 2 {
		t.Fatalf("filter etc shows %q", got)
	}
	if !strings.Contains(screen(m), "/etc") {
		t.Errorf("the filter input is not shown:\n%s", screen(m))
	}
	press(t, m, "enter")
	if m.page != pageBrowse || s.filter != "etc" {
		t.Fatalf("enter left page %d filter %q", m.page, s.filter)
	}
	// Marking all marks only what the filter shows.
	press(t, m, "a")
	if got := len(s.marked()); got != 2 {
		t.Errorf("mark all under a filter marked %d", got)
	}
	press(t, m, "s")
	if got := labels(s); strings.Join(got, "|") != "/etc/bad\nname|/etc/stale.conf" {
		t.Errorf("by name: %q", got)
	}
	press(t, m, "/", "esc")
	if got := len(labels(s)); got != 5 || s.filter != "" {
		t.Errorf("esc kept the filter: %d shown, filter %q", got, s.filter)
	}
	if got := labels(s)[0]; got != "/etc/bad\nname" {
		t.Errorf("first by name is %q", got)
	}
	if strings.Contains(screen(m), "bad\nname") || !strings.Contains(screen(m), `"/etc/bad\nname"`) {
		t.Errorf("a path with a newline is not quoted:\n%s", screen(m))
	}
	press(t, m, "s")
	if got := labels(s)[0]; got != "/opt/old-app/" {
		t.Errorf("first by size is %q", got)
	}
}

func TestKeepForeverAndUndo(t *testing.T) {
	m := newTestModel(t, 80, 24)
	deliverAll(m, sampleReport())
	file := m.opts.AllowlistFile

	// A package: at once, as "package NAME", hidden in every section.
	press(t, m, "space", "k", "K")
	data, _ := os.ReadFile(file)
	if string(data) != "package libold\n" {
		t.Fatalf("allowlist after K on libold: %q", data)
	}
	if got := labels(m.sections[secOrphans]); strings.Contains(strings.Join(got, " "), "libold") {
		t.Errorf("libold still shown: %v", got)
	}
	if n, _, _ := m.sections[secOrphans].totals(); n != 3 {
		t.Errorf("the tab counts %d orphans", n)
	}
	if got := m.Selection(); len(got.Packages) != 0 {
		t.Errorf("a kept package stays marked: %v", got.Packages)
	}
	press(t, m, "u")
	data, _ = os.ReadFile(file)
	if string(data) != "" {
		t.Fatalf("allowlist after undo: %q", data)
	}
	if got := labels(m.sections[secOrphans]); len(got) != 4 {
		t.Errorf("after undo %v", got)
	}

	// A path: the directory choice, edited in place.
	m.active = secUnowned
	press(t, m, "/", "s", "t", "a", "l", "e", "enter", "K")
	if m.page != pageKeep {
		t.Fatalf("K on a path did not ask how to keep it")
	}
	if got := m.keep.input.Value(); got != "/etc/stale.conf" {
		t.Errorf("the exact choice is %q", got)
	}
	press(t, m, "down")
	if got := m.keep.input.Value(); got != "/etc/" {
		t.Errorf("the directory choice is %q", got)
	}
	press(t, m, "down")
	if got := m.keep.input.Value(); got != "/etc/*.conf" {
		t.Errorf("the pattern choice is %q", got)
	}
	press(t, m, "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "s", "t", "a", "*", "enter")
	data, _ = os.ReadFile(file)
	if string(data) != "path /etc/sta*\n" {
		t.Fatalf("allowlist after K on a path: %q", data)
	}
	press(t, m, "/", "esc")
	if got := labels(m.sections[secUnowned]); strings.Contains(strings.Join(got, " "), "stale") || len(got) != 4 {
		t.Errorf("after keeping /etc/sta*: %q", got)
	}
	// The allowlist reads back the way pactidy allow list would.
	l, err := allowlist.Load(allowlist.Sources{SysConfDir: t.TempDir(), Extra: []string{file}})
	if err != nil || !l.KeepsPath("/etc/stale.conf", nil) {
		t.Errorf("the written allowlist does not keep the path (err %v)", err)
	}
	press(t, m, "u")
	if got := labels(m.sections[secUnowned]); len(got) != 5 {
		t.Errorf("after undo: %q", got)
	}

	// A bad pattern is refused with a message and changes nothing.
	press(t, m, "g", "K")
	for range 20 {
		press(t, m, "backspace")
	}
	press(t, m, "/", "enter")
	if m.page != pageKeep || !strings.Contains(m.status, "whole root") {
		t.Errorf("keeping / was not refused: page %d status %q", m.page, m.status)
	}
	press(t, m, "esc")
	data, _ = os.ReadFile(file)
	if string(data) != "" {
		t.Errorf("allowlist after a refused entry: %q", data)
	}
}

func TestKeepArrivingSection(t *testing.T) {
	// A package kept while a section naming it is still being computed is
	// hidden there when it arrives.
	m := newTestModel(t, 80, 24)
	rep := sampleReport()
	rep.Foreign = append(rep.Foreign, report.Foreign{Name: "libold", Version: "1.2-1"})
	deliver(m, rep, report.SectionOrphans)
	press(t, m, "K")
	deliver(m, rep, report.SectionForeign)
	if got := labels(m.sections[secForeign]); len(got) != 1 || got[0] != "aur-tool" {
		t.Errorf("foreign after keeping libold: %v", got)
	}
}

func TestConfirmAndCancel(t *testing.T) {
	m := newTestModel(t, 80, 24)
	deliverAll(m, sampleReport())
	press(t, m, "d")
	if m.page != pageBrowse || !strings.Contains(m.status, "nothing is marked") {
		t.Fatalf("d with nothing marked: page %d status %q", m.page, m.status)
	}
	press(t, m, "j", "space") // cycle-a... by size: libold, libspell, cycle-a
	m.active = secUnowned
	press(t, m, "space")
	m.active = secCache
	press(t, m, "space")
	press(t, m, "d")
	if m.page != pageConfirm {
		t.Fatalf("d did not open the summary")
	}
	got := ansi.Strip(m.confirm.view.GetContent())
	for _, want := range []string{"libspell", "/opt/old-app/", "1 entry to quarantine", "editor-1.0-1-x86_64.pkg.tar.zst", "Total: ", errNoEngine.Error()} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	press(t, m, "y") // no engine: refused
	if m.page != pageConfirm {
		t.Errorf("y without an engine left the summary")
	}
	press(t, m, "n")
	if m.page != pageBrowse {
		t.Errorf("n did not go back")
	}
	if n := len(m.Selection().Unowned); n != 1 {
		t.Errorf("cancel lost the marks: %d unowned marked", n)
	}
	press(t, m, "d", "esc")
	if m.page != pageBrowse {
		t.Errorf("esc did not go back")
	}
}

func TestSectionArrivesWhileBrowsing(t *testing.T) {
	m := newTestModel(t, 80, 24)
	rep := sampleReport()
	m.active = secUnowned
	if !strings.Contains(screen(m), "scanning unowned") {
		t.Errorf("the first frame does not say the scan runs:\n%s", screen(m))
	}
	m.Update(scanMsg{gen: m.scanGen, ev: Event{Section: report.SectionUnowned, Progress: Progress{Dirs: 1234}}})
	if !strings.Contains(screen(m), "1234 dirs") {
		t.Errorf("progress is not shown:\n%s", screen(m))
	}
	deliver(m, rep, report.SectionUnowned)
	press(t, m, "j", "space")
	deliver(m, rep, report.SectionOrphans, report.SectionCache)
	s := m.sections[secUnowned]
	if m.active != secUnowned || s.table.Cursor() != 2 || len(s.marked()) != 1 {
		t.Errorf("a section arriving moved the view: tab %s cursor %d marked %d", sectionTitles[m.active], s.table.Cursor(), len(s.marked()))
	}
	if !strings.Contains(screen(m), "Orphans 4") {
		t.Errorf("the orphans tab does not show its count:\n%s", screen(m))
	}
	// A section that fails says so; the others stay browsable.
	m.Update(scanMsg{gen: m.scanGen, ev: Event{Section: report.SectionForeign, Err: fmt.Errorf("no sync database")}})
	m.Update(scanMsg{gen: m.scanGen, finished: true})
	if len(m.errs) != 2 || !strings.Contains(screen(m), "2 errors (e)") {
		t.Errorf("errors: %v\n%s", m.errs, screen(m))
	}
	press(t, m, "e")
	if got := screen(m); !strings.Contains(got, "/root/private: permission denied") || !strings.Contains(got, "no sync database") {
		t.Errorf("errors page:\n%s", got)
	}
	// Messages of an older scan are ignored.
	m.Update(scanMsg{gen: m.scanGen - 1, ev: Event{Section: report.SectionUnowned, Done: true, Report: &report.Report{}}})
	if len(s.all) != 5 {
		t.Errorf("an old scan replaced the section")
	}
}

func TestResize(t *testing.T) {
	m := newTestModel(t, 120, 40)
	deliverAll(m, sampleReport())
	for _, size := range [][2]int{{80, 24}, {200, 60}, {40, 12}, {120, 40}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := strings.Split(screen(m), "\n")
		if len(lines) != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", size[0], size[1], i, w, l)
			}
		}
		if !strings.Contains(screen(m), "libold") {
			t.Errorf("%dx%d: the list is gone:\n%s", size[0], size[1], screen(m))
		}
	}
}

// TestHostileNames: names from the database and the file system reach
// the screen quoted, never as raw escape sequences.
func TestHostileNames(t *testing.T) {
	m := newTestModel(t, 120, 40)
	rep := &report.Report{
		Orphans: []report.Orphan{{Name: "evil\x1b[31mred", Version: "1\x07-1", OptionalFor: []string{"x\x1b]0;title\x07"}}},
		Unowned: []report.Unowned{{Path: "/tmp/\x1b[2Jclear", Type: "file", Size: 1}},
	}
	deliver(m, rep, report.SectionOrphans, report.SectionUnowned)
	for _, tab := range []section{secOrphans, secUnowned} {
		m.active = tab
		m.updateDetail()
		out := m.render()
		for _, raw := range []string{"\x1b[31mred", "\x1b]0;", "\x07", "\x1b[2J"} {
			if strings.Contains(out, raw) {
				t.Errorf("%s: raw %q reaches the screen", sectionTitles[tab], raw)
			}
		}
		if !strings.Contains(ansi.Strip(out), `\x1b`) {
			t.Errorf("%s: the quoted name is not shown:\n%s", sectionTitles[tab], ansi.Strip(out))
		}
	}
}

// TestCursorVisible: whatever the moves, the highlighted row is on the
// screen.
func TestCursorVisible(t *testing.T) {
	m := newTestModel(t, 80, 24)
	rep := &report.Report{}
	for i := range 300 {
		rep.Unowned = append(rep.Unowned, report.Unowned{Path: fmt.Sprintf("/srv/f%03d", i), Type: "file", Size: int64(1000 - i)})
	}
	deliver(m, rep, report.SectionUnowned)
	m.active = secUnowned
	s := m.sections[secUnowned]
	check := func(step string) {
		t.Helper()
		it := s.current()
		if it == nil {
			t.Fatalf("%s: no current item", step)
		}
		list, _, _ := strings.Cut(screen(m), "────")
		if !strings.Contains(list, it.key) {
			t.Errorf("%s: %s is not on the screen:\n%s", step, it.key, screen(m))
		}
	}
	press(t, m, "G")
	check("G")
	press(t, m, "/", "2", "9", "enter")
	check("filter 29")
	press(t, m, "/", "esc")
	check("filter cleared")
	press(t, m, "g")
	check("g")
	for range 40 {
		press(t, m, "j")
	}
	check("40 j")
	press(t, m, "pgdown", "pgdown")
	check("pgdown")
	for range 7 {
		press(t, m, "k")
	}
	check("7 k")
	press(t, m, "s")
	check("sort by name")
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 15})
	check("resize")
}
