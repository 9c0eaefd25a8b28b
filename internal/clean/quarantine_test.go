package clean

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
	"github.com/pactidy/pactidy/scan"
)

// unownedRoot is a root with one package owning /opt/app/bin/app and
// /usr/share/app/data, and unowned entries of every kind beside them.
func unownedRoot(t *testing.T) (*testroot.Root, *conf.Config) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("building a root with pacman needs root here")
	}
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1-1", Files: map[string]string{
		"opt/app/bin/app": "#!/bin/sh\n", "usr/share/app/data": "data",
	}})
	write := func(p, content string) {
		full := r.Path(p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write("opt/app/junk.txt", "junk")
	write("opt/old/a", "aaaa")
	write("opt/old/sub/b", "bbbbbbbb")
	if err := os.Symlink("../../opt/app/bin/app", r.Path("opt/old/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("data", r.Path("usr/share/app/stray")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(r.Path("opt/app/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	write("opt/app/changed.txt", "before")
	write("opt/soon/f", "x")
	write("opt/app/kept.txt", "kept")
	cfg, err := conf.Load(r.Config, conf.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	return r, cfg
}

func unownedScan(t *testing.T, r *testroot.Root) []scan.UnownedEntry {
	t.Helper()
	_, db := testdb.Load(t, r.Config, conf.Overrides{})
	res, err := scan.Unowned(context.Background(), db, scan.UnownedOptions{Root: r.Dir, Excludes: scan.DefaultExcludes})
	if err != nil {
		t.Fatal(err)
	}
	return res.Entries
}

func TestQuarantineEntries(t *testing.T) {
	r, cfg := unownedRoot(t)
	paths := []string{"/opt/app/junk.txt", "/opt/old/", "/usr/share/app/stray", "/opt/app/fifo",
		"/opt/app/changed.txt", "/opt/soon/", "/opt/app/kept.txt"}
	a, dropped := PlanEntries(r.Dir, unownedScan(t, r), append(paths, "/opt/app/bin/app", "/nonexistent"))
	if len(a.Entries) != len(paths) {
		t.Fatalf("planned %+v", a.Entries)
	}
	// An owned path and a path the scan did not report are not planned.
	if len(dropped) != 2 || !errors.Is(dropped[0].Err, ErrNotFound) || !errors.Is(dropped[1].Err, ErrNotFound) {
		t.Errorf("dropped %v", dropped)
	}
	if e := a.Entries[1]; e.Path != "/opt/old/" || e.Type != "dir" || e.Size != 4+8+int64(len("../../opt/app/bin/app")) || e.Entries != 4 {
		t.Errorf("directory entry %+v", e)
	}

	// Between the plan and the run: one entry is replaced by another
	// file, one now belongs to a package, one is allowlisted.
	// (The old file is kept elsewhere, so its inode is not reused.)
	if err := os.Rename(r.Path("opt/app/changed.txt"), r.Path("opt/app/changed.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.Path("opt/app/changed.txt"), []byte("before"), 0o644); err != nil {
		t.Fatal(err)
	}
	// (A package that owns the directory itself leaves it as it is; one
	// that owned a file would replace the file, a change of its own.)
	r.Install(t, testroot.Pkg{Name: "later", Version: "1-1", Files: map[string]string{"opt/soon/": ""}})
	allow, err := allowlist.New([]allowlist.Entry{mustEntry(t, "path /opt/app/kept.txt")})
	if err != nil {
		t.Fatal(err)
	}

	var events []Event
	lock := filepath.Join(r.DBPath, "db.lck")
	locked := 0
	res, err := Run(context.Background(), &Plan{Config: cfg, Actions: []Action{a}}, Options{Allow: allow}, func(e Event) {
		events = append(events, e)
		if _, err := os.Lstat(lock); e.Kind == ItemStarted && err == nil {
			locked++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// pacman's lock was held while entries moved, and released after.
	if _, err := os.Lstat(lock); locked != len(paths) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock held for %d of %d entries; after the run: %v", locked, len(paths), err)
	}
	ar := res.Actions[0]
	status := map[string]string{}
	for _, d := range ar.Done {
		status[d.Name] = "done"
	}
	for _, s := range ar.Skipped {
		switch {
		case errors.Is(s.Err, quarantine.ErrChanged):
			status[s.Name] = "changed"
		case errors.Is(s.Err, quarantine.ErrOwned):
			status[s.Name] = "owned"
		case errors.Is(s.Err, quarantine.ErrAllowlisted):
			status[s.Name] = "allowlisted"
		default:
			status[s.Name] = s.Err.Error()
		}
	}
	for _, f := range ar.Failed {
		status[f.Name] = "failed: " + f.Err.Error()
	}
	want := map[string]string{
		"/opt/app/junk.txt": "done", "/opt/old/": "done", "/usr/share/app/stray": "done", "/opt/app/fifo": "done",
		"/opt/app/changed.txt": "changed", "/opt/soon/": "owned", "/opt/app/kept.txt": "allowlisted",
	}
	if !reflect.DeepEqual(status, want) {
		t.Errorf("outcome %v\nwant %v", status, want)
	}
	if res.Done != 4 || res.Skipped != 3 || res.Failed != 0 || res.Bytes != 4+(4+8+int64(len("../../opt/app/bin/app")))+int64(len("data"))+0 {
		t.Errorf("counts: done %d, skipped %d, failed %d, bytes %d", res.Done, res.Skipped, res.Failed, res.Bytes)
	}
	if last := events[len(events)-1]; last.Kind != ActionDone || last.Progress.Finished() != len(paths) {
		t.Errorf("last event %+v", last)
	}
	for _, p := range []string{"opt/app/junk.txt", "opt/old", "usr/share/app/stray", "opt/app/fifo"} {
		if _, err := os.Lstat(r.Path(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	for _, p := range []string{"opt/app/changed.txt", "opt/soon/f", "opt/app/kept.txt", "opt/app/bin/app"} {
		if _, err := os.Lstat(r.Path(p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}

	// The run is in the target root's quarantine, and restores.
	qr := ar.Quarantine
	if qr == nil || qr.Dir != quarantine.DefaultDir(r.Dir) || qr.ID == "" {
		t.Fatalf("quarantine result %+v", qr)
	}
	st, err := quarantine.Open(qr.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := st.Show(qr.ID)
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, it := range d.Items {
		in = append(in, it.Path)
	}
	sort.Strings(in)
	if w := []string{"/opt/app/fifo", "/opt/app/junk.txt", "/opt/old", "/usr/share/app/stray"}; !reflect.DeepEqual(in, w) {
		t.Errorf("in the quarantine: %q, want %q", in, w)
	}
	if _, err := st.Restore(qr.ID, nil, false); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(r.Path("opt/old/sub/b")); err != nil || string(b) != "bbbbbbbb" {
		t.Errorf("restored opt/old/sub/b: %q, %v", b, err)
	}
	if l, err := os.Readlink(r.Path("usr/share/app/stray")); err != nil || l != "data" {
		t.Errorf("restored symlink: %q, %v", l, err)
	}
}

func mustEntry(t *testing.T, s string) allowlist.Entry {
	t.Helper()
	e, err := allowlist.ParseEntry(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestQuarantineInterruptAndDelete(t *testing.T) {
	r, cfg := unownedRoot(t)
	a, dropped := PlanEntries(r.Dir, unownedScan(t, r), []string{"/opt/app/junk.txt", "/opt/old/", "/opt/app/kept.txt"})
	if len(dropped) > 0 || len(a.Entries) != 3 {
		t.Fatalf("plan %+v, dropped %v", a.Entries, dropped)
	}
	// An interrupt after the first entry: it is finished, the rest stay.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan := &Plan{Config: cfg, Actions: []Action{a}}
	res, err := Run(ctx, plan, Options{}, func(e Event) {
		if e.Kind == ItemDone {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || res.Done != 1 || res.Skipped != 2 {
		t.Fatalf("interrupted run: %v, done %d, skipped %d", err, res.Done, res.Skipped)
	}
	for _, s := range res.Actions[0].Skipped {
		if !errors.Is(s.Err, ErrInterrupted) {
			t.Errorf("%s skipped: %v", s.Name, s.Err)
		}
	}
	if _, err := os.Lstat(r.Path("opt/old/a")); err != nil {
		t.Errorf("an entry after the interrupt was touched: %v", err)
	}

	// --no-quarantine: the rest deleted for good, into a directory given.
	dir := filepath.Join(t.TempDir(), "q")
	rest := &QuarantineEntries{Entries: a.Entries[1:], Permanent: true}
	res, err = Run(context.Background(), &Plan{Config: cfg, Actions: []Action{rest}}, Options{QuarantineDir: dir}, nil)
	if err != nil || res.Done != 2 {
		t.Fatalf("delete: %v, %+v", err, res)
	}
	for _, p := range []string{"opt/old", "opt/app/kept.txt"} {
		if _, err := os.Lstat(r.Path(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after a permanent delete: %v", p, err)
		}
	}
	st, err := quarantine.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.List()
	if err != nil || len(runs) != 1 || runs[0].State != quarantine.StateDeleted {
		t.Errorf("runs in %s: %+v, %v", dir, runs, err)
	}
	if !strings.HasPrefix(res.Actions[0].Quarantine.Dir, dir) {
		t.Errorf("store %s, want %s", res.Actions[0].Quarantine.Dir, dir)
	}
}
