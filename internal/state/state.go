// Package state remembers the findings of the last report, so that the
// next one can tell what is new: packages orphaned by the last upgrade,
// new unowned entries, new .pacnew files.
//
// The state file (default /var/lib/pactidy/state.json of the target root)
// holds, per report section, the keys of its findings: package names,
// exact paths (bytes, not text: a path that is not UTF-8 is stored
// base64-encoded), the package and path of a missing file. A section is
// replaced whenever a report computes it; sections a report left out keep
// what an earlier report recorded. The pacman hook keeps its own record
// (the orphans after the last transaction) in the same file.
//
// Writing is atomic: a temporary file in the same directory, fsync,
// rename over the old file, fsync of the directory; writers take a lock on
// the directory, so a report and a hook running at once never lose each
// other's part. A file that is not a state file (corrupt, cut short,
// another program's, a newer format) is reported once by Load and replaced
// by the next write; it never stops a report.
package state

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/pactidy/pactidy/internal/atomicfile"
	"github.com/pactidy/pactidy/internal/fsafe"
	"github.com/pactidy/pactidy/internal/ioerr"
	"github.com/pactidy/pactidy/internal/report"
)

// DefaultPath is the state file below the target root.
const DefaultPath = "var/lib/pactidy/state.json"

// format and version identify a state file.
const (
	format  = "pactidy-state"
	version = 1
	// maxSize bounds what Load reads: a state file of a large system
	// (tens of thousands of unowned entries) is a few MB.
	maxSize = 256 << 20
)

// State is what the file holds.
type State struct {
	// Sections are the keys of the findings per report section, as the
	// last report that computed the section found them.
	Sections map[string]*Section
	// Hook is the pacman hook's record; nil before its first run.
	Hook *Hook

	// from is the file this state was read from, for UpdateFrom.
	from fileID
}

// fileID tells whether the state file is still the one read: every
// write replaces it by rename, so a new write is a new inode.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    unix.Timespec
}

func idOf(st *unix.Stat_t) fileID {
	return fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim}
}

// Section is the findings of one section.
type Section struct {
	UpdatedAt time.Time
	Keys      map[string]bool
}

// Hook is what the pacman hook saw after the last transaction.
type Hook struct {
	UpdatedAt time.Time
	// Orphans are the orphaned packages then.
	Orphans []string
}

// New returns an empty state.
func New() *State { return &State{Sections: map[string]*Section{}} }

// DamagedError is a state file that could not be used (corrupt, foreign,
// a newer format). Load returns it with an empty state; the next Update
// replaces the file.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("state file %s %s; it will be replaced", e.Path, e.Reason)
}

// Store is the state file at Path.
type Store struct {
	Path string
}

// wire is the file's JSON.
type wire struct {
	Format   string                  `json:"format"`
	Version  int                     `json:"version"`
	Sections map[string]*wireSection `json:"sections"`
	Hook     *wireHook               `json:"hook,omitempty"`
}

type wireSection struct {
	UpdatedAt time.Time `json:"updated_at"`
	// Keys that are valid UTF-8 as they are; the others in base64.
	Keys       []string `json:"keys"`
	KeysBase64 []string `json:"keys_base64,omitempty"`
}

type wireHook struct {
	UpdatedAt time.Time `json:"updated_at"`
	Orphans   []string  `json:"orphans"`
}

// Load reads the state. A file that does not exist is the empty state of a
// first run (exists is false). A file that is not a pactidy state file
// gives the empty state and a *DamagedError. Any other failure (the file
// or its directory cannot be read) is an error: the state is unknown, not
// empty.
func (st Store) Load() (s *State, exists bool, err error) {
	dir, err := fsafe.OpenDir(filepath.Dir(st.Path))
	if errors.Is(err, fs.ErrNotExist) {
		return New(), false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state file %s: %w", st.Path, err)
	}
	defer dir.Close()
	return st.load(dir)
}

func (st Store) load(dir *fsafe.Dir) (*State, bool, error) {
	name := filepath.Base(st.Path)
	fd, err := openat(dir.Fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	switch {
	case err == unix.ENOENT:
		return New(), false, nil
	case err == unix.ELOOP:
		return New(), true, &DamagedError{Path: st.Path, Reason: "is a symlink"}
	case err != nil:
		return nil, false, fmt.Errorf("state file %s: %w", st.Path, err)
	}
	defer unix.Close(fd)
	var sys unix.Stat_t
	if err := ioerr.Retry(func() error { return unix.Fstat(fd, &sys) }); err != nil {
		return nil, false, fmt.Errorf("state file %s: %w", st.Path, err)
	}
	if sys.Mode&unix.S_IFMT != unix.S_IFREG {
		return New(), true, &DamagedError{Path: st.Path, Reason: "is not a regular file"}
	}
	data, err := readAll(fd, sys.Size, maxSize+1)
	if err != nil {
		return nil, false, fmt.Errorf("state file %s: %w", st.Path, err)
	}
	if len(data) > maxSize {
		return New(), true, &DamagedError{Path: st.Path, Reason: "is too large to be a state file"}
	}
	s, reason := decode(data)
	if reason != "" {
		return New(), true, &DamagedError{Path: st.Path, Reason: reason}
	}
	s.from = idOf(&sys)
	return s, true, nil
}

func decode(data []byte) (*State, string) {
	if s, ok := decodeFast(data); ok {
		return s, ""
	}
	return decodeJSON(data)
}

// decodeJSON is decode for any layout of the JSON.
func decodeJSON(data []byte) (*State, string) {
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, "is not a pactidy state file (" + err.Error() + ")"
	}
	if w.Format != format {
		return nil, "is not a pactidy state file"
	}
	if w.Version != version {
		return nil, "has format version " + strconv.Itoa(w.Version) + ", this pactidy reads " + strconv.Itoa(version)
	}
	s := New()
	for name, ws := range w.Sections {
		if ws == nil || !known(name) {
			return nil, "names an unknown section " + strconv.Quote(name)
		}
		sec := &Section{UpdatedAt: ws.UpdatedAt, Keys: make(map[string]bool, len(ws.Keys)+len(ws.KeysBase64))}
		for _, k := range ws.Keys {
			sec.Keys[k] = true
		}
		for _, b := range ws.KeysBase64 {
			k, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, "holds a bad base64 key in section " + name
			}
			sec.Keys[string(k)] = true
		}
		s.Sections[name] = sec
	}
	if w.Hook != nil {
		s.Hook = &Hook{UpdatedAt: w.Hook.UpdatedAt, Orphans: w.Hook.Orphans}
	}
	return s, ""
}

func known(section string) bool {
	for _, s := range report.AllSections {
		if s == section {
			return true
		}
	}
	return false
}

// toWire is s as the file's JSON holds it: keys sorted, those that are
// not UTF-8 in base64.
func toWire(s *State) wire {
	w := wire{Format: format, Version: version, Sections: map[string]*wireSection{}}
	for name, sec := range s.Sections {
		ws := &wireSection{UpdatedAt: sec.UpdatedAt.UTC(), Keys: make([]string, 0, len(sec.Keys))}
		for k := range sec.Keys {
			if utf8.ValidString(k) {
				ws.Keys = append(ws.Keys, k)
			} else {
				ws.KeysBase64 = append(ws.KeysBase64, base64.StdEncoding.EncodeToString([]byte(k)))
			}
		}
		sort.Strings(ws.Keys)
		sort.Strings(ws.KeysBase64)
		w.Sections[name] = ws
	}
	if s.Hook != nil {
		w.Hook = &wireHook{UpdatedAt: s.Hook.UpdatedAt.UTC(), Orphans: append([]string{}, s.Hook.Orphans...)}
	}
	return w
}

func encode(s *State) ([]byte, error) {
	w := toWire(s)
	n := 0
	for _, ws := range w.Sections {
		for _, k := range ws.Keys {
			n += len(k) + 8
		}
		for _, k := range ws.KeysBase64 {
			n += len(k) + 8
		}
	}
	// What json.MarshalIndent(w, "", " ") writes, without reflection and
	// without its indenting pass: the keys of a big system are tens of
	// thousands of paths.
	b := make([]byte, 0, n+1024)
	b = append(b, "{\n \"format\": "...)
	b = report.AppendJSONString(b, w.Format)
	b = append(b, ",\n \"version\": "...)
	b = strconv.AppendInt(b, int64(w.Version), 10)
	b = append(b, ",\n \"sections\": {"...)
	for i, name := range slices.Sorted(maps.Keys(w.Sections)) {
		ws := w.Sections[name]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		b = report.AppendJSONString(b, name)
		b = append(b, ": {\n   \"updated_at\": "...)
		b = appendTime(b, ws.UpdatedAt)
		b = append(b, ",\n   \"keys\": "...)
		b = appendStrings(b, ws.Keys, "   ")
		if len(ws.KeysBase64) > 0 {
			b = append(b, ",\n   \"keys_base64\": "...)
			b = appendStrings(b, ws.KeysBase64, "   ")
		}
		b = append(b, "\n  }"...)
	}
	if len(w.Sections) > 0 {
		b = append(b, "\n "...)
	}
	b = append(b, '}')
	if w.Hook != nil {
		b = append(b, ",\n \"hook\": {\n  \"updated_at\": "...)
		b = appendTime(b, w.Hook.UpdatedAt)
		b = append(b, ",\n  \"orphans\": "...)
		b = appendStrings(b, w.Hook.Orphans, "  ")
		b = append(b, "\n }"...)
	}
	return append(b, "\n}\n"...), nil
}

// appendStrings appends a JSON array of ss, one per line, indented one
// space more than indent; an empty one is "[]".
func appendStrings(b []byte, ss []string, indent string) []byte {
	if len(ss) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = append(b, indent...)
		b = append(b, ' ')
		b = report.AppendJSONString(b, s)
	}
	b = append(b, '\n')
	b = append(b, indent...)
	return append(b, ']')
}

// appendTime appends t as encoding/json writes a time.Time.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// Update changes the state file: under an exclusive lock on its directory
// it reads the file again (a damaged one counts as empty), calls fn and
// writes the result atomically. The directory is created (mode 0755) when
// it does not exist; the file is written with mode 0644, like pacman's
// database. An error of fn is returned as is and nothing is written.
func (st Store) Update(fn func(*State) error) error {
	return st.UpdateFrom(nil, fn)
}

// UpdateFrom is Update starting from prev, a state Load returned, when
// the file is still the one prev was read from (nothing wrote it since):
// a report that loaded the state to compare with needs not read it twice.
// prev is then changed in place; otherwise the file is read again.
func (st Store) UpdateFrom(prev *State, fn func(*State) error) error {
	dirPath := filepath.Dir(st.Path)
	if err := os.MkdirAll(dirPath, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	dir, err := fsafe.OpenDir(dirPath)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	defer dir.Close()
	if err := ioerr.Retry(func() error { return unix.Flock(dir.Fd(), unix.LOCK_EX) }); err != nil {
		return fmt.Errorf("lock state directory %s: %w", dirPath, err)
	}
	defer unix.Flock(dir.Fd(), unix.LOCK_UN)
	if prev != nil && prev.from != (fileID{}) {
		var cur unix.Stat_t
		err := ioerr.Retry(func() error {
			return unix.Fstatat(dir.Fd(), filepath.Base(st.Path), &cur, unix.AT_SYMLINK_NOFOLLOW)
		})
		if err == nil && idOf(&cur) == prev.from {
			if err := fn(prev); err != nil {
				return err
			}
			return st.write(dir, prev)
		}
	}
	s, _, err := st.load(dir)
	var damaged *DamagedError
	if errors.As(err, &damaged) {
		err = nil
	}
	if err != nil {
		return err
	}
	if err := fn(s); err != nil {
		return err
	}
	return st.write(dir, s)
}

func (st Store) write(dir *fsafe.Dir, s *State) error {
	data, err := encode(s)
	if err != nil {
		return err
	}
	return atomicfile.Write(dir, filepath.Base(st.Path), data, 0o644)
}

// readAll reads fd to its end or to limit bytes, into a buffer of the
// size fstat gave (plus one byte, to see the end without growing). Plain
// read calls: an *os.File would offer the descriptor to the runtime's
// poller and read a megabytes-long state in hundreds of small pieces.
func readAll(fd int, size, limit int64) ([]byte, error) {
	b := make([]byte, 0, min(max(size, 0), limit)+1)
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):min(int64(cap(b)), limit)])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case n == 0:
			return b, nil
		}
		b = b[:len(b)+n]
	}
	return b, nil
}

func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	var fd int
	err := ioerr.Retry(func() (err error) {
		fd, err = unix.Openat(dirfd, name, flags, mode)
		return err
	})
	return fd, err
}
