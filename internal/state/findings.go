package state

import (
	"time"

	"github.com/pactidy/pactidy/internal/report"
)

// finding is one finding of a report section: its key and its New field.
type finding struct {
	key string
	new **bool
}

// findings lists the findings of a computed section of rep; ok is false
// when the section was not computed or its findings are not known (foreign
// packages without a readable sync database). Unowned entries a rule
// hides are not findings and are left out.
func findings(rep *report.Report, section string) (fs []finding, ok bool) {
	if !rep.Has(section) {
		return nil, false
	}
	switch section {
	case report.SectionOrphans:
		for i := range rep.Orphans {
			fs = append(fs, finding{rep.Orphans[i].Name, &rep.Orphans[i].New})
		}
	case report.SectionUnneeded:
		for i := range rep.Unneeded {
			fs = append(fs, finding{rep.Unneeded[i].Name, &rep.Unneeded[i].New})
		}
	case report.SectionForeign:
		if rep.ForeignUnknown {
			return nil, false
		}
		for i := range rep.Foreign {
			fs = append(fs, finding{rep.Foreign[i].Name, &rep.Foreign[i].New})
		}
	case report.SectionMissing:
		for i := range rep.MissingFiles {
			m := &rep.MissingFiles[i]
			fs = append(fs, finding{m.Package + "\x00" + m.Path, &m.New})
		}
	case report.SectionPacfiles:
		for i := range rep.Pacfiles {
			fs = append(fs, finding{rep.Pacfiles[i].Path, &rep.Pacfiles[i].New})
		}
	case report.SectionUnowned:
		for i := range rep.Unowned {
			if rep.Unowned[i].HiddenBy == "" {
				fs = append(fs, finding{rep.Unowned[i].Path, &rep.Unowned[i].New})
			}
		}
	case report.SectionCache:
		if rep.Cache == nil {
			return nil, false
		}
		for i := range rep.Cache.Candidates {
			fs = append(fs, finding{rep.Cache.Candidates[i].Path, &rep.Cache.Candidates[i].New})
		}
	default:
		return nil, false
	}
	return fs, true
}

// Mark sets New on every finding of rep's computed sections: true when the
// state's record of that section lacks it. A section the state never
// recorded makes all its findings new. It returns the number of new
// findings per section (for the sections that were marked).
func (s *State) Mark(rep *report.Report) map[string]int {
	counts := map[string]int{}
	for _, section := range rep.Sections {
		fs, ok := findings(rep, section)
		if !ok {
			continue
		}
		rec := s.Sections[section]
		n := 0
		for _, f := range fs {
			isNew := rec == nil || !rec.Keys[f.key]
			v := isNew
			*f.new = &v
			if isNew {
				n++
			}
		}
		counts[section] = n
	}
	return counts
}

// Record replaces the state's record of every section rep computed with
// its findings; the other sections keep theirs.
func (s *State) Record(rep *report.Report, now time.Time) {
	for _, section := range rep.Sections {
		fs, ok := findings(rep, section)
		if !ok {
			continue
		}
		keys := make(map[string]bool, len(fs))
		for _, f := range fs {
			keys[f.key] = true
		}
		s.Sections[section] = &Section{UpdatedAt: now, Keys: keys}
	}
}

// OnlyNew drops from rep every finding Mark did not find new, and the
// unowned entries rules hide. The cache plan's reclaimable bytes become
// those of the new candidates (the sum of the candidates shown); the kept
// files stay listed.
func OnlyNew(rep *report.Report) {
	rep.Orphans = keep(rep.Orphans, func(o *report.Orphan) *bool { return o.New })
	rep.Unneeded = keep(rep.Unneeded, func(o *report.Unneeded) *bool { return o.New })
	rep.Foreign = keep(rep.Foreign, func(o *report.Foreign) *bool { return o.New })
	rep.MissingFiles = keep(rep.MissingFiles, func(o *report.MissingFile) *bool { return o.New })
	rep.Pacfiles = keep(rep.Pacfiles, func(o *report.Pacfile) *bool { return o.New })
	rep.Unowned = keep(rep.Unowned, func(o *report.Unowned) *bool { return o.New })
	if rep.Cache != nil {
		c := *rep.Cache
		c.Candidates = keep(c.Candidates, func(o *report.CacheCandidate) *bool { return o.New })
		c.ReclaimBytes = 0
		for _, f := range c.Candidates {
			c.ReclaimBytes += f.Size
		}
		rep.Cache = &c
	}
}

func keep[T any](list []T, isNew func(*T) *bool) []T {
	if list == nil {
		return nil
	}
	out := make([]T, 0, len(list))
	for i := range list {
		if n := isNew(&list[i]); n != nil && *n {
			out = append(out, list[i])
		}
	}
	return out
}
