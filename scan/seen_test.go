package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/testroot"
)

// TestMissingFilesSeenIsLstat: the missing-files check that takes its
// answers from the unowned walk finds what lstat of every path finds, and
// what pacman -Qk finds: files deleted from directories the walk listed,
// a directory replaced by a file, a directory replaced by a symlink (its
// files exist through it), a directory deleted whole, files below an
// excluded directory, and a file deleted from a directory the walk never
// lists because a symlink leads there.
func TestMissingFilesSeenIsLstat(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{
		Name: "app", Version: "1.0-1",
		Files: map[string]string{
			"usr/bin/app":          "x",
			"usr/bin/gone":         "x",
			"usr/lib/app/a":        "x",
			"usr/lib/app/b":        "x",
			"usr/lib/app/sub/x":    "x",
			"usr/share/app/d":      "x",
			"usr/share/app/e":      "x",
			"var/log/app/app.log":  "x",
			"var/log/app/kept.log": "x",
			"opt/app/data/one":     "x",
			"srv/real/f":           "x",
			"srv/real/g":           "x",
			"srv/link/":            "",
		},
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(r.Path("usr/bin/gone")))
	must(os.RemoveAll(r.Path("usr/lib/app/sub")))
	must(os.WriteFile(r.Path("usr/lib/app/sub"), []byte("a file now"), 0o644))
	// usr/share/app becomes a link to a directory holding d but not e.
	must(os.Rename(r.Path("usr/share/app"), r.Path("usr/share/app.real")))
	must(os.Remove(r.Path("usr/share/app.real/e")))
	must(os.Symlink("app.real", r.Path("usr/share/app")))
	must(os.Remove(r.Path("var/log/app/app.log"))) // /var/log is excluded
	must(os.RemoveAll(r.Path("opt/app")))
	// srv/link is a directory the package owns; replaced by a link to
	// srv/real, whose g is gone: srv/link/g would be missing too, had
	// the package owned it, but only real/g is.
	must(os.Remove(r.Path("srv/link")))
	must(os.Symlink("real", r.Path("srv/link")))
	must(os.Remove(r.Path("srv/real/g")))

	db := loadDB(t, r.Config, r.Dir, r.DBPath)
	ctx := context.Background()
	want, wantErrs, err := MissingFiles(ctx, r.Dir, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := scanFixture(t, r.Dir, db, nil, func(o *UnownedOptions) { o.RecordSeen = true })
	if res.Seen == nil {
		t.Fatal("RecordSeen set, no Seen")
	}
	got, gotErrs, err := MissingFilesSeen(ctx, r.Dir, db, nil, res.Seen, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErrs, wantErrs) {
		t.Errorf("from the walk: %v %v\nwith lstat:    %v %v", got, gotErrs, want, wantErrs)
	}
	var paths []string
	for _, m := range got {
		paths = append(paths, m.Path)
	}
	sort.Strings(paths)
	wantPaths := []string{"/opt/app/", "/opt/app/data/", "/opt/app/data/one", "/srv/real/g", "/usr/bin/gone",
		"/usr/lib/app/sub/x", "/usr/share/app/e", "/var/log/app/app.log"}
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("missing %q, want %q", paths, wantPaths)
	}

	// pacman agrees.
	qk, stderr, code := r.PacmanErr(t, "-Qkq")
	if code > 1 {
		t.Fatalf("pacman -Qkq: exit %d: %s", code, stderr)
	}
	var pacman []string
	for _, l := range strings.Split(strings.TrimSpace(qk), "\n") {
		_, p, _ := strings.Cut(l, " ")
		pacman = append(pacman, "/"+strings.TrimPrefix(p, strings.TrimSuffix(r.Dir, "/")+"/"))
	}
	sort.Strings(pacman)
	if !reflect.DeepEqual(paths, pacman) {
		t.Errorf("missing %q, pacman -Qkq %q", paths, pacman)
	}

	// The walk answered for the directories it listed: usr/bin was read,
	// not lstat'ed path by path; the symlinked and excluded ones were not.
	for dir, listed := range map[string]bool{"usr/bin": true, "usr/lib/app": true, "usr/share/app": false, "var/log/app": false, "srv/link": false, "opt/app": false} {
		if _, ok := res.Seen.listed[dir]; ok != listed {
			t.Errorf("%s listed by the walk: %v, want %v", dir, ok, listed)
		}
	}
	if err := res.Seen.absent["usr/bin/gone"]; err == nil {
		t.Error("usr/bin/gone not recorded absent by the walk")
	}
}

// TestMissingFilesSeenUnprivileged: run by a user who may list a
// directory but not search it (mode 0744 of root's), or not even list it,
// the check from the walk says what lstat says: those paths are errors
// (EACCES), not present and not missing.
func TestMissingFilesSeenUnprivileged(t *testing.T) {
	if os.Getenv("PACTIDY_SEEN_HELPER") != "" {
		seenHelper(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to build the root and to switch to an unprivileged user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{
		Name: "app", Version: "1.0-1",
		Files: map[string]string{
			"opt/app/listonly/f": "x",
			"opt/app/locked/g":   "x",
			"opt/app/ok/h":       "x",
			"opt/app/ok/gone":    "x",
		},
	})
	if err := os.Remove(r.Path("opt/app/ok/gone")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(r.Path("opt/app/listonly"), 0o744)
	os.Chmod(r.Path("opt/app/locked"), 0o000)
	for d := r.Dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	exe, _ := os.Executable()
	cmd := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
		exe, "-test.run=^TestMissingFilesSeenUnprivileged$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PACTIDY_SEEN_HELPER=1", "HELPER_ROOT="+r.Dir, "HELPER_CONFIG="+r.Config,
		"HELPER_DBPATH="+r.DBPath, "HOME=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(string(out), "setpriv:") {
			t.Skipf("cannot switch user: %s", out)
		}
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestMissingFilesSeenUnprivileged") {
		t.Fatalf("the check did not run as nobody:\n%s", out)
	}
}

func seenHelper(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("helper still runs as root")
	}
	root := os.Getenv("HELPER_ROOT")
	db := loadDB(t, os.Getenv("HELPER_CONFIG"), root, os.Getenv("HELPER_DBPATH"))
	ctx := context.Background()
	want, wantErrs, err := MissingFiles(ctx, root, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := scanFixture(t, root, db, nil, func(o *UnownedOptions) { o.RecordSeen = true })
	got, gotErrs, err := MissingFilesSeen(ctx, root, db, nil, res.Seen, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErrs) != fmt.Sprint(wantErrs) {
		t.Errorf("from the walk: %v %v\nwith lstat:    %v %v", got, gotErrs, want, wantErrs)
	}
	var errPaths []string
	for _, e := range wantErrs {
		errPaths = append(errPaths, e.Path)
	}
	sort.Strings(errPaths)
	if want := []string{"/opt/app/listonly/f", "/opt/app/locked/g"}; !reflect.DeepEqual(errPaths, want) {
		t.Errorf("lstat's errors %q, want %q", errPaths, want)
	}
	if len(got) != 1 || got[0].Path != "/opt/app/ok/gone" {
		t.Errorf("missing %v, want /opt/app/ok/gone", got)
	}
}
