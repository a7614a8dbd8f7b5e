package contact

import "testing"

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+44 20 7946-0958": "+442079460958",
		"0049 (30) 123456": "+4930123456",
		"+1 415 555 0123":  "+14155550123",
	} {
		if got, msg := NormalizePhone(in); got != want || msg != "" {
			t.Errorf("NormalizePhone(%q) = %q, %q", in, got, msg)
		}
	}
	for _, bad := range []string{"", "12345", "020 7946 0958", "+0 123 456 789", "+1234567890123456", "+44 abc"} {
		if _, msg := NormalizePhone(bad); msg == "" {
			t.Errorf("NormalizePhone(%q) accepted", bad)
		}
	}
}
