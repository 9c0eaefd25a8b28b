package scan

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/testroot"
)

// Benchmarks run on roots made by testroot.Generate: scale 1 is 2,000
// packages with 150 files each (300,000 owned files) and 20,000 unowned
// entries; scale 3 is three times that. The roots are generated once per
// process under PACTIDY_BENCH_DIR (default: a temporary directory that is
// removed afterwards; set it to keep the roots between runs).

type benchRoot struct {
	res testroot.GenResult
	db  *pkg.DB
}

var (
	benchMu    sync.Mutex
	benchRoots = map[int]*benchRoot{}
)

func benchScale(b *testing.B, scale int) *benchRoot {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if r := benchRoots[scale]; r != nil {
		return r
	}
	base := os.Getenv("PACTIDY_BENCH_DIR")
	if base == "" {
		var err error
		base, err = os.MkdirTemp("", "pactidy-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {}) // kept for the process; removed by TestMain
		benchTemp = append(benchTemp, base)
	}
	dir := filepath.Join(base, fmt.Sprintf("x%d", scale))
	spec := testroot.GenSpec{Packages: 2000 * scale, FilesPerPkg: 150, Unowned: 20000 * scale, DepFraction: 0.6, Seed: 1, WriteFiles: true}
	var res testroot.GenResult
	var err error
	if _, statErr := os.Stat(filepath.Join(dir, "root")); statErr != nil {
		res, err = testroot.Generate(dir, spec)
	} else {
		// Kept from an earlier run (PACTIDY_BENCH_DIR).
		res.Root, res.Config, res.DBPath = filepath.Join(dir, "root"), filepath.Join(dir, "root/etc/pacman.conf"), filepath.Join(dir, "root/var/lib/pacman")
	}
	if err != nil {
		b.Fatal(err)
	}
	r := &benchRoot{res: res, db: loadDB(b, res.Config, res.Root, res.DBPath)}
	benchRoots[scale] = r
	return r
}

var benchTemp []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range benchTemp {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func ownedFiles(db *pkg.DB) int {
	n := 0
	for _, p := range db.Packages {
		n += len(p.Files)
	}
	return n
}

// BenchmarkOwnedSet builds the owned-path index from the file lists.
func BenchmarkOwnedSet(b *testing.B) {
	for _, scale := range []int{1, 3} {
		b.Run(fmt.Sprintf("x%d", scale), func(b *testing.B) {
			r := benchScale(b, scale)
			b.ReportAllocs()
			b.ResetTimer()
			var s *OwnedSet
			for i := 0; i < b.N; i++ {
				s = NewOwnedSet(r.db)
			}
			b.ReportMetric(float64(s.Len()), "paths")
			b.ReportMetric(float64(ownedFiles(r.db)), "listed")
		})
	}
}

// BenchmarkWalk runs the whole unowned scan (index, walk, rules, collapse)
// on a loaded database, and, over the same tree, fdfind -HI and find, so
// that one run gives the ratios.
func BenchmarkWalk(b *testing.B) {
	for _, scale := range []int{1, 3} {
		b.Run(fmt.Sprintf("x%d/pactidy", scale), func(b *testing.B) {
			r := benchScale(b, scale)
			b.ReportAllocs()
			b.ResetTimer()
			var res *UnownedResult
			for i := 0; i < b.N; i++ {
				var err error
				res, err = Unowned(context.Background(), r.db, UnownedOptions{Root: r.res.Root, Excludes: DefaultExcludes})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(res.Entries)), "findings")
		})
		for _, tool := range [][]string{{"fdfind", "-HI", "."}, {"find", "."}} {
			b.Run(fmt.Sprintf("x%d/%s", scale, tool[0]), func(b *testing.B) {
				if _, err := exec.LookPath(tool[0]); err != nil {
					b.Skipf("%s is not installed", tool[0])
				}
				r := benchScale(b, scale)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					cmd := exec.Command(tool[0], tool[1:]...)
					cmd.Dir = r.res.Root
					if err := cmd.Run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
