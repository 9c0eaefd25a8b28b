// Package fsafetest attacks file operations the way a local user would:
// a process running as nobody swaps two names with renameat2
// RENAME_EXCHANGE in a loop while the test, as root, works on them. Test
// packages that use Swap call Main from their TestMain.
package fsafetest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const envSwap = "PACTIDY_FSAFETEST_SWAP"

// Nobody is the uid and gid the swapper runs as (nobody and nogroup on
// Debian and Arch).
const Nobody = 65534

// Main runs the swapper when the test binary was started as one (by Swap)
// and exits; otherwise it returns at once. Call it first in TestMain, and
// Cleanup after m.Run.
func Main() {
	v := os.Getenv(envSwap)
	if v == "" {
		return
	}
	a, b, ok := strings.Cut(v, "\n")
	if !ok {
		fmt.Fprintln(os.Stderr, "fsafetest: bad swap spec")
		os.Exit(2)
	}
	swapLoop(a, b)
	os.Exit(0)
}

// swapLoop exchanges a and b until standard input closes, then prints the
// number of exchanges that succeeded.
func swapLoop(a, b string) {
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	fmt.Println("ready")
	n, failed := 0, 0
	for {
		select {
		case <-done:
			fmt.Println(n, failed)
			return
		default:
		}
		for i := 0; i < 64; i++ {
			if unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE) == nil {
				n++
			} else {
				failed++
			}
		}
	}
}

var exe struct {
	sync.Mutex
	path string
}

// Exe is a copy of the running test binary that nobody can run (go test
// builds it in a directory only root can enter). The copy is made once per
// process and lives under os.TempDir until Cleanup.
func Exe(t testing.TB) string {
	t.Helper()
	exe.Lock()
	defer exe.Unlock()
	if exe.path != "" {
		return exe.path
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "fsafetest-exe-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	p := filepath.Join(dir, filepath.Base(self))
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	exe.path = p
	return p
}

// Cleanup removes the copy Exe made; call it from TestMain after m.Run.
func Cleanup() {
	exe.Lock()
	defer exe.Unlock()
	if exe.path != "" {
		os.RemoveAll(filepath.Dir(exe.path))
		exe.path = ""
	}
}

// Swapper is a running swap loop.
type Swapper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	// Swaps and Failed are the numbers of exchanges done and refused,
	// set by Stop.
	Swaps, Failed int
}

// Swap starts a process as nobody that exchanges the paths a and b
// (absolute, in directories nobody can write) in a loop until Stop. It
// skips the test when not run as root.
func Swap(t testing.TB, a, b string) *Swapper {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the swapper as another user")
	}
	cmd := exec.Command(Exe(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), envSwap+"="+a+"\n"+b)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody}}
	cmd.Stderr = os.Stderr
	s := &Swapper{cmd: cmd}
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.out = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the swapper: %v", err)
	}
	line, err := s.out.ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the swapper did not start: %q %v", line, err)
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Stop ends the loop and records how many exchanges it made. The test
// fails when the swapper never managed one (the attack did not run).
func (s *Swapper) Stop(t testing.TB) {
	if s.stdin == nil {
		return
	}
	s.stdin.Close()
	s.stdin = nil
	line, _ := s.out.ReadString('\n')
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("swapper: %v", err)
	}
	f := strings.Fields(line)
	if len(f) == 2 {
		s.Swaps, _ = strconv.Atoi(f[0])
		s.Failed, _ = strconv.Atoi(f[1])
	}
	if s.Swaps == 0 {
		t.Errorf("the swapper made no exchange (%d refused): the attack never ran", s.Failed)
	}
}

// Dir makes a directory for an attack, removed after the test: world
// traversable, owned by nobody when owned is true (so the swapper can
// change its entries), by root otherwise.
func Dir(t testing.TB, owned bool) string {
	t.Helper()
	d, err := os.MkdirTemp("", "fsafe-race-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if owned {
		if err := os.Chown(d, Nobody, Nobody); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// Budget bounds a race loop by count and by time, whichever ends first.
type Budget struct {
	Tries    int
	Duration time.Duration
	start    time.Time
	n        int
}

// Next tells whether another try fits the budget.
func (b *Budget) Next() bool {
	if b.start.IsZero() {
		b.start = time.Now()
	}
	if b.n >= b.Tries || time.Since(b.start) >= b.Duration {
		return false
	}
	b.n++
	return true
}

// Done is the number of tries made and the time they took.
func (b *Budget) Done() (int, time.Duration) { return b.n, time.Since(b.start) }

// MkdirAs creates dir owned by nobody (for the entries the attacker owns).
func MkdirAs(t testing.TB, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, Nobody, Nobody); err != nil {
		t.Fatal(err)
	}
}

// Chown gives path (not followed) to nobody.
func Chown(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Lchown(p, Nobody, Nobody); err != nil {
			t.Fatal(err)
		}
	}
}

// Tmpfs mounts a tmpfs of the given size ("1m") of the test's own on a new
// directory and unmounts it after the test: another filesystem, or a full
// one. It skips the test when not run as root.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	d := filepath.Join(Dir(t, false), "tmpfs")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", d, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(d, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", d, err)
		}
	})
	return d
}
