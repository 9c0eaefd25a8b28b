package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	if _, stderr, code := run(t, nil, "man", dir); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for page, want := range map[string][]string{
		"pactidy.1":        {".TH \"PACTIDY\" \"1\"", "--config", "pactidy-report(1)"},
		"pactidy-report.1": {"--only", "--exit-code", "Exit status", "pacman -Qdt"},
		"pactidy-cache.1":  {"--keep", "--remove"},
		"pactidy-allow.1":  {"path-if-installed"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not mention %q", page, w)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pactidy-man.1")); err == nil {
		t.Error("the hidden man command got a page of its own")
	}
}
