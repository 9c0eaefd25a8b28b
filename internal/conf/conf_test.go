package conf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pacmanConf asks pacman-conf(8) for one option.
func pacmanConf(t *testing.T, file string, o Overrides, key string) []string {
	t.Helper()
	args := []string{"--config", file}
	if o.Root != "" {
		args = append(args, "--root", o.Root)
	}
	if o.DBPath != "" {
		args = append(args, "--dbpath", o.DBPath)
	}
	out, err := exec.Command("pacman-conf", append(args, key)...).Output()
	if err != nil {
		t.Fatalf("pacman-conf %v %s: %v", args, key, err)
	}
	var vals []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			vals = append(vals, filepath.Clean(l))
		}
	}
	return vals
}

func dedup(in []string) []string {
	var out []string
	for _, s := range in {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func repoList(t *testing.T, file string) []string {
	out, err := exec.Command("pacman-conf", "--config", file, "--repo-list").Output()
	if err != nil {
		t.Fatalf("pacman-conf --repo-list: %v", err)
	}
	return strings.Fields(string(out))
}

func TestMatchesPacmanConf(t *testing.T) {
	if _, err := exec.LookPath("pacman-conf"); err != nil {
		t.Fatalf("pacman-conf not installed (run scripts/install-deps.sh): %v", err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "inc/10-ignore.conf"), "IgnorePkg = foo bar\nIgnorePkg = baz\n")
	write(t, filepath.Join(dir, "inc/20-cache.conf"), "CacheDir = /srv/cache/\n")
	// glob(3) leaves names starting with '.' to patterns that say so.
	write(t, filepath.Join(dir, "inc/.30-hidden.conf"), "CacheDir = /hidden/\n")
	write(t, filepath.Join(dir, ".hiddendir/40-cache.conf"), "CacheDir = /hidden2/\n")
	write(t, filepath.Join(dir, "visible/40-cache.conf"), "CacheDir = /visible/\n")
	write(t, filepath.Join(dir, "mirrorlist"), "# comment\nServer = http://mirror/$repo/os/$arch\n")
	configs := map[string]string{
		"full": `# test
[options]
HoldPkg     = pacman glibc
Architecture = auto
CacheDir = /var/cache/pacman/pkg/
CacheDir = /mnt/other/
  # indented comment
Include = ` + dir + `/inc/*.conf
Include = ` + dir + `/*/40-cache.conf
Include = ` + dir + `/inc/.30-*.conf
Color
CheckSpace
SigLevel = Required DatabaseOptional

[core]
Include = ` + dir + `/mirrorlist

[extra]
Server = file:///srv/repo
`,
		"minimal": "[options]\n",
		"rootdir": "[options]\nRootDir = /mnt/target\nArchitecture = x86_64 auto\n[local]\nServer = file:///x\n",
		"dbpath":  "[options]\nDBPath = /custom/db/\nLogFile = /custom/log\n",
		// The default pacman.conf's "#IgnorePkg   =" uncommented: pacman
		// reads an empty list.
		"empty-lists": "[options]\nIgnorePkg   =\nIgnoreGroup =\nNoUpgrade   =\nNoExtract   =\nHoldPkg =\nCacheDir =\nCacheDir = /a\n[core]\nServer =\nSigLevel =\n",
	}
	// pacman-conf has no --dbpath; the DBPath override is checked below.
	overrides := []Overrides{{}, {Root: "/tmp/r"}}
	keys := map[string]func(*Config) []string{
		"RootDir":      func(c *Config) []string { return []string{c.RootDir} },
		"DBPath":       func(c *Config) []string { return []string{c.DBPath} },
		"LogFile":      func(c *Config) []string { return []string{c.LogFile} },
		"GPGDir":       func(c *Config) []string { return []string{c.GPGDir} },
		"CacheDir":     func(c *Config) []string { return c.CacheDirs },
		"HookDir":      func(c *Config) []string { return c.HookDirs },
		"HoldPkg":      func(c *Config) []string { return c.HoldPkg },
		"IgnorePkg":    func(c *Config) []string { return c.IgnorePkg },
		"Architecture": func(c *Config) []string { return c.Architectures },
	}
	for name, text := range configs {
		file := filepath.Join(dir, name+".conf")
		write(t, file, text)
		for _, o := range overrides {
			t.Run(name+"/"+o.Root+o.DBPath, func(t *testing.T) {
				c, err := Load(file, o)
				if err != nil {
					t.Fatal(err)
				}
				for key, get := range keys {
					want := pacmanConf(t, file, o, key)
					got := get(c)
					if key == "Architecture" {
						// pacman-conf repeats "auto x86_64" and prints
						// nothing when unset; both mean the machine's.
						if len(want) == 0 {
							want = []string{machine()}
						}
						want = dedup(want)
					}
					if len(got) == 0 && len(want) == 0 {
						continue
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s = %q, pacman-conf says %q", key, got, want)
					}
				}
				var names []string
				for _, r := range c.Repos {
					names = append(names, r.Name)
				}
				if want := repoList(t, file); !reflect.DeepEqual(names, want) && !(len(names) == 0 && len(want) == 0) {
					t.Errorf("repos = %q, pacman-conf says %q", names, want)
				}
			})
		}
	}
	c, err := Load(filepath.Join(dir, "minimal.conf"), Overrides{Root: "/tmp/r", DBPath: "/tmp/db/"})
	if err != nil || c.DBPath != "/tmp/db" || c.LogFile != "/tmp/r/var/log/pacman.log" {
		t.Errorf("--dbpath override: %v %+v", err, c)
	}
	c, err = Load(filepath.Join(dir, "full.conf"), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Repos[0].Servers; len(got) != 1 || got[0] != "http://mirror/core/os/"+machine() {
		t.Errorf("core servers = %q", got)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"no-section", "HoldPkg = a\n", 1, "must belong to a section"},
		{"bad-section", "[options\nHoldPkg = a\n", 1, "bad section name"},
		{"empty-value", "[options]\n\nDBPath =\n", 3, "needs a value"},
		{"empty-include", "[options]\nInclude =\n", 2, "needs a value"},
		{"missing-include", "[options]\nInclude = " + dir + "/nope.conf\n", 0, "nope.conf: could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, tt.name+".conf")
			write(t, file, tt.text)
			_, err := Load(file, Overrides{})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Load = %v, want a ParseError", err)
			}
			if pe.Line != tt.line || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q (line %d), want line %d containing %q", err, pe.Line, tt.line, tt.msg)
			}
			if tt.line > 0 && !strings.Contains(err.Error(), file) {
				t.Errorf("error %q does not name %s", err, file)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "absent.conf"), Overrides{}); err == nil || !strings.Contains(err.Error(), "absent.conf") {
		t.Errorf("missing file: %v", err)
	}
	file := filepath.Join(dir, "warn.conf")
	write(t, file, "[options]\nBogus = 1\n")
	c, err := Load(file, Overrides{})
	if err != nil || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "line 2") {
		t.Errorf("unknown directive: err=%v warnings=%q", err, c.Warnings)
	}
}

// TestIncludeDepth: pacman reads Includes nested ten deep and refuses the
// eleventh level, which also ends an Include of the file itself.
func TestIncludeDepth(t *testing.T) {
	if _, err := exec.LookPath("pacman-conf"); err != nil {
		t.Fatalf("pacman-conf not installed (run scripts/install-deps.sh): %v", err)
	}
	chain := func(levels int) string {
		dir := filepath.Join(t.TempDir(), "chain")
		for i := 1; i <= levels; i++ {
			text := "HoldPkg = deepest\n"
			if i < levels {
				text = "Include = " + filepath.Join(dir, "f"+string(rune('a'+i))) + "\n"
			}
			write(t, filepath.Join(dir, "f"+string(rune('a'+i-1))), text)
		}
		main := filepath.Join(dir, "pacman.conf")
		write(t, main, "[options]\nInclude = "+filepath.Join(dir, "fa")+"\n")
		return main
	}
	deep := chain(maxIncludeDepth)
	if got, want := pacmanConf(t, deep, Overrides{}, "HoldPkg"), []string{"deepest"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pacman-conf HoldPkg = %q, want %q", got, want)
	}
	if c, err := Load(deep, Overrides{}); err != nil {
		t.Errorf("%d nested Includes: %v", maxIncludeDepth, err)
	} else if !reflect.DeepEqual(c.HoldPkg, []string{"deepest"}) {
		t.Errorf("%d nested Includes: HoldPkg %q, want [deepest]", maxIncludeDepth, c.HoldPkg)
	}

	self := filepath.Join(t.TempDir(), "self.conf")
	write(t, self, "[options]\nInclude = "+self+"\n")
	for _, file := range []string{chain(maxIncludeDepth + 1), self} {
		if err := exec.Command("pacman-conf", "--config", file, "HoldPkg").Run(); err == nil {
			t.Errorf("pacman-conf accepts %s", file)
		}
		_, err := Load(file, Overrides{})
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "too many nested Include directives") {
			t.Errorf("Load(%s) = %v, want the nesting error", file, err)
		}
	}
}

// Lines longer than pacman's buffer mean to pactidy what they mean to
// pacman-conf: pacman reads them in pieces of 4095 bytes, each a line of
// its own (so a 10 MB comment is a comment and then pieces it warns
// about, and a long HoldPkg keeps only the names of its first piece).
// The effective options and the lines warned about are pacman-conf's.
func TestLongLinesAsPacmanConf(t *testing.T) {
	if _, err := exec.LookPath("pacman-conf"); err != nil {
		t.Fatalf("pacman-conf not installed (run scripts/install-deps.sh): %v", err)
	}
	dir := t.TempDir()
	var names []string
	for i := range 3000 {
		names = append(names, fmt.Sprintf("p%d", i))
	}
	x := func(n int) string { return strings.Repeat("x", n) }
	files := map[string]string{
		"comment-10MB": "[options]\n#" + x(10<<20) + "\nHoldPkg = a b\nCacheDir = /c1\nBogus = 1\n[core]\nServer = file:///core\n",
		"holdpkg":      "[options]\nHoldPkg = " + strings.Join(names, " ") + "\nCacheDir = /c2\n",
		"exact-4095":   "[options]\n#" + x(4094) + "\nHoldPkg = b\nBogus2 = 1\n",
		"exact-4096":   "[options]\n#" + x(4095) + "\nHoldPkg = c\nBogus3 = 1\n",
		"cachedir":     "[options]\nCacheDir = /" + x(5000) + "\nBogus4 = 1\n[extra]\nServer = file:///extra\n",
		"no-newline":   "[options]\nHoldPkg = d\n#" + x(9000),
	}
	lineRE := regexp.MustCompile(`line (\d+):`)
	lines := func(warnings string) []string {
		var out []string
		for _, m := range lineRE.FindAllStringSubmatch(warnings, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".conf")
			write(t, file, content)
			c, err := Load(file, Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"HoldPkg", "CacheDir"} {
				want := pacmanConf(t, file, Overrides{}, key)
				got := c.HoldPkg
				if key == "CacheDir" {
					got = c.CacheDirs
				}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("%s: %d values %.80q..., pacman-conf %d values %.80q...", key, len(got), got, len(want), want)
				}
			}
			var repos []string
			for _, r := range c.Repos {
				repos = append(repos, r.Name)
			}
			if got, want := strings.Join(repos, " "), strings.Join(repoList(t, file), " "); got != want {
				t.Errorf("repos %q, pacman-conf %q", got, want)
			}
			cmd := exec.Command("pacman-conf", "--config", file, "HoldPkg")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			if got, want := lines(strings.Join(c.Warnings, "\n")), lines(stderr.String()); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("warnings on lines %v, pacman-conf on %v", got, want)
			}
		})
	}
}
