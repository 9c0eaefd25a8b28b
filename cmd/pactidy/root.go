package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/settings"
)

// App is the world a command runs in; tests replace its parts.
type App struct {
	Stdout, Stderr io.Writer
	// IsTerminal tells whether stdout is a terminal.
	IsTerminal func() bool
	// Stdin is where answers come from; StdinIsTerminal tells whether
	// someone is there to give them (nil: nobody).
	Stdin           io.Reader
	StdinIsTerminal func() bool
	Now             func() time.Time
	Getenv          func(string) string

	Global GlobalOptions

	// loaded are the settings, once read.
	loaded *settings.Settings
}

// GlobalOptions have pacman's meaning.
type GlobalOptions struct {
	Config string
	Root   string
	DBPath string
	Color  string
	// Allowlist files given with --allowlist, read after the system ones.
	Allowlist []string
	// Settings is the settings file given with --settings.
	Settings string
}

func newApp() *App {
	return &App{
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		IsTerminal: func() bool { return isTerminal(os.Stdout) },
		Now:        time.Now,
		Getenv:     os.Getenv,

		Stdin:           os.Stdin,
		StdinIsTerminal: func() bool { return isTerminal(os.Stdin) },
	}
}

// isTerminal asks the tty driver: /dev/null is a character device too, but
// it has no terminal attributes.
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TCGETS), uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errFindings makes the exit status 3 for --exit-code.
var errFindings = errors.New("findings")

const exitStatusHelp = `Exit status:
  0  the command ran (with or without findings)
  1  failure (unreadable configuration or database, I/O error)
  2  usage error (unknown flag, bad value)
  3  findings were reported and --exit-code was given
`

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "pactidy",
		Short: "Keep an Arch Linux system clean",
		Long: `pactidy finds what an Arch Linux system accumulates: orphaned dependency
packages (including dependency cycles), explicit packages nothing needs,
foreign packages, missing files, .pacnew/.pacsave files, files no package
owns, and old package versions in the pacman cache.

` + exitStatusHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch app.Global.Color {
			case "auto", "always", "never":
			default:
				return usagef("invalid --color %q: want auto, always or never", app.Global.Color)
			}
			return nil
		},
	}
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	f := root.PersistentFlags()
	f.StringVar(&app.Global.Config, "config", conf.Default, "pacman configuration `file`")
	f.StringVarP(&app.Global.Root, "root", "r", "", "installation root `dir` (as pacman --root)")
	f.StringVarP(&app.Global.DBPath, "dbpath", "b", "", "database `dir` (as pacman --dbpath)")
	f.StringVar(&app.Global.Color, "color", "auto", "colour output: auto, always or never (NO_COLOR is honoured)")
	f.StringArrayVar(&app.Global.Allowlist, "allowlist", nil, "extra allowlist `file` (repeatable)")
	f.StringVar(&app.Global.Settings, "settings", "", "settings `file` to read instead of /etc/pactidy/pactidy.conf")
	root.AddCommand(newVersionCmd(app), newReportCmd(app), newCacheCmd(app), newAllowCmd(app), newManCmd(app))
	root.AddCommand(newSettingsCmd(app))
	root.AddCommand(newQuarantineCmd(app))
	root.AddCommand(newCleanCmd(app))
	root.AddCommand(newTUICmd(app))
	root.AddCommand(newHookCmd(app))
	root.SetHelpCommand(&cobra.Command{Hidden: true})
	// Unknown subcommands and stray arguments are usage errors.
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown command %q", strings.Join(args, " "))
		}
		return nil
	}
	// On a terminal pactidy opens the review; otherwise it prints the
	// report, so `pactidy | less` and cron jobs get text.
	root.RunE = func(cmd *cobra.Command, args []string) error {
		opts := &reportOptions{optional: "keep"}
		if err := app.reportSettings(cmd, opts); err != nil {
			return err
		}
		if app.interactive() {
			return runTUI(cmd.Context(), app, &tuiOptions{optional: opts.optional, unowned: opts.unowned})
		}
		return runReport(cmd.Context(), app, opts)
	}
	usageArgs(root)
	registerCompletions(root, app)
	return root
}

// usageArgs makes argument-count errors of every command usage errors.
func usageArgs(c *cobra.Command) {
	if orig := c.Args; orig != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				var uerr *usageError
				if errors.As(err, &uerr) {
					return err
				}
				return &usageError{msg: fmt.Sprintf("%s: %v", cmd.CommandPath(), err)}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// useColor decides colour from --color, NO_COLOR and the terminal.
func (app *App) useColor() bool {
	switch app.Global.Color {
	case "always":
		return true
	case "never":
		return false
	}
	if app.Getenv("NO_COLOR") != "" {
		return false
	}
	return app.IsTerminal()
}

// config reads pacman.conf with the global overrides and prints its
// warnings.
func (app *App) config() (*conf.Config, error) {
	cfg, err := app.configNoWarn()
	if err != nil {
		return nil, err
	}
	app.configWarnings(cfg)
	return cfg, nil
}

// configNoWarn reads pacman.conf and leaves printing cfg.Warnings to the
// caller (report --quiet prints nothing when nothing was found).
func (app *App) configNoWarn() (*conf.Config, error) {
	cfg, err := conf.Load(app.Global.Config, conf.Overrides{Root: app.Global.Root, DBPath: app.Global.DBPath})
	if err != nil {
		return nil, err
	}
	// Like libalpm (which resolves --root and --dbpath), work with absolute
	// paths: "--root ./mnt" must not end up as the report's "root", nor
	// keep pacman's own directories from being recognized inside it.
	for _, p := range append([]*string{&cfg.RootDir, &cfg.DBPath, &cfg.LogFile, &cfg.GPGDir}, ptrs(cfg.CacheDirs, cfg.HookDirs)...) {
		if *p != "" && !filepath.IsAbs(*p) {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return nil, fmt.Errorf("make %s absolute: %w", *p, err)
			}
			*p = abs
		}
	}
	return cfg, nil
}

func ptrs(lists ...[]string) []*string {
	var out []*string
	for _, l := range lists {
		for i := range l {
			out = append(out, &l[i])
		}
	}
	return out
}

func (app *App) configWarnings(cfg *conf.Config) {
	for _, w := range cfg.Warnings {
		fmt.Fprintf(app.Stderr, "pactidy: warning: %s\n", quote.Quote(w))
	}
}

// loadDB reads the local database of the configured root.
func (app *App) loadDB() (*conf.Config, *pkg.DB, error) {
	cfg, err := app.config()
	if err != nil {
		return nil, nil, err
	}
	h, err := alpm.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	defer h.Close()
	db, err := h.Load()
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}
