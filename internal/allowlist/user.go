package allowlist

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/pactidy/pactidy/internal/fsafe"
)

// UserFile is a user's own allowlist, relative to their home. It keeps
// their data out of the userdata section; the TUI's keep-forever writes
// there for userdata items.
const UserFile = ".config/pactidy/allowlist"

// LoadUser reads the allowlist in a home (home as the target system sees
// it, below root). A missing file keeps nothing; an unreadable file or a
// bad line is an error. The file is the user's: it is opened by handle from
// the root down and never through a symlink, so that a user cannot make
// root read another file as theirs.
func LoadUser(root, home string) (*List, error) {
	name := path.Join(home, UserFile)
	dir, err := fsafe.OpenDir(root)
	if err != nil {
		return nil, fmt.Errorf("read allowlist %s: %w", name, err)
	}
	defer dir.Close()
	comps := strings.Split(strings.Trim(path.Dir(name), "/"), "/")
	for _, c := range comps {
		next, err := dir.OpenDir(c)
		dir.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return New(nil)
		}
		if err != nil {
			return nil, fmt.Errorf("read allowlist %s: %w", name, err)
		}
		dir = next
	}
	base := path.Base(name)
	st, err := dir.Lstat(base)
	if errors.Is(err, fs.ErrNotExist) {
		return New(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read allowlist %s: %w", name, err)
	}
	f, _, err := dir.Open(base, st.ID())
	if err != nil {
		return nil, fmt.Errorf("read allowlist %s: %w", name, err)
	}
	defer f.Close()
	es, err := Parse(name, f)
	if err != nil {
		return nil, err
	}
	return New(es)
}
