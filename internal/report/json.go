package report

import (
	"encoding/json"
	"io"
	"strconv"
	"time"
)

type jsonPrinter struct{}

// jsonReport is the wire form: sections that were not computed are absent,
// computed ones are arrays even when empty, and no list inside is null.
type jsonReport struct {
	SchemaVersion  int            `json:"schema_version"`
	Root           string         `json:"root"`
	RootBytes      string         `json:"root_bytes,omitempty"`
	GeneratedAt    string         `json:"generated_at"`
	Sections       []string       `json:"sections"`
	Installed      int            `json:"installed"`
	Optional       string         `json:"optional,omitempty"`
	Orphans        *[]Orphan      `json:"orphans,omitempty"`
	Unneeded       *[]Unneeded    `json:"unneeded,omitempty"`
	Foreign        *[]Foreign     `json:"foreign,omitempty"`
	ForeignUnknown *bool          `json:"foreign_unknown,omitempty"`
	MissingFiles   *[]MissingFile `json:"missing_files,omitempty"`
	Pacfiles       *[]Pacfile     `json:"pacfiles,omitempty"`
	Unowned        *[]Unowned     `json:"unowned,omitempty"`
	// UnownedIncomplete is present with the unowned section.
	UnownedIncomplete  *bool       `json:"unowned_incomplete,omitempty"`
	UnownedNoFileLists []string    `json:"unowned_no_file_lists,omitempty"`
	Cache              *Cache      `json:"cache,omitempty"`
	Userdata           *[]UserData `json:"userdata,omitempty"`
	Errors             []Error     `json:"errors"`
}

func (jsonPrinter) Print(w io.Writer, rep *Report) error {
	rep.FillPathBytes()
	iw := NewIndentWriter(w, "  ")
	if err := wireOf(rep).write(iw); err != nil {
		return err
	}
	return iw.Flush()
}

// wireOf is rep in its wire form (path_bytes filled in already).
func wireOf(rep *Report) *jsonReport {
	out := jsonReport{
		SchemaVersion: rep.SchemaVersion,
		Root:          rep.Root,
		RootBytes:     rep.RootBytes,
		GeneratedAt:   rep.GeneratedAt.UTC().Format(time.RFC3339),
		Sections:      nonNil(rep.Sections),
		Installed:     rep.Installed,
		Optional:      rep.Optional,
		Errors:        nonNil(rep.Errors),
	}
	if rep.Has(SectionOrphans) {
		os := make([]Orphan, len(rep.Orphans))
		for i, o := range rep.Orphans {
			o.OptionalFor = nonNil(o.OptionalFor)
			o.Removes = nonNil(o.Removes)
			o.RequiredBy = nonNil(o.RequiredBy)
			os[i] = o
		}
		out.Orphans = &os
	}
	if rep.Has(SectionUnneeded) {
		out.Unneeded = ptr(nonNil(rep.Unneeded))
	}
	if rep.Has(SectionForeign) {
		out.Foreign = ptr(nonNil(rep.Foreign))
		out.ForeignUnknown = ptr(rep.ForeignUnknown)
	}
	if rep.Has(SectionMissing) {
		out.MissingFiles = ptr(nonNil(rep.MissingFiles))
	}
	if rep.Has(SectionPacfiles) {
		out.Pacfiles = ptr(nonNil(rep.Pacfiles))
	}
	if rep.Has(SectionUnowned) {
		out.Unowned = ptr(nonNil(rep.Unowned))
		out.UnownedIncomplete = ptr(rep.UnownedIncomplete)
		out.UnownedNoFileLists = rep.UnownedNoFileLists
	}
	if rep.Has(SectionUserdata) {
		out.Userdata = ptr(nonNil(rep.Userdata))
	}
	if rep.Has(SectionCache) {
		c := Cache{}
		if rep.Cache != nil {
			c = *rep.Cache
		}
		c.Dirs = nonNil(c.Dirs)
		c.Candidates = nonNil(c.Candidates)
		c.Kept = nonNil(c.Kept)
		c.BuildCaches = nonNil(c.BuildCaches)
		out.Cache = &c
	}
	return &out
}

// write writes r as json.Marshal would, and a newline, to w. The lists
// that can be tens of thousands long (unowned entries, cache files) are
// written an element at a time, by hand: marshalling the whole report
// built it in memory, megabytes for a big cache, and that garbage is what
// the collector then had to catch up with.
func (r *jsonReport) write(w io.Writer) error {
	s := jsonStream{w: w}
	s.raw(`{"schema_version":`)
	s.int(int64(r.SchemaVersion))
	s.raw(`,"root":`)
	s.str(r.Root)
	if r.RootBytes != "" {
		s.raw(`,"root_bytes":`)
		s.str(r.RootBytes)
	}
	s.raw(`,"generated_at":`)
	s.str(r.GeneratedAt)
	s.value(`,"sections":`, r.Sections)
	s.raw(`,"installed":`)
	s.int(int64(r.Installed))
	if r.Optional != "" {
		s.raw(`,"optional":`)
		s.str(r.Optional)
	}
	if r.Orphans != nil {
		s.value(`,"orphans":`, r.Orphans)
	}
	if r.Unneeded != nil {
		s.value(`,"unneeded":`, r.Unneeded)
	}
	if r.Foreign != nil {
		s.value(`,"foreign":`, r.Foreign)
	}
	if r.ForeignUnknown != nil {
		s.value(`,"foreign_unknown":`, r.ForeignUnknown)
	}
	if r.MissingFiles != nil {
		s.value(`,"missing_files":`, r.MissingFiles)
	}
	if r.Pacfiles != nil {
		s.value(`,"pacfiles":`, r.Pacfiles)
	}
	if r.Unowned != nil {
		s.raw(`,"unowned":`)
		list(&s, *r.Unowned, AppendUnowned)
	}
	if r.UnownedIncomplete != nil {
		s.value(`,"unowned_incomplete":`, r.UnownedIncomplete)
	}
	if len(r.UnownedNoFileLists) > 0 {
		s.value(`,"unowned_no_file_lists":`, r.UnownedNoFileLists)
	}
	if c := r.Cache; c != nil {
		s.value(`,"cache":{"dirs":`, c.Dirs)
		if len(c.DirsBytes) > 0 {
			s.value(`,"dirs_bytes":`, c.DirsBytes)
		}
		s.raw(`,"candidates":`)
		list(&s, c.Candidates, AppendCacheCandidate)
		s.raw(`,"reclaim_bytes":`)
		s.int(c.ReclaimBytes)
		s.raw(`,"kept":`)
		list(&s, c.Kept, AppendCacheCandidate)
		s.value(`,"build_caches":`, c.BuildCaches)
		s.raw(`,"build_cache_bytes":`)
		s.int(c.BuildCacheBytes)
		s.raw("}")
	}
	if r.Userdata != nil {
		s.value(`,"userdata":`, r.Userdata)
	}
	s.value(`,"errors":`, r.Errors)
	s.raw("}\n")
	return s.flush()
}

// jsonStream writes JSON through a buffer of its own, in pieces of about
// 32 KiB; the first error sticks.
type jsonStream struct {
	w   io.Writer
	b   []byte
	err error
}

func (s *jsonStream) raw(text string) { s.b = append(s.b, text...) }
func (s *jsonStream) str(v string)    { s.b = AppendJSONString(s.b, v) }
func (s *jsonStream) int(v int64)     { s.b = strconv.AppendInt(s.b, v, 10) }

// value writes key and v as json.Marshal writes it.
func (s *jsonStream) value(key string, v any) {
	j, err := json.Marshal(v)
	if err != nil && s.err == nil {
		s.err = err
	}
	s.b = append(append(s.b, key...), j...)
	s.maybeFlush()
}

func (s *jsonStream) maybeFlush() {
	if len(s.b) >= 32<<10 {
		s.flush()
	}
}

func (s *jsonStream) flush() error {
	if s.err == nil && len(s.b) > 0 {
		_, s.err = s.w.Write(s.b)
	}
	s.b = s.b[:0]
	return s.err
}

// list writes elems as a JSON array (null when nil), each element by
// appendElem.
func list[T any](s *jsonStream, elems []T, appendElem func([]byte, *T) []byte) {
	if elems == nil {
		s.raw("null")
		return
	}
	s.b = append(s.b, '[')
	for i := range elems {
		if i > 0 {
			s.b = append(s.b, ',')
		}
		s.b = appendElem(s.b, &elems[i])
		s.maybeFlush()
	}
	s.b = append(s.b, ']')
}

// AppendUnowned appends u as json.Marshal writes it.
func AppendUnowned(b []byte, u *Unowned) []byte {
	b = append(b, `{"path":`...)
	b = AppendJSONString(b, u.Path)
	b = append(b, `,"type":`...)
	b = AppendJSONString(b, u.Type)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, u.Size, 10)
	b = append(b, `,"entries":`...)
	b = strconv.AppendInt(b, int64(u.Entries), 10)
	if u.PathBytes != "" {
		b = append(b, `,"path_bytes":`...)
		b = AppendJSONString(b, u.PathBytes)
	}
	if u.HiddenBy != "" {
		b = append(b, `,"hidden_by":`...)
		b = AppendJSONString(b, u.HiddenBy)
	}
	if u.Incomplete {
		b = append(b, `,"incomplete":true`...)
	}
	return appendNew(b, u.New)
}

// AppendCacheCandidate appends c as json.Marshal writes it.
func AppendCacheCandidate(b []byte, c *CacheCandidate) []byte {
	b = append(b, `{"path":`...)
	b = AppendJSONString(b, c.Path)
	b = append(b, `,"name":`...)
	b = AppendJSONString(b, c.Name)
	b = append(b, `,"version":`...)
	b = AppendJSONString(b, c.Version)
	b = append(b, `,"arch":`...)
	b = AppendJSONString(b, c.Arch)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, c.Size, 10)
	b = append(b, `,"reason":`...)
	b = AppendJSONString(b, c.Reason)
	b = append(b, `,"kind":`...)
	b = AppendJSONString(b, c.Kind)
	if c.PathBytes != "" {
		b = append(b, `,"path_bytes":`...)
		b = AppendJSONString(b, c.PathBytes)
	}
	return appendNew(b, c.New)
}

// appendNew closes an object with its "new" field, if any.
func appendNew(b []byte, isNew *bool) []byte {
	switch {
	case isNew == nil:
	case *isNew:
		b = append(b, `,"new":true`...)
	default:
		b = append(b, `,"new":false`...)
	}
	return append(b, '}')
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func ptr[T any](v T) *T { return &v }
