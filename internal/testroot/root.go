package testroot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Root is a scratch pacman root in t.TempDir().
//
// Layout, with B the temporary directory:
//
//	B/root                        Dir, the target system
//	B/root/etc/pacman.conf        Config, the target's own configuration
//	B/root/var/lib/pacman         DBPath
//	B/root/var/cache/pacman/pkg   CacheDir
//	B/root/var/log/pacman.log     LogFile
//	B/root/etc/pacman.d/hooks     HookDir (empty: no hook of the host runs)
//	B/root/etc/pacman.d/gnupg     GPGDir (unused: SigLevel = Never)
//	B/pkg                         PkgDir, where Install builds packages
//	B/repos/NAME                  a repository made by AddRepo
//
// Config, the log file and the hook and gnupg directories are inside Dir but
// owned by no package, so an unowned-file scan of Dir reports them (as it
// would report a hand-made file on a real system).
//
// pacman 6.0.2 reads hooks from HookDir and from Dir/usr/share/libalpm/hooks
// (the system hook directory, taken relative to the root), never from the
// host's; a test package that ships a .hook there makes later transactions
// run it.
type Root struct {
	Dir      string
	DBPath   string
	CacheDir string
	Config   string
	PkgDir   string
	LogFile  string
	HookDir  string
	GPGDir   string

	base string
	conf config
	fake string // fakeroot state file when not running as root
}

// Option configures New.
type Option func(*config)

// WithHoldPkg adds HoldPkg entries to [options].
func WithHoldPkg(names ...string) Option {
	return func(c *config) { c.holdPkg = append(c.holdPkg, names...) }
}

// WithIgnorePkg adds IgnorePkg entries to [options].
func WithIgnorePkg(names ...string) Option {
	return func(c *config) { c.ignorePkg = append(c.ignorePkg, names...) }
}

// WithExtraConfig appends lines to [options].
func WithExtraConfig(lines string) Option {
	return func(c *config) { c.extra = append(c.extra, lines) }
}

// config is everything pacman.conf says; it is rewritten whole whenever a
// repository is added.
type config struct {
	root, dbPath, cacheDir, logFile, hookDir, gpgDir string
	holdPkg, ignorePkg                               []string
	extra                                            []string
	repos                                            []repo
}

type repo struct{ name, dir string }

func (c config) String() string {
	var b strings.Builder
	b.WriteString("# pacman.conf of a scratch root; every path points inside the root.\n")
	b.WriteString("[options]\n")
	fmt.Fprintf(&b, "RootDir = %s\n", c.root)
	fmt.Fprintf(&b, "DBPath = %s/\n", c.dbPath)
	fmt.Fprintf(&b, "CacheDir = %s/\n", c.cacheDir)
	fmt.Fprintf(&b, "LogFile = %s\n", c.logFile)
	fmt.Fprintf(&b, "HookDir = %s/\n", c.hookDir)
	fmt.Fprintf(&b, "GPGDir = %s/\n", c.gpgDir)
	b.WriteString("Architecture = auto\n")
	b.WriteString("SigLevel = Never\n")
	b.WriteString("LocalFileSigLevel = Never\n")
	if len(c.holdPkg) > 0 {
		fmt.Fprintf(&b, "HoldPkg = %s\n", strings.Join(c.holdPkg, " "))
	}
	if len(c.ignorePkg) > 0 {
		fmt.Fprintf(&b, "IgnorePkg = %s\n", strings.Join(c.ignorePkg, " "))
	}
	for _, e := range c.extra {
		b.WriteString(strings.TrimRight(e, "\n"))
		b.WriteString("\n")
	}
	for _, r := range c.repos {
		fmt.Fprintf(&b, "\n[%s]\nServer = file://%s\n", r.name, r.dir)
	}
	return b.String()
}

func newConfig(root string) config {
	return config{
		root:     root,
		dbPath:   filepath.Join(root, "var/lib/pacman"),
		cacheDir: filepath.Join(root, "var/cache/pacman/pkg"),
		logFile:  filepath.Join(root, "var/log/pacman.log"),
		hookDir:  filepath.Join(root, "etc/pacman.d/hooks"),
		gpgDir:   filepath.Join(root, "etc/pacman.d/gnupg"),
	}
}

func (c config) mkdirs() error {
	for _, d := range []string{c.dbPath, c.cacheDir, filepath.Dir(c.logFile), c.hookDir, c.gpgDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// New creates an empty pacman root in t.TempDir() and writes its pacman.conf.
func New(t testing.TB, opts ...Option) *Root {
	t.Helper()
	if _, err := exec.LookPath("pacman"); err != nil {
		t.Skip("testroot: pacman is not installed (Debian: apt-get install pacman-package-manager)")
	}
	base := t.TempDir()
	dir := filepath.Join(base, "root")
	c := newConfig(dir)
	for _, o := range opts {
		o(&c)
	}
	r := &Root{
		Dir:      dir,
		DBPath:   c.dbPath,
		CacheDir: c.cacheDir,
		Config:   filepath.Join(dir, "etc/pacman.conf"),
		PkgDir:   filepath.Join(base, "pkg"),
		LogFile:  c.logFile,
		HookDir:  c.hookDir,
		GPGDir:   c.gpgDir,
		base:     base,
		conf:     c,
	}
	if err := c.mkdirs(); err != nil {
		t.Fatalf("testroot: %v", err)
	}
	if err := os.MkdirAll(r.PkgDir, 0o755); err != nil {
		t.Fatalf("testroot: %v", err)
	}
	r.writeConfig(t)
	if os.Geteuid() != 0 {
		// pacman refuses to change a root unless getuid() is 0. fakeroot
		// fakes that (and the chown calls); its state file keeps the faked
		// ownership consistent across pacman runs, so -Qkk agrees with the
		// packages' .MTREE.
		if _, err := exec.LookPath("fakeroot"); err == nil {
			r.fake = filepath.Join(base, "fakeroot.state")
			if err := os.WriteFile(r.fake, nil, 0o644); err != nil {
				t.Fatalf("testroot: %v", err)
			}
		}
	}
	return r
}

func (r *Root) writeConfig(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(r.Config, []byte(r.conf.String()), 0o644); err != nil {
		t.Fatalf("testroot: write pacman.conf: %v", err)
	}
}

// Path returns p inside the root.
func (r *Root) Path(p string) string {
	return filepath.Join(r.Dir, p)
}

// Build builds p into r.PkgDir and returns the package file's path.
func (r *Root) Build(t testing.TB, p Pkg) string {
	t.Helper()
	return Build(t, r.PkgDir, p)
}

// Install builds pkgs and installs them as explicitly installed, in one
// pacman -U transaction.
func (r *Root) Install(t testing.TB, pkgs ...Pkg) {
	t.Helper()
	r.install(t, false, pkgs)
}

// InstallAsDeps is Install with --asdeps.
func (r *Root) InstallAsDeps(t testing.TB, pkgs ...Pkg) {
	t.Helper()
	r.install(t, true, pkgs)
}

func (r *Root) install(t testing.TB, asDeps bool, pkgs []Pkg) {
	t.Helper()
	r.requirePrivilege(t)
	if len(pkgs) == 0 {
		return
	}
	args := []string{"--noconfirm", "-U"}
	if asDeps {
		args = append(args, "--asdeps")
	}
	for _, p := range pkgs {
		args = append(args, r.Build(t, p))
	}
	r.Pacman(t, args...)
}

// requirePrivilege skips the test when pacman cannot change the root: it
// needs uid 0, real or faked by fakeroot.
func (r *Root) requirePrivilege(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 && r.fake == "" {
		t.Skipf("testroot: pacman needs root to change a root (it chowns every file), this runs as uid %d and fakeroot is not installed", os.Geteuid())
	}
}

// AddRepo builds pkgs into a repository directory, runs repo-add for
// NAME.db.tar.gz, adds [name] with a file:// Server to pacman.conf and runs
// pacman -Syy, so that DBPath/sync/NAME.db exists. Adding to the same name
// again adds packages to that repository.
func (r *Root) AddRepo(t testing.TB, name string, pkgs ...Pkg) {
	t.Helper()
	r.requirePrivilege(t)
	if _, err := exec.LookPath("repo-add"); err != nil {
		t.Skip("testroot: repo-add is not installed (Debian: apt-get install pacman-package-manager)")
	}
	dir := filepath.Join(r.base, "repos", name)
	files := []string{"-q", filepath.Join(dir, name+".db.tar.gz")}
	for _, p := range pkgs {
		files = append(files, Build(t, dir, p))
	}
	if len(pkgs) == 0 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("testroot: %v", err)
		}
	}
	cmd := exec.Command("repo-add", files...)
	cmd.Env = cEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testroot: repo-add %s: %v\n%s", name, err, out)
	}
	known := false
	for _, rp := range r.conf.repos {
		known = known || rp.name == name
	}
	if !known {
		r.conf.repos = append(r.conf.repos, repo{name: name, dir: dir})
		r.writeConfig(t)
	}
	// -Syy: a plain -Sy compares modification times and calls a database
	// rewritten within the same second as the last sync up to date.
	r.Pacman(t, "-Syy")
}

// Pacman runs the real pacman on this root with --config, --root and
// --dbpath prepended and returns its standard output. A non-zero exit fails
// the test.
func (r *Root) Pacman(t testing.TB, args ...string) string {
	t.Helper()
	stdout, stderr, code := r.PacmanErr(t, args...)
	if code != 0 {
		t.Fatalf("testroot: pacman %s: exit %d\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), code, stderr, stdout)
	}
	return stdout
}

// PacmanErr runs pacman like Pacman but leaves the exit code to the caller
// (e.g. -Qdtq exits 1 when there is nothing to list). It fails the test only
// when pacman cannot be run at all.
func (r *Root) PacmanErr(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := r.Command(args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("testroot: run pacman: %v", err)
	}
	return o.String(), e.String(), code
}

// Command returns the pacman command PacmanErr runs, for callers that need
// standard input or their own output handling. It runs in the C locale and,
// when the test is not root, under fakeroot.
func (r *Root) Command(args ...string) *exec.Cmd {
	full := append([]string{"--config", r.Config, "--root", r.Dir, "--dbpath", r.DBPath}, args...)
	var cmd *exec.Cmd
	if r.fake != "" {
		cmd = exec.Command("fakeroot", append([]string{"-i", r.fake, "-s", r.fake, "--", "pacman"}, full...)...)
	} else {
		cmd = exec.Command("pacman", full...)
	}
	cmd.Env = cEnv()
	return cmd
}

// Open returns a Root for a generated tree, to run pacman on it. Its PkgDir
// is empty: build packages with Build into a directory of your own.
func Open(res GenResult) *Root {
	c := newConfig(res.Root)
	return &Root{
		Dir:      res.Root,
		DBPath:   res.DBPath,
		CacheDir: res.CacheDir,
		Config:   res.Config,
		LogFile:  c.logFile,
		HookDir:  c.hookDir,
		GPGDir:   c.gpgDir,
		base:     filepath.Dir(res.Root),
		conf:     c,
	}
}
