package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/testroot"
)

var (
	builtOnce sync.Once
	builtPath string
	builtErr  error
)

// pactidyBinary builds cmd/pactidy once per test run: the hook test needs
// the real binary, as pacman executes it.
func pactidyBinary(t *testing.T) string {
	t.Helper()
	builtOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = "/usr/local/go/bin/go"
		}
		dir, err := os.MkdirTemp("", "pactidy-bin-")
		if err != nil {
			builtErr = err
			return
		}
		builtPath = filepath.Join(dir, "pactidy")
		cmd := exec.Command(goBin, "build", "-o", builtPath, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			builtErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if builtErr != nil {
		t.Fatalf("build pactidy: %v", builtErr)
	}
	return builtPath
}

// installInRoot puts the binary at /usr/bin/pactidy inside the root with
// the shared libraries it needs at their paths (ldd), because pacman runs
// hooks chrooted into --root.
func installInRoot(t *testing.T, bin, root string) {
	t.Helper()
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", bin, err)
	}
	files := []string{}
	re := regexp.MustCompile(`(/\S+) \(0x`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		files = append(files, m[1])
	}
	if len(files) == 0 {
		t.Fatalf("ldd lists no libraries:\n%s", out)
	}
	put := func(src, dst string) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(src, dst); err == nil {
			return
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			t.Fatal(err)
		}
		put(real, filepath.Join(root, f))
	}
	put(bin, filepath.Join(root, "usr/bin/pactidy"))
}

// TestHookInPacmanTransaction runs real pacman transactions on a root with
// packaging/pactidy.hook installed: pacman runs `pactidy hook` chrooted
// into the root after each one, and its output is pacman's.
func TestHookInPacmanTransaction(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pacman runs hooks in a chroot, which needs root")
	}
	r := testroot.New(t)
	// Inside the chroot the root is "/": the hook reads the root's own
	// /etc/pacman.conf, so that one must name the paths as the chroot sees
	// them; pacman on the host gets a copy with the host's paths.
	hostConf := filepath.Join(filepath.Dir(r.Dir), "host-pacman.conf")
	data, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostConf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	chrootConf := strings.ReplaceAll(string(data), r.Dir, "")
	chrootConf = strings.Replace(chrootConf, "RootDir = \n", "RootDir = /\n", 1)
	if err := os.WriteFile(r.Config, []byte(chrootConf), 0o644); err != nil {
		t.Fatal(err)
	}
	r.Config = hostConf

	r.InstallAsDeps(t,
		testroot.Pkg{Name: "libx", Version: "1.0-1", Files: map[string]string{"usr/lib/libx.so": "x"}},
		testroot.Pkg{Name: "liby", Version: "1.0-1", Depends: []string{"libx"}, Files: map[string]string{"usr/lib/liby.so": "y"}},
		testroot.Pkg{Name: "old", Version: "1.0-1", Files: map[string]string{"usr/lib/old.so": "o"}},
	)
	r.Install(t,
		testroot.Pkg{Name: "app", Version: "1.0-1", Depends: []string{"liby"}, Backup: []string{"etc/app.conf"},
			Files: map[string]string{"etc/app.conf": "a=1\n", "usr/bin/app": "#!/bin/sh\n"}},
		testroot.Pkg{Name: "conf", Version: "1.0-1", Backup: []string{"etc/conf.conf"},
			Files: map[string]string{"etc/conf.conf": "c=1\n"}},
	)
	// Local edits: the upgrade of conf then writes conf.conf.pacnew, the
	// removal of app keeps app.conf as app.conf.pacsave.
	for _, f := range []string{"etc/app.conf", "etc/conf.conf"} {
		if err := os.WriteFile(r.Path(f), []byte("edited\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	installInRoot(t, pactidyBinary(t), r.Dir)
	hook, err := os.ReadFile("../../packaging/pactidy.hook")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.HookDir, "pactidy.hook"), hook, 0o644); err != nil {
		t.Fatal(err)
	}

	pacman := func(args ...string) string {
		t.Helper()
		out := r.Pacman(t, append([]string{"--noconfirm"}, args...)...)
		t.Logf("pacman %s:\n%s", strings.Join(args, " "), out)
		return out
	}
	hookLines := func(out string) string {
		var b strings.Builder
		sc := bufio.NewScanner(strings.NewReader(out))
		in := false
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(l, ":: Running post-transaction hooks") {
				in = true
				continue
			}
			if in && !strings.HasPrefix(l, "(") {
				b.WriteString(l + "\n")
			}
		}
		return b.String()
	}

	// First transaction: the upgrade of conf. The hook has no record of
	// orphans yet (old is an orphan, but not this transaction's), and
	// reports the .pacnew.
	out := pacman("-U", r.Build(t, testroot.Pkg{Name: "conf", Version: "2.0-1", Backup: []string{"etc/conf.conf"},
		Files: map[string]string{"etc/conf.conf": "c=2\n"}}))
	if !strings.Contains(out, "Looking for orphans and new pacnew files") {
		t.Fatalf("pacman did not run the hook:\n%s", out)
	}
	want := ":: pactidy: 1 file .pacnew created by this transaction:\n   /etc/conf.conf.pacnew (conf)\n   merge with: pacdiff\n"
	if got := hookLines(out); got != want {
		t.Errorf("hook after the upgrade:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat(r.Path("var/lib/pactidy/state.json")); err != nil {
		t.Errorf("the hook did not record the orphans: %v", err)
	}

	// Removing app orphans liby and, through it, libx; its edited
	// configuration stays as a .pacsave. The earlier .pacnew and the old
	// orphan are not this transaction's.
	out = pacman("-R", "app")
	want = ":: pactidy: 2 packages are orphaned by this transaction:\n   libx 1.0-1, liby 1.0-1\n   remove with: pacman -Rns libx liby\n" +
		":: pactidy: 1 file .pacsave created by this transaction:\n   /etc/app.conf.pacsave\n   merge with: pacdiff\n"
	if got := hookLines(out); got != want {
		t.Errorf("hook after removing app:\n%s\nwant:\n%s", got, want)
	}

	// Removing them leaves nothing new: the hook is silent.
	out = pacman("-Rns", "libx", "liby")
	if got := hookLines(out); got != "" {
		t.Errorf("hook after removing the orphans said:\n%s", got)
	}

	// The record holds the orphans after the last transaction.
	raw, err := os.ReadFile(r.Path("var/lib/pactidy/state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Hook struct{ Orphans []string } }
	if err := json.Unmarshal(raw, &st); err != nil || strings.Join(st.Hook.Orphans, " ") != "old" {
		t.Errorf("recorded orphans %q (%v)", st.Hook.Orphans, err)
	}
}

// runHookCmd runs `pactidy hook` in a test App with stdin.
func runHookCmd(t *testing.T, stdin string, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return invocation{env: env, now: time.Now, stdin: strings.NewReader(stdin)}.run(t, args...)
}

// Whatever goes wrong, the hook prints one warning line and exits 0.
func TestHookNeverFails(t *testing.T) {
	dir := t.TempDir()
	bad, _ := sysconf(t, "[cache]\nKeep = x\n")
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "a", Version: "1-1"})
	statePath := filepath.Join(dir, "state.json")
	if err := os.WriteFile(statePath, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no pacman.conf", nil, []string{"--config", filepath.Join(dir, "missing.conf"), "hook"}, "missing.conf"},
		{"bad settings", map[string]string{"PACTIDY_SYSCONFDIR": bad}, []string{"--config", r.Config, "hook"}, "Keep"},
		{"bad flag", nil, []string{"--config", r.Config, "hook", "--no-such-flag"}, "unknown flag"},
		{"arguments", nil, []string{"--config", r.Config, "hook", "extra"}, "no arguments"},
		{"damaged state", nil, []string{"--config", r.Config, "hook", "--state", statePath}, "is not a pactidy state file"},
		{"no database", nil, []string{"--config", r.Config, "--dbpath", filepath.Join(dir, "nodb"), "hook"}, "nodb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := runHookCmd(t, "", tt.env, tt.args...)
			if code != exitOK || stderr != "" {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "warning: pactidy: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("output %q, want one warning line about %q", out, tt.want)
			}
		})
	}
	// The damaged state was replaced: the next run is silent.
	out, _, code := runHookCmd(t, "", nil, "--config", r.Config, "hook", "--state", statePath)
	if code != exitOK || out != "" {
		t.Errorf("after replacing the state: exit %d, %q", code, out)
	}
}

// Run by hand the hook compares with its record: an orphan made since
// (pacman -D --asdeps runs no hook) is reported, and only once.
func TestHookByHand(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "a", Version: "1-1"}, testroot.Pkg{Name: "b", Version: "1-1"})
	state := filepath.Join(t.TempDir(), "state.json")
	hook := func(stdin string) string {
		t.Helper()
		out, stderr, code := runHookCmd(t, stdin, nil, "--config", r.Config, "hook", "--state", state)
		if code != exitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		return out
	}
	if out := hook(""); out != "" {
		t.Errorf("first run: %q", out)
	}
	r.Pacman(t, "-D", "--asdeps", "b")
	if out := hook("b\n"); !strings.Contains(out, "1 package is orphaned by this transaction:\n   b 1-1\n   remove with: pacman -Rns b\n") {
		t.Errorf("after -D --asdeps b: %q", out)
	}
	if out := hook(""); out != "" {
		t.Errorf("reported twice: %q", out)
	}
	// --no-state: nothing to compare orphans with.
	r.Pacman(t, "-D", "--asdeps", "a")
	out, _, _ := runHookCmd(t, "", nil, "--config", r.Config, "hook", "--no-state")
	if out != "" {
		t.Errorf("--no-state: %q", out)
	}
	if out := hook(""); !strings.Contains(out, "   a 1-1\n") {
		t.Errorf("after -D --asdeps a: %q", out)
	}
}
