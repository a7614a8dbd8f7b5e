package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestPasswordChangeRevokesTokens: a new password revokes the user's API
// tokens (the one making the change aside) unless they keep them; the API
// answers how many, and so does the Security tab, whose form has the
// choice switched off by default.
func TestPasswordChangeRevokesTokens(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		ana := srv.NewUser("ana@example.com", policy.Service)
		one, two := ana.WithToken(), ana.WithToken()
		one.Do("GET", "/api/v1/me", nil).Expect(200) // cached on this node now
		type changed struct {
			Revoked *int `json:"api_tokens_revoked"`
			Kept    *int `json:"api_tokens_kept"`
		}
		var out changed
		pw := func(from, to string, keep bool) map[string]any {
			return map[string]any{"current_password": from, "new_password": to, "keep_api_tokens": keep}
		}

		// From the browser session: both tokens go.
		ana.Do("PUT", "/api/v1/me/password", pw(testrig.Password, "second long password", false)).Expect(200).Decode(&out)
		if out.Revoked == nil || *out.Revoked != 2 || out.Kept == nil || *out.Kept != 0 {
			t.Fatalf("answer %+v", out)
		}
		one.Do("GET", "/api/v1/me", nil).Expect(401)
		two.Do("GET", "/api/v1/me", nil).Expect(401)
		ana.Do("GET", "/api/v1/me", nil).Expect(200)

		// With a token: the others go, that one stays.
		three, four := ana.WithToken(), ana.WithToken()
		out = changed{}
		three.Do("PUT", "/api/v1/me/password", pw("second long password", "third long password", false)).Expect(200).Decode(&out)
		if *out.Revoked != 1 || *out.Kept != 1 {
			t.Fatalf("answer %+v", out)
		}
		three.Do("GET", "/api/v1/me", nil).Expect(200)
		four.Do("GET", "/api/v1/me", nil).Expect(401)
		ana.Do("GET", "/api/v1/me", nil).Expect(401) // sessions end, as before

		// Kept on purpose.
		ana = srv.Anonymous()
		ana.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "third long password"}).Expect(200)
		five := ana.WithToken()
		out = changed{}
		ana.Do("PUT", "/api/v1/me/password", pw("third long password", "fourth long password", true)).Expect(200).Decode(&out)
		if *out.Revoked != 0 || *out.Kept != 2 {
			t.Fatalf("answer %+v", out)
		}
		three.Do("GET", "/api/v1/me", nil).Expect(200)
		five.Do("GET", "/api/v1/me", nil).Expect(200)
		if e := ana.Do("PUT", "/api/v1/me/password", map[string]any{"current_password": "fourth long password", "new_password": "fifth long password", "keep_api_tokens": "yes"}).Expect(422).Err(); e.Fields["keep_api_tokens"] == "" {
			t.Errorf("keep_api_tokens as a string: %+v", e)
		}

		// The form: the choice is there, off, and explained.
		page := string(ana.Do("GET", "/preferences/security", nil).Expect(200).Body)
		box := regexp.MustCompile(`<input type="checkbox" name="keep_api_tokens"[^>]*>`).FindString(page)
		if box == "" || strings.Contains(box, "checked") {
			t.Fatalf("keep_api_tokens checkbox: %q", box)
		}
		if !strings.Contains(page, "revokes your API tokens") {
			t.Error("the form does not say what happens to API tokens")
		}
		b := noRedirects(ana)
		r := form(b, "/preferences/password", url.Values{"current_password": {"fourth long password"}, "new_password": {"fifth long password"},
			"repeat_password": {"fifth long password"}}).Expect(303)
		notice := string(b.Do("GET", r.Header.Get("Location"), nil).Expect(200).Body)
		if !strings.Contains(notice, "your 2 API tokens were revoked") {
			t.Errorf("after the change (%s): no word of 2 revoked tokens", r.Header.Get("Location"))
		}
		three.Do("GET", "/api/v1/me", nil).Expect(401)
		five.Do("GET", "/api/v1/me", nil).Expect(401)

		six := ana.WithToken()
		r = form(b, "/preferences/password", url.Values{"current_password": {"fifth long password"}, "new_password": {"sixth long password"},
			"repeat_password": {"sixth long password"}, "keep_api_tokens": {"1"}}).Expect(303)
		notice = string(b.Do("GET", r.Header.Get("Location"), nil).Expect(200).Body)
		if !strings.Contains(notice, "your API token was kept") {
			t.Errorf("after the change (%s): no word of the kept token", r.Header.Get("Location"))
		}
		six.Do("GET", "/api/v1/me", nil).Expect(200)
	})
}
