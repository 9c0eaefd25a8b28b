package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/table"
)

// sectionState is how far a section's scan got.
type sectionState int

const (
	sectionPending sectionState = iota
	sectionDone
	sectionFailed
	// sectionIdle: an on-demand section nobody asked for yet.
	sectionIdle
)

// sectionModel is one tab: its items, the shown (filtered, sorted) part of
// them in a table, and the marks.
type sectionModel struct {
	c        *common
	id       section
	state    sectionState
	err      error
	progress Progress
	// demandGen counts the on-demand scans of the section.
	demandGen int

	all     []*item
	visible []*item
	sort    sortMode
	filter  string
	table   table.Model
	rows    []table.Row
	width   int

	// stats caches totals and marks until the items change.
	stats      sectionStats
	statsValid bool
}

type sectionStats struct {
	n, nMarked         int
	bytes, markedBytes int64
	sized              bool
}

func newSection(c *common, id section) *sectionModel {
	t := table.New(table.WithFocused(true))
	t.SetStyles(table.Styles{Header: c.styles.Header.PaddingRight(1), Cell: c.styles.Cell.PaddingRight(1), Selected: c.styles.Selected})
	s := &sectionModel{c: c, id: id, table: t}
	if id.onDemand() {
		s.state = sectionIdle
	}
	s.layout(80, 10)
	return s
}

// setItems replaces the items (a finished scan).
func (s *sectionModel) setItems(items []*item) {
	s.all = items
	s.state = sectionDone
	sortItems(s.all, s.sort)
	s.table.SetCursor(0)
	s.refresh()
}

// reset forgets the items before a rescan.
func (s *sectionModel) reset() {
	s.all, s.visible, s.rows = nil, nil, nil
	s.state, s.err, s.progress = sectionPending, nil, Progress{}
	s.statsValid = false
	s.table.SetRows(nil)
}

// refresh recomputes the shown items after a change of filter, sort or
// hidden items, keeping the cursor on the same item when it is still
// shown. Rows are rendered once per item and reused.
func (s *sectionModel) refresh() {
	s.statsValid = false
	cur := s.current()
	s.visible = s.visible[:0]
	s.rows = s.rows[:0]
	f := strings.ToLower(s.filter)
	for _, it := range s.all {
		if it.hidden || (f != "" && !strings.Contains(strings.ToLower(it.label), f) && !containsTag(it, f)) {
			continue
		}
		if it.row == nil {
			it.row = s.row(it)
		}
		s.visible = append(s.visible, it)
		s.rows = append(s.rows, it.row)
	}
	s.table.SetRows(s.rows)
	if cur != nil {
		for i, it := range s.visible {
			if it == cur {
				s.table.SetCursor(i)
				return
			}
		}
	}
	if s.table.Cursor() < 0 && len(s.rows) > 0 {
		s.table.SetCursor(0)
	}
}

func containsTag(it *item, f string) bool {
	for _, t := range it.tags {
		if strings.Contains(strings.ToLower(t), f) {
			return true
		}
	}
	return false
}

func (s *sectionModel) row(it *item) []string {
	mark := " "
	if it.marked {
		mark = "●"
	}
	size := ""
	if it.sized {
		size = humanBytes(it.size)
	}
	if u := it.user; u != nil {
		entries := ""
		if u.Type == "dir" {
			entries = fmt.Sprintf("%7d", u.Entries)
		}
		return []string{mark, it.label, fmt.Sprintf("%10s", size), u.Kind, entries, dateOf(u.MTime)}
	}
	return []string{mark, it.label, fmt.Sprintf("%10s", size), strings.Join(it.tags, ", ")}
}

// redraw renders the items' rows again after their marks changed.
func (s *sectionModel) redraw(items ...*item) {
	s.statsValid = false
	for _, it := range items {
		it.row = s.row(it)
	}
	for i, it := range s.visible {
		s.rows[i] = it.row
	}
	s.table.SetRows(s.rows)
}

// current is the highlighted item, nil when none.
func (s *sectionModel) current() *item {
	i := s.table.Cursor()
	if i < 0 || i >= len(s.visible) {
		return nil
	}
	return s.visible[i]
}

func (s *sectionModel) toggle() {
	it := s.current()
	if it == nil || !s.id.markable() {
		return
	}
	it.marked = !it.marked
	s.statsValid = false
	it.row = s.row(it)
	s.rows[s.table.Cursor()] = it.row
	s.table.SetRows(s.rows)
}

// markAll marks every shown item; invert flips the marks of the shown items.
func (s *sectionModel) markAll(invert bool) {
	if !s.id.markable() {
		return
	}
	for _, it := range s.visible {
		if invert {
			it.marked = !it.marked
		} else {
			it.marked = true
		}
	}
	s.redraw(s.visible...)
}

func (s *sectionModel) setSort(m sortMode) {
	s.sort = m
	sortItems(s.all, m)
	s.refresh()
}

func (s *sectionModel) setFilter(f string) {
	if f == s.filter {
		return
	}
	s.filter = f
	s.refresh()
}

// totals counts the items not hidden and their bytes.
func (s *sectionModel) totals() (n int, bytes int64, sized bool) {
	st := s.getStats()
	return st.n, st.bytes, st.sized
}

func (s *sectionModel) getStats() sectionStats {
	if s.statsValid {
		return s.stats
	}
	var st sectionStats
	for _, it := range s.all {
		if it.hidden {
			continue
		}
		st.n++
		st.bytes += it.size
		st.sized = st.sized || it.sized
		if it.marked {
			st.nMarked++
			st.markedBytes += it.size
		}
	}
	s.stats, s.statsValid = st, true
	return st
}

// marked is the marked items that are not hidden.
func (s *sectionModel) marked() []*item {
	var out []*item
	for _, it := range s.all {
		if it.marked && !it.hidden {
			out = append(out, it)
		}
	}
	return out
}

// layout sets the table to w columns and h lines.
func (s *sectionModel) layout(w, h int) {
	s.width = w
	const markW, sizeW = 1, 10
	tagW := min(max(w/4, 8), 34)
	nameW := max(w-markW-sizeW-tagW-4, 8)
	name := "Name"
	if s.id == secUnowned || s.id == secPacfiles || s.id == secMissing {
		name = "Path"
	}
	if s.id == secUserdata {
		// The heuristic's advice is in the detail pane (and the filter).
		const kindW, entW, dateW = 6, 7, 10
		pathW := max(w-markW-sizeW-kindW-entW-dateW-6, 8)
		s.table.SetColumns([]table.Column{{Title: " ", Width: markW}, {Title: "Path", Width: pathW}, {Title: fmt.Sprintf("%10s", "Size"), Width: sizeW},
			{Title: "Kind", Width: kindW}, {Title: fmt.Sprintf("%7s", "Entries"), Width: entW}, {Title: "Modified", Width: dateW}})
	} else {
		s.table.SetColumns([]table.Column{{Title: " ", Width: markW}, {Title: name, Width: nameW}, {Title: fmt.Sprintf("%10s", "Size"), Width: sizeW}, {Title: "Tags", Width: tagW}})
	}
	s.table.SetWidth(w)
	s.table.SetHeight(max(h, 2))
}

func (s *sectionModel) View() string { return s.table.View() }

// dateOf is a day for a list column; "" for an unknown time.
func dateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02")
}
