package report

import (
	"encoding/json"
	"io"
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
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return WriteIndent(w, append(b, '\n'), "  ")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func ptr[T any](v T) *T { return &v }
