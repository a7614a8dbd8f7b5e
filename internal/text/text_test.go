package text

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/problem"
)

// TestRule: what the rule accepts and refuses, with the message a person
// reads, and what Clean makes of each.
func TestRule(t *testing.T) {
	for _, c := range []struct {
		name, in string
		problem  string // "" when accepted
		clean    string
	}{
		{"empty", "", "", ""},
		{"plain", "Hello, world", "", "Hello, world"},
		{"tab", "a\tb", "", "a\tb"},
		{"line feed", "one\ntwo", "", "one\ntwo"},
		{"CRLF from a textarea", "one\r\ntwo", "", "one\r\ntwo"},
		{"lone CR", "one\rtwo", "", "one\rtwo"},
		{"emoji and accents", "¡Hola, señora! 👋", "", "¡Hola, señora! 👋"},
		{"DEL is not C0", "a\x7fb", "", "a\x7fb"},
		{"C1 control in UTF-8", "a\u0085b", "", "a\u0085b"},
		{"replacement character", "a\uFFFDb", "", "a\uFFFDb"},
		{"NUL", "a\x00b", "This contains an invisible control character (U+0000); remove it.", "a\uFFFDb"},
		{"NUL at the end", "ada@example.com\x00", "This contains an invisible control character (U+0000); remove it.", "ada@example.com\uFFFD"},
		{"bell", "a\x07", "This contains an invisible control character (U+0007); remove it.", "a\uFFFD"},
		{"vertical tab", "a\vb", "This contains an invisible control character (U+000B); remove it.", "a\uFFFDb"},
		{"form feed", "a\fb", "This contains an invisible control character (U+000C); remove it.", "a\uFFFDb"},
		{"escape", "\x1b[31mred", "This contains an invisible control character (U+001B); remove it.", "\uFFFD[31mred"},
		{"unit separator", "a\x1fb", "This contains an invisible control character (U+001F); remove it.", "a\uFFFDb"},
		{"invalid UTF-8", "a\xffb", "This is not valid UTF-8 text; type it again.", "a\uFFFDb"},
		{"truncated rune", "caf\xc3", "This is not valid UTF-8 text; type it again.", "caf\uFFFD"},
		{"both, the control first", "\x00\xff", "This contains an invisible control character (U+0000); remove it.", "\uFFFD\uFFFD"},
		{"control after non-ASCII", "ü\x00", "This contains an invisible control character (U+0000); remove it.", "ü\uFFFD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Problem(c.in); got != c.problem {
				t.Errorf("Problem(%q) = %q, want %q", c.in, got, c.problem)
			}
			err := Check("name", c.in)
			if c.problem == "" {
				if err != nil {
					t.Errorf("Check(%q) = %v", c.in, err)
				}
			} else {
				p, ok := problem.As(err)
				if !ok || p.Kind != problem.KindInvalid || p.Fields["name"] != c.problem || len(p.Fields) != 1 {
					t.Errorf("Check(%q) = %#v, want the field name refused", c.in, err)
				}
			}
			got := Clean(c.in)
			if got != c.clean {
				t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.clean)
			}
			if Problem(got) != "" {
				t.Errorf("Clean(%q) = %q still breaks the rule", c.in, got)
			}
		})
	}
}

// TestCleanKeepsGoodText: text that follows the rule is not copied.
func TestCleanKeepsGoodText(t *testing.T) {
	s := strings.Repeat("línea\r\n", 100)
	if n := testing.AllocsPerRun(10, func() { Clean(s) }); n != 0 {
		t.Errorf("Clean of good text allocates %v times", n)
	}
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"añb", 2, "a"}, // ñ is two bytes: not split
		{"añb", 3, "añ"},
		{"👋👋", 5, "👋"},
		{"👋", 3, ""},
	} {
		got := Cut(c.in, c.max)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// FuzzClean: whatever comes in, Clean's result follows the rule, and
// Check agrees with Problem.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x00b", "\r\n", "\xff\xfe", "\x1b[0m", "ü\x00\xc3", "\t\v\f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Clean(s)
		if Problem(c) != "" {
			t.Fatalf("Clean(%q) = %q breaks the rule", s, c)
		}
		if Problem(s) == "" && c != s {
			t.Fatalf("Clean changed good text %q to %q", s, c)
		}
		if (Check("f", s) == nil) != (Problem(s) == "") {
			t.Fatalf("Check and Problem disagree on %q", s)
		}
	})
}
