package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the UI.
type KeyMap struct {
	NextTab  key.Binding
	PrevTab  key.Binding
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Mark     key.Binding
	MarkAll  key.Binding
	Invert   key.Binding
	Sort     key.Binding
	Filter   key.Binding
	Scan     key.Binding
	Keep     key.Binding
	Undo     key.Binding
	Remove   key.Binding
	Yes      key.Binding
	No       key.Binding
	Accept   key.Binding
	Choose   key.Binding
	Errors   key.Binding
	Help     key.Binding
	Quit     key.Binding
}

// DefaultKeyMap is the key map of the UI.
func DefaultKeyMap() *KeyMap {
	return &KeyMap{
		NextTab:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next section")),
		PrevTab:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous section")),
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		Mark:     key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark")),
		MarkAll:  key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "mark all shown")),
		Invert:   key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "invert marks")),
		Sort:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort by size/name")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Scan:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "scan user data")),
		Keep:     key.NewBinding(key.WithKeys("K"), key.WithHelp("K", "keep forever")),
		Undo:     key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "undo keep")),
		Remove:   key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "remove marked…")),
		Yes:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes, do it")),
		No:       key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "back")),
		Accept:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "accept")),
		Choose:   key.NewBinding(key.WithKeys("left", "right", "h", "l"), key.WithHelp("←/→", "choose")),
		Errors:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "errors")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the line at the bottom of the browsing screen.
func (k *KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextTab, k.Down, k.Mark, k.Filter, k.Keep, k.Remove, k.Help, k.Quit}
}

// FullHelp is the help page.
func (k *KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextTab, k.PrevTab, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Mark, k.MarkAll, k.Invert, k.Sort, k.Filter, k.Scan, k.Errors},
		{k.Keep, k.Undo, k.Remove, k.Yes, k.No, k.Help, k.Quit},
	}
}

// bindings is a help.KeyMap of a few bindings, for the screens other than
// browsing.
type bindings []key.Binding

func (b bindings) ShortHelp() []key.Binding  { return b }
func (b bindings) FullHelp() [][]key.Binding { return [][]key.Binding{b} }

func matches(msg interface{ String() string }, b key.Binding) bool { return key.Matches(msg, b) }
