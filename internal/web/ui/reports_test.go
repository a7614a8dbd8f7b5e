package ui

import "testing"

// The chart cuts a long name, on a character boundary, to what fits
// before the bars.
func TestChartName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Ana", "Ana"},
		{"Exactly twenty-two ch.", "Exactly twenty-two ch."},
		{"Maria Fernanda de los Ángeles", "Maria Fernanda de los…"},
		{"Ñandúñandúñandúñandúñandú", "Ñandúñandúñandúñandúñ…"},
		{"Twenty-one characters and more", "Twenty-one characters…"},
	} {
		if got := chartName(c.in); got != c.want {
			t.Errorf("chartName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
