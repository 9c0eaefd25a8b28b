package tui

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// recordingEngine is a removal engine for the UI's own logic: it records
// what it was asked and answers from fixed data.
type recordingEngine struct {
	sel      Selection
	applied  bool
	planErr  error
	progress []int
}

func (e *recordingEngine) Plan(ctx context.Context, sel Selection) (*Plan, error) {
	e.sel = sel
	if e.planErr != nil {
		return nil, e.planErr
	}
	p := &Plan{Entries: sel.Unowned, CacheFiles: sel.Cache}
	for _, u := range sel.Unowned {
		p.EntryBytes += u.Size
	}
	return p, nil
}

func (e *recordingEngine) PackageCommand(p *Plan) (*exec.Cmd, error) { return nil, nil }

func (e *recordingEngine) AfterPackages(ctx context.Context, p *Plan, runErr error) (*Result, error) {
	return &Result{}, runErr
}

func (e *recordingEngine) Apply(ctx context.Context, p *Plan, progress func(done, total int, bytes int64)) (*Result, error) {
	e.applied = true
	total := len(p.Entries) + len(p.CacheFiles)
	for i := 1; i <= total; i++ {
		progress(i, total, int64(i))
		e.progress = append(e.progress, i)
	}
	return &Result{Quarantined: len(p.Entries), Pruned: len(p.CacheFiles), Freed: p.EntryBytes,
		Failures: []Failure{{What: "/var/lib/gone/", Why: "changed since the scan"}}, QuarantineID: "q-1"}, nil
}

// runAll runs cmd and, for a removal, every message it leads to.
func runAll(m *Model, cmd tea.Cmd) {
	for cmd != nil {
		msg := cmd()
		var next tea.Cmd
		switch msg := msg.(type) {
		case tea.BatchMsg:
			for _, c := range msg {
				runAll(m, c)
			}
		case applyMsg, planMsg, pkgRanMsg, pkgResultMsg:
			_, next = m.Update(msg)
		}
		cmd = next
	}
}

func TestRunRemoval(t *testing.T) {
	eng := &recordingEngine{}
	m := newTestModel(t, 80, 24)
	m.opts.Engine = eng
	deliverAll(m, sampleReport())
	m.active = secUnowned
	press(t, m, "space")
	m.active = secCache
	press(t, m, "space")
	press(t, m, "d")
	if m.page != pageConfirm || len(eng.sel.Unowned) != 1 || eng.sel.Unowned[0].Path != "/opt/old-app/" || len(eng.sel.Cache) != 1 {
		t.Fatalf("the engine was asked %+v (page %d)", eng.sel, m.page)
	}
	if eng.applied {
		t.Fatal("applied before y")
	}
	_, cmd := m.Update(keyMsg("y"))
	if m.page != pageRunning {
		t.Fatalf("y leads to page %d", m.page)
	}
	runAll(m, cmd)
	if !eng.applied || m.page != pageResult {
		t.Fatalf("applied %v, page %d", eng.applied, m.page)
	}
	got := ansi.Strip(m.result.view.GetContent())
	for _, want := range []string{"Quarantined 1 entry", "Deleted 1 file from the cache", "Freed 40.00 MiB", "/var/lib/gone/: changed since the scan", "pactidy quarantine restore q-1"} {
		if !strings.Contains(got, want) {
			t.Errorf("result lacks %q:\n%s", want, got)
		}
	}
	// The sections are scanned again.
	if !m.scanning || m.sections[secUnowned].state != sectionPending {
		t.Errorf("no rescan after the removal")
	}
}

func TestRunRefusedPlan(t *testing.T) {
	eng := &recordingEngine{planErr: errors.New("refusing to remove libold: not an orphan")}
	m := newTestModel(t, 80, 24)
	m.opts.Engine = eng
	deliverAll(m, sampleReport())
	press(t, m, "space", "d")
	if !strings.Contains(ansi.Strip(m.confirm.view.GetContent()), "not an orphan") {
		t.Errorf("the refusal is not shown:\n%s", m.confirm.view.GetContent())
	}
	press(t, m, "y")
	if eng.applied || m.page != pageConfirm {
		t.Errorf("a refused plan ran (page %d)", m.page)
	}
	press(t, m, "esc")
	if m.page != pageBrowse {
		t.Errorf("esc did not go back")
	}
}
