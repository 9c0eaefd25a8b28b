package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/testroot"
)

// TestTUIHelperProcess is pactidy itself when PACTIDY_TUI_HELPER is set:
// the end-to-end tests start the test binary this way in a terminal.
func TestTUIHelperProcess(t *testing.T) {
	if os.Getenv("PACTIDY_TUI_HELPER") == "" {
		t.Skip("helper process for the terminal UI tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	app := newApp()
	cmd := newRootCmd(app)
	cmd.SetArgs(args)
	os.Exit(exitCode(app, cmd.ExecuteContext(context.Background())))
}

// colourSGR matches SGR parameters that set a foreground or background
// colour.
var colourSGR = regexp.MustCompile(`\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:[;m])`)

// tmux drives a program in a detached tmux session of its own server.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, w, h int, env []string, argv ...string) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (scripts/install-deps.sh installs it)")
	}
	tm := &tmux{t: t, socket: fmt.Sprintf("pactidy-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	script := "env " + shellJoin(env) + " " + shellJoin(argv) + "; echo \"pactidy exited with $?\"; sleep 600"
	tm.run("new-session", "-d", "-s", "e2e", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), script)
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (tm *tmux) screen() string { return tm.run("capture-pane", "-p", "-t", "e2e") }

// send types keys (tmux key names: Space, Tab, Enter, Escape, or text).
func (tm *tmux) send(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		tm.run("send-keys", "-t", "e2e", k)
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls the screen until cond holds; it gives up after 60 s
// (a bound for a stuck program, not a speed requirement).
func (tm *tmux) waitFor(what string, cond func(screen string) bool) string {
	tm.t.Helper()
	var s string
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		s = tm.screen()
		if cond(s) {
			return s
		}
	}
	tm.t.Fatalf("waiting for %s; the screen is:\n%s", what, s)
	return ""
}

// clearFilter opens the filter and leaves it with esc, which clears it;
// it waits until the program has read the esc on its own (a key sent at
// once could be taken as alt+key).
var filterShown = regexp.MustCompile(`[0-9]+/[0-9]+ filter `)

func (tm *tmux) clearFilter() {
	tm.t.Helper()
	tm.send("/", "Escape")
	// The status line is back (the input is closed) and names no filter.
	tm.waitFor("the filter to be cleared", func(s string) bool {
		return !filterShown.MatchString(s) && (strings.Contains(s, " by size") || strings.Contains(s, " by name"))
	})
}

func (tm *tmux) waitText(text string) string {
	tm.t.Helper()
	return tm.waitFor(fmt.Sprintf("%q", text), func(s string) bool { return strings.Contains(s, text) })
}

// browseTUI starts the program in tmux on the report root with an
// unowned directory (usr/share/olddir/) and file (etc/keepme.conf)
// planted, and waits until every section is done: each tab shows its
// count and no spinner is left. It returns the screen then.
func browseTUI(t *testing.T) (tm *tmux, r *testroot.Root, sysconf, screen string) {
	t.Helper()
	r = reportRoot(t)
	for _, f := range []string{"usr/share/olddir/data/a.bin", "usr/share/olddir/b.txt", "etc/keepme.conf"} {
		if err := os.MkdirAll(filepath.Dir(r.Path(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.Path(f), []byte(strings.Repeat("z", 2048)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sysconf = t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tm = newTmux(t, 100, 30, []string{"PACTIDY_TUI_HELPER=1", "PACTIDY_SYSCONFDIR=" + sysconf, "TERM=xterm-256color"},
		exe, "-test.run=^TestTUIHelperProcess$", "--", "--config", r.Config, "--color", "never")
	screen = tm.waitFor("every section", func(s string) bool {
		return strings.Contains(s, "Missing 1") && strings.Contains(s, "Orphans 4") && !strings.Contains(s, "scanning")
	})
	return tm, r, sysconf, screen
}

// TestTUIBrowse drives the real program in tmux on a root built by
// pacman: the sections fill in, an orphan and an unowned directory are
// marked, a file is kept forever with K (and its allowlist line written),
// the summary of d shows what would go, n goes back and q quits.
func TestTUIBrowse(t *testing.T) {
	tm, _, sysconf, s := browseTUI(t)
	for _, want := range []string{"Unneeded 1", "Foreign 1", "Pacnew/Pacsave 1", "cyc-a", "cycle"} {
		if !strings.Contains(s, want) {
			t.Errorf("first screen lacks %q:\n%s", want, s)
		}
	}
	// --color never: attributes (reverse for the cursor) but no colour.
	if raw := tm.run("capture-pane", "-p", "-e", "-t", "e2e"); colourSGR.MatchString(raw) {
		t.Errorf("colour with --color never: %q", colourSGR.FindString(raw))
	} else if !strings.Contains(raw, "\x1b[7m") {
		t.Errorf("no reverse video for the cursor: %q", raw)
	}

	// Mark the orphan oldlib-data.
	tm.send("/", "oldlib-data", "Enter")
	tm.waitText("filter oldlib-data")
	tm.send("Space")
	tm.waitText("1 marked")
	tm.clearFilter()

	// Mark the unowned directory /usr/share/olddir/.
	tm.send("Tab", "Tab", "Tab")
	tm.waitText("/usr/share/olddir/")
	tm.send("/", "olddir", "Enter", "Space")
	tm.waitText("2 marked")
	tm.clearFilter()

	// Keep /etc/keepme.conf forever, exactly.
	tm.send("/", "keepme", "Enter", "K")
	tm.waitText("Keep forever")
	tm.send("Enter")
	tm.waitText("kept forever")
	data, err := os.ReadFile(filepath.Join(sysconf, "pactidy", "allowlist"))
	if err != nil || string(data) != "path /etc/keepme.conf\n" {
		t.Errorf("allowlist: %q, %v", data, err)
	}
	s = tm.screen()
	if strings.Contains(s, "  /etc/keepme.conf") {
		t.Errorf("the kept file is still listed:\n%s", s)
	}
	tm.clearFilter()

	// The summary names both, with what pacman -Rns takes along.
	tm.send("d")
	s = tm.waitText("Remove what is marked?")
	for _, want := range []string{"oldlib-data oldlib", "command: /usr/bin/pacman", "/usr/share/olddir/", "Total: "} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	tm.send("n")
	tm.waitText("2 marked")
	tm.send("q")
	tm.waitText("pactidy exited with 0")
}
