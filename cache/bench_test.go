package cache

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pactidy/pactidy/internal/pkg"
)

// synthCache returns n cache file names shaped like a real cache: packages
// with 1 to 6 versions (epochs, alpha segments, pkgrel N.M), two arches,
// a signature for a quarter of the files, and the local database that has
// two thirds of the packages installed.
func synthCache(n int) ([]string, *pkg.DB) {
	rng := rand.New(rand.NewSource(int64(n)))
	var names []string
	var installed []*pkg.Package
	for i := 0; len(names) < n; i++ {
		name := fmt.Sprintf("pkg-%d-lib", i)
		arch := "x86_64"
		if i%5 == 0 {
			arch = "any"
		}
		versions := 1 + rng.Intn(6)
		var last string
		for v := 0; v < versions && len(names) < n; v++ {
			ver := fmt.Sprintf("%d.%d.%d-%d", rng.Intn(3), v, rng.Intn(20), 1+rng.Intn(2))
			if v%3 == 2 {
				ver = fmt.Sprintf("%d.%drc%d-1.1", rng.Intn(3), v, rng.Intn(3))
			}
			if i%17 == 0 {
				ver = "1:" + ver
			}
			f := fmt.Sprintf("%s-%s-%s.pkg.tar.zst", name, ver, arch)
			names = append(names, f)
			if rng.Intn(4) == 0 && len(names) < n {
				names = append(names, f+".sig")
			}
			last = ver
		}
		if i%3 != 0 {
			installed = append(installed, &pkg.Package{Name: name, Version: last, Arch: arch})
		}
	}
	return names, pkg.NewDB(installed)
}

func synthListing(names []string) *Listing {
	l := &Listing{Dirs: []string{"/var/cache/pacman/pkg"}}
	mtime := time.Now().Add(-30 * 24 * time.Hour)
	for _, n := range names {
		l.Entries = append(l.Entries, Entry{Name: n, Size: 1 << 20, ModTime: mtime})
	}
	return l
}

// BenchmarkPlan is the planning logic alone on an in-memory listing; the
// growth from 20k to 40k and 80k files shows it is linear (n log n).
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{20000, 40000, 80000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			names, db := synthCache(n)
			l := synthListing(names)
			o := DefaultOptions()
			o.Installed = db
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if p := NewPlan(l, o); len(p.Files) != n {
					b.Fatalf("plan has %d files, want %d", len(p.Files), n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// BenchmarkScanPlan reads a real directory of 20,000 (empty) files and
// plans it: what `pactidy cache` does apart from loading the database.
func BenchmarkScanPlan(b *testing.B) {
	const n = 20000
	names, db := synthCache(n)
	// The outer function runs once: the directory is made once, whatever
	// b.N the inner one is called with.
	dir := b.TempDir()
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	o := DefaultOptions()
	o.Installed = db
	b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l, err := Scan([]string{dir})
			if err != nil {
				b.Fatal(err)
			}
			if p := NewPlan(l, o); len(p.Files) != n {
				b.Fatalf("plan has %d files, want %d", len(p.Files), n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
	})
}
