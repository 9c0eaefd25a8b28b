package testroot

import (
"os"
"os/exec"
"testing"
)

func TestScratch(t *testing.T) {
	r := New(t)
	r.Install(t, Pkg{Name: "foo", Version: "1:2.0-1", Depends: []string{"libbar.so=3-64"}, OptDepends: []string{"baz: for baz", "qux"}, Provides: []string{"foo-virtual=2.0"}, Groups: []string{"grp"},
		Backup: []string{"etc/foo.conf"}, Files: map[string]string{"etc/foo.conf": "x=1\n", "usr/bin/foo": "#!/bin/sh\n", "usr/share/foo/empty/": ""}, Symlinks: map[string]string{"usr/bin/foolink": "foo"}, Modes: map[string]os.FileMode{"usr/bin/foo": 0o755}},
		Pkg{Name: "libbar", Version: "3.1-2", Provides: []string{"libbar.so=3-64"}, Files: map[string]string{"usr/lib/libbar.so.3": "elf"}})
	t.Log(r.Pacman(t, "-Qi"))
	t.Log(r.Pacman(t, "-Qkk"))
	o, e, c := r.PacmanErr(t, "-Qdtq")
	t.Log(o, e, c)
	t.Log(r.Pacman(t, "-Qlq"))
	r.AddRepo(t, "extra", Pkg{Name: "libbar", Version: "3.1-2"})
	t.Log(r.Pacman(t, "-Sl"))
	o, e, c = r.PacmanErr(t, "-Qm")
	t.Log(o, e, c)
	t.Log(r.Pacman(t, "-Dk"))
	out, _ := exec.Command("sh", "-c", "cd "+r.DBPath+" && find . | sort && cat local/*/desc local/*/files && ls -la "+r.Dir+"/usr/bin && cat "+r.LogFile).CombinedOutput()
	t.Log(string(out))
}
