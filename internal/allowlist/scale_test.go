package allowlist

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The index finds what a test of every entry in file order finds: the
// first entry that keeps the path.
func TestIndexMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	comps := []string{"a", "b", "ab", "c.d"}
	wild := []string{"*", "?", "**", "[ab]", "a*", "*b"}
	component := func(w bool) string {
		if w && rng.IntN(3) == 0 {
			return wild[rng.IntN(len(wild))]
		}
		return comps[rng.IntN(len(comps))]
	}
	installed := func(name string) bool { return name == "yes" }
	for round := 0; round < 300; round++ {
		var entries []Entry
		for k := rng.IntN(12) + 1; k > 0; k-- {
			var parts []string
			for d := rng.IntN(3) + 1; d > 0; d-- {
				parts = append(parts, component(true))
			}
			glob := strings.Join(parts, "/")
			if rng.IntN(4) == 0 {
				glob += "/"
			}
			e := Entry{Kind: KindPath, Glob: normalizeGlob(glob), Line: len(entries) + 1}
			if rng.IntN(4) == 0 {
				e.Kind, e.Package = KindPathIfInstalled, []string{"yes", "no"}[rng.IntN(2)]
			}
			if _, err := compileGlob(e.Glob, componentSyntax); err != nil {
				continue
			}
			entries = append(entries, e)
		}
		l, err := New(entries)
		if err != nil {
			t.Fatal(err)
		}
		for m := 0; m < 50; m++ {
			var parts []string
			for d := rng.IntN(4) + 1; d > 0; d-- {
				parts = append(parts, component(false))
			}
			path := "/" + strings.Join(parts, "/")
			if rng.IntN(2) == 0 {
				path += "/"
			}
			want := -1
			for i, e := range entries {
				g, _ := compileGlob(e.Glob, componentSyntax)
				if (e.Kind != KindPathIfInstalled || installed(e.Package)) && g.match(strings.TrimLeft(path, "/")) {
					want = i
					break
				}
			}
			got, ok := l.Match(path, installed)
			if ok != (want >= 0) || (ok && got.Line != entries[want].Line) {
				t.Fatalf("entries %v, path %q: Match = %v %v, want entry %d", entries, path, got, ok, want)
			}
		}
	}
}

// writeBigAllowlist writes n lines: mostly exact paths, every tenth a
// pattern, some packages.
func writeBigAllowlist(tb testing.TB, n int) (string, int64) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "allowlist")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		switch {
		case i%100 == 0:
			fmt.Fprintf(w, "package pkg-%d\n", i)
		case i%10 == 0:
			fmt.Fprintf(w, "path /srv/d%03d/*.tmp%d\n", i%1000, i)
		default:
			fmt.Fprintf(w, "path /srv/d%03d/file-%d\n", i%1000, i)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return path, fi.Size()
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A million-line allowlist loads into memory proportional to the file
// and matches by index (before, every path was tested against every
// entry's regular expression: minutes and 6 GB).
func TestMillionLines(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 1_000_000
	path, size := writeBigAllowlist(t, n)
	before := heapInUse()
	l, err := Load(Sources{SysConfDir: t.TempDir(), Extra: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	grown := heapInUse() - before
	t.Logf("%d lines, %d bytes: %d bytes of heap (%.1f per byte of the file)", n, size, grown, float64(grown)/float64(size))
	// Entries, compiled patterns and the index: a few hundred bytes a
	// line, against several kilobytes for a regular expression each.
	if grown > 16*uint64(size) {
		t.Errorf("the list takes %d bytes for a %d-byte file", grown, size)
	}
	if got := len(l.Entries()); got != n {
		t.Fatalf("%d entries, want %d", got, n)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/srv/d001/file-1", true},
		{"/srv/d999/file-999999", true},
		{"/srv/d999/file-999999/below", true},
		{"/srv/d001/file-1001", true},
		{"/srv/d002/file-1", false},
		{"/srv/d010/x.tmp10", true},
		{"/srv/d010/x.tmp11", false},
		{"/srv/d010/sub/x.tmp10", false},
		{"/usr/bin/ls", false},
	} {
		if got := l.KeepsPath(tt.path, nil); got != tt.want {
			t.Errorf("KeepsPath(%s) = %v, want %v", tt.path, got, tt.want)
		}
	}
	if !l.KeepsPackage("pkg-999900") || l.KeepsPackage("pkg-1") {
		t.Error("package entries")
	}
	runtime.KeepAlive(l)
}

// BenchmarkMatchBigList matches paths against a 100,000-line allowlist.
func BenchmarkMatchBigList(b *testing.B) {
	path, _ := writeBigAllowlist(b, 100_000)
	l, err := Load(Sources{SysConfDir: b.TempDir(), Extra: []string{path}})
	if err != nil {
		b.Fatal(err)
	}
	paths := []string{"/srv/d001/file-1", "/srv/d500/file-77", "/srv/d010/a.tmp10", "/usr/share/doc/x/README", "/srv/d123/sub/dir/"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.KeepsPath(paths[i%len(paths)], nil)
	}
}

// BenchmarkLoadBigList reads and indexes a 100,000-line allowlist.
func BenchmarkLoadBigList(b *testing.B) {
	path, _ := writeBigAllowlist(b, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Load(Sources{SysConfDir: b.TempDir(), Extra: []string{path}}); err != nil {
			b.Fatal(err)
		}
	}
}
