package config

import (
	"io"
	"strings"
	"testing"
	"time"
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

func TestLoad(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := Load(nil, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./data" || c.BaseURL.String() != "http://localhost:8080" || c.Postgres() || c.TrustProxy {
		t.Errorf("defaults: %+v", c)
	}
	c, err = Load([]string{"-addr", "127.0.0.1:9000"}, env("SWITCHBOARD_ADDR", ":1", "SWITCHBOARD_DATABASE_URL", "postgres://u:p@db/sb",
		"SWITCHBOARD_TRUST_PROXY", "true", "SWITCHBOARD_LOG_FORMAT", "json"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.BaseURL.String() != "http://127.0.0.1:9000" || !c.Postgres() || !c.TrustProxy || c.LogFormat != "json" {
		t.Errorf("flags over environment: %+v", c)
	}
	for _, bad := range [][]string{
		{"SWITCHBOARD_ADDR", "8080"},
		{"SWITCHBOARD_BASE_URL", "example.com"},
		{"SWITCHBOARD_LOG_FORMAT", "xml"},
		{"SWITCHBOARD_DATABASE_URL", "mysql://x"},
		{"SWITCHBOARD_NATS_URL", "http://nats"},
		{"SWITCHBOARD_SECRET_KEY", "short"},
		{"SWITCHBOARD_TRUST_PROXY", "maybe"},
	} {
		if _, err := Load(nil, env(bad...), io.Discard); err == nil {
			t.Errorf("%s=%s accepted", bad[0], bad[1])
		} else if want := bad[0]; !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: error %q does not name the variable", bad[0], bad[1], err)
		}
	}
}

func TestWhatsApp(t *testing.T) {
	get := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := Load(nil, get(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.WhatsAppGraphURL.String() != "https://graph.facebook.com" || c.WhatsAppAPIVersion != "v23.0" {
		t.Errorf("defaults: %s %s", c.WhatsAppGraphURL, c.WhatsAppAPIVersion)
	}
	c, err = Load([]string{"-whatsapp-api-version", "v25.0"}, get(map[string]string{"SWITCHBOARD_WHATSAPP_GRAPH_URL": "http://127.0.0.1:9999/graph/"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.WhatsAppGraphURL.String() != "http://127.0.0.1:9999/graph" || c.WhatsAppAPIVersion != "v25.0" {
		t.Errorf("set: %s %s", c.WhatsAppGraphURL, c.WhatsAppAPIVersion)
	}
	for _, bad := range [][2]string{
		{"SWITCHBOARD_WHATSAPP_GRAPH_URL", "graph.facebook.com"},
		{"SWITCHBOARD_WHATSAPP_GRAPH_URL", "ftp://graph.facebook.com"},
		{"SWITCHBOARD_WHATSAPP_API_VERSION", "23.0"},
		{"SWITCHBOARD_WHATSAPP_API_VERSION", "v23"},
	} {
		if _, err := Load(nil, get(map[string]string{bad[0]: bad[1]}), io.Discard); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s=%s: err = %v", bad[0], bad[1], err)
		}
	}
}

func TestPeople(t *testing.T) {
	get := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := Load(nil, get(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP != nil || c.SMS != nil || c.AwayAfter != DefaultAwayAfter || c.MailFrom.String() != `"Switchboard" <switchboard@localhost>` {
		t.Errorf("defaults: %+v %+v %v %v", c.SMTP, c.SMS, c.AwayAfter, c.MailFrom)
	}
	c, err = Load([]string{"-away-after", "90s"}, get(map[string]string{
		"SWITCHBOARD_SMTP_URL":  "smtps://ana:s3cret@mail.example.com",
		"SWITCHBOARD_MAIL_FROM": "Support <support@example.com>",
		"SWITCHBOARD_SMS_URL":   "twilio://ACx:tok@api.twilio.com?from=%2B15550001111",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Host != "mail.example.com" || c.SMTP.Port != 465 || !c.SMTP.ImplicitTLS || c.SMTP.Password != "s3cret" ||
		c.MailFrom.Address != "support@example.com" || c.SMS.From != "+15550001111" || c.AwayAfter != 90*time.Second {
		t.Errorf("set: %+v %v %+v %v", c.SMTP, c.MailFrom, c.SMS, c.AwayAfter)
	}
	for _, bad := range [][2]string{
		{"SWITCHBOARD_SMTP_URL", "mail.example.com"},
		{"SWITCHBOARD_SMTP_URL", "smtp://user:pw@:25"},
		{"SWITCHBOARD_MAIL_FROM", "support"},
		{"SWITCHBOARD_SMS_URL", "twilio://api.twilio.com"},
		{"SWITCHBOARD_AWAY_AFTER", "soon"},
		{"SWITCHBOARD_AWAY_AFTER", "1s"},
	} {
		_, err := Load(nil, get(map[string]string{bad[0]: bad[1]}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), bad[0]) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%s: err = %v", bad[0], bad[1], err)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: the password shows in %v", bad[0], err)
		}
	}
}

func TestMetrics(t *testing.T) {
	get := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := Load(nil, get(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "" || c.MetricsToken != "" {
		t.Errorf("defaults: %q %q", c.MetricsAddr, c.MetricsToken)
	}
	token := "q7Zx-4mR2_kP9vLw8sT1"
	c, err = Load([]string{"-metrics-addr", "127.0.0.1:9090"}, get(map[string]string{"SWITCHBOARD_METRICS_ADDR": ":1", "SWITCHBOARD_METRICS_TOKEN": token}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "127.0.0.1:9090" || c.MetricsToken != token {
		t.Errorf("set: %q %q", c.MetricsAddr, c.MetricsToken)
	}
	c, err = Load([]string{"-metrics-token", token + "=="}, get(nil), io.Discard)
	if err != nil || c.MetricsToken != token+"==" {
		t.Errorf("flag: %q, %v", c.MetricsToken, err)
	}
	for _, tc := range []struct {
		kv   map[string]string
		name string
	}{
		{map[string]string{"SWITCHBOARD_METRICS_ADDR": "9090"}, "SWITCHBOARD_METRICS_ADDR"},
		{map[string]string{"SWITCHBOARD_METRICS_ADDR": "localhost"}, "SWITCHBOARD_METRICS_ADDR"},
		{map[string]string{"SWITCHBOARD_METRICS_ADDR": "127.0.0.1:"}, "SWITCHBOARD_METRICS_ADDR"},
		{map[string]string{"SWITCHBOARD_METRICS_ADDR": "127.0.0.1:http"}, "SWITCHBOARD_METRICS_ADDR"},
		{map[string]string{"SWITCHBOARD_METRICS_ADDR": "127.0.0.1:70000"}, "SWITCHBOARD_METRICS_ADDR"},
		{map[string]string{"SWITCHBOARD_METRICS_ADDR": ":8080"}, "SWITCHBOARD_METRICS_ADDR"}, // the main listener's
		{map[string]string{"SWITCHBOARD_ADDR": "127.0.0.1:9000", "SWITCHBOARD_METRICS_ADDR": ":9000"}, "SWITCHBOARD_METRICS_ADDR"},
		{map[string]string{"SWITCHBOARD_ADDR": ":9000", "SWITCHBOARD_METRICS_ADDR": "127.0.0.1:9000"}, "SWITCHBOARD_METRICS_ADDR"},
		{map[string]string{"SWITCHBOARD_METRICS_TOKEN": "short"}, "SWITCHBOARD_METRICS_TOKEN"},
		{map[string]string{"SWITCHBOARD_METRICS_TOKEN": "with a space in the middle"}, "SWITCHBOARD_METRICS_TOKEN"},
		{map[string]string{"SWITCHBOARD_METRICS_TOKEN": "tab\tin-the-middle-of-it"}, "SWITCHBOARD_METRICS_TOKEN"},
		{map[string]string{"SWITCHBOARD_METRICS_TOKEN": "ñññññññññññññññññññññ"}, "SWITCHBOARD_METRICS_TOKEN"},
		{map[string]string{"SWITCHBOARD_METRICS_TOKEN": strings.Repeat("a", 257)}, "SWITCHBOARD_METRICS_TOKEN"},
	} {
		_, err := Load(nil, get(tc.kv), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.name) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err = %v", tc.kv, err)
		}
		if err != nil && tc.kv["SWITCHBOARD_METRICS_TOKEN"] != "" && strings.Contains(err.Error(), tc.kv["SWITCHBOARD_METRICS_TOKEN"]) {
			t.Errorf("the token shows in %v", err)
		}
	}
	// A different port, or another address on the same port, is fine.
	for _, ok := range [][2]string{{":8080", "127.0.0.1:9090"}, {"127.0.0.1:8080", "127.0.0.2:8080"}, {"localhost:8080", "127.0.0.1:8081"}} {
		if _, err := Load(nil, get(map[string]string{"SWITCHBOARD_ADDR": ok[0], "SWITCHBOARD_METRICS_ADDR": ok[1]}), io.Discard); err != nil {
			t.Errorf("%s and %s: %v", ok[0], ok[1], err)
		}
	}
}
