package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/report"
)

// pathInfo is what the detail pane learns about an unowned path from the
// file system and the database.
type pathInfo struct {
	mtime  time.Time
	origin string
	err    error
}

type pathInfoMsg struct {
	path string
	info pathInfo
}

// updateDetail fills the detail pane for the highlighted item and asks
// for what is not known yet about it.
func (m *Model) updateDetail() tea.Cmd {
	s := m.sections[m.active]
	it := s.current()
	m.detail.SetContent(m.detailText(s, it))
	m.detail.GotoTop()
	if it == nil || it.kind != kindPath || m.info == nil {
		return nil
	}
	if _, ok := m.pathInfo[it.key]; ok {
		return nil
	}
	m.pathInfo[it.key] = pathInfo{} // asked once
	info, p := m.info, it.key
	return func() tea.Msg {
		var pi pathInfo
		fi, err := os.Lstat(filepath.Join(info.Root(), p))
		if err != nil {
			pi.err = err
		} else {
			pi.mtime = fi.ModTime()
		}
		pi.origin = info.Origin(p)
		return pathInfoMsg{path: p, info: pi}
	}
}

func (m *Model) detailText(s *sectionModel, it *item) string {
	st := m.c.styles
	if it == nil {
		switch {
		case s.state == sectionIdle:
			return st.Dim.Render("Not scanned yet: " + m.c.keys.Scan.Help().Key + " looks through the home.")
		case s.state == sectionPending:
			return st.Dim.Render("Scanning…")
		case s.state == sectionFailed:
			return st.Error.Render("This section failed: " + quote.Quote(s.err.Error()))
		case len(s.all) == 0:
			return st.Dim.Render(emptyText(s.id))
		}
		return st.Dim.Render("Nothing matches the filter.")
	}
	var b strings.Builder
	line := func(label, value string) {
		b.WriteString(st.Label.Render(fmt.Sprintf("%-13s", label)) + " " + value + "\n")
	}
	list := func(xs []string) string {
		if len(xs) == 0 {
			return st.Dim.Render("none")
		}
		return strings.Join(quoteAll(xs), ", ")
	}
	switch it.kind {
	case kindPackage:
		var pi PackageInfo
		var ok bool
		if m.info != nil {
			pi, ok = m.info.Package(it.key)
		}
		version := pi.Version
		switch {
		case it.orphan != nil:
			version = it.orphan.Version
		case it.unneeded != nil:
			version = it.unneeded.Version
		case it.foreign != nil:
			version = it.foreign.Version
		}
		b.WriteString(st.Title.Render(it.label) + " " + quote.Quote(version) + "\n")
		if ok {
			if pi.Desc != "" {
				b.WriteString(quote.Quote(pi.Desc) + "\n")
			}
			if !pi.InstallDate.IsZero() {
				line("Installed", pi.InstallDate.Local().Format("2006-01-02 15:04"))
			}
			line("Size", humanBytes(pi.InstalledSize))
			line("Required by", list(pi.RequiredBy))
			line("Optional for", list(pi.OptionalFor))
		} else if it.sized {
			line("Size", humanBytes(it.size))
		}
		switch {
		case it.orphan != nil:
			o := it.orphan
			why := "nothing you want needs it"
			if o.Cycle {
				why += "; it is in a dependency cycle"
			}
			if len(o.OptionalFor) > 0 {
				why += "; optional for " + strings.Join(quoteAll(o.OptionalFor), ", ")
			}
			line("Why", why)
			line("-Rns removes", list(o.Removes))
			line("Frees", humanBytes(o.FreedBytes))
		case it.unneeded != nil:
			line("Why", "installed explicitly; nothing depends on it")
		case ok:
			line("Why", whyText(pi.Why))
		}
		if ok && it.orphan == nil && len(pi.Removes) > 0 {
			line("-Rns removes", list(pi.Removes))
			line("Frees", humanBytes(pi.FreedBytes))
		}
	case kindPath:
		u := it.unowned
		b.WriteString(st.Title.Render(it.label) + "\n")
		line("Type", u.Type)
		line("Size", humanBytes(u.Size))
		if u.Type == "dir" {
			line("Entries", strconv.Itoa(u.Entries))
		}
		pi, ok := m.pathInfo[it.key]
		switch {
		case !ok || (pi.err == nil && pi.mtime.IsZero() && pi.origin == ""):
			line("Modified", st.Dim.Render("…"))
		case pi.err != nil:
			line("Modified", st.Error.Render(quote.Quote(pi.err.Error())))
		default:
			line("Modified", pi.mtime.Local().Format("2006-01-02 15:04"))
		}
		if ok && (pi.origin != "" || !pi.mtime.IsZero()) {
			origin := pi.origin
			if origin == "" {
				origin = st.Dim.Render("no package owns a parent directory")
			} else {
				origin = "near files of " + quote.Quote(origin)
			}
			line("Origin", origin)
		}
		if u.HiddenBy != "" {
			line("Hidden by", "rule "+u.HiddenBy)
		}
		if u.Incomplete {
			line("Note", st.Warn.Render("could not be read in full; see the errors (e)"))
		}
	case kindCache:
		g := it.group
		b.WriteString(st.Title.Render(it.label) + "\n")
		line("Prune", plural(len(g.Remove), "file", "files")+", "+humanBytes(g.Bytes))
		for _, c := range g.Remove {
			b.WriteString(st.Warn.Render("remove ") + cacheLine(c) + "\n")
		}
		for _, c := range g.Keep {
			b.WriteString(st.Good.Render("keep   ") + cacheLine(c) + "\n")
		}
	case kindUser:
		// Evidence and advice first: the pane is short on a small terminal.
		u := it.user
		b.WriteString(st.Title.Render(it.label) + "\n")
		advice := st.Warn.Render("needs a look") + ": settings or data, check first"
		if u.SafeToDrop {
			advice = st.Good.Render("safe to drop") + ": programs recreate their caches"
		}
		line("Advice", advice)
		evidence := "no installed owner found"
		if len(u.Checked) > 0 {
			evidence += "; looked for " + strings.Join(quoteAll(u.Checked), ", ")
		}
		line("Evidence", evidence)
		size := humanBytes(u.Size)
		if u.Type == "dir" {
			size += ", " + plural(u.Entries, "entry", "entries")
		} else {
			size += ", " + u.Type
		}
		line("Size", size)
		if !u.MTime.IsZero() {
			line("Modified", u.MTime.Local().Format("2006-01-02 15:04")+" (newest inside)")
		}
		line("Kind", u.Kind+", in "+userKindPlace(u.Kind)+" of "+quote.Quote(u.User))
		line("Looked among", "installed packages, their provides and groups, binaries in /usr/bin, desktop files (name, Exec, StartupWMClass), directories packages own in /etc/xdg, /usr/share and /usr/lib")
		if u.Incomplete {
			line("Note", st.Warn.Render("could not be read in full; see the errors (e)"))
		}
		b.WriteString(st.Dim.Render("A guess from names: a program installed outside pacman, or whose data is named unlike anything it installs, shows up here too. Nothing is marked for you.") + "\n")
	case kindInfo:
		b.WriteString(st.Title.Render(it.label) + "\n")
		if p := it.pacfile; p != nil {
			line("Kind", p.Kind)
			line("Package", quote.Quote(p.Package))
			line("What to do", "merge it with pacdiff (pacman-contrib), then delete it")
		}
		if mf := it.missing; mf != nil {
			line("Package", quote.Quote(mf.Package))
			line("What to do", "reinstall it: pacman -S "+quote.Quote(mf.Package))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// userKindPlace is where a kind of user data lives in a home.
func userKindPlace(kind string) string {
	switch kind {
	case "cache":
		return "~/.cache"
	case "config":
		return "~/.config"
	case "data":
		return "~/.local/share"
	case "state":
		return "~/.local/state"
	}
	return "the home"
}

func cacheLine(c report.CacheCandidate) string {
	v := c.Version
	if v == "" {
		v = filepath.Base(c.Path)
	}
	return fmt.Sprintf("%-16s %10s  %s", quote.Quote(v), humanBytes(c.Size), c.Reason)
}

func whyText(w report.Why) string {
	if len(w.Chain) == 0 {
		return w.Reason
	}
	var parts []string
	for _, l := range w.Chain {
		n := quote.Quote(l.Name)
		if l.Optional {
			n += " (optional)"
		}
		parts = append(parts, n)
	}
	return w.Reason + ": " + strings.Join(parts, " → ")
}

func emptyText(s section) string {
	switch s {
	case secOrphans:
		return "No orphans."
	case secUnneeded:
		return "Every explicit package is needed by another."
	case secForeign:
		return "No foreign packages."
	case secUnowned:
		return "No unowned files."
	case secCache:
		return "Nothing to prune in the cache."
	case secPacfiles:
		return "No .pacnew or .pacsave files."
	case secUserdata:
		return "No user data without an installed owner."
	}
	return "No missing files."
}
