package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pactidy/pactidy/scan"
)

// Command is one program run the harness times.
type Command struct {
	ID    string   `json:"id"`    // unique within a size
	Label string   `json:"label"` // what the table calls it
	Tool  string   `json:"tool"`  // "pactidy" or the peer's program
	Argv  []string `json:"argv"`
	// OK are exit statuses besides 0 that mean success (pacman -Qdtq
	// exits 1 when it finds nothing).
	OK []int `json:"-"`
	// Cold runs start with the page cache dropped (root only).
	Cold bool `json:"cold,omitempty"`
	// Summarize describes the output of the warm-up run, so the JSON shows
	// that the commands found comparable things.
	Summarize func(stdout []byte) string `json:"-"`
}

// Comparison is one row of the table: a pactidy command against a peer
// (or alone when Peer is empty).
type Comparison struct {
	Kind    string // packages, unowned, cache, report
	What    string
	Pactidy string // command IDs
	Peer    string
	Files   int // cache files planned, for files/second
}

// Tools are the programs the harness runs.
type Tools struct {
	Pactidy, Pacman, Fd, Find, Bash string
}

// findTools locates the peers on PATH; fd is fdfind on Debian.
func findTools(pactidy string) (Tools, error) {
	t := Tools{Pactidy: pactidy}
	var err error
	look := func(names ...string) string {
		for _, n := range names {
			if p, e := exec.LookPath(n); e == nil {
				return p
			}
		}
		if err == nil {
			err = fmt.Errorf("%s not found on PATH (scripts/install-deps.sh installs it)", names[0])
		}
		return ""
	}
	t.Pacman = look("pacman")
	t.Fd = look("fdfind", "fd")
	t.Find = look("find")
	t.Bash = look("bash")
	if abs, e := filepath.Abs(pactidy); e == nil {
		t.Pactidy = abs
	}
	return t, err
}

// rootArgs point a pacman-style tool at the generated root.
func rootArgs(r *Root) []string {
	res := r.Result
	return []string{"--config", res.Config, "--root", res.Root, "--dbpath", res.DBPath}
}

// excludes are pactidy's default exclusions as paths under root; the walk
// peers get the same ones so that every tool walks the same tree.
func excludes(root string) []string {
	var out []string
	for _, e := range scan.DefaultExcludes {
		out = append(out, filepath.Join(root, e))
	}
	return out
}

func fdArgs(t Tools, root string) []string {
	args := []string{t.Fd, "-HI", "--no-ignore"}
	for _, e := range scan.DefaultExcludes {
		args = append(args, "--exclude", e) // anchored at the search root
	}
	return append(args, ".", root)
}

// findExpr is find's walk of root without the excluded subtrees.
func findExpr(root string) []string {
	args := []string{root, "("}
	for i, e := range excludes(root) {
		if i > 0 {
			args = append(args, "-o")
		}
		args = append(args, "-path", e)
	}
	return append(args, ")", "-prune", "-o", "-print")
}

// lostfilesScript is the lostfiles-style pipeline: every path pacman
// lists, sorted, against every path on disk, sorted; comm prints what is
// only on disk.
func lostfilesScript(t Tools, r *Root) string {
	pacman := append([]string{t.Pacman}, rootArgs(r)...)
	pacman = append(pacman, "-Qlq")
	find := append([]string{t.Find}, findExpr(r.Result.Root)...)
	return fmt.Sprintf("comm -13 <(%s | sed 's,/$,,' | sort -u) <(%s | sort)", shellJoin(pacman), shellJoin(find))
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:+") == "" {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// commands returns what to run on one size and the rows they make.
func commands(s Size, r *Root, growth []*Root, t Tools) ([]*Command, []Comparison) {
	var cmds []*Command
	var rows []Comparison
	pactidy := func(r *Root, args ...string) []string {
		argv := append([]string{t.Pactidy}, rootArgs(r)...)
		argv = append(argv, "--color", "never")
		return append(argv, args...)
	}
	add := func(c *Command) string {
		cmds = append(cmds, c)
		return c.ID
	}
	res := r.Result
	unowned := "" // the unowned scan's command, the full report's peer
	if s.Packages {
		p := add(&Command{ID: "pactidy-packages", Label: "pactidy report --only orphans,unneeded,foreign", Tool: "pactidy",
			Argv:      pactidy(r, "report", "--only", "orphans,unneeded,foreign", "--json"),
			Summarize: summarizeReport})
		q := add(&Command{ID: "pacman-qdtq", Label: "pacman -Qdtq", Tool: "pacman",
			Argv: append(append([]string{t.Pacman}, rootArgs(r)...), "-Qdtq"), OK: []int{1}, Summarize: summarizeLines})
		rows = append(rows, Comparison{Kind: "packages", What: fmt.Sprintf("package analysis, %s packages", thousands(int64(res.Packages))), Pactidy: p, Peer: q})
	}
	if s.Unowned {
		p := add(&Command{ID: "pactidy-unowned", Label: "pactidy report --only unowned", Tool: "pactidy",
			Argv: pactidy(r, "report", "--only", "unowned", "--json"), Summarize: summarizeReport})
		fd := add(&Command{ID: "fd", Label: "fdfind -HI", Tool: "fd", Argv: fdArgs(t, res.Root), Summarize: summarizeLines})
		find := add(&Command{ID: "find", Label: "find", Tool: "find", Argv: append([]string{t.Find}, findExpr(res.Root)...), Summarize: summarizeLines})
		lf := add(&Command{ID: "lostfiles", Label: "lostfiles-style: pacman -Qlq, find, sort, comm", Tool: "bash",
			Argv: []string{t.Bash, "-c", lostfilesScript(t, r)}, Summarize: summarizeLines})
		what := fmt.Sprintf("unowned scan, %s owned files", thousands(int64(res.OwnedFiles)))
		rows = append(rows,
			Comparison{Kind: "unowned", What: what, Pactidy: p, Peer: fd},
			Comparison{Kind: "unowned", What: what, Pactidy: p, Peer: find},
			Comparison{Kind: "unowned", What: what, Pactidy: p, Peer: lf})
		unowned = p
		if s.Cold {
			pc := add(&Command{ID: "pactidy-unowned-cold", Label: "pactidy report --only unowned, cold", Tool: "pactidy", Cold: true,
				Argv: pactidy(r, "report", "--only", "unowned", "--json"), Summarize: summarizeReport})
			fc := add(&Command{ID: "fd-cold", Label: "fdfind -HI, cold", Tool: "fd", Cold: true, Argv: fdArgs(t, res.Root), Summarize: summarizeLines})
			rows = append(rows, Comparison{Kind: "unowned-cold", What: what + ", page cache dropped before each run", Pactidy: pc, Peer: fc})
		}
	}
	if s.Cache {
		for _, cr := range append([]*Root{r}, growth...) {
			n := cr.Result.CacheFiles
			dir := cr.Result.CacheDir
			p := add(&Command{ID: fmt.Sprintf("pactidy-cache-%d", n), Label: "pactidy cache --json", Tool: "pactidy",
				Argv: pactidy(cr, "cache", "--json", "--cachedir", dir), Summarize: summarizeCache})
			// The listing floor: every entry listed and stat'ed, nothing
			// else (paccache is not in Debian; the README gives its figure).
			ls := add(&Command{ID: fmt.Sprintf("find-cache-%d", n), Label: listingFloor, Tool: "find",
				Argv: []string{t.Find, dir, "-maxdepth", "1", "-printf", `%s %T@\n`}, Summarize: summarizeLines})
			rows = append(rows, Comparison{Kind: "cache", What: fmt.Sprintf("cache plan, %s files", thousands(int64(n))), Pactidy: p, Peer: ls, Files: n})
			if cr == r {
				q := add(&Command{ID: "pactidy-report-cache", Label: "pactidy report --only cache", Tool: "pactidy",
					Argv: pactidy(r, "report", "--only", "cache", "--json"), Summarize: summarizeReport})
				rows = append(rows, Comparison{Kind: "cache-report", What: fmt.Sprintf("report's cache section alone, %s files", thousands(int64(n))), Pactidy: q, Peer: ls, Files: n})
			}
		}
	}
	if s.Report {
		p := add(&Command{ID: "pactidy-report", Label: "pactidy report --json", Tool: "pactidy",
			Argv: pactidy(r, "report", "--json"), Summarize: summarizeReport})
		// Against the unowned scan alone: the sections run beside the walk.
		rows = append(rows, Comparison{Kind: "report", What: "report, all sections", Pactidy: p, Peer: unowned})
		// The terminal UI without a terminal, quitting by itself once the
		// first frame is drawn, or once every section is shown (compare
		// with the report row above).
		ff := add(&Command{ID: "pactidy-tui-first-frame", Label: "pactidy tui, first frame", Tool: "pactidy",
			Argv: pactidy(r, "tui", "--exit-after", "first-frame")})
		ls := add(&Command{ID: "pactidy-tui-last-section", Label: "pactidy tui, last section shown", Tool: "pactidy",
			Argv: pactidy(r, "tui", "--exit-after", "last-section")})
		rows = append(rows,
			Comparison{Kind: "tui", What: "TUI: time to the first frame", Pactidy: ff},
			Comparison{Kind: "tui", What: "TUI: time to the last section", Pactidy: ls})
	}
	return cmds, rows
}

// listingFloor is the cache rows' peer.
const listingFloor = "find -maxdepth 1 -printf '%s %T@\\n'"

func summarizeLines(out []byte) string {
	return fmt.Sprintf("%d lines", bytes.Count(out, []byte{'\n'}))
}

// summarizeReport counts the findings in pactidy's JSON report.
func summarizeReport(out []byte) string {
	var rep map[string]json.RawMessage
	if err := json.Unmarshal(out, &rep); err != nil {
		return "output is not JSON: " + err.Error()
	}
	var parts []string
	for _, k := range []string{"orphans", "unneeded", "foreign", "missing_files", "pacfiles", "unowned", "errors"} {
		var list []json.RawMessage
		if raw, ok := rep[k]; ok && json.Unmarshal(raw, &list) == nil && list != nil {
			parts = append(parts, fmt.Sprintf("%s %d", k, len(list)))
		}
	}
	if raw, ok := rep["cache"]; ok {
		parts = append(parts, "cache "+summarizeCache(raw))
	}
	return strings.Join(parts, ", ")
}

// summarizeCache counts the candidates of a cache plan (the report's
// "cache" object, or `pactidy cache --json`, which may wrap it).
func summarizeCache(out []byte) string {
	var c map[string]json.RawMessage
	if err := json.Unmarshal(out, &c); err != nil || c == nil {
		return "no plan"
	}
	if inner, ok := c["cache"]; ok {
		return summarizeCache(inner)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(c["candidates"], &list); err != nil {
		return "no candidates list"
	}
	return fmt.Sprintf("%d candidates", len(list))
}
