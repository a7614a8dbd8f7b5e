package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestKnownBrowserDuringLockout: signing in leaves a device cookie; while
// someone keeps the account locked by guessing, the browser that has it
// still signs in (through the API and the form), and another account's
// cookie gets the guesser nowhere.
func TestKnownBrowserDuringLockout(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		ana := srv.NewUser("ana@example.com", policy.Service)
		bo := srv.NewUser("bo@example.com", policy.Service)
		base, _ := url.Parse(srv.URL)
		deviceOf := func(c *testrig.Client) *http.Cookie {
			for _, ck := range c.HTTP.Jar.Cookies(base) {
				if ck.Name == "sb_device" {
					return ck
				}
			}
			t.Fatal("no device cookie after signing in")
			return nil
		}
		deviceOf(ana)
		r := srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}).Expect(200)
		var set string
		for _, h := range r.Header.Values("Set-Cookie") {
			if strings.HasPrefix(h, "sb_device=") {
				set = h
			}
		}
		for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=15552000"} {
			if !strings.Contains(set, attr) {
				t.Errorf("device cookie %q lacks %s", set, attr)
			}
		}
		ana.Do("POST", "/api/v1/auth/logout", nil).Expect(204) // signing out keeps the cookie
		deviceOf(ana)

		right := map[string]string{"email": "ana@example.com", "password": testrig.Password}
		guesser := srv.Anonymous()
		for range 6 {
			guesser.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "a guess"}).Expect(401)
		}
		// The sixth locked the account for a second; as if the guesses
		// went on, for a quarter of an hour (so that slow password checks
		// do not outlast the lockout).
		if _, err := d.Exec(t.Context(), `UPDATE login_attempts SET blocked_until = $1 WHERE key = 'email:ana@example.com'`, db.Now().Add(15*time.Minute)); err != nil {
			t.Fatal(err)
		}
		guesser.Do("POST", "/api/v1/auth/login", right).Expect(429)
		// With Bo's cookie, copied.
		guesser.HTTP.Jar.SetCookies(base, []*http.Cookie{{Name: "sb_device", Value: deviceOf(bo).Value}})
		guesser.Do("POST", "/api/v1/auth/login", right).Expect(429)

		// Ana's browser: in, by the API and by the form.
		ana.Do("POST", "/api/v1/auth/login", right).Expect(200)
		ana.Do("GET", "/api/v1/me", nil).Expect(200)
		ana.Do("POST", "/api/v1/auth/logout", nil).Expect(204)
		r = form(noRedirects(ana), "/login", url.Values{"email": {"ana@example.com"}, "password": {testrig.Password}, "next": {"/preferences"}})
		if r.StatusCode != 303 || r.Header.Get("Location") != "/preferences" {
			t.Fatalf("form sign-in from the known browser: %d %s", r.StatusCode, r.Body)
		}
		guesser.Do("POST", "/api/v1/auth/login", right).Expect(429)
		srv.Anonymous().Do("POST", "/api/v1/auth/login", right).Expect(429)
	})
}
