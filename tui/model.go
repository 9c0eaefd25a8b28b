// Package tui is pactidy's interactive review: the findings as tabs,
// marking, keeping things forever and confirmed removal.
package tui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/report"
)

// Options set up the UI.
type Options struct {
	Source Source
	// Engine carries out removals; nil shows the plan but cannot run it.
	Engine Engine
	// AllowlistFile is the file K writes to (the one `pactidy allow` edits).
	AllowlistFile string
	// UserAllowlist is where K writes for user data (the owner's own
	// allowlist); nil refuses to keep user data.
	UserAllowlist UserAllowlist
	// Color allows colours (false for NO_COLOR and --color never).
	Color bool
	// Context ends the scans.
	Context context.Context
	// ExitAfter quits by itself, for timing the UI: "first-frame" right
	// after the first frame, "last-section" once every section is shown.
	ExitAfter string
}

// common is what every part of the UI shares.
type common struct {
	width, height int
	styles        *Styles
	keys          *KeyMap
}

// page is the screen shown.
type page int

const (
	pageBrowse page = iota
	pageFilter
	pageKeep
	pageConfirm
	pageRunning
	pageResult
	pageHelp
	pageErrors
)

// Model is the root model.
type Model struct {
	c    *common
	opts Options
	ctx  context.Context
	page page

	sections [numSections]*sectionModel
	active   section

	spinner spinner.Model
	help    help.Model
	detail  viewport.Model
	filter  textinput.Model
	keep    keepModel
	confirm confirmModel
	result  resultModel
	errPage viewport.Model
	bar     progress.Model

	info     Info
	pathInfo map[string]pathInfo
	// root is the root the findings are about, from the first section.
	root string

	// scanGen tells the messages of an old scan from the current one.
	scanGen  int
	scanning bool
	// errs are the problems to show: the report's unreadable paths and
	// what failed in the UI.
	errs   []report.Error
	status string

	kept []keptEntry

	// applyDone of applyTotal items are done in a running removal.
	applyDone, applyTotal int
	applyBytes            int64
}

// New returns the root model; Init starts the scan.
func New(opts Options) *Model {
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	c := &common{width: 80, height: 24, styles: NewStyles(opts.Color), keys: DefaultKeyMap()}
	m := &Model{c: c, opts: opts, ctx: opts.Context, pathInfo: map[string]pathInfo{}}
	for i := range m.sections {
		m.sections[i] = newSection(c, section(i))
	}
	m.spinner = spinner.New(spinner.WithSpinner(spinner.Dot), spinner.WithStyle(c.styles.Spinner))
	m.help = help.New()
	m.help.Styles = c.styles.Help
	m.detail = viewport.New()
	m.detail.SoftWrap = true
	m.errPage = viewport.New()
	m.errPage.SoftWrap = true
	m.filter = newInput("/")
	m.keep = newKeepModel(c)
	m.confirm = newConfirmModel(c)
	m.result = newResultModel(c)
	m.bar = progress.New(progress.WithWidth(40))
	m.layout()
	return m
}

// Init starts the scan and the spinner.
func (m *Model) Init() tea.Cmd {
	if m.opts.ExitAfter == "first-frame" {
		return tea.Quit
	}
	return tea.Batch(m.startScan(), m.spinner.Tick)
}

// Update handles one message; it never blocks.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.width, m.c.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case spinner.TickMsg:
		if !m.busy() && m.page != pageRunning {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case scanMsg:
		return m, m.handleScan(msg)
	case pathInfoMsg:
		m.pathInfo[msg.path] = msg.info
		m.updateDetail()
		return m, nil
	case keptMsg:
		m.handleKept(msg)
		return m, nil
	case unkeptMsg:
		m.handleUnkept(msg)
		return m, nil
	case planMsg, pkgRanMsg, pkgResultMsg, applyMsg:
		return m, m.handleRun(msg)
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	}
	if m.page == pageFilter || m.page == pageKeep {
		return m, m.updateInput(msg)
	}
	return m, nil
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.keys
	switch m.page {
	case pageFilter, pageKeep:
		return m.updateInput(msg)
	case pageHelp:
		if key.Matches(msg, k.Quit) && msg.String() == "ctrl+c" {
			return tea.Quit
		}
		m.page = pageBrowse
		return nil
	case pageErrors:
		switch {
		case key.Matches(msg, k.Up):
			m.errPage.ScrollUp(1)
		case key.Matches(msg, k.Down):
			m.errPage.ScrollDown(1)
		case key.Matches(msg, k.PageUp):
			m.errPage.PageUp()
		case key.Matches(msg, k.PageDown):
			m.errPage.PageDown()
		default:
			m.page = pageBrowse
		}
		return nil
	case pageConfirm:
		switch {
		case key.Matches(msg, k.Yes):
			return m.runPlan()
		case key.Matches(msg, k.No):
			m.page = pageBrowse
			m.confirm.plan = nil
		case key.Matches(msg, k.Up):
			m.confirm.view.ScrollUp(1)
		case key.Matches(msg, k.Down):
			m.confirm.view.ScrollDown(1)
		case key.Matches(msg, k.Quit):
			return tea.Quit
		}
		return nil
	case pageRunning:
		if msg.String() == "ctrl+c" {
			return tea.Quit
		}
		return nil
	case pageResult:
		switch {
		case key.Matches(msg, k.Quit):
			return tea.Quit
		case key.Matches(msg, k.Up):
			m.result.view.ScrollUp(1)
		case key.Matches(msg, k.Down):
			m.result.view.ScrollDown(1)
		default:
			m.page = pageBrowse
		}
		return nil
	}

	s := m.sections[m.active]
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.NextTab):
		m.active = (m.active + 1) % numSections
	case key.Matches(msg, k.PrevTab):
		m.active = (m.active + numSections - 1) % numSections
	case key.Matches(msg, k.Up):
		s.table.MoveUp(1)
	case key.Matches(msg, k.Down):
		s.table.MoveDown(1)
	case key.Matches(msg, k.PageUp):
		s.table.MoveUp(s.table.Height())
	case key.Matches(msg, k.PageDown):
		s.table.MoveDown(s.table.Height())
	case key.Matches(msg, k.Top):
		s.table.GotoTop()
	case key.Matches(msg, k.Bottom):
		s.table.GotoBottom()
	case key.Matches(msg, k.Mark):
		s.toggle()
		s.table.MoveDown(1)
	case key.Matches(msg, k.MarkAll):
		s.markAll(false)
	case key.Matches(msg, k.Invert):
		s.markAll(true)
	case key.Matches(msg, k.Sort):
		s.setSort(1 - s.sort)
		m.status = "sorted by " + s.sort.String()
	case key.Matches(msg, k.Scan):
		return m.scanOnDemand()
	case key.Matches(msg, k.Filter):
		m.page = pageFilter
		m.filter.SetValue(s.filter)
		m.filter.CursorEnd()
		return m.filter.Focus()
	case key.Matches(msg, k.Keep):
		return m.startKeep()
	case key.Matches(msg, k.Undo):
		return m.undoKeep()
	case key.Matches(msg, k.Remove):
		return m.startConfirm()
	case key.Matches(msg, k.Errors):
		m.page = pageErrors
		m.errPage.SetContent(m.errorsText())
		m.errPage.GotoTop()
		return nil
	case key.Matches(msg, k.Help):
		m.page = pageHelp
		return nil
	default:
		return nil
	}
	return m.updateDetail()
}

// updateInput feeds the filter or keep-forever input.
func (m *Model) updateInput(msg tea.Msg) tea.Cmd {
	if m.page == pageKeep {
		return m.updateKeep(msg)
	}
	k := m.c.keys
	if kp, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(kp, k.Accept):
			m.page = pageBrowse
			m.filter.Blur()
			return m.updateDetail()
		case kp.String() == "esc":
			m.page = pageBrowse
			m.filter.Blur()
			m.filter.SetValue("")
			m.sections[m.active].setFilter("")
			return m.updateDetail()
		}
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.sections[m.active].setFilter(m.filter.Value())
	return tea.Batch(cmd, m.updateDetail())
}

// layout sizes every part to the window.
func (m *Model) layout() {
	w, h := m.c.width, m.c.height
	body := max(h-m.chromeHeight(), 3)
	listW, listH, detW, detH := m.split(w, body)
	for _, s := range m.sections {
		s.layout(listW, listH)
	}
	m.detail.SetWidth(detW)
	m.detail.SetHeight(detH)
	m.errPage.SetWidth(w)
	m.errPage.SetHeight(max(h-3, 1))
	m.help.SetWidth(w)
	m.filter.SetWidth(max(w-4, 10))
	m.keep.layout(w)
	m.confirm.layout(w, h-3)
	m.result.layout(w, h-3)
	m.bar.SetWidth(min(max(w-10, 10), 60))
	m.updateDetail()
}

// chromeHeight is the lines around the list: title, tabs, status, help.
func (m *Model) chromeHeight() int { return 1 + lipgloss.Height(m.tabsView()) + 1 + 1 }

// split divides the body between the list and the detail pane: side by
// side on wide windows, one above the other on narrow ones (the pane's
// border line included in its height).
func (m *Model) split(w, body int) (listW, listH, detW, detH int) {
	if w >= 110 {
		listW = w * 3 / 5
		return listW, body, w - listW - 1, body
	}
	detH = min(max(body*2/5, 4), 12)
	return w, body - detH, w, detH - 1
}

// Selection is what is marked, over all sections.
func (m *Model) Selection() Selection {
	var sel Selection
	for _, s := range m.sections {
		for _, it := range s.marked() {
			switch {
			case it.kind == kindPackage:
				sel.Packages = append(sel.Packages, it.key)
			case it.unowned != nil:
				sel.Unowned = append(sel.Unowned, *it.unowned)
			case it.group != nil:
				sel.Cache = append(sel.Cache, it.group.Remove...)
			case it.user != nil:
				sel.Userdata = append(sel.Userdata, *it.user)
			}
		}
	}
	return sel
}

func (m *Model) addError(path string, err error) {
	m.errs = append(m.errs, report.Error{Path: path, Error: err.Error()})
	if path != "" {
		m.status = quote.Quote(path) + ": " + quote.Quote(err.Error())
	} else {
		m.status = quote.Quote(err.Error())
	}
}

func (m *Model) errorsText() string {
	if len(m.errs) == 0 {
		return "No errors."
	}
	var b strings.Builder
	for _, e := range m.errs {
		if e.Path != "" {
			b.WriteString(quote.Quote(e.Path) + ": ")
		}
		b.WriteString(quote.Quote(e.Error) + "\n")
	}
	return b.String()
}

var errNoEngine = errors.New("removal is not available in this build")
