package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pactidy/pactidy/internal/testroot"
)

// Config is one harness run.
type Config struct {
	Sizes    []Size
	Reps     int
	RootsDir string // generated roots, cached between runs
	OutDir   string // latest.md, latest.json, <timestamp>-<rev>.json
	Pactidy  string // the binary under test
	Stdout   io.Writer
	Log      io.Writer // progress
}

// Results is everything a run measured; it is written as JSON.
type Results struct {
	Schema   int          `json:"schema"`
	Started  time.Time    `json:"started"`
	Seconds  float64      `json:"seconds"`
	GitRev   string       `json:"git_rev"`
	Machine  Machine      `json:"machine"`
	Reps     int          `json:"reps"`
	Sizes    []SizeResult `json:"sizes"`
	Rows     []Row        `json:"rows"`
	Targets  []Target     `json:"targets"`
	Markdown string       `json:"-"`
}

// SizeResult is one size: how its roots were made and the raw samples.
type SizeResult struct {
	Name     string           `json:"name"`
	Spec     testroot.GenSpec `json:"spec"`
	Facts    Facts            `json:"facts"`
	Roots    []RootInfo       `json:"roots"`
	Commands []*Measured      `json:"commands"`
	// LoadAvg is /proc/loadavg before and after the measurements: on a
	// shared machine it tells how busy it was.
	LoadAvg [2]string `json:"loadavg"`
}

// RootInfo tells how long a root took to generate (once; later runs reuse
// it).
type RootInfo struct {
	Dir        string  `json:"dir"`
	CacheFiles int     `json:"cache_files"`
	GenSeconds float64 `json:"gen_seconds"`
	Cached     bool    `json:"cached"`
}

// Facts are the generator's ground truth for a size.
type Facts struct {
	Packages, Explicit, OwnedFiles, OwnedDirs int
	UnownedEntries, CacheFiles, CacheSigs     int
	Unrequired, Unneeded, Foreign, Cycles     int
}

const schemaVersion = 1

// Run generates (or reuses) the roots, measures every size and writes the
// results.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Reps < 1 {
		return nil, fmt.Errorf("reps must be at least 1")
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	logf := func(format string, args ...any) { fmt.Fprintf(cfg.Log, "bench: "+format+"\n", args...) }
	tools, err := findTools(cfg.Pactidy)
	if err != nil {
		return nil, err
	}
	// Measure a private copy: a `make build` elsewhere during a run of
	// several minutes must not swap the binary between samples.
	tmp, err := os.MkdirTemp("", "pactidy-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if tools.Pactidy, err = copyExecutable(tools.Pactidy, filepath.Join(tmp, "pactidy")); err != nil {
		return nil, fmt.Errorf("pactidy binary: %w (run make build)", err)
	}
	res := &Results{Schema: schemaVersion, Started: time.Now().UTC(), GitRev: gitRev(), Reps: cfg.Reps}
	res.Machine = machineInfo(tools)

	for _, s := range cfg.Sizes {
		r, err := prepareRoot(cfg.RootsDir, s.Name, s.Spec, logf)
		if err != nil {
			return nil, fmt.Errorf("size %s: %w", s.Name, err)
		}
		sr := SizeResult{Name: s.Name, Spec: s.Spec, Facts: facts(r.Result)}
		sr.Roots = append(sr.Roots, rootInfo(r))
		var growth []*Root
		if s.Cache {
			for _, n := range s.CacheGrowth {
				g, err := prepareGrowth(cfg.RootsDir, s, r, n, logf)
				if err != nil {
					return nil, fmt.Errorf("size %s, %d cache files: %w", s.Name, n, err)
				}
				growth = append(growth, g)
				sr.Roots = append(sr.Roots, rootInfo(g))
			}
		}
		cmds, comps := commands(s, r, growth, tools)
		logf("%s: %d commands, %d rounds", s.Name, len(cmds), cfg.Reps)
		sr.LoadAvg[0] = loadAvg()
		sr.Commands, err = measure(ctx, cmds, cfg.Reps, logf)
		if err != nil {
			return nil, err
		}
		sr.LoadAvg[1] = loadAvg()
		res.Sizes = append(res.Sizes, sr)
		res.Rows = append(res.Rows, makeRows(s.Name, sr.Commands, comps)...)
	}
	res.Targets = targets(res)
	res.Seconds = time.Since(res.Started).Seconds()
	res.Markdown = markdown(res)
	if err := writeResults(cfg.OutDir, res); err != nil {
		return nil, err
	}
	if cfg.Stdout != nil {
		io.WriteString(cfg.Stdout, res.Markdown)
	}
	return res, nil
}

func rootInfo(r *Root) RootInfo {
	return RootInfo{Dir: r.Dir, CacheFiles: r.Result.CacheFiles, GenSeconds: r.GenSeconds, Cached: r.Cached}
}

func facts(g testroot.GenResult) Facts {
	return Facts{
		Packages: g.Packages, Explicit: g.Explicit, OwnedFiles: g.OwnedFiles, OwnedDirs: g.OwnedDirs,
		UnownedEntries: g.UnownedEntries, CacheFiles: g.CacheFiles, CacheSigs: g.CacheSigs,
		Unrequired: len(g.Unrequired), Unneeded: len(g.Unneeded), Foreign: len(g.Foreign), Cycles: len(g.Cycles),
	}
}

// writeResults writes latest.md, latest.json and a JSON file named after
// the time and commit, to compare between commits.
func writeResults(dir string, res *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	name := res.Started.Format("20060102T150405Z") + "-" + res.GitRev + ".json"
	for _, f := range []string{name, "latest.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "latest.md"), []byte(res.Markdown), 0o644)
}

func copyExecutable(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return dst, out.Close()
}

// loadAvg is the 1-, 5- and 15-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
