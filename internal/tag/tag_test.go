package tag

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"VIP ": "vip", "  Needs   Follow-up": "needs follow-up", "Ünïcode": "ünïcode"} {
		if got, msg := Normalize(in); got != want || msg != "" {
			t.Errorf("Normalize(%q) = %q, %q", in, got, msg)
		}
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", 51), "a\x07b"} {
		if _, msg := Normalize(bad); msg == "" {
			t.Errorf("Normalize(%q) accepted", bad)
		}
	}
	if got, msg := NormalizeAll([]string{"a", "A", " a "}); len(got) != 1 || msg != "" {
		t.Errorf("NormalizeAll dedup = %v, %q", got, msg)
	}
}
