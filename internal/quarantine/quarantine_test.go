package quarantine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/testdb"
	"github.com/pactidy/pactidy/internal/testroot"
	"github.com/pactidy/pactidy/scan"
)

// newRoot is a scratch root with an owned-looking /opt/app to hold
// entries.
func newRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	for _, d := range []string{"opt/app", "etc", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestQuarantineAndRestore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
	}{{"same file system", MethodRename}, {"other file system", MethodCopy}} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			paths := makeEntries(t, root, "/opt/app", 1)
			before := snapshot(t, root, paths)
			storeDir := DefaultDir(root)
			if tc.method == MethodCopy {
				storeDir = filepath.Join(mountTmpfs(t, 64<<20), "q")
			}
			st, err := Open(storeDir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var events []Result
			run, err := st.Begin(Options{Root: root, Progress: func(r Result) { events = append(events, r) }})
			if err != nil {
				t.Fatal(err)
			}
			res, err := run.QuarantineAll(context.Background(), stats(t, root, paths))
			if err != nil {
				t.Fatal(err)
			}
			if err := run.Close(); err != nil {
				t.Fatal(err)
			}
			if len(events) != len(paths) {
				t.Errorf("%d progress events, want %d", len(events), len(paths))
			}
			var bytes int64
			for i, r := range res {
				if r.Err != nil {
					t.Fatalf("%q: %v", r.Entry.Path, r.Err)
				}
				if r.Method != tc.method {
					t.Errorf("%q: method %s, want %s", r.Entry.Path, r.Method, tc.method)
				}
				if exists(root + paths[i]) {
					t.Errorf("%q still in place", paths[i])
				}
				bytes += r.Bytes
			}
			list, err := st.List()
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].ID != run.ID || list[0].Entries != len(paths) || list[0].Bytes != bytes || list[0].State != StateComplete {
				t.Fatalf("list: %+v, want one complete run %s with %d entries, %d bytes", list, run.ID, len(paths), bytes)
			}
			d, err := st.Show(run.ID)
			if err != nil {
				t.Fatal(err)
			}
			objs := 0
			for i, it := range d.Items {
				if it.Path != paths[i] || it.Status != phaseIn || len(it.Objects) == 0 || it.Objects[0].Path != paths[i] {
					t.Errorf("show item %d: %+v", i, it)
				}
				for _, o := range it.Objects {
					b, ok := before[o.Path]
					if !ok {
						t.Errorf("manifest has %q, which was not there", o.Path)
						continue
					}
					if o.Mode != b.Mode&0o7777 || o.UID != b.UID || o.GID != b.GID || o.MTime.UnixNano() != b.MTime || o.SHA256 != b.SHA {
						t.Errorf("manifest line of %q: %+v, snapshot %+v", o.Path, o, b)
					}
					objs++
				}
			}
			if objs != len(before) {
				t.Errorf("manifest has %d objects, the entries had %d", objs, len(before))
			}

			rr, err := st.Restore(run.ID, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rr {
				if r.Err != nil || r.Status != StatusRestored {
					t.Errorf("restore %q: %s %v", r.Path, r.Status, r.Err)
				}
			}
			if d := diffSnaps(before, snapshot(t, root, paths)); len(d) > 0 {
				t.Fatalf("after restore:\n%s", strings.Join(d, "\n"))
			}
			// A second restore is a no-op that says so.
			rr, err = st.Restore(run.ID, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rr {
				if r.Err != nil || r.Status != StatusAlreadyRestored {
					t.Errorf("second restore %q: %s %v", r.Path, r.Status, r.Err)
				}
			}
			if list, _ := st.List(); list[0].State != StateRestored || list[0].Entries != 0 {
				t.Errorf("after restore: %+v", list[0])
			}
			if d := diffSnaps(before, snapshot(t, root, paths)); len(d) > 0 {
				t.Fatalf("after the second restore:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "app", Version: "1.0-1", Files: map[string]string{
		"usr/bin/owned": "owned", "opt/app/owned-dir/x": "x", "opt/app/bin/app": "app",
	}})
	_, db := testdb.Load(t, r.Config, conf.Overrides{})
	ownedSet := scan.NewOwnedSet(db)
	root := r.Dir
	st, err := Open(DefaultDir(root))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(root+p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/opt/app/replaced", "one")
	write("/opt/app/same-size", "abc")
	write("/opt/app/to-symlink", "x")
	write("/opt/app/grown", "x")
	write("/opt/app/owned-dir/unowned", "x")
	write("/opt/app/allowed-dir/keep.conf", "x")
	write("/opt/app/gone", "x")
	write("/opt/app/via/link/f", "x")
	write("/opt/app/mnt/below/f", "x")
	write("/opt/app/store-above/f", "x")
	write("/toplevel-file", "x")
	if err := os.Mkdir(root+"/srv", 0o755); err != nil {
		t.Fatal(err)
	}
	paths := []string{"/opt/app/replaced", "/opt/app/same-size", "/opt/app/to-symlink", "/opt/app/grown",
		"/opt/app/owned-dir", "/opt/app/allowed-dir", "/opt/app/gone", "/opt/app/via/link/f", "/usr/bin/owned"}
	ents := stats(t, root, paths)
	ents = append(ents, Entry{Path: "/srv", Type: TypeDir}, Entry{Path: "/", Type: TypeDir}, Entry{Path: "/opt/app/../../etc", Type: TypeDir})

	// Changes between the scan and the removal.
	// Same size, another inode (the old one kept, or ext4 hands out the
	// same inode number again).
	os.Rename(root+"/opt/app/replaced", root+"/opt/app/replaced.old")
	write("/opt/app/replaced", "two")
	os.Remove(root + "/opt/app/same-size")
	os.Mkdir(root+"/opt/app/same-size", 0o755)
	os.Remove(root + "/opt/app/to-symlink")
	os.Symlink("/usr/bin/owned", root+"/opt/app/to-symlink")
	write("/opt/app/grown", "xx")
	os.Remove(root + "/opt/app/gone")
	os.Rename(root+"/opt/app/via", root+"/opt/app/via2")
	os.Symlink("via2", root+"/opt/app/via")

	var mnt []string
	if os.Geteuid() == 0 {
		if err := unix.Mount("tmpfs", root+"/opt/app/mnt/below", "tmpfs", 0, "size=1m"); err == nil {
			defer unix.Unmount(root+"/opt/app/mnt/below", unix.MNT_DETACH)
			ents = append(ents, stats(t, root, []string{"/opt/app/mnt"})...)
			ents = append(ents, stats(t, root, []string{"/opt/app/mnt/below"})...)
			mnt = []string{"/opt/app/mnt", "/opt/app/mnt/below"}
		}
	}
	run, err := st.Begin(Options{
		Root:        root,
		Owned:       func(p string) bool { return ownedSet.Has(strings.Trim(p, "/")) },
		Allowlisted: func(p string, _ bool) bool { return strings.HasSuffix(p, "/keep.conf") },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]error{
		"/opt/app/replaced": ErrChanged, "/opt/app/same-size": ErrChanged, "/opt/app/to-symlink": ErrChanged,
		"/opt/app/grown": ErrChanged, "/opt/app/owned-dir": ErrOwned, "/opt/app/allowed-dir": ErrAllowlisted,
		"/opt/app/gone": ErrGone, "/opt/app/via/link/f": ErrChanged, "/srv": ErrProtected, "/": ErrProtected,
		"/opt/app/../../etc": ErrProtected, "/usr/bin/owned": ErrOwned,
	}
	for _, m := range mnt {
		want[m] = ErrMountPoint
	}
	for _, e := range ents {
		res := run.Quarantine(e)
		var se *SkipError
		if !errors.As(res.Err, &se) || !errors.Is(res.Err, want[e.Path]) {
			t.Errorf("%q: %v, want a skip for %v", e.Path, res.Err, want[e.Path])
		}
	}
	// The store itself, and a directory holding it.
	if e, err := Stat(root, "/var/lib/pactidy"); err == nil {
		if res := run.Quarantine(e); !errors.Is(res.Err, ErrProtected) {
			t.Errorf("the directory holding the store: %v", res.Err)
		}
	}
	run.Close()
	for _, p := range []string{"/opt/app/replaced", "/opt/app/same-size", "/opt/app/to-symlink", "/usr/bin/owned",
		"/opt/app/grown", "/opt/app/owned-dir/x", "/opt/app/allowed-dir/keep.conf", "/opt/app/via2/link/f", "/srv"} {
		if !exists(root + p) {
			t.Errorf("%q was removed", p)
		}
	}
	d, _ := st.Show(run.ID)
	if d.State != StateEmpty || len(d.Items) != 0 {
		t.Errorf("a run that skipped everything: %+v", d)
	}
}

func TestFullStoreFileSystem(t *testing.T) {
	root := newRoot(t)
	paths := makeEntries(t, root, "/opt/app", 2)
	big := "/opt/app/big"
	if err := os.WriteFile(root+big, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := "/opt/app/bigtree"
	os.MkdirAll(root+tree+"/sub", 0o755)
	for i := 0; i < 5; i++ {
		os.WriteFile(root+tree+"/sub/"+string(rune('a'+i)), make([]byte, 400<<10), 0o644)
	}
	paths = append(paths, big, tree)
	before := snapshot(t, root, paths)
	st, err := Open(filepath.Join(mountTmpfs(t, 1<<20), "q"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, err := st.Begin(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	ents := stats(t, root, paths)
	// The big ones first, while the store is empty, then the small ones
	// that fit.
	ents = append(ents[len(ents)-2:], ents[:len(ents)-2]...)
	res, _ := run.QuarantineAll(context.Background(), ents)
	run.Close()
	for _, r := range res[:2] {
		var se *SkipError
		if r.Err == nil || errors.As(r.Err, &se) || !errors.Is(r.Err, unix.ENOSPC) {
			t.Errorf("%q on a full store: %v, want a failure with ENOSPC", r.Entry.Path, r.Err)
		}
	}
	for _, r := range res[2:] {
		if r.Err != nil {
			t.Errorf("%q: %v", r.Entry.Path, r.Err)
		}
	}
	if names, _ := os.ReadDir(filepath.Join(st.Dir, run.ID, "data")); len(names) != len(paths)-2 {
		t.Errorf("data holds %d entries, want %d (no partial copy left)", len(names), len(paths)-2)
	}
	for _, p := range []string{big, tree} {
		if d := diffSnaps(filterSnap(before, p), snapshot(t, root, []string{p})); len(d) > 0 {
			t.Errorf("after a failed copy:\n%s", strings.Join(d, "\n"))
		}
	}
	if rr, err := st.Restore(run.ID, nil, false); err != nil || len(rr) != len(paths)-2 {
		t.Fatalf("restore: %v %+v", err, rr)
	}
	if d := diffSnaps(before, snapshot(t, root, paths)); len(d) > 0 {
		t.Fatalf("after restore:\n%s", strings.Join(d, "\n"))
	}
}

func filterSnap(s map[string]snap, p string) map[string]snap {
	out := map[string]snap{}
	for k, v := range s {
		if k == p || strings.HasPrefix(k, p+"/") {
			out[k] = v
		}
	}
	return out
}

func TestReadOnlyTarget(t *testing.T) {
	dir := mountTmpfs(t, 16<<20)
	root := filepath.Join(dir, "root")
	os.MkdirAll(root+"/opt/app", 0o755)
	paths := makeEntries(t, root, "/opt/app", 3)
	ents := stats(t, root, paths)
	before := snapshot(t, root, paths)
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	for _, tc := range []struct {
		name  string
		store string
		del   bool
	}{{"copy", t.TempDir() + "/q", false}, {"delete", t.TempDir() + "/q", true}} {
		st, err := Open(tc.store)
		if err != nil {
			t.Fatal(err)
		}
		run, err := st.Begin(Options{Root: root, Delete: tc.del})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if r := run.Quarantine(e); r.Err == nil || !errors.Is(r.Err, unix.EROFS) {
				t.Errorf("%s %q on a read-only file system: %v", tc.name, e.Path, r.Err)
			}
		}
		run.Close()
		if names, _ := os.ReadDir(filepath.Join(st.Dir, run.ID, "data")); len(names) != 0 {
			t.Errorf("%s: data holds %d entries", tc.name, len(names))
		}
		st.Close()
	}
	if d := diffSnaps(before, snapshot(t, root, paths)); len(d) > 0 {
		t.Fatalf("read-only target changed:\n%s", strings.Join(d, "\n"))
	}
}

func TestRestoreOverExisting(t *testing.T) {
	root := newRoot(t)
	p := "/opt/app/conf"
	os.WriteFile(root+p, []byte("old"), 0o644)
	st, err := Open(DefaultDir(root))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, _ := st.Begin(Options{Root: root})
	if r := run.Quarantine(stats(t, root, []string{p})[0]); r.Err != nil {
		t.Fatal(r.Err)
	}
	run.Close()
	os.WriteFile(root+p, []byte("new one"), 0o644)
	rr, err := st.Restore(run.ID, []string{p}, false)
	if err != nil || len(rr) != 1 || !errors.Is(rr[0].Err, ErrExists) {
		t.Fatalf("restore over an existing file: %v %+v", err, rr)
	}
	if b, _ := os.ReadFile(root + p); string(b) != "new one" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	if _, err := st.Restore(run.ID, []string{"/opt/app/other"}, false); err == nil {
		t.Error("restore of a path the run does not hold succeeded")
	}
	rr, err = st.Restore(run.ID, []string{p}, true)
	if err != nil || rr[0].Err != nil || rr[0].Displaced == "" {
		t.Fatalf("forced restore: %v %+v", err, rr)
	}
	if b, _ := os.ReadFile(root + p); string(b) != "old" {
		t.Fatalf("after a forced restore: %q", b)
	}
	// The displaced file is in a run of its own, restorable too.
	os.Remove(root + p)
	if rr, err := st.Restore(rr[0].Displaced, nil, false); err != nil || rr[0].Err != nil {
		t.Fatalf("restore the displaced file: %v %+v", err, rr)
	}
	if b, _ := os.ReadFile(root + p); string(b) != "new one" {
		t.Fatalf("the displaced file came back as %q", b)
	}
}

func TestPurge(t *testing.T) {
	root := newRoot(t)
	st, err := Open(DefaultDir(root))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return now }
	var ids []string
	for i := 0; i < 3; i++ {
		paths := makeEntries(t, root, "/opt/app", 10+i)
		run, err := st.Begin(Options{Root: root})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := run.QuarantineAll(context.Background(), stats(t, root, paths)); err != nil {
			t.Fatal(err)
		}
		run.Close()
		ids = append(ids, run.ID)
		now = now.Add(10 * 24 * time.Hour)
	}
	// now is 30 days after the first run, 20 after the second.
	purged, err := st.PurgeOlder(25 * 24 * time.Hour)
	if err != nil || len(purged) != 1 || purged[0] != ids[0] {
		t.Fatalf("purge older than 25 days: %v %v, want %v", purged, err, ids[:1])
	}
	if err := st.Purge(ids[2]); err != nil {
		t.Fatal(err)
	}
	list, _ := st.List()
	if len(list) != 1 || list[0].ID != ids[1] {
		t.Fatalf("left: %+v, want %s", list, ids[1])
	}
	if err := st.Purge(ids[0]); !errors.Is(err, ErrNoRun) {
		t.Errorf("purge twice: %v", err)
	}
}

func TestDeleteMode(t *testing.T) {
	root := newRoot(t)
	paths := makeEntries(t, root, "/opt/app", 4)
	st, err := Open(DefaultDir(root))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, _ := st.Begin(Options{Root: root, Delete: true})
	res, _ := run.QuarantineAll(context.Background(), stats(t, root, paths))
	run.Close()
	for _, r := range res {
		if r.Err != nil || r.Method != MethodDelete || exists(root+r.Entry.Path) {
			t.Errorf("%q: %+v", r.Entry.Path, r)
		}
	}
	d, _ := st.Show(run.ID)
	if d.State != StateDeleted || len(d.Items) != len(paths) {
		t.Errorf("show: %+v", d.RunInfo)
	}
	rr, _ := st.Restore(run.ID, nil, false)
	for _, r := range rr {
		if r.Err == nil {
			t.Errorf("restored a deleted entry %q", r.Path)
		}
	}
}

// An interrupt (a cancelled context) lets the current entry finish and
// stops before the next one; the run is then marked stopped.
func TestStop(t *testing.T) {
	root := newRoot(t)
	paths := makeEntries(t, root, "/opt/app", 5)
	st, err := Open(DefaultDir(root))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	run, _ := st.Begin(Options{Root: root, Progress: func(Result) { cancel() }})
	res, err := run.QuarantineAll(ctx, stats(t, root, paths))
	if !errors.Is(err, context.Canceled) || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("interrupted run: %v, %d results", err, len(res))
	}
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}
	if exists(root+paths[0]) || !exists(root+paths[1]) {
		t.Error("the first entry should be quarantined and the others in place")
	}
	if d, _ := st.Show(run.ID); d.State != StateStopped || d.Entries != 1 {
		t.Errorf("show: %+v", d.RunInfo)
	}
}

// Leftovers of a run being created or purged when the process died are
// removed by Recover; one being created right now (locked) is not.
func TestRecoverLeftovers(t *testing.T) {
	root := newRoot(t)
	st, err := Open(DefaultDir(root))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, d := range []string{".new-dead/data/x", ".purge-20260101T000000-abcd/data/0/y"} {
		if err := os.MkdirAll(filepath.Join(st.Dir, d), 0o500); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(st.Dir, ".new-dead/journal"), nil, 0o600)
	os.MkdirAll(filepath.Join(st.Dir, ".new-live"), 0o700)
	os.WriteFile(filepath.Join(st.Dir, ".new-live/journal"), nil, 0o600)
	f, err := os.Open(filepath.Join(st.Dir, ".new-live/journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recover(); err != nil {
		t.Fatal(err)
	}
	names, _ := os.ReadDir(st.Dir)
	if len(names) != 1 || names[0].Name() != ".new-live" {
		t.Fatalf("left in the store: %v", names)
	}
}

// TestSwapRace swaps an entry's name with a symlink to an owned file
// (renameat2 RENAME_EXCHANGE, in a loop) while the entry is quarantined:
// the owned file is never moved, copied or removed, and the entry is never
// lost (in place under one of the two names, or in the quarantine).
func TestSwapRace(t *testing.T) {
	for _, other := range []bool{false, true} {
		t.Run(fmt.Sprintf("other file system %v", other), func(t *testing.T) {
			root := newRoot(t)
			owned := root + "/usr/bin/owned"
			os.WriteFile(owned, []byte("owned by a package"), 0o755)
			var ownedSt unix.Stat_t
			unix.Lstat(owned, &ownedSt)
			storeDir := DefaultDir(root)
			if other {
				storeDir = filepath.Join(mountTmpfs(t, 64<<20), "q")
			}
			st, err := Open(storeDir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			run, err := st.Begin(Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			defer run.Close()
			const tries, limit = 400, 6 * time.Second
			start := time.Now()
			outcomes := map[string]int{}
			n := 0
			for ; n < tries && time.Since(start) < limit; n++ {
				e, d := fmt.Sprintf("/opt/app/e%d", n), fmt.Sprintf("/opt/app/d%d", n)
				os.WriteFile(root+e, []byte("unowned entry"), 0o644)
				os.Symlink("/usr/bin/owned", root+d)
				ent := stats(t, root, []string{e})[0]
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						select {
						case <-stop:
							return
						default:
							unix.Renameat2(unix.AT_FDCWD, root+e, unix.AT_FDCWD, root+d, unix.RENAME_EXCHANGE)
						}
					}
				}()
				res := run.Quarantine(ent)
				close(stop)
				<-done
				var got unix.Stat_t
				if err := unix.Lstat(owned, &got); err != nil || got.Ino != ownedSt.Ino || got.Size != ownedSt.Size {
					t.Fatalf("try %d: the owned file changed: %v", n, err)
				}
				// Where is the entry's inode now?
				places := 0
				for _, p := range []string{e, d} {
					var s unix.Stat_t
					if unix.Lstat(root+p, &s) == nil && s.Ino == ent.Ino {
						places++
					}
				}
				if res.N >= 0 {
					var s unix.Stat_t
					if unix.Lstat(filepath.Join(storeDir, run.ID, "data", fmt.Sprint(res.N)), &s) == nil && (other || s.Ino == ent.Ino) && s.Mode&unix.S_IFMT == unix.S_IFREG {
						places++
					}
				}
				switch {
				case res.Err == nil && places == 1:
					outcomes["quarantined"]++
				case errors.Is(res.Err, ErrChanged) && places == 1:
					outcomes["skipped"]++
				default:
					t.Fatalf("try %d: result %v, the entry is in %d places", n, res.Err, places)
				}
			}
			t.Logf("%d tries in %v: %v", n, time.Since(start).Round(time.Millisecond), outcomes)
		})
	}
}

// TestBindMount: an entry on a bind mount of the store's file system has
// the store's device number, but rename(2) refuses to cross mounts: it is
// copied instead, and restored by copy too.
func TestBindMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	root := newRoot(t)
	os.MkdirAll(root+"/srv/bind", 0o755)
	os.MkdirAll(root+"/opt/app/shared", 0o755)
	if err := unix.Mount(root+"/opt/app/shared", root+"/srv/bind", "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(root+"/srv/bind", unix.MNT_DETACH) })
	paths := makeEntries(t, root, "/srv/bind", 6)
	before := snapshot(t, root, paths)
	st, err := Open(DefaultDir(root))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, _ := st.Begin(Options{Root: root})
	res, _ := run.QuarantineAll(context.Background(), stats(t, root, paths))
	run.Close()
	for _, r := range res {
		if r.Err != nil || r.Method != MethodCopy || exists(root+r.Entry.Path) {
			t.Fatalf("%q: %+v", r.Entry.Path, r)
		}
	}
	rr, err := st.Restore(run.ID, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rr {
		if r.Err != nil {
			t.Fatalf("restore %q: %v", r.Path, r.Err)
		}
	}
	if d := diffSnaps(before, snapshot(t, root, paths)); len(d) > 0 {
		t.Fatalf("after restore:\n%s", strings.Join(d, "\n"))
	}
	// The bind mount itself is a mount point.
	e := stats(t, root, []string{"/srv/bind"})[0]
	run, _ = st.Begin(Options{Root: root})
	if r := run.Quarantine(e); !errors.Is(r.Err, ErrMountPoint) {
		t.Errorf("the bind mount point: %v", r.Err)
	}
	run.Close()
}

// An interrupt during a restore finishes the entry at hand and stops; a
// second restore puts back the rest.
func TestRestoreStop(t *testing.T) {
	root := newRoot(t)
	paths := makeEntries(t, root, "/opt/app", 7)
	before := snapshot(t, root, paths)
	st, err := Open(DefaultDir(root))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, _ := st.Begin(Options{Root: root})
	run.QuarantineAll(context.Background(), stats(t, root, paths))
	run.Close()
	ctx, cancel := context.WithCancel(context.Background())
	res, err := st.RestoreWith(ctx, run.ID, nil, RestoreOptions{Progress: func(RestoreResult) { cancel() }})
	if err != nil || len(res) != len(paths) {
		t.Fatalf("%v %d", err, len(res))
	}
	if res[0].Status != StatusRestored || !exists(root+paths[0]) {
		t.Errorf("first entry: %+v", res[0])
	}
	for i, r := range res[1:] {
		if r.Status != StatusNotRestored || !errors.Is(r.Err, context.Canceled) || exists(root+paths[i+1]) {
			t.Errorf("entry after the interrupt: %+v", r)
		}
	}
	if d, _ := st.Show(run.ID); d.State != StatePartlyRestored {
		t.Errorf("state %s", d.State)
	}
	if _, err := st.Restore(run.ID, nil, false); err != nil {
		t.Fatal(err)
	}
	if d := diffSnaps(before, snapshot(t, root, paths)); len(d) > 0 {
		t.Fatalf("after restore:\n%s", strings.Join(d, "\n"))
	}
}
