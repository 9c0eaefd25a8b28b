package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/cache"
	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/settings"
)

// settingFlags are the flags that override a setting, with the commands
// that have them. `pactidy settings` accepts them all, to show what a
// command given them would use.
var settingFlags = []struct{ id, flag, commands string }{
	{"report.Sections", "only", "report"},
	{"report.Optional", "optional", "report"},
	{"report.NoRule", "no-rule", "report"},
	{"report.UnownedExclude", "unowned-exclude", "report"},
	{"cache.Keep", "keep", "cache"},
	{"cache.KeepUninstalled", "keep-uninstalled", "cache"},
	{"clean.Elevate", "elevate", "clean"},
	{"quarantine.Dir", "quarantine-dir", "clean, quarantine"},
	{"quarantine.Retention", "older-than", "quarantine purge"},
}

// settingsFile is the file --settings names, or the system's.
func (app *App) settingsFile() (path string, explicit bool) {
	if app.Global.Settings != "" {
		return app.Global.Settings, true
	}
	return filepath.Join(app.sysConfDir(), settings.Name), false
}

// settings reads the settings file once per run: --settings FILE (which
// must exist) or SYSCONFDIR/pactidy/pactidy.conf (defaults when absent).
// Like pacman.conf and the allowlist it is the running system's file, also
// with --root. A command fills each of its flags that was not given from
// it (cmd.Flags().Changed tells).
func (app *App) settings() (*settings.Settings, error) {
	if app.loaded != nil {
		return app.loaded, nil
	}
	path, explicit := app.settingsFile()
	s, err := settings.Load(path, !explicit)
	if err != nil {
		return nil, err
	}
	app.loaded = s
	return s, nil
}

// reportSettings fills the report flags that were not given.
func (app *App) reportSettings(cmd *cobra.Command, o *reportOptions) error {
	s, err := app.settings()
	if err != nil {
		return err
	}
	given := cmd.Flags().Changed
	if !given("only") {
		o.only = append([]string(nil), s.Sections...)
	}
	if !given("optional") {
		o.optional = s.Optional
	}
	if !given("no-rule") {
		o.unowned.NoRules = append([]string(nil), s.NoRules...)
	}
	if !given("unowned-exclude") {
		o.unowned.Excludes = append([]string(nil), s.UnownedExcludes...)
	}
	return nil
}

// cacheSettings fills the keep counts of `pactidy cache` that were not
// given.
func (app *App) cacheSettings(cmd *cobra.Command, o *cacheOptions) error {
	s, err := app.settings()
	if err != nil {
		return err
	}
	if !cmd.Flags().Changed("keep") {
		o.Keep = s.Keep
	}
	if !cmd.Flags().Changed("keep-uninstalled") {
		o.KeepUninstalled = s.KeepUninstalled
	}
	return nil
}

// cachePolicy is the policy of the report's cache section: the default
// with the settings' keep counts.
func (app *App) cachePolicy() (*cache.Options, error) {
	s, err := app.settings()
	if err != nil {
		return nil, err
	}
	o := cache.DefaultOptions()
	o.Keep, o.KeepUninstalled = s.Keep, s.KeepUninstalled
	return &o, nil
}

type settingsOptions struct {
	json      bool
	overrides map[string]*[]string
}

func newSettingsCmd(app *App) *cobra.Command {
	opts := &settingsOptions{overrides: map[string]*[]string{}}
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Print the settings in effect and where each comes from",
		Long: `Print pactidy's settings in effect: the built-in default, the line of the
settings file that set it (FILE:LINE), or the command-line flag.

The settings file is /etc/pactidy/pactidy.conf of the running system (also
with --root), or the file --settings names. It is written like pacman.conf:

  [report]
  Sections = orphans unneeded foreign missing pacfiles unowned cache
  Optional = keep                     (keep or ignore)
  NoRule = pycache                    (repeatable)
  UnownedExclude = /srv               (repeatable, one path or glob a line)
  [cache]
  Keep = 3
  KeepUninstalled = 3                 (default: same as Keep)
  [clean]
  Elevate = sudo                      (sudo, doas, run0 or a command line)
  [quarantine]
  Dir = /var/lib/pactidy/quarantine   (default: of the target root)
  Retention = 30d                     (or never)
  Include = /etc/pactidy/pactidy.conf.d/*.conf

Comments are lines starting with '#'. An unknown key or a bad value stops
every command that reads the file with FILE:LINE: what is wrong.

A flag of a command overrides the setting it names (a list flag replaces
the whole list). This command takes those flags too, to show what a command
given them would use:
` + settingFlagsHelp(),
		Example: `  pactidy settings
  pactidy settings --keep 1 --only orphans,cache
  pactidy --settings ./test.conf settings --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSettings(app, cmd, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.json, "json", false, `print JSON: {"file": ..., "settings": [{"section", "key", "value", "from"}]}`)
	for _, sf := range settingFlags {
		v := new([]string)
		opts.overrides[sf.flag] = v
		f.StringArrayVar(v, sf.flag, nil, "as with "+sf.commands+" (overrides "+sf.id+")")
	}
	return cmd
}

func settingFlagsHelp() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, sf := range settingFlags {
		section, key, _ := strings.Cut(sf.id, ".")
		fmt.Fprintf(w, "  --%s\t%s --%s\toverrides [%s] %s\n", sf.flag, sf.commands, sf.flag, section, key)
	}
	w.Flush()
	return b.String()
}

func runSettings(app *App, cmd *cobra.Command, opts *settingsOptions) error {
	s, err := app.settings()
	if err != nil {
		return err
	}
	for _, sf := range settingFlags {
		if !cmd.Flags().Changed(sf.flag) {
			continue
		}
		// Lists may be comma-separated, as --only takes them.
		if err := s.Override(sf.id, "--"+sf.flag, *opts.overrides[sf.flag]); err != nil {
			return usagef("%v", err)
		}
	}
	path, explicit := app.settingsFile()
	if opts.json {
		out := struct {
			File     string           `json:"file"`
			Read     bool             `json:"read"`
			Settings []settings.Entry `json:"settings"`
		}{File: path, Read: s.File != "", Settings: s.Entries()}
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(app.Stdout, 0, 0, 2, ' ', 0)
	switch {
	case s.File != "":
		fmt.Fprintf(w, "Settings file %s\n\n", quote.Quote(path))
	case explicit:
		// Load fails for an explicit file that cannot be read.
	default:
		fmt.Fprintf(w, "Settings file %s does not exist: built-in defaults\n\n", quote.Quote(path))
	}
	fmt.Fprintf(w, "SETTING\tVALUE\tFROM\n")
	for _, e := range s.Entries() {
		v := e.Value
		if v == "" {
			v = "(none)"
		}
		fmt.Fprintf(w, "[%s] %s\t%s\t%s\n", e.Section, e.Key, quote.Quote(v), quote.Quote(e.From))
	}
	return w.Flush()
}
