// Package testroot builds real pacman packages and scratch pacman roots for
// tests, and generates large libalpm local databases for benchmarks.
//
// Build and Root drive the real tools (bsdtar, repo-add, pacman); nothing is
// mocked. Generate writes the on-disk formats directly, without pacman, so a
// root with thousands of packages is ready in seconds.
//
// Nothing here reads the host's /etc/pacman.conf or /var/lib/pacman: every
// pacman run gets --config, --root and --dbpath pointing into a temporary
// directory, and the generated pacman.conf sets every path libalpm would
// otherwise take from the host.
package testroot

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// DefaultBuildDate is the build date written into packages whose BuildDate is
// zero, and the mtime given to every entry in them, so that building the same
// Pkg twice gives the same archive contents.
const DefaultBuildDate = 1700000000

// Pkg describes a package to build.
type Pkg struct {
	Name    string
	Version string // "[epoch:]pkgver-pkgrel", e.g. "1:2.0-1"
	Arch    string // "" means "any", which installs on every host
	Desc    string // "" means "NAME test package"

	// OptDepends entries are "name: description" or "name"; Provides entries
	// are "name" or "name=version" (e.g. "libfoo.so=1-64", "foo=2.0").
	Depends, OptDepends, Provides, Conflicts, Replaces, Groups []string

	// Backup holds paths without a leading slash, e.g. "etc/foo.conf"; each
	// must also be a regular file in Files.
	Backup []string

	// Files maps a path (no leading slash) to its content. Parent directories
	// are implied; a key ending in "/" is an empty directory.
	Files map[string]string
	// Symlinks maps a path to its target.
	Symlinks map[string]string
	// Modes overrides the permission bits of entries in Files (default 0644
	// for files, 0755 for directories).
	Modes map[string]fs.FileMode

	Size      int64    // installed size; 0 means the sum of the file contents
	URL       string   // "" means https://example.invalid/NAME
	License   []string // nil means MIT
	Packager  string   // "" means "Test Packager <test@example.invalid>"
	BuildDate int64    // 0 means DefaultBuildDate
}

// FileName is the package file name as makepkg names it:
// NAME-[EPOCH:]PKGVER-PKGREL-ARCH.pkg.tar.zst.
func (p Pkg) FileName() string {
	return fmt.Sprintf("%s-%s-%s.pkg.tar.zst", p.Name, p.Version, p.arch())
}

func (p Pkg) arch() string {
	if p.Arch == "" {
		return "any"
	}
	return p.Arch
}

// Build writes NAME-VERSION-ARCH.pkg.tar.zst into dir and returns its path.
// The archive holds .MTREE (gzip-compressed, written by bsdtar with the
// keywords makepkg uses), .PKGINFO and the files, all owned by root.
func Build(t testing.TB, dir string, p Pkg) string {
	t.Helper()
	out, err := BuildPackage(dir, p)
	if err != nil {
		t.Fatalf("testroot: %v", err)
	}
	return out
}

// BuildPackage is Build for callers without a testing.TB.
func BuildPackage(dir string, p Pkg) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", p.Name, err)
	}
	stage, err := os.MkdirTemp("", "testroot-pkg-")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", p.Name, err)
	}
	defer os.RemoveAll(stage)

	if err := p.stage(stage); err != nil {
		return "", fmt.Errorf("build %s: %w", p.Name, err)
	}
	out := filepath.Join(dir, p.FileName())
	if err := archive(stage, out, p.buildDate()); err != nil {
		return "", fmt.Errorf("build %s: %w", p.Name, err)
	}
	return out, nil
}

func (p Pkg) buildDate() int64 {
	if p.BuildDate == 0 {
		return DefaultBuildDate
	}
	return p.BuildDate
}

func (p Pkg) validate() error {
	if p.Name == "" || strings.ContainsAny(p.Name, "/ \t\n") || strings.HasPrefix(p.Name, "-") || strings.HasPrefix(p.Name, ".") {
		return fmt.Errorf("package name %q is not valid", p.Name)
	}
	v := p.Version
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i <= 0 || i == len(v)-1 || strings.Count(v, "-") != 1 {
		return fmt.Errorf("package %s: version %q is not [epoch:]pkgver-pkgrel", p.Name, p.Version)
	}
	for _, b := range p.Backup {
		if _, ok := p.Files[b]; !ok || strings.HasSuffix(b, "/") {
			return fmt.Errorf("package %s: backup %q is not a regular file in Files", p.Name, b)
		}
	}
	for name := range p.Files {
		if err := checkRel(name); err != nil {
			return fmt.Errorf("package %s: %w", p.Name, err)
		}
	}
	for name := range p.Symlinks {
		if err := checkRel(name); err != nil {
			return fmt.Errorf("package %s: %w", p.Name, err)
		}
		if _, ok := p.Files[name]; ok {
			return fmt.Errorf("package %s: %q is both a file and a symlink", p.Name, name)
		}
	}
	return nil
}

func checkRel(name string) error {
	clean := strings.TrimSuffix(name, "/")
	if clean == "" || path.IsAbs(clean) || path.Clean(clean) != clean || clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, ".") {
		return fmt.Errorf("path %q must be relative, clean and not start with '.'", name)
	}
	return nil
}

// stage lays the package out in dir: the files, then .PKGINFO.
func (p Pkg) stage(dir string) error {
	names := sortedKeys(p.Files)
	for _, name := range names {
		full := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(name, "/")))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(p.Files[name]), 0o644); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(p.Symlinks) {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(p.Symlinks[name], full); err != nil {
			return err
		}
	}
	// Permissions are set explicitly so the umask of the test process does
	// not leak into the package.
	err := filepath.WalkDir(dir, func(full string, d fs.DirEntry, err error) error {
		if err != nil || full == dir || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(full, dir+string(filepath.Separator)))
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
			rel += "/"
		}
		if m, ok := p.Modes[rel]; ok {
			mode = m
		} else if m, ok := p.Modes[strings.TrimSuffix(rel, "/")]; ok {
			mode = m
		}
		return os.Chmod(full, mode)
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ".PKGINFO"), p.pkginfo(), 0o644)
}

func (p Pkg) pkginfo() []byte {
	var b bytes.Buffer
	kv := func(k string, vs ...string) {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
	}
	size := p.Size
	if size == 0 {
		for _, c := range p.Files {
			size += int64(len(c))
		}
	}
	desc := p.Desc
	if desc == "" {
		desc = p.Name + " test package"
	}
	url := p.URL
	if url == "" {
		url = "https://example.invalid/" + p.Name
	}
	packager := p.Packager
	if packager == "" {
		packager = "Test Packager <test@example.invalid>"
	}
	license := p.License
	if license == nil {
		license = []string{"MIT"}
	}
	b.WriteString("# Generated by testroot\n")
	kv("pkgname", p.Name)
	kv("pkgbase", p.Name)
	kv("pkgver", p.Version)
	kv("pkgdesc", desc)
	kv("url", url)
	kv("builddate", fmt.Sprint(p.buildDate()))
	kv("packager", packager)
	kv("size", fmt.Sprint(size))
	kv("arch", p.arch())
	kv("license", license...)
	kv("replaces", p.Replaces...)
	kv("group", p.Groups...)
	kv("conflict", p.Conflicts...)
	kv("provides", p.Provides...)
	kv("backup", p.Backup...)
	kv("depend", p.Depends...)
	kv("optdepend", p.OptDepends...)
	return b.Bytes()
}

// mtreeOptions are the keywords makepkg passes to bsdtar for .MTREE.
const mtreeOptions = "!all,use-set,type,uid,gid,mode,time,size,md5,sha256,link"

// rootOwner makes bsdtar record root ownership whoever runs it.
var rootOwner = []string{"--uid", "0", "--gid", "0", "--uname", "root", "--gname", "root"}

// archive writes .MTREE into stage and then the package file, the way
// makepkg's create_package does.
func archive(stage, out string, mtime int64) error {
	var entries []string
	err := filepath.WalkDir(stage, func(full string, d fs.DirEntry, err error) error {
		if err != nil || full == stage {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(full, stage+string(filepath.Separator)))
		if rel != ".PKGINFO" {
			entries = append(entries, rel)
		}
		return lutimes(full, mtime)
	})
	if err != nil {
		return err
	}
	list := func(names ...string) *bytes.Reader {
		var b bytes.Buffer
		for _, n := range names {
			b.WriteString(n)
			b.WriteByte(0)
		}
		return bytes.NewReader(b.Bytes())
	}

	mtreeArgs := append([]string{"-cnf", "-", "--format=mtree", "--options=" + mtreeOptions}, rootOwner...)
	mtreeArgs = append(mtreeArgs, "--null", "--files-from", "-", "--exclude", ".MTREE")
	raw, err := bsdtar(stage, list(append([]string{".PKGINFO"}, entries...)...), mtreeArgs...)
	if err != nil {
		return fmt.Errorf("write .MTREE: %w", err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return err
	}
	mtreePath := filepath.Join(stage, ".MTREE")
	if err := os.WriteFile(mtreePath, gz.Bytes(), 0o644); err != nil {
		return err
	}
	if err := lutimes(mtreePath, mtime); err != nil {
		return err
	}

	// The archive goes straight to its file: with "-f -" bsdtar pads the
	// compressed stream with zeros to a whole 10240-byte block, and libalpm
	// then rejects the package ("Zstd decompression failed: Unknown frame
	// descriptor").
	tarArgs := append([]string{"--no-fflags", "--no-read-sparse", "--zstd", "-cnf", out}, rootOwner...)
	tarArgs = append(tarArgs, "--null", "--files-from", "-")
	if _, err := bsdtar(stage, list(append([]string{".MTREE", ".PKGINFO"}, entries...)...), tarArgs...); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(out), err)
	}
	return nil
}

func bsdtar(dir string, stdin *bytes.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command("bsdtar", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.Env = cEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bsdtar %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// cEnv is the process environment with the C locale, so that tool output
// and path encoding do not depend on the caller's locale.
func cEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

// lutimes sets atime and mtime of name without following a symlink;
// os.Chtimes follows symlinks.
func lutimes(name string, sec int64) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	dirfd := -100 // AT_FDCWD
	const atSymlinkNoFollow = 0x100
	ts := [2]syscall.Timespec{{Sec: sec}, {Sec: sec}}
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(dirfd),
		uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&ts[0])), atSymlinkNoFollow, 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "utimensat", Path: name, Err: errno}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
