package report

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

type prometheusPrinter struct{}

type gauge struct {
	name, help string
	value      int64
	// labelled gauges: one sample per section, value ignored
	bySection map[string]float64
}

// Print writes gauges for the computed sections only, so that a section
// left out with --only does not look like a zero. A foreign count that
// could not be known (no sync database) is left out too.
func (prometheusPrinter) Print(w io.Writer, rep *Report) error {
	var gs []gauge
	if rep.Has(SectionOrphans) {
		var bytes, cycles int64
		for _, o := range rep.Orphans {
			bytes += o.InstalledSize
			if o.Cycle {
				cycles++
			}
		}
		gs = append(gs,
			gauge{name: "pactidy_orphans", help: "Orphaned dependency packages, cycles included.", value: int64(len(rep.Orphans))},
			gauge{name: "pactidy_orphans_cycle", help: "Orphaned packages in or below a dependency cycle (pacman -Qdt never lists them).", value: cycles},
			gauge{name: "pactidy_orphans_bytes", help: "Installed size of all orphaned packages in bytes.", value: bytes})
	}
	if rep.Has(SectionUnneeded) {
		gs = append(gs, gauge{name: "pactidy_unneeded", help: "Explicitly installed packages nothing depends on.", value: int64(len(rep.Unneeded))})
	}
	if rep.Has(SectionForeign) && !rep.ForeignUnknown {
		gs = append(gs, gauge{name: "pactidy_foreign", help: "Installed packages in no sync database.", value: int64(len(rep.Foreign))})
	}
	if rep.Has(SectionMissing) {
		gs = append(gs, gauge{name: "pactidy_missing_files", help: "Files owned by packages and missing on disk.", value: int64(len(rep.MissingFiles))})
	}
	if rep.Has(SectionPacfiles) {
		gs = append(gs, gauge{name: "pactidy_pacfiles", help: "Unmerged .pacnew, .pacsave and .pacorig files.", value: int64(len(rep.Pacfiles))})
	}
	if rep.Has(SectionUnowned) && !rep.UnownedIncomplete {
		var bytes int64
		for _, u := range rep.Unowned {
			if u.HiddenBy == "" {
				bytes += u.Size
			}
		}
		gs = append(gs,
			gauge{name: "pactidy_unowned", help: "Paths no package owns (a directory counts once).", value: int64(rep.UnownedShown())},
			gauge{name: "pactidy_unowned_bytes", help: "Size of the paths no package owns in bytes.", value: bytes})
	}
	if rep.Has(SectionCache) {
		var reclaim int64
		if rep.Cache != nil {
			reclaim = rep.Cache.ReclaimBytes
		}
		gs = append(gs, gauge{name: "pactidy_cache_reclaim_bytes", help: "Bytes a cache prune with the default policy would free.", value: reclaim})
	}
	if rep.Has(SectionUserdata) {
		var bytes int64
		for _, u := range rep.Userdata {
			if u.MatchedBy == "" {
				bytes += u.Size
			}
		}
		gs = append(gs,
			gauge{name: "pactidy_userdata", help: "Entries of the homes looked through that no installed program seems to use.", value: int64(rep.UserdataShown())},
			gauge{name: "pactidy_userdata_bytes", help: "Size of those entries in bytes.", value: bytes})
	}
	gs = append(gs,
		gauge{name: "pactidy_errors", help: "Paths or database entries that could not be read.", value: int64(len(rep.Errors))},
		gauge{name: "pactidy_last_run_timestamp_seconds", help: "When the report was made, in seconds since the epoch.", value: rep.GeneratedAt.Unix()},
		// A report that is printed succeeded: its set-up errors stop it
		// before anything is written. Alert on this one going stale.
		gauge{name: "pactidy_last_success_timestamp_seconds", help: "When the last report that ran to the end was made, in seconds since the epoch.", value: rep.GeneratedAt.Unix()})
	if len(rep.Elapsed) > 0 {
		d := map[string]float64{}
		for _, s := range rep.Sections {
			if e, ok := rep.Elapsed[s]; ok {
				d[s] = e.Seconds()
			}
		}
		gs = append(gs, gauge{name: "pactidy_scan_duration_seconds", help: "How long each section of the report took, in seconds.", bySection: d})
	}
	if rep.NewCounts != nil {
		n := map[string]float64{}
		for _, s := range rep.Sections {
			if c, ok := rep.NewCounts[s]; ok {
				n[s] = float64(c)
			}
		}
		gs = append(gs, gauge{name: "pactidy_new", help: "Findings of each section that the last recorded report did not have.", bySection: n})
	}

	b := bufio.NewWriter(w)
	for _, g := range gs {
		if g.bySection != nil && len(g.bySection) == 0 {
			continue
		}
		b.WriteString("# HELP " + g.name + " " + g.help + "\n")
		b.WriteString("# TYPE " + g.name + " gauge\n")
		if g.bySection == nil {
			b.WriteString(g.name + " " + strconv.FormatInt(g.value, 10) + "\n")
			continue
		}
		for _, s := range AllSections {
			if v, ok := g.bySection[s]; ok {
				b.WriteString(g.name + `{section="` + labelValue(s) + `"} ` + strconv.FormatFloat(v, 'g', -1, 64) + "\n")
			}
		}
	}
	return b.Flush()
}

// labelValue escapes a label value as the text format wants: backslash,
// double quote and line feed.
func labelValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
