package main

import (
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/testroot"
)

// complete asks the completion machinery the shells use (the hidden
// __complete command) and returns the candidates.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	out, stderr, code := run(t, nil, append([]string{"__complete"}, args...)...)
	if code != exitOK {
		t.Fatalf("__complete %v: exit %d: %s", args, code, stderr)
	}
	var vals []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			vals = append(vals, strings.SplitN(l, "\t", 2)[0])
		}
	}
	return vals
}

func TestCompletions(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "alpha", Version: "1-1"}, testroot.Pkg{Name: "beta", Version: "1-1"})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"report", "--only", ""}, strings.Join([]string{"orphans", "unneeded", "foreign", "missing", "pacfiles", "unowned", "cache"}, " ")},
		{[]string{"report", "--only", "orphans,cache,f"}, "orphans,cache,unneeded orphans,cache,foreign orphans,cache,missing orphans,cache,pacfiles orphans,cache,unowned"},
		{[]string{"report", "--optional", ""}, "keep ignore"},
		{[]string{"--color", ""}, "auto always never"},
		{[]string{"--config", r.Config, "report", "--why", ""}, "alpha beta"},
		{[]string{"--config", r.Config, "cache", "--ignore", "alpha,"}, "alpha,beta"},
		{[]string{"--config", r.Dir + "/missing.conf", "report", "--why", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			// The shell filters by prefix; the candidates are what we give it.
			if got := strings.Join(complete(t, tt.args...), " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	rules := strings.Join(complete(t, "report", "--no-rule", ""), " ")
	if !strings.Contains(rules, "machine-id") || !strings.HasSuffix(rules, " all") {
		t.Errorf("--no-rule candidates %q", rules)
	}
}
