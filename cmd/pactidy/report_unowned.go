package main

import (
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pactidy/pactidy/internal/findings"
	"github.com/pactidy/pactidy/scan"
)

func addUnownedFlags(f *pflag.FlagSet, o *findings.UnownedOptions) {
	f.StringArrayVar(&o.Excludes, "unowned-exclude", nil,
		"do not scan this system `path` or glob for unowned files (repeatable; added to the defaults)")
	f.BoolVar(&o.NoDefaultExcludes, "unowned-no-default-excludes", false,
		"also scan the default exclusions: "+strings.Join(scan.DefaultExcludes, " "))
	f.StringArrayVar(&o.NoRules, "no-rule", nil,
		"switch off the built-in rule `NAME` that hides generated files (repeatable; 'all' for every rule): "+strings.Join(scan.RuleNames(), ", "))
	f.BoolVar(&o.ShowHidden, "show-hidden", false,
		"also list the unowned paths the built-in rules hide, marked with the rule")
	f.IntVar(&o.Workers, "unowned-workers", 0, "directories read in parallel (0: one per CPU, at least 8)")
	f.MarkHidden("unowned-workers")
}

// skipQuarantine leaves the quarantine out of the unowned scan when the
// settings put it inside the root.
func (app *App) skipQuarantine(o *findings.UnownedOptions) error {
	s, err := app.settings()
	if err != nil {
		return err
	}
	if s.QuarantineDir != "" {
		o.SkipDirs = append(slices.Clip(o.SkipDirs), s.QuarantineDir)
	}
	return nil
}
