package clean

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/quarantine"
	"github.com/pactidy/pactidy/scan"
)

// userDataHome makes ROOT/home/nobody owned by nobody with stale data of
// programs that are not installed, in a root every user can reach.
func userDataHome(t *testing.T) (root string, home scan.Home) {
	t.Helper()
	root, err := os.MkdirTemp("", "pactidy-userclean-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	home = scan.Home{User: "nobody", UID: 65534, GID: 65534, Dir: "/home/nobody", Login: true}
	files := map[string]string{
		".config/gone/settings":  "leftover settings",
		".cache/gonecache/blob":  strings.Repeat("x", 5000),
		".local/share/odd\nname": "data",
	}
	for p, c := range files {
		name := filepath.Join(root, home.Dir, p)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(c), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	err = filepath.Walk(filepath.Join(root, "home/nobody"), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, home.UID, home.GID)
	})
	if err != nil {
		t.Fatal(err)
	}
	return root, home
}

func scanHome(t *testing.T, root string, home scan.Home) []scan.UserEntry {
	t.Helper()
	found, _, errs := scan.UserData(context.Background(), scan.UserDataOptions{Root: root, Homes: []scan.Home{home}, DB: &pkg.DB{}})
	if len(errs) > 0 {
		t.Fatalf("scan: %v", errs)
	}
	return found
}

// TestUserDataAsOwner: root refuses to move a user's data itself; the
// owner moves it into the quarantine in their home, from where it comes
// back byte-identical.
func TestUserDataAsOwner(t *testing.T) {
	if root := os.Getenv("PACTIDY_USERCLEAN_ROOT"); root != "" {
		home := scan.Home{User: "nobody", UID: 65534, GID: 65534, Dir: "/home/nobody", Login: true}
		if os.Geteuid() != home.UID {
			t.Fatalf("helper runs as uid %d", os.Geteuid())
		}
		if id := os.Getenv("PACTIDY_USERCLEAN_RESTORE"); id != "" {
			st, err := quarantine.Open(quarantine.UserDir(filepath.Join(root, home.Dir)))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			res, err := st.Restore(id, nil, false)
			if err != nil || len(res) != 3 {
				t.Fatalf("restore: %d entries, %v", len(res), err)
			}
			return
		}
		plan, dropped := PlanUserData(root, home, scanHome(t, root, home), nil)
		if len(dropped) > 0 || len(plan.Entries) != 3 {
			t.Fatalf("plan %+v, dropped %v", plan.Entries, dropped)
		}
		id, res, err := RunUserData(context.Background(), plan, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Errorf("%s: %v", r.Entry.Path, r.Err)
			}
		}
		if err := os.WriteFile(filepath.Join(root, "runid"), []byte(id), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root to switch to the owner")
	}
	root, home := userDataHome(t)
	found := scanHome(t, root, home)
	plan, dropped := PlanUserData(root, home, found, []string{"/home/nobody/.config/gone", "/home/nobody/.config/nothere"})
	if len(plan.Entries) != 1 || len(dropped) != 1 || !errors.Is(dropped[0].Err, ErrNotUserData) {
		t.Fatalf("named plan %+v, dropped %v", plan.Entries, dropped)
	}
	// Root does not write into a home.
	if _, _, err := RunUserData(context.Background(), plan, nil, nil); err == nil || !strings.Contains(err.Error(), "moved by nobody only") {
		t.Fatalf("as root: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "home/nobody/.config/gone/settings")); err != nil {
		t.Fatalf("root's refused run touched the entry: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "runid"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "runid"), 0o666); err != nil {
		t.Fatal(err)
	}
	asOwner := func(env ...string) {
		t.Helper()
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
			exe, "-test.run=^TestUserDataAsOwner$", "-test.count=1")
		cmd.Env = append(append(os.Environ(), "PACTIDY_USERCLEAN_ROOT="+root), env...)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
			t.Fatalf("as nobody: %v\n%s", err, out)
		}
	}
	asOwner()
	for _, p := range []string{".config/gone", ".cache/gonecache", ".local/share/odd\nname"} {
		if _, err := os.Lstat(filepath.Join(root, home.Dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q still in place: %v", p, err)
		}
	}
	store := quarantine.UserDir(filepath.Join(root, home.Dir))
	fi, err := os.Stat(store)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uint32(home.UID) {
		t.Errorf("the quarantine %s belongs to uid %d, want the owner", store, st.Uid)
	}
	id, err := os.ReadFile(filepath.Join(root, "runid"))
	if err != nil || len(id) == 0 {
		t.Fatalf("run id: %q %v", id, err)
	}
	asOwner("PACTIDY_USERCLEAN_RESTORE=" + string(id))
	b, err := os.ReadFile(filepath.Join(root, home.Dir, ".cache/gonecache/blob"))
	if err != nil || string(b) != strings.Repeat("x", 5000) {
		t.Errorf("restored blob: %v", err)
	}
	fi, err = os.Lstat(filepath.Join(root, home.Dir, ".config/gone/settings"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uint32(home.UID) || fi.Mode().Perm() != 0o640 {
		t.Errorf("restored settings: uid %d mode %v", st.Uid, fi.Mode().Perm())
	}
}
