package report

import (
	"fmt"

	"github.com/pactidy/pactidy/internal/quote"
)

// Styles colour text output; without colour every style is the identity.
type Styles struct {
	Header func(string) string
	Name   func(string) string
	Size   func(string) string
	Warn   func(string) string
	Dim    func(string) string
}

// NewStyles returns ANSI styles when color is true.
func NewStyles(color bool) Styles {
	plain := func(s string) string { return s }
	if !color {
		return Styles{Header: plain, Name: plain, Size: plain, Warn: plain, Dim: plain}
	}
	sgr := func(code string) func(string) string {
		return func(s string) string { return "\x1b[" + code + "m" + s + "\x1b[0m" }
	}
	return Styles{Header: sgr("1;34"), Name: sgr("1"), Size: sgr("36"), Warn: sgr("33"), Dim: sgr("2")}
}

// HumanBytes formats n in IEC units (KiB, MiB, ...), as pacman does.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	i := -1
	for (f >= unit || f <= -unit) && i < len(units)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.2f %s", f, units[i])
}

// QuotePath makes a path (or any string read from the file system or a
// configuration file) safe to print on one terminal line; it is
// quote.Quote, the one quoting function of pactidy.
func QuotePath(p string) string { return quote.Quote(p) }
