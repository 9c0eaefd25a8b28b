package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pactidy/pactidy/internal/vercmp"
)

// WriteCacheText prints the cache plan as the `cache` command shows it.
func WriteCacheText(w io.Writer, s Styles, c *Cache) error { return writeCacheText(w, s, c) }

// writeCacheText prints the cache section: per package (name and
// architecture) with something to remove, every version kept and removed
// with its size and reason, a signature folded into its package's line;
// then the other files (stray signatures, partial downloads, names never
// touched), the AUR build caches, and the total.
func writeCacheText(w io.Writer, s Styles, c *Cache) error {
	ew := &errWriter{w: w}
	p := &textPrinter{styles: s}
	if c == nil {
		c = &Cache{}
	}
	detail := fmt.Sprintf(" %s, %s reclaimable", plural(len(c.Candidates), "file", "files"), HumanBytes(c.ReclaimBytes))
	p.header(ew, "Package cache", len(c.Candidates), detail)
	if len(c.Dirs) > 0 {
		quoted := make([]string, len(c.Dirs))
		for i, d := range c.Dirs {
			quoted[i] = QuotePath(d)
		}
		ew.printf("  %s\n", s.Dim("in "+strings.Join(quoted, ", ")))
	}

	type row struct {
		CacheCandidate
		remove bool
		sig    bool // a signature was folded into this line
	}
	type key struct{ name, arch string }
	groups := map[key][]*row{}
	var order []key
	var other []*row
	sigs := map[string]*row{}
	add := func(list []CacheCandidate, remove bool) {
		for _, e := range list {
			r := &row{CacheCandidate: e, remove: remove}
			switch e.Kind {
			case "package", "":
				k := key{e.Name, e.Arch}
				if _, ok := groups[k]; !ok {
					order = append(order, k)
				}
				groups[k] = append(groups[k], r)
			case "signature":
				sigs[e.Path] = r
			default:
				other = append(other, r)
			}
		}
	}
	add(c.Kept, false)
	add(c.Candidates, true)
	// Fold each signature into its package's line when they share the
	// verdict; otherwise it is a line of its own.
	for _, k := range order {
		for _, r := range groups[k] {
			if sg, ok := sigs[r.Path+".sig"]; ok && sg.remove == r.remove {
				r.Size += sg.Size
				r.sig = true
				delete(sigs, r.Path+".sig")
			}
		}
	}
	for _, sg := range sigs {
		other = append(other, sg)
	}

	sort.Slice(order, func(i, j int) bool {
		if order[i].name != order[j].name {
			return order[i].name < order[j].name
		}
		return order[i].arch < order[j].arch
	})
	action := func(remove bool) cell {
		if remove {
			return cell{"remove", s.Warn}
		}
		return cell{"keep", s.Dim}
	}
	t := newTable()
	quiet := 0
	for _, k := range order {
		rows := groups[k]
		hasRemoval := false
		for _, r := range rows {
			hasRemoval = hasRemoval || r.remove
		}
		if !hasRemoval {
			quiet++
			continue
		}
		sort.SliceStable(rows, func(i, j int) bool {
			if c := vercmp.Compare(rows[i].Version, rows[j].Version); c != 0 {
				return c > 0
			}
			if rows[i].remove != rows[j].remove {
				return !rows[i].remove
			}
			return rows[i].Path < rows[j].Path
		})
		for i, r := range rows {
			name := cell{}
			if i == 0 {
				name = cell{QuotePath(k.name) + " " + QuotePath(k.arch), s.Name}
			}
			v := QuotePath(r.Version)
			if r.sig {
				v += " +sig"
			}
			t.row(name, action(r.remove), cell{v, nil}, cell{HumanBytes(r.Size), s.Size}, cell{QuotePath(r.Reason), nil})
		}
	}
	t.write(ew)
	if quiet > 0 {
		ew.printf("  %s\n", s.Dim(fmt.Sprintf("%d %s with nothing to remove", quiet, plural(quiet, "package", "packages"))))
	}

	if len(other) > 0 {
		sort.SliceStable(other, func(i, j int) bool {
			if other[i].remove != other[j].remove {
				return other[i].remove
			}
			return other[i].Path < other[j].Path
		})
		ew.printf("  %s\n", s.Header("Other files"))
		t := newTable()
		for _, r := range other {
			t.row(action(r.remove), cell{QuotePath(r.Path), nil}, cell{HumanBytes(r.Size), s.Size}, cell{QuotePath(r.Reason), nil})
		}
		t.write(ew)
	}

	if n := len(c.BuildCaches); n > 0 {
		ew.printf("  %s (%d, %s; not removed)\n", s.Header("AUR build caches of packages no longer installed"), n, HumanBytes(c.BuildCacheBytes))
		t := newTable()
		for _, b := range c.BuildCaches {
			t.row(cell{QuotePath(b.Helper), s.Dim}, cell{QuotePath(b.Name), s.Name}, cell{HumanBytes(b.Size), s.Size}, cell{QuotePath(b.Path), nil})
		}
		t.write(ew)
	}
	if len(c.Candidates) > 0 {
		ew.printf("  %s %s in %s\n", s.Header("Total reclaimable:"), s.Size(HumanBytes(c.ReclaimBytes)), plural(len(c.Candidates), "1 file", fmt.Sprintf("%d files", len(c.Candidates))))
	}
	return ew.err
}
