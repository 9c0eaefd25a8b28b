package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/internal/testroot"
)

const mySections = "--only=orphans,unneeded,foreign,missing,pacfiles"

// reportRoot is a root with one finding of every package section: an
// orphan chain and a two-package cycle, an unneeded explicit package, a
// foreign package, a missing file and a .pacnew.
func reportRoot(t *testing.T) *testroot.Root {
	t.Helper()
	r := testroot.New(t, testroot.WithHoldPkg("glibc"))
	files := func(name string) map[string]string {
		return map[string]string{"usr/share/" + name + "/data": strings.Repeat("x", 1000)}
	}
	r.InstallAsDeps(t,
		testroot.Pkg{Name: "glibc", Version: "2.40-1", Files: files("glibc")},
		testroot.Pkg{Name: "gtk3", Version: "3.24-1", Depends: []string{"cairo"}, Files: files("gtk3")},
		testroot.Pkg{Name: "cairo", Version: "1.18-1", Files: files("cairo")},
		testroot.Pkg{Name: "oldlib", Version: "1.0-1", Depends: []string{"oldlib-data"}, Files: files("oldlib")},
		testroot.Pkg{Name: "oldlib-data", Version: "1.0-1", Files: files("oldlib-data")},
		testroot.Pkg{Name: "cyc-a", Version: "1.0-1", Depends: []string{"cyc-b"}, Files: files("cyc-a")},
		testroot.Pkg{Name: "cyc-b", Version: "1.0-1", Depends: []string{"cyc-a"}, Files: files("cyc-b")},
	)
	r.Install(t, testroot.Pkg{Name: "firefox", Version: "130.0-1", Depends: []string{"gtk3"}, Backup: []string{"etc/firefox.conf"},
		Files: map[string]string{"etc/firefox.conf": "a=1\n", "usr/bin/firefox": "#!/bin/sh\n"}})
	r.AddRepo(t, "core", testroot.Pkg{Name: "glibc", Version: "2.40-1"}, testroot.Pkg{Name: "gtk3", Version: "3.24-1"},
		testroot.Pkg{Name: "cairo", Version: "1.18-1"}, testroot.Pkg{Name: "oldlib", Version: "1.0-1"}, testroot.Pkg{Name: "oldlib-data", Version: "1.0-1"},
		testroot.Pkg{Name: "cyc-a", Version: "1.0-1"}, testroot.Pkg{Name: "cyc-b", Version: "1.0-1"})
	if err := os.Remove(r.Path("usr/bin/firefox")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.Path("etc/firefox.conf.pacnew"), []byte("a=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReportText(t *testing.T) {
	r := reportRoot(t)
	out, stderr, code := run(t, nil, "--config", r.Config, "report", mySections)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := `pactidy report for ROOT, 8 packages installed

Orphaned packages (4, 3.91 KiB, 2 in dependency cycles): nothing you want needs them
  cyc-a        1.0-1  1000 B  cycle; removes also cyc-b, frees 1.95 KiB
  cyc-b        1.0-1  1000 B  cycle; removes also cyc-a, frees 1.95 KiB
  oldlib       1.0-1  1000 B  removes also oldlib-data, frees 1.95 KiB
  oldlib-data  1.0-1  1000 B  removes also oldlib, frees 1.95 KiB

Unneeded explicit packages (1, 14 B): nothing depends on them; review, do not remove blindly
  firefox  130.0-1  14 B

Foreign packages (1): in no sync database
  firefox  130.0-1

Missing files (1 in 1 package): reinstall to restore them
  firefox  /usr/bin/firefox

Pacnew, pacsave and pacorig files (1): merge them, e.g. with pacdiff
  /etc/firefox.conf.pacnew  pacnew  firefox
`
	if got := strings.ReplaceAll(out, r.Dir, "ROOT"); got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour without a terminal")
	}
}

func TestReportJSON(t *testing.T) {
	r := reportRoot(t)
	// --no-state: the findings carry no "new" mark (report_watch_test.go
	// checks those).
	out, _, code := run(t, nil, "--config", r.Config, "report", "--json", "--optional=ignore", "--no-state")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.SchemaVersion != 1 || rep.Root != r.Dir || rep.GeneratedAt.Format("2006-01-02T15:04:05Z07:00") != "2026-01-02T03:04:05Z" {
		t.Errorf("header: %d %q %v", rep.SchemaVersion, rep.Root, rep.GeneratedAt)
	}
	if !reflect.DeepEqual(rep.Sections, report.AllSections) {
		t.Errorf("sections %q, want all", rep.Sections)
	}
	var names []string
	for _, o := range rep.Orphans {
		names = append(names, o.Name)
	}
	if !reflect.DeepEqual(names, []string{"cyc-a", "cyc-b", "oldlib", "oldlib-data"}) {
		t.Errorf("orphans %q", names)
	}
	if o := rep.Orphans[2]; !reflect.DeepEqual(o.Removes, []string{"oldlib-data"}) || o.FreedBytes != 2000 || o.Cycle {
		t.Errorf("oldlib: %+v", o)
	}
	if !reflect.DeepEqual(rep.MissingFiles, []report.MissingFile{{Package: "firefox", Path: "/usr/bin/firefox"}}) {
		t.Errorf("missing %+v", rep.MissingFiles)
	}
	if !reflect.DeepEqual(rep.Pacfiles, []report.Pacfile{{Path: "/etc/firefox.conf.pacnew", Kind: "pacnew", Package: "firefox"}}) {
		t.Errorf("pacfiles %+v", rep.Pacfiles)
	}
	if !reflect.DeepEqual(rep.Foreign, []report.Foreign{{Name: "firefox", Version: "130.0-1"}}) || rep.ForeignUnknown {
		t.Errorf("foreign %+v %v", rep.Foreign, rep.ForeignUnknown)
	}

	// --only leaves the other sections out entirely.
	out, _, _ = run(t, nil, "--config", r.Config, "report", "--json", "--only", "orphans")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"unneeded", "foreign", "missing_files", "pacfiles", "unowned", "cache"} {
		if _, ok := m[k]; ok {
			t.Errorf("--only orphans printed %q", k)
		}
	}
	if _, ok := m["errors"]; !ok {
		t.Error("no errors key")
	}
}

func TestReportQuietAndExitCode(t *testing.T) {
	clean := testroot.New(t)
	clean.Install(t, testroot.Pkg{Name: "app", Version: "1-1"})
	clean.AddRepo(t, "core", testroot.Pkg{Name: "app", Version: "1-1"})
	r := reportRoot(t)
	tests := []struct {
		name     string
		root     *testroot.Root
		args     []string
		code     int
		printing bool
	}{
		{"quiet clean", clean, []string{"--quiet"}, exitOK, false},
		{"quiet findings", r, []string{"--quiet"}, exitOK, true},
		{"exit-code clean", clean, []string{"--exit-code"}, exitOK, true},
		{"exit-code findings", r, []string{"--exit-code"}, exitFindings, true},
		{"quiet exit-code clean", clean, []string{"--quiet", "--exit-code"}, exitOK, false},
		{"exit-code json", r, []string{"--exit-code", "--json"}, exitFindings, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The clean root's only package is an explicit leaf: unneeded
			// packages are listed but are no findings.
			args := append([]string{"--config", tt.root.Config, "report", mySections}, tt.args...)
			out, stderr, code := run(t, nil, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if (out != "") != tt.printing || (!tt.printing && stderr != "") {
				t.Errorf("stdout %q stderr %q", out, stderr)
			}
		})
	}
}

func TestReportPrometheus(t *testing.T) {
	r := reportRoot(t)
	out, _, code := run(t, nil, "--config", r.Config, "report", "--prometheus", "--only", "orphans,missing")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, l := range []string{"pactidy_orphans 4\n", "pactidy_orphans_bytes 4000\n", "pactidy_missing_files 1\n", "pactidy_errors 0\n", "pactidy_last_run_timestamp_seconds 1767323045\n", "# TYPE pactidy_orphans gauge\n"} {
		if !strings.Contains(out, l) {
			t.Errorf("no %q in\n%s", l, out)
		}
	}
	if strings.Contains(out, "pactidy_foreign") || strings.Contains(out, "pactidy_pacfiles") {
		t.Errorf("gauges of sections not computed:\n%s", out)
	}
}

func TestReportWhy(t *testing.T) {
	r := reportRoot(t)
	out, _, code := run(t, nil, "--config", r.Config, "report", "--why", "cairo", "--why", "firefox", "--why", "glibc", "--why", "cyc-a")
	want := `cairo: firefox -> gtk3 -> cairo
firefox: installed explicitly
glibc: kept by HoldPkg in pacman.conf
cyc-a: nothing keeps it: it is an orphan, in or below a dependency cycle (required only by orphans: cyc-b)
`
	if code != exitOK || out != want {
		t.Errorf("exit %d\n%s\nwant:\n%s", code, out, want)
	}
	out, _, _ = run(t, nil, "--config", r.Config, "report", "--json", "--why", "cairo")
	var whys []report.Why
	if err := json.Unmarshal([]byte(out), &whys); err != nil || len(whys) != 1 || len(whys[0].Chain) != 3 || whys[0].Reason != "required" {
		t.Errorf("why JSON %v: %s", err, out)
	}
	_, stderr, code := run(t, nil, "--config", r.Config, "report", "--why", "nosuchpkg")
	if code != exitFailure || !strings.Contains(stderr, "nosuchpkg") {
		t.Errorf("unknown package: exit %d, stderr %q", code, stderr)
	}
}

func TestReportForeignUnknown(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1-1"})
	out, _, code := run(t, nil, "--config", r.Config, "report", "--only", "foreign")
	if code != exitOK || !strings.Contains(out, "Foreign packages: unknown, no sync database could be read") {
		t.Errorf("exit %d\n%s", code, out)
	}
	out, _, _ = run(t, nil, "--config", r.Config, "report", "--only", "foreign", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil || m["foreign_unknown"] != true {
		t.Errorf("JSON %v: %s", err, out)
	}
}

func TestReportUsageErrors(t *testing.T) {
	r := testroot.New(t)
	for _, args := range [][]string{
		{"--only", "orphans,bogus"},
		{"--only", ""},
		{"--json", "--prometheus"},
		{"--quiet", "--json"},
		{"--optional", "maybe"},
		{"--why", "x", "--prometheus"},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := run(t, nil, append([]string{"--config", r.Config, "report"}, args...)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
		})
	}
}

func TestReportHelpDocumentsExitStatus(t *testing.T) {
	out, _, code := run(t, nil, "report", "--help")
	for _, s := range []string{"Exit status:", "  3  with --exit-code", "--only", "--quiet", "--optional"} {
		if code != exitOK || !strings.Contains(out, s) {
			t.Errorf("help lacks %q", s)
		}
	}
}

// Names with newlines, terminal escapes or bytes that are not UTF-8 stay
// on one escaped line on stderr, and JSON carries their exact bytes.
func TestReportOddPathsEscapedAndFaithful(t *testing.T) {
	r := reportRoot(t)
	pacnew := "etc/bad\xffname.conf.pacnew"
	if err := os.WriteFile(r.Path(pacnew), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stray := "stray\n\x1b[2J\xfe"
	if err := os.Mkdir(r.Path("var/lib/pacman/local/"+stray), 0o755); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, nil, "--config", r.Config, "report", "--only", "orphans")
	if code != exitOK || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "\x1b") || !strings.Contains(stderr, `stray\n\x1b[2J\xfe`) {
		t.Errorf("exit %d, stderr not one escaped line: %q", code, stderr)
	}

	out, _, code := run(t, nil, "--config", r.Config, "report", "--json", "--only", "pacfiles")
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	raw := func(b64 string) string {
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Errorf("path_bytes %q: %v", b64, err)
		}
		return string(b)
	}
	var found bool
	for _, p := range rep.Pacfiles {
		if strings.HasPrefix(p.Path, "/etc/bad") {
			found = true
			if raw(p.PathBytes) != "/"+pacnew {
				t.Errorf("pacfile %+v: path_bytes is not the exact path", p)
			}
		} else if p.PathBytes != "" {
			t.Errorf("pacfile %+v: path_bytes on a UTF-8 path", p)
		}
	}
	if !found {
		t.Errorf("odd .pacnew not reported: %+v", rep.Pacfiles)
	}
	if len(rep.Errors) != 1 || raw(rep.Errors[0].PathBytes) != r.Path("var/lib/pacman/local/"+stray) {
		t.Errorf("errors %+v: want the stray entry with its exact bytes", rep.Errors)
	}
}

// --why accepts what pacman -Qi accepts: a name some installed package
// provides explains the providers.
func TestReportWhyProvision(t *testing.T) {
	r := testroot.New(t)
	r.InstallAsDeps(t,
		testroot.Pkg{Name: "python", Version: "3.12.1-1", Provides: []string{"python3=3.12.1"}},
		testroot.Pkg{Name: "sha", Version: "1.0-1", Provides: []string{"sh"}},
		testroot.Pkg{Name: "shb", Version: "1.0-1", Provides: []string{"sh"}})
	r.Install(t, testroot.Pkg{Name: "app", Version: "1.0-1", Depends: []string{"python3>=3", "sh"}})
	if out := r.Pacman(t, "-Qi", "python3"); !strings.Contains(out, "python") {
		t.Fatalf("pacman -Qi python3 does not find python:\n%s", out)
	}
	out, stderr, code := run(t, nil, "--config", r.Config, "report", "--why", "python3", "--why", "sh", "--why", "python3>=3.12")
	want := `python3 (provided by python): app -> python
sh (provided by sha): app -> sha
sh (provided by shb): app -> shb
python3>=3.12 (provided by python): app -> python
`
	if code != exitOK || out != want {
		t.Errorf("exit %d, stderr %q\n%s\nwant:\n%s", code, stderr, out, want)
	}
	out, _, _ = run(t, nil, "--config", r.Config, "report", "--json", "--why", "python3")
	var whys []report.Why
	if err := json.Unmarshal([]byte(out), &whys); err != nil || len(whys) != 1 || whys[0].Package != "python" || whys[0].Query != "python3" {
		t.Errorf("why JSON %v: %s", err, out)
	}
	for _, name := range []string{"python3<3", "nosuch"} {
		if _, stderr, code := run(t, nil, "--config", r.Config, "report", "--why", name); code != exitFailure || !strings.Contains(stderr, name) {
			t.Errorf("--why %s: exit %d, stderr %q", name, code, stderr)
		}
	}
}

// --quiet prints nothing at all when nothing was found, pacman.conf's
// warnings included (cron mails any output); otherwise they are printed,
// also before an error they may explain.
func TestReportQuietHidesConfigWarnings(t *testing.T) {
	r := testroot.New(t, testroot.WithExtraConfig("DBpath = /typo"))
	r.Install(t, testroot.Pkg{Name: "app", Version: "1-1"})
	r.AddRepo(t, "core", testroot.Pkg{Name: "app", Version: "1-1"})
	const warning = "directive 'DBpath' in section 'options' not recognized"
	out, stderr, code := run(t, nil, "--config", r.Config, "report", mySections, "--quiet")
	if code != exitOK || out != "" || stderr != "" {
		t.Errorf("--quiet, nothing found: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	_, stderr, code = run(t, nil, "--config", r.Config, "report", mySections)
	if code != exitOK || !strings.Contains(stderr, warning) {
		t.Errorf("exit %d, stderr %q: no config warning", code, stderr)
	}
	if err := os.WriteFile(r.Path("etc/app.conf.pacnew"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, _ = run(t, nil, "--config", r.Config, "report", mySections, "--quiet")
	if out == "" || !strings.Contains(stderr, warning) {
		t.Errorf("--quiet with a finding: stdout %q, stderr %q", out, stderr)
	}
	_, stderr, code = run(t, nil, "--config", r.Config, "--dbpath", r.Path("nonexistent"), "report", "--quiet")
	if code != exitFailure || !strings.Contains(stderr, warning) || !strings.Contains(stderr, "nonexistent") {
		t.Errorf("failure: exit %d, stderr %q", code, stderr)
	}
}

// A relative --root (and --dbpath) means the directory below the current
// one, as for pacman; the report names it absolute, and pacman's database
// inside it is still recognized as not package territory.
func TestReportRelativeRoot(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1-1", Files: map[string]string{"usr/bin/app": "x"}})
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(filepath.Dir(r.Dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })
	rel := filepath.Base(r.Dir)
	for _, args := range [][]string{
		{"--root", rel + "/"}, // DBPath from pacman.conf, absolute
		{"--root", rel, "--dbpath", rel + "/var/lib/pacman"},
	} {
		args = append(append([]string{"--config", r.Config}, args...), "report", "--json", "--only", "missing,unowned", "--unowned-no-default-excludes")
		out, stderr, code := run(t, nil, args...)
		var rep report.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK {
			t.Fatalf("%q: exit %d, %v, stderr %q\n%s", args, code, err, stderr, out)
		}
		if rep.Root != r.Dir {
			t.Errorf("%q: root %q, want %q", args, rep.Root, r.Dir)
		}
		conf := false
		for _, u := range rep.Unowned {
			if strings.HasPrefix(u.Path, "/var/lib/pacman") || u.Path == "/var/lib/" || u.Path == "/var/" {
				t.Errorf("%q: pacman's database reported as unowned: %+v", args, u)
			}
			conf = conf || u.Path == "/etc/pacman.conf"
		}
		// The root was scanned: its pacman.conf belongs to no package.
		if !conf {
			t.Errorf("%q: /etc/pacman.conf not reported as unowned: %+v", args, rep.Unowned)
		}
		if len(rep.MissingFiles) != 0 || len(rep.Errors) != 0 {
			t.Errorf("%q: missing %+v, errors %+v", args, rep.MissingFiles, rep.Errors)
		}
	}
}
