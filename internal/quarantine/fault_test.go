package quarantine

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
	"github.com/pactidy/pactidy/scan"
)

// The fault-injection test runs the quarantine in a helper process (this
// test binary, re-executed) and kills it with SIGKILL at a random step
// (or after a random time), then recovers in the test process and checks
// that every entry is either in place, unchanged, or in the quarantine
// with its manifest lines, never both and never neither; then restores
// everything and checks that it is byte-identical with its metadata.

const helperEnv = "PACTIDY_QUARANTINE_HELPER"

type jobEntry struct {
	Path     []byte
	Type     Type
	Dev, Ino uint64
	Size     int64
}

type job struct {
	Op       string // "quarantine" or "restore"
	Root     string
	Store    string
	RunID    string
	Entries  []jobEntry
	Owned    []string
	KillStep int // SIGKILL itself at this step (0: never)
	UID      uint32
	// ExpectErr: every entry must fail (and stay in place).
	ExpectErr bool
	Delete    bool
}

func TestMain(m *testing.M) {
	if f := os.Getenv(helperEnv); f != "" {
		os.Exit(helper(f))
	}
	os.Exit(m.Run())
}

// helper runs one job; it prints the number of steps it went through.
func helper(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var j job
	if err := json.Unmarshal(b, &j); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	steps := 0
	faultHook = func(string) {
		steps++
		if steps == j.KillStep {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	st, err := Open(j.Store)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := st.Recover(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch j.Op {
	case "quarantine":
		owned := scan.OwnedSetOf(j.Owned)
		run, err := st.Begin(Options{Root: j.Root, Delete: j.Delete, Owned: func(p string) bool { return owned.Has(strings.Trim(p, "/")) }})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var ents []Entry
		for _, e := range j.Entries {
			ents = append(ents, Entry{Path: string(e.Path), Type: e.Type, Dev: e.Dev, Ino: e.Ino, Size: e.Size})
		}
		res, _ := run.QuarantineAll(context.Background(), ents)
		for _, r := range res {
			if (r.Err != nil) != j.ExpectErr {
				fmt.Fprintf(os.Stderr, "%q: %v\n", r.Entry.Path, r.Err)
				return 1
			}
		}
		if err := run.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(run.ID)
	case "restore":
		if j.RunID == "" {
			runs, err := st.List()
			if err != nil || len(runs) != 1 {
				fmt.Fprintln(os.Stderr, "want one run:", runs, err)
				return 1
			}
			j.RunID = runs[0].ID
		}
		res, err := st.Restore(j.RunID, nil, false)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, r := range res {
			if r.Err != nil {
				fmt.Fprintf(os.Stderr, "%q: %v\n", r.Path, r.Err)
				return 1
			}
		}
	}
	fmt.Fprintf(os.Stderr, "steps %d\n", steps)
	return 0
}

// runHelper runs a job; killAfter > 0 kills the helper after that time.
// It returns whether the helper was killed, and its step count when not.
func runHelper(t *testing.T, dir string, j job, killAfter time.Duration) (killed bool, steps int, out string) {
	t.Helper()
	b, _ := json.Marshal(j)
	file := filepath.Join(dir, "job.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	exe := os.Args[0]
	if j.UID != 0 {
		// The test binary's directory may be closed to other users.
		exe = filepath.Join(dir, "helper")
		b, err := os.ReadFile(os.Args[0])
		if err == nil {
			err = os.WriteFile(exe, b, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		os.Chmod(file, 0o644)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+file)
	if j.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: j.UID, Gid: j.UID}}
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if killAfter > 0 {
		timer := time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return true, 0, ""
	}
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}
	fmt.Sscanf(stderr.String()[strings.LastIndex(stderr.String(), "steps "):], "steps %d", &steps)
	return false, steps, strings.TrimSpace(stdout.String())
}

func TestFaultInjection(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the entries have other owners, and the store on another file system is a tmpfs")
	}
	const (
		trials    = 60
		groups    = 25 // of 8 entries each: 200 entries a trial
		timeLimit = 150 * time.Second
	)
	// The root's /opt (the entries and the quarantine on the same file
	// system) is a tmpfs: SIGKILL loses no page cache, so what is tested
	// here is the journal's logic, and fsync on a shared disk would only
	// make each trial slower (the other tests run on the disk).
	r := testroot.New(t)
	if err := os.Mkdir(r.Path("/opt"), 0o755); err != nil {
		t.Fatal(err)
	}
	mountAt(t, r.Path("/opt"), 1<<30)
	same := r.Path("/opt/quarantine")
	r.Install(t, testroot.Pkg{Name: "app", Version: "1.0-1", Files: map[string]string{
		"opt/app/bin/app": "#!/bin/sh\n", "etc/app.conf": "x=1\n", "usr/share/app/data": "data",
	}})
	_, db := testdb.Load(t, r.Config, conf.Overrides{})
	var owned []string
	for _, p := range db.Packages {
		owned = append(owned, p.Files...)
	}
	otherFS := filepath.Join(mountTmpfs(t, 256<<20), "q")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	start := time.Now()
	// How many steps a whole run takes, to pick kill points among them.
	est, dur := calibrate(t, r.Dir, owned, same, otherFS, groups)
	t.Logf("steps of a whole run: %v; durations: %v", est, dur)
	done, kills, restoreKills, deletes := 0, 0, 0, 0
	for k := 0; k < trials; k++ {
		if time.Since(start) > timeLimit {
			t.Logf("time limit reached")
			break
		}
		store := same
		mode := MethodRename
		if k%2 == 1 {
			store, mode = otherFS, MethodCopy
		}
		base := fmt.Sprintf("/opt/app/t%d", k)
		if err := os.Mkdir(r.Dir+base, 0o755); err != nil {
			t.Fatal(err)
		}
		var paths []string
		for g := 0; g < groups; g++ {
			paths = append(paths, makeEntries(t, r.Dir, base, g)...)
		}
		before := snapshot(t, r.Dir, paths)
		j := job{Op: "quarantine", Root: r.Dir, Store: store, Owned: owned}
		for _, e := range stats(t, r.Dir, paths) {
			j.Entries = append(j.Entries, jobEntry{Path: []byte(e.Path), Type: e.Type, Dev: e.Dev, Ino: e.Ino, Size: e.Size})
		}
		var killed bool
		var runID string
		// Every sixth trial deletes for good (--no-quarantine).
		deleteTrial := k%6 == 5
		j.Delete = deleteTrial
		restoreTrial := k%4 == 3 && !deleteTrial
		if restoreTrial {
			// Quarantine everything, then kill the restore.
			_, _, runID = runHelper(t, t.TempDir(), j, 0)
			j = job{Op: "restore", Store: store, RunID: runID}
		}
		key := j.Op + " " + mode
		if k%3 == 2 {
			killed, _, _ = runHelper(t, t.TempDir(), j, time.Duration(rng.Int64N(int64(dur[key])+1)))
		} else {
			j.KillStep = 1 + rng.IntN(est[key])
			killed, _, _ = runHelper(t, t.TempDir(), j, 0)
		}
		if killed {
			kills++
			if restoreTrial {
				restoreKills++
			}
		}

		st, err := Open(store)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recover(); err != nil {
			t.Fatalf("trial %d: recover: %v", k, err)
		}
		checkInvariant(t, k, r.Dir, st, paths, before)
		runs, err := st.List()
		if err != nil {
			t.Fatal(err)
		}
		for _, run := range runs {
			if run.State == StateInterrupted || run.State == StateRunning {
				t.Fatalf("trial %d: run %s is %s after recovery", k, run.ID, run.State)
			}
			if deleteTrial {
				continue
			}
			res, err := st.Restore(run.ID, nil, false)
			if err != nil {
				t.Fatalf("trial %d: restore %s: %v", k, run.ID, err)
			}
			for _, rr := range res {
				if rr.Err != nil {
					t.Fatalf("trial %d: restore %q: %v", k, rr.Path, rr.Err)
				}
			}
		}
		if deleteTrial {
			deletes++
		} else if d := diffSnaps(before, snapshot(t, r.Dir, paths)); len(d) > 0 {
			t.Fatalf("trial %d (%s, killed %v): after restore:\n%s", k, key, killed, strings.Join(d[:min(len(d), 20)], "\n"))
		}
		for _, run := range runs {
			if err := st.Purge(run.ID); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
		if err := os.RemoveAll(r.Dir + base); err != nil {
			t.Fatal(err)
		}
		done++
	}
	t.Logf("%d trials (%d entries each) in %v: %d killed (%d of them while restoring); %d deleted for good",
		done, groups*8, time.Since(start).Round(time.Millisecond), kills, restoreKills, deletes)
	if done < 50 && time.Since(start) <= timeLimit {
		t.Fatalf("only %d trials", done)
	}
	if kills < done/2 {
		t.Errorf("only %d of %d trials killed the helper", kills, done)
	}
}

// calibrate counts the steps of whole runs (quarantine and restore, on the
// store's file system and another), unkilled.
func calibrate(t *testing.T, root string, owned []string, same, other string, groups int) (map[string]int, map[string]time.Duration) {
	t.Helper()
	est := map[string]int{}
	dur := map[string]time.Duration{}
	for i, c := range []struct{ store, mode string }{{same, MethodRename}, {other, MethodCopy}} {
		base := fmt.Sprintf("/opt/app/calibrate%d", i)
		if err := os.Mkdir(root+base, 0o755); err != nil {
			t.Fatal(err)
		}
		var paths []string
		for g := 0; g < groups; g++ {
			paths = append(paths, makeEntries(t, root, base, g)...)
		}
		j := job{Op: "quarantine", Root: root, Store: c.store, Owned: owned}
		for _, e := range stats(t, root, paths) {
			j.Entries = append(j.Entries, jobEntry{Path: []byte(e.Path), Type: e.Type, Dev: e.Dev, Ino: e.Ino, Size: e.Size})
		}
		t0 := time.Now()
		_, steps, id := runHelper(t, t.TempDir(), j, 0)
		est["quarantine "+c.mode] = steps
		dur["quarantine "+c.mode] = time.Since(t0)
		t0 = time.Now()
		_, steps, _ = runHelper(t, t.TempDir(), job{Op: "restore", Store: c.store, RunID: id}, 0)
		est["restore "+c.mode] = steps
		dur["restore "+c.mode] = time.Since(t0)
		st, err := Open(c.store)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Purge(id); err != nil {
			t.Fatal(err)
		}
		st.Close()
		os.RemoveAll(root + base)
	}
	return est, dur
}

// checkInvariant: every entry is either in place and unchanged, or in
// exactly one run of the store with manifest lines that describe it as it
// was (quarantined with its data, or recorded as deleted for good); never
// both, never neither. No temporary names are left over.
func checkInvariant(t *testing.T, k int, root string, st *Store, paths []string, before map[string]snap) {
	t.Helper()
	runs, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	inQ := map[string][]Object{}
	for _, r := range runs {
		d, err := st.Show(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range d.Items {
			if it.Status != phaseIn && it.Status != phaseDeleted {
				continue
			}
			if _, dup := inQ[it.Path]; dup {
				t.Fatalf("trial %d: %q is in the quarantine twice", k, it.Path)
			}
			if it.Status == phaseIn && !exists(filepath.Join(st.Dir, r.ID, "data", fmt.Sprint(it.N))) {
				t.Fatalf("trial %d: %q has manifest lines but no data", k, it.Path)
			}
			inQ[it.Path] = it.Objects
		}
	}
	for _, p := range paths {
		objs, q := inQ[p]
		_, err := os.Lstat(root + p)
		here := err == nil
		switch {
		case here && q:
			t.Fatalf("trial %d: %q is both in place and in the quarantine", k, p)
		case !here && !q:
			t.Fatalf("trial %d: %q is neither in place nor in the quarantine", k, p)
		case here:
			if d := diffSnaps(filterSnap(before, p), snapshot(t, root, []string{p})); len(d) > 0 {
				t.Fatalf("trial %d: %q in place but changed:\n%s", k, p, strings.Join(d, "\n"))
			}
		default:
			want := filterSnap(before, p)
			if len(objs) != len(want) {
				t.Fatalf("trial %d: %q: %d manifest lines, %d objects", k, p, len(objs), len(want))
			}
			for _, o := range objs {
				b, ok := want[o.Path]
				if !ok || o.Mode != b.Mode&0o7777 || o.UID != b.UID || o.GID != b.GID || o.MTime.UnixNano() != b.MTime || o.SHA256 != b.SHA || o.Link != b.Link {
					t.Fatalf("trial %d: manifest line %+v does not match %+v", k, o, b)
				}
			}
		}
	}
	// No temporary names: stages, restore copies, runs being made.
	dirs := map[string]bool{st.Dir: true}
	for _, p := range paths {
		dirs[filepath.Dir(root+p)] = true
	}
	for d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if n := e.Name(); strings.HasPrefix(n, ".pactidy-") || strings.HasPrefix(n, ".new-") || strings.HasPrefix(n, ".purge-") {
				t.Fatalf("trial %d: %s left in %s", k, n, d)
			}
		}
	}
}

// TestUserStore: a normal user quarantines their own files into the store
// in their home (on the home's file system, and on another one) and
// restores them, all as that user.
func TestUserStore(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the helper as nobody")
	}
	const nobody = 65534
	for _, other := range []bool{false, true} {
		t.Run(fmt.Sprintf("other file system %v", other), func(t *testing.T) {
			root := t.TempDir()
			for d := root; d != "/"; d = filepath.Dir(d) {
				if strings.HasPrefix(d, os.TempDir()+"/") {
					os.Chmod(d, 0o755)
				}
			}
			home := root + "/home/user"
			for _, d := range []string{"/home/user/.config", "/home/user/.cache"} {
				os.MkdirAll(root+d, 0o755)
			}
			var paths []string
			for g := 0; g < 3; g++ {
				paths = append(paths, makeEntries(t, root, "/home/user/.config", g)...)
			}
			filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
				if err == nil {
					os.Lchown(p, nobody, nobody)
				}
				return err
			})
			// chown cleared the setuid bits.
			for g := 0; g < 3; g++ {
				os.Chmod(fmt.Sprintf("%s/.config/tree-%d/a/suid", home, g), 0o4755)
			}
			before := snapshot(t, root, paths)
			store := UserDir(home)
			if other {
				store = filepath.Join(mountTmpfs(t, 64<<20), "q")
				os.Mkdir(store, 0o700)
				os.Chown(store, nobody, nobody)
				os.Chmod(filepath.Dir(store), 0o755)
			}
			j := job{Op: "quarantine", Root: root, Store: store, UID: nobody}
			for _, e := range stats(t, root, paths) {
				j.Entries = append(j.Entries, jobEntry{Path: []byte(e.Path), Type: e.Type, Dev: e.Dev, Ino: e.Ino, Size: e.Size})
			}
			runHelper(t, t.TempDir(), j, 0)
			for _, p := range paths {
				if exists(root + p) {
					t.Fatalf("%q still in place", p)
				}
			}
			var st syscall.Stat_t
			if err := syscall.Lstat(store, &st); err != nil || st.Uid != nobody || st.Mode&0o777 != 0o700 {
				t.Fatalf("store %s: uid %d mode %o, %v", store, st.Uid, st.Mode&0o777, err)
			}
			runHelper(t, t.TempDir(), job{Op: "restore", Store: store, UID: nobody}, 0)
			if d := diffSnaps(before, snapshot(t, root, paths)); len(d) > 0 {
				t.Fatalf("after restore:\n%s", strings.Join(d, "\n"))
			}

			// What its owner cannot read cannot be kept: left in place.
			secret := "/home/user/.config/secret"
			os.MkdirAll(root+secret+"/sub", 0o755)
			os.WriteFile(root+secret+"/sub/f", []byte("unreadable"), 0)
			filepath.WalkDir(root+secret, func(p string, d fs.DirEntry, err error) error { return os.Lchown(p, nobody, nobody) })
			snap := snapshot(t, root, []string{secret})
			e := stats(t, root, []string{secret})[0]
			runHelper(t, t.TempDir(), job{Op: "quarantine", Root: root, Store: store, UID: nobody, ExpectErr: true,
				Entries: []jobEntry{{Path: []byte(e.Path), Type: e.Type, Dev: e.Dev, Ino: e.Ino, Size: e.Size}}}, 0)
			if d := diffSnaps(snap, snapshot(t, root, []string{secret})); len(d) > 0 {
				t.Fatalf("an unreadable entry changed:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}
