package vercmp

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// benchVersions returns n versions shaped like a package cache: plain
// dotted versions, epochs, pre-releases (1.0rc1, 2.3beta), VCS versions
// (r1234.g0abc123) and pkgrels with a minor part (2.1).
func benchVersions(n int) []string {
	rng := rand.New(rand.NewPCG(20000, 1))
	vs := make([]string, n)
	for i := range vs {
		var v string
		switch r := rng.IntN(10); {
		case r < 5:
			v = fmt.Sprintf("%d.%d.%d", rng.IntN(10), rng.IntN(30), rng.IntN(100))
		case r < 6:
			v = fmt.Sprintf("%d:%d.%d", 1+rng.IntN(3), rng.IntN(10), rng.IntN(30))
		case r < 7:
			v = fmt.Sprintf("%d.%d%s%d", rng.IntN(10), rng.IntN(30), []string{"rc", "beta", "alpha", "pre"}[rng.IntN(4)], rng.IntN(5))
		case r < 8:
			v = fmt.Sprintf("r%d.g%07x", rng.IntN(5000), rng.Uint32()&0xfffffff)
		default:
			v = fmt.Sprintf("%d.%d", 2000+rng.IntN(25), 1+rng.IntN(12))
		}
		rel := fmt.Sprint(1 + rng.IntN(4))
		if rng.IntN(10) == 0 {
			rel += fmt.Sprintf(".%d", 1+rng.IntN(3))
		}
		vs[i] = v + "-" + rel
	}
	return vs
}

// BenchmarkVercmpSort sorts 20,000 versions with Compare, as the cache
// plan orders each package's files.
func BenchmarkVercmpSort(b *testing.B) {
	const n = 20000
	vs := benchVersions(n)
	work := make([]string, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(work, vs)
		slices.SortFunc(work, Compare)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "versions/s")
}
