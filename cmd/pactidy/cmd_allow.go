package main

import "github.com/spf13/cobra"

func newAllowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "allow",
		Short: "Edit the allowlist of packages and paths kept forever",
	}
}
