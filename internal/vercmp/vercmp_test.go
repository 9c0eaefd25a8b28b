package vercmp

import (
	"fmt"
	"math/rand"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Cases from pacman's own test/util/vercmptest.sh.
var cases = []struct {
	a, b string
	want int
}{
	{"1.5.0", "1.5.0", 0},
	{"1.5.1", "1.5.0", 1},
	{"1.5.1", "1.5", 1},
	{"1.5.0-1", "1.5.0-1", 0},
	{"1.5.0-1", "1.5.0-2", -1},
	{"1.5.0-1", "1.5.1-1", -1},
	{"1.5.0-2", "1.5.1-1", -1},
	{"1.5-1", "1.5", 0},
	{"1.5-1", "1.5-1.1", -1},
	{"1.1-1", "1.1", 0},
	{"1.0-1", "1.1", -1},
	{"1.1-1", "1.0", 1},
	{"1.5b-1", "1.5-1", -1},
	{"1.5b", "1.5", -1},
	{"1.5b-1", "1.5", -1},
	{"1.5b", "1.5.1", -1},
	{"1.0", "1.0.a", -1},
	{"1.0.a", "1.0", 1},
	{"1.0rc1", "1.0", -1},
	{"1.0", "1.0.1", -1},
	{"1.0a", "1.0alpha", -1},
	{"1.0pre", "1.0.1", -1},
	{"1.5.a", "1.5.0", -1},
	{"1.0.1", "1.0.a", 1},
	{"1.0_a", "1.0.a", 0},
	{"1.0.a", "1.0..a", -1},
	{"0:1.0", "1.0", 0},
	{"1:1.0", "1.0", 1},
	{"1:1.0", "2.0", 1},
	{"2:1.0", "1:1.0", 1},
	{"1:1.0", "1:1.0-1", 0},
	{"1:1.0-1", "1:1.1-1", -1},
	{"1.0-1", "1:0.1", -1},
	{"1.01", "1.1", 0},
	{"1.10", "1.9", 1},
	{"abc", "abd", -1},
	{"1.0-1.1", "1.0-1.2", -1},
	{"1.0-1", "1.0-1.1", -1},
}

func TestCompare(t *testing.T) {
	for _, c := range cases {
		t.Run(c.a+"_vs_"+c.b, func(t *testing.T) {
			if got := Compare(c.a, c.b); got != c.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
			}
			if got := Compare(c.b, c.a); got != -c.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
			}
		})
	}
}

// TestAgainstVercmpTool compares with pacman's own vercmp(8) on generated
// versions mixing epochs, separators, alpha and numeric segments.
func TestAgainstVercmpTool(t *testing.T) {
	tool, err := exec.LookPath("vercmp")
	if err != nil {
		t.Fatalf("vercmp(8) not found (run scripts/install-deps.sh): %v", err)
	}
	rng := rand.New(rand.NewSource(1))
	parts := []string{"0", "1", "2", "10", "01", "a", "b", "rc", "alpha", "pre", "r3"}
	seps := []string{".", ".", "_", "+", ".."}
	gen := func() string {
		var sb strings.Builder
		if rng.Intn(5) == 0 {
			sb.WriteString(parts[rng.Intn(3)] + ":")
		}
		n := 1 + rng.Intn(4)
		for i := 0; i < n; i++ {
			if i > 0 {
				sb.WriteString(seps[rng.Intn(len(seps))])
			}
			sb.WriteString(parts[rng.Intn(len(parts))])
		}
		if rng.Intn(2) == 0 {
			sb.WriteString("-" + parts[rng.Intn(3)])
		}
		return sb.String()
	}
	// One shell invocation for all pairs keeps this quick.
	var script strings.Builder
	var pairs [][2]string
	for i := 0; i < 400; i++ {
		a, b := gen(), gen()
		pairs = append(pairs, [2]string{a, b})
		fmt.Fprintf(&script, "%s '%s' '%s'\n", tool, a, b)
	}
	out, err := exec.Command("sh", "-c", script.String()).Output()
	if err != nil {
		t.Fatalf("running vercmp: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(pairs) {
		t.Fatalf("vercmp printed %d results for %d pairs", len(lines), len(pairs))
	}
	for i, p := range pairs {
		want, _ := strconv.Atoi(lines[i])
		if got := Compare(p[0], p[1]); got != want {
			t.Errorf("Compare(%q, %q) = %d, vercmp says %d", p[0], p[1], got, want)
		}
	}
}
