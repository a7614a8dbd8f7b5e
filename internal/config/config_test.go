package config

import (
	"io"
	"testing"
)

func TestPublicRateLimit(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    float64
		wantErr bool
	}{
		{"", 0, false}, // the default, applied by the server
		{"0", -1, false},
		{"200", 200, false},
		{"2.5", 2.5, false},
		{"-1", 0, true},
		{"fast", 0, true},
	} {
		getenv := func(k string) string {
			if k == "SWITCHBOARD_PUBLIC_RATE_LIMIT" {
				return tc.env
			}
			return ""
		}
		c, err := Load(nil, getenv, io.Discard)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err = %v, want error %v", tc.env, err, tc.wantErr)
			continue
		}
		if err == nil && c.PublicRateLimit != tc.want {
			t.Errorf("%q: PublicRateLimit = %v, want %v", tc.env, c.PublicRateLimit, tc.want)
		}
	}
}
