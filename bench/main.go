// Command bench measures pactidy against the tools users would otherwise
// run (pacman -Qdtq, fd, find, a lostfiles-style pipeline, ls) on
// generated roots of several sizes, and writes a markdown table and JSON.
//
//	go run ./bench -sizes small,large,db5k,xlarge -reps 5 -out .bench/results
//	go run ./bench -compare .bench/results/<earlier>.json
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	var names string
	cfg := Config{Stdout: os.Stdout, Log: os.Stderr}
	flag.StringVar(&names, "sizes", "small,large,db5k,xlarge", "comma-separated `sizes`: "+strings.Join(sizeNames(), ", "))
	flag.IntVar(&cfg.Reps, "reps", 5, "timed rounds per size (median, min, max)")
	flag.StringVar(&cfg.OutDir, "out", ".bench/results", "results `dir`")
	flag.StringVar(&cfg.RootsDir, "roots", ".bench/roots", "generated roots `dir`, reused between runs")
	flag.StringVar(&cfg.Pactidy, "pactidy", "bin/pactidy", "pactidy `binary` under test")
	compare := flag.String("compare", "", "measure nothing; compare the results `file` (JSON) with the out dir's latest.json")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *compare != "" {
		old, err := loadResults(*compare)
		if err == nil {
			var cur *Results
			if cur, err = loadResults(filepath.Join(cfg.OutDir, "latest.json")); err == nil {
				fmt.Print(compareMarkdown(old, cur))
				return
			}
		}
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	sizes, err := selectSizes(names)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	cfg.Sizes = sizes
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := Run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func sizeNames() []string {
	var out []string
	for _, s := range DefaultSizes() {
		out = append(out, s.Name)
	}
	return out
}

func selectSizes(names string) ([]Size, error) {
	var out []Size
	for _, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, s := range DefaultSizes() {
			if s.Name == n {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown size %q (known: %s)", n, strings.Join(sizeNames(), ", "))
		}
	}
	return out, nil
}
