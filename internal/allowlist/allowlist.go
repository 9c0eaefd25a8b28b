// Package allowlist reads and edits the files that keep packages and paths
// out of pactidy's findings forever.
package allowlist

// List is the merged allowlist of every file that was read.
type List struct {
	packages map[string]bool
}

// KeepsPackage reports whether a "package NAME" entry keeps name.
func (l *List) KeepsPackage(name string) bool {
	return l != nil && l.packages[name]
}

// Packages lists the names kept by "package" entries.
func (l *List) Packages() []string {
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l.packages))
	for n := range l.packages {
		out = append(out, n)
	}
	return out
}
