package cache

import "strings"

// pkgExt is the part of a package file name after the arch.
const pkgExt = ".pkg.tar"

// ParsedName is a package file name split into its parts.
type ParsedName struct {
	Name    string
	Version string // [epoch:]pkgver-pkgrel
	Arch    string
	Ext     string // ".pkg.tar.zst", ".pkg.tar.xz", ".pkg.tar", ...
}

// ParseName splits NAME-[EPOCH:]PKGVER-PKGREL-ARCH.pkg.tar[.EXT] from the
// right, because NAME may contain '-' and the other three parts may not.
// It refuses names makepkg would never write (an empty part, a pkgrel that
// is not N or N.M, an epoch that is not a number), so that such files are
// reported and never removed.
func ParseName(file string) (ParsedName, bool) {
	i := strings.Index(file, pkgExt)
	if i <= 0 {
		return ParsedName{}, false
	}
	ext := file[i:]
	// Only a compression suffix may follow: ".pkg.tar" or ".pkg.tar.zst";
	// not an editor's or a tool's copy ("...pkg.tar.zst~", "...zst.orig"
	// is refused by the '.' already).
	if rest := ext[len(pkgExt):]; rest != "" && (rest[0] != '.' || len(rest) == 1 || !isAlnum(rest[1:])) {
		return ParsedName{}, false
	}
	base := file[:i]
	a := strings.LastIndexByte(base, '-')
	if a <= 0 || a == len(base)-1 {
		return ParsedName{}, false
	}
	arch := base[a+1:]
	base = base[:a]
	r := strings.LastIndexByte(base, '-')
	if r <= 0 || r == len(base)-1 {
		return ParsedName{}, false
	}
	pkgrel := base[r+1:]
	base = base[:r]
	v := strings.LastIndexByte(base, '-')
	if v <= 0 || v == len(base)-1 {
		return ParsedName{}, false
	}
	pkgver := base[v+1:]
	name := base[:v]
	if !validRel(pkgrel) || !validVer(pkgver) || strings.ContainsAny(arch, ".:/") || strings.ContainsRune(name, '/') {
		return ParsedName{}, false
	}
	// pkgver-pkgrel is one substring of file: no allocation.
	return ParsedName{Name: name, Version: file[v+1 : v+1+len(pkgver)+1+len(pkgrel)], Arch: arch, Ext: ext}, true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validRel accepts makepkg's pkgrel: digits, optionally ".digits".
func validRel(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return s != ""
}

// validVer accepts [epoch:]pkgver with a numeric epoch and a non-empty pkgver.
func validVer(s string) bool {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		for j := 0; j < i; j++ {
			if s[j] < '0' || s[j] > '9' {
				return false
			}
		}
		if i == 0 || i == len(s)-1 {
			return false
		}
		s = s[i+1:]
	}
	return s != "" && !strings.ContainsAny(s, ":/")
}

// FileName is the inverse of ParseName.
func (n ParsedName) FileName() string {
	return n.Name + "-" + n.Version + "-" + n.Arch + n.Ext
}
