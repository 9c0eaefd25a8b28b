package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// loadResults reads a results JSON file.
func loadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// compareMarkdown puts the pactidy medians of two runs side by side, row
// by row (a row is its size, what and peer).
func compareMarkdown(old, cur *Results) string {
	key := func(r Row) string { return r.Size + "\x00" + r.What + "\x00" + r.Peer }
	before := map[string]Row{}
	for _, r := range old.Rows {
		before[key(r)] = r
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## %s (%s) → %s (%s)\n\n", old.GitRev, old.Started.Format("2006-01-02 15:04"), cur.GitRev, cur.Started.Format("2006-01-02 15:04"))
	b.WriteString("| size | what | pactidy before | pactidy after | change | ratio before | ratio after |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n")
	seen := map[string]bool{}
	for _, r := range cur.Rows {
		k := key(r)
		if seen[k] {
			continue
		}
		seen[k] = true
		o, ok := before[k]
		what := r.What
		if r.Peer != "" {
			what += " vs `" + r.Peer + "`"
		}
		cell := func(s *Stats) string {
			if s == nil {
				return "n/a"
			}
			return formatDuration(s.MedianNS)
		}
		ratio := func(x float64) string {
			if x <= 0 {
				return ""
			}
			return fmt.Sprintf("%.2f", x)
		}
		change := ""
		if ok && o.PactidyStats != nil && r.PactidyStats != nil && o.PactidyStats.MedianNS > 0 {
			change = fmt.Sprintf("%+.0f %%", 100*(float64(r.PactidyStats.MedianNS)/float64(o.PactidyStats.MedianNS)-1))
		}
		oldCell, oldRatio := "–", ""
		if ok {
			oldCell, oldRatio = cell(o.PactidyStats), ratio(o.Ratio)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Size, mdEscape(what), oldCell, cell(r.PactidyStats), change, oldRatio, ratio(r.Ratio))
	}
	return b.String()
}
