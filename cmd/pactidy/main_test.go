package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pactidy/pactidy/alpm"
)

// run executes the command line in a test App and returns the exit status
// main would use.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return invocation{env: env}.run(t, args...)
}

// invocation is a command line run in a test App: standard output and
// error captured, stdout never a terminal.
type invocation struct {
	// env is the environment; PACTIDY_SYSCONFDIR defaults to an empty
	// directory, so that tests never read the host's /etc/pactidy,
	// pacreport or lostfiles files.
	env map[string]string
	// now is the clock; nil is 2026-01-02 03:04:05 UTC.
	now func() time.Time
	// stdin and stdinIsTerminal are the App's (nil: nobody there).
	stdin           io.Reader
	stdinIsTerminal func() bool
}

func (iv invocation) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	env := map[string]string{}
	for k, v := range iv.env {
		env[k] = v
	}
	if _, ok := env["PACTIDY_SYSCONFDIR"]; !ok {
		env["PACTIDY_SYSCONFDIR"] = t.TempDir()
	}
	now := iv.now
	if now == nil {
		now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	}
	var out, errb bytes.Buffer
	app := &App{
		Stdout: &out, Stderr: &errb, Stdin: iv.stdin, StdinIsTerminal: iv.stdinIsTerminal,
		IsTerminal: func() bool { return false },
		Now:        now,
		Getenv:     func(k string) string { return env[k] },
	}
	cmd := newRootCmd(app)
	cmd.SetArgs(args)
	code = exitCode(app, cmd.ExecuteContext(context.Background()))
	return out.String(), errb.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := run(t, nil, "version")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	want := "pactidy devel\nlibalpm " + alpm.Version() + "\n"
	if out != want {
		t.Errorf("version printed %q, want %q", out, want)
	}
	if !strings.HasPrefix(alpm.Version(), "1") {
		t.Errorf("libalpm version %q does not look like one", alpm.Version())
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"--color", "sometimes", "version"},
		{"--no-such-flag"},
		{"no-such-command"},
		{"version", "extra-arg"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := run(t, nil, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, "pactidy:") {
				t.Errorf("stderr %q does not explain", stderr)
			}
		})
	}
}

func TestConfigErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := run(t, nil, "--config", dir+"/missing.conf", "report")
	if code != exitFailure || !strings.Contains(stderr, dir+"/missing.conf") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestUseColor(t *testing.T) {
	tests := []struct {
		flag    string
		noColor string
		tty     bool
		want    bool
	}{
		{"auto", "", true, true},
		{"auto", "", false, false},
		{"auto", "1", true, false},
		{"always", "1", false, true},
		{"never", "", true, false},
	}
	for _, tt := range tests {
		app := &App{IsTerminal: func() bool { return tt.tty }, Getenv: func(string) string { return tt.noColor }}
		app.Global.Color = tt.flag
		if got := app.useColor(); got != tt.want {
			t.Errorf("--color %s NO_COLOR=%q tty=%v: %v, want %v", tt.flag, tt.noColor, tt.tty, got, tt.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Errorf("%s is not a terminal", os.DevNull)
	}
	f, err := os.CreateTemp(t.TempDir(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Errorf("a regular file is not a terminal")
	}
	// A real terminal: the pseudo-terminal tmux allocates would do, but a
	// /dev/ptmx master is enough to prove the positive case.
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx to open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if !isTerminal(ptmx) {
		t.Errorf("/dev/ptmx master is a terminal")
	}
}
