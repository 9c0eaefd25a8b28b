package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/pactidy/pactidy/internal/testroot"
)

// Size is one synthetic machine the harness measures.
type Size struct {
	Name string
	Spec testroot.GenSpec
	// Which comparisons run on it. A size without files on disk only makes
	// sense for the package analysis.
	Packages, Unowned, Cache, Report bool
	// Cold adds the unowned scan against fd with the page cache dropped
	// before each run (needs root).
	Cold bool
	// CacheGrowth are extra cache sizes (file counts) planned with the
	// same database, each generated into a root of its own, to show how
	// cache planning grows with the number of files.
	CacheGrowth []int
}

// DefaultSizes are the sizes `make bench` knows by name. The per-package
// shape (150 files, 60 % dependencies) is the same everywhere, so the sizes
// differ only in scale.
func DefaultSizes() []Size {
	all := func(s Size) Size {
		s.Packages, s.Unowned, s.Cache, s.Report = true, true, true, true
		return s
	}
	return []Size{
		all(Size{Name: "small", Spec: testroot.GenSpec{Packages: 300, FilesPerPkg: 67, Unowned: 2000,
			CacheFiles: 2000, DepFraction: 0.6, Seed: 1, WriteFiles: true}}),
		all(Size{Name: "large", Spec: testroot.GenSpec{Packages: 2000, FilesPerPkg: 150, Unowned: 20000,
			CacheFiles: 20000, DepFraction: 0.6, Seed: 1, WriteFiles: true}, CacheGrowth: []int{40000, 80000}, Cold: true}),
		// The package analysis at 5,000 packages needs only a database.
		{Name: "db5k", Packages: true, Spec: testroot.GenSpec{Packages: 5000, FilesPerPkg: 150,
			DepFraction: 0.6, Seed: 1}},
		all(Size{Name: "xlarge", Spec: testroot.GenSpec{Packages: 6000, FilesPerPkg: 150, Unowned: 60000,
			CacheFiles: 60000, DepFraction: 0.6, Seed: 1, WriteFiles: true}}),
	}
}

// Root is a generated root ready to be measured.
type Root struct {
	Dir        string             // .bench/roots/<size>-<hash>
	Result     testroot.GenResult `json:"result"`
	GenSeconds float64            `json:"gen_seconds"`
	Generated  time.Time          `json:"generated"`
	Cached     bool               `json:"-"` // reused from an earlier run
}

const metaFile = "meta.json"

// rootKey names a cached root: the spec and the generator's source, so a
// change to either regenerates it.
func rootKey(name string, spec testroot.GenSpec) string {
	h := sha256.New()
	b, _ := json.Marshal(spec)
	h.Write(b)
	h.Write([]byte(generatorFingerprint()))
	return name + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// generatorFingerprint hashes internal/testroot's non-test sources when
// they can be found next to this file (go run from a checkout); otherwise
// a cached root is keyed by its spec only.
func generatorFingerprint() string {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	dir := filepath.Join(filepath.Dir(self), "..", "internal", "testroot")
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		io.WriteString(h, filepath.Base(f))
		io.Copy(h, fh)
		fh.Close()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// prepareRoot returns the root for spec under rootsDir, generating it
// unless a complete one (with its meta.json) is cached. Stale roots of the
// same name (another spec or generator) are removed: they are large.
func prepareRoot(rootsDir, name string, spec testroot.GenSpec, logf func(string, ...any)) (*Root, error) {
	key := rootKey(name, spec)
	dir := filepath.Join(rootsDir, key)
	if r, err := reuseOrClear(rootsDir, name, key, logf); r != nil || err != nil {
		return r, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	logf("generating %s (%d packages, %d files/package, %d unowned, %d cache files)",
		key, spec.Packages, spec.FilesPerPkg, spec.Unowned, spec.CacheFiles)
	start := time.Now()
	res, err := testroot.Generate(abs, spec)
	if err != nil {
		return nil, err
	}
	r, err := saveRoot(dir, res, start)
	if err != nil {
		return nil, err
	}
	logf("generated %s in %.1f s", key, r.GenSeconds)
	return r, nil
}

// saveRoot records a finished generation in dir's meta.json, which marks
// the root complete for reuseOrClear.
func saveRoot(dir string, res testroot.GenResult, start time.Time) (*Root, error) {
	r := &Root{Dir: dir, Result: res, GenSeconds: time.Since(start).Seconds(), Generated: time.Now().UTC()}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, metaFile), b, 0o644); err != nil {
		return nil, err
	}
	return r, nil
}

// reuseOrClear returns the cached root rootsDir/key when its meta.json is
// complete. Otherwise it removes stale roots of the same name (another spec
// or generator: they are large) and any interrupted generation of key, and
// returns nil so the caller generates afresh.
func reuseOrClear(rootsDir, name, key string, logf func(string, ...any)) (*Root, error) {
	dir := filepath.Join(rootsDir, key)
	if b, err := os.ReadFile(filepath.Join(dir, metaFile)); err == nil {
		r := &Root{}
		if err := json.Unmarshal(b, r); err == nil {
			r.Dir, r.Cached = dir, true
			return r, nil
		}
	}
	old, _ := filepath.Glob(filepath.Join(rootsDir, name+"-*"))
	for _, o := range old {
		if base := filepath.Base(o); base != key && isKeyOf(name, base) {
			logf("removing stale %s", o)
			if err := os.RemoveAll(o); err != nil {
				return nil, err
			}
		}
	}
	// A directory without meta.json is an interrupted generation.
	return nil, os.RemoveAll(dir)
}

// isKeyOf reports whether base is rootKey(name, some spec).
func isKeyOf(name, base string) bool {
	rest, ok := strings.CutPrefix(base, name+"-")
	if !ok || len(rest) != 12 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}

// prepareGrowth returns a root that shares base's database and
// configuration but whose cache directory holds n package files: base's
// cache files plus older builds of the same packages ("1.2-3" gets
// "1.2-0.1", "1.2-0.2", ...), each with a .sig when the original has
// one. The files are empty; the plan reads only names, sizes and times.
func prepareGrowth(rootsDir string, s Size, base *Root, n int, logf func(string, ...any)) (*Root, error) {
	name := growthName(s, n)
	h := sha256.Sum256([]byte(fmt.Sprintf("%s %d growth-v1", filepath.Base(base.Dir), n)))
	key := name + "-" + hex.EncodeToString(h[:])[:12]
	dir := filepath.Join(rootsDir, key)
	if r, err := reuseOrClear(rootsDir, name, key, logf); r != nil || err != nil {
		return r, err
	}
	cache, err := filepath.Abs(filepath.Join(dir, "pkg"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	logf("writing %s (%d cache files)", key, n)
	start := time.Now()
	entries, err := os.ReadDir(base.Result.CacheDir)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	var pkgs []string
	for _, e := range entries {
		names[e.Name()] = true
		if strings.HasSuffix(e.Name(), ".pkg.tar.zst") {
			pkgs = append(pkgs, e.Name())
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("%s has no package files to grow from", base.Result.CacheDir)
	}
	touch := func(f string) error { return os.WriteFile(filepath.Join(cache, f), nil, 0o644) }
	res := base.Result
	res.CacheDir, res.CacheFiles, res.CacheSigs, res.UnownedPaths = cache, 0, 0, nil
	write := func(pkg, orig string) error {
		if err := touch(pkg); err != nil {
			return err
		}
		res.CacheFiles++
		if names[orig+".sig"] {
			res.CacheSigs++
			return touch(pkg + ".sig")
		}
		return nil
	}
	for _, f := range pkgs {
		if err := write(f, f); err != nil {
			return nil, err
		}
	}
	for k := 1; res.CacheFiles < n; k++ {
		for _, f := range pkgs {
			if res.CacheFiles >= n {
				break
			}
			older, ok := olderName(f, k)
			if !ok || names[older] {
				continue
			}
			if err := write(older, f); err != nil {
				return nil, err
			}
		}
	}
	return saveRoot(dir, res, start)
}

// olderName turns NAME-PKGVER-PKGREL-ARCH.pkg.tar.zst into the file of an
// older build of the same pkgver, NAME-PKGVER-0.K-ARCH.pkg.tar.zst
// (vercmp orders pkgrel 0.1 < 0.2 < 1, and every generated pkgrel is at
// least 1).
func olderName(file string, k int) (string, bool) {
	stem := strings.TrimSuffix(file, ".pkg.tar.zst")
	parts := strings.Split(stem, "-")
	if len(parts) < 4 || strings.HasPrefix(parts[len(parts)-2], "0") {
		return "", false
	}
	parts[len(parts)-2] = fmt.Sprintf("0.%d", k)
	return strings.Join(parts, "-") + ".pkg.tar.zst", true
}

func growthName(s Size, n int) string { return fmt.Sprintf("%s-cache%d", s.Name, n) }
