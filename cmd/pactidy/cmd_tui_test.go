package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/tui"
)

func TestNoCommandWithoutTerminalPrintsReport(t *testing.T) {
	r := reportRoot(t)
	bare, _, code := run(t, nil, "--config", r.Config)
	if code != exitOK {
		t.Fatalf("pactidy without a command: exit %d", code)
	}
	rep, _, _ := run(t, nil, "--config", r.Config, "report")
	if bare != rep || !strings.Contains(bare, "Orphaned packages (4") {
		t.Errorf("pactidy without a command printed\n%s\nnot the report\n%s", bare, rep)
	}
	_, stderr, code := run(t, nil, "--config", r.Config, "tui")
	if code != exitUsage || !strings.Contains(stderr, "needs a terminal") {
		t.Errorf("pactidy tui without a terminal: exit %d, %q", code, stderr)
	}
}

// TestTUISourceSections runs the UI's source on a real root: every
// section arrives once, complete, and the detail pane's questions are
// answered from the database.
func TestTUISourceSections(t *testing.T) {
	r := reportRoot(t)
	if err := os.MkdirAll(r.Path("usr/share/gtk3/themes/old"), 0o755); err != nil {
		t.Fatal(err)
	}
	app := &App{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, IsTerminal: func() bool { return false },
		Now: time.Now, Getenv: func(k string) string {
			if k == "PACTIDY_SYSCONFDIR" {
				return t.TempDir()
			}
			return ""
		}}
	app.Global.Config = r.Config
	src := &tuiSource{app: app}
	var mu sync.Mutex
	done := map[string]*report.Report{}
	var info tui.Info
	err := src.Scan(context.Background(), func(ev tui.Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Err != nil {
			t.Errorf("event error: %v", ev.Err)
		}
		if ev.Info != nil {
			info = ev.Info
		}
		if ev.Done {
			if done[ev.Section] != nil {
				t.Errorf("section %s arrived twice", ev.Section)
			}
			done[ev.Section] = ev.Report
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for s := range done {
		got = append(got, s)
	}
	sort.Strings(got)
	want := append([]string(nil), report.AllSections...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sections done: %v", got)
	}
	if n := len(done[report.SectionOrphans].Orphans); n != 4 {
		t.Errorf("%d orphans", n)
	}
	var unowned []string
	for _, u := range done[report.SectionUnowned].Unowned {
		unowned = append(unowned, u.Path)
	}
	if !strings.Contains(strings.Join(unowned, " "), "/usr/share/gtk3/themes/") {
		t.Errorf("unowned: %v", unowned)
	}
	if info == nil {
		t.Fatal("no Info")
	}
	p, ok := info.Package("cairo")
	if !ok || strings.Join(p.RequiredBy, ",") != "gtk3" || p.Why.Reason != "required" || len(p.Why.Chain) != 3 || p.InstallDate.IsZero() {
		t.Errorf("cairo: %+v", p)
	}
	if f, ok := info.Package("firefox"); !ok || strings.Join(f.Removes, " ") != "firefox cairo gtk3" || f.FreedBytes != f.InstalledSize+2000 {
		t.Errorf("firefox (-Rns takes gtk3 and cairo along): %v, %d bytes", f.Removes, f.FreedBytes)
	}
	if g, _ := info.Package("gtk3"); len(g.Removes) != 0 {
		t.Errorf("gtk3 is needed by firefox, yet -Rns would remove %v", g.Removes)
	}
	if o := info.Origin("/usr/share/gtk3/themes/"); o != "gtk3" {
		t.Errorf("origin of /usr/share/gtk3/themes/: %q", o)
	}
	if info.Root() != r.Dir {
		t.Errorf("root %q, want %q", info.Root(), r.Dir)
	}
}

// TestTUISourceCachePolicy: the cache tab keeps as many versions as the
// settings say, as pactidy cache and report do.
func TestTUISourceCachePolicy(t *testing.T) {
	r := reportRoot(t)
	for _, v := range []string{"2.36-1", "2.37-1", "2.38-1", "2.39-1", "2.40-1"} {
		if err := os.WriteFile(r.Path("var/cache/pacman/pkg/glibc-"+v+"-x86_64.pkg.tar.zst"), []byte("pkg"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for keep, want := range map[int]int{1: 4, 3: 2} {
		etc, _ := sysconf(t, fmt.Sprintf("[cache]\nKeep = %d\n", keep))
		app := &App{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, IsTerminal: func() bool { return false },
			Now: time.Now, Getenv: func(k string) string {
				if k == "PACTIDY_SYSCONFDIR" {
					return etc
				}
				return ""
			}}
		app.Global.Config = r.Config
		var mu sync.Mutex
		var got *report.Cache
		err := (&tuiSource{app: app}).Scan(context.Background(), func(ev tui.Event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Done && ev.Section == report.SectionCache {
				got = ev.Report.Cache
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || len(got.Candidates) != want {
			t.Errorf("Keep = %d: cache section %+v, want %d candidates", keep, got, want)
		}
	}
}
