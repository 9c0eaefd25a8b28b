package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Row is one line of the table.
type Row struct {
	Size         string  `json:"size"`
	Kind         string  `json:"kind"`
	What         string  `json:"what"`
	Pactidy      string  `json:"pactidy"`
	Peer         string  `json:"peer,omitempty"`
	PactidyStats *Stats  `json:"pactidy_stats,omitempty"`
	PeerStats    *Stats  `json:"peer_stats,omitempty"`
	Ratio        float64 `json:"ratio,omitempty"` // pactidy median / peer median
	PactidyError string  `json:"pactidy_error,omitempty"`
	PeerError    string  `json:"peer_error,omitempty"`
	Files        int     `json:"files,omitempty"`
	FilesPerSec  float64 `json:"files_per_second,omitempty"`
	Notes        string  `json:"notes,omitempty"`
}

func makeRows(size string, ms []*Measured, comps []Comparison) []Row {
	byID := map[string]*Measured{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	var rows []Row
	// The first cache row is the base of the growth figures.
	var baseNS int64
	var baseFiles int
	for _, c := range comps {
		p := byID[c.Pactidy]
		row := Row{Size: size, Kind: c.Kind, What: c.What, Pactidy: p.Label, Files: c.Files, PactidyError: p.Error}
		if st, ok := p.Stats(); ok {
			row.PactidyStats = &st
		}
		notes := []string{}
		if p.Output != "" {
			notes = append(notes, "pactidy: "+p.Output)
		}
		if c.Peer != "" {
			q := byID[c.Peer]
			row.Peer, row.PeerError = q.Label, q.Error
			if st, ok := q.Stats(); ok {
				row.PeerStats = &st
			}
			if q.Output != "" {
				notes = append(notes, q.Tool+": "+q.Output)
			}
			if row.PactidyStats != nil && row.PeerStats != nil && row.PeerStats.MedianNS > 0 {
				row.Ratio = float64(row.PactidyStats.MedianNS) / float64(row.PeerStats.MedianNS)
			}
		}
		if c.Kind == "cache" && row.PactidyStats != nil {
			row.FilesPerSec = float64(c.Files) / seconds(row.PactidyStats.MedianNS)
			notes = append([]string{fmt.Sprintf("%s files/s", thousands(int64(row.FilesPerSec)))}, notes...)
			if baseFiles == 0 {
				baseNS, baseFiles = row.PactidyStats.MedianNS, c.Files
			} else {
				notes = append([]string{fmt.Sprintf("time ×%.2f for ×%.0f files",
					float64(row.PactidyStats.MedianNS)/float64(baseNS), float64(c.Files)/float64(baseFiles))}, notes...)
			}
		}
		row.Notes = strings.Join(notes, "; ")
		rows = append(rows, row)
	}
	return rows
}

// Target is one of the speed goals set in the issues, checked against
// this run.
type Target struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Met   *bool  `json:"met"` // nil: not measured in this run
}

// Linear growth means the time grows at most this much faster than the
// input: noise and cache effects allow some slack.
const linearSlack = 1.25

func targets(res *Results) []Target {
	find := func(size, kind, peer string) *Row {
		for i := range res.Rows {
			r := &res.Rows[i]
			if r.Size == size && r.Kind == kind && (peer == "" || r.Peer == peer) {
				return r
			}
		}
		return nil
	}
	facts := map[string]Facts{}
	for _, s := range res.Sizes {
		facts[s.Name] = s.Facts
	}
	var out []Target
	add := func(name string, value string, met *bool) {
		if value == "" {
			value = "not measured"
		}
		out = append(out, Target{Name: name, Value: value, Met: met})
	}
	for _, size := range []string{"large", "db5k", "xlarge"} {
		name := fmt.Sprintf("package analysis not slower than pacman -Qdtq (%s packages)", thousands(int64(facts[size].Packages)))
		if r := find(size, "packages", ""); r != nil && r.Ratio > 0 {
			add(name, fmt.Sprintf("ratio %.2f", r.Ratio), ptr(r.Ratio <= 1))
		} else if _, ok := facts[size]; ok {
			add(name, rowError(r), nil)
		}
	}
	// The goals of issue 13: the unowned scan as fast as the bare walk
	// (warm) and within 1.1× of it cold, the cache plan under a tenth of
	// paccache's 0.59 s (measured elsewhere), the full report within 1.2×
	// of the unowned scan alone.
	ratioTarget := func(name string, r *Row, limit float64, ok bool) {
		switch {
		case r != nil && r.Ratio > 0:
			add(name, fmt.Sprintf("ratio %.2f", r.Ratio), ptr(r.Ratio <= limit))
		case ok:
			add(name, rowError(r), nil)
		}
	}
	for _, size := range []string{"large", "xlarge"} {
		_, ok := facts[size]
		ratioTarget(fmt.Sprintf("unowned scan not slower than the fd walk (%s)", size), find(size, "unowned", "fdfind -HI"), 1.0, ok)
	}
	if r := find("large", "unowned-cold", ""); r != nil {
		ratioTarget("unowned scan within 1.1× of the fd walk, page cache dropped (large)", r, 1.1, true)
	}
	if r := find("large", "report", ""); r != nil {
		ratioTarget("full report within 1.2× of the unowned scan alone (large)", r, 1.2, true)
		name := "full report peak RSS under 132 MB (large)"
		if r.PactidyStats != nil {
			add(name, formatRSS(r.PactidyStats.PeakRSSKiB), ptr(r.PactidyStats.PeakRSSKiB*1024 < 132e6))
		} else {
			add(name, rowError(r), nil)
		}
	}
	if l, x := find("large", "unowned", "fdfind -HI"), find("xlarge", "unowned", "fdfind -HI"); l != nil && x != nil {
		name := "unowned scan grows linearly (large → xlarge)"
		if l.PactidyStats != nil && x.PactidyStats != nil {
			tf := float64(x.PactidyStats.MedianNS) / float64(l.PactidyStats.MedianNS)
			nf := float64(facts["xlarge"].OwnedFiles) / float64(facts["large"].OwnedFiles)
			add(name, fmt.Sprintf("time ×%.2f for ×%.2f owned files", tf, nf), ptr(tf <= nf*linearSlack))
		} else {
			add(name, "", nil)
		}
	}
	if r := find("large", "unowned", "fdfind -HI"); r != nil {
		name := fmt.Sprintf("unowned scan peak RSS under 250 MB (%s owned files)", thousands(int64(facts["large"].OwnedFiles)))
		if r.PactidyStats != nil {
			add(name, formatRSS(r.PactidyStats.PeakRSSKiB), ptr(r.PactidyStats.PeakRSSKiB*1024 < 250e6))
		} else {
			add(name, rowError(r), nil)
		}
	}
	if r := find("large", "tui", ""); r != nil {
		name := "TUI first frame under 100 ms (large root, process start included)"
		if r.PactidyStats != nil {
			add(name, formatDuration(r.PactidyStats.MedianNS), ptr(r.PactidyStats.MedianNS < 100e6))
		} else {
			add(name, rowError(r), nil)
		}
	}
	var cacheRows []*Row
	for i := range res.Rows {
		if r := &res.Rows[i]; r.Size == "large" && r.Kind == "cache" {
			cacheRows = append(cacheRows, r)
		}
	}
	if len(cacheRows) > 0 {
		base := cacheRows[0]
		name := fmt.Sprintf("cache plan of %s files under a tenth of paccache's 0.59 s (59 ms)", thousands(int64(base.Files)))
		if base.PactidyStats != nil {
			add(name, fmt.Sprintf("%s, %s files/s", formatDuration(base.PactidyStats.MedianNS), thousands(int64(base.FilesPerSec))),
				ptr(base.PactidyStats.MedianNS < 59e6))
		} else {
			add(name, rowError(base), nil)
		}
		if len(cacheRows) > 1 {
			var vals []string
			ok := base.PactidyStats != nil
			for _, r := range cacheRows[1:] {
				if r.PactidyStats == nil || base.PactidyStats == nil {
					ok = false
					continue
				}
				tf := float64(r.PactidyStats.MedianNS) / float64(base.PactidyStats.MedianNS)
				nf := float64(r.Files) / float64(base.Files)
				vals = append(vals, fmt.Sprintf("×%.2f at ×%.0f files", tf, nf))
				ok = ok && tf <= nf*linearSlack
			}
			var met *bool
			if len(vals) == len(cacheRows)-1 {
				met = ptr(ok)
			}
			add("cache plan grows linearly (×2, ×4 files)", strings.Join(vals, ", "), met)
		}
	}
	return out
}

func rowError(r *Row) string {
	switch {
	case r == nil:
		return ""
	case r.PactidyError != "":
		return "n/a (" + r.PactidyError + ")"
	case r.PeerError != "":
		return "n/a (peer: " + r.PeerError + ")"
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// formatDuration prints three significant digits.
func formatDuration(ns int64) string {
	switch ms := float64(ns) / 1e6; {
	case ms >= 1000:
		return fmt.Sprintf("%.2f s", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

func formatRSS(kib int64) string {
	return fmt.Sprintf("%.0f MB", float64(kib)*1024/1e6)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// markdown renders the results table, the generated roots and the targets.
func markdown(res *Results) string {
	var b strings.Builder
	m := res.Machine
	fmt.Fprintf(&b, "## Results %s (%s)\n\n", res.Started.Format("2006-01-02"), res.GitRev)
	fmt.Fprintf(&b, "Machine: %s, %d CPUs (%s), %s RAM, kernel %s; %s, %s, %s, %s.\n",
		m.OS, m.NProc, m.CPUModel, m.Memory, m.Kernel, m.GoVersion, m.Pacman, m.Fd, m.Pactidy)
	fmt.Fprintf(&b, "Median, min and max of %d timed runs of each command after one warm-up run; the commands of a size alternate (A B C A B C ...).", res.Reps)
	var loads []string
	for _, s := range res.Sizes {
		if s.LoadAvg[0] != "" {
			loads = append(loads, fmt.Sprintf("%s %s → %s", s.Name, s.LoadAvg[0], s.LoadAvg[1]))
		}
	}
	if len(loads) > 0 {
		fmt.Fprintf(&b, " Load average (1, 5, 15 min) before → after each size: %s.", strings.Join(loads, "; "))
	}
	b.WriteString("\n\n")
	b.WriteString("| size | what | pactidy median | peer median | ratio | min–max (pactidy; peer) | pactidy peak RSS | notes |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | --- | ---: | --- |\n")
	for _, r := range res.Rows {
		what := r.What
		if r.Peer != "" {
			what += " vs `" + r.Peer + "`"
		}
		pm, pr, pmm := "n/a", "", ""
		if r.PactidyStats != nil {
			pm = formatDuration(r.PactidyStats.MedianNS)
			pr = formatRSS(r.PactidyStats.PeakRSSKiB)
			if r.PactidyStats.AtFloor {
				pr = "≤ " + pr
			}
			pmm = formatDuration(r.PactidyStats.MinNS) + "–" + formatDuration(r.PactidyStats.MaxNS)
		} else if r.PactidyError != "" {
			pm = "n/a (" + mdEscape(r.PactidyError) + ")"
		}
		qm, ratio, qmm := "", "", ""
		if r.Peer != "" {
			qm = "n/a"
			if r.PeerStats != nil {
				qm = formatDuration(r.PeerStats.MedianNS)
				qmm = formatDuration(r.PeerStats.MinNS) + "–" + formatDuration(r.PeerStats.MaxNS)
			} else if r.PeerError != "" {
				qm = "n/a (" + mdEscape(r.PeerError) + ")"
			}
		}
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		mm := pmm
		if qmm != "" {
			mm += "; " + qmm
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Size, mdEscape(what), pm, qm, ratio, mm, pr, mdEscape(r.Notes))
	}
	b.WriteString("\nGenerated roots (generated once, then reused from .bench/roots; the time is that of the run that generated it):\n\n")
	b.WriteString("| size | packages | owned files | unowned entries | cache files | generation |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range res.Sizes {
		f := s.Facts
		for i, r := range s.Roots {
			name := s.Name
			owned, unowned := thousands(int64(f.OwnedFiles)), thousands(int64(f.UnownedEntries))
			if i > 0 {
				name += fmt.Sprintf(" (cache ×%d)", r.CacheFiles/max(1, f.CacheFiles))
				owned, unowned = "(same database)", "–"
			}
			if !s.Spec.WriteFiles && i == 0 {
				owned = "(db only)"
			}
			gen := fmt.Sprintf("%.1f s", r.GenSeconds)
			if r.Cached {
				gen += " (cached)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, thousands(int64(f.Packages)), owned, unowned, thousands(int64(r.CacheFiles)), gen)
		}
	}
	if len(res.Targets) > 0 {
		b.WriteString("\nTargets:\n\n| target | this run | met |\n| --- | --- | --- |\n")
		for _, t := range res.Targets {
			met := "not measured"
			if t.Met != nil {
				met = map[bool]string{true: "yes", false: "**no**"}[*t.Met]
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Name, mdEscape(t.Value), met)
		}
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Machine describes where the figures come from.
type Machine struct {
	NProc     int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	Memory    string `json:"memory"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"`
	GoVersion string `json:"go_version"`
	Pacman    string `json:"pacman_version"`
	Fd        string `json:"fd_version"`
	Pactidy   string `json:"pactidy_version"`
}

func machineInfo(t Tools) Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n float64
		fmt.Sscanf(kb, "%f", &n)
		m.Memory = fmt.Sprintf("%.0f GiB", math.Round(n/1024/1024))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/etc/os-release"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
		f.Close()
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.GoVersion = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	}
	if out, err := exec.Command(t.Pacman, "--version").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if i := strings.Index(l, "Pacman v"); i >= 0 {
				m.Pacman = "pacman " + strings.Fields(l[i+len("Pacman "):])[0]
			}
		}
	}
	if out, err := exec.Command(t.Fd, "--version").Output(); err == nil {
		m.Fd = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(t.Pactidy, "version").Output(); err == nil {
		m.Pactidy = strings.Join(strings.Fields(string(out)), " ")
	}
	return m
}

// procField is the first "key : value" of a /proc file.
func procField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// gitRev is the short commit, with "-dirty" when the tree has changes.
func gitRev() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "norev"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += "-dirty"
	}
	return rev
}
