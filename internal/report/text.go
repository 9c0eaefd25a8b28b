package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

type textPrinter struct {
	styles Styles
}

// Print writes the computed sections in report order, each with a
// headline that counts and sums it. Errors are not printed here: they are
// diagnostics, and the caller writes them to stderr.
func (p *textPrinter) Print(w io.Writer, rep *Report) error {
	s := p.styles
	tw := &errWriter{w: w}
	tw.printf("%s %s, %d packages installed\n", s.Header("pactidy report for"), QuotePath(rep.Root), rep.Installed)
	for _, sec := range KnownSections {
		if !rep.Has(sec) {
			continue
		}
		switch sec {
		case SectionOrphans:
			p.orphans(tw, rep)
		case SectionUnneeded:
			p.unneeded(tw, rep.Unneeded)
		case SectionForeign:
			p.foreign(tw, rep)
		case SectionMissing:
			p.missing(tw, rep.MissingFiles)
		case SectionPacfiles:
			p.pacfiles(tw, rep.Pacfiles)
		case SectionUnowned:
			if rep.UnownedIncomplete {
				n := len(rep.UnownedNoFileLists)
				tw.printf("\n%s: %s\n", s.Header("Files no package owns"), s.Warn(fmt.Sprintf(
					"unknown, the file %s of %s could not be read and %s files would look unowned (see the errors)",
					plural(n, "list", "lists"), quoteJoin(rep.UnownedNoFileLists), plural(n, "its", "their"))))
			} else if tw.err == nil {
				tw.err = writeUnownedText(w, s, rep.Unowned)
			}
		case SectionCache:
			if tw.err == nil {
				tw.err = writeCacheText(w, s, rep.Cache)
			}
		case SectionUserdata:
			p.userdata(tw, rep.Userdata)
		}
	}
	if n := len(rep.Errors); n > 0 {
		tw.printf("\n%s\n", s.Warn(fmt.Sprintf("%d %s could not be read (listed on stderr).", n, plural(n, "path", "paths"))))
	}
	return tw.err
}

// header prints "Title (n, detail)", or "Title: none".
func (p *textPrinter) header(w *errWriter, title string, n int, detail string) {
	p.headerHint(w, title, n, detail, "")
}

// headerHint is header with a hint after the counts.
func (p *textPrinter) headerHint(w *errWriter, title string, n int, detail, hint string) {
	w.printf("\n%s", p.styles.Header(title))
	if n == 0 {
		w.printf(": %s\n", p.styles.Dim("none"))
		return
	}
	w.printf(" (%d%s)", n, detail)
	if hint != "" {
		w.printf(": %s", p.styles.Dim(hint))
	}
	w.printf("\n")
}

func (p *textPrinter) orphans(w *errWriter, rep *Report) {
	s := p.styles
	var total int64
	cycles := 0
	for _, o := range rep.Orphans {
		total += o.InstalledSize
		if o.Cycle {
			cycles++
		}
	}
	detail := ", " + HumanBytes(total)
	if cycles > 0 {
		detail += fmt.Sprintf(", %d in dependency cycles", cycles)
	}
	p.headerHint(w, "Orphaned packages", len(rep.Orphans), detail, "nothing you want needs them")
	t := newTable()
	for _, o := range rep.Orphans {
		var notes []string
		if o.Cycle {
			notes = append(notes, s.Warn("cycle"))
		}
		if len(o.Removes) > 0 {
			notes = append(notes, fmt.Sprintf("removes also %s, frees %s", quoteJoin(o.Removes), HumanBytes(o.FreedBytes)))
		}
		if len(o.OptionalFor) > 0 {
			notes = append(notes, "optional for "+quoteJoin(o.OptionalFor))
		}
		t.row(cell{QuotePath(o.Name), s.Name}, cell{QuotePath(o.Version), nil}, cell{HumanBytes(o.InstalledSize), s.Size}, cell{strings.Join(notes, "; "), nil})
	}
	t.write(w)
}

func (p *textPrinter) unneeded(w *errWriter, items []Unneeded) {
	s := p.styles
	var total int64
	for _, u := range items {
		total += u.InstalledSize
	}
	p.headerHint(w, "Unneeded explicit packages", len(items), ", "+HumanBytes(total), "nothing depends on them; review, do not remove blindly")
	t := newTable()
	for _, u := range items {
		t.row(cell{QuotePath(u.Name), s.Name}, cell{QuotePath(u.Version), nil}, cell{HumanBytes(u.InstalledSize), s.Size})
	}
	t.write(w)
}

func (p *textPrinter) foreign(w *errWriter, rep *Report) {
	s := p.styles
	if rep.ForeignUnknown {
		w.printf("\n%s: %s\n", s.Header("Foreign packages"), s.Warn("unknown, no sync database could be read (run pacman -Sy)"))
		return
	}
	p.headerHint(w, "Foreign packages", len(rep.Foreign), "", "in no sync database")
	t := newTable()
	for _, f := range rep.Foreign {
		t.row(cell{QuotePath(f.Name), s.Name}, cell{QuotePath(f.Version), nil})
	}
	t.write(w)
}

func (p *textPrinter) missing(w *errWriter, items []MissingFile) {
	s := p.styles
	pkgs := map[string]bool{}
	for _, m := range items {
		pkgs[m.Package] = true
	}
	n := len(pkgs)
	p.headerHint(w, "Missing files", len(items), fmt.Sprintf(" in %d %s", n, plural(n, "package", "packages")), "reinstall to restore them")
	t := newTable()
	for _, m := range items {
		t.row(cell{QuotePath(m.Package), s.Name}, cell{QuotePath(m.Path), nil})
	}
	t.write(w)
}

func (p *textPrinter) pacfiles(w *errWriter, items []Pacfile) {
	s := p.styles
	p.headerHint(w, "Pacnew, pacsave and pacorig files", len(items), "", "merge them, e.g. with pacdiff")
	t := newTable()
	for _, f := range items {
		owner := cell{QuotePath(f.Package), nil}
		if f.Package == "" {
			owner = cell{"(no owner)", s.Dim}
		}
		t.row(cell{QuotePath(f.Path), nil}, cell{f.Kind, s.Warn}, owner)
	}
	t.write(w)
}

// cell is a table cell; its style applies after padding is computed on
// the plain text, so colour never shifts the columns.
type cell struct {
	text  string
	style func(string) string
}

type table struct{ rows [][]cell }

func newTable() *table { return &table{} }

func (t *table) row(cells ...cell) { t.rows = append(t.rows, cells) }

func (t *table) write(w *errWriter) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			text := c.text
			if c.style != nil {
				text = c.style(text)
			}
			b.WriteString(text)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		w.printf("%s\n", strings.TrimRight(b.String(), " "))
	}
}

// quoteJoin quotes each name and joins them with spaces.
func quoteJoin(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = QuotePath(n)
	}
	return strings.Join(q, " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errWriter keeps the first write error so printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (p *textPrinter) userdata(w *errWriter, items []UserData) {
	s := p.styles
	var total int64
	shown := 0
	for _, u := range items {
		if u.MatchedBy == "" {
			total += u.Size
			shown++
		}
	}
	p.headerHint(w, "User data with no installed owner found", shown, ", "+HumanBytes(total),
		"a guess from names: caches are safe to drop, look at the rest first")
	t := newTable()
	for _, u := range items {
		note := s.Warn("needs a look")
		if u.SafeToDrop {
			note = "safe to drop"
		}
		if u.MatchedBy != "" {
			note = s.Dim("kept: " + QuotePath(u.MatchedBy))
		}
		if u.Incomplete {
			note += "; " + s.Warn("partly unreadable")
		}
		t.row(cell{QuotePath(u.Path), s.Name}, cell{HumanBytes(u.Size), s.Size}, cell{u.Kind, nil}, cell{note, nil})
	}
	t.write(w)
}
