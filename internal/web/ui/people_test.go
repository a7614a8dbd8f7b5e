package ui

import "testing"

func TestInitials(t *testing.T) {
	for in, want := range map[string]string{"Ana Díaz": "AD", "bo": "B", "  ": "?", "Émile van der Berg": "ÉV", "😀 Cy": "C"} {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
}
