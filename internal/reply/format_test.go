package reply

import (
	"strings"
	"testing"
)

func TestFormatHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"*bold*", "<strong>bold</strong>"},
		{"_italic_", "<em>italic</em>"},
		{"~struck~", "<s>struck</s>"},
		{"`code`", "<code>code</code>"},
		{"```mono *not bold*```", "<code>mono *not bold*</code>"},
		{"Hello *dear* customer, _thanks_!", "Hello <strong>dear</strong> customer, <em>thanks</em>!"},
		{"*bold with spaces inside*", "<strong>bold with spaces inside</strong>"},
		// Nested styles.
		{"*_both_*", "<strong><em>both</em></strong>"},
		{"_*both*_ and ~*x*~", "<em><strong>both</strong></em> and <s><strong>x</strong></s>"},
		// Markers inside words, or beside spaces, are text.
		{"2*3*4", "2*3*4"},
		{"snake_case_name", "snake_case_name"},
		{"a * b * c", "a * b * c"},
		{"* not bold*", "* not bold*"},
		{"*not bold *", "*not bold *"},
		{"**", "**"},
		{"***", "***"},
		{"**x**", "**x**"},
		{"*unclosed", "*unclosed"},
		{"mañana*x*", "mañana*x*"},
		{"*x*ñ", "*x*ñ"},
		// Punctuation around a span is fine.
		{"(*yes*).", "(<strong>yes</strong>)."},
		{"¡*hola*!", "¡<strong>hola</strong>!"},
		// A span does not cross lines; lines stay.
		{"*one\ntwo*", "*one\ntwo*"},
		{"*one*\n_two_", "<strong>one</strong>\n<em>two</em>"},
		// Emoji pass as they are, styled or not.
		{"Thanks 🙏 *see you* 👋", "Thanks 🙏 <strong>see you</strong> 👋"},
		{"*👍*", "<strong>👍</strong>"},
		// Variables stay text.
		{"Hi {{contact.name}}", "Hi {{contact.name}}"},
		// Markup is escaped, inside spans and out.
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"*<b>x</b>*", "<strong>&lt;b&gt;x&lt;/b&gt;</strong>"},
		{"_\"quoted\" & 'single'_", "<em>&#34;quoted&#34; &amp; &#39;single&#39;</em>"},
		{"```<img src=x onerror=alert(1)>```", "<code>&lt;img src=x onerror=alert(1)&gt;</code>"},
		{"`<i>`", "<code>&lt;i&gt;</code>"},
		{"&amp;", "&amp;amp;"},
	} {
		if got := string(FormatHTML(tc.in)); got != tc.want {
			t.Errorf("FormatHTML(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// FuzzFormatHTML: whatever the text, the result has no markup but the
// tags FormatHTML writes, balanced, and reads as the text without its
// markers.
func FuzzFormatHTML(f *testing.F) {
	for _, s := range []string{"*a*", "_*b*_", "```c```", "<script>", "*<img src=x onerror=alert(1)>*", "a_b_c", "~`x`~", "*\n*"} {
		f.Add(s)
	}
	allowed := []string{"<strong>", "</strong>", "<em>", "</em>", "<s>", "</s>", "<code>", "</code>"}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(FormatHTML(s))
		var open []string
		for rest := out; ; {
			i := strings.IndexByte(rest, '<')
			if i < 0 {
				break
			}
			rest = rest[i:]
			tag := ""
			for _, a := range allowed {
				if strings.HasPrefix(rest, a) {
					tag = a
				}
			}
			switch {
			case tag == "":
				t.Fatalf("FormatHTML(%q) = %s: markup it does not write", s, out)
			case strings.HasPrefix(tag, "</"):
				if len(open) == 0 || open[len(open)-1] != "<"+tag[2:] {
					t.Fatalf("FormatHTML(%q) = %s: %s closes nothing open", s, out, tag)
				}
				open = open[:len(open)-1]
			default:
				open = append(open, tag)
			}
			rest = rest[len(tag):]
		}
		if len(open) > 0 {
			t.Fatalf("FormatHTML(%q) = %s: %v left open", s, out, open)
		}
	})
}
