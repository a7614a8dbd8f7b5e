// Package tag defines the labels put on contacts and conversations: short,
// lowercase, trimmed, so "VIP " and "vip" are one tag.
package tag

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLength is the longest tag, in characters.
const MaxLength = 50

// MaxPerItem is how many tags one contact or conversation may have.
const MaxPerItem = 30

// Normalize returns the canonical form of a tag, or a message saying what
// is wrong with it.
func Normalize(s string) (string, string) {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	switch {
	case s == "":
		return "", "A tag cannot be empty."
	case !utf8.ValidString(s):
		return "", "A tag must be valid text."
	case utf8.RuneCountInString(s) > MaxLength:
		return "", "A tag has at most 50 characters."
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", "A tag cannot contain control characters."
	}
	return s, ""
}

// NormalizeAll normalises a list, dropping duplicates; it reports the first
// problem found.
func NormalizeAll(in []string) ([]string, string) {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		t, msg := Normalize(s)
		if msg != "" {
			return nil, msg
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) > MaxPerItem {
		return nil, "At most 30 tags."
	}
	return out, ""
}
