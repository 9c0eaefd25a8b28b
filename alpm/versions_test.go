package alpm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testroot"
)

func versionsOf(db *pkg.DB) string {
	var b strings.Builder
	for _, p := range db.Packages {
		fmt.Fprintf(&b, "%s %s %s base=%s\n", p.Name, p.Version, p.Arch, p.Base)
	}
	return b.String()
}

// TestLoadVersionsMatchesLibalpm: names with '-', epochs, architectures and
// bases as libalpm reads them from a root pacman installed.
func TestLoadVersionsMatchesLibalpm(t *testing.T) {
	r := testroot.New(t)
	r.Install(t,
		testroot.Pkg{Name: "lib32-foo-bar", Version: "1:2.3.r4.gabc-5", Arch: "any"},
		testroot.Pkg{Name: "a", Version: "0-1", Arch: "x86_64"},
		testroot.Pkg{Name: "python-x-y", Version: "2:1.0rc1-0.1"},
		testroot.Pkg{Name: "go-1", Version: "1-1", Desc: "%NAME%"},
	)
	want := load(t, r)
	got, err := LoadVersions(r.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Errors) != 0 {
		t.Errorf("errors: %v", got.Errors)
	}
	if g, w := versionsOf(got), versionsOf(want); g != w {
		t.Errorf("LoadVersions:\n%s\nlibalpm:\n%s", g, w)
	}
	if len(got.Packages) != 4 {
		t.Errorf("%d packages, want 4", len(got.Packages))
	}
}

// TestLoadVersionsDamage: what cannot be read is an error; a damaged desc
// and a name libalpm would not load are reported, as by Load.
func TestLoadVersionsDamage(t *testing.T) {
	r := testroot.New(t)
	r.Install(t, testroot.Pkg{Name: "foo", Version: "1.0-1"}, testroot.Pkg{Name: "bar-baz", Version: "2-1"})
	local := filepath.Join(r.DBPath, "local")

	// A desc whose name disagrees with its directory: the package stays
	// installed under the directory's name and version.
	desc := filepath.Join(local, "foo-1.0-1", "desc")
	data, err := os.ReadFile(desc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(desc, []byte(strings.Replace(string(data), "%NAME%\nfoo\n", "%NAME%\nfoox\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not a package entry to libalpm.
	if err := os.Mkdir(filepath.Join(local, "noversion"), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := LoadVersions(r.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	if p := db.Get("foo"); p == nil || p.Version != "1.0-1" {
		t.Errorf("foo with a damaged desc: %+v, want installed as 1.0-1", p)
	}
	var errs []string
	for _, e := range db.Errors {
		errs = append(errs, e.Path+": "+e.Err.Error())
	}
	joined := strings.Join(errs, "\n")
	if len(errs) != 2 || !strings.Contains(joined, "foo-1.0-1/desc: damaged desc") || !strings.Contains(joined, "noversion: corrupt database entry") {
		t.Errorf("errors:\n%s", joined)
	}

	// A desc that cannot be read fails the load: the package must not
	// look uninstalled.
	bad := filepath.Join(local, "bar-baz-2-1", "desc")
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadVersions(r.DBPath); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("unreadable desc: err = %v, want an error naming %s", err, bad)
	}
	os.Remove(bad)
	if _, err := LoadVersions(r.DBPath); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("missing desc: err = %v, want an error naming %s", err, bad)
	}
	if _, err := LoadVersions(filepath.Join(r.Dir, "nowhere")); err == nil {
		t.Error("missing local database: no error")
	}
}

func TestSplitEntryName(t *testing.T) {
	for _, c := range []struct{ in, name, ver string }{
		{"foo-1.0-1", "foo", "1.0-1"},
		{"foo-bar-1:2.0-3.1", "foo-bar", "1:2.0-3.1"},
		{"a-b-c-d", "a-b", "c-d"},
		{"foo-1.0", "", ""},
		{"-1.0-1", "", ""},
		{"foo--1", "foo", "-1"},
		{"foo-1-", "foo", "1-"},
		{"foo-", "", ""},
		{"-", "", ""},
	} {
		name, ver, ok := splitEntryName(c.in)
		if ok != (c.name != "") || name != c.name || ver != c.ver {
			t.Errorf("splitEntryName(%q) = %q, %q, %v", c.in, name, ver, ok)
		}
	}
}
