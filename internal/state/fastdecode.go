package state

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// decodeFast reads a state file laid out exactly as encode writes it,
// without reflection: a big system's file is tens of thousands of keys,
// which json.Unmarshal takes most of the time to read. The keys are cut
// from data (which must never be written again) instead of copied. It
// reports false for anything else, valid JSON in another layout included;
// decode then reads it the general way and judges it.
func decodeFast(data []byte) (*State, bool) {
	d := fastDecoder{data: data}
	var f string
	var ver int
	if !d.lit("{\n \"format\": ") || !d.str(&f) || f != format ||
		!d.lit(",\n \"version\": ") || !d.int(&ver) || ver != version ||
		!d.lit(",\n \"sections\": {") {
		return nil, false
	}
	s := New()
	for first := true; !d.lit("\n }") && !d.lit("}"); first = false {
		if !first && !d.lit(",") {
			return nil, false
		}
		var name string
		var updated time.Time
		if !d.lit("\n  ") || !d.str(&name) || !known(name) || s.Sections[name] != nil ||
			!d.lit(": {\n   \"updated_at\": ") || !d.time(&updated) ||
			!d.lit(",\n   \"keys\": ") {
			return nil, false
		}
		keys, ok := d.strs("   ")
		if !ok {
			return nil, false
		}
		var raw []string
		if d.lit(",\n   \"keys_base64\": ") {
			if raw, ok = d.strs("   "); !ok {
				return nil, false
			}
		}
		if !d.lit("\n  }") {
			return nil, false
		}
		sec := &Section{UpdatedAt: updated, Keys: make(map[string]bool, len(keys)+len(raw))}
		for _, k := range keys {
			sec.Keys[k] = true
		}
		for _, b := range raw {
			k, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, false
			}
			sec.Keys[string(k)] = true
		}
		s.Sections[name] = sec
	}
	if d.lit(",\n \"hook\": {\n  \"updated_at\": ") {
		h := &Hook{}
		var ok bool
		if !d.time(&h.UpdatedAt) || !d.lit(",\n  \"orphans\": ") {
			return nil, false
		}
		if h.Orphans, ok = d.strs("  "); !ok || !d.lit("\n }") {
			return nil, false
		}
		if h.Orphans == nil {
			h.Orphans = []string{}
		}
		s.Hook = h
	}
	if !d.lit("\n}\n") || len(d.data) != 0 {
		return nil, false
	}
	return s, true
}

// fastDecoder consumes data from its start.
type fastDecoder struct {
	data []byte
}

// lit consumes s if data starts with it.
func (d *fastDecoder) lit(s string) bool {
	if !bytes.HasPrefix(d.data, []byte(s)) {
		return false
	}
	d.data = d.data[len(s):]
	return true
}

// str consumes a JSON string. One without escapes is cut from data; one
// with escapes, or that is not UTF-8, is read by encoding/json.
func (d *fastDecoder) str(out *string) bool {
	if len(d.data) == 0 || d.data[0] != '"' {
		return false
	}
	plain := true
	for i := 1; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			tok := d.data[:i+1]
			d.data = d.data[i+1:]
			body := tok[1:i]
			if plain && utf8.Valid(body) {
				*out = unsafe.String(unsafe.SliceData(body), len(body))
				return true
			}
			return json.Unmarshal(tok, out) == nil
		case c == '\\':
			plain = false
			i++ // the escaped byte cannot end the string
		case c < 0x20:
			return false
		}
	}
	return false
}

// int consumes a decimal number of up to 9 digits.
func (d *fastDecoder) int(out *int) bool {
	n := 0
	for n < len(d.data) && n < 10 && d.data[n] >= '0' && d.data[n] <= '9' {
		n++
	}
	if n == 0 || n == 10 {
		return false
	}
	v, err := strconv.Atoi(string(d.data[:n]))
	d.data = d.data[n:]
	*out = v
	return err == nil
}

// time consumes a time as encoding/json writes it.
func (d *fastDecoder) time(out *time.Time) bool {
	end := bytes.IndexByte(d.data[min(1, len(d.data)):], '"')
	if len(d.data) == 0 || d.data[0] != '"' || end < 0 {
		return false
	}
	tok := d.data[:end+2]
	d.data = d.data[end+2:]
	return out.UnmarshalJSON(tok) == nil
}

// strs consumes an array of strings as appendStrings writes it at indent.
func (d *fastDecoder) strs(indent string) ([]string, bool) {
	if d.lit("[]") {
		return nil, true
	}
	if !d.lit("[") {
		return nil, false
	}
	// One line an element: count them to size the slice.
	n := bytes.Count(d.data[:max(0, bytes.Index(d.data, []byte("\n"+indent+"]")))], []byte("\n"))
	out := make([]string, 0, n)
	sep := "\n" + indent + " "
	for {
		if len(out) > 0 && !d.lit(",") {
			break
		}
		var s string
		if !d.lit(sep) || !d.str(&s) {
			return nil, false
		}
		out = append(out, s)
	}
	if !d.lit("\n" + indent + "]") {
		return nil, false
	}
	return out, true
}
