package ui

import (
	"strings"
	"testing"
)

func TestLinkify(t *testing.T) {
	a := func(href, text string) string {
		return `<a href="` + href + `" target="_blank" rel="noopener noreferrer">` + text + `</a>`
	}
	for _, tc := range []struct{ in, want string }{
		{"no links here", "no links here"},
		{"see https://example.com", "see " + a("https://example.com", "https://example.com")},
		{"HTTP://EXAMPLE.COM/A", a("http://EXAMPLE.COM/A", "HTTP://EXAMPLE.COM/A")},
		{"http://example.com/path?q=1&r=2#top", a("http://example.com/path?q=1&amp;r=2#top", "http://example.com/path?q=1&amp;r=2#top")},
		// Punctuation that ends the sentence is not part of the address.
		{"Go to https://example.com.", "Go to " + a("https://example.com", "https://example.com") + "."},
		{"https://example.com/a, and then", a("https://example.com/a", "https://example.com/a") + ", and then"},
		{"(https://example.com/x)", "(" + a("https://example.com/x", "https://example.com/x") + ")"},
		{"https://en.wikipedia.org/wiki/Bracket_(disambiguation)", a("https://en.wikipedia.org/wiki/Bracket_(disambiguation)", "https://en.wikipedia.org/wiki/Bracket_(disambiguation)")},
		{"Really? https://example.com/?!", "Really? " + a("https://example.com/", "https://example.com/") + "?!"},
		{"'https://example.com'", "&#39;" + a("https://example.com", "https://example.com") + "&#39;"},
		// Other schemes are text.
		{"javascript:alert(1)", "javascript:alert(1)"},
		{"JaVaScRiPt:alert(document.cookie)//https://x.example", "JaVaScRiPt:alert(document.cookie)//" + a("https://x.example", "https://x.example")},
		{"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="},
		{"vbscript:msgbox", "vbscript:msgbox"},
		{"ftp://example.com/file", "ftp://example.com/file"},
		{"www.example.com", "www.example.com"},
		{"xhttps://example.com", "xhttps://example.com"},
		// A scheme without a host is not an address.
		{"https:// nothing", "https:// nothing"},
		{"https:///path", "https:///path"},
		// Markup stays text, inside and outside addresses.
		{`<script>alert(1)</script>`, "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{`https://example.com/<script>alert(1)</script>`, a("https://example.com/", "https://example.com/") + "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{`https://example.com/"onmouseover="alert(1)`, a("https://example.com/", "https://example.com/") + "&#34;onmouseover=&#34;alert(1)"},
		{`https://example.com/'onmouseover='alert(1)`, a("https://example.com/&#39;onmouseover=&#39;alert(1)", "https://example.com/&#39;onmouseover=&#39;alert(1)")},
		{`<a href="https://evil.example">x</a>`, "&lt;a href=&#34;" + a("https://evil.example", "https://evil.example") + "&#34;&gt;x&lt;/a&gt;"},
		{"https://example.com/&amp;<b>", a("https://example.com/&amp;amp", "https://example.com/&amp;amp") + ";&lt;b&gt;"},
		{"two https://a.example and http://b.example/x", "two " + a("https://a.example", "https://a.example") + " and " + a("http://b.example/x", "http://b.example/x")},
		{"line\nhttps://example.com\nnext", "line\n" + a("https://example.com", "https://example.com") + "\nnext"},
		{"https://münchen.example/straße", a("https://m%C3%BCnchen.example/stra%C3%9Fe", "https://münchen.example/straße")},
	} {
		if got := string(linkify(tc.in)); got != tc.want {
			t.Errorf("linkify(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// FuzzLinkify: whatever the text, the result has no markup but the
// anchors linkify writes, and reads as the text.
func FuzzLinkify(f *testing.F) {
	for _, s := range []string{"https://example.com", `<script>`, `https://x.example/"><img src=x onerror=alert(1)>`, "javascript:alert(1)", "(https://a.example/(b))."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(linkify(s))
		rest := out
		for {
			i := strings.Index(rest, "<")
			if i < 0 {
				break
			}
			rest = rest[i:]
			switch {
			case strings.HasPrefix(rest, `<a href="`):
				end := strings.Index(rest, `" target="_blank" rel="noopener noreferrer">`)
				if end < 0 || strings.ContainsAny(rest[len(`<a href="`):end], `<>"'`) {
					t.Fatalf("linkify(%q) = %s: a broken anchor", s, out)
				}
				rest = rest[end+1:]
			case strings.HasPrefix(rest, `</a>`):
				rest = rest[4:]
			default:
				t.Fatalf("linkify(%q) = %s: markup that is not an anchor", s, out)
			}
		}
	})
}
