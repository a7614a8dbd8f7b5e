package auth

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// TestDeviceCookies: someone who guesses passwords for an account keeps
// it locked, but not for the browser its owner signed in with before;
// another account's cookie does not help; wrong passwords from the known
// browser are throttled on its own counter and the tenth revokes it. Two
// nodes share the database, and so the counters.
func TestDeviceCookies(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		log := event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler))
		users := user.NewStore(d, log, HashPassword)
		// One clock for both nodes that moves only when told: waits of a
		// second must not run out while slow password hashes are checked.
		start, clock := db.Now(), &atomic.Int64{}
		node := func() *Service {
			s := New(d, log, users)
			s.now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
			return s
		}
		a, b := node(), node()
		advance := func(dt time.Duration) { clock.Add(int64(dt)) }
		const right = "ana's long password"
		ana, err := users.Create(ctx, user.NewUser{Email: "ana@example.com", Name: "Ana", Role: policy.Service, Password: right})
		if err != nil {
			t.Fatal(err)
		}
		bo, err := users.Create(ctx, user.NewUser{Email: "bo@example.com", Name: "Bo", Role: policy.Service, Password: "bo's long password"})
		if err != nil {
			t.Fatal(err)
		}
		login := func(s *Service, password, ip, device string) error {
			_, err := s.Login(ctx, "Ana@Example.com", password, ip, device)
			return err
		}
		const ok problem.Kind = 0
		expect := func(what string, err error, want problem.Kind) {
			t.Helper()
			got := ok
			if err != nil {
				p, isProblem := problem.As(err)
				if !isProblem {
					t.Fatalf("%s: %v", what, err)
				}
				got = p.Kind
			}
			if got != want {
				t.Fatalf("%s: kind %d (%v), want %d", what, got, err, want)
			}
		}

		// Ana signs in on her browser, Bo on his.
		expect("first sign-in", login(a, right, "10.0.0.1", ""), ok)
		anaDevice, err := a.RememberDevice(ctx, ana.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		boDevice, err := b.RememberDevice(ctx, bo.ID, "")
		if err != nil {
			t.Fatal(err)
		}

		// Someone guesses Ana's password from addresses of their own, on
		// both nodes: the account locks.
		for i := range 6 {
			expect("guess", login([]*Service{a, b}[i%2], "guess", fmt.Sprintf("203.0.113.%d", i), ""), problem.KindUnauthorized)
		}
		expect("the right password without the cookie", login(b, right, "203.0.113.50", ""), problem.KindRateLimited)
		expect("from Ana's own address without the cookie", login(a, right, "10.0.0.1", ""), problem.KindRateLimited)
		expect("with Bo's cookie", login(a, right, "203.0.113.50", boDevice), problem.KindRateLimited)
		expect("with a made-up cookie", login(a, right, "203.0.113.50", devicePrefix+"made-up"), problem.KindRateLimited)
		// Ana's browser is let through, on either node.
		expect("Ana's browser", login(b, right, "10.0.0.1", anaDevice), ok)
		expect("Ana's browser again", login(a, right, "10.0.0.1", anaDevice), ok)
		expect("the guesser, still", login(a, right, "203.0.113.50", ""), problem.KindRateLimited)

		// Wrong passwords from Ana's browser count against it alone: five
		// free, then a doubling wait; the account's lockout is not theirs.
		for i := range 6 {
			expect(fmt.Sprintf("typo %d", i+1), login([]*Service{a, b}[i%2], "typo", "10.0.0.1", anaDevice), problem.KindUnauthorized)
		}
		expect("at once after the sixth", login(b, right, "10.0.0.1", anaDevice), problem.KindRateLimited)
		wait := time.Second
		for i := 7; i <= deviceMaxFailures; i++ {
			advance(wait)
			wait *= 2
			expect(fmt.Sprintf("typo %d", i), login([]*Service{a, b}[i%2], "typo", "10.0.0.1", anaDevice), problem.KindUnauthorized)
		}
		// The tenth revoked the cookie: the browser is a stranger again,
		// locked out with the account (the guesser locks it once more).
		if id, err := a.deviceOf(ctx, anaDevice, "ana@example.com"); err != nil || id != 0 {
			t.Fatalf("revoked device: %d, %v", id, err)
		}
		advance(time.Hour)
		expect("one more guess", login(a, "guess", "203.0.113.60", ""), problem.KindUnauthorized)
		expect("the revoked cookie", login(b, right, "10.0.0.1", anaDevice), problem.KindRateLimited)

		// Once the lockout is over Ana signs in, and her browser gets a new
		// cookie; each sign-in replaces it, and the old one stops working.
		advance(time.Hour)
		expect("after the lockout", login(a, right, "10.0.0.1", ""), ok)
		first, err := a.RememberDevice(ctx, ana.ID, anaDevice)
		if err != nil {
			t.Fatal(err)
		}
		second, err := b.RememberDevice(ctx, ana.ID, first)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			token string
			want  bool
		}{{first, false}, {second, true}, {boDevice, false}} {
			if id, _ := a.deviceOf(ctx, c.token, "ana@example.com"); (id != 0) != c.want {
				t.Errorf("device %s…: %d, want known %v", c.token[:8], id, c.want)
			}
		}
		// Bo's cookie in a browser where Ana now signs in: Bo's stays his.
		if _, err := a.RememberDevice(ctx, ana.ID, boDevice); err != nil {
			t.Fatal(err)
		}
		if id, _ := a.deviceOf(ctx, boDevice, "bo@example.com"); id == 0 {
			t.Error("Ana's sign-in took Bo's device")
		}

		// Cookies expire; upkeep deletes them.
		advance(DeviceLifetime + time.Second)
		if id, _ := a.deviceOf(ctx, second, "ana@example.com"); id != 0 {
			t.Error("an expired device is still known")
		}
		if n, err := a.Prune(ctx); err != nil || n != 3 {
			t.Errorf("prune: %d, %v", n, err)
		}
	})
}

// TestDevicesPerUser: a user's remembered browsers are the most recent
// ones.
func TestDevicesPerUser(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	log := event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler))
	users := user.NewStore(d, log, func(string) (string, error) { return dummyHash, nil })
	s := New(d, log, users)
	u, err := users.Create(ctx, user.NewUser{Email: "cy@example.com", Name: "Cy", Role: policy.Service, Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for range devicesPerUser + 5 {
		tok, err := s.RememberDevice(ctx, u.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM login_devices WHERE user_id = $1`, u.ID).Scan(&n); err != nil || n != devicesPerUser {
		t.Fatalf("%d devices kept, %v", n, err)
	}
	if id, _ := s.deviceOf(ctx, tokens[0], "cy@example.com"); id != 0 {
		t.Error("the oldest device is still known")
	}
	if id, _ := s.deviceOf(ctx, tokens[len(tokens)-1], "cy@example.com"); id == 0 {
		t.Error("the newest device is forgotten")
	}
}
