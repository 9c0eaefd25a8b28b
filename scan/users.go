package scan

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Users reads the target root's /etc/passwd. A file that cannot be read is
// an error; a malformed line is an error naming it.
func Users(root string) ([]Home, error) {
	name := filepath.Join(root, "etc", "passwd")
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer f.Close()
	var homes []Home
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) != 7 {
			return nil, fmt.Errorf("%s:%d: want 7 fields separated by ':', got %d", name, n, len(fields))
		}
		uid, err1 := strconv.Atoi(fields[2])
		gid, err2 := strconv.Atoi(fields[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: user %s has a bad uid or gid", name, n, fields[0])
		}
		homes = append(homes, Home{User: fields[0], UID: uid, GID: gid, Dir: path.Clean(fields[5]), Login: loginShell(fields[6])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return homes, nil
}

// LoginUsers are the users with a login shell and a home under /home, as
// --all-users looks through.
func LoginUsers(all []Home) []Home {
	var out []Home
	for _, h := range all {
		if h.Login && strings.HasPrefix(h.Dir, "/home/") {
			out = append(out, h)
		}
	}
	return out
}

// UserByName finds name among the users of Users.
func UserByName(all []Home, name string) (Home, bool) {
	for _, h := range all {
		if h.User == name {
			return h, true
		}
	}
	return Home{}, false
}

// UserByID finds the user with uid among the users of Users.
func UserByID(all []Home, uid int) (Home, bool) {
	for _, h := range all {
		if h.UID == uid {
			return h, true
		}
	}
	return Home{}, false
}

func loginShell(sh string) bool {
	switch path.Base(sh) {
	case "", "nologin", "false", "sync", "shutdown", "halt":
		return false
	}
	return true
}
