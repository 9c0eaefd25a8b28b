package main

import (
	"context"
	"fmt"
	"io"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/internal/clean"
	"github.com/pactidy/pactidy/internal/findings"
	"github.com/pactidy/pactidy/scan"
	"github.com/pactidy/pactidy/tui"
)

type tuiOptions struct {
	optional      string
	elevate       string
	quarantineDir string
	unowned       findings.UnownedOptions
	// userdata chooses the home the Userdata tab looks through.
	userdata userdataOptions
	// exitAfter runs without a terminal and quits by itself (the bench
	// harness times the first frame and the last section this way).
	exitAfter string
}

const tuiHelp = `Review the findings interactively: every section of the report as a tab,
filling in as the scans finish. Mark items with space, keep them forever
with K (written to the allowlist file 'pactidy allow' edits), and remove
what is marked with d after reading the summary. Press ? for the keys.

The Userdata tab (stale data of programs that are gone, in ~/.config,
~/.cache, ~/.local/share, ...) is never scanned at start: press r on it to
look through the invoking user's home (under sudo the one who called sudo;
--user NAME for another). Its entries go into the home's own quarantine,
moved by the home's owner, and K keeps them in the owner's own allowlist,
~/.config/pactidy/allowlist, written as the owner.

pactidy without a command opens this review on a terminal, and prints the
report otherwise.`

// interactive tells whether the review can run: keys come from a
// terminal and the screen is one.
func (app *App) interactive() bool {
	return app.IsTerminal() && app.StdinIsTerminal != nil && app.StdinIsTerminal()
}

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
			co := &cleanOptions{Elevate: opts.elevate, QuarantineDir: opts.quarantineDir}
			if err := app.cleanSettings(cmd, co); err != nil {
				return err
			}
			opts.elevate, opts.quarantineDir = co.Elevate, co.QuarantineDir
			return runTUI(cmd.Context(), app, opts)
		},
	}
	addTUIFlags(cmd, opts)
	return cmd
}

func addTUIFlags(cmd *cobra.Command, opts *tuiOptions) {
	f := cmd.Flags()
	f.StringVar(&opts.optional, "optional", "keep", "optional dependencies of kept packages: keep or ignore")
	f.StringVar(&opts.elevate, "elevate", "", "command that runs pacman as root when pactidy is not root: sudo, doas, run0 or `CMD` (default sudo)")
	f.StringVar(&opts.quarantineDir, "quarantine-dir", "", "quarantine `dir` (default: ROOT/var/lib/pactidy/quarantine)")
	addUnownedFlags(f, &opts.unowned)
	f.StringVar(&opts.userdata.User, "user", "", "Userdata tab: look through the home of `user` (default: the invoking user)")
	f.StringVar(&opts.exitAfter, "exit-after", "", "run without a terminal and quit after first-frame or last-section (for timing)")
	f.MarkHidden("exit-after")
}

func runTUI(ctx context.Context, app *App, opts *tuiOptions) error {
	switch opts.exitAfter {
	case "":
		if !app.interactive() {
			return usagef("pactidy tui needs a terminal; use pactidy report to print the findings")
		}
	case "first-frame", "last-section":
	default:
		return usagef("invalid --exit-after %q: want first-frame or last-section", opts.exitAfter)
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
	state := &scanState{}
	m := tui.New(tui.Options{
		Source: &tuiSource{app: app, mode: mode, unowned: opts.unowned, userdata: opts.userdata, state: state},
		Engine: &tuiEngine{app: app, state: state, opts: clean.Options{
			Elevate:       opts.elevate,
			QuarantineDir: opts.quarantineDir,
		}},
		AllowlistFile: app.defaultAllowlistFile(),
		UserAllowlist: &userAllowlist{app: app},
		Color:         app.useColor(),
		Context:       ctx,
		ExitAfter:     opts.exitAfter,
	})
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if !app.useColor() {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	if opts.exitAfter != "" {
		popts = append(popts, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(120, 40))
	}
	if _, err := tea.NewProgram(m, popts...).Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}
