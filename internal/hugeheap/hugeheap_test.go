package hugeheap

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// advised lists the address ranges of this process that carry the
// huge-page advice ("hg" in VmFlags of /proc/self/smaps).
func advised(t *testing.T) [][2]uintptr {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]uintptr
	var cur [2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			for _, fl := range strings.Fields(flags) {
				if fl == "hg" {
					out = append(out, cur)
				}
			}
			continue
		}
		// A mapping's first line: "start-end perms ...".
		rng, _, _ := strings.Cut(line, " ")
		lo, hi, ok := strings.Cut(rng, "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil {
			cur = [2]uintptr{uintptr(a), uintptr(b)}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func inside(rs [][2]uintptr, p unsafe.Pointer) bool {
	for _, r := range rs {
		if uintptr(p) >= r[0] && uintptr(p) < r[1] {
			return true
		}
	}
	return false
}

// TestReserve: after Reserve, what the program allocates next, large
// blocks and small objects alike, lies in memory advised for huge pages.
func TestReserve(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skipf("no transparent huge pages in this kernel: %v", err)
	}
	if disabled(os.Getenv("GODEBUG")) {
		t.Skip("GODEBUG disablethp=1")
	}
	before := advised(t)
	Reserve(64 << 20)
	big := make([]byte, 4<<20)
	big[0] = 1
	small := make([]*[1024]byte, 4096)
	for i := range small {
		small[i] = new([1024]byte)
	}
	after := advised(t)
	if len(after) <= len(before) {
		t.Fatalf("no new mapping advised for huge pages: %d before, %d after", len(before), len(after))
	}
	if !inside(after, unsafe.Pointer(&big[0])) {
		t.Errorf("a 4 MiB block allocated after Reserve is at %p, outside the advised ranges %x", &big[0], after)
	}
	n := 0
	for _, s := range small {
		if inside(after, unsafe.Pointer(s)) {
			n++
		}
	}
	if n < len(small)/2 {
		t.Errorf("%d of %d small objects allocated after Reserve lie in advised memory, want at least half", n, len(small))
	}
}

func TestDisabled(t *testing.T) {
	for in, want := range map[string]bool{
		"":                            false,
		"disablethp=1":                true,
		"disablethp=0":                false,
		"madvdontneed=1,disablethp=1": true,
		"disablethp=1, disablethp=0":  false,
		"gctrace=1":                   false,
		"xdisablethp=1":               false,
	} {
		if got := disabled(in); got != want {
			t.Errorf("disabled(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestLimited: under a limit on address space or data size (ulimit -v,
// ulimit -d) nothing is reserved.
func TestLimited(t *testing.T) {
	if limited() {
		t.Skip("this test runs under a limit already")
	}
	for _, res := range []int{unix.RLIMIT_AS, unix.RLIMIT_DATA} {
		var saved unix.Rlimit
		if err := unix.Getrlimit(res, &saved); err != nil {
			t.Fatal(err)
		}
		lim := saved
		lim.Cur = 1 << 40
		if err := unix.Setrlimit(res, &lim); err != nil {
			t.Fatal(err)
		}
		got := limited()
		if err := unix.Setrlimit(res, &saved); err != nil {
			t.Fatal(err)
		}
		if !got {
			t.Errorf("limit %d set to 1 TiB: limited() = false", res)
		}
	}
	if limited() {
		t.Error("limits restored: limited() = true")
	}
}
