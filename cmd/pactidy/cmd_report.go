package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

type reportOptions struct{}

func newReportCmd(app *App) *cobra.Command {
	var opts reportOptions
	return &cobra.Command{
		Use:   "report",
		Short: "Report what can be cleaned (read-only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.Context(), app, opts)
		},
	}
}

func runReport(ctx context.Context, app *App, opts reportOptions) error {
	cfg, db, err := app.loadDB()
	if err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "root %s: %d installed packages\n", cfg.RootDir, len(db.Packages))
	tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
	for _, p := range db.Packages {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Version, p.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range db.Errors {
		fmt.Fprintf(app.Stderr, "pactidy: %s\n", e.Error())
	}
	return nil
}
