package report

import "io"

// AppendIndent appends src, compact JSON as json.Marshal writes it, to
// dst indented as json.Indent(dst, src, "", indent) would: a report of
// 50,000 paths is megabytes of JSON, and json.Indent, which runs its
// validating scanner over every byte, took three times as long as the
// marshalling. Here src is known valid, so a byte loop that only tracks
// strings will do. Empty arrays and objects stay "[]" and "{}".
func AppendIndent(dst, src []byte, indent string) []byte {
	dst, _ = indentJSON(dst, src, indent, nil)
	return dst
}

// WriteIndent writes src indented as AppendIndent does to w, through a
// buffer of 64 KiB rather than one as large as the output.
func WriteIndent(w io.Writer, src []byte, indent string) error {
	const chunk = 64 << 10
	buf, err := indentJSON(make([]byte, 0, chunk+1024), src, indent, func(b []byte) ([]byte, error) {
		if len(b) < chunk {
			return b, nil
		}
		_, err := w.Write(b)
		return b[:0], err
	})
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}

// indentJSON is AppendIndent calling flush, when set, after each token
// with what dst holds; flush returns what dst is to hold next.
func indentJSON(dst, src []byte, indent string, flush func([]byte) ([]byte, error)) ([]byte, error) {
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, indent...)
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			// Copy the string through its closing quote.
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			dst = append(dst, src[i:j+1]...)
			i = j
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, c, ' ')
		default:
			dst = append(dst, c)
		}
		if flush != nil {
			var err error
			if dst, err = flush(dst); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}
