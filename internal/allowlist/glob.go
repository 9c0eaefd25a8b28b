package allowlist

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// glob is a compiled path pattern. A pattern matches a path when it matches
// the path itself or one of its ancestors: a matched directory covers its
// whole subtree.
//
// The pattern is kept as its text and interpreted by a small automaton
// whose states are byte offsets into it: memory is the pattern itself, and
// matching a path costs at most (length of the path) x (length of the
// pattern) steps, whatever the wildcards (no backtracking).
type glob struct {
	// p is the pattern without its leading and trailing '/'.
	p string
	// dirOnly is set by a trailing '/': the pattern itself only matches
	// directories (everything below them is covered as usual).
	dirOnly bool
	// cross makes '*' and '?' match '/' (pacreport's fnmatch syntax).
	cross bool
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

// compileGlob checks a normalized pattern ("/usr/**/foo*") and returns it
// as a glob.
func compileGlob(pattern string, syntax globSyntax) (*glob, error) {
	p := strings.TrimPrefix(pattern, "/")
	if p == "" || p == "/" || onlyWildcards(p) {
		return nil, errors.New("the pattern matches the whole root; list what to keep instead")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return nil, errors.New("a path cannot contain a NUL byte; the pattern would never match")
	}
	g := &glob{cross: syntax == fnmatchSyntax}
	if strings.HasSuffix(p, "/") {
		g.dirOnly = true
		p = strings.TrimRight(p, "/")
	}
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." {
			return nil, errors.New("'.' and '..' are not allowed in a path pattern")
		}
	}
	for i := 0; i < len(p); {
		t, err := tokenAt(p, i)
		if err != nil {
			return nil, err
		}
		i = t.next
	}
	g.p = p
	return g, nil
}

// Token kinds of a pattern.
const (
	tokLit      = iota // one rune
	tokAny             // '?'
	tokStar            // '*': within a component (or across with cross)
	tokStarStar        // '**' not a whole component: anything
	tokDirs            // a whole "**/" component: zero or more components
	tokClass           // [...]
)

type token struct {
	kind int
	r    rune   // tokLit
	next int    // offset of the next token
	body string // tokClass: between '[' (and '!' or '^') and ']'
	neg  bool   // tokClass: negated
}

// tokenAt parses the token at offset i of p.
func tokenAt(p string, i int) (token, error) {
	switch c := p[i]; c {
	case '*':
		if i+1 < len(p) && p[i+1] == '*' {
			atStart := i == 0 || p[i-1] == '/'
			if atStart && i+2 < len(p) && p[i+2] == '/' {
				return token{kind: tokDirs, next: i + 3}, nil
			}
			return token{kind: tokStarStar, next: i + 2}, nil
		}
		return token{kind: tokStar, next: i + 1}, nil
	case '?':
		return token{kind: tokAny, next: i + 1}, nil
	case '\\':
		if i+1 == len(p) {
			return token{}, errors.New("the pattern ends with a lone '\\'")
		}
		r, size := utf8.DecodeRuneInString(p[i+1:])
		return token{kind: tokLit, r: r, next: i + 1 + size}, nil
	case '[':
		return classAt(p, i)
	default:
		r, size := utf8.DecodeRuneInString(p[i:])
		return token{kind: tokLit, r: r, next: i + size}, nil
	}
}

// classAt parses the "[...]" expression at offset i: '!' or '^' first
// negates, a ']' first is literal, "a-z" is a range, '\' quotes.
func classAt(p string, i int) (token, error) {
	t := token{kind: tokClass}
	j := i + 1
	if j < len(p) && (p[j] == '!' || p[j] == '^') {
		t.neg = true
		j++
	}
	start := j
	for first := true; j < len(p); first = false {
		c := p[j]
		switch {
		case c == ']' && !first:
			t.body, t.next = p[start:j], j+1
			return t, nil
		case c == '/':
			return token{}, errors.New("'/' inside [...] never matches")
		case c == '\\' && j+1 < len(p):
			j++
		}
		r, size := utf8.DecodeRuneInString(p[j:])
		if r == utf8.RuneError && size == 1 {
			return token{}, errors.New("a byte that is not UTF-8 inside [...]")
		}
		j += size
	}
	return token{}, errors.New("unterminated '[' in the pattern")
}

// classMatch reports whether r is in the class body.
func classMatch(body string, neg bool, r rune) bool {
	in := false
	for i := 0; i < len(body) && !in; {
		if body[i] == '\\' && i+1 < len(body) {
			i++
		}
		lo, size := utf8.DecodeRuneInString(body[i:])
		i += size
		hi := lo
		if i+1 < len(body) && body[i] == '-' {
			j := i + 1
			if body[j] == '\\' && j+1 < len(body) {
				j++
			}
			var size2 int
			hi, size2 = utf8.DecodeRuneInString(body[j:])
			i = j + size2
		}
		in = lo <= r && r <= hi
	}
	return in != neg
}

// match reports whether the glob keeps rel, a path without the leading '/'
// (a directory ends with '/').
func (g *glob) match(rel string) bool {
	isDir := strings.HasSuffix(rel, "/")
	rel = strings.TrimSuffix(rel, "/")
	if !g.dirOnly {
		return g.run(rel)
	}
	// A trailing '/' pattern matches directories only; everything below a
	// match is covered (a path with children is a directory).
	if isDir && g.run(rel) {
		return true
	}
	i := strings.LastIndexByte(rel, '/')
	return i > 0 && g.run(rel[:i])
}

// run reports whether the pattern matches s or an ancestor of s (a prefix
// ending before a '/').
func (g *glob) run(s string) bool {
	p := g.p
	// A literal start is a plain prefix test.
	lit := 0
	for lit < len(p) && strings.IndexByte(`*?[\`, p[lit]) < 0 {
		lit++
	}
	if !strings.HasPrefix(s, p[:lit]) {
		return false
	}
	if lit == len(p) {
		return len(s) == len(p) || s[len(p)] == '/'
	}
	// States are offsets into p; len(p) accepts.
	n := len(p) + 1
	var small [2][4]uint64
	cur, nxt := small[0][:], small[1][:]
	if words := (n + 63) / 64; words > len(cur) {
		cur, nxt = make([]uint64, words), make([]uint64, words)
	}
	has := func(set []uint64, i int) bool { return set[i>>6]&(1<<(i&63)) != 0 }
	add := func(set []uint64, i int) { set[i>>6] |= 1 << (i & 63) }
	// closure adds the states reached without input: past a star, past a
	// "**/" matching no component. Tokens only lead forward.
	closure := func(set []uint64) {
		for i := 0; i < len(p); {
			t, _ := tokenAt(p, i)
			if has(set, i) && (t.kind == tokStar || t.kind == tokStarStar || t.kind == tokDirs) {
				add(set, t.next)
			}
			i = t.next
		}
	}
	add(cur, lit)
	closure(cur)
	for j := lit; j < len(s); {
		r, size := utf8.DecodeRuneInString(s[j:])
		if r == '/' && has(cur, len(p)) {
			return true // an ancestor matched
		}
		clear(nxt)
		any := false
		for i := lit; i < len(p); {
			t, _ := tokenAt(p, i)
			if t.kind == tokDirs && (has(cur, i) || has(cur, i+1)) {
				// "**/" is two states: i, where it may still match no
				// component, and i+1, inside the components it matches,
				// which it leaves after a '/'.
				add(nxt, i+1)
				if r == '/' {
					add(nxt, t.next)
				}
				any = true
			} else if has(cur, i) {
				to := -1
				switch t.kind {
				case tokLit:
					// Byte for byte: a byte that is not UTF-8 matches only
					// itself.
					if r == t.r && (r != utf8.RuneError || p[t.next-size:t.next] == s[j:j+size]) {
						to = t.next
					}
				case tokAny:
					if g.cross || r != '/' {
						to = t.next
					}
				case tokStar:
					if g.cross || r != '/' {
						to = i
					}
				case tokStarStar:
					to = i
				case tokClass:
					if classMatch(t.body, t.neg, r) {
						to = t.next
					}
				}
				if to >= 0 {
					add(nxt, to)
					any = true
				}
			}
			i = t.next
		}
		if !any {
			return false
		}
		closure(nxt)
		cur, nxt = nxt, cur
		j += size
	}
	return has(cur, len(p))
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
