package allowlist

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"
)

// glob is a compiled path pattern. A pattern matches a path when it matches
// the path itself or one of its ancestors: a matched directory covers its
// whole subtree.
type glob struct {
	re *regexp.Regexp
	// dirOnly is set by a trailing '/': the pattern itself only matches
	// directories (everything below them is covered as usual).
	dirOnly bool
}

// globSyntax selects how '*' and '?' treat '/'.
type globSyntax int

const (
	// componentSyntax is pactidy's and lostfiles': '*' and '?' stay within
	// one path component, '**' crosses components.
	componentSyntax globSyntax = iota
	// fnmatchSyntax is pacreport's fnmatch(3) without FNM_PATHNAME: '*'
	// and '?' match '/' too.
	fnmatchSyntax
)

// normalizeGlob returns the pattern with exactly one leading '/' and
// without repeated slashes, so that "etc/foo" and "/etc/foo" are the same
// entry.
func normalizeGlob(p string) string {
	p = strings.TrimSpace(p)
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return "/" + strings.TrimLeft(p, "/")
}

// compileGlob turns a normalized pattern ("/usr/**/foo*") into a glob.
func compileGlob(pattern string, syntax globSyntax) (*glob, error) {
	p := strings.TrimPrefix(pattern, "/")
	if p == "" || p == "/" || onlyWildcards(p) {
		return nil, errors.New("the pattern matches the whole root; list what to keep instead")
	}
	g := &glob{}
	if strings.HasSuffix(p, "/") {
		g.dirOnly = true
		p = strings.TrimRight(p, "/")
	}
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." {
			return nil, errors.New("'.' and '..' are not allowed in a path pattern")
		}
	}
	var b strings.Builder
	star, any1 := "[^/]*", "[^/]"
	if syntax == fnmatchSyntax {
		star, any1 = ".*", "."
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			// "**" matches any number of components; "**/" also zero.
			i++
			atStart := i == 1 || p[i-2] == '/'
			if atStart && i+1 < len(p) && p[i+1] == '/' {
				i++
				b.WriteString("(?:.*/)?")
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString(star)
		case c == '?':
			b.WriteString(any1)
		case c == '\\':
			if i+1 == len(p) {
				return nil, errors.New("the pattern ends with a lone '\\'")
			}
			i++
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		case c == '[':
			n, class, err := bracket(p[i:])
			if err != nil {
				return nil, err
			}
			b.WriteString(class)
			i += n - 1
		default:
			// Go's regexp sees an invalid byte as U+FFFD, so the pattern
			// matches any invalid byte there: broader, never narrower.
			r, size := utf8.DecodeRuneInString(p[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(`\x{FFFD}`)
			} else {
				b.WriteString(regexp.QuoteMeta(p[i : i+size]))
			}
			i += size - 1
		}
	}
	// The optional tail makes a match cover the subtree below it.
	re, err := regexp.Compile("^(?:" + b.String() + ")(?:/.*)?$")
	if err != nil {
		return nil, err
	}
	g.re = re
	return g, nil
}

// bracket translates a "[...]" expression at the start of s and returns how
// many bytes it used.
func bracket(s string) (int, string, error) {
	i := 1
	var b strings.Builder
	b.WriteString("[")
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		b.WriteString("^")
		i++
	}
	first := true
	for ; i < len(s); i++ {
		c := s[i]
		if c == ']' && !first {
			b.WriteString("]")
			return i + 1, b.String(), nil
		}
		switch {
		case c == '/':
			return 0, "", errors.New("'/' inside [...] never matches")
		case c == '-' && !first && i+1 < len(s) && s[i+1] != ']':
			b.WriteByte('-')
		case c == '\\' && i+1 < len(s):
			i++
			c = s[i]
			if !isAlnum(c) {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			if strings.IndexByte(`\^[]-`, c) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		first = false
	}
	return 0, "", errors.New("unterminated '[' in the pattern")
}

// match reports whether the glob keeps rel, a path without the leading '/'
// (a directory ends with '/').
func (g *glob) match(rel string) bool {
	isDir := strings.HasSuffix(rel, "/")
	rel = strings.TrimSuffix(rel, "/")
	if !g.dirOnly {
		return g.re.MatchString(rel)
	}
	// A trailing '/' pattern matches directories only; everything below a
	// match is covered (a path with children is a directory).
	if isDir && g.re.MatchString(rel) {
		return true
	}
	i := strings.LastIndexByte(rel, '/')
	return i > 0 && g.re.MatchString(rel[:i])
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// onlyWildcards reports whether every component is "*" or "**" ("/**",
// "/*/"): such a pattern keeps everything, which hides every finding.
func onlyWildcards(p string) bool {
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c != "*" && c != "**" {
			return false
		}
	}
	return true
}
