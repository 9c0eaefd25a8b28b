package report

import "io"

// IndentWriter indents compact JSON, as json.Marshal writes it, written to
// it in pieces of any size, as json.Indent(dst, src, "", indent) would,
// and passes it on to its writer in pieces of 64 KiB: a printer can write
// a large document an element at a time. json.Indent runs its validating
// scanner over every byte and took three times as long as the
// marshalling of a report of 50,000 paths; the JSON written here is known
// valid, so a byte loop that only tracks strings will do. Empty arrays and
// objects stay "[]" and "{}".
type IndentWriter struct {
	w   io.Writer
	in  indenter
	err error
}

const indentChunk = 64 << 10

// NewIndentWriter indents what is written to it by indent a level.
func NewIndentWriter(w io.Writer, indent string) *IndentWriter {
	return &IndentWriter{w: w, in: indenter{indent: indent, out: make([]byte, 0, indentChunk+1024)}}
}

// Write indents p; it fails only when the writer below failed.
func (iw *IndentWriter) Write(p []byte) (int, error) {
	if iw.err != nil {
		return 0, iw.err
	}
	written := len(p)
	for len(p) > 0 {
		n := min(len(p), indentChunk)
		iw.in.write(p[:n])
		p = p[n:]
		if len(iw.in.out) >= indentChunk {
			if _, iw.err = iw.w.Write(iw.in.out); iw.err != nil {
				return 0, iw.err
			}
			iw.in.out = iw.in.out[:0]
		}
	}
	return written, nil
}

// Flush writes what is left; the JSON written must be complete.
func (iw *IndentWriter) Flush() error {
	if iw.err != nil {
		return iw.err
	}
	iw.in.end()
	_, iw.err = iw.w.Write(iw.in.out)
	iw.in.out = iw.in.out[:0]
	return iw.err
}

// indenter is the indentation's state between two pieces of input.
type indenter struct {
	indent string
	out    []byte
	depth  int
	// inString and escaped follow a string across pieces; opened is the
	// '{' or '[' just copied, whose line break waits for the next byte
	// (none if the object or array is empty).
	inString, escaped bool
	opened            bool
}

func (in *indenter) newline() {
	in.out = append(in.out, '\n')
	for range in.depth {
		in.out = append(in.out, in.indent...)
	}
}

func (in *indenter) write(src []byte) {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if in.inString {
			// Copy the string up to its closing quote or a backslash.
			j := i
			for j < len(src) && src[j] != '"' && src[j] != '\\' && !in.escaped {
				j++
			}
			if j > i {
				in.out = append(in.out, src[i:j]...)
				if j == len(src) {
					return
				}
				i, c = j, src[j]
			}
			in.out = append(in.out, c)
			switch {
			case in.escaped:
				in.escaped = false
			case c == '\\':
				in.escaped = true
			case c == '"':
				in.inString = false
			}
			continue
		}
		if in.opened {
			in.opened = false
			if c == '}' || c == ']' {
				in.out = append(in.out, c)
				continue
			}
			in.depth++
			in.newline()
		}
		switch c {
		case '"':
			in.out = append(in.out, c)
			in.inString = true
		case '{', '[':
			in.out = append(in.out, c)
			in.opened = true
		case '}', ']':
			in.depth--
			in.newline()
			in.out = append(in.out, c)
		case ',':
			in.out = append(in.out, c)
			in.newline()
		case ':':
			in.out = append(in.out, c, ' ')
		default:
			in.out = append(in.out, c)
		}
	}
}

// end completes an object or array opened by the last byte (cut JSON).
func (in *indenter) end() {
	if in.opened {
		in.opened = false
		in.depth++
		in.newline()
	}
}
