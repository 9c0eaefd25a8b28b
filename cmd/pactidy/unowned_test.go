package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/testroot"
)

// unownedRoot is a pacman-built root with a few planted unowned paths.
func unownedRoot(t *testing.T) *testroot.Root {
	t.Helper()
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "foo", Version: "1.0-1", Files: map[string]string{
		"usr/bin/foo": "x", "usr/share/foo/data": "d", "etc/foo.conf": "c",
	}})
	for rel, content := range map[string]string{
		"opt/app/a":                  "aaa",
		"opt/app/b/c":                "cc",
		"usr/share/foo/new\nline":    "n",
		"usr/share/foo/bad\xffname":  "b",
		"etc/machine-id":             "id",
		"etc/kept.conf":              "k",
		"etc/pacreport-kept":         "k",
		"usr/share/foo/lostfiles-ok": "k",
	} {
		p := r.Path(rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

type unownedJSON struct {
	Unowned []struct {
		Path      string `json:"path"`
		Type      string `json:"type"`
		Size      int64  `json:"size"`
		Entries   int    `json:"entries"`
		PathBytes string `json:"path_bytes"`
		HiddenBy  string `json:"hidden_by"`
	} `json:"unowned"`
	Errors []struct{ Path, Error string } `json:"errors"`
}

func TestReportUnownedJSON(t *testing.T) {
	r := unownedRoot(t)
	etc := t.TempDir()
	os.WriteFile(filepath.Join(etc, "pacreport.conf"), []byte("[Options]\nIgnoreUnowned = etc/pacreport-kept\n"), 0o644)
	os.WriteFile(filepath.Join(etc, "lostfiles.conf"), []byte("-/usr/share/foo/lostfiles-ok\n"), 0o644)
	extra := filepath.Join(t.TempDir(), "extra")
	os.WriteFile(extra, []byte("path etc/kept.conf\n"), 0o644)
	env := map[string]string{"PACTIDY_SYSCONFDIR": etc}
	base := []string{"--config", r.Config, "--root", r.Dir, "--dbpath", r.DBPath, "--allowlist", extra}

	out, stderr, code := run(t, env, append(base, "report", "--only", "unowned", "--json")...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("invalid JSON:\n%s", out)
	}
	var rep unownedJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range rep.Unowned {
		got[u.Path] = u.Type
		if u.PathBytes != "" {
			raw, _ := base64.StdEncoding.DecodeString(u.PathBytes)
			got["raw:"+string(raw)] = u.Type
		}
	}
	for p, typ := range map[string]string{
		"/opt/":                          "dir",
		"/usr/share/foo/new\nline":       "file",
		"/usr/share/foo/bad\ufffdname":   "file",
		"raw:/usr/share/foo/bad\xffname": "file",
		"/etc/pacman.conf":               "file",
	} {
		if got[p] != typ {
			t.Errorf("%q: type %q, want %q (all: %v)", p, got[p], typ, got)
		}
	}
	for _, p := range []string{"/etc/machine-id", "/etc/kept.conf", "/etc/pacreport-kept", "/usr/share/foo/lostfiles-ok", "/var/", "/var/lib/pacman/"} {
		if _, ok := got[p]; ok {
			t.Errorf("%q reported", p)
		}
	}
	for _, u := range rep.Unowned {
		if u.Path == "/opt/" && (u.Entries != 4 || u.Size != 5) {
			t.Errorf("/opt/ = %+v, want 4 entries, 5 bytes", u)
		}
	}

	// --show-hidden marks what the rules hide; --no-rule reports it plainly.
	out, _, _ = run(t, env, append(base, "report", "--only", "unowned", "--json", "--show-hidden")...)
	if !strings.Contains(out, `"hidden_by": "machine-id"`) {
		t.Errorf("--show-hidden: no machine-id entry:\n%s", out)
	}
	out, _, _ = run(t, env, append(base, "report", "--only", "unowned", "--json", "--no-rule", "machine-id")...)
	if !strings.Contains(out, `"path": "/etc/machine-id"`) || strings.Contains(out, "hidden_by") {
		t.Errorf("--no-rule machine-id:\n%s", out)
	}
	if _, stderr, code := run(t, env, append(base, "report", "--only", "unowned", "--no-rule", "bogus")...); code != exitUsage || !strings.Contains(stderr, "unknown rule") {
		t.Errorf("--no-rule bogus: exit %d, %s", code, stderr)
	}
	out, stderr, code = run(t, env, append(base, "report", "--only", "unowned", "--json", "--unowned-exclude", "/opt")...)
	if code != exitOK || strings.Contains(out, `"/opt/"`) || !strings.Contains(out, `"/etc/pacman.conf"`) {
		t.Errorf("--unowned-exclude /opt: exit %d, stderr %q\n%s", code, stderr, out)
	}

	// Text: names with a newline or invalid UTF-8 stay on one line, escaped.
	out, _, code = run(t, env, append(base, "report", "--only", "unowned", "--color", "never")...)
	if code != exitOK {
		t.Fatalf("text: exit %d", code)
	}
	for _, want := range []string{`"/usr/share/foo/new\nline"`, `"/usr/share/foo/bad\xffname"`, "/opt/", "4 entries", "Files no package owns"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %s:\n%s", want, out)
		}
	}
	if _, _, code := run(t, env, append(base, "report", "--only", "unowned", "--exit-code")...); code != exitFindings {
		t.Errorf("--exit-code with unowned files: exit %d, want %d", code, exitFindings)
	}
}

func TestReportBadAllowlistStopsTheRun(t *testing.T) {
	r := unownedRoot(t)
	etc := t.TempDir()
	os.MkdirAll(filepath.Join(etc, "pactidy"), 0o755)
	file := filepath.Join(etc, "pactidy", "allowlist")
	os.WriteFile(file, []byte("path /opt\n# ok\nkeep /etc\n"), 0o644)
	_, stderr, code := run(t, map[string]string{"PACTIDY_SYSCONFDIR": etc},
		"--config", r.Config, "--root", r.Dir, "--dbpath", r.DBPath, "report", "--only", "unowned")
	if code != exitFailure || !strings.Contains(stderr, file+":3: unknown entry \"keep\"") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestAllowCommand(t *testing.T) {
	etc := t.TempDir()
	env := map[string]string{"PACTIDY_SYSCONFDIR": etc}
	file := filepath.Join(etc, "pactidy", "allowlist")
	steps := []struct {
		args []string
		code int
		out  string // substring of stdout+stderr
	}{
		{[]string{"allow", "add", "path", "/opt/foo"}, exitOK, "added \"path /opt/foo\""},
		{[]string{"allow", "add", "/srv/**/*.keep"}, exitOK, "added \"path /srv/**/*.keep\""},
		{[]string{"allow", "add", "package", "linux-lts"}, exitOK, "added"},
		{[]string{"allow", "add", "path-if-installed", "docker", "var/lib/docker"}, exitOK, "path-if-installed docker /var/lib/docker"},
		{[]string{"allow", "add", "path", "opt/foo"}, exitFailure, file + ":1"},
		{[]string{"allow", "add", "keep", "x"}, exitUsage, "unknown entry"},
		{[]string{"allow", "add", "path", "/etc/[x"}, exitUsage, "unterminated"},
		{[]string{"allow", "remove", "package", "linux-lts"}, exitOK, "removed"},
		{[]string{"allow", "remove", "package", "linux-lts"}, exitFailure, "not in the allowlist"},
		{[]string{"allow", "list"}, exitOK, "path /opt/foo"},
	}
	for _, s := range steps {
		out, stderr, code := run(t, env, s.args...)
		if code != s.code || !strings.Contains(out+stderr, s.out) {
			t.Errorf("%v: exit %d, output %q %q; want exit %d with %q", s.args, code, out, stderr, s.code, s.out)
		}
	}
	data, _ := os.ReadFile(file)
	want := "path /opt/foo\npath /srv/**/*.keep\npath-if-installed docker /var/lib/docker\n"
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	out, _, _ := run(t, env, "allow", "list")
	if !strings.Contains(out, file+":3") {
		t.Errorf("list lacks sources:\n%s", out)
	}
	// --file edits another file.
	other := filepath.Join(t.TempDir(), "other")
	if _, stderr, code := run(t, env, "allow", "--file", other, "add", "package", "x"); code != exitOK {
		t.Fatalf("--file: %s", stderr)
	}
	if data, _ := os.ReadFile(other); string(data) != "package x\n" {
		t.Errorf("--file wrote %q", data)
	}
}
