package report

import (
	"encoding/base64"
	"unicode/utf8"
)

// RawPath is the exact bytes of p, base64 (standard encoding), when p is
// not valid UTF-8, else "". JSON strings cannot hold such bytes: the path
// field then carries U+FFFD in their place and path_bytes the real name.
func RawPath(p string) string {
	if utf8.ValidString(p) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(p))
}

// FillPathBytes sets every path_bytes field of rep from its path, so that
// no printer of JSON depends on the assembler having done it.
func (r *Report) FillPathBytes() {
	r.RootBytes = RawPath(r.Root)
	for i := range r.MissingFiles {
		r.MissingFiles[i].PathBytes = RawPath(r.MissingFiles[i].Path)
	}
	for i := range r.Pacfiles {
		r.Pacfiles[i].PathBytes = RawPath(r.Pacfiles[i].Path)
	}
	for i := range r.Unowned {
		r.Unowned[i].PathBytes = RawPath(r.Unowned[i].Path)
	}
	for i := range r.Errors {
		r.Errors[i].PathBytes = RawPath(r.Errors[i].Path)
	}
	for i := range r.Userdata {
		r.Userdata[i].PathBytes = RawPath(r.Userdata[i].Path)
	}
	if r.Cache != nil {
		r.Cache.FillPathBytes()
	}
}

// FillPathBytes sets the path_bytes fields of the cache plan and
// dirs_bytes when a directory needs it.
func (c *Cache) FillPathBytes() {
	c.DirsBytes = nil
	for i, d := range c.Dirs {
		if raw := RawPath(d); raw != "" {
			if c.DirsBytes == nil {
				c.DirsBytes = make([]string, len(c.Dirs))
			}
			c.DirsBytes[i] = raw
		}
	}
	for _, list := range [][]CacheCandidate{c.Candidates, c.Kept} {
		for i := range list {
			list[i].PathBytes = RawPath(list[i].Path)
		}
	}
	for i := range c.BuildCaches {
		c.BuildCaches[i].PathBytes = RawPath(c.BuildCaches[i].Path)
	}
}

// FillErrorBytes sets the path_bytes fields of errs.
func FillErrorBytes(errs []Error) {
	for i := range errs {
		errs[i].PathBytes = RawPath(errs[i].Path)
	}
}
