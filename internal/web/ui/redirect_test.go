package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
	"github.com/switchboardhq/switchboard/internal/web/ui"
)

// TestReturnPathsStayOnSite sends every hostile return path to every
// handler that takes one: the sign-in page and form, the second step of
// signing in, and the status menu (which goes back to the page it came
// from). Each goes to the inbox instead, and the forms do not carry the
// value on.
func TestReturnPathsStayOnSite(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	srv.NewUser("ana@example.com", policy.Service)
	signedIn := noRedirects(srv.NewUser("bo@example.com", policy.Service))
	anon := noRedirects(srv.Anonymous())
	goesHome := func(what string, r *testrig.Response) {
		t.Helper()
		if r.StatusCode != 303 || r.Header.Get("Location") != "/inbox" {
			t.Errorf("%s: %d to %q, want 303 to /inbox", what, r.StatusCode, r.Header.Get("Location"))
		}
	}
	hidden := regexp.MustCompile(`name="next" value="([^"]*)"`)
	for _, next := range ui.HostileNext {
		q := "?next=" + url.QueryEscape(next)
		goesHome("POST /login next="+next, form(anon, "/login", url.Values{"email": {"ana@example.com"}, "password": {testrig.Password}, "next": {next}}))
		goesHome("GET /login"+q+" signed in", signedIn.Do("GET", "/login"+q, nil))
		goesHome("GET /login/code"+q+" signed in", signedIn.Do("GET", "/login/code"+q, nil))
		page := srv.Anonymous().Do("GET", "/login"+q, nil).Expect(200)
		if m := hidden.FindSubmatch(page.Body); m == nil || string(m[1]) != "" {
			t.Errorf("GET /login%s carries next=%q on", q, m)
		}
		// The status menu goes back to the referring page (a URL a
		// browser serialised: no control characters).
		ref := srv.URL + next
		if strings.ContainsFunc(ref, func(c rune) bool { return c < ' ' || c == 0x7f }) {
			continue
		}
		r := signedIn.Do("POST", "/preferences/status", strings.NewReader("status=away"),
			"Content-Type", "application/x-www-form-urlencoded", "Origin", srv.URL, "Referer", ref)
		if loc := r.Header.Get("Location"); r.StatusCode != 303 || !onSite(loc) {
			t.Errorf("POST /preferences/status from %q: %d to %q", ref, r.StatusCode, loc)
		}
	}
	// The raw query of the report, and its encoded forms.
	for _, raw := range []string{"%2F%09%2Fevil.test", "/%09/evil.test", "%2F%2Fevil.test", "/%5Cevil.test", "%5C%2Fevil.test", "/%0d%0a/evil.test", "/.//evil.test"} {
		goesHome("GET /login?next="+raw, signedIn.Do("GET", "/login?next="+raw, nil))
	}

	// The second step: a user with an authenticator app signs in with
	// recovery codes.
	cy := srv.NewUser("cy@example.com", policy.Service)
	form(cy, "/preferences/two-factor", url.Values{"method": {"totp"}}).Expect(200)
	sec := cy.Do("GET", "/preferences/security", nil).Expect(200)
	key := regexp.MustCompile(`class="secret totp-secret">([A-Z2-7]+)<`).FindSubmatch(sec.Body)
	if key == nil {
		t.Fatalf("no authenticator key on the security tab")
	}
	app, _ := totp.GenerateCode(string(key[1]), time.Now())
	page := form(cy, "/preferences/two-factor/verify", url.Values{"code": {app}}).Expect(200)
	codes := regexp.MustCompile(`<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>`).FindAllSubmatch(page.Body, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	for i, next := range []string{"//evil.test", "/\t/evil.test", "/\\evil.test", "https://evil.test", "/%2F%2Fevil.test", "/.//evil.test", " //evil.test", "/%0d%0a/x"} {
		b := noRedirects(srv.Anonymous())
		r := form(b, "/login", url.Values{"email": {"cy@example.com"}, "password": {testrig.Password}, "next": {next}}).Expect(303)
		loc, err := url.Parse(r.Header.Get("Location"))
		if err != nil || loc.Path != "/login/code" || loc.Query().Get("next") != "/inbox" {
			t.Errorf("second step for next=%q: %q", next, r.Header.Get("Location"))
		}
		codePage := b.Do("GET", "/login/code?next="+url.QueryEscape(next), nil).Expect(200)
		if m := hidden.FindSubmatch(codePage.Body); m == nil || string(m[1]) != "" {
			t.Errorf("GET /login/code?next=%q carries %q on", next, m)
		}
		goesHome("POST /login/code next="+next, form(b, "/login/code", url.Values{"code": {string(codes[i][1])}, "next": {next}}))
	}
	// An expired or missing challenge goes back to the sign-in page with
	// nothing of the hostile path.
	r := noRedirects(srv.Anonymous()).Do("GET", "/login/code?next="+url.QueryEscape("//evil.test"), nil).Expect(303)
	if loc := r.Header.Get("Location"); loc != "/login?next=/inbox" {
		t.Errorf("no challenge: to %q", loc)
	}

	// A path of the site is followed.
	r = form(noRedirects(srv.Anonymous()), "/login", url.Values{"email": {"ana@example.com"}, "password": {testrig.Password}, "next": {"/preferences/security?x=%2F%2F#sessions"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/preferences/security?x=%2F%2F#sessions" {
		t.Errorf("own path: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// onSite reports whether a browser reads loc as a path of this site.
func onSite(loc string) bool {
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
		return false
	}
	return !strings.ContainsFunc(loc, func(c rune) bool { return c <= ' ' || c >= 0x7f || c == '\\' })
}

// noRedirects makes c stop at redirects, to read where they go.
func noRedirects(c *testrig.Client) *testrig.Client {
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// form posts a form as a browser does (same origin).
func form(c *testrig.Client, path string, v url.Values) *testrig.Response {
	return c.Do("POST", path, strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Origin", c.Base)
}
