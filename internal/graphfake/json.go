package graphfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// MetaJSON marshals v the way Meta's servers write JSON: no HTML
// escaping, "/" written as "\/", and every code point above U+007F as a
// \uXXXX escape (UTF-16 surrogate pairs beyond the BMP, lowercase hex).
// Webhooks are signed over exactly these bytes, so a receiver that
// re-serialises the parsed body cannot reproduce the signature.
func MetaJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return metaEscape(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// metaEscape rewrites valid JSON text with Meta's escaping. Outside
// strings JSON has neither "/" nor non-ASCII bytes, so every occurrence is
// inside a string and may be escaped.
func metaEscape(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == '/' {
				out = append(out, '\\', '/')
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r > 0xFFFF {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	return out
}

// mustJSON is MetaJSON for values that always marshal.
func mustJSON(v any) []byte {
	b, err := MetaJSON(v)
	if err != nil {
		panic(fmt.Sprintf("graphfake: marshal %T: %v", v, err))
	}
	return b
}

// object is a JSON object that keeps its keys in order, for answers whose
// fields the caller picks (?fields=).
type object []field

type field struct {
	key   string
	value any
}

func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(f.key); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		buf.WriteByte(':')
		if err := enc.Encode(f.value); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
