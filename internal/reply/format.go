package reply

import (
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FormatHTML renders text as WhatsApp shows it: *bold*, _italic_,
// ~strikethrough~, ```monospace``` and `inline code`, with emoji and
// line breaks as they are (the element showing it keeps white space).
// A marker opens only at the start of a word (after the start of the
// line, a space or punctuation, and before a character that is not a
// space) and closes only at the end of one, on the same line, so that
// 2*3*4 and snake_case_names stay as they are. Everything is escaped:
// the result is made of the text's escaped pieces and the fixed tags
// <strong>, <em>, <s> and <code>, nothing else.
func FormatHTML(s string) template.HTML {
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		formatLine(&b, line)
	}
	return template.HTML(b.String())
}

// markers are the styles of a span, by the character around it.
var markers = map[byte][2]string{
	'*': {"<strong>", "</strong>"},
	'_': {"<em>", "</em>"},
	'~': {"<s>", "</s>"},
	'`': {"<code>", "</code>"},
}

// formatLine writes one line: its spans formatted, the rest escaped.
func formatLine(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		// Monospace: three backquotes on each side, nothing inside styled.
		if strings.HasPrefix(s[i:], "```") && opens(s[i+2:], 0) && (i == 0 || !wordRune(lastRune(s[:i]))) {
			if j := closing(s, i+3, "```"); j > i+3 {
				b.WriteString(template.HTMLEscapeString(s[last:i]))
				b.WriteString("<code>" + template.HTMLEscapeString(s[i+3:j]) + "</code>")
				i = j + 2
				last = j + 3
				continue
			}
		}
		if _, ok := markers[c]; !ok || !opens(s, i) {
			continue
		}
		j := closing(s, i+1, string(c))
		if j < 0 {
			continue
		}
		b.WriteString(template.HTMLEscapeString(s[last:i]))
		tags := markers[c]
		b.WriteString(tags[0])
		if c == '`' {
			b.WriteString(template.HTMLEscapeString(s[i+1 : j]))
		} else {
			formatLine(b, s[i+1:j])
		}
		b.WriteString(tags[1])
		i = j
		last = j + 1
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
}

// opens reports whether the marker at i may open a span: it starts the
// line or follows a space or punctuation, and a non-space follows it.
func opens(s string, i int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if wordRune(r) || r == rune(s[i]) {
			return false
		}
	}
	r, _ := utf8.DecodeRuneInString(s[i+1:])
	return i+1 < len(s) && !unicode.IsSpace(r) && r != rune(s[i])
}

// closing finds, from from on, the marker that ends a span: one that
// follows a non-space and ends the line or comes before a space or
// punctuation. It returns -1 when there is none (or the span would be
// empty).
func closing(s string, from int, marker string) int {
	for j := from; j+len(marker) <= len(s); j++ {
		if !strings.HasPrefix(s[j:], marker) {
			continue
		}
		before, _ := utf8.DecodeLastRuneInString(s[:j])
		if unicode.IsSpace(before) || before == rune(marker[0]) {
			continue
		}
		if end := j + len(marker); end < len(s) {
			after, _ := utf8.DecodeRuneInString(s[end:])
			if wordRune(after) || after == rune(marker[0]) {
				continue
			}
		}
		return j
	}
	return -1
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// wordRune reports whether r belongs to a word (a letter, a digit or a
// mark), so that a marker beside it is part of the word, not a style.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}
