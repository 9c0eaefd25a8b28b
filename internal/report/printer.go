package report

import "io"

// Printer writes a report in one format. Printers only present: every
// number they print is in the Report.
type Printer interface {
	Print(w io.Writer, rep *Report) error
}

var (
	_ Printer = (*textPrinter)(nil)
	_ Printer = (*jsonPrinter)(nil)
	_ Printer = (*prometheusPrinter)(nil)
)

// NewText returns the human-readable printer.
func NewText(s Styles) Printer { return &textPrinter{styles: s} }

// NewJSON returns the printer of the JSON contract (schema_version 1).
func NewJSON() Printer { return &jsonPrinter{} }

// NewPrometheus returns the printer of node_exporter's textfile-collector
// format.
func NewPrometheus() Printer { return &prometheusPrinter{} }

// Findings counts what the computed sections found, for --quiet and
// --exit-code. Unneeded explicit packages are review candidates, not
// problems (every application one uses is one), and errors are not
// findings either.
func (r *Report) Findings() int {
	n := len(r.Orphans) + len(r.Foreign) + len(r.MissingFiles) + len(r.Pacfiles) + r.UnownedShown() + r.UserdataShown()
	if r.Cache != nil {
		n += len(r.Cache.Candidates)
	}
	return n
}

// UnownedShown counts the unowned paths no built-in rule hides; hidden ones
// are listed only with --show-hidden and are not findings.
func (r *Report) UnownedShown() int {
	n := 0
	for _, u := range r.Unowned {
		if u.HiddenBy == "" {
			n++
		}
	}
	return n
}
