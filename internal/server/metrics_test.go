package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

func get(t *testing.T, u string, header ...string) (int, http.Header, string) {
	t.Helper()
	return do(t, "GET", u, header...)
}

func do(t *testing.T, method, u string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const metricsToken = "0123456789abcdef-metrics-token"

// TestMetricsListener: with SWITCHBOARD_METRICS_ADDR, /metrics is served
// on that address only (the main listener answers 404), and nothing else
// is; with SWITCHBOARD_METRICS_TOKEN it needs the bearer token.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t), testrig.Options{Config: func(c *config.Config) {
		c.MetricsAddr, c.MetricsToken = "127.0.0.1:0", metricsToken
	}})
	if srv.MetricsURL == "" || srv.MetricsURL == srv.URL {
		t.Fatalf("metrics URL %q", srv.MetricsURL)
	}
	bearer := "Bearer " + metricsToken
	if code, _, _ := get(t, srv.URL+"/metrics", "Authorization", bearer); code != 404 {
		t.Errorf("main listener /metrics: %d, want 404", code)
	}
	if code, _, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("main listener /healthz: %d", code)
	}
	code, _, body := get(t, srv.MetricsURL+"/metrics", "Authorization", bearer)
	if code != 200 || !strings.Contains(body, "switchboard_http_request_duration_seconds") {
		t.Errorf("metrics listener /metrics: %d %.200s", code, body)
	}
	if code, _, _ := get(t, srv.MetricsURL+"/metrics", "Authorization", "bearer "+metricsToken); code != 200 {
		t.Errorf("the scheme in lower case: %d", code)
	}
	for _, h := range [][]string{
		nil,
		{"Authorization", "Bearer"},
		{"Authorization", "Bearer "},
		{"Authorization", "Bearer wrong"},
		{"Authorization", "Bearer " + metricsToken[:len(metricsToken)-1]},
		{"Authorization", "Bearer " + metricsToken + "x"},
		{"Authorization", "Bearer  " + metricsToken},
		{"Authorization", "Basic " + metricsToken},
		{"Authorization", metricsToken},
	} {
		code, hdr, body := get(t, srv.MetricsURL+"/metrics", h...)
		if code != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") || strings.Contains(body, "switchboard_") {
			t.Errorf("%v: %d %q %.100s", h, code, hdr.Get("WWW-Authenticate"), body)
		}
	}
	for _, path := range []string{"/", "/healthz", "/api/v1/me", "/login", "/metrics/x"} {
		if code, _, _ := get(t, srv.MetricsURL+path, "Authorization", bearer); code != 404 {
			t.Errorf("metrics listener %s: %d, want 404", path, code)
		}
	}
	if code, _, _ := do(t, "POST", srv.MetricsURL+"/metrics", "Authorization", bearer); code != 405 {
		t.Errorf("POST /metrics: %d, want 405", code)
	}
}

// TestMetricsToken: a token without an address of its own guards /metrics
// on the main listener.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t), testrig.Options{Config: func(c *config.Config) { c.MetricsToken = metricsToken }})
	if code, hdr, _ := get(t, srv.URL+"/metrics"); code != 401 || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("without the token: %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/metrics", "Authorization", "Bearer sbt_notit"); code != 401 {
		t.Errorf("with an API token's shape: %d", code)
	}
	if code, _, body := get(t, srv.URL+"/metrics", "Authorization", "Bearer "+metricsToken); code != 200 || !strings.Contains(body, "switchboard_") {
		t.Errorf("with the token: %d", code)
	}
}

// TestRunNeedsTheMetricsListener: a node configured with a metrics address
// refuses to run without its listener.
func TestRunNeedsTheMetricsListener(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	base, _ := url.Parse("http://" + ln.Addr().String())
	cfg := config.Config{Addr: ln.Addr().String(), DataDir: t.TempDir(), BaseURL: base, ShutdownTimeout: time.Second, MetricsAddr: "127.0.0.1:0"}
	app, err := server.Assemble(cfg, d, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Run(ctx, server.Listeners{HTTP: ln}); err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_METRICS_ADDR") {
		t.Fatalf("Run without the metrics listener: %v", err)
	}
}
