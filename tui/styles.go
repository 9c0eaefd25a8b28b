package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles are all the styles of the UI.
type Styles struct {
	Title       lipgloss.Style
	TabActive   lipgloss.Style
	TabInactive lipgloss.Style
	TabSep      lipgloss.Style
	Header      lipgloss.Style
	Cell        lipgloss.Style
	Selected    lipgloss.Style
	Label       lipgloss.Style
	Value       lipgloss.Style
	Dim         lipgloss.Style
	Warn        lipgloss.Style
	Error       lipgloss.Style
	Good        lipgloss.Style
	Pane        lipgloss.Style
	Dialog      lipgloss.Style
	Spinner     lipgloss.Style
	Help        help.Styles
}

// NewStyles makes the styles; without color only bold, faint, reverse
// and underline are used.
func NewStyles(color bool) *Styles {
	plain := lipgloss.NewStyle()
	s := &Styles{
		Title:       plain.Bold(true),
		TabActive:   plain.Bold(true).Reverse(true).Padding(0, 1),
		TabInactive: plain.Padding(0, 1),
		TabSep:      plain.Faint(true),
		Header:      plain.Bold(true).Underline(true),
		Cell:        plain,
		Selected:    plain.Reverse(true),
		Label:       plain.Bold(true),
		Value:       plain,
		Dim:         plain.Faint(true),
		Warn:        plain.Bold(true),
		Error:       plain.Bold(true),
		Good:        plain.Bold(true),
		Pane:        plain.Border(lipgloss.NormalBorder(), true, false, false, false),
		Dialog:      plain.Border(lipgloss.RoundedBorder()).Padding(0, 1),
		Spinner:     plain,
		Help: help.Styles{
			ShortKey:       plain.Bold(true),
			ShortDesc:      plain,
			ShortSeparator: plain.Faint(true),
			Ellipsis:       plain.Faint(true),
			FullKey:        plain.Bold(true),
			FullDesc:       plain,
			FullSeparator:  plain.Faint(true),
		},
	}
	if !color {
		return s
	}
	accent := lipgloss.Color("6")
	s.Title = s.Title.Foreground(accent)
	s.TabActive = s.TabActive.Reverse(false).Foreground(lipgloss.Color("0")).Background(accent)
	s.Header = s.Header.Foreground(accent)
	s.Label = s.Label.Foreground(accent)
	s.Warn = s.Warn.Foreground(lipgloss.Color("3"))
	s.Error = s.Error.Foreground(lipgloss.Color("1"))
	s.Good = s.Good.Foreground(lipgloss.Color("2"))
	s.Spinner = s.Spinner.Foreground(accent)
	s.Help = help.DefaultDarkStyles()
	return s
}
