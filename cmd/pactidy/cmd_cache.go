package main

import "github.com/spf13/cobra"

func newCacheCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "cache",
		Short: "Plan or prune old package files in the pacman cache",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return usagef("cache: not implemented yet") },
	}
}
