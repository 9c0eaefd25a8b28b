package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/clean"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/scan"
)

// userdataOptions choose whose homes the userdata section looks through.
type userdataOptions struct {
	User     string
	AllUsers bool
}

func addUserdataFlags(f *pflag.FlagSet, o *userdataOptions) {
	f.StringVar(&o.User, "user", "", "userdata: look through the home of `user` (default: the invoking user)")
	f.BoolVar(&o.AllUsers, "all-users", false, "userdata: every user with a login shell and a home under /home (as root)")
}

// homes picks the homes the userdata section looks through, from the
// target root's /etc/passwd: --all-users (root only), --user NAME, or the
// invoking user (under sudo the one who called sudo).
func (app *App) homes(cfg *conf.Config, o userdataOptions) ([]scan.Home, error) {
	if o.AllUsers && o.User != "" {
		return nil, usagef("--user and --all-users cannot be combined")
	}
	users, err := scan.Users(cfg.RootDir)
	if err != nil {
		return nil, err
	}
	euid := os.Geteuid()
	switch {
	case o.AllUsers:
		if euid != 0 {
			return nil, usagef("--all-users looks into other users' homes: run it as root")
		}
		return scan.LoginUsers(users), nil
	case o.User != "":
		h, ok := scan.UserByName(users, o.User)
		if !ok {
			return nil, usagef("--user %s: no such user in %s/etc/passwd", quote.Quote(o.User), strings.TrimSuffix(cfg.RootDir, "/"))
		}
		if euid != 0 && h.UID != euid {
			return nil, usagef("--user %s: only root looks into another user's home", quote.Quote(o.User))
		}
		return []scan.Home{h}, nil
	}
	uid := euid
	if s := app.Getenv("SUDO_UID"); euid == 0 && s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			uid = n
		}
	}
	h, ok := scan.UserByID(users, uid)
	if !ok {
		return nil, usagef("uid %d is not in %s/etc/passwd: name the user with --user", uid, strings.TrimSuffix(cfg.RootDir, "/"))
	}
	return []scan.Home{h}, nil
}

// userKeep is the allowlist check of the userdata section: the system's
// allowlist and each user's own (~/.config/pactidy/allowlist).
func userKeep(root string, sys *allowlist.List, homes []scan.Home) (func(user, path string) bool, error) {
	own := map[string]*allowlist.List{}
	for _, h := range homes {
		l, err := allowlist.LoadUser(root, h.Dir)
		if err != nil {
			return nil, err
		}
		own[h.User] = l
	}
	return func(user, p string) bool {
		return sys.KeepsPath(p, nil) || own[user].KeepsPath(p, nil)
	}, nil
}

// userData runs the userdata section on its own (clean userdata).
func (app *App) userData(ctx context.Context, o userdataOptions) (*conf.Config, []scan.Home, []scan.UserEntry, error) {
	cfg, db, err := app.loadDB()
	if err != nil {
		return nil, nil, nil, err
	}
	homes, err := app.homes(cfg, o)
	if err != nil {
		return nil, nil, nil, err
	}
	allow, err := app.allowlist()
	if err != nil {
		return nil, nil, nil, err
	}
	keep, err := userKeep(cfg.RootDir, allow, homes)
	if err != nil {
		return nil, nil, nil, err
	}
	found, _, errs := scan.UserData(ctx, scan.UserDataOptions{Root: cfg.RootDir, Homes: homes, DB: db, Keep: keep})
	for _, e := range errs {
		fmt.Fprintf(app.Stderr, "pactidy: warning: %s: %s\n", quote.Quote(e.Path), quote.Quote(e.Err.Error()))
	}
	return cfg, homes, found, nil
}

const cleanUserdataHelp = `Move stale user data (what 'pactidy report --only userdata' lists: entries
of ~/.config, ~/.cache, ~/.local/share, ~/.local/state and dot-directories
of the home for which no installed program was found) into the quarantine
of that home, ~/.local/share/pactidy/quarantine, from where
'pactidy quarantine restore --quarantine-dir ~/.local/share/pactidy/quarantine ID'
puts them back. It is a guess from names: look at the plan before you say yes.

The data is always moved by the home's owner: run as root, pactidy runs
itself as that user for the move. Without PATHs, every finding of the home.
`

func newCleanUserdataCmd(app *App, opts *cleanOptions) *cobra.Command {
	var uo userdataOptions
	cmd := &cobra.Command{
		Use:   "userdata [PATH...]",
		Short: "Move stale data of uninstalled programs out of a home (restorable)",
		Long:  cleanUserdataHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCleanUserdata(cmd.Context(), app, opts, uo, args)
		},
	}
	addUserdataFlags(cmd.Flags(), &uo)
	return cmd
}

func runCleanUserdata(ctx context.Context, app *App, opts *cleanOptions, uo userdataOptions, paths []string) error {
	if opts.JSON {
		return usagef("clean userdata: --json is not supported; use report --only userdata --json for the plan")
	}
	cfg, homes, found, err := app.userData(ctx, uo)
	if err != nil {
		return err
	}
	var plans []*clean.UserData
	var items int
	var bytes int64
	for _, h := range homes {
		var names []string
		for _, p := range paths {
			if strings.HasPrefix(p, strings.TrimSuffix(h.Dir, "/")+"/") {
				names = append(names, p)
			}
		}
		if len(paths) > 0 && len(names) == 0 {
			continue
		}
		p, dropped := clean.PlanUserData(cfg.RootDir, h, found, names)
		for _, d := range dropped {
			fmt.Fprintf(app.Stderr, "pactidy: %s: %s\n", quote.Quote(d.Name), quote.Quote(d.Err.Error()))
		}
		if len(dropped) > 0 && len(paths) > 0 {
			return fmt.Errorf("clean userdata: %d of the named paths cannot be moved; nothing was changed", len(dropped))
		}
		if p.Items() > 0 {
			plans = append(plans, p)
			items += p.Items()
			bytes += p.Bytes()
		}
	}
	for _, p := range paths {
		covered := false
		for _, h := range homes {
			covered = covered || strings.HasPrefix(p, strings.TrimSuffix(h.Dir, "/")+"/")
		}
		if !covered {
			return usagef("clean userdata: %s is not in a home looked through (see --user, --all-users)", quote.Quote(p))
		}
	}
	if items == 0 {
		fmt.Fprintln(app.Stdout, "Nothing to move.")
		return nil
	}
	fmt.Fprintf(app.Stdout, "Move %d %s (%s) into the home's quarantine:\n", items, plural(items, "entry", "entries"), report.HumanBytes(bytes))
	for _, p := range plans {
		for _, e := range p.Entries {
			fmt.Fprintf(app.Stdout, "  %-10s %s\n", report.HumanBytes(e.Size), quote.Quote(e.Path))
		}
	}
	if opts.DryRun {
		return nil
	}
	if !opts.Yes {
		if app.StdinIsTerminal == nil || !app.StdinIsTerminal() || app.Stdin == nil {
			return usagef("no terminal to ask on: give --yes to move these entries")
		}
		ok, err := ask(app.Stdin, app.Stderr, "Move them? [y/N] ")
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(app.Stderr, "Nothing was changed.")
			return nil
		}
	}
	failed := 0
	for _, p := range plans {
		if os.Geteuid() == p.Home.UID {
			failed += app.moveUserData(ctx, p)
			continue
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("the data of %s is moved by %s only", quote.Quote(p.Home.User), quote.Quote(p.Home.User))
		}
		if err := app.asOwner(ctx, p); err != nil {
			fmt.Fprintf(app.Stderr, "pactidy: moving the data of %s as %s: %v\n", quote.Quote(p.Home.User), quote.Quote(p.Home.User), err)
			failed++
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d %s not moved", failed, plural(failed, "entry was", "entries were"))
	}
	return nil
}

// moveUserData quarantines one home's entries as its owner (this process).
func (app *App) moveUserData(ctx context.Context, p *clean.UserData) (failed int) {
	allow, err := app.allowlist()
	if err != nil {
		fmt.Fprintf(app.Stderr, "pactidy: %v\n", err)
		return p.Items()
	}
	own, err := allowlist.LoadUser(p.Root, p.Home.Dir)
	if err != nil {
		fmt.Fprintf(app.Stderr, "pactidy: %v\n", err)
		return p.Items()
	}
	keep := func(path string, isDir bool) bool {
		if isDir {
			path = strings.TrimSuffix(path, "/") + "/"
		}
		return allow.KeepsPath(path, nil) || own.KeepsPath(path, nil)
	}
	id, res, err := clean.RunUserData(ctx, p, keep, func(r quarantine.Result) {
		if r.Err != nil {
			fmt.Fprintf(app.Stderr, "pactidy: %s: %s\n", quote.Quote(r.Entry.Path), quote.Quote(r.Err.Error()))
			return
		}
		fmt.Fprintf(app.Stdout, "moved %s (%s)\n", quote.Quote(r.Entry.Path), report.HumanBytes(r.Bytes))
	})
	for _, r := range res {
		if r.Err != nil {
			failed++
		}
	}
	failed += p.Items() - len(res)
	if err != nil {
		fmt.Fprintf(app.Stderr, "pactidy: %v\n", err)
	}
	if id != "" && len(res) > failed {
		store := quarantine.UserDir(p.Home.Dir)
		fmt.Fprintf(app.Stdout, "Restore with: pactidy quarantine restore --quarantine-dir %s %s\n", quote.Quote(store), id)
	}
	return failed
}

// asOwner runs pactidy again as the home's owner to move the planned
// entries: root never writes into a home. The child scans again and moves
// only what is still a finding; its output is this command's.
func (app *App) asOwner(ctx context.Context, p *clean.UserData) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"--config", app.Global.Config, "--color", app.Global.Color}
	if app.Global.Root != "" {
		args = append(args, "--root", app.Global.Root)
	}
	if app.Global.DBPath != "" {
		args = append(args, "--dbpath", app.Global.DBPath)
	}
	for _, a := range app.Global.Allowlist {
		args = append(args, "--allowlist", a)
	}
	args = append(args, "clean", "userdata", "--yes", "--user", p.Home.User, "--")
	for _, e := range p.Entries {
		args = append(args, e.Path)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = app.Stdout, app.Stderr
	cmd.Dir = "/"
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUDO_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "USER=") && !strings.HasPrefix(kv, "LOGNAME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+p.Home.Dir, "USER="+p.Home.User, "LOGNAME="+p.Home.User)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(p.Home.UID), Gid: uint32(p.Home.GID)}}
	// An interrupt reaches the child too (same process group); let it
	// finish its entry instead of killing it.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	return cmd.Run()
}
