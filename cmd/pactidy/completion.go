package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/internal/findings"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// registerCompletions teaches the shell completions (pactidy completion
// bash|zsh|fish) the values of pactidy's flags: sections, rules, modes,
// and the installed packages of the configured root for --why and
// --ignore.
func registerCompletions(root *cobra.Command, app *App) {
	fixed := func(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = root.RegisterFlagCompletionFunc("color", fixed("auto", "always", "never"))
	for _, c := range root.Commands() {
		switch c.Name() {
		case "report":
			_ = c.RegisterFlagCompletionFunc("only", commaList(func() []string { return report.AllSections }))
			_ = c.RegisterFlagCompletionFunc("optional", fixed("keep", "ignore"))
			_ = c.RegisterFlagCompletionFunc("no-rule", fixed(append(scan.RuleNames(), "all")...))
			_ = c.RegisterFlagCompletionFunc("why", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return installedNames(app), cobra.ShellCompDirectiveNoFileComp
			})
		case "cache":
			_ = c.RegisterFlagCompletionFunc("ignore", commaList(func() []string { return installedNames(app) }))
			_ = c.RegisterFlagCompletionFunc("arch", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				archs := []string{"any"}
				if cfg, err := app.configNoWarn(); err == nil {
					archs = append(archs, cfg.Architectures...)
				}
				return archs, cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
}

// commaList completes the last element of a comma-separated list, keeping
// what was typed before it and leaving out values already given.
func commaList(values func() []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		prefix := ""
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			prefix = toComplete[:i+1]
		}
		given := map[string]bool{}
		for _, v := range strings.Split(prefix, ",") {
			given[v] = true
		}
		var out []string
		for _, v := range values() {
			if !given[v] {
				out = append(out, prefix+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// installedNames lists the installed packages of the configured root, or
// nothing when the database cannot be read (completion must stay quiet).
func installedNames(app *App) []string {
	cfg, err := app.configNoWarn()
	if err != nil {
		return nil
	}
	db, err := findings.LoadDB(cfg, alpm.LoadOptions{})
	if err != nil {
		return nil
	}
	out := make([]string, len(db.Packages))
	for i, p := range db.Packages {
		out[i] = p.Name
	}
	return out
}
