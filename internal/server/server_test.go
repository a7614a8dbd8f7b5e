package server_test

import (
	"context"
	"errors"
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
)

// TestWorkerFailureStopsNode: when a supervised worker fails, or stops on
// its own, the node shuts down without waiting for its context to end and
// Run returns the worker's error.
func TestWorkerFailureStopsNode(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, c := range []struct {
		name string
		run  func(ctx context.Context, serving <-chan struct{}) error
		want func(error) bool
	}{
		{"fails", func(ctx context.Context, serving <-chan struct{}) error { <-serving; return boom },
			func(err error) bool { return errors.Is(err, boom) && strings.Contains(err.Error(), "canary: boom") }},
		{"stops", func(ctx context.Context, serving <-chan struct{}) error { <-serving; return nil },
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "canary: stopped") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := dbtest.SQLite(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			base, _ := url.Parse("http://" + ln.Addr().String())
			cfg := config.Config{Addr: ln.Addr().String(), DataDir: t.TempDir(), BaseURL: base, ShutdownTimeout: 5 * time.Second,
				SecretKey: make([]byte, 32), WhatsAppAPIVersion: "v23.0"}
			serving := make(chan struct{})
			app, err := server.Assemble(cfg, d, slog.New(slog.DiscardHandler), server.Options{
				Work: map[string]func(context.Context) error{"canary": func(ctx context.Context) error { return c.run(ctx, serving) }},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { app.Close() })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // the node must stop without it
			done := make(chan error, 1)
			go func() { done <- app.Run(ctx, server.Listeners{HTTP: ln}) }()
			resp, err := http.Get(base.String() + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			close(serving)
			select {
			case err := <-done:
				if !c.want(err) {
					t.Fatalf("Run = %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the node kept running after its worker ended")
			}
			if resp, err := http.Get(base.String() + "/healthz"); err == nil {
				resp.Body.Close()
				t.Fatal("the node still serves HTTP")
			}
		})
	}
}
