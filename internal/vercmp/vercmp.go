// Package vercmp orders package versions exactly as libalpm's alpm_pkg_vercmp
// does, in pure Go so that engine packages can sort without cgo. The alpm
// package tests it against libalpm itself.
package vercmp

import "strings"

// Compare returns -1, 0 or 1 as a is older than, equal to or newer than b.
// Versions have the form [epoch:]pkgver[-pkgrel].
func Compare(a, b string) int {
	if a == b {
		return 0
	}
	ea, va, ra, hasA := parseEVR(a)
	eb, vb, rb, hasB := parseEVR(b)
	if r := rpmvercmp(ea, eb); r != 0 {
		return r
	}
	if r := rpmvercmp(va, vb); r != 0 {
		return r
	}
	if hasA && hasB {
		return rpmvercmp(ra, rb)
	}
	return 0
}

// parseEVR splits like libalpm's parseEVR: a missing epoch is "0".
func parseEVR(s string) (epoch, version, release string, hasRelease bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	rest := s
	epoch = "0"
	if i < len(s) && s[i] == ':' {
		epoch = s[:i]
		if epoch == "" {
			epoch = "0"
		}
		rest = s[i+1:]
	}
	if j := strings.LastIndexByte(rest, '-'); j >= 0 {
		return epoch, rest[:j], rest[j+1:], true
	}
	return epoch, rest, "", false
}

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// rpmvercmp is a line-by-line port of libalpm's rpmvercmp (version.c).
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	one, two := 0, 0
	for one < len(a) && two < len(b) {
		// Skip separators, remembering how many.
		p1 := one
		for one < len(a) && !isAlnum(a[one]) {
			one++
		}
		p2 := two
		for two < len(b) && !isAlnum(b[two]) {
			two++
		}
		if one >= len(a) || two >= len(b) {
			break
		}
		if one-p1 != two-p2 {
			if one-p1 < two-p2 {
				return -1
			}
			return 1
		}
		s1, s2 := one, two
		isNum := false
		if isDigit(a[s1]) {
			for one < len(a) && isDigit(a[one]) {
				one++
			}
			for two < len(b) && isDigit(b[two]) {
				two++
			}
			isNum = true
		} else {
			for one < len(a) && isAlpha(a[one]) {
				one++
			}
			for two < len(b) && isAlpha(b[two]) {
				two++
			}
		}
		seg1, seg2 := a[s1:one], b[s2:two]
		if seg2 == "" {
			// Numeric segments are newer than alpha ones.
			if isNum {
				return 1
			}
			return -1
		}
		if isNum {
			seg1 = strings.TrimLeft(seg1, "0")
			seg2 = strings.TrimLeft(seg2, "0")
			if len(seg1) != len(seg2) {
				if len(seg1) > len(seg2) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(seg1, seg2); c != 0 {
			return c
		}
	}
	rest1, rest2 := one >= len(a), two >= len(b)
	if rest1 && rest2 {
		return 0
	}
	// An alpha segment left over means "older" (1.0rc1 < 1.0); a separator
	// or number left over means "newer" (1.0.1 > 1.0).
	if (rest1 && !isAlpha(b[two])) || (!rest1 && isAlpha(a[one])) {
		return -1
	}
	return 1
}
