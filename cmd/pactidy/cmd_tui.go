package main

import (
	"context"
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/scan"
	"github.com/pactidy/pactidy/tui"
)

type tuiOptions struct {
	optional string
	unowned  unownedOptions
}

const tuiHelp = `Review the findings interactively: every section of the report as a tab,
filling in as the scans finish. Mark items with space, keep them forever
with K (written to the allowlist file 'pactidy allow' edits), and remove
what is marked with d after reading the summary. Press ? for the keys.

pactidy without a command opens this review on a terminal, and prints the
report otherwise.`

// stdinIsTerminal tells whether keys can be read; tests replace it.
var stdinIsTerminal = func() bool { return isTerminal(os.Stdin) }

func newTUICmd(app *App) *cobra.Command {
	opts := &tuiOptions{}
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Review the findings interactively and remove what you mark",
		Long:  tuiHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The settings file applies as to pactidy report.
			ro := &reportOptions{optional: opts.optional, unowned: opts.unowned}
			if err := app.reportSettings(cmd, ro); err != nil {
				return err
			}
			opts.optional, opts.unowned = ro.optional, ro.unowned
			return runTUI(cmd.Context(), app, opts)
		},
	}
	addTUIFlags(cmd, opts)
	return cmd
}

func addTUIFlags(cmd *cobra.Command, opts *tuiOptions) {
	f := cmd.Flags()
	f.StringVar(&opts.optional, "optional", "keep", "optional dependencies of kept packages: keep or ignore")
	addUnownedFlags(f, &opts.unowned)
}

func runTUI(ctx context.Context, app *App, opts *tuiOptions) error {
	if !app.IsTerminal() || !stdinIsTerminal() {
		return usagef("pactidy tui needs a terminal; use pactidy report to print the findings")
	}
	var mode scan.OptionalMode
	switch opts.optional {
	case "keep":
		mode = scan.OptionalKeep
	case "ignore":
		mode = scan.OptionalIgnore
	default:
		return usagef("invalid --optional %q: want keep or ignore", opts.optional)
	}
	if err := scan.CheckRules(opts.unowned.NoRules); err != nil {
		return usagef("--no-rule: %v", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := tui.New(tui.Options{
		Source:        &tuiSource{app: app, mode: mode, unowned: opts.unowned},
		AllowlistFile: app.defaultAllowlistFile(),
		Color:         app.useColor(),
		Context:       ctx,
	})
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if !app.useColor() {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	if _, err := tea.NewProgram(m, popts...).Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}
