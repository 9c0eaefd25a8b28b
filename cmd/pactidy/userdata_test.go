package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/internal/testroot"
	"github.com/pactidy/pactidy/scan"
)

// userdataRoot is a root built by pacman with a home for nobody holding
// data of an installed program and of one that is gone, reachable by
// nobody as on a real system.
func userdataRoot(t *testing.T) *testroot.Root {
	t.Helper()
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "keepme", Version: "1-1", Files: map[string]string{"usr/bin/keepme": "x"}})
	for d := r.Dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWriteFile(t, r.Path("/etc/passwd"), "root:x:0:0::/root:/bin/bash\nnobody:x:65534:65534::/home/nobody:/bin/sh\n")
	home := r.Path("/home/nobody")
	mustWriteFile(t, filepath.Join(home, ".config/gone/settings"), "leftover")
	mustWriteFile(t, filepath.Join(home, ".config/keepme/x"), "in use")
	mustWriteFile(t, filepath.Join(home, ".cache/gone-cache/blob"), strings.Repeat("b", 3000))
	err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustWriteFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// publicBinary is the pactidy binary where every user can run it.
func publicBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pactidy-public-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(pactidyBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	bin := filepath.Join(dir, "pactidy")
	out, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

func runBin(t *testing.T, sysconf, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PACTIDY_SYSCONFDIR="+sysconf)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// sysconfDir is an empty directory everyone may read, standing for the
// system configuration directory of a run that starts itself again as a
// home's owner.
func sysconfDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pactidy-sysconf-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestUserdataReportAndClean: the userdata section lists the data of the
// program that is gone, not of the installed one; clean userdata run by
// root moves it as the home's owner into the home's own quarantine, from
// where the owner restores it.
func TestUserdataReportAndClean(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: the move runs as the home's owner")
	}
	bin := publicBinary(t)
	r := userdataRoot(t)
	sysconf := sysconfDir(t)

	out, stderr, code := runBin(t, sysconf, bin, "--config", r.Config, "report", "--only", "userdata", "--user", "nobody", "--json", "--show-hidden")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]report.UserData{}
	for _, u := range rep.Userdata {
		got[u.Path] = u
	}
	if u := got["/home/nobody/.config/gone"]; u.MatchedBy != "" || u.Kind != "config" || u.User != "nobody" || u.SafeToDrop {
		t.Errorf(".config/gone: %+v", u)
	}
	if u := got["/home/nobody/.cache/gone-cache"]; u.Size != 3000 || !u.SafeToDrop || u.Kind != "cache" {
		t.Errorf(".cache/gone-cache: %+v", u)
	}
	if u := got["/home/nobody/.config/keepme"]; u.MatchedBy != "package keepme" {
		t.Errorf(".config/keepme with --show-hidden: %+v", u)
	}

	// The plan as JSON, nothing moved.
	out, stderr, code = runBin(t, sysconf, bin, "--config", r.Config, "clean", "userdata", "--user", "nobody", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("clean userdata --dry-run --json: exit %d: %s", code, stderr)
	}
	var plan cleanJSON
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if plan.Section != "userdata" || plan.Action != "plan" || plan.Plan.Items != 2 || len(plan.Plan.Entries) != 2 || plan.Result != nil {
		t.Errorf("clean userdata --dry-run --json: %s", out)
	}

	// No terminal and no --yes: refused, nothing moved.
	_, _, code = runBin(t, sysconf, bin, "--config", r.Config, "clean", "userdata", "--user", "nobody")
	if code != 2 {
		t.Errorf("without a terminal and --yes: exit %d, want 2", code)
	}
	out, stderr, code = runBin(t, sysconf, bin, "--config", r.Config, "clean", "userdata", "--user", "nobody", "--yes")
	if code != 0 {
		t.Fatalf("clean userdata: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, p := range []string{".config/gone", ".cache/gone-cache"} {
		if _, err := os.Lstat(r.Path("/home/nobody/" + p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still in place: %v", p, err)
		}
	}
	if _, err := os.Lstat(r.Path("/home/nobody/.config/keepme/x")); err != nil {
		t.Errorf("the data of the installed program was touched: %v", err)
	}
	store := r.Path("/home/nobody/.local/share/pactidy/quarantine")
	fi, err := os.Stat(store)
	if err != nil {
		t.Fatalf("the home's quarantine: %v\n%s", err, out)
	}
	if fi.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Errorf("the quarantine in the home belongs to uid %d, want its owner", fi.Sys().(*syscall.Stat_t).Uid)
	}
	m := regexp.MustCompile(`pactidy quarantine restore --quarantine-dir \S+ (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no restore hint in:\n%s", out)
	}
	// The owner puts it back.
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		bin, "quarantine", "restore", "--quarantine-dir", store, m[1])
	cmd.Env = append(os.Environ(), "PACTIDY_SYSCONFDIR="+sysconf)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restore as the owner: %v\n%s", err, b)
	}
	b, err := os.ReadFile(r.Path("/home/nobody/.config/gone/settings"))
	if err != nil || string(b) != "leftover" {
		t.Errorf("restored settings: %q %v", b, err)
	}
}

// TestOwnerCommandArgs: the run as a home's owner gets the global
// options the user gave, --settings included, and the owner's identity.
func TestOwnerCommandArgs(t *testing.T) {
	app := newApp()
	app.Global = GlobalOptions{Config: "/r/etc/pacman.conf", Root: "/r", DBPath: "/r/db", Color: "never",
		Allowlist: []string{"/tmp/extra"}, Settings: "/tmp/pactidy.conf"}
	cmd, err := app.ownerCommand(context.Background(), scan.Home{User: "alice", UID: 1000, GID: 1000, Dir: "/home/alice"}, "clean", "userdata")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--config", "/r/etc/pacman.conf", "--color", "never", "--root", "/r", "--dbpath", "/r/db",
		"--allowlist", "/tmp/extra", "--settings", "/tmp/pactidy.conf", "clean", "userdata"}
	if got := cmd.Args[1:]; !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
	if c := cmd.SysProcAttr.Credential; c.Uid != 1000 || c.Gid != 1000 {
		t.Errorf("credential %+v", c)
	}
	if !slices.Contains(cmd.Env, "HOME=/home/alice") || !slices.Contains(cmd.Env, "USER=alice") {
		t.Errorf("env lacks the owner's HOME and USER")
	}
}

// TestUserdataAllUsers: --all-users, as root, looks into the homes of the
// users of the root's /etc/passwd that have a login shell and a home
// under /home, and no other; run by another user it is refused.
func TestUserdataAllUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: --all-users is root's")
	}
	bin := publicBinary(t)
	r := userdataRoot(t)
	mustWriteFile(t, r.Path("/etc/passwd"), "root:x:0:0::/root:/bin/bash\n"+
		"nobody:x:65534:65534::/home/nobody:/bin/sh\n"+
		"alice:x:1000:1000::/home/alice:/bin/bash\n"+
		"daemon:x:2:2::/home/daemon:/usr/sbin/nologin\n"+
		"svc:x:3:3::/srv/svc:/bin/sh\n")
	for _, d := range []string{"/home/alice", "/home/daemon", "/srv/svc"} {
		mustWriteFile(t, r.Path(d+"/.config/gone-"+filepath.Base(d)+"/x"), "leftover")
	}
	sysconf := sysconfDir(t)
	out, stderr, code := runBin(t, sysconf, bin, "--config", r.Config, "report", "--only", "userdata", "--all-users", "--json")
	if code != exitOK && code != exitFindings {
		t.Fatalf("report --all-users: exit %d: %s", code, stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	users := map[string]bool{}
	var paths []string
	for _, e := range rep.Userdata {
		users[e.User] = true
		paths = append(paths, e.Path)
	}
	if len(users) != 2 || !users["alice"] || !users["nobody"] {
		t.Errorf("users %v, want alice and nobody only", users)
	}
	for _, want := range []string{"/home/alice/.config/gone-alice", "/home/nobody/.config/gone"} {
		if !slices.Contains(paths, want) {
			t.Errorf("%s not listed: %q", want, paths)
		}
	}

	cmd := exec.Command(bin, "--config", r.Config, "report", "--only", "userdata", "--all-users")
	cmd.Env = append(os.Environ(), "PACTIDY_SYSCONFDIR="+sysconf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	msg, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(string(msg), "run it as root") {
		t.Errorf("--all-users as nobody: %v\n%s", err, msg)
	}
}
