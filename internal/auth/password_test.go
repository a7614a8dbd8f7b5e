package auth

import "testing"

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hash, password string
		want           bool
	}{
		{h, "correct horse", true},
		{h, "wrong horse", false},
		// The dummy hash parses and burns the same time as a real one.
		{dummyHash, "not a real password, only burns time", true},
		{dummyHash, "anything", false},
	} {
		got, err := CheckPassword(tc.hash, tc.password)
		if err != nil || got != tc.want {
			t.Errorf("CheckPassword(%.20s…, %q) = %v, %v; want %v", tc.hash, tc.password, got, err, tc.want)
		}
	}
}
