// Package scripts holds the shell scripts of the build; its test runs
// install-deps.sh against stand-ins for apt-get and dpkg-query.
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// runInstallDeps runs install-deps.sh as a normal user with a PATH that has
// no sudo, fake apt-get and dpkg-query (which reports missing as not
// installed) and the real id and grep. It returns the output and whether
// apt-get was called.
func runInstallDeps(t *testing.T, missing string) (out string, code int, aptCalled bool) {
	t.Helper()
	// t.TempDir's parent is private; the script may run as nobody.
	tmp, err := os.MkdirTemp("", "install-deps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tmp, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(tmp, "apt.log")
	scripts := map[string]string{
		"apt-get": "#!/bin/sh\necho \"$@\" >> " + log + "\nexit 1\n",
		"dpkg-query": "#!/bin/sh\nfor a; do p=$a; done\n" +
			"[ \"$p\" = \"" + missing + "\" ] && exit 1\nprintf 'install ok installed'\n",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"id", "grep"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not found", tool)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	script, err := filepath.Abs("install-deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, script)
	cmd.Env = []string{"PATH=" + bin}
	if os.Geteuid() == 0 {
		// 65534 is nobody on Debian and Arch.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	b, err := cmd.CombinedOutput()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	_, statErr := os.Stat(log)
	return string(b), code, statErr == nil
}

// A normal user without sudo can build and test when nothing is missing:
// make build and make test run this script first.
func TestInstallDepsNothingMissingNeedsNoSudo(t *testing.T) {
	out, code, apt := runInstallDeps(t, "")
	if code != 0 || apt {
		t.Errorf("exit %d, apt-get called %v, output %q; want 0 without apt-get", code, apt, out)
	}
}

// When something is missing, a normal user without sudo is told what and
// how, and nothing is attempted.
func TestInstallDepsMissingWithoutSudo(t *testing.T) {
	out, code, apt := runInstallDeps(t, "zstd")
	if code == 0 || apt {
		t.Errorf("exit %d, apt-get called %v; want a failure before apt-get", code, apt)
	}
	for _, want := range []string{"zstd", "sudo is not available"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q does not mention %q", out, want)
		}
	}
}
