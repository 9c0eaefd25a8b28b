package tui

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/report"
)

// section is a tab, in the order shown.
type section int

const (
	secOrphans section = iota
	secUnneeded
	secForeign
	secUnowned
	secCache
	secPacfiles
	secMissing
	secUserdata
	numSections
)

var sectionIDs = [numSections]string{
	report.SectionOrphans, report.SectionUnneeded, report.SectionForeign, report.SectionUnowned,
	report.SectionCache, report.SectionPacfiles, report.SectionMissing, report.SectionUserdata,
}

var sectionTitles = [numSections]string{"Orphans", "Unneeded", "Foreign", "Unowned", "Cache", "Pacnew/Pacsave", "Missing", "Userdata"}

func sectionByID(id string) (section, bool) {
	for i, s := range sectionIDs {
		if s == id {
			return section(i), true
		}
	}
	return 0, false
}

// markable sections can be removed from the UI; the others are shown for
// information.
func (s section) markable() bool { return s <= secCache || s == secUserdata }

// onDemand sections are left out of the scan at start and computed only
// when the user asks on their tab: the user data section looks into a
// home, and its findings are a guess.
func (s section) onDemand() bool { return s == secUserdata }

// kind is what an item stands for.
type kind int

const (
	kindPackage kind = iota
	kindPath         // an unowned path
	kindCache        // a cache group: one package name and architecture
	kindInfo         // a pacfile or missing file, shown only
	kindUser         // an entry of a home's data directories
)

// item is one row of a section.
type item struct {
	kind kind
	// key identifies the item within its section (package name, path).
	key string
	// label is shown (quoted for the terminal).
	label string
	size  int64
	// sized is false when size is unknown.
	sized bool
	tags  []string

	orphan   *report.Orphan
	unneeded *report.Unneeded
	foreign  *report.Foreign
	unowned  *report.Unowned
	group    *cacheGroup
	pacfile  *report.Pacfile
	missing  *report.MissingFile
	user     *report.UserData

	marked bool
	// hidden by a keep-forever entry made in this session.
	hidden bool
	row    []string
}

// cacheGroup is every cache file of one package name and architecture.
type cacheGroup struct {
	Name, Arch string
	Remove     []report.CacheCandidate
	Keep       []report.CacheCandidate
	Bytes      int64
}

// itemsOf builds the items of section s from a report holding it.
func itemsOf(s section, rep *report.Report) []*item {
	var items []*item
	switch s {
	case secOrphans:
		for i := range rep.Orphans {
			o := &rep.Orphans[i]
			it := &item{kind: kindPackage, key: o.Name, label: quote.Quote(o.Name), size: o.InstalledSize, sized: true, orphan: o}
			if o.Cycle {
				it.tags = append(it.tags, "cycle")
			}
			if len(o.OptionalFor) > 0 {
				it.tags = append(it.tags, "optional for "+strings.Join(quoteAll(o.OptionalFor), ","))
			}
			if len(o.RequiredBy) > 0 {
				it.tags = append(it.tags, "needed by "+strings.Join(quoteAll(o.RequiredBy), ","))
			}
			items = append(items, it)
		}
	case secUnneeded:
		for i := range rep.Unneeded {
			u := &rep.Unneeded[i]
			items = append(items, &item{kind: kindPackage, key: u.Name, label: quote.Quote(u.Name), size: u.InstalledSize, sized: true, unneeded: u, tags: []string{"explicit"}})
		}
	case secForeign:
		for i := range rep.Foreign {
			f := &rep.Foreign[i]
			items = append(items, &item{kind: kindPackage, key: f.Name, label: quote.Quote(f.Name), foreign: f, tags: []string{"foreign"}})
		}
	case secUnowned:
		items = make([]*item, 0, len(rep.Unowned))
		for i := range rep.Unowned {
			u := &rep.Unowned[i]
			it := &item{kind: kindPath, key: u.Path, label: quote.Quote(u.Path), size: u.Size, sized: true, unowned: u}
			if u.Type == "dir" {
				it.tags = append(it.tags, strconv.Itoa(u.Entries)+" entries")
			} else if u.Type != "file" {
				it.tags = append(it.tags, u.Type)
			}
			if u.HiddenBy != "" {
				it.tags = append(it.tags, "hidden by rule "+u.HiddenBy)
			}
			if u.Incomplete {
				it.tags = append(it.tags, "incomplete")
			}
			items = append(items, it)
		}
	case secCache:
		if rep.Cache == nil {
			break
		}
		groups := map[[2]string]*cacheGroup{}
		var order []*cacheGroup
		get := func(c report.CacheCandidate) *cacheGroup {
			k := [2]string{c.Name, c.Arch}
			if c.Name == "" {
				k = [2]string{c.Path, ""}
			}
			g := groups[k]
			if g == nil {
				g = &cacheGroup{Name: k[0], Arch: k[1]}
				groups[k] = g
				order = append(order, g)
			}
			return g
		}
		for _, c := range rep.Cache.Candidates {
			g := get(c)
			g.Remove = append(g.Remove, c)
			g.Bytes += c.Size
		}
		for _, c := range rep.Cache.Kept {
			if _, ok := groups[[2]string{c.Name, c.Arch}]; ok {
				get(c).Keep = append(get(c).Keep, c)
			}
		}
		for _, g := range order {
			label := g.Name
			if g.Arch != "" {
				label += " (" + g.Arch + ")"
			}
			tags := []string{plural(len(g.Remove), "file", "files") + " to prune"}
			if len(g.Keep) > 0 {
				tags = append(tags, strconv.Itoa(len(g.Keep))+" kept")
			}
			items = append(items, &item{kind: kindCache, key: g.Name + "\x00" + g.Arch, label: quote.Quote(label), size: g.Bytes, sized: true, group: g, tags: tags})
		}
	case secPacfiles:
		for i := range rep.Pacfiles {
			p := &rep.Pacfiles[i]
			items = append(items, &item{kind: kindInfo, key: p.Path, label: quote.Quote(p.Path), pacfile: p, tags: []string{p.Kind, "of " + quote.Quote(p.Package)}})
		}
	case secMissing:
		for i := range rep.MissingFiles {
			m := &rep.MissingFiles[i]
			items = append(items, &item{kind: kindInfo, key: m.Package + "\x00" + m.Path, label: quote.Quote(m.Path), missing: m, tags: []string{"of " + quote.Quote(m.Package)}})
		}
	case secUserdata:
		for i := range rep.Userdata {
			u := &rep.Userdata[i]
			if u.MatchedBy != "" {
				continue // in use by something installed (--show-hidden)
			}
			tags := []string{u.Kind, userNote(u)}
			if u.Incomplete {
				tags = append(tags, "incomplete")
			}
			items = append(items, &item{kind: kindUser, key: u.Path, label: quote.Quote(u.Path), size: u.Size, sized: true, user: u, tags: tags})
		}
	}
	return items
}

// userNote is the heuristic's advice on a user data entry.
func userNote(u *report.UserData) string {
	if u.SafeToDrop {
		return "safe to drop"
	}
	return "needs a look"
}

// quoteAll quotes each of xs for the terminal.
func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = quote.Quote(x)
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// sortMode orders a section's items.
type sortMode int

const (
	sortSize sortMode = iota
	sortName
)

func (m sortMode) String() string {
	if m == sortName {
		return "name"
	}
	return "size"
}

func sortItems(items []*item, m sortMode) {
	switch m {
	case sortName:
		sort.SliceStable(items, func(i, j int) bool { return items[i].key < items[j].key })
	default:
		sort.SliceStable(items, func(i, j int) bool {
			if items[i].size != items[j].size {
				return items[i].size > items[j].size
			}
			return items[i].key < items[j].key
		})
	}
}

// humanBytes is a short size for the list.
func humanBytes(n int64) string { return report.HumanBytes(n) }
