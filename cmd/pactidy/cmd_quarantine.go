package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/report"
)

type quarantineOptions struct {
	dir       string
	json      bool
	force     bool
	olderThan string
	// expired: purge by the settings' [quarantine] Retention.
	expired bool
}

func newQuarantineCmd(app *App) *cobra.Command {
	var o quarantineOptions
	cmd := &cobra.Command{
		Use:   "quarantine",
		Short: "List, show, restore and purge quarantined files",
		Long: `Unowned files that pactidy removes go into a quarantine, from where they
can be restored byte-identical with their metadata (owner, mode, times,
extended attributes and ACLs, hard links).

The quarantine is /var/lib/pactidy/quarantine of the target root (so
--root R uses R/var/lib/pactidy/quarantine); --quarantine-dir DIR, or Dir
in the settings' [quarantine] section, uses another. Each removal is a run
with an ID (its date and time in UTC and a random suffix). A run that was interrupted (a signal, a crash, a power
loss) is completed or rolled back by the next quarantine or clean command,
and list says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&o.dir, "quarantine-dir", "", "quarantine `dir` (default ROOT/var/lib/pactidy/quarantine)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the quarantine runs: ID, date, entries, size, state",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return runQuarantineList(app, &o) },
	}
	list.Flags().BoolVar(&o.json, "json", false, `print [{"id","created","entries","bytes","state"}]`)
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show the entries of a run and their manifest",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return runQuarantineShow(app, &o, args[0]) },
	}
	restore := &cobra.Command{
		Use:   "restore ID [PATH...]",
		Short: "Put the entries of a run (or the given ones) back where they were",
		Long: `Put the entries of a run back where they were, byte-identical with their
metadata, after checking them against the run's manifest. PATH selects
entries by their original path (as show prints them). An entry whose path
exists again is not restored, unless --force: the existing file is then
moved into a new quarantine run first. Restoring an entry twice does
nothing and says so.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQuarantineRestore(cmd.Context(), app, &o, args[0], args[1:])
		},
	}
	restore.Flags().BoolVar(&o.force, "force", false, "restore over a path that exists again (the existing file is quarantined first)")
	purge := &cobra.Command{
		Use:   "purge (--older-than AGE | --expired | ID...)",
		Short: "Delete runs for good: the given ones, or those older than AGE (30d, 12h)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQuarantinePurge(app, &o, args)
		},
	}
	purge.Flags().StringVar(&o.olderThan, "older-than", "", "purge the runs created more than `AGE` ago (e.g. 30d, 36h)")
	purge.Flags().BoolVar(&o.expired, "expired", false, "purge the runs older than the settings' [quarantine] Retention (none when it is never); pactidy-quarantine.timer runs this")
	cmd.AddCommand(list, show, restore, purge)
	return cmd
}

// quarantineDir is --quarantine-dir or the target root's quarantine.
func (app *App) quarantineDir(o *quarantineOptions) (string, error) {
	if o.dir != "" {
		return o.dir, nil
	}
	s, err := app.settings()
	if err != nil {
		return "", err
	}
	if s.QuarantineDir != "" {
		return s.QuarantineDir, nil
	}
	root := app.Global.Root
	if root == "" {
		cfg, err := app.config()
		if err != nil {
			return "", err
		}
		root = cfg.RootDir
	}
	return quarantine.DefaultDir(root), nil
}

// openQuarantine opens the store and recovers interrupted runs first.
// With create unset, a store that does not exist yet is (nil, nil).
func (app *App) openQuarantine(o *quarantineOptions, create bool) (*quarantine.Store, error) {
	dir, err := app.quarantineDir(o)
	if err != nil {
		return nil, err
	}
	if !create {
		if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	st, err := quarantine.Open(dir)
	if err != nil {
		return nil, err
	}
	recs, err := st.Recover()
	for _, r := range recs {
		if r.Err == nil {
			fmt.Fprintf(app.Stderr, "pactidy: run %s was interrupted: %s %s\n", r.ID, r.How, report.QuotePath(r.Path))
		}
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("recover interrupted quarantine runs: %w", err)
	}
	return st, nil
}

type quarantineRunJSON struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Entries int       `json:"entries"`
	Bytes   int64     `json:"bytes"`
	State   string    `json:"state"`
	Detail  string    `json:"detail,omitempty"`
}

func runQuarantineList(app *App, o *quarantineOptions) error {
	st, err := app.openQuarantine(o, false)
	if err != nil {
		return err
	}
	var runs []quarantine.RunInfo
	if st != nil {
		defer st.Close()
		if runs, err = st.List(); err != nil {
			return err
		}
	}
	if o.json {
		out := make([]quarantineRunJSON, 0, len(runs))
		for _, r := range runs {
			out = append(out, quarantineRunJSON{ID: r.ID, Created: r.Created, Entries: r.Entries, Bytes: r.Bytes, State: r.State, Detail: r.Detail})
		}
		return writeJSON(app.Stdout, out)
	}
	if len(runs) == 0 {
		fmt.Fprintln(app.Stdout, "The quarantine is empty.")
		return nil
	}
	tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tENTRIES\tSIZE\tSTATE")
	for _, r := range runs {
		state := r.State
		if r.Detail != "" {
			state += " (" + r.Detail + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.ID, r.Created.Local().Format("2006-01-02 15:04:05"), r.Entries, report.HumanBytes(r.Bytes), state)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runQuarantineShow(app *App, o *quarantineOptions, id string) error {
	st, err := app.openQuarantine(o, false)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("%s: %w", id, quarantine.ErrNoRun)
	}
	defer st.Close()
	d, err := st.Show(id)
	if err != nil {
		return err
	}
	w := app.Stdout
	fmt.Fprintf(w, "Run %s, created %s, root %s\n", d.ID, d.Created.Local().Format("2006-01-02 15:04:05"), report.QuotePath(d.Root))
	fmt.Fprintf(w, "State: %s", d.State)
	if d.Detail != "" {
		fmt.Fprintf(w, " (%s)", d.Detail)
	}
	fmt.Fprintf(w, "\nIn the quarantine: %d entries, %s\n", d.Entries, report.HumanBytes(d.Bytes))
	for _, it := range d.Items {
		fmt.Fprintf(w, "\n%s  %s  %s  %s", report.QuotePath(it.Path), it.Status, it.Type, report.HumanBytes(it.Bytes))
		if it.Recovered != "" {
			fmt.Fprintf(w, "  (recovery: %s)", it.Recovered)
		}
		if it.Err != "" {
			fmt.Fprintf(w, "\n  error: %s", report.QuotePath(it.Err))
		}
		fmt.Fprintln(w)
		for _, ob := range it.Objects {
			fmt.Fprintf(w, "  %s %04o %d:%d %10d %s %s", typeLetter(ob.Type), ob.Mode, ob.UID, ob.GID, ob.Size,
				ob.MTime.Local().Format("2006-01-02 15:04:05"), report.QuotePath(ob.Path))
			switch {
			case ob.Link != "":
				fmt.Fprintf(w, " -> %s", report.QuotePath(ob.Link))
			case ob.HardlinkOf != "":
				fmt.Fprintf(w, " (hard link of %s)", report.QuotePath(ob.HardlinkOf))
			case ob.SHA256 != "":
				fmt.Fprintf(w, " sha256:%s", ob.SHA256[:16])
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

func typeLetter(t quarantine.Type) string {
	switch t {
	case quarantine.TypeDir:
		return "d"
	case quarantine.TypeSymlink:
		return "l"
	case quarantine.TypeFIFO:
		return "p"
	}
	return "-"
}

func runQuarantineRestore(ctx context.Context, app *App, o *quarantineOptions, id string, paths []string) error {
	if !quarantine.ValidID(id) {
		return usagef("quarantine restore: %q is not a run ID (pactidy quarantine list shows them)", id)
	}
	st, err := app.openQuarantine(o, false)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("%s: %w", id, quarantine.ErrNoRun)
	}
	defer st.Close()
	for i, p := range paths {
		if len(p) > 1 {
			paths[i] = strings.TrimRight(p, "/")
		}
	}
	// An interrupt lets the entry at hand finish and stops.
	res, err := st.RestoreWith(ctx, id, paths, quarantine.RestoreOptions{Force: o.force})
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range res {
		switch {
		case r.Err != nil:
			failed++
			fmt.Fprintf(app.Stdout, "not restored: %s: %s\n", report.QuotePath(r.Path), report.QuotePath(r.Err.Error()))
		case r.Displaced != "":
			fmt.Fprintf(app.Stdout, "%s: %s (the file that was there is in quarantine run %s)\n", r.Status, report.QuotePath(r.Path), r.Displaced)
		default:
			fmt.Fprintf(app.Stdout, "%s: %s\n", r.Status, report.QuotePath(r.Path))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d entries not restored", failed, len(res))
	}
	return nil
}

func runQuarantinePurge(app *App, o *quarantineOptions, ids []string) error {
	ways := 0
	for _, given := range []bool{o.olderThan != "", o.expired, len(ids) > 0} {
		if given {
			ways++
		}
	}
	if ways != 1 {
		return usagef("quarantine purge: give one of --older-than AGE, --expired or run IDs")
	}
	var age time.Duration
	byAge := o.olderThan != "" || o.expired
	if o.olderThan != "" {
		var err error
		if age, err = parseAge(o.olderThan); err != nil {
			return usagef("--older-than: %v", err)
		}
	}
	if o.expired {
		s, err := app.settings()
		if err != nil {
			return err
		}
		var keep bool
		if age, keep = s.RetentionAge(); !keep {
			return nil // Retention = never
		}
	}
	for _, id := range ids {
		if !quarantine.ValidID(id) {
			return usagef("quarantine purge: %q is not a run ID (pactidy quarantine list shows them)", id)
		}
	}
	st, err := app.openQuarantine(o, false)
	if err != nil {
		return err
	}
	if st == nil {
		if len(ids) > 0 {
			return fmt.Errorf("%s: %w", ids[0], quarantine.ErrNoRun)
		}
		return nil
	}
	defer st.Close()
	st.Now = app.Now
	if byAge {
		purged, err := st.PurgeOlder(age)
		for _, id := range purged {
			fmt.Fprintf(app.Stdout, "purged %s\n", id)
		}
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := st.Purge(id); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(app.Stdout, "purged %s\n", id)
	}
	return errors.Join(errs...)
}

// parseAge reads 30d, 12h, 90m or anything time.ParseDuration takes.
func parseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad age %q: want e.g. 30d or 12h", s)
		}
		return time.Duration(days * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad age %q: want e.g. 30d or 12h", s)
	}
	return d, nil
}
