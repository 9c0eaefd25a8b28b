package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Sample is one timed run.
type Sample struct {
	WallNS    int64 `json:"wall_ns"`
	MaxRSSKiB int64 `json:"maxrss_kib"`
	// RSSFloorKiB is the harness's own peak RSS when the command started:
	// Linux reports at least that much for the child (see rssFloor), so a
	// MaxRSSKiB at the floor means "this much or less".
	RSSFloorKiB int64 `json:"rss_floor_kib"`
}

// Measured is a command with its samples.
type Measured struct {
	*Command
	Samples []Sample `json:"samples"`
	// Error is set when the command failed; it is then not timed further.
	Error string `json:"error,omitempty"`
	// Output summarizes what the warm-up run printed.
	Output string `json:"output,omitempty"`
}

// Stats are the figures of a measured command.
type Stats struct {
	MedianNS   int64 `json:"median_ns"`
	MinNS      int64 `json:"min_ns"`
	MaxNS      int64 `json:"max_ns"`
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	// AtFloor is set when the peak RSS is not above the harness's own.
	AtFloor bool `json:"rss_at_floor,omitempty"`
}

func (m *Measured) Stats() (Stats, bool) {
	if m == nil || m.Error != "" || len(m.Samples) == 0 {
		return Stats{}, false
	}
	walls := make([]int64, len(m.Samples))
	var st Stats
	var floor int64
	for i, s := range m.Samples {
		walls[i] = s.WallNS
		st.PeakRSSKiB = max(st.PeakRSSKiB, s.MaxRSSKiB)
		floor = max(floor, s.RSSFloorKiB)
	}
	st.AtFloor = st.PeakRSSKiB <= floor
	slices.Sort(walls)
	st.MinNS, st.MaxNS = walls[0], walls[len(walls)-1]
	if n := len(walls); n%2 == 1 {
		st.MedianNS = walls[n/2]
	} else {
		st.MedianNS = (walls[n/2-1] + walls[n/2]) / 2
	}
	return st, true
}

// measure runs every command once untimed (warming the page cache and
// checking that it works), then reps rounds of all commands in turn, so
// that drift on a noisy machine spreads over all of them alike.
//
// The commands that drop the page cache before each run (Cold) have a
// phase of their own after the others: in the same rotation, each drop
// would leave the command after it to read its files from the disk.
func measure(ctx context.Context, cmds []*Command, reps int, logf func(string, ...any)) ([]*Measured, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	out := make([]*Measured, len(cmds))
	for i, c := range cmds {
		out[i] = &Measured{Command: c}
	}
	for _, cold := range []bool{false, true} {
		var phase []*Measured
		for _, m := range out {
			if m.Command.Cold == cold {
				phase = append(phase, m)
			}
		}
		if len(phase) == 0 {
			continue
		}
		if err := measurePhase(ctx, phase, reps, devnull, cold, logf); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func measurePhase(ctx context.Context, phase []*Measured, reps int, devnull *os.File, cold bool, logf func(string, ...any)) error {
	for _, m := range phase {
		var stdout bytes.Buffer
		if _, err := runOnce(ctx, m.Command, &stdout); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.Error = err.Error()
			logf("  %s: n/a (%s)", m.Command.ID, m.Error)
			continue
		}
		if m.Command.Summarize != nil {
			m.Output = m.Command.Summarize(stdout.Bytes())
		}
	}
	what := "round"
	if cold {
		what = "cold round"
	}
	for rep := range reps {
		logf("  %s %d/%d", what, rep+1, reps)
		for _, m := range phase {
			if m.Error != "" {
				continue
			}
			s, err := runOnce(ctx, m.Command, devnull)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				m.Error = err.Error()
				continue
			}
			m.Samples = append(m.Samples, s)
		}
	}
	return nil
}

// runTimeout stops a command that hangs; it is then recorded as failed.
const runTimeout = 10 * time.Minute

// runOnce runs c as a subprocess: the wall time of the process and its
// peak resident set size.
func runOnce(ctx context.Context, c *Command, stdout io.Writer) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "NO_COLOR=1")
	cmd.Stdout = stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if c.Cold {
		if err := dropCaches(); err != nil {
			return Sample{}, fmt.Errorf("error: drop the page cache (needs root): %v", err)
		}
	}
	floor := rssFloor()
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		var ee *exec.ExitError
		if ctx.Err() == context.DeadlineExceeded {
			return Sample{}, fmt.Errorf("error: no exit after %v", runTimeout)
		}
		if !errors.As(err, &ee) || !slices.Contains(c.OK, ee.ExitCode()) {
			msg := firstLine(stderr.String())
			if msg == "" {
				return Sample{}, fmt.Errorf("error: %v", err)
			}
			return Sample{}, fmt.Errorf("error: %v: %s", err, msg)
		}
	}
	s := Sample{WallNS: wall.Nanoseconds(), RSSFloorKiB: floor}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.MaxRSSKiB = ru.Maxrss
	}
	return s, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// rssFloor lowers the harness's peak RSS to its current size and returns
// it. Go starts a child with vfork, so the child shares the harness's
// memory until it execs, and Linux carries that memory's high-water mark
// into the child's ru_maxrss: without the reset every command would show
// the harness's own peak (large after generating a root). Writing 5 to
// clear_refs (Linux 4.0+) resets the mark; if that fails the floor is
// simply higher.
func rssFloor() int64 {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return procStatusKiB("VmHWM")
}

// procStatusKiB reads a "Key:  N kB" line of /proc/self/status.
func procStatusKiB(key string) int64 {
	var n int64
	if v := procField("/proc/self/status", key); v != "" {
		fmt.Sscanf(v, "%d", &n)
	}
	return n
}

// dropCaches writes dirty pages back and drops the page cache, dentries
// and inodes, so that the next command reads everything from the disk.
func dropCaches() error {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
}
