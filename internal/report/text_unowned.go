package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// writeUnownedText prints the unowned section: one line per path, a
// directory (trailing '/') standing for its whole subtree with its total
// size and entry count. Paths that a built-in rule hides (shown only on
// request) are dimmed, marked with the rule's name and left out of the
// totals.
func writeUnownedText(w io.Writer, s Styles, items []Unowned) error {
	var total int64
	shown := 0
	for _, u := range items {
		if u.HiddenBy == "" {
			total += u.Size
			shown++
		}
	}
	var b strings.Builder
	b.WriteString("\n" + s.Header("Files no package owns"))
	switch {
	case len(items) == 0:
		b.WriteString(": " + s.Dim("none") + "\n")
	default:
		fmt.Fprintf(&b, " (%d, %s", shown, HumanBytes(total))
		if hidden := len(items) - shown; hidden > 0 {
			fmt.Fprintf(&b, ", and %d hidden by rules", hidden)
		}
		b.WriteString(")\n")
	}
	type row struct{ path, size, note string }
	rows := make([]row, len(items))
	wPath, wSize := 0, 0
	for i, u := range items {
		var notes []string
		switch u.Type {
		case "dir":
			if u.Entries == 1 {
				notes = append(notes, "1 entry")
			} else {
				notes = append(notes, fmt.Sprintf("%d entries", u.Entries))
			}
		case "file":
		default:
			notes = append(notes, u.Type)
		}
		if u.Incomplete {
			notes = append(notes, "not fully readable: at least this much")
		}
		if u.HiddenBy != "" {
			notes = append(notes, "hidden by rule "+u.HiddenBy)
		}
		rows[i] = row{QuotePath(u.Path), HumanBytes(u.Size), strings.Join(notes, "; ")}
		wPath = max(wPath, utf8.RuneCountInString(rows[i].path))
		wSize = max(wSize, utf8.RuneCountInString(rows[i].size))
	}
	for i, r := range rows {
		// Padding is computed on the plain text so colour never shifts columns.
		pathPad := strings.Repeat(" ", wPath-utf8.RuneCountInString(r.path)+2)
		sizePad := strings.Repeat(" ", wSize-utf8.RuneCountInString(r.size)+2)
		var line string
		if items[i].HiddenBy != "" {
			line = s.Dim(r.path) + pathPad + s.Dim(r.size) + sizePad + s.Dim(r.note)
		} else {
			line = r.path + pathPad + s.Size(r.size) + sizePad + r.note
		}
		b.WriteString("  " + strings.TrimRight(line, " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
