package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
)

var resetLink = regexp.MustCompile(`/password-reset/(sbr_[A-Za-z0-9_-]+)`)

// TestResetLifetime: a reset link works for an hour and once; the limit
// per address opens again after its hour; a newer link replaces an older
// one. Time is the test's clock.
func TestResetLifetime(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rg := newRig(t, d)
		u := rg.newUser(t, "ana@example.com")
		base, _ := url.Parse("http://sb.example")
		clock := &atomic.Int64{}
		resets := NewResets(New(d, event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler)), rg.users), rg.f.mail, rg.f.cat, base)
		resets.Now = func() time.Time { return db.Time(time.Now().Add(time.Duration(clock.Load()))) }
		token := func(n int) string {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				rg.box.mu.Lock()
				var got []string
				for _, m := range rg.box.mails {
					if s := resetLink.FindStringSubmatch(m.Text); s != nil && m.To == u.Email {
						got = append(got, s[1])
					}
				}
				rg.box.mu.Unlock()
				if len(got) >= n {
					return got[n-1]
				}
			}
			t.Fatalf("no reset mail #%d", n)
			return ""
		}

		if err := resets.Request(ctx, "ana@example.com", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		first := token(1)
		clock.Add(int64(ResetLifetime - time.Second))
		if _, err := resets.Open(ctx, first); err != nil {
			t.Fatalf("just before the hour: %v", err)
		}
		clock.Add(int64(time.Second))
		if _, err := resets.Open(ctx, first); !errors.Is(err, ErrResetLink) {
			t.Fatalf("after the hour: %v", err)
		}

		// Three an hour per address (the hour of the first has passed: a
		// new window); the fourth waits for the window to end.
		for range 3 {
			if err := resets.Request(ctx, "ana@example.com", "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		err := resets.Request(ctx, "ana@example.com", "192.0.2.1")
		if p, ok := problem.As(err); !ok || p.Kind != problem.KindRateLimited {
			t.Fatalf("fourth request: %v", err)
		}
		clock.Add(int64(time.Hour))
		if err := resets.Request(ctx, "ana@example.com", "192.0.2.1"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		// Only the newest link works (mails may arrive in any order).
		token(5)
		var newest string
		for i := 1; i <= 5; i++ {
			if _, err := resets.Open(ctx, token(i)); err == nil {
				if newest != "" {
					t.Fatal("two links work")
				}
				newest = token(i)
			} else if !errors.Is(err, ErrResetLink) {
				t.Fatal(err)
			}
		}
		if newest == "" {
			t.Fatal("no link works")
		}
		if _, err := resets.Confirm(ctx, NewPassword{Token: newest, Password: "a brand new password"}); err != nil {
			t.Fatal(err)
		}
		if _, err := resets.Confirm(ctx, NewPassword{Token: newest, Password: "another new password"}); !errors.Is(err, ErrResetLink) {
			t.Fatalf("used twice: %v", err)
		}
	})
}
