package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/internal/testroot"
)

func TestQuarantineCommand(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1.0-1", Files: map[string]string{"opt/app/bin/app": "#!/bin/sh\n"}})
	paths := []string{"/opt/app/cache.db", "/opt/app/esc\x1b[31mred", "/opt/app/plugins"}
	os.WriteFile(r.Path(paths[0]), []byte("cache"), 0o644)
	os.WriteFile(r.Path(paths[1]), []byte("hostile name"), 0o644)
	os.MkdirAll(r.Path(paths[2]+"/x"), 0o755)
	os.WriteFile(r.Path(paths[2]+"/x/y.so"), []byte("plugin"), 0o755)

	st, err := quarantine.Open(quarantine.DefaultDir(r.Dir))
	if err != nil {
		t.Fatal(err)
	}
	run0, err := st.Begin(quarantine.Options{Root: r.Dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		e, err := quarantine.Stat(r.Dir, p)
		if err != nil {
			t.Fatal(err)
		}
		if res := run0.Quarantine(e); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	run0.Close()
	st.Close()
	g := []string{"--config", r.Config}

	out, errOut, code := run(t, nil, append(g, "quarantine", "list", "--json")...)
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0]["id"] != run0.ID || list[0]["entries"] != float64(3) || list[0]["bytes"] != float64(5+12+6) || list[0]["state"] != "complete" {
		t.Fatalf("list --json: %s", out)
	}
	for _, k := range []string{"id", "created", "entries", "bytes", "state"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("list --json lacks %q", k)
		}
	}

	out, _, code = run(t, nil, append(g, "quarantine", "show", run0.ID)...)
	if code != 0 || !strings.Contains(out, "/opt/app/plugins/x/y.so") || strings.Contains(out, "\x1b") || !strings.Contains(out, `"/opt/app/esc\x1b[31mred"`) {
		t.Fatalf("show (%d):\n%s", code, out)
	}

	out, _, code = run(t, nil, append(g, "quarantine", "restore", run0.ID, "/opt/app/plugins/")...)
	if code != 0 || out != "restored: /opt/app/plugins\n" {
		t.Fatalf("restore one (%d): %q", code, out)
	}
	if b, err := os.ReadFile(r.Path("/opt/app/plugins/x/y.so")); err != nil || string(b) != "plugin" {
		t.Fatalf("restored file: %q %v", b, err)
	}
	os.WriteFile(r.Path(paths[0]), []byte("new"), 0o644)
	out, _, code = run(t, nil, append(g, "quarantine", "restore", run0.ID)...)
	if code != 1 || !strings.Contains(out, "not restored: /opt/app/cache.db: exists again") || !strings.Contains(out, "already restored: /opt/app/plugins") {
		t.Fatalf("restore over an existing file (%d):\n%s", code, out)
	}
	out, _, code = run(t, nil, append(g, "quarantine", "restore", "--force", run0.ID, paths[0])...)
	if code != 0 || !strings.Contains(out, "restored: /opt/app/cache.db (the file that was there is in quarantine run ") {
		t.Fatalf("restore --force (%d):\n%s", code, out)
	}
	out, _, _ = run(t, nil, append(g, "quarantine", "list")...)
	if !strings.Contains(out, "restored (3 of 3 entries restored)") || !strings.Contains(out, "  1        3 B   complete") {
		t.Fatalf("list:\n%s", out)
	}

	if _, _, code := run(t, nil, append(g, "quarantine", "purge")...); code != 2 {
		t.Errorf("purge without an argument: exit %d, want 2", code)
	}
	if _, _, code := run(t, nil, append(g, "quarantine", "purge", "--older-than", "soon")...); code != 2 {
		t.Errorf("purge --older-than soon: exit %d, want 2", code)
	}
	out, _, code = run(t, nil, append(g, "quarantine", "purge", run0.ID)...)
	if code != 0 || out != "purged "+run0.ID+"\n" {
		t.Fatalf("purge (%d): %q", code, out)
	}
	// The test clock is in 2026-01-02, before the runs were made.
	out, _, code = run(t, nil, append(g, "quarantine", "purge", "--older-than", "0d")...)
	if code != 0 || out != "" {
		t.Fatalf("purge --older-than 0d (%d): %q", code, out)
	}
	if _, _, code := run(t, nil, append(g, "quarantine", "show", run0.ID)...); code != 1 {
		t.Errorf("show a purged run: exit %d", code)
	}

	// Another store, given by --quarantine-dir, that does not exist: empty.
	out, _, code = run(t, nil, append(g, "quarantine", "list", "--json", "--quarantine-dir", filepath.Join(t.TempDir(), "none"))...)
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("list of a missing store (%d): %q", code, out)
	}
}

// The unowned scan never reports the quarantine: the default one of the
// root, nor one the settings put elsewhere.
func TestReportSkipsQuarantine(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1.0-1", Files: map[string]string{"opt/app/bin/app": "#!/bin/sh\n"}})
	for _, p := range []string{"/var/lib/pactidy/quarantine/20260101T000000-abcd/data/0", "/opt/app/q/20260101T000000-abcd/data/0", "/opt/app/stray"} {
		os.MkdirAll(filepath.Dir(r.Path(p)), 0o700)
		os.WriteFile(r.Path(p), []byte("x"), 0o600)
	}
	conf := filepath.Join(t.TempDir(), "pactidy.conf")
	os.WriteFile(conf, []byte("[quarantine]\nDir = "+r.Path("/opt/app/q")+"\n"), 0o644)
	out, errOut, code := run(t, nil, "--config", r.Config, "--settings", conf, "report", "--only", "unowned", "--json")
	if code != 0 {
		t.Fatalf("report: %d %s", code, errOut)
	}
	var rep struct {
		Unowned []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range rep.Unowned {
		got = append(got, u.Path)
	}
	if !strings.Contains(strings.Join(got, " "), "/opt/app/stray") {
		t.Fatalf("the scan did not run: %v", got)
	}
	for _, p := range got {
		if strings.HasPrefix(p, "/opt/app/q") || strings.HasPrefix(p, "/var/lib/pactidy") {
			t.Errorf("the report lists the quarantine: %q", p)
		}
	}
}
