// Package demo builds a small but realistic Arch root with the real pacman:
// orphans, a dependency cycle, foreign packages, unowned files, a .pacnew,
// a missing file and a stale package cache. make demo runs pactidy on it.
package demo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pactidy/pactidy/internal/testroot"
)

// Root is a created demo root.
type Root struct {
	Dir      string // the target root
	Config   string // its pacman.conf
	CacheDir string
}

func p(name, version string, deps ...string) testroot.Pkg {
	return testroot.Pkg{
		Name: name, Version: version, Depends: deps,
		Files: map[string]string{
			"usr/share/doc/" + name + "/README": name + " " + version + "\n",
		},
	}
}

// Create builds the demo under dir (removing an earlier one).
func Create(dir string) (*Root, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("remove old demo %s: %w", dir, err)
	}
	r := &Root{Dir: filepath.Join(dir, "root")}
	r.Config = filepath.Join(r.Dir, "etc/pacman.conf")
	r.CacheDir = filepath.Join(r.Dir, "var/cache/pacman/pkg")
	repoDir := filepath.Join(dir, "repo")
	pkgDir := filepath.Join(dir, "pkg")
	for _, d := range []string{"var/lib/pacman", "var/cache/pacman/pkg", "var/log", "etc/pacman.d/hooks", "etc/pacman.d/gnupg"} {
		if err := os.MkdirAll(filepath.Join(r.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{repoDir, pkgDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}

	editor := func(v string) testroot.Pkg {
		e := p("editor", v, "libui", "libspell>=2")
		e.OptDepends = []string{"spell-en: English dictionary", "python: plugins"}
		e.Files["usr/bin/editor"] = "#!/bin/sh\necho editor " + v + "\n"
		e.Files["etc/editor.conf"] = "theme = dark\n"
		e.Backup = []string{"etc/editor.conf"}
		return e
	}
	python := p("python", "3.12.1-1")
	python.Files["usr/lib/python3.12/os.py"] = "# os\n"
	python.Files["usr/lib/python3.12/json/__init__.py"] = "# json\n"
	python.Provides = []string{"python3=3.12.1"}
	libspell := p("libspell", "2.1-1")
	libspell.Provides = []string{"libspell.so=2-64"}
	kernel := p("linux", "6.6.1.arch1-1")
	kernel.Files["usr/lib/modules/6.6.1-arch1-1/vmlinuz"] = "kernel\n"
	kernel.Files["usr/lib/modules/6.6.1-arch1-1/kernel/fs/ext4.ko.zst"] = "module\n"

	repo := []testroot.Pkg{
		p("glibc", "2.39-1"), p("bash", "5.2.026-1", "glibc"), kernel,
		editor("2.0-1"), p("libui", "1.4-2", "glibc"), libspell, p("spell-en", "2020.12.07-1", "libspell"),
		python, p("libold", "0.9-3"), p("libchain-a", "1.0-1", "libchain-b"), p("libchain-b", "1.0-1"),
		p("cycle-a", "1.0-1", "cycle-b"), p("cycle-b", "1.0-1", "cycle-a"), p("htop", "3.3.0-1", "glibc"),
	}
	var repoFiles []string
	for _, pk := range repo {
		f, err := testroot.BuildPackage(repoDir, pk)
		if err != nil {
			return nil, err
		}
		repoFiles = append(repoFiles, f)
	}
	if out, err := exec.Command("repo-add", append([]string{"-q", filepath.Join(repoDir, "core.db.tar.gz")}, repoFiles...)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("repo-add: %v: %s", err, out)
	}
	conf := fmt.Sprintf(`# pacman.conf of the pactidy demo root
[options]
RootDir = %[1]s
DBPath = %[1]s/var/lib/pacman/
CacheDir = %[1]s/var/cache/pacman/pkg/
LogFile = %[1]s/var/log/pacman.log
HookDir = %[1]s/etc/pacman.d/hooks/
GPGDir = %[1]s/etc/pacman.d/gnupg/
HoldPkg = glibc
Architecture = auto
SigLevel = Never
LocalFileSigLevel = Never

[core]
Server = file://%[2]s
`, r.Dir, repoDir)
	if err := os.WriteFile(r.Config, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := r.pacman("-Sy"); err != nil {
		return nil, err
	}

	// Dependencies first (with --asdeps), then what the user asked for.
	deps := []testroot.Pkg{
		p("glibc", "2.39-1"), p("bash", "5.2.026-1", "glibc"), p("libui", "1.4-2", "glibc"), libspell,
		p("spell-en", "2020.12.07-1", "libspell"), python, p("libold", "0.9-3"),
		p("libchain-a", "1.0-1", "libchain-b"), p("libchain-b", "1.0-1"),
		p("cycle-a", "1.0-1", "cycle-b"), p("cycle-b", "1.0-1", "cycle-a"),
	}
	explicit := []testroot.Pkg{editor("1.2-1"), p("htop", "3.3.0-1", "glibc"), kernel, p("yay-bin", "12.3.5-1")}
	if err := r.install(pkgDir, deps, true); err != nil {
		return nil, err
	}
	if err := r.install(pkgDir, explicit, false); err != nil {
		return nil, err
	}

	// Old versions in the cache, as upgrades leave them.
	for _, v := range []string{"1.0-1", "1.1-1", "1.1-2", "1.2-1", "2.0-1"} {
		if _, err := testroot.BuildPackage(r.CacheDir, editor(v)); err != nil {
			return nil, err
		}
	}
	for _, v := range []string{"0.7-1", "0.8-1", "0.9-1", "0.9-2", "0.9-3"} {
		if _, err := testroot.BuildPackage(r.CacheDir, p("libold", v)); err != nil {
			return nil, err
		}
	}
	for _, v := range []string{"1.0-1", "1.1-1"} {
		if _, err := testroot.BuildPackage(r.CacheDir, p("removed-long-ago", v)); err != nil {
			return nil, err
		}
	}
	extra := map[string]string{
		"var/cache/pacman/pkg/stray-1.0-1-any.pkg.tar.zst.sig":     "signature without its package\n",
		"var/cache/pacman/pkg/bash-5.2.026-1-any.pkg.tar.zst.part": "partial download\n",
		// Unowned leftovers of removed software.
		"etc/old-app/settings.ini":                          "[main]\nkey=1\n",
		"etc/old-app/plugins/one.conf":                      "x\n",
		"usr/local/lib/libstray.so":                         "ELF\n",
		"opt/leftover/bin/tool":                             "#!/bin/sh\n",
		"opt/leftover/share/data.bin":                       strings.Repeat("d", 4096),
		"usr/share/applications/gone.desktop":               "[Desktop Entry]\n",
		"etc/editor.conf.pacnew":                            "theme = light\n",
		"usr/lib/python3.12/__pycache__/os.cpython-312.pyc": "bytecode\n",
		"etc/ld.so.cache":                                   "cache\n",
		"etc/machine-id":                                    "0123456789abcdef\n",
		"home/user/notes.txt":                               "not package territory\n",
	}
	for rel, content := range extra {
		full := filepath.Join(r.Dir, rel)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	// A download pacman abandoned three days ago.
	old := time.Now().Add(-72 * time.Hour)
	if err := os.Chtimes(filepath.Join(r.CacheDir, "bash-5.2.026-1-any.pkg.tar.zst.part"), old, old); err != nil {
		return nil, err
	}
	// A file pacman installed that has since gone missing.
	if err := os.Remove(filepath.Join(r.Dir, "usr/share/doc/htop/README")); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Root) install(pkgDir string, pkgs []testroot.Pkg, asDeps bool) error {
	args := []string{"-U"}
	if asDeps {
		args = append(args, "--asdeps")
	}
	for _, pk := range pkgs {
		f, err := testroot.BuildPackage(pkgDir, pk)
		if err != nil {
			return err
		}
		args = append(args, f)
	}
	return r.pacman(args...)
}

// pacman runs the real pacman on the demo root (under fakeroot when not root).
func (r *Root) pacman(args ...string) error {
	full := append([]string{"--config", r.Config, "--root", r.Dir, "--dbpath", filepath.Join(r.Dir, "var/lib/pacman"), "--noconfirm", "--noprogressbar"}, args...)
	name := "pacman"
	if os.Getuid() != 0 {
		full = append([]string{"pacman"}, full...)
		name = "fakeroot"
	}
	cmd := exec.Command(name, full...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pacman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
