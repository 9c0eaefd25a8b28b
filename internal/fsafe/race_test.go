package fsafe

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/fsafe/fsafetest"
	"golang.org/x/sys/unix"
)

// The race tests: root works on an entry of a directory nobody can write
// while a process as nobody exchanges that entry with a symlink to root's
// files, as fast as it can. Each runs until raceTries tries or raceTime,
// whichever comes first, and checks after every try that nothing outside
// the attacked directory was removed, and that no content of root's
// private file reached the destination.
const (
	raceTries = 2000
	raceTime  = 8 * time.Second
)

// victim makes a directory of root's files outside the attacked
// directory; the returned check fails the test when any is gone.
func victim(t *testing.T) (dir string, intact func() bool) {
	dir = fsafetest.Dir(t, false)
	names := []string{"pkg", "pkg.sig", "passwd", "secret"}
	for _, n := range names {
		write(t, filepath.Join(dir, n), "root's "+n, 0o600)
	}
	return dir, func() bool {
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil || string(b) != "root's "+n {
				t.Errorf("root's file %s: %q %v", n, b, err)
				return false
			}
		}
		return true
	}
}

// place creates an entry nobody owns under a private name and renames it
// to name in attacked (or to alt when the swapper holds name): the
// identity is known before the attacker can touch it.
func place(t *testing.T, private, attacked, name, alt string, mk func(p string)) Identity {
	t.Helper()
	p := filepath.Join(private, "new")
	mk(p)
	if err := os.Lchown(p, fsafetest.Nobody, fsafetest.Nobody); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{name, alt} {
		err := unix.Renameat2(unix.AT_FDCWD, p, unix.AT_FDCWD, filepath.Join(attacked, n), unix.RENAME_NOREPLACE)
		if err == nil {
			typ := fs.FileMode(0)
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				typ = fs.ModeDir
			}
			return Identity{Dev: st.Dev, Ino: st.Ino, Type: typ, Size: st.Size}
		}
		if err != unix.EEXIST {
			t.Fatal(err)
		}
	}
	t.Fatalf("both %s and %s taken in %s", name, alt, attacked)
	return Identity{}
}

// race runs try under the swapper until the budget is spent and reports
// the figures.
func race(t *testing.T, attacked, name, alt string, try func() error, after func() bool) {
	sw := fsafetest.Swap(t, filepath.Join(attacked, name), filepath.Join(attacked, alt))
	b := fsafetest.Budget{Tries: raceTries, Duration: raceTime}
	done, changed := 0, 0
	for b.Next() {
		err := try()
		switch {
		case err == nil:
			done++
		case errors.Is(err, ErrChanged), errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrExists):
			changed++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
		if !after() {
			t.Fatalf("try %d: the attack won", done+changed)
		}
	}
	sw.Stop(t)
	n, d := b.Done()
	t.Logf("%d tries in %v: %d done, %d refused as changed; the swapper made %d exchanges", n, d.Round(time.Millisecond), done, changed, sw.Swaps)
	if done == 0 {
		t.Error("no try ever succeeded: the operation was not exercised")
	}
}

func TestRaceRemoveTree(t *testing.T) {
	vdir, intact := victim(t)
	attacked := fsafetest.Dir(t, true)
	private := fsafetest.Dir(t, false)
	if err := os.Symlink(vdir, filepath.Join(attacked, "link")); err != nil {
		t.Fatal(err)
	}
	fsafetest.Chown(t, filepath.Join(attacked, "link"))
	d := openDir(t, attacked)
	mk := func(p string) {
		os.Mkdir(p, 0o755)
		for _, n := range []string{"pkg", "pkg.sig", "passwd"} {
			write(t, filepath.Join(p, n), "x", 0o644)
			os.Chown(filepath.Join(p, n), fsafetest.Nobody, fsafetest.Nobody)
		}
	}
	var id Identity
	fresh := true
	race(t, attacked, "download-1", "link", func() error {
		if fresh {
			id = place(t, private, attacked, "download-1", "link", mk)
		}
		err := RemoveTree(d, "download-1", id)
		fresh = err == nil
		return err
	}, intact)
	noLeftovers(t, attacked)
}

func TestRaceRemoveFile(t *testing.T) {
	vdir, intact := victim(t)
	attacked := fsafetest.Dir(t, true)
	private := fsafetest.Dir(t, false)
	if err := os.Symlink(filepath.Join(vdir, "pkg"), filepath.Join(attacked, "link")); err != nil {
		t.Fatal(err)
	}
	fsafetest.Chown(t, filepath.Join(attacked, "link"))
	d := openDir(t, attacked)
	var id Identity
	fresh := true
	race(t, attacked, "pkg", "link", func() error {
		if fresh {
			id = place(t, private, attacked, "pkg", "link", func(p string) { write(t, p, "nobody's package", 0o644) })
		}
		err := RemoveFile(d, "pkg", id)
		fresh = err == nil
		return err
	}, intact)
	noLeftovers(t, attacked)
}

// TestRaceMove: the planned file is swapped for a symlink to a mode 0600
// root file while it is moved, to another filesystem (a copy) or on the
// same one (a rename): neither the secret nor the symlink may reach the
// destination.
func TestRaceMove(t *testing.T) {
	other := fsafetest.Tmpfs(t, "8m")
	for _, cross := range []bool{true, false} {
		name := "same filesystem"
		if cross {
			name = "across filesystems"
		}
		t.Run(name, func(t *testing.T) {
			vdir, intact := victim(t)
			attacked := fsafetest.Dir(t, true)
			private := fsafetest.Dir(t, false)
			dst := fsafetest.Dir(t, false)
			if cross {
				dst = filepath.Join(other, "dst")
				os.Mkdir(dst, 0o755)
				defer os.RemoveAll(dst)
			}
			if err := os.Symlink(filepath.Join(vdir, "secret"), filepath.Join(attacked, "link")); err != nil {
				t.Fatal(err)
			}
			fsafetest.Chown(t, filepath.Join(attacked, "link"))
			d, dd := openDir(t, attacked), openDir(t, dst)
			var id Identity
			fresh := true
			leaked := func() bool {
				ents, err := os.ReadDir(dst)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					p := filepath.Join(dst, e.Name())
					if !e.Type().IsRegular() {
						t.Errorf("a %v reached the destination: %s", e.Type(), p)
						return true
					}
					b, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					if strings.Contains(string(b), "root's") {
						t.Errorf("root's secret copied to %s", p)
						return true
					}
					if string(b) != "nobody's package" {
						t.Errorf("unexpected file %s: %q", p, b)
					}
					os.Remove(p)
				}
				return false
			}
			race(t, attacked, "pkg", "link", func() error {
				if fresh {
					id = place(t, private, attacked, "pkg", "link", func(p string) { write(t, p, "nobody's package", 0o644) })
				}
				err := Move(d, "pkg", id, dd, "pkg")
				fresh = err == nil
				return err
			}, func() bool { return intact() && !leaked() })
			noLeftovers(t, attacked)
			noLeftovers(t, dst)
		})
	}
}
