package cache

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// vercmpTool compares versions with pacman's vercmp(8), i.e. libalpm's
// alpm_pkg_vercmp, which paccache's sort (pacsort) uses too, so the oracle
// does not share internal/vercmp with the planner. Results are remembered:
// the random cases reuse few versions.
type vercmpTool struct {
	t    *testing.T
	path string
	seen map[[2]string]int
}

func newVercmpTool(t *testing.T) *vercmpTool {
	path, err := exec.LookPath("vercmp")
	if err != nil {
		t.Fatalf("vercmp(8) not found (run scripts/install-deps.sh): %v", err)
	}
	return &vercmpTool{t: t, path: path, seen: map[[2]string]int{}}
}

func (v *vercmpTool) compare(a, b string) int {
	if c, ok := v.seen[[2]string{a, b}]; ok {
		return c
	}
	out, err := exec.Command(v.path, a, b).Output()
	if err != nil {
		v.t.Fatalf("vercmp %s %s: %v", a, b, err)
	}
	c, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		v.t.Fatalf("vercmp %s %s printed %q", a, b, out)
	}
	v.seen[[2]string{a, b}], v.seen[[2]string{b, a}] = c, -c
	return c
}

// paccacheRule is paccache's documented selection, written down
// independently of the planner: in one directory, the package files
// (*.pkg.tar* but not *.sig) are sorted by version, split at '-' into
// name (all but the last three parts), version and arch (the last part up
// to its first '.'), and of each (name, arch) group selected by --arch and
// not --ignore'd all but the `keep` newest are candidates; the .sig of a
// candidate goes with it. paccache does not know what is installed.
func paccacheRule(vercmp *vercmpTool, dir string, names []string, keep int, arch string, ignore []string) []string {
	type file struct{ name, pkg, ver, arch string }
	groups := map[string][]file{}
	ign := map[string]bool{}
	for _, i := range ignore {
		ign[i] = true
	}
	present := map[string]bool{}
	for _, n := range names {
		present[n] = true
	}
	for _, n := range names {
		i := strings.Index(n, ".pkg.tar")
		if i < 0 || strings.HasSuffix(n[i:], ".sig") {
			continue
		}
		parts := strings.Split(n, "-")
		c := len(parts)
		f := file{
			name: n,
			pkg:  strings.Join(parts[:c-3], "-"),
			ver:  parts[c-3] + "-" + parts[c-2],
			arch: parts[c-1][:strings.IndexByte(parts[c-1], '.')],
		}
		if ign[f.pkg] {
			continue
		}
		groups[f.pkg+"/"+f.arch] = append(groups[f.pkg+"/"+f.arch], f)
	}
	var out []string
	for _, g := range groups {
		if arch != "" && g[0].arch != arch {
			continue
		}
		sort.SliceStable(g, func(i, j int) bool { return vercmp.compare(g[i].ver, g[j].ver) < 0 })
		for i := 0; i < len(g)-keep; i++ {
			out = append(out, filepath.Join(dir, g[i].name))
			if present[g[i].name+".sig"] {
				out = append(out, filepath.Join(dir, g[i].name+".sig"))
			}
		}
	}
	sort.Strings(out)
	return out
}

type parityCase struct {
	name   string
	files  []string
	keep   int
	arch   string
	ignore []string
}

func parityCases() []parityCase {
	cases := []parityCase{
		{name: "plain", keep: 3, files: []string{
			"foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.1-1-x86_64.pkg.tar.zst", "foo-1.2-1-x86_64.pkg.tar.zst", "foo-1.10-1-x86_64.pkg.tar.zst", "foo-1.9-1-x86_64.pkg.tar.zst"}},
		{name: "epochs and rc", keep: 1, files: []string{
			"foo-9.9-1-x86_64.pkg.tar.zst", "foo-1:0.1-1-x86_64.pkg.tar.zst", "bar-1.0rc1-1-any.pkg.tar.zst", "bar-1.0-1-any.pkg.tar.zst", "bar-1.0rc2-1-any.pkg.tar.zst"}},
		{name: "pkgrel 1.1", keep: 2, files: []string{
			"foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.0-1.1-x86_64.pkg.tar.zst", "foo-1.0-2-x86_64.pkg.tar.zst", "foo-1.0-10-x86_64.pkg.tar.zst"}},
		{name: "dashes and two arches", keep: 1, files: []string{
			"python-foo-1.0-1-any.pkg.tar.zst", "python-foo-1.1-1-any.pkg.tar.zst", "python-foo-bar-1.0-1-any.pkg.tar.zst",
			"python-foo-bar-2.0-1-any.pkg.tar.zst", "python-foo-1.0-1-x86_64.pkg.tar.zst", "python-foo-0.5-1-x86_64.pkg.tar.xz"}},
		{name: "signatures", keep: 1, files: []string{
			"foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.0-1-x86_64.pkg.tar.zst.sig", "foo-2.0-1-x86_64.pkg.tar.zst", "foo-2.0-1-x86_64.pkg.tar.zst.sig",
			"foo-1.5-1-x86_64.pkg.tar.zst"}},
		{name: "keep 0", keep: 0, files: []string{"foo-1.0-1-x86_64.pkg.tar.zst", "bar-1-1-any.pkg.tar.xz"}},
		{name: "arch", keep: 1, arch: "x86_64", files: []string{
			"foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.1-1-x86_64.pkg.tar.zst", "foo-1.0-1-any.pkg.tar.zst", "foo-1.1-1-any.pkg.tar.zst"}},
		{name: "ignore", keep: 1, ignore: []string{"foo", "baz"}, files: []string{
			"foo-1.0-1-x86_64.pkg.tar.zst", "foo-1.1-1-x86_64.pkg.tar.zst", "bar-1.0-1-any.pkg.tar.zst", "bar-1.1-1-any.pkg.tar.zst"}},
	}
	// Random directories: names with dashes, two arches, epochs, alpha
	// segments, pkgrel N.M, signatures for some files.
	rng := rand.New(rand.NewSource(5))
	pkgs := []string{"a", "foo", "foo-bar", "python-foo", "lib32-foo-bar-baz", "x-1"}
	vers := []string{"1.0", "1.0rc1", "1.0.1", "1.1", "1.10", "1.9", "2.0", "0.9", "1.0a", "1.0b", "20240101", "1.0.r5.gabc", "1.0+2"}
	rels := []string{"1", "2", "1.1", "10"}
	arches := []string{"x86_64", "any"}
	for n := 0; n < 150; n++ {
		seen := map[string]bool{}
		var files []string
		for k := 5 + rng.Intn(40); k > 0; k-- {
			v := vers[rng.Intn(len(vers))]
			if rng.Intn(6) == 0 {
				v = fmt.Sprintf("%d:%s", 1+rng.Intn(2), v)
			}
			f := fmt.Sprintf("%s-%s-%s-%s.pkg.tar.%s", pkgs[rng.Intn(len(pkgs))], v, rels[rng.Intn(len(rels))],
				arches[rng.Intn(len(arches))], []string{"zst", "xz"}[rng.Intn(2)])
			// One file per (name, version, arch): paccache counts two
			// compressions of one version twice, pactidy once (see below).
			key := f[:strings.Index(f, ".pkg.tar")]
			if seen[key] {
				continue
			}
			seen[key] = true
			files = append(files, f)
			if rng.Intn(3) == 0 {
				files = append(files, f+".sig")
			}
		}
		c := parityCase{name: fmt.Sprintf("random-%03d", n), files: files, keep: rng.Intn(5)}
		switch rng.Intn(5) {
		case 0:
			c.arch = arches[rng.Intn(2)]
		case 1:
			c.ignore = []string{pkgs[rng.Intn(len(pkgs))]}
		}
		cases = append(cases, c)
	}
	return cases
}

// TestParityWithPaccache: on one directory, the candidates of
// --keep N --no-keep-installed (with --arch and --ignore) are exactly the
// files paccache's rule selects, whatever is installed. Deliberate
// differences, not covered here: pactidy also removes stray signatures and
// old partial downloads (paccache leaves stray .sig files and counts
// *.part files as package versions), counts two files of one version (two
// compressions) as one version, and never touches unparseable names or
// symlinks.
func TestParityWithPaccache(t *testing.T) {
	vercmp := newVercmpTool(t)
	for _, c := range parityCases() {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l, err := Scan([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			o := DefaultOptions()
			o.Keep, o.KeepUninstalled, o.NoKeepInstalled = c.keep, c.keep, true
			o.Arch, o.Ignore = c.arch, c.ignore
			// What is installed must not matter with --no-keep-installed.
			o.Installed = installed("foo 1.0-1", "a 2.0-1 any")
			p := NewPlan(l, o)
			var got []string
			for _, f := range p.Candidates() {
				if f.Kind == Package || f.Kind == Signature {
					got = append(got, f.Path)
				}
			}
			sort.Strings(got)
			vercmp.t = t
			want := paccacheRule(vercmp, dir, c.files, c.keep, c.arch, c.ignore)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("keep %d arch %q ignore %q\n pactidy  %q\n paccache %q", c.keep, c.arch, c.ignore, got, want)
			}
		})
	}
}
