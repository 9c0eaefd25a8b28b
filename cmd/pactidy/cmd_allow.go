package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/quote"
)

const allowEntryHelp = `An entry is one of:
  path GLOB                    keep matching system paths and what is below them
  package NAME                 never propose NAME for removal
  path-if-installed PKG GLOB   keep matching paths while PKG is installed
A bare absolute path (/opt/foo) means "path /opt/foo". In GLOB, '*' and '?'
stay within one path component, '**' crosses components, a trailing '/'
matches directories only.`

type allowOptions struct {
	file string
}

func newAllowCmd(app *App) *cobra.Command {
	var opts allowOptions
	cmd := &cobra.Command{
		Use:   "allow",
		Short: "Edit the allowlist of packages and paths kept forever",
		Long: `Edit the allowlist: packages and paths pactidy never proposes for removal.

pactidy reads /etc/pactidy/allowlist, /etc/pactidy/allowlist.d/*.conf (in
lexical order), /etc/pacreport.conf (IgnoreUnowned, [PkgIgnoreUnowned]) and
/etc/lostfiles.conf (-/glob lines), then every --allowlist file. These are
files of the running system, also with --root; the paths in them are paths
as seen inside the root. add and remove edit one file (--file), atomically
and under a lock, keeping its comments and order.

` + allowEntryHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&opts.file, "file", "", "allowlist `file` to edit (default /etc/pactidy/allowlist)")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "add ENTRY...",
			Short: "Add an entry (refused if the file already has it)",
			Long:  "Add an entry to the allowlist file.\n\n" + allowEntryHelp,
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runAllowEdit(app, opts, args, allowlist.Add, "added")
			},
		},
		&cobra.Command{
			Use:   "remove ENTRY...",
			Short: "Remove an entry from the allowlist file",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runAllowEdit(app, opts, args, allowlist.Remove, "removed")
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List every entry that applies, with the file and line it comes from",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runAllowList(app)
			},
		},
	)
	return cmd
}

// parseAllowArgs turns "path /opt/foo" (as one or several arguments) into
// an entry.
func parseAllowArgs(args []string) (allowlist.Entry, error) {
	s := strings.Join(args, " ")
	if strings.HasPrefix(s, "/") {
		s = "path " + s
	}
	e, err := allowlist.ParseEntry(s)
	if err != nil {
		return allowlist.Entry{}, usagef("%v", err)
	}
	return e, nil
}

func runAllowEdit(app *App, opts allowOptions, args []string, op func(string, allowlist.Entry) error, done string) error {
	e, err := parseAllowArgs(args)
	if err != nil {
		return err
	}
	file := opts.file
	if file == "" {
		file = app.defaultAllowlistFile()
	}
	if err := op(file, e); err != nil {
		if errors.Is(err, allowlist.ErrDuplicate) || errors.Is(err, allowlist.ErrNotFound) {
			return fmt.Errorf("%w (nothing changed)", err)
		}
		return err
	}
	_, err = fmt.Fprintf(app.Stdout, "%s %q in %s\n", done, e.String(), quote.Quote(file))
	return err
}

func runAllowList(app *App) error {
	l, err := app.allowlist()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
	for _, e := range l.Entries() {
		fmt.Fprintf(tw, "%s\t%s\n", quote.Quote(e.String()), quote.Quote(e.Source()))
	}
	return tw.Flush()
}
