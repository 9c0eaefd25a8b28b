package report

import (
	"bufio"
	"io"
	"strconv"
)

type prometheusPrinter struct{}

type gauge struct {
	name, help string
	value      int64
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
			gauge{"pactidy_orphans", "Orphaned dependency packages, cycles included.", int64(len(rep.Orphans))},
			gauge{"pactidy_orphans_cycle", "Orphaned packages in or below a dependency cycle (pacman -Qdt never lists them).", cycles},
			gauge{"pactidy_orphans_bytes", "Installed size of all orphaned packages in bytes.", bytes})
	}
	if rep.Has(SectionUnneeded) {
		gs = append(gs, gauge{"pactidy_unneeded", "Explicitly installed packages nothing depends on.", int64(len(rep.Unneeded))})
	}
	if rep.Has(SectionForeign) && !rep.ForeignUnknown {
		gs = append(gs, gauge{"pactidy_foreign", "Installed packages in no sync database.", int64(len(rep.Foreign))})
	}
	if rep.Has(SectionMissing) {
		gs = append(gs, gauge{"pactidy_missing_files", "Files owned by packages and missing on disk.", int64(len(rep.MissingFiles))})
	}
	if rep.Has(SectionPacfiles) {
		gs = append(gs, gauge{"pactidy_pacfiles", "Unmerged .pacnew, .pacsave and .pacorig files.", int64(len(rep.Pacfiles))})
	}
	if rep.Has(SectionUnowned) {
		var bytes int64
		for _, u := range rep.Unowned {
			if u.HiddenBy == "" {
				bytes += u.Size
			}
		}
		gs = append(gs,
			gauge{"pactidy_unowned", "Paths no package owns (a directory counts once).", int64(rep.UnownedShown())},
			gauge{"pactidy_unowned_bytes", "Size of the paths no package owns in bytes.", bytes})
	}
	if rep.Has(SectionCache) {
		var reclaim int64
		if rep.Cache != nil {
			reclaim = rep.Cache.ReclaimBytes
		}
		gs = append(gs, gauge{"pactidy_cache_reclaim_bytes", "Bytes a cache prune with the default policy would free.", reclaim})
	}
	gs = append(gs,
		gauge{"pactidy_errors", "Paths or database entries that could not be read.", int64(len(rep.Errors))},
		gauge{"pactidy_last_run_timestamp_seconds", "When the report was made, in seconds since the epoch.", rep.GeneratedAt.Unix()})

	b := bufio.NewWriter(w)
	for _, g := range gs {
		b.WriteString("# HELP " + g.name + " " + g.help + "\n")
		b.WriteString("# TYPE " + g.name + " gauge\n")
		b.WriteString(g.name + " " + strconv.FormatInt(g.value, 10) + "\n")
	}
	return b.Flush()
}
