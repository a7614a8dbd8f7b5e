package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestFirstRun: with no users the site leads to the setup page, which
// refuses bad input field by field, creates the first admin (who is told
// they are Away and how to become Available), and is gone afterwards.
func TestFirstRun(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	c := srv.Anonymous()
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if r := c.Do("GET", "/", nil); r.StatusCode != 303 || r.Header.Get("Location") != "/setup" {
		t.Fatalf("GET / = %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	form := func(v url.Values) *testrig.Response {
		return c.Do("POST", "/setup", strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Origin", srv.URL)
	}
	r := form(url.Values{"name": {""}, "email": {"nope"}, "password": {"short"}})
	if r.StatusCode != 422 {
		t.Fatalf("bad setup form: %d", r.StatusCode)
	}
	for _, msg := range []string{"Enter a name.", "Enter a valid email address", "Use at least 10 characters."} {
		if !strings.Contains(string(r.Body), msg) {
			t.Errorf("setup page does not say %q", msg)
		}
	}
	if !strings.Contains(string(r.Body), `value="nope"`) {
		t.Error("setup page forgot the typed email")
	}
	r = form(url.Values{"name": {"Ada Admin"}, "email": {"ada@example.com"}, "password": {"long enough password"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/inboxes?welcome=admin" {
		t.Fatalf("setup: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	// The new admin is told they are Away, and how to become Available.
	if r := c.Do("GET", "/admin/inboxes?welcome=admin", nil).Expect(200); !strings.Contains(string(r.Body), "You are Away for now") ||
		!strings.Contains(string(r.Body), "open the status menu under your name") {
		t.Errorf("the inboxes after setup do not say the admin is Away: %s", r.Body)
	}
	if n, _ := srv.App.Users.Count(t.Context()); n != 1 {
		t.Fatalf("%d users after setup", n)
	}
	u, _, err := srv.App.Users.Credentials(t.Context(), "ada@example.com")
	if err != nil || u.Role != policy.Admin {
		t.Fatalf("first user %+v, %v", u, err)
	}
	// Gone afterwards, for everyone.
	srv.Anonymous().Do("GET", "/setup", nil).Expect(404)
	if r := form(url.Values{"name": {"Eve"}, "email": {"eve@example.com"}, "password": {"long enough password"}}); r.StatusCode != 404 {
		t.Fatalf("second setup: %d", r.StatusCode)
	}
}

// TestOperationsEndpoints checks health, readiness and the metrics the
// operations guide lists.
func TestOperationsEndpoints(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	agent, cid := setupConversation(t, srv, policy.Admin)
	agent.Do("POST", "/api/v1/conversations/"+itoa(cid)+"/messages", map[string]string{"text": "hi"}).Expect(201)
	anon := srv.Anonymous()
	anon.Do("GET", "/healthz", nil).Expect(200)
	anon.Do("GET", "/readyz", nil).Expect(200)
	body := string(anon.Do("GET", "/metrics", nil).Expect(200).Body)
	for _, m := range []string{
		`switchboard_http_request_duration_seconds_bucket{code="2xx",route="GET /api/v1/conversations"`,
		`switchboard_messages_ingested_total{channel="webchat"} 1`,
		`switchboard_websocket_clients 0`,
		`switchboard_db_open_connections`,
		`switchboard_db_statements_total`,
		`switchboard_jobs_waiting`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	sent := func() bool {
		return strings.Contains(string(anon.Do("GET", "/metrics", nil).Body), `switchboard_messages_sent_total{channel="webchat"} 1`)
	}
	for range 250 {
		if sent() {
			return
		}
		sleep()
	}
	t.Error("/metrics never counted the sent reply")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sleep() { time.Sleep(20 * time.Millisecond) }
