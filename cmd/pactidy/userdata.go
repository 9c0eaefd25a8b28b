package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

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
With --json (one home at a time) the plan and the result are printed as one
JSON document, as for the other sections.
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
	cfg, homes, found, err := app.userData(ctx, uo)
	if err != nil {
		return err
	}
	if opts.JSON && len(homes) > 1 {
		return usagef("clean userdata --json: one home at a time (--user NAME)")
	}
	var plans []*clean.UserData
	var items int
	var bytes int64
	out := cleanJSON{
		SchemaVersion: report.SchemaVersion,
		GeneratedAt:   app.Now().UTC().Format(time.RFC3339),
		Section:       report.SectionUserdata,
		Action:        "plan",
		Plan:          cleanPlanJSON{Entries: []cleanEntryJSON{}},
		Errors:        []report.Error{},
	}
	// stdout carries the JSON document only.
	text := !opts.JSON
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
	out.Plan.Items, out.Plan.Bytes = items, bytes
	for _, p := range plans {
		for _, e := range p.Entries {
			out.Plan.Entries = append(out.Plan.Entries, cleanEntryJSON{Path: e.Path, Type: string(e.Type), Size: e.Size, PathBytes: report.RawPath(e.Path)})
		}
	}
	if items == 0 {
		if text {
			fmt.Fprintln(app.Stdout, "Nothing to move.")
			return nil
		}
		return writeJSON(app.Stdout, out)
	}
	if text {
		fmt.Fprintf(app.Stdout, "Move %d %s (%s) into the home's quarantine:\n", items, plural(items, "entry", "entries"), report.HumanBytes(bytes))
		for _, p := range plans {
			for _, e := range p.Entries {
				fmt.Fprintf(app.Stdout, "  %-10s %s\n", report.HumanBytes(e.Size), quote.Quote(e.Path))
			}
		}
	}
	if opts.DryRun {
		if text {
			return nil
		}
		return writeJSON(app.Stdout, out)
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
			res := &cleanResultJSON{Items: []cleanItemJSON{}}
			failed += app.moveUserData(ctx, p, text, res)
			if !text {
				out.Action, out.Result = "clean", res
			}
			continue
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("the data of %s is moved by %s only", quote.Quote(p.Home.User), quote.Quote(p.Home.User))
		}
		// The owner's run prints the document itself (one home with --json).
		if err := app.asOwner(ctx, p, opts.JSON); err != nil {
			fmt.Fprintf(app.Stderr, "pactidy: moving the data of %s as %s: %v\n", quote.Quote(p.Home.User), quote.Quote(p.Home.User), err)
			failed++
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		text = true // nothing more on stdout
	}
	if !text {
		if err := writeJSON(app.Stdout, out); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d %s not moved", failed, plural(failed, "entry was", "entries were"))
	}
	return nil
}

// moveUserData quarantines one home's entries as its owner (this process),
// printing each entry moved when text is set, and filling res.
func (app *App) moveUserData(ctx context.Context, p *clean.UserData, text bool, res *cleanResultJSON) (failed int) {
	err := app.userMove(ctx, p, res, func(r quarantine.Result) {
		if r.Err != nil {
			fmt.Fprintf(app.Stderr, "pactidy: %s: %s\n", quote.Quote(r.Entry.Path), quote.Quote(r.Err.Error()))
			return
		}
		if text {
			fmt.Fprintf(app.Stdout, "moved %s (%s)\n", quote.Quote(r.Entry.Path), report.HumanBytes(r.Bytes))
		}
	})
	if err != nil {
		fmt.Fprintf(app.Stderr, "pactidy: %v\n", err)
	}
	if q := res.Quarantine; q != nil && text {
		fmt.Fprintf(app.Stdout, "Restore with: pactidy quarantine restore --quarantine-dir %s %s\n", quote.Quote(q.Dir), q.ID)
	}
	return res.Failed + res.Skipped
}

// userMove quarantines one home's entries as its owner (this process) and
// fills res with an item per entry and the run; it prints nothing. each
// is called after each entry. The error is one that stopped the run.
func (app *App) userMove(ctx context.Context, p *clean.UserData, res *cleanResultJSON, each func(quarantine.Result)) error {
	failAll := func(err error) error {
		for _, e := range p.Entries {
			res.Items = append(res.Items, cleanItemJSON{Name: e.Path, Status: "failed", Error: err.Error(), PathBytes: report.RawPath(e.Path)})
		}
		res.Failed += p.Items()
		return err
	}
	allow, err := app.allowlist()
	if err != nil {
		return failAll(err)
	}
	own, err := allowlist.LoadUser(p.Root, p.Home.Dir)
	if err != nil {
		return failAll(err)
	}
	keep := func(path string, isDir bool) bool {
		if isDir {
			path = strings.TrimSuffix(path, "/") + "/"
		}
		return allow.KeepsPath(path, nil) || own.KeepsPath(path, nil)
	}
	id, results, err := clean.RunUserData(ctx, p, keep, each)
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Entry.Path] = true
		it := cleanItemJSON{Name: r.Entry.Path, Status: "done", Bytes: r.Bytes, PathBytes: report.RawPath(r.Entry.Path)}
		var skip *quarantine.SkipError
		switch {
		case errors.As(r.Err, &skip):
			it.Status, it.Error, it.Bytes = "skipped", r.Err.Error(), 0
			res.Skipped++
		case r.Err != nil:
			it.Status, it.Error, it.Bytes = "failed", r.Err.Error(), 0
			res.Failed++
		default:
			res.Done++
			res.Bytes += r.Bytes
		}
		res.Items = append(res.Items, it)
	}
	why := "not moved"
	if err != nil {
		why = err.Error()
	}
	for _, e := range p.Entries {
		if !seen[e.Path] {
			res.Items = append(res.Items, cleanItemJSON{Name: e.Path, Status: "failed", Error: why, PathBytes: report.RawPath(e.Path)})
			res.Failed++
		}
	}
	if id != "" && res.Done > 0 {
		store := quarantine.UserDir(p.Home.Dir)
		res.Quarantine = &cleanQuarantineJSON{Dir: store, ID: id, DirBytes: report.RawPath(store)}
	}
	return err
}

// asOwner runs pactidy again as the home's owner to move the planned
// entries: root never writes into a home. The child scans again and moves
// only what is still a finding; its output is this command's (with
// jsonOut, its JSON document).
func (app *App) asOwner(ctx context.Context, p *clean.UserData, jsonOut bool) error {
	args := []string{"clean", "userdata", "--yes", "--user", p.Home.User}
	if jsonOut {
		args = append(args, "--json")
	}
	args = append(args, "--")
	for _, e := range p.Entries {
		args = append(args, e.Path)
	}
	cmd, err := app.ownerCommand(ctx, p.Home, args...)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = app.Stdout, app.Stderr
	return cmd.Run()
}

// ownerCommand is pactidy run again, with this run's global options and
// then args, as the owner of home h, with the owner's HOME, USER and
// LOGNAME and without sudo's variables. Root uses it for whatever writes
// into a home (moving data, editing the owner's allowlist), so that no
// file there is created or replaced by root.
func (app *App) ownerCommand(ctx context.Context, h scan.Home, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	global := []string{"--config", app.Global.Config, "--color", app.Global.Color}
	if app.Global.Root != "" {
		global = append(global, "--root", app.Global.Root)
	}
	if app.Global.DBPath != "" {
		global = append(global, "--dbpath", app.Global.DBPath)
	}
	for _, a := range app.Global.Allowlist {
		global = append(global, "--allowlist", a)
	}
	if app.Global.Settings != "" {
		global = append(global, "--settings", app.Global.Settings)
	}
	cmd := exec.CommandContext(ctx, exe, append(global, args...)...)
	cmd.Dir = "/"
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUDO_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "USER=") && !strings.HasPrefix(kv, "LOGNAME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+h.Dir, "USER="+h.User, "LOGNAME="+h.User)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(h.UID), Gid: uint32(h.GID)}}
	// An interrupt reaches the child too (same process group); let it
	// finish its entry instead of killing it.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	return cmd, nil
}
