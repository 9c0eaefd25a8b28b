package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestJSONPrintIsMarshal: the JSON printer, which writes the long lists by
// hand and streams, prints what json.MarshalIndent of the wire form gives,
// byte for byte, on random reports: every section present or
// not, paths with quotes, escapes, <>&, U+2028 and bytes that are not
// UTF-8, new flags set or not, empty and nil lists.
func TestJSONPrintIsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"a", "/usr/", "\"", "\\", "\n", "\x01", "<", ">", "&", "é", "\u2028", "\xff", " ", "{", "]", ","}
	str := func() string {
		var b strings.Builder
		for k := rng.IntN(5); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	isNew := func() *bool {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return ptr(true)
		}
		return ptr(false)
	}
	n := func() int { return rng.IntN(4) }
	for round := 0; round < 500; round++ {
		rep := &Report{SchemaVersion: SchemaVersion, Root: str(), GeneratedAt: time.Unix(rng.Int64N(1e9), 0), Installed: rng.IntN(100)}
		if rng.IntN(2) == 0 {
			rep.Optional = "keep"
		}
		for _, sec := range KnownSections {
			if rng.IntN(2) == 0 {
				rep.Sections = append(rep.Sections, sec)
			}
		}
		for range n() {
			rep.Orphans = append(rep.Orphans, Orphan{Name: str(), Version: str(), New: isNew()})
		}
		for range n() {
			rep.Unneeded = append(rep.Unneeded, Unneeded{Name: str(), InstalledSize: rng.Int64N(1e9), New: isNew()})
		}
		rep.ForeignUnknown = rng.IntN(2) == 0
		for range n() {
			rep.MissingFiles = append(rep.MissingFiles, MissingFile{Package: str(), Path: str(), New: isNew()})
		}
		for range n() {
			rep.Pacfiles = append(rep.Pacfiles, Pacfile{Path: str(), Kind: "pacnew", Package: str(), New: isNew()})
		}
		for range n() * 3 {
			rep.Unowned = append(rep.Unowned, Unowned{Path: str(), Type: "file", Size: rng.Int64N(1e6), Entries: rng.IntN(9),
				HiddenBy: []string{"", "kernel-modules"}[rng.IntN(2)], Incomplete: rng.IntN(4) == 0, New: isNew()})
		}
		rep.UnownedIncomplete = rng.IntN(2) == 0
		if rng.IntN(3) == 0 {
			rep.UnownedNoFileLists = []string{str()}
		}
		if rng.IntN(4) > 0 {
			c := &Cache{ReclaimBytes: rng.Int64N(1e9), BuildCacheBytes: rng.Int64N(1e6)}
			for range n() {
				c.Dirs = append(c.Dirs, str())
			}
			for range n() * 3 {
				c.Candidates = append(c.Candidates, CacheCandidate{Path: str(), Name: str(), Version: str(), Arch: "x86_64", Size: rng.Int64N(1e8), Reason: str(), Kind: "package", New: isNew()})
			}
			for range n() {
				c.Kept = append(c.Kept, CacheCandidate{Path: str(), Name: str(), Reason: str(), Kind: "signature"})
			}
			for range n() {
				c.BuildCaches = append(c.BuildCaches, CacheBuild{Helper: "yay", Name: str(), Path: str(), Size: 7})
			}
			rep.Cache = c
		}
		for range n() {
			rep.Userdata = append(rep.Userdata, UserData{Path: str()})
		}
		for range n() {
			rep.Errors = append(rep.Errors, Error{Path: str(), Error: str()})
		}
		var got bytes.Buffer
		if err := (jsonPrinter{}).Print(&got, rep); err != nil {
			t.Fatal(err)
		}
		want, err := json.MarshalIndent(wireOf(rep), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if want = append(want, '\n'); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("report %d:\n got: %s\nwant: %s", round, got.Bytes(), want)
		}
	}
	// A report big enough to be written in many pieces.
	big := &Report{SchemaVersion: SchemaVersion, Root: "/", Sections: []string{SectionUnowned, SectionCache}, Cache: &Cache{}}
	for i := range 30000 {
		big.Unowned = append(big.Unowned, Unowned{Path: "/opt/" + strings.Repeat("x\"", i%7), Type: "dir", Entries: i})
		big.Cache.Candidates = append(big.Cache.Candidates, CacheCandidate{Path: "/var/cache/" + strings.Repeat("\\", i%5), Size: int64(i)})
	}
	var got bytes.Buffer
	if err := (jsonPrinter{}).Print(&got, big); err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(wireOf(big), "", "  ")
	if want = append(want, '\n'); !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("big report: %d bytes, want %d", got.Len(), len(want))
	}
}
