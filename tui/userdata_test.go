package tui

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/report"
)

// sampleUserdata is what the userdata section finds in alice's home; the
// last entry is in use (listed with --show-hidden only).
func sampleUserdata() *report.Report {
	t := time.Date(2024, 5, 6, 7, 8, 0, 0, time.UTC)
	return &report.Report{
		Sections: []string{report.SectionUserdata},
		Root:     "/",
		Userdata: []report.UserData{
			{User: "alice", Path: "/home/alice/.cache/gone-app", Kind: "cache", Type: "dir", Size: 80 << 20, Entries: 412, MTime: t, SafeToDrop: true, Checked: []string{"gone-app", "goneapp"}},
			{User: "alice", Path: "/home/alice/.local/share/com.example.Gone", Kind: "data", Type: "dir", Size: 3 << 20, Entries: 9, MTime: t, Checked: []string{"com.example.gone", "gone"}},
			{User: "alice", Path: "/home/alice/.config/oldeditor", Kind: "config", Type: "dir", Size: 24 << 10, Entries: 5, MTime: t.AddDate(-1, 0, 0), Checked: []string{"oldeditor"}},
			{User: "alice", Path: "/home/alice/.oldtool", Kind: "home", Type: "dir", Size: 120, Entries: 1, MTime: t, Checked: []string{"oldtool"}},
			{User: "alice", Path: "/home/alice/.config/firefox", Kind: "config", Type: "dir", Size: 1 << 20, MatchedBy: "package firefox"},
		},
	}
}

// demandSource is a source whose on-demand section is rep (or err); Scan
// is never run by the model tests.
type demandSource struct {
	mu    sync.Mutex
	rep   *report.Report
	err   error
	calls []string
}

func (d *demandSource) Scan(ctx context.Context, emit func(Event)) error { return nil }

func (d *demandSource) ScanSection(ctx context.Context, section string, emit func(Event)) error {
	d.mu.Lock()
	d.calls = append(d.calls, section)
	rep, err := d.rep, d.err
	d.mu.Unlock()
	if err != nil {
		return err
	}
	emit(Event{Section: section, Progress: Progress{Dirs: 3}})
	emit(Event{Section: section, Done: true, Report: rep})
	return nil
}

func (d *demandSource) scans() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

// userFiles is a UserAllowlist writing one file per user below dir.
type userFiles struct {
	dir   string
	users []string
}

func (u *userFiles) file(user string) string { return filepath.Join(u.dir, user, allowlist.UserFile) }

func (u *userFiles) Add(ctx context.Context, user string, e allowlist.Entry) (string, error) {
	u.users = append(u.users, user)
	return u.file(user), allowlist.Add(u.file(user), e)
}

func (u *userFiles) Remove(ctx context.Context, user string, e allowlist.Entry) (string, error) {
	return u.file(user), allowlist.Remove(u.file(user), e)
}

// userEngine plans and "moves" user data as the command's engine reports
// it: into the home's quarantine, as its owner.
type userEngine struct {
	applied []report.UserData
}

func (e *userEngine) Plan(ctx context.Context, sel Selection) (*Plan, error) {
	p := &Plan{UserQuarantine: "/home/alice/.local/share/pactidy/quarantine", UserOwner: "alice"}
	for _, u := range sel.Userdata {
		p.UserData = append(p.UserData, u)
		p.UserDataBytes += u.Size
	}
	return p, nil
}

func (e *userEngine) PackageCommand(p *Plan) (*exec.Cmd, error) { return nil, nil }

func (e *userEngine) AfterPackages(ctx context.Context, p *Plan, runErr error) (*Result, error) {
	return &Result{}, runErr
}

func (e *userEngine) Apply(ctx context.Context, p *Plan, progress func(done, total int, bytes int64)) (*Result, error) {
	e.applied = append(e.applied, p.UserData...)
	r := &Result{Quarantined: len(p.UserData), Freed: p.UserDataBytes,
		UserQuarantineDir: p.UserQuarantine, UserQuarantineID: "20260102T030405-ab12"}
	return r, nil
}

// userdataModel is a model whose other sections are in and whose Userdata
// tab is active and not scanned.
func userdataModel(t *testing.T, w, h int, src *demandSource) *Model {
	t.Helper()
	m := newTestModel(t, w, h)
	m.opts.Source = src
	m.opts.UserAllowlist = &userFiles{dir: t.TempDir()}
	deliverAll(m, sampleReport())
	press(t, m, "shift+tab")
	if m.active != secUserdata {
		t.Fatalf("shift+tab from the first tab leads to %s", sectionTitles[m.active])
	}
	return m
}

func TestUserdataOnDemand(t *testing.T) {
	src := &demandSource{rep: sampleUserdata()}
	m := userdataModel(t, 100, 30, src)
	s := m.sections[secUserdata]

	// The scan at start left it alone: it waits, says what it is and how
	// to start it.
	if s.state != sectionIdle || src.scans() != 0 {
		t.Fatalf("userdata before r: state %d, %d scans", s.state, src.scans())
	}
	got := screen(m)
	for _, want := range []string{"Userdata ?", "A guess from names", "press r", "r scan user data"} {
		if !strings.Contains(got, want) {
			t.Errorf("the idle tab lacks %q:\n%s", want, got)
		}
	}
	// r elsewhere does not scan it.
	press(t, m, "tab", "r")
	if src.scans() != 0 || !strings.Contains(m.status, "Userdata tab") {
		t.Errorf("r on %s: %d scans, status %q", sectionTitles[m.active], src.scans(), m.status)
	}
	press(t, m, "shift+tab", "r")
	if src.scans() != 1 || s.state != sectionDone {
		t.Fatalf("after r: %d scans, state %d (err %v)", src.scans(), s.state, s.err)
	}
	// Largest first, the entry in use left out, nothing marked.
	if got := strings.Join(labels(s), " "); got != "/home/alice/.cache/gone-app /home/alice/.local/share/com.example.Gone /home/alice/.config/oldeditor /home/alice/.oldtool" {
		t.Errorf("rows: %s", got)
	}
	if n := len(s.marked()); n != 0 {
		t.Errorf("%d entries marked by the scan", n)
	}
	got = screen(m)
	for _, want := range []string{"Userdata 4", "80.00 MiB cache      412 2024-05-06", "Evidence", "no installed owner found", "gone-app, goneapp", "safe to drop"} {
		if !strings.Contains(got, want) {
			t.Errorf("the scanned tab lacks %q:\n%s", want, got)
		}
	}
	press(t, m, "j", "j")
	if got := ansi.Strip(m.detail.GetContent()); !strings.Contains(got, "needs a look") || !strings.Contains(got, "oldeditor") || !strings.Contains(got, "~/.config") {
		t.Errorf("the detail of a config entry:\n%s", got)
	}
	// Marking and the selection.
	press(t, m, "space")
	sel := m.Selection()
	if len(sel.Userdata) != 1 || sel.Userdata[0].Path != "/home/alice/.config/oldeditor" || sel.Empty() {
		t.Errorf("selection: %+v", sel)
	}
	// A failed scan says so and can be tried again.
	src.mu.Lock()
	src.err = errors.New("uid 1000 is not in /etc/passwd: name the user with --user")
	src.mu.Unlock()
	press(t, m, "r")
	if s.state != sectionFailed || !strings.Contains(screen(m), "uid 1000 is not in /etc/passwd") {
		t.Errorf("a failed scan: state %d\n%s", s.state, screen(m))
	}
}

func TestUserdataRemove(t *testing.T) {
	src := &demandSource{rep: sampleUserdata()}
	m := userdataModel(t, 100, 30, src)
	eng := &userEngine{}
	m.opts.Engine = eng
	press(t, m, "r", "space", "d")
	if m.page != pageConfirm {
		t.Fatalf("d did not open the summary (status %q)", m.status)
	}
	got := ansi.Strip(m.confirm.view.GetContent())
	for _, want := range []string{"1 entry of user data to move (80.00 MiB)", "/home/alice/.local/share/pactidy/quarantine", "moved as alice", "/home/alice/.cache/gone-app", "Total: 80.00 MiB"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	press(t, m, "y")
	if len(eng.applied) != 1 || eng.applied[0].Path != "/home/alice/.cache/gone-app" {
		t.Fatalf("applied %+v", eng.applied)
	}
	if m.page != pageResult {
		t.Fatalf("page %d after the removal", m.page)
	}
	got = ansi.Strip(m.result.view.GetContent())
	for _, want := range []string{"Quarantined 1 entry", "pactidy quarantine restore --quarantine-dir /home/alice/.local/share/pactidy/quarantine 20260102T030405-ab12"} {
		if !strings.Contains(got, want) {
			t.Errorf("result lacks %q:\n%s", want, got)
		}
	}
	// The section is scanned again with the others.
	if src.scans() != 2 {
		t.Errorf("%d scans of the user data after the removal, want 2", src.scans())
	}
}

func TestUserdataKeep(t *testing.T) {
	src := &demandSource{rep: sampleUserdata()}
	m := userdataModel(t, 100, 30, src)
	ua := m.opts.UserAllowlist.(*userFiles)
	press(t, m, "r", "j", "K")
	if m.page != pageKeep || !strings.Contains(screen(m), "in the allowlist of alice") {
		t.Fatalf("K on user data: page %d\n%s", m.page, screen(m))
	}
	press(t, m, "enter")
	data, err := os.ReadFile(ua.file("alice"))
	if err != nil || string(data) != "path /home/alice/.local/share/com.example.Gone\n" {
		t.Fatalf("alice's allowlist: %q, %v", data, err)
	}
	if sys, err := os.ReadFile(m.opts.AllowlistFile); err == nil || !os.IsNotExist(err) {
		t.Errorf("the system allowlist was written: %q, %v", sys, err)
	}
	if got := labels(m.sections[secUserdata]); len(got) != 3 || strings.Contains(strings.Join(got, " "), "Gone") {
		t.Errorf("after keeping: %v", got)
	}
	if !strings.Contains(m.status, ua.file("alice")) {
		t.Errorf("status: %q", m.status)
	}
	// Undo removes the line from alice's file and shows the entry again.
	press(t, m, "u")
	data, _ = os.ReadFile(ua.file("alice"))
	if string(data) != "" || len(labels(m.sections[secUserdata])) != 4 {
		t.Errorf("after undo: %q, %v", data, labels(m.sections[secUserdata]))
	}
	// A package kept in the system allowlist hides no user data.
	press(t, m, "tab", "K")
	if got := len(labels(m.sections[secUserdata])); got != 4 {
		t.Errorf("keeping a package hid user data: %d left", got)
	}
}
