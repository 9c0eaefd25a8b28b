package scan

import "unicode/utf8"

// fnmatch is fnmatch(3) with flags 0, as pacman matches HoldPkg and
// NoExtract: '*' and '?' match any character, '/' and a leading '.'
// included; "[...]" sets with ranges and '!' or '^' negation; '\' quotes.
// A malformed set matches its '[' literally, like glibc.
func fnmatch(pattern, name string) bool {
	// Iterative matching with one backtrack point for the last '*'.
	p, n := 0, 0
	starP, starN := -1, -1
	for n < len(name) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				starP, starN = p, n
				p++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(name[n:])
				p++
				n += w
				continue
			case '[':
				if ok, width, valid := matchSet(pattern[p:], name[n:]); valid {
					if ok {
						_, w := utf8.DecodeRuneInString(name[n:])
						p += width
						n += w
						continue
					}
				} else if name[n] == '[' {
					p++
					n++
					continue
				}
			case '\\':
				if p+1 < len(pattern) && pattern[p+1] == name[n] {
					p += 2
					n++
					continue
				}
			default:
				if pattern[p] == name[n] {
					p++
					n++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' swallow one more character.
		_, w := utf8.DecodeRuneInString(name[starN:])
		starN += w
		p, n = starP+1, starN
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchSet matches the set at the start of pattern against the first
// character of name. width is the set's length in the pattern; valid is
// false when the set has no closing ']'.
func matchSet(pattern, name string) (ok bool, width int, valid bool) {
	c, _ := utf8.DecodeRuneInString(name)
	i := 1
	negate := false
	if i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^') {
		negate = true
		i++
	}
	matched := false
	first := true
	for i < len(pattern) {
		if pattern[i] == ']' && !first {
			return matched != negate, i + 1, true
		}
		first = false
		lo, w := utf8.DecodeRuneInString(pattern[i:])
		if lo == '\\' && i+1 < len(pattern) {
			i++
			lo, w = utf8.DecodeRuneInString(pattern[i:])
		}
		i += w
		hi := lo
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			hi, w = utf8.DecodeRuneInString(pattern[i+1:])
			i += 1 + w
		}
		if lo <= c && c <= hi {
			matched = true
		}
	}
	return false, 0, false
}
