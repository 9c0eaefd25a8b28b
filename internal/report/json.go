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
	s := NewJSONStream(w)
	s.Raw(`{"schema_version":`)
	s.Int(int64(r.SchemaVersion))
	s.Raw(`,"root":`)
	s.Str(r.Root)
	if r.RootBytes != "" {
		s.Raw(`,"root_bytes":`)
		s.Str(r.RootBytes)
	}
	s.Raw(`,"generated_at":`)
	s.Str(r.GeneratedAt)
	s.Value(`,"sections":`, r.Sections)
	s.Raw(`,"installed":`)
	s.Int(int64(r.Installed))
	if r.Optional != "" {
		s.Raw(`,"optional":`)
		s.Str(r.Optional)
	}
	if r.Orphans != nil {
		s.Value(`,"orphans":`, r.Orphans)
	}
	if r.Unneeded != nil {
		s.Value(`,"unneeded":`, r.Unneeded)
	}
	if r.Foreign != nil {
		s.Value(`,"foreign":`, r.Foreign)
	}
	if r.ForeignUnknown != nil {
		s.Value(`,"foreign_unknown":`, r.ForeignUnknown)
	}
	if r.MissingFiles != nil {
		s.Value(`,"missing_files":`, r.MissingFiles)
	}
	if r.Pacfiles != nil {
		s.Value(`,"pacfiles":`, r.Pacfiles)
	}
	if r.Unowned != nil {
		s.Raw(`,"unowned":`)
		list(s, *r.Unowned, AppendUnowned)
	}
	if r.UnownedIncomplete != nil {
		s.Value(`,"unowned_incomplete":`, r.UnownedIncomplete)
	}
	if len(r.UnownedNoFileLists) > 0 {
		s.Value(`,"unowned_no_file_lists":`, r.UnownedNoFileLists)
	}
	if r.Cache != nil {
		s.Raw(`,"cache":`)
		s.Cache(r.Cache)
	}
	if r.Userdata != nil {
		s.Value(`,"userdata":`, r.Userdata)
	}
	s.Value(`,"errors":`, r.Errors)
	s.Raw("}\n")
	return s.Flush()
}

// JSONStream writes a JSON document piece by piece, as json.Marshal would
// write it, through a buffer of its own that goes to its writer in pieces
// of about 32 KiB; the first error sticks. The report and the cache
// command write their long lists with it, an element at a time.
type JSONStream struct {
	w   io.Writer
	b   []byte
	err error
}

// NewJSONStream writes to w.
func NewJSONStream(w io.Writer) *JSONStream { return &JSONStream{w: w} }

// Raw writes text as it is (keys, punctuation).
func (s *JSONStream) Raw(text string) { s.b = append(s.b, text...) }

// Str writes v as a JSON string.
func (s *JSONStream) Str(v string) { s.b = AppendJSONString(s.b, v) }

// Int writes v.
func (s *JSONStream) Int(v int64) { s.b = strconv.AppendInt(s.b, v, 10) }

// Value writes key and v as json.Marshal writes it.
func (s *JSONStream) Value(key string, v any) {
	j, err := json.Marshal(v)
	if err != nil && s.err == nil {
		s.err = err
	}
	s.b = append(append(s.b, key...), j...)
	s.maybeFlush()
}

// Cache writes the cache plan's object, its file lists a file at a time.
func (s *JSONStream) Cache(c *Cache) {
	s.Value(`{"dirs":`, c.Dirs)
	if len(c.DirsBytes) > 0 {
		s.Value(`,"dirs_bytes":`, c.DirsBytes)
	}
	s.Raw(`,"candidates":`)
	list(s, c.Candidates, AppendCacheCandidate)
	s.Raw(`,"reclaim_bytes":`)
	s.Int(c.ReclaimBytes)
	s.Raw(`,"kept":`)
	list(s, c.Kept, AppendCacheCandidate)
	s.Value(`,"build_caches":`, c.BuildCaches)
	s.Raw(`,"build_cache_bytes":`)
	s.Int(c.BuildCacheBytes)
	s.Raw("}")
}

func (s *JSONStream) maybeFlush() {
	if len(s.b) >= 32<<10 {
		s.Flush()
	}
}

// Flush writes what is buffered and returns the first error met.
func (s *JSONStream) Flush() error {
	if s.err == nil && len(s.b) > 0 {
		_, s.err = s.w.Write(s.b)
	}
	s.b = s.b[:0]
	return s.err
}

// list writes elems as a JSON array (null when nil), each element by
// appendElem.
func list[T any](s *JSONStream, elems []T, appendElem func([]byte, *T) []byte) {
	if elems == nil {
		s.Raw("null")
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
