package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Why explains why one package is installed.
type Why struct {
	Package string `json:"package"`
	// Query is the name asked for when it is not a package name but a
	// provision (or dependency) that Package satisfies.
	Query string `json:"query,omitempty"`
	// Reason is "required", "explicit", "holdpkg", "allowlist" or "orphan".
	Reason string `json:"reason"`
	// Chain leads from a root to the package (shortest); empty for orphans.
	Chain []WhyLink `json:"chain"`
	// RequiredBy and Cycle describe an orphan.
	RequiredBy []string `json:"required_by,omitempty"`
	Cycle      bool     `json:"cycle,omitempty"`
}

// WhyLink is one package of a chain; Optional is set when the package
// before it only lists it as an optional dependency.
type WhyLink struct {
	Name     string `json:"name"`
	Optional bool   `json:"optional"`
}

// WriteWhyText prints one explanation per line, e.g.
// "cairo: firefox -> gtk3 -> cairo".
func WriteWhyText(w io.Writer, s Styles, whys []Why) error {
	for _, y := range whys {
		var msg string
		switch y.Reason {
		case "explicit":
			msg = "installed explicitly"
		case "holdpkg":
			msg = "kept by HoldPkg in pacman.conf"
		case "allowlist":
			msg = "kept by the allowlist"
		case "orphan":
			msg = s.Warn("nothing keeps it: it is an orphan")
			if y.Cycle {
				msg += ", in or below a dependency cycle"
			}
			if len(y.RequiredBy) > 0 {
				msg += " (required only by orphans: " + quoteJoin(y.RequiredBy) + ")"
			}
		default:
			var parts []string
			for _, l := range y.Chain {
				n := s.Name(QuotePath(l.Name))
				if l.Optional {
					n += " " + s.Dim("(optional)")
				}
				parts = append(parts, n)
			}
			msg = strings.Join(parts, " -> ")
		}
		name := s.Name(QuotePath(y.Package))
		if y.Query != "" {
			name = QuotePath(y.Query) + " (provided by " + name + ")"
		}
		if _, err := fmt.Fprintf(w, "%s: %s\n", name, msg); err != nil {
			return err
		}
	}
	return nil
}

// WriteWhyJSON writes the explanations as a JSON array.
func WriteWhyJSON(w io.Writer, whys []Why) error {
	for i := range whys {
		whys[i].Chain = nonNil(whys[i].Chain)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(nonNil(whys))
}
