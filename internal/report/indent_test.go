package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestIndentWriterIsJSONIndent: the fast indentation gives json.Indent's
// bytes, on reports and on random values with every kind of JSON token,
// strings full of quotes, backslashes, brackets and escapes included.
func TestIndentWriterIsJSONIndent(t *testing.T) {
	pieceRng := rand.New(rand.NewPCG(5, 6))
	check := func(v any) {
		t.Helper()
		src, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Indent(&want, src, "", "  "); err != nil {
			t.Fatal(err)
		}
		var w bytes.Buffer
		iw := NewIndentWriter(&w, "  ")
		if _, err := iw.Write(src); err != nil {
			t.Fatal(err)
		}
		if err := iw.Flush(); err != nil || !bytes.Equal(w.Bytes(), want.Bytes()) {
			t.Fatalf("IndentWriter of %s: %v\n got: %s\nwant: %s", src, err, w.Bytes(), want.Bytes())
		}
		// In pieces of random sizes, cut anywhere (inside strings and
		// escapes, between '[' and ']').
		w.Reset()
		iw = NewIndentWriter(&w, "  ")
		for rest := src; len(rest) > 0; {
			n := min(len(rest), 1+pieceRng.IntN(8))
			if k, err := iw.Write(rest[:n]); err != nil || k != n {
				t.Fatalf("Write = %d, %v", k, err)
			}
			rest = rest[n:]
		}
		if err := iw.Flush(); err != nil || !bytes.Equal(w.Bytes(), want.Bytes()) {
			t.Fatalf("IndentWriter in pieces of %s: %v\n got: %s\nwant: %s", src, err, w.Bytes(), want.Bytes())
		}
	}
	rep := &Report{SchemaVersion: 1, Root: "/", GeneratedAt: time.Unix(0, 0), Sections: AllSections,
		Unowned:      []Unowned{{Path: "/opt/\"odd\\\n[name]{,:}", Size: 3}, {Path: "/opt/<&>"}},
		MissingFiles: []MissingFile{{Package: "p", Path: "/usr/bin/\u2028\xff"}},
		Cache:        &Cache{},
	}
	var b bytes.Buffer
	if err := (jsonPrinter{}).Print(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	check(back)

	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab\"\\{}[],: \n\t\x01é\u2028<>&"
	var value func(depth int) any
	value = func(depth int) any {
		switch k := rng.IntN(8); {
		case depth > 4 || k == 0:
			var s strings.Builder
			for range rng.IntN(6) {
				r := []rune(alphabet)
				s.WriteRune(r[rng.IntN(len(r))])
			}
			return s.String()
		case k == 1:
			return rng.Float64() * 1e6
		case k == 2:
			return rng.IntN(2) == 0
		case k == 3:
			return nil
		case k < 6:
			a := make([]any, rng.IntN(4))
			for i := range a {
				a[i] = value(depth + 1)
			}
			return a
		default:
			m := map[string]any{}
			for range rng.IntN(4) {
				m[value(5).(string)] = value(depth + 1)
			}
			return m
		}
	}
	for range 2000 {
		check(value(0))
	}
	// Megabytes: the writer flushes many times, mid-array.
	big := make([]any, 30000)
	for i := range big {
		big[i] = map[string]any{"path": strings.Repeat("x\"{", i%50), "n": i, "e": []any{}}
	}
	check(big)
}

// TestAppendJSONStringIsMarshal: quoting gives json.Marshal's bytes.
func TestAppendJSONStringIsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "/", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "<", ">", "&", "é", "\u2028", "\u2029", "\xff", "\xe2\x80", "😀", " "}
	for range 5000 {
		var s strings.Builder
		for range rng.IntN(8) {
			s.WriteString(pieces[rng.IntN(len(pieces))])
		}
		want, _ := json.Marshal(s.String())
		if got := AppendJSONString(nil, s.String()); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s.String(), got, want)
		}
	}
}
