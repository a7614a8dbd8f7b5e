package ui

import (
	"html/template"
	"net/url"
	"regexp"
	"strings"
)

// linkRE finds web addresses in a message: http or https, up to the next
// space, angle bracket or double quote. Nothing else becomes a link
// (javascript:, data:, addresses without a scheme).
var linkRE = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"]+`)

// linkify renders a message's text as HTML in which web addresses are
// links that open in a new tab without telling the site where they came
// from. Everything is escaped: the text around the links, each link's
// text and its address; the result is made only of those escaped pieces
// and the anchors' fixed markup.
func linkify(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range linkRE.FindAllStringIndex(s, -1) {
		start, end := m[0], trimLink(s[m[0]:m[1]])+m[0]
		u, err := url.Parse(s[start:end])
		if err != nil || u.Host == "" || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) {
			continue
		}
		b.WriteString(template.HTMLEscapeString(s[last:start]))
		b.WriteString(`<a href="`)
		b.WriteString(template.HTMLEscapeString(u.String()))
		b.WriteString(`" target="_blank" rel="noopener noreferrer">`)
		b.WriteString(template.HTMLEscapeString(s[start:end]))
		b.WriteString(`</a>`)
		last = end
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String())
}

// trimLink returns the length of the address at the start of s without
// the punctuation that ends a sentence around it: a full stop, a comma,
// quotes, and closing brackets that were not opened inside it
// ("(see https://example.com/a_(b))" keeps "a_(b)").
func trimLink(s string) int {
	for len(s) > 0 {
		c := s[len(s)-1]
		switch c {
		case '.', ',', ';', ':', '!', '?', '\'', '*', '_', '~':
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if strings.Count(s, string(open)) >= strings.Count(s, string(c)) {
				return len(s)
			}
		default:
			return len(s)
		}
		s = s[:len(s)-1]
	}
	return 0
}
