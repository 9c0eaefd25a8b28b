package quarantine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Journal record kinds.
const (
	recBegin        = "begin"
	recIntent       = "intent"  // about to move (op rename, copy or delete) entry n
	recDone         = "done"    // entry n is in the quarantine (or deleted)
	recAbort        = "abort"   // entry n stayed in place
	recRestore      = "restore" // about to put entry n back (op rename or copy)
	recCopied       = "copied"  // a restore copy is verified under its temporary name (ino)
	recPlaced       = "placed"  // a restore copy is in place; data/n is removed next
	recRestored     = "restored"
	recRestoreAbort = "restore-abort"
	recRecovered    = "recovered" // what recovery did to entry n (how)
	recEnd          = "end"       // the run finished (reason)
)

// End reasons.
const (
	endComplete    = "complete"
	endStopped     = "stopped"
	endInterrupted = "interrupted"
)

// record is one journal line. Paths are []byte so that JSON keeps their
// exact bytes (base64).
type record struct {
	T       string    `json:"t"`
	Time    time.Time `json:"time"`
	N       int       `json:"n"`
	Op      string    `json:"op,omitempty"`
	Path    []byte    `json:"path,omitempty"`
	Type    Type      `json:"type,omitempty"`
	Dev     uint64    `json:"dev,omitempty"`
	Ino     uint64    `json:"ino,omitempty"`
	Tmp     string    `json:"tmp,omitempty"`
	Objects int       `json:"objects,omitempty"`
	Bytes   int64     `json:"bytes,omitempty"`
	How     string    `json:"how,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Err     string    `json:"error,omitempty"`
	// Begin only.
	Root   []byte `json:"root,omitempty"`
	Delete bool   `json:"delete,omitempty"`
	PID    int    `json:"pid,omitempty"`
}

// appendSync appends one JSON line to f and makes it durable.
func appendSync(f *os.File, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	return nil
}

// readLines parses a file of JSON lines. A last line that is incomplete
// (no newline, or not valid JSON: a write cut short by a crash) is not
// returned; valid is the length of the complete part. A bad line before
// the last is an error naming FILE:LINE.
func readLines[T any](name string, f io.ReaderAt) (out []T, valid int64, err error) {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", name, err)
	}
	line := 0
	for len(data) > 0 {
		line++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return out, valid, nil // torn last line
		}
		var v T
		if err := json.Unmarshal(data[:i], &v); err != nil {
			if bytes.IndexByte(data[i+1:], '\n') < 0 && len(bytes.TrimSpace(data[i+1:])) == 0 {
				return out, valid, nil // torn last line
			}
			return nil, 0, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		out = append(out, v)
		valid += int64(i + 1)
		data = data[i+1:]
	}
	return out, valid, nil
}

// manifestLine is one line of a run's manifest: an object of entry N, or
// the end of entry N's lines.
type manifestLine struct {
	N       int    `json:"n"`
	End     bool   `json:"end,omitempty"`
	Objects int    `json:"objects,omitempty"`
	Bytes   int64  `json:"bytes,omitempty"`
	Method  string `json:"method,omitempty"`

	Path       string            `json:"path,omitempty"` // for reading; path_b64 is exact
	PathB64    []byte            `json:"path_b64,omitempty"`
	Rel        []byte            `json:"rel,omitempty"`
	Type       Type              `json:"type,omitempty"`
	Size       int64             `json:"size"`
	SHA256     string            `json:"sha256,omitempty"`
	Mode       string            `json:"mode,omitempty"`
	UID        uint32            `json:"uid"`
	GID        uint32            `json:"gid"`
	MTime      string            `json:"mtime,omitempty"`
	MTimeNS    int64             `json:"mtime_ns"`
	ATimeNS    int64             `json:"atime_ns,omitempty"`
	Link       []byte            `json:"link,omitempty"`
	HardlinkOf []byte            `json:"hardlink_of,omitempty"`
	Xattrs     map[string][]byte `json:"xattrs,omitempty"`
	Ino        uint64            `json:"ino,omitempty"`
}

func lineOf(n int, o Object) manifestLine {
	l := manifestLine{
		N: n, Path: strings.ToValidUTF8(o.Path, "\uFFFD"), PathB64: []byte(o.Path), Type: o.Type,
		Size: o.Size, SHA256: o.SHA256, Mode: fmt.Sprintf("%04o", o.Mode), UID: o.UID, GID: o.GID,
		MTime: o.MTime.Format(time.RFC3339Nano), MTimeNS: o.MTime.UnixNano(),
		ATimeNS: o.atime.Nano(), Xattrs: o.Xattrs, Ino: o.Ino,
	}
	if o.Rel != "" {
		l.Rel = []byte(o.Rel)
	}
	if o.Link != "" {
		l.Link = []byte(o.Link)
	}
	if o.HardlinkOf != "" {
		l.HardlinkOf = []byte(o.HardlinkOf)
	}
	return l
}

func (l manifestLine) object() (Object, error) {
	mode, err := strconv.ParseUint(l.Mode, 8, 32)
	if err != nil {
		return Object{}, fmt.Errorf("bad mode %q", l.Mode)
	}
	o := Object{
		Path: string(l.PathB64), Rel: string(l.Rel), Type: l.Type, Size: l.Size, SHA256: l.SHA256,
		Mode: uint32(mode), UID: l.UID, GID: l.GID, MTime: time.Unix(0, l.MTimeNS).UTC(),
		Link: string(l.Link), HardlinkOf: string(l.HardlinkOf), Xattrs: l.Xattrs, Ino: l.Ino,
		atime: unix.NsecToTimespec(l.ATimeNS),
	}
	if len(o.Xattrs) == 0 {
		o.Xattrs = nil
	}
	return o, nil
}

// writeBlock appends entry n's objects and its end line in one write and
// makes them durable. A crash may leave a block without its end line;
// readers ignore such a block and recovery truncates it.
func writeBlock(f *os.File, n int, method string, objs []Object) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	var size int64
	for _, o := range objs {
		if err := enc.Encode(lineOf(n, o)); err != nil {
			return err
		}
		if o.Type != TypeDir && o.HardlinkOf == "" {
			size += o.Size
		}
	}
	if err := enc.Encode(manifestLine{N: n, End: true, Objects: len(objs), Bytes: size, Method: method}); err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	return nil
}

// block is the manifest of one entry.
type block struct {
	N       int
	Method  string
	Objects []Object
	Bytes   int64
}

// readManifest returns the complete blocks by entry number, and the
// length of the file up to the end of the last complete block.
func readManifest(name string, f io.ReaderAt) (map[int]*block, int64, error) {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", name, err)
	}
	blocks := map[int]*block{}
	var cur []Object
	curN := -1
	var valid, off int64
	line := 0
	for len(data) > 0 {
		line++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		var l manifestLine
		if err := json.Unmarshal(data[:i], &l); err != nil {
			break // torn: everything from here on is dropped
		}
		off += int64(i + 1)
		data = data[i+1:]
		if l.N != curN {
			cur, curN = nil, l.N
		}
		if l.End {
			if len(cur) != l.Objects {
				return nil, 0, fmt.Errorf("%s:%d: entry %d has %d objects, its end line says %d", name, line, l.N, len(cur), l.Objects)
			}
			blocks[l.N] = &block{N: l.N, Method: l.Method, Objects: cur, Bytes: l.Bytes}
			cur, curN = nil, -1
			valid = off
			continue
		}
		o, err := l.object()
		if err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		cur = append(cur, o)
	}
	return blocks, valid, nil
}

var errNoJournal = errors.New("no journal")
