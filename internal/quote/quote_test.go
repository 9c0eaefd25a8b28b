package quote

import (
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/bin/ls", "/usr/bin/ls"},
		{"/opt/with space/é", "/opt/with space/é"},
		{"", ""},
		{"/tmp/\x1b[31mred", `"/tmp/\x1b[31mred"`},
		{"bell\a", `"bell\a"`},
		{"two\nlines", `"two\nlines"`},
		{"cr\rover", `"cr\rover"`},
		{"tab\there", `"tab\there"`},
		{"del\x7f", `"del\x7f"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
		{"csi\u009b31m", `"csi\u009b31m"`},
		{"evil\u202etxt.exe", `"evil\u202etxt.exe"`},
		{"isolate\u2066x\u2069", `"isolate\u2066x\u2069"`},
		{"line\u2028sep", `"line\u2028sep"`},
		{"zero\u200bwidth", `"zero\u200bwidth"`},
		{"nbsp\u00a0x", `"nbsp\u00a0x"`},
	}
	for _, tt := range tests {
		got := Quote(tt.in)
		if got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if Safe(tt.in) != (got == tt.in) {
			t.Errorf("Safe(%q) disagrees with Quote", tt.in)
		}
		// Whatever comes in, what goes out is one line of printable text.
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || strings.ContainsRune("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029", r) {
				t.Errorf("Quote(%q) = %q still holds %U", tt.in, got, r)
			}
		}
	}
}

func FuzzQuote(f *testing.F) {
	f.Add("/tmp/\x1b]0;title\a")
	f.Add("a\u202eb\xff")
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if !Safe(q) {
			t.Errorf("Quote(%q) = %q is not safe to print", s, q)
		}
	})
}
