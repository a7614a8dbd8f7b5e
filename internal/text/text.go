// Package text is the one rule for the text Switchboard takes in: valid
// UTF-8 with no control characters other than tab, line feed and carriage
// return. The same rule holds on both engines (PostgreSQL refuses NUL and
// invalid UTF-8 in text columns; SQLite would store them), so what one
// installation accepts another accepts too.
//
// Input that people send us is refused with Check, before anything is
// written: the web layer applies it to every string of a JSON request, every
// form field, every query parameter and path value. Carriage returns are
// allowed because browsers post a textarea's line breaks as CRLF.
//
// Input we must not refuse — a customer's message from a channel, a
// browser's User-Agent — is made storable with Clean instead, which
// replaces what the rule refuses with U+FFFD, so the message keeps its
// length and shape and the agent sees that something was there.
package text

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/problem"
)

// The messages Problem returns (formats, for translation).
const (
	msgControl = "This contains an invisible control character (%s); remove it."
	msgUTF8    = "This is not valid UTF-8 text; type it again."
)

// Messages lists the formats of the messages Problem returns, for the
// catalogs of translations.
func Messages() []string { return []string{msgControl, msgUTF8} }

// allowed reports whether the byte b, below utf8.RuneSelf, may appear in
// text.
func allowed(b byte) bool { return b >= 0x20 || b == '\t' || b == '\n' || b == '\r' }

// Problem returns what is wrong with s for a person, or "" when s follows
// the rule.
func Problem(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= utf8.RuneSelf {
			ascii = false
			continue
		}
		if !allowed(b) {
			return fmt.Sprintf(msgControl, fmt.Sprintf("U+%04X", b))
		}
	}
	if !ascii && !utf8.ValidString(s) {
		return msgUTF8
	}
	return ""
}

// Check returns nil when s follows the rule, else a KindInvalid problem
// for field saying what is wrong.
func Check(field, s string) error {
	if m := Problem(s); m != "" {
		return problem.Invalid(field, "%s", m)
	}
	return nil
}

// Clean returns s with every invalid UTF-8 sequence and every control
// character the rule refuses replaced by U+FFFD. A string that follows the
// rule is returned as it is.
func Clean(s string) string {
	if Problem(s) == "" {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && !allowed(byte(r)) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// Cut returns s shortened to at most max bytes without splitting a
// character (a byte cut could leave half of one: invalid UTF-8).
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}
