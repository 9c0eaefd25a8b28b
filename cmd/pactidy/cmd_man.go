package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCmd writes the man pages (pactidy.1, pactidy-report.1, ...) from
// the commands' own help, so they never drift from --help. The package
// build installs them; users read them with man pactidy.
func newManCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write the man pages into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			markdownLong(root)
			header := &doc.GenManHeader{Title: "PACTIDY", Section: "1", Source: "pactidy " + pactidyVersion(), Manual: "pactidy manual"}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("man pages in %s: %w", dir, err)
			}
			fmt.Fprintf(app.Stderr, "man pages written to %s\n", dir)
			return nil
		},
	}
}

// markdownLong turns the indented tables of the help texts (sections,
// exit statuses) into Markdown code blocks, which the man page keeps as
// they are instead of reflowing them.
func markdownLong(c *cobra.Command) {
	lines := strings.Split(c.Long, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  ") {
			lines[i] = "  " + l
		}
	}
	c.Long = strings.Join(lines, "\n")
	for _, sub := range c.Commands() {
		markdownLong(sub)
	}
}
