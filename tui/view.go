package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/pactidy/pactidy/internal/quote"
)

// View draws the screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "pactidy"
	return v
}

// render is the screen as text.
func (m *Model) render() string {
	w, h := m.c.width, m.c.height
	st := m.c.styles
	var body string
	footer := m.help.View(m.browseKeys())
	switch m.page {
	case pageHelp:
		m.help.ShowAll = true
		body = st.Title.Render("Keys") + "\n\n" + m.help.View(m.c.keys) + "\n\n" + st.Dim.Render("Any key goes back.")
		m.help.ShowAll = false
		return fit(body, w, h)
	case pageErrors:
		body = st.Title.Render(fmt.Sprintf("Errors (%d)", len(m.errs))) + "\n" + m.errPage.View()
		footer = m.help.View(bindings{m.c.keys.Up, m.c.keys.Down, helpBinding("any key", "back")})
		return fit(body, w, h-1) + "\n" + footer
	case pageConfirm:
		body = m.confirm.view.View()
		footer = m.help.View(bindings{m.c.keys.Yes, m.c.keys.No, m.c.keys.Up, m.c.keys.Down})
		return m.titleView() + "\n" + fit(body, w, h-2) + "\n" + footer
	case pageRunning:
		pct := 0.0
		if m.applyTotal > 0 {
			pct = float64(m.applyDone) / float64(m.applyTotal)
		}
		body = m.spinner.View() + " Removing…\n\n" + m.bar.ViewAs(pct) +
			fmt.Sprintf("\n%d of %d, %s", m.applyDone, m.applyTotal, humanBytes(m.applyBytes))
		return m.titleView() + "\n" + fit(body, w, h-1)
	case pageResult:
		body = m.result.view.View()
		return m.titleView() + "\n" + fit(body, w, h-1)
	}

	s := m.sections[m.active]
	listW, listH, _, _ := m.split(w, max(h-m.chromeHeight(), 3))
	list := fit(m.listView(s), listW, listH)
	var main string
	if listW < w {
		pane := lipgloss.NewStyle().Border(lipgloss.NormalBorder(), false, false, false, true).BorderForeground(nil).PaddingLeft(0)
		main = lipgloss.JoinHorizontal(lipgloss.Top, list, pane.Render(fit(m.detail.View(), w-listW-1, listH)))
	} else {
		main = list + "\n" + st.Pane.Width(w).Render(fit(m.detail.View(), w, max(h-m.chromeHeight()-listH-1, 0)))
	}
	status := m.statusView()
	if m.page == pageFilter {
		status = m.filter.View()
	}
	screen := m.titleView() + "\n" + m.tabsView() + "\n" + main + "\n" + truncate(status, w) + "\n" + footer
	if m.page == pageKeep {
		screen = overlay(screen, m.keep.View(), w, h)
	}
	return fit(screen, w, h)
}

// browseKeys is the key help of the browsing screen: on a tab scanned on
// demand, its scan key first.
func (m *Model) browseKeys() help.KeyMap {
	k := m.c.keys
	if m.active.onDemand() {
		return bindings(append([]key.Binding{k.Scan}, k.ShortHelp()...))
	}
	return k
}

func helpBinding(k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(k), key.WithHelp(k, desc))
}

func (m *Model) titleView() string {
	st := m.c.styles
	t := st.Title.Render("pactidy")
	if m.root != "" && m.root != "/" {
		t += " " + st.Dim.Render("on "+quote.Quote(m.root))
	}
	if m.busy() {
		var running []string
		for _, s := range m.sections {
			if s.state == sectionPending {
				running = append(running, strings.ToLower(sectionTitles[s.id]))
			}
		}
		t += " " + m.spinner.View() + " scanning " + strings.Join(running, ", ")
		if p := m.progressText(); p != "" {
			t += " (" + p + ")"
		}
	}
	marked, bytes := 0, int64(0)
	for _, s := range m.sections {
		st := s.getStats()
		marked += st.nMarked
		bytes += st.markedBytes
	}
	if marked > 0 {
		t += "  " + st.Warn.Render(fmt.Sprintf("%d marked, %s", marked, humanBytes(bytes)))
	}
	return truncate(t, m.c.width)
}

// progressText sums the progress of the running sections.
func (m *Model) progressText() string {
	var p Progress
	for _, s := range m.sections {
		if s.state == sectionPending {
			p.Packages += s.progress.Packages
			p.Dirs += s.progress.Dirs
			p.Files += s.progress.Files
			p.Bytes += s.progress.Bytes
		}
	}
	return progressOf(p, true)
}

// tabsView is the row of sections with their counts and bytes; on a
// narrow window the inactive tabs drop their bytes, then wrap.
func (m *Model) tabsView() string {
	st := m.c.styles
	render := func(withBytes bool) []string {
		var tabs []string
		for _, s := range m.sections {
			label := sectionTitles[s.id]
			switch s.state {
			case sectionPending:
				label += " " + m.spinner.View()
			case sectionFailed:
				label += " !"
			case sectionIdle:
				label += " ?"
			default:
				n, bytes, sized := s.totals()
				label += fmt.Sprintf(" %d", n)
				if sized && (withBytes || s.id == m.active) && n > 0 {
					label += " " + humanBytes(bytes)
				}
			}
			if s.id == m.active {
				tabs = append(tabs, st.TabActive.Render(label))
			} else {
				tabs = append(tabs, st.TabInactive.Render(label))
			}
		}
		return tabs
	}
	tabs := render(true)
	if lipgloss.Width(strings.Join(tabs, "")) > m.c.width {
		tabs = render(false)
	}
	var lines []string
	line := ""
	for _, t := range tabs {
		if line != "" && lipgloss.Width(line+t) > m.c.width {
			lines = append(lines, line)
			line = ""
		}
		line += t
	}
	return strings.Join(append(lines, line), "\n")
}

func (m *Model) listView(s *sectionModel) string {
	st := m.c.styles
	switch {
	case s.state == sectionIdle:
		return m.idleText(s)
	case s.state == sectionPending:
		p := ""
		if s.progress != (Progress{}) {
			p = " (" + progressOf(s.progress, false) + ")"
		}
		return m.spinner.View() + " scanning " + strings.ToLower(sectionTitles[s.id]) + "…" + p
	case s.state == sectionFailed:
		return st.Error.Render(sectionTitles[s.id] + " could not be computed: " + quote.Quote(s.err.Error()))
	case len(s.all) == 0:
		return st.Dim.Render(emptyText(s.id))
	}
	return s.View()
}

// idleText explains an on-demand section before it is scanned.
func (m *Model) idleText(s *sectionModel) string {
	st := m.c.styles
	k := m.c.keys.Scan.Help().Key
	if _, ok := m.opts.Source.(OnDemandSource); !ok {
		return st.Dim.Render(sectionTitles[s.id] + " cannot be scanned in this build.")
	}
	wrap := lipgloss.NewStyle().Width(max(s.width, 20))
	paras := []string{
		st.Title.Render("Stale user data"),
		"Entries of ~/.config, ~/.cache, ~/.local/share, ~/.local/state and the dot-directories of the home that no installed program seems to use.",
		st.Warn.Render("A guess from names") + ": nothing is marked for you. Entries in ~/.cache are safe to drop; the others need a look first. Marked entries go into the home's own quarantine, moved by its owner, and can be restored.",
		"Not scanned at start: press " + st.Label.Render(k) + " to look through the home.",
	}
	for i, p := range paras {
		paras[i] = wrap.Render(p)
	}
	return strings.Join(paras, "\n\n")
}

// progressOf says what p counted: packages, directories, files when
// files is set (the header's sum shows them, a scanning section's own
// line does not) and bytes.
func progressOf(p Progress, files bool) string {
	var parts []string
	if p.Packages > 0 {
		parts = append(parts, fmt.Sprintf("%d packages", p.Packages))
	}
	if p.Dirs > 0 {
		parts = append(parts, fmt.Sprintf("%d dirs", p.Dirs))
	}
	if files && p.Files > 0 {
		parts = append(parts, fmt.Sprintf("%d files", p.Files))
	}
	if p.Bytes > 0 {
		parts = append(parts, humanBytes(p.Bytes))
	}
	return strings.Join(parts, ", ")
}

func (m *Model) statusView() string {
	st := m.c.styles
	s := m.sections[m.active]
	var parts []string
	if s.state == sectionDone && len(s.all) > 0 {
		info := fmt.Sprintf("%d/%d", s.table.Cursor()+1, len(s.visible))
		if s.filter != "" {
			info += " filter " + quote.Quote(s.filter)
		}
		info += " by " + s.sort.String()
		parts = append(parts, st.Dim.Render(info))
	}
	if len(m.errs) > 0 {
		parts = append(parts, st.Error.Render(fmt.Sprintf("%s (e)", plural(len(m.errs), "error", "errors"))))
	}
	if m.status != "" {
		parts = append(parts, m.status)
	}
	return strings.Join(parts, "  ")
}

// fit cuts or pads s to w columns and exactly h lines.
func fit(s string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = truncate(l, w)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lipgloss.NewStyle().Width(w).Render(strings.Join(lines, "\n"))
}

func truncate(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// overlay puts box in the middle of screen.
func overlay(screen, box string, w, h int) string {
	bw, bh := lipgloss.Width(box), lipgloss.Height(box)
	x, y := max((w-bw)/2, 0), max((h-bh)/2, 0)
	return lipgloss.NewCompositor(lipgloss.NewLayer(screen), lipgloss.NewLayer(box).X(x).Y(y).Z(1)).Render()
}
