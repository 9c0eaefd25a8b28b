package allowlist

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// reGlob is a pattern as a regular expression.
type reGlob struct {
	re      *regexp.Regexp
	dirOnly bool
}

// compileRegexpGlob is the translation to a regular expression that
// matching used before; it is kept here as the oracle of the automaton.
// compileRegexpGlob turns a normalized pattern ("/usr/**/foo*") into a glob.
func compileRegexpGlob(pattern string, syntax globSyntax) (*reGlob, error) {
	p := strings.TrimPrefix(pattern, "/")
	if p == "" || p == "/" || onlyWildcards(p) {
		return nil, errors.New("the pattern matches the whole root; list what to keep instead")
	}
	g := &reGlob{}
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
func (g *reGlob) match(rel string) bool {
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

// The automaton matches what the regular expressions matched, on random
// patterns and paths (without newlines and invalid bytes, where the
// regular expressions were wrong: '.' does not match a newline, and an
// invalid byte of the pattern matched any invalid byte).
func TestGlobMatchesRegexpOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	patParts := []string{"a", "b", "é", ".", "/", "*", "**", "**/", "?", "[ab]", "[!a]", "[a-c]", "\\*", "[]a]", "-"}
	pathParts := []string{"a", "b", "c", "é", ".", "/", "*", "]", "-", "ab", "x"}
	compared, matched := 0, 0
	for n := 0; n < 8000; n++ {
		var pb strings.Builder
		for k := rng.IntN(6) + 1; k > 0; k-- {
			pb.WriteString(patParts[rng.IntN(len(patParts))])
		}
		for _, syntax := range []globSyntax{componentSyntax, fnmatchSyntax} {
			pattern := normalizeGlob(pb.String())
			g, err := compileGlob(pattern, syntax)
			o, oerr := compileRegexpGlob(pattern, syntax)
			if (err == nil) != (oerr == nil) {
				t.Fatalf("pattern %q: error %v, oracle %v", pattern, err, oerr)
			}
			if err != nil {
				continue
			}
			for m := 0; m < 8; m++ {
				var sb strings.Builder
				for k := rng.IntN(7) + 1; k > 0; k-- {
					sb.WriteString(pathParts[rng.IntN(len(pathParts))])
				}
				rel := strings.TrimLeft(sb.String(), "/")
				if rel == "" || !utf8.ValidString(rel) {
					continue
				}
				got, want := g.match(rel), o.match(rel)
				compared++
				if want {
					matched++
				}
				if got != want {
					t.Fatalf("pattern %q (syntax %d) on %q: %v, oracle %v", pattern, syntax, rel, got, want)
				}
			}
		}
	}
	if matched < compared/50 {
		t.Fatalf("only %d of %d comparisons matched: the test compares too little", matched, compared)
	}
	t.Logf("%d comparisons, %d matches", compared, matched)
}
