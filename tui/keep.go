package tui

import (
	"fmt"
	"path"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/quote"
)

// keepChoice is what of a path K keeps.
type keepChoice int

const (
	keepExact keepChoice = iota
	keepDir
	keepGlob
	numKeepChoices
)

var keepChoiceNames = [numKeepChoices]string{"this path", "its directory", "a pattern"}

// keepModel is the dialog that asks how to keep a path forever.
type keepModel struct {
	c    *common
	path string
	// user owns the allowlist written to ("" for the system's).
	user   string
	choice keepChoice
	input  textinput.Model
	// values are the patterns of the choices, as edited.
	values [numKeepChoices]string
}

func newKeepModel(c *common) keepModel {
	in := newInput("path ")
	return keepModel{c: c, input: in}
}

// newInput is a text input with a steady cursor (no blink timer).
func newInput(prompt string) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	st := in.Styles()
	st.Cursor.Blink = false
	in.SetStyles(st)
	return in
}

func (k *keepModel) layout(w int) { k.input.SetWidth(max(w-12, 10)) }

// open sets the dialog up for p.
func (k *keepModel) open(p string) tea.Cmd {
	k.path = p
	k.choice = keepExact
	exact := escapeGlob(p)
	dir := path.Dir(strings.TrimSuffix(p, "/"))
	k.values = [numKeepChoices]string{exact, exact, exact}
	// A top-level directory is never offered: "/" or "/*" would keep
	// everything.
	if dir != "/" {
		k.values[keepDir] = escapeGlob(dir) + "/"
		if strings.HasSuffix(p, "/") {
			k.values[keepGlob] = escapeGlob(dir) + "/*/"
		} else {
			k.values[keepGlob] = escapeGlob(dir) + "/*" + escapeGlob(path.Ext(p))
		}
	}
	k.input.SetValue(k.values[keepExact])
	k.input.CursorEnd()
	return k.input.Focus()
}

func (k *keepModel) choose(c keepChoice) {
	k.values[k.choice] = k.input.Value()
	k.choice = c
	k.input.SetValue(k.values[c])
	k.input.CursorEnd()
}

// escapeGlob quotes the allowlist's pattern characters so the pattern
// matches exactly p.
func escapeGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (k *keepModel) View() string {
	st := k.c.styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Keep forever") + "  " + quote.Quote(k.path) + "\n")
	if k.user != "" {
		b.WriteString(st.Dim.Render("in the allowlist of "+quote.Quote(k.user)+", ~/"+allowlist.UserFile) + "\n")
	}
	for c := keepChoice(0); c < numKeepChoices; c++ {
		name := keepChoiceNames[c]
		if c == k.choice {
			b.WriteString(st.TabActive.Render(name))
		} else {
			b.WriteString(st.TabInactive.Render(name))
		}
	}
	b.WriteString("\n" + k.input.View())
	return st.Dialog.Render(b.String())
}

// keptEntry is an allowlist line written in this session, with what it hid.
type keptEntry struct {
	entry allowlist.Entry
	file  string
	// user owns the file ("" for the system's allowlist).
	user  string
	items []*item
}

type keptMsg struct {
	entry allowlist.Entry
	user  string
	file  string
	err   error
}

type unkeptMsg struct {
	kept keptEntry
	err  error
}

// startKeep handles K: a package is kept at once, a path after asking how.
func (m *Model) startKeep() tea.Cmd {
	s := m.sections[m.active]
	it := s.current()
	switch {
	case it == nil:
		return nil
	case it.kind == kindPackage:
		return m.keepCmd(allowlist.Entry{Kind: allowlist.KindPackage, Package: it.key}, "")
	case it.kind == kindPath || it.pacfile != nil:
		m.page = pageKeep
		m.keep.user = ""
		return m.keep.open(it.key)
	case it.kind == kindUser:
		// A user's data is kept in their own allowlist.
		m.page = pageKeep
		m.keep.user = it.user.User
		return m.keep.open(it.key)
	case it.kind == kindCache:
		m.status = "cache files follow the cache policy; keep the package itself with K on its tab"
	default:
		m.status = "nothing to keep here"
	}
	return nil
}

func (m *Model) updateKeep(msg tea.Msg) tea.Cmd {
	k := m.c.keys
	if kp, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case kp.String() == "esc":
			m.page = pageBrowse
			m.keep.input.Blur()
			return nil
		case key.Matches(kp, k.Accept):
			e, err := allowlist.ParseEntry("path " + strings.TrimSpace(m.keep.input.Value()))
			if err != nil {
				m.status = quote.Quote(err.Error())
				return nil
			}
			m.page = pageBrowse
			m.keep.input.Blur()
			return m.keepCmd(e, m.keep.user)
		case kp.String() == "tab" || kp.String() == "down":
			m.keep.choose((m.keep.choice + 1) % numKeepChoices)
			return nil
		case kp.String() == "shift+tab" || kp.String() == "up":
			m.keep.choose((m.keep.choice + numKeepChoices - 1) % numKeepChoices)
			return nil
		}
	}
	var cmd tea.Cmd
	m.keep.input, cmd = m.keep.input.Update(msg)
	return cmd
}

// keepCmd writes e into the allowlist file, as `pactidy allow add` does:
// the system's, or with user set that user's own, written as that user.
func (m *Model) keepCmd(e allowlist.Entry, user string) tea.Cmd {
	if user != "" {
		ua, ctx := m.opts.UserAllowlist, m.ctx
		if ua == nil {
			m.status = "no allowlist of " + quote.Quote(user) + " to write to"
			return nil
		}
		return func() tea.Msg {
			file, err := ua.Add(ctx, user, e)
			return keptMsg{entry: e, user: user, file: file, err: err}
		}
	}
	file := m.opts.AllowlistFile
	if file == "" {
		m.status = "no allowlist file to write to"
		return nil
	}
	return func() tea.Msg {
		return keptMsg{entry: e, file: file, err: allowlist.Add(file, e)}
	}
}

func (m *Model) handleKept(msg keptMsg) {
	if msg.err != nil {
		m.addError(msg.file, msg.err)
		return
	}
	ke := keptEntry{entry: msg.entry, file: msg.file, user: msg.user}
	for _, s := range m.sections {
		ke.items = append(ke.items, hideKept(s, msg.entry, msg.user)...)
	}
	m.kept = append(m.kept, ke)
	m.status = fmt.Sprintf("kept forever: %q in %s (%s hidden; u undoes)", msg.entry.String(), quote.Quote(ke.file), plural(len(ke.items), "item", "items"))
	m.updateDetail()
}

// hideKept hides the items of s that e keeps and returns them. An entry
// of user's own allowlist keeps only that user's data; the system's keep
// user data too.
func hideKept(s *sectionModel, e allowlist.Entry, user string) []*item {
	var hidden []*item
	var l *allowlist.List
	if e.Kind != allowlist.KindPackage {
		l, _ = allowlist.New([]allowlist.Entry{e})
	}
	for _, it := range s.all {
		if it.hidden {
			continue
		}
		var keep bool
		switch {
		case e.Kind == allowlist.KindPackage:
			keep = it.kind == kindPackage && it.key == e.Package && user == ""
		case l != nil && it.kind == kindUser:
			keep = (user == "" || it.user.User == user) && l.KeepsPath(it.key, nil)
		case l != nil && (it.kind == kindPath || it.pacfile != nil):
			keep = user == "" && l.KeepsPath(it.key, nil)
		}
		if keep {
			it.hidden, it.marked = true, false
			it.row = nil
			hidden = append(hidden, it)
		}
	}
	if len(hidden) > 0 {
		s.refresh()
	}
	return hidden
}

// reapplyKeeps hides, in a section that just arrived, what was kept
// while it was being computed.
func (m *Model) reapplyKeeps(s *sectionModel) {
	for i := range m.kept {
		m.kept[i].items = append(m.kept[i].items, hideKept(s, m.kept[i].entry, m.kept[i].user)...)
	}
}

// undoKeep removes the last entry K wrote and shows its items again.
func (m *Model) undoKeep() tea.Cmd {
	if len(m.kept) == 0 {
		m.status = "nothing to undo"
		return nil
	}
	ke := m.kept[len(m.kept)-1]
	if ke.user != "" {
		ua, ctx := m.opts.UserAllowlist, m.ctx
		return func() tea.Msg {
			_, err := ua.Remove(ctx, ke.user, ke.entry)
			return unkeptMsg{kept: ke, err: err}
		}
	}
	return func() tea.Msg {
		return unkeptMsg{kept: ke, err: allowlist.Remove(ke.file, ke.entry)}
	}
}

func (m *Model) handleUnkept(msg unkeptMsg) {
	if msg.err != nil {
		m.addError(msg.kept.file, msg.err)
		return
	}
	if n := len(m.kept); n > 0 && m.kept[n-1].entry.String() == msg.kept.entry.String() {
		m.kept = m.kept[:n-1]
	}
	for _, it := range msg.kept.items {
		it.hidden = false
	}
	for _, s := range m.sections {
		s.refresh()
	}
	m.status = fmt.Sprintf("undone: %q removed from %s", msg.kept.entry.String(), quote.Quote(msg.kept.file))
	m.updateDetail()
}
