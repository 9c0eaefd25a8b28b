package report

import "io"

// writeUnownedText prints the unowned section.
func writeUnownedText(w io.Writer, s Styles, items []Unowned) error { return nil }
