package phone

import "testing"

func TestNormalize(t *testing.T) {
	cases := []struct {
		in    string
		check Check
		want  string // "" for refused
	}{
		{"+34 612 34 56 78", Mobile, "+34612345678"},
		{"0034 612-34-56-78", Mobile, "+34612345678"},
		{"+1 (415) 555-2671", Mobile, "+14155552671"},
		{"+34 912 34 56 78", Valid, "+34912345678"},
		{"+34 912 34 56 78", Mobile, ""}, // a Spanish fixed line
		{"+44 20 7946-0958", Possible, "+442079460958"},
		{"0049 (30) 123456", Possible, "+4930123456"},
		{"+1 415 555 0123", Possible, "+14155550123"},
		{"\u00a0+1.415.555.0123 ", Possible, "+14155550123"},
		{"+1 555-078-3881", Possible, "+15550783881"}, // Meta's test numbers
		{"+1 555-078-3881", Valid, ""},
		{"+999 1234567", Valid, ""},
		{"612 34 56 78", Possible, ""}, // no country code
		{"020 7946 0958", Possible, ""},
		{"+34 61234", Possible, ""},
		{"+0 123 456 789", Possible, ""},
		{"+1234567890123456", Possible, ""},
		{"+44 abc", Possible, ""},
		{"call me", Possible, ""},
		{"", Possible, ""},
		{"+34 612 34 56 78 12345678901234567890", Possible, ""},
	}
	for _, tc := range cases {
		got, msg := Normalize(tc.in, tc.check)
		if got != tc.want || (msg == "") != (tc.want != "") {
			t.Errorf("Normalize(%q, %d) = %q, %q; want %q", tc.in, tc.check, got, msg, tc.want)
		}
	}
	if _, msg := Normalize("612 34 56 78", Possible); msg != "Enter the number in international format, with + and the country code, like +34 612 34 56 78." {
		t.Errorf("without a country code: %q", msg)
	}
	if _, msg := Normalize("+34 912 34 56 78", Mobile); msg != "This is a landline number: enter a mobile number, which can receive text messages." {
		t.Errorf("a fixed line as mobile: %q", msg)
	}
}

func TestIsE164(t *testing.T) {
	for s, want := range map[string]bool{"+15550001111": true, "+34612345678": true, "+34 612 34 56 78": false, "15550001111": false, "+1555": false, "": false} {
		if IsE164(s) != want {
			t.Errorf("IsE164(%q) = %v", s, !want)
		}
	}
}

func TestNormalizeIn(t *testing.T) {
	cases := []struct {
		in, region string
		want       string // "" for refused
	}{
		{"612 34 56 78", "ES", "+34612345678"},
		{"612 34 56 78", "es", "+34612345678"},
		{"020 7946 0958", "GB", "+442079460958"}, // the national prefix goes
		{"(415) 555-2671", "US", "+14155552671"},
		{"+34 612 34 56 78", "GB", "+34612345678"}, // its own country wins
		{"0034 612 34 56 78", "US", "+34612345678"},
		{"612 34 56 78", "", ""}, // no default: international only
		{"61234", "ES", ""},
		{"call me", "ES", ""},
	}
	for _, tc := range cases {
		got, msg := NormalizeIn(tc.in, tc.region, Possible)
		if got != tc.want || (msg == "") != (tc.want != "") {
			t.Errorf("NormalizeIn(%q, %q) = %q, %q; want %q", tc.in, tc.region, got, msg, tc.want)
		}
	}
	for in, want := range map[string]string{"es": "ES", " GB ": "GB", "XX": "", "": "", "ESP": ""} {
		if got, ok := Region(in); got != want || ok != (want != "") {
			t.Errorf("Region(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
