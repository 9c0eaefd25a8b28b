package main

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pactidy/pactidy/internal/hook"
	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/state"
	"github.com/pactidy/pactidy/scan"
)

// stateOptions are the --state and --no-state flags.
type stateOptions struct {
	file string
	none bool
}

func addStateFlags(f *pflag.FlagSet, o *stateOptions) {
	f.StringVar(&o.file, "state", "", "state `file` (default /var/lib/pactidy/state.json of the target root)")
	f.BoolVar(&o.none, "no-state", false, "neither read nor write the state file")
}

// store is the state file: --state, or the default inside the root.
func (o *stateOptions) store(root string) state.Store {
	if o.file != "" {
		return state.Store{Path: o.file}
	}
	return state.Store{Path: filepath.Join(root, state.DefaultPath)}
}

const hookHelp = `Print what the pacman transaction that just ran left behind: the packages
it orphaned and the .pacnew/.pacsave files it created, with the command that
handles them. Prints nothing when there is nothing. pacman runs it from
/usr/share/libalpm/hooks/pactidy.hook after every install, upgrade and
removal.

The orphans after each transaction are recorded in the state file; an
orphan the record lacks is new. Before the first record there is nothing to
compare with, and no orphan is reported. A pacfile is new when it changed
after pacman took its lock (the transaction's start).

It never fails: any problem is one warning line, and the exit status is 0.
The package names of the transaction are read from standard input when it
is not a terminal (pacman's NeedsTargets).`

func newHookCmd(app *App) *cobra.Command {
	opts := &stateOptions{}
	cmd := &cobra.Command{
		Use:   "hook",
		Short: "Print the orphans and pacfiles a pacman transaction left (pacman hook)",
		Long:  hookHelp,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runHook(cmd, app, opts)
			if err == nil && len(args) > 0 {
				err = fmt.Errorf("hook takes no arguments, ignored %q", args)
			}
			if err != nil {
				// One line, and pacman goes on.
				fmt.Fprintf(app.Stdout, "warning: pactidy: %s\n", oneLine(err.Error()))
			}
			return nil
		},
	}
	addStateFlags(cmd.Flags(), opts)
	// Even a bad flag must not make the hook fail.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		fmt.Fprintf(app.Stdout, "warning: pactidy: hook: %s\n", oneLine(err.Error()))
		return errHookFlag
	})
	return cmd
}

// errHookFlag is a flag error of the hook, already printed: exit 0.
var errHookFlag = fmt.Errorf("hook flag error")

func oneLine(s string) string {
	return quote.Quote(strings.Join(strings.Fields(s), " "))
}

func runHook(cmd *cobra.Command, app *App, opts *stateOptions) error {
	s, err := app.settings()
	if err != nil {
		return err
	}
	mode := scan.OptionalKeep
	if s.Optional == "ignore" {
		mode = scan.OptionalIgnore
	}
	cfg, err := app.configNoWarn()
	if err != nil {
		return err
	}
	allow, err := app.allowlist()
	if err != nil {
		return err
	}
	var targets []string
	if app.StdinIsTerminal == nil || !app.StdinIsTerminal() {
		targets, err = readTargets(app.Stdin)
	}
	if err != nil {
		return err
	}
	res, err := hook.Run(cmd.Context(), hook.Options{
		Config: cfg, Allow: allow, Optional: mode, Targets: targets,
		State: opts.store(cfg.RootDir), NoState: opts.none, Now: app.Now(),
	})
	if err != nil {
		return err
	}
	printHook(app.Stdout, res)
	if len(res.Warnings) > 0 {
		w := res.Warnings[0]
		if n := len(res.Warnings) - 1; n > 0 {
			w += fmt.Sprintf(" (and %d more)", n)
		}
		return fmt.Errorf("%s", w)
	}
	return nil
}

// readTargets reads pacman's NeedsTargets list, one name a line. It is
// not called when standard input is a terminal (the hook run by hand).
func readTargets(in io.Reader) ([]string, error) {
	if in == nil {
		return nil, nil
	}
	var out []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out = append(out, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the transaction's targets: %w", err)
	}
	return out, nil
}

// printHook writes pacman-style lines (":: " headings, indented items).
func printHook(w io.Writer, res *hook.Result) {
	if n := len(res.Orphans); n > 0 {
		fmt.Fprintf(w, ":: pactidy: %d %s orphaned by this transaction:\n", n, plural(n, "package is", "packages are"))
		var items []string
		for _, o := range res.Orphans {
			items = append(items, o.Name+" "+o.Version)
		}
		fmt.Fprintf(w, "   %s\n", strings.Join(items, ", "))
		fmt.Fprintf(w, "   remove with: pacman -Rns %s\n", strings.Join(res.Remove, " "))
	}
	if n := len(res.Pacfiles); n > 0 {
		kinds := map[string]bool{}
		for _, f := range res.Pacfiles {
			kinds[f.Kind] = true
		}
		var ks []string
		for _, k := range []string{scan.KindPacnew, scan.KindPacsave, scan.KindPacorig} {
			if kinds[k] {
				ks = append(ks, "."+k)
			}
		}
		fmt.Fprintf(w, ":: pactidy: %d %s %s created by this transaction:\n", n, plural(n, "file", "files"), strings.Join(ks, "/"))
		for _, f := range res.Pacfiles {
			if f.Package != "" {
				fmt.Fprintf(w, "   %s (%s)\n", quote.Quote(f.Path), f.Package)
			} else {
				fmt.Fprintf(w, "   %s\n", quote.Quote(f.Path))
			}
		}
		fmt.Fprintf(w, "   merge with: pacdiff\n")
	}
}
