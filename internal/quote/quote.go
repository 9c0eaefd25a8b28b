// Package quote makes strings that come from the file system or a
// configuration file safe to print on a terminal. Such a string can hold
// escape sequences (ESC, CSI), bells, line breaks, bidirectional overrides
// (U+202E) and bytes that are not UTF-8; printed raw, a file name could
// recolour or rewrite root's terminal, or forge a line of output.
package quote

import (
	"strconv"
	"unicode/utf8"
)

// Quote returns s unchanged when it is valid UTF-8 and every rune of it
// is printable (letters, marks, numbers, punctuation, symbols and the ASCII
// space); otherwise s Go-quoted on one line, with every other rune and
// every invalid byte escaped ("\x1b", "\u202e", "\xff").
func Quote(s string) string {
	if Safe(s) {
		return s
	}
	return strconv.Quote(s)
}

// Safe reports whether Quote leaves s as it is.
func Safe(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !strconv.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}
