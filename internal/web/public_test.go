package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// The web chat widget's API, /public/v1, as a visitor's browser uses it.

// visitorMessage is a message as the public API shows it.
type visitorMessage struct {
	ID          int64             `json:"id"`
	From        string            `json:"from"`
	Text        string            `json:"text"`
	Status      string            `json:"status"`
	ClientID    string            `json:"client_id"`
	Attachments []visitorFileInfo `json:"attachments"`
	Agent       string            `json:"agent"`
	AgentAvatar string            `json:"agent_avatar"`
}

type visitorFileInfo struct {
	ID           int64     `json:"id"`
	Kind         string    `json:"kind"`
	Filename     string    `json:"filename"`
	ContentType  string    `json:"content_type"`
	Size         int64     `json:"size"`
	URL          string    `json:"url"`
	URLExpiresAt time.Time `json:"url_expires_at"`
}

// relative is the path and query of a link the server gave, checked to
// be on the server.
func relative(t *testing.T, srv *testrig.Server, link string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(link, srv.URL)
	if !ok || !strings.HasPrefix(rest, "/") {
		t.Fatalf("link %q is not on the server %s", link, srv.URL)
	}
	return rest
}

// agentList is the agent API's list of conversations or messages, as
// far as these tests look at it.
type agentList struct {
	Items []struct {
		ID   int64  `json:"id"`
		Text string `json:"text"`
	} `json:"items"`
}

type visitorPage struct {
	Items      []visitorMessage `json:"items"`
	NextCursor string           `json:"next_cursor"`
}

// newInbox creates a web chat inbox with settings and members.
func newInbox(t *testing.T, srv *testrig.Server, name string, set webchat.Settings, members ...int64) (inbox.Inbox, string) {
	t.Helper()
	in, secret, err := srv.App.Inboxes.Create(t.Context(), inbox.NewInbox{Type: webchat.Type, Name: name, Settings: map[inbox.Type]any{webchat.Type: &set}, MemberIDs: members})
	if err != nil {
		t.Fatal(err)
	}
	return in, secret
}

func countRows(t *testing.T, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.QueryRow(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// history is the visitor's conversation as the widget loads it.
func history(t *testing.T, v *testrig.Visitor) []visitorMessage {
	t.Helper()
	var p visitorPage
	v.Do("GET", "/public/v1/messages", nil).Expect(http.StatusOK).Decode(&p)
	return p.Items
}

// send posts a visitor message with the widget's id.
func send(v *testrig.Visitor, id, text string, attachments ...int64) *testrig.Response {
	body := map[string]any{"id": id, "text": text}
	if len(attachments) > 0 {
		body["attachments"] = attachments
	}
	return v.Do("POST", "/public/v1/messages", body)
}

// fileForm is a multipart body with content in the field "file".
func fileForm(t *testing.T, name string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	return &b, mw.FormDataContentType()
}

// pixelPNG is a 1×1 PNG.
var pixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

func uploadAs(t *testing.T, c *testrig.Client, path, name string, content []byte) *testrig.Response {
	t.Helper()
	body, ctype := fileForm(t, name, content)
	return c.Do("POST", path, body, "Content-Type", ctype)
}

// TestPublicSessions: the widget's settings, and starting a session with
// or without a profile.
func TestPublicSessions(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := newInbox(t, srv, "Northwind", webchat.Settings{Greeting: "Hi there!", Color: "#0b6e4f"}, agent.UserID)
		anon := srv.Anonymous()

		var cfg struct {
			Name            string `json:"name"`
			Greeting        string `json:"greeting"`
			Color           string `json:"color"`
			RequireIdentity bool   `json:"require_identity"`
		}
		anon.Do("GET", "/public/v1/inboxes/"+in.Token, nil).Expect(http.StatusOK).Decode(&cfg)
		if cfg.Name != "Northwind" || cfg.Greeting != "Hi there!" || cfg.Color != "#0b6e4f" || cfg.RequireIdentity {
			t.Fatalf("widget settings %+v", cfg)
		}
		anon.Do("GET", "/public/v1/inboxes/no-such-inbox", nil).Expect(http.StatusNotFound)
		anon.Do("POST", "/public/v1/inboxes/no-such-inbox/sessions", map[string]string{}).Expect(http.StatusNotFound)

		// No body at all is a session without a profile.
		var sess struct {
			Token string `json:"token"`
		}
		anon.Do("POST", "/public/v1/inboxes/"+in.Token+"/sessions", nil).Expect(http.StatusCreated).Decode(&sess)
		if !strings.HasPrefix(sess.Token, "sbv_") || len(sess.Token) < 40 {
			t.Fatalf("session token %q", sess.Token)
		}

		// The profile goes on the contact the agent sees.
		v := srv.NewVisitor(in.Token, map[string]string{"name": "  Ada Lovelace ", "email": "Ada@Example.COM"})
		v.Say("Hello")
		var list struct {
			Items []struct {
				Contact struct {
					Name  string  `json:"name"`
					Email *string `json:"email"`
				} `json:"contact"`
			} `json:"items"`
		}
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		if len(list.Items) != 1 || list.Items[0].Contact.Name != "Ada Lovelace" || list.Items[0].Contact.Email == nil || *list.Items[0].Contact.Email != "ada@example.com" {
			t.Fatalf("conversations %+v", list.Items)
		}

		// Two anonymous sessions are two people.
		srv.NewVisitor(in.Token, nil).Say("Someone else")
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		if len(list.Items) != 2 {
			t.Fatalf("%d conversations, want 2", len(list.Items))
		}

		// Refused profiles.
		path := "/public/v1/inboxes/" + in.Token + "/sessions"
		if e := anon.Do("POST", path, map[string]string{"email": "not an email"}).Expect(http.StatusUnprocessableEntity).Err(); e.Fields["email"] == "" {
			t.Errorf("bad email: %+v", e)
		}
		if e := anon.Do("POST", path, map[string]string{"name": strings.Repeat("n", 101)}).Expect(http.StatusUnprocessableEntity).Err(); e.Fields["name"] == "" {
			t.Errorf("long name: %+v", e)
		}
		anon.Do("POST", path, map[string]string{"nickname": "ada"}).Expect(http.StatusBadRequest)
		anon.Do("POST", path, []byte(`{"name":`)).Expect(http.StatusBadRequest)
	})
}

// TestPublicVerifiedIdentity: a site vouches for its signed-in user with
// an HMAC of their id, and the same person is one contact everywhere.
func TestPublicVerifiedIdentity(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, secret := srv.NewWebchatInbox("Site", agent.UserID)
		start := func(in inbox.Inbox, body any) *testrig.Response {
			return srv.Anonymous().Do("POST", "/public/v1/inboxes/"+in.Token+"/sessions", body)
		}
		identity := func(secret, id string) map[string]string {
			return map[string]string{"identifier": id, "identifier_hash": webchat.Sign(secret, id), "name": "Grace"}
		}

		// Two devices of one customer: one contact, one conversation.
		phone := srv.NewVisitor(in.Token, identity(secret, "customer-42"))
		phone.Say("Written on my phone")
		upper := identity(secret, "customer-42")
		upper["identifier_hash"] = strings.ToUpper(upper["identifier_hash"])
		laptop := srv.NewVisitor(in.Token, upper)
		if h := history(t, laptop); len(h) != 1 || h[0].Text != "Written on my phone" {
			t.Fatalf("the laptop sees %+v", h)
		}
		laptop.Say("And this on my laptop")
		var list agentList
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		if len(list.Items) != 1 {
			t.Fatalf("%d conversations, want one for both devices", len(list.Items))
		}
		// Somebody else is somebody else.
		srv.NewVisitor(in.Token, identity(secret, "customer-43")).Say("Hi")
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		if len(list.Items) != 2 {
			t.Fatalf("%d conversations, want 2", len(list.Items))
		}

		// Hashes that do not verify.
		for name, body := range map[string]map[string]string{
			"hash of another id":        {"identifier": "customer-42", "identifier_hash": webchat.Sign(secret, "customer-43")},
			"hash under another secret": {"identifier": "customer-42", "identifier_hash": webchat.Sign("not the secret", "customer-42")},
			"garbage hash":              {"identifier": "customer-42", "identifier_hash": "00ff"},
			"no hash":                   {"identifier": "customer-42"},
		} {
			if e := start(in, body).Expect(http.StatusForbidden).Err(); e.Code != "forbidden" || e.Message == "" {
				t.Errorf("%s: %+v", name, e)
			}
		}

		// An inbox that requires identity refuses anonymous visitors.
		strict, strictSecret := newInbox(t, srv, "Members", webchat.Settings{RequireIdentity: true}, agent.UserID)
		var cfg struct {
			RequireIdentity bool `json:"require_identity"`
		}
		srv.Anonymous().Do("GET", "/public/v1/inboxes/"+strict.Token, nil).Expect(http.StatusOK).Decode(&cfg)
		if !cfg.RequireIdentity {
			t.Error("require_identity not shown to the widget")
		}
		start(strict, nil).Expect(http.StatusForbidden)
		start(strict, map[string]string{"name": "Anon"}).Expect(http.StatusForbidden)
		start(strict, identity(strictSecret, "member-1")).Expect(http.StatusCreated)

		// A rotated secret invalidates the hashes made with the old one.
		admin := srv.NewUser("admin@example.com", policy.Admin)
		var rotated struct {
			Secret string `json:"secret"`
		}
		admin.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/secret", strict.ID), nil).Expect(http.StatusOK).Decode(&rotated)
		start(strict, identity(strictSecret, "member-1")).Expect(http.StatusForbidden)
		start(strict, identity(rotated.Secret, "member-1")).Expect(http.StatusCreated)
	})
}

// TestPublicSend: what the server acknowledges is stored, once; what it
// refuses leaves nothing behind.
func TestPublicSend(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		v := srv.NewVisitor(in.Token, nil)
		someone := srv.NewVisitor(in.Token, nil)
		var theirs visitorFileInfo
		uploadAs(t, someone.Client, "/public/v1/attachments", "theirs.png", pixelPNG).Expect(http.StatusCreated).Decode(&theirs)
		var mine visitorFileInfo
		uploadAs(t, v.Client, "/public/v1/attachments", "mine.png", pixelPNG).Expect(http.StatusCreated).Decode(&mine)

		// Refused before the visitor's first message: not even a
		// conversation is left behind.
		cases := []struct {
			name   string
			body   any
			header []string
			status int
			code   string
			field  string
		}{
			{"text too long", map[string]any{"id": "a", "text": strings.Repeat("ü", 4097)}, nil, 422, "validation_failed", "text"},
			{"no text", map[string]any{"id": "a", "text": " \n "}, nil, 422, "validation_failed", "text"},
			{"no id", map[string]any{"text": "hi"}, nil, 422, "validation_failed", "id"},
			{"id too long", map[string]any{"id": strings.Repeat("x", 65), "text": "hi"}, nil, 422, "validation_failed", "id"},
			{"someone else's file", map[string]any{"id": "a", "text": "look", "attachments": []int64{mine.ID, theirs.ID}}, nil, 422, "validation_failed", "attachments"},
			{"unknown file", map[string]any{"id": "a", "text": "look", "attachments": []int64{987654}}, nil, 422, "validation_failed", "attachments"},
			{"invalid UTF-8", []byte("{\"id\":\"a\",\"text\":\"caf\xe9\"}"), nil, 400, "bad_request", ""},
			{"malformed JSON", []byte(`{"id":"a","text":"hi"`), nil, 400, "bad_request", ""},
			{"unknown field", []byte(`{"id":"a","txt":"hi"}`), nil, 400, "bad_request", ""},
			{"wrong type", []byte(`{"id":"a","text":42}`), nil, 422, "validation_failed", "text"},
			{"body over 1 MiB", []byte(`{"id":"a","text":"` + strings.Repeat("a", 1<<20) + `"}`), nil, 413, "too_large", ""},
			{"not JSON", []byte(`id=a&text=hi`), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		}
		for _, tc := range cases {
			r := v.Do("POST", "/public/v1/messages", tc.body, tc.header...)
			if r.StatusCode != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.StatusCode, tc.status, r.Body)
				continue
			}
			if e := r.Err(); e.Code != tc.code || e.Message == "" || (tc.field != "" && e.Fields[tc.field] == "") {
				t.Errorf("%s: error %+v, want code %s with a message for %q", tc.name, e, tc.code, tc.field)
			}
		}
		if n := countRows(t, d, "messages"); n != 0 {
			t.Fatalf("refused sends stored %d messages", n)
		}
		if n := countRows(t, d, "conversations"); n != 0 {
			t.Fatalf("refused sends opened %d conversations", n)
		}
		// The file of the refused message is still the visitor's to send.
		var m visitorMessage
		send(v, "with-file", "", mine.ID).Expect(http.StatusCreated).Decode(&m)
		if len(m.Attachments) != 1 || m.Attachments[0].ID != mine.ID || m.From != "visitor" || m.ClientID != "with-file" {
			t.Fatalf("message with file %+v", m)
		}

		// The same id twice (a retry) is stored once.
		var first, again visitorMessage
		send(v, "5b0f8e7c-retry", "Is this on?").Expect(http.StatusCreated).Decode(&first)
		send(v, "5b0f8e7c-retry", "Is this on?").Expect(http.StatusOK).Decode(&again)
		if again.ID != first.ID || again.ClientID != "5b0f8e7c-retry" {
			t.Fatalf("retry answered %+v, first %+v", again, first)
		}
		// Exactly 4096 characters is fine.
		var long visitorMessage
		send(v, "long", strings.Repeat("ü", 4096)).Expect(http.StatusCreated).Decode(&long)
		// Another visitor's ids are their own: the same id is a new message.
		send(someone, "5b0f8e7c-retry", "Mine too").Expect(http.StatusCreated)

		// What was acknowledged is there, newest first, for the visitor
		// and the agent; the other visitor's message is not.
		h := history(t, v)
		if len(h) != 3 || h[0].ID != long.ID || h[1].ID != first.ID || h[2].ID != m.ID {
			t.Fatalf("history %+v", h)
		}
		if n := countRows(t, d, "messages"); n != 4 {
			t.Fatalf("%d messages stored, want 4", n)
		}
		var list agentList
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		if len(list.Items) != 2 {
			t.Fatalf("%d conversations, want 2", len(list.Items))
		}

		// Paging: the widget's "load older".
		var p visitorPage
		v.Do("GET", "/public/v1/messages?limit=2", nil).Expect(http.StatusOK).Decode(&p)
		if len(p.Items) != 2 || p.NextCursor == "" {
			t.Fatalf("first page %+v", p)
		}
		v.Do("GET", "/public/v1/messages?limit=2&cursor="+p.NextCursor, nil).Expect(http.StatusOK).Decode(&p)
		if len(p.Items) != 1 || p.Items[0].ID != m.ID || p.NextCursor != "" {
			t.Fatalf("second page %+v", p)
		}
		v.Do("GET", "/public/v1/messages?cursor=nonsense", nil).Expect(http.StatusUnprocessableEntity)

		// Seen: up_to is required.
		if e := v.Do("POST", "/public/v1/seen", map[string]any{"read": true}).Expect(http.StatusUnprocessableEntity).Err(); e.Fields["up_to"] == "" {
			t.Errorf("seen without up_to: %+v", e)
		}
	})
}

// TestPublicTokens: requests without a valid visitor token are refused
// everywhere.
func TestPublicTokens(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		in, _ := srv.NewWebchatInbox("Site")
		// A session whose record is gone (as when it expired and was
		// removed) before its first use.
		gone := srv.NewVisitor(in.Token, nil)
		if _, err := d.Exec(t.Context(), `DELETE FROM webchat_visitors`); err != nil {
			t.Fatal(err)
		}
		live := srv.NewVisitor(in.Token, nil)
		live.Say("hello")
		agent := srv.NewUser("agent@example.com", policy.Admin).WithToken()

		for name, token := range map[string]string{
			"none":            "",
			"unknown":         "sbv_" + strings.Repeat("A", 43),
			"gone":            gone.Token,
			"not a visitor's": agent.Token,
			"truncated":       live.Token[:len(live.Token)-1],
			"absurdly long":   "sbv_" + strings.Repeat("A", 500),
		} {
			c := srv.Anonymous()
			c.Token = token
			for _, req := range []struct{ method, path string }{
				{"GET", "/public/v1/messages"},
				{"POST", "/public/v1/messages"},
				{"POST", "/public/v1/seen"},
				{"GET", "/public/v1/stream"},
				{"GET", "/public/v1/attachments/1"},
			} {
				var body any
				if req.method == "POST" {
					body = map[string]any{"id": "x", "text": "hi", "up_to": 1}
				}
				r := c.Do(req.method, req.path, body)
				if r.StatusCode != http.StatusUnauthorized || r.Err().Message == "" {
					t.Errorf("%s token, %s %s: %d %s", name, req.method, req.path, r.StatusCode, r.Body)
				}
			}
		}
		// A token in the address is refused, valid or not, wherever it is
		// given (logs and shared links would keep it).
		c := srv.Anonymous()
		for _, path := range []string{"/public/v1/messages", "/public/v1/stream", "/public/v1/attachments/1", "/public/v1/stream/tickets", "/public/v1/seen"} {
			method := "GET"
			if path == "/public/v1/stream/tickets" || path == "/public/v1/seen" {
				method = "POST"
			}
			for _, token := range []string{live.Token, gone.Token} {
				r := c.Do(method, path+"?token="+url.QueryEscape(token), nil)
				if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Err().Message, "Authorization header") {
					t.Errorf("%s %s?token=: %d %s", method, path, r.StatusCode, r.Body)
				}
			}
			// Even with the header as well.
			live.Do(method, path+"?token="+url.QueryEscape(live.Token), nil).Expect(http.StatusUnauthorized)
		}
		live.Do("GET", "/public/v1/messages", nil).Expect(http.StatusOK)
		if n := countRows(t, d, "messages"); n != 1 {
			t.Fatalf("%d messages stored, want 1", n)
		}
	})
}

// TestPublicRateLimits: a visitor sending too fast, and an address
// calling too often, are asked to wait, with Retry-After.
func TestPublicRateLimits(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	// The default per-IP limit (testrig turns it off unless set).
	srv := testrig.Start(t, d, testrig.Options{Options: server.Options{PublicRate: config.DefaultPublicRateLimit}})
	in, _ := srv.NewWebchatInbox("Site")
	v := srv.NewVisitor(in.Token, nil)

	// A visitor may send 5 a second, in bursts of 20.
	limited := -1
	for i := range 60 {
		r := send(v, fmt.Sprintf("burst-%d", i), "flood")
		if r.StatusCode == http.StatusTooManyRequests {
			limited = i
			if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 1 {
				t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
			}
			if e := r.Err(); e.Code != "rate_limited" || e.Message == "" {
				t.Errorf("429 body %+v", e)
			}
			break
		}
		r.Expect(http.StatusCreated)
	}
	switch {
	case limited < 0:
		t.Fatal("60 sends in a row were never limited")
	case limited < 20:
		t.Fatalf("limited after %d sends, before the burst of 20", limited)
	}
	if n := countRows(t, d, "messages"); n != limited {
		t.Fatalf("%d messages stored, want the %d accepted", n, limited)
	}
	// Another visitor (from the same address) is not slowed down by it.
	srv.NewVisitor(in.Token, nil).Say("Hello")

	// An address may call 50 times a second, in bursts of 100.
	anon := srv.Anonymous()
	for i := range 400 {
		r := anon.Do("GET", "/public/v1/inboxes/"+in.Token, nil)
		if r.StatusCode == http.StatusTooManyRequests {
			if r.Header.Get("Retry-After") == "" {
				t.Error("per-address 429 without Retry-After")
			}
			return
		}
		if r.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	t.Fatal("400 requests in a row were never limited")
}

// TestPublicCORS: an inbox with allowed origins answers only those sites;
// one without answers any (the token is the visitor's credential, so
// cross-site requests carry no ambient authority).
func TestPublicCORS(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	shop, _ := newInbox(t, srv, "Shop", webchat.Settings{AllowedOrigins: []string{"https://shop.example"}})
	open, _ := srv.NewWebchatInbox("Anywhere")
	anon := srv.Anonymous()
	from := func(origin string) []string {
		return []string{"Origin", origin, "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors"}
	}

	r := anon.Do("GET", "/public/v1/inboxes/"+shop.Token, nil, from("https://shop.example")...).Expect(http.StatusOK)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(r.Header.Get("Vary"), "Origin") ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("CORS headers for an allowed origin: %v", r.Header)
	}
	if e := anon.Do("GET", "/public/v1/inboxes/"+shop.Token, nil, from("https://evil.example")...).Expect(http.StatusForbidden).Err(); !strings.Contains(e.Message, "https://evil.example") {
		t.Errorf("refusal %+v", e)
	}
	anon.Do("POST", "/public/v1/inboxes/"+shop.Token+"/sessions", map[string]string{}, from("https://evil.example")...).Expect(http.StatusForbidden)
	// Without an Origin (not a browser) the inbox answers.
	anon.Do("GET", "/public/v1/inboxes/"+shop.Token, nil).Expect(http.StatusOK)

	// A session from the shop works from the shop only.
	var sess struct {
		Token string `json:"token"`
	}
	anon.Do("POST", "/public/v1/inboxes/"+shop.Token+"/sessions", map[string]string{}, from("https://shop.example")...).Expect(http.StatusCreated).Decode(&sess)
	v := srv.Anonymous()
	v.Token = sess.Token
	v.Do("POST", "/public/v1/messages", map[string]string{"id": "1", "text": "hi"}, from("https://shop.example")...).Expect(http.StatusCreated)
	v.Do("POST", "/public/v1/messages", map[string]string{"id": "2", "text": "hi"}, from("https://evil.example")...).Expect(http.StatusForbidden)
	v.Do("GET", "/public/v1/messages", nil, from("https://evil.example")...).Expect(http.StatusForbidden)
	v.Do("GET", "/public/v1/stream", nil, from("https://evil.example")...).Expect(http.StatusForbidden)

	// The preflight of a send.
	r = anon.Do("OPTIONS", "/public/v1/messages", nil, "Origin", "https://shop.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	r.Expect(http.StatusNoContent)
	h := r.Header
	if h.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight headers %v", h)
	}

	// An inbox without allowed origins takes any site, cross-site.
	r = anon.Do("POST", "/public/v1/inboxes/"+open.Token+"/sessions", map[string]string{}, from("https://anywhere.example")...).Expect(http.StatusCreated)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://anywhere.example" {
		t.Errorf("allow origin %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	// The widget script itself loads from anywhere.
	r = anon.Do("GET", "/widget.js", nil).Expect(http.StatusOK)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("widget.js headers %v", r.Header)
	}
}

// TestPublicUploads: what a visitor may upload, and who may download it.
func TestPublicUploads(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		outsider := srv.NewUser("outsider@example.com", policy.Service) // not a member of the inbox
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		srv.NewWebchatInbox("Elsewhere", outsider.UserID)
		v := srv.NewVisitor(in.Token, nil)
		other := srv.NewVisitor(in.Token, nil)

		var a visitorFileInfo
		uploadAs(t, v.Client, "/public/v1/attachments", "photo.png", pixelPNG).Expect(http.StatusCreated).Decode(&a)
		if a.ContentType != "image/png" || a.Kind != "image" || a.Filename != "photo.png" || a.Size != int64(len(pixelPNG)) {
			t.Fatalf("upload %+v", a)
		}
		file := fmt.Sprintf("/public/v1/attachments/%d", a.ID)
		// Before it is sent, only its uploader sees it.
		if r := v.Do("GET", file, nil).Expect(http.StatusOK); !bytes.Equal(r.Body, pixelPNG) {
			t.Fatal("served back different bytes")
		}
		other.Do("GET", file, nil).Expect(http.StatusNotFound)

		// Refused files, with the server's reason.
		before := countRows(t, d, "attachments")
		for _, tc := range []struct {
			name    string
			file    string
			content []byte
			status  int
			says    string
		}{
			{"HTML named .png", "cute-cat.png", []byte("<!doctype html><script>alert(1)</script>"), 415, "not accepted"},
			{"SVG", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), 415, "not accepted"},
			{"image over 10 MB", "huge.png", append(append([]byte{}, pixelPNG...), make([]byte, 10<<20)...), 413, "10 MB"},
			{"file over 20 MB", "huge.pdf", append([]byte("%PDF-1.7\n"), make([]byte, 20<<20)...), 413, "20 MB"},
			{"empty", "empty.txt", nil, 422, "empty"},
		} {
			r := uploadAs(t, v.Client, "/public/v1/attachments", tc.file, tc.content)
			if r.StatusCode != tc.status {
				t.Errorf("%s: status %d, want %d: %.200s", tc.name, r.StatusCode, tc.status, r.Body)
				continue
			}
			if e := r.Err(); !strings.Contains(e.Message+e.Fields["file"], tc.says) {
				t.Errorf("%s: message %+v, want it to say %q", tc.name, e, tc.says)
			}
		}
		v.Do("POST", "/public/v1/attachments", []byte(`{}`)).Expect(http.StatusUnsupportedMediaType)
		if n := countRows(t, d, "attachments"); n != before {
			t.Fatalf("refused uploads stored %d attachments", n-before)
		}

		// Sent: served with safe headers, by the link the message carries
		// (as an <img> loads it, without the token); not to another visitor.
		var sent visitorMessage
		send(v, "pic", "", a.ID).Expect(http.StatusCreated).Decode(&sent)
		r := srv.Anonymous().Do("GET", relative(t, srv, sent.Attachments[0].URL), nil).Expect(http.StatusOK)
		if h := r.Header; h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || !strings.HasPrefix(h.Get("Content-Disposition"), "inline") {
			t.Errorf("download headers %v", h)
		}
		other.Do("GET", file, nil).Expect(http.StatusNotFound)
		// Agents who can see the conversation download it; others cannot.
		agent.Do("GET", fmt.Sprintf("/api/v1/attachments/%d", a.ID), nil).Expect(http.StatusOK)
		outsider.Do("GET", fmt.Sprintf("/api/v1/attachments/%d", a.ID), nil).Expect(http.StatusNotFound)

		// An agent's file reaches the visitor with the reply, not before.
		var agentFile visitorFileInfo
		uploadAs(t, agent, "/api/v1/attachments", "invoice.pdf", []byte("%PDF-1.4\nan invoice")).Expect(http.StatusCreated).Decode(&agentFile)
		agentPath := fmt.Sprintf("/public/v1/attachments/%d", agentFile.ID)
		v.Do("GET", agentPath, nil).Expect(http.StatusNotFound)
		var list agentList
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", list.Items[0].ID),
			map[string]any{"text": "Your invoice", "attachments": []int64{agentFile.ID}}).Expect(http.StatusCreated)
		deadline := time.Now().Add(10 * time.Second)
		for h := history(t, v); len(h) < 2 || h[0].From != "business"; h = history(t, v) {
			if time.Now().After(deadline) {
				t.Fatalf("the reply never reached the visitor: %+v", h)
			}
			time.Sleep(20 * time.Millisecond)
		}
		r = v.Do("GET", agentPath, nil).Expect(http.StatusOK)
		if r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("document headers %v", r.Header)
		}
		other.Do("GET", agentPath, nil).Expect(http.StatusNotFound)
	})
}

// sseEvent is one server-sent event.
type sseEvent struct {
	ID   int64
	Type string
	Data string
}

func (e sseEvent) message(t *testing.T) visitorMessage {
	t.Helper()
	if e.Type != "message" {
		t.Fatalf("event %+v, want a message", e)
	}
	var m visitorMessage
	if err := json.Unmarshal([]byte(e.Data), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sseStream reads a visitor's event stream.
type sseStream struct {
	events chan sseEvent
	stop   func()
}

// openStream connects as the widget's EventSource does, with a ticket
// asked for with the token; lastEventID is what a reconnecting
// EventSource sends.
func openStream(t *testing.T, srv *testrig.Server, token, query, lastEventID string) *sseStream {
	t.Helper()
	c := srv.Anonymous()
	c.Token = token
	var ticket struct {
		Ticket string `json:"ticket"`
	}
	c.Do("POST", "/public/v1/stream/tickets", nil).Expect(http.StatusCreated).Decode(&ticket)
	return openStreamAt(t, srv, "/public/v1/stream?ticket="+url.QueryEscape(ticket.Ticket)+query, "", lastEventID)
}

// openStreamAt opens the stream at path, with the Authorization header
// when token is not "".
func openStreamAt(t *testing.T, srv *testrig.Server, path, token, lastEventID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{events: make(chan sseEvent, 100)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(s.events)
		rd := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			field, value, _ := strings.Cut(line, ": ")
			switch field {
			case "":
				if ev.Type != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case "id":
				ev.ID, _ = strconv.ParseInt(value, 10, 64)
			case "event":
				ev.Type = value
			case "data":
				ev.Data += value
			}
		}
	}()
	s.stop = func() { cancel(); resp.Body.Close(); <-done }
	t.Cleanup(s.stop)
	return s
}

func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return sseEvent{}
}

// TestPublicStream: the visitor's live events, and resuming without a gap.
func TestPublicStream(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		v := srv.NewVisitor(in.Token, nil)
		other := srv.NewVisitor(in.Token, nil)

		s := openStream(t, srv, v.Token, "", "")
		hello := s.next(t)
		var at struct {
			Seq int64 `json:"seq"`
		}
		json.Unmarshal([]byte(hello.Data), &at)
		if hello.Type != "hello" || hello.ID != at.Seq {
			t.Fatalf("first event %+v", hello)
		}

		// Another visitor's messages are not in this stream; the visitor's
		// own are (other tabs show them).
		other.Say("Not for your eyes")
		send(v, "c-1", "First").Expect(http.StatusCreated)
		e := s.next(t)
		if m := e.message(t); m.From != "visitor" || m.Text != "First" || m.ClientID != "c-1" || e.ID <= hello.ID {
			t.Fatalf("event %+v: %+v", e, m)
		}

		// An agent's reply arrives once sent (never while pending, never
		// with agent details).
		var list agentList
		agent.Do("GET", "/api/v1/conversations?status=open", nil).Expect(http.StatusOK).Decode(&list)
		var cid int64
		for _, c := range list.Items {
			var msgs agentList
			agent.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", c.ID), nil).Expect(http.StatusOK).Decode(&msgs)
			if msgs.Items[0].Text == "First" {
				cid = c.ID
			}
		}
		reply := func(text string) {
			agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", cid), map[string]string{"text": text}).Expect(http.StatusCreated)
		}
		reply("Hello from the shop")
		e = s.next(t)
		m := e.message(t)
		if m.From != "business" || m.Text != "Hello from the shop" || m.Status != "sent" || strings.Contains(e.Data, "sender_id") {
			t.Fatalf("reply event %s", e.Data)
		}
		last := e.ID
		s.stop()

		// Away: two replies are sent, one after the other (the outbox may
		// send replies queued together in either order).
		sent := func(n int) {
			deadline := time.Now().Add(10 * time.Second)
			for h := history(t, v); len(h) < n || h[0].Status != "sent"; h = history(t, v) {
				if time.Now().After(deadline) {
					t.Fatalf("replies not sent: %+v", h)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		reply("Are you there?")
		sent(3)
		reply("We close at six.")
		sent(4)
		missed := func(s *sseStream, after int64, texts ...string) []sseEvent {
			t.Helper()
			var got []sseEvent
			for _, want := range texts {
				// A resumed stream does not know what the widget knows of
				// the conversation: it says whether it is closed, once.
				e := s.skip(t, "status")
				if m := e.message(t); m.Text != want || e.ID <= after {
					t.Fatalf("replayed %+v (%q), want %q after seq %d", e, m.Text, want, after)
				}
				got = append(got, e)
			}
			return got
		}
		// EventSource reconnects with Last-Event-ID: what was missed
		// comes first, in order.
		s2 := openStream(t, srv, v.Token, "", strconv.FormatInt(last, 10))
		away := missed(s2, last, "Are you there?", "We close at six.")
		s2.stop()
		// ?since= does the same (the widget after a page load).
		s3 := openStream(t, srv, v.Token, "&since="+strconv.FormatInt(last, 10), "")
		missed(s3, last, "Are you there?", "We close at six.")
		// Live after the replay.
		reply("Still here.")
		missed(s3, away[1].ID, "Still here.")
		s3.stop()
		// An EventSource opened with ?since= reconnects to the same URL with
		// a newer Last-Event-ID: the header wins.
		s4 := openStream(t, srv, v.Token, "&since="+strconv.FormatInt(hello.ID, 10), strconv.FormatInt(away[0].ID, 10))
		missed(s4, away[0].ID, "We close at six.", "Still here.")

		// Acknowledgements come back as updates of the same message.
		v.Do("POST", "/public/v1/seen", map[string]any{"up_to": away[1].ID + 1000, "read": false}).Expect(http.StatusNoContent)
		h := history(t, v)
		for _, m := range h {
			if m.From == "business" && m.Status != "delivered" {
				t.Errorf("after seen(read=false): %+v", m)
			}
		}
		e = s4.skip(t, "status")
		if m := e.message(t); m.Status != "delivered" {
			t.Errorf("update event %+v", m)
		}
		v.Do("POST", "/public/v1/seen", map[string]any{"up_to": h[0].ID, "read": true}).Expect(http.StatusNoContent)
		v.Do("POST", "/public/v1/seen", map[string]any{"up_to": h[0].ID, "read": false}).Expect(http.StatusNoContent)
		for _, m := range history(t, v) {
			if m.From == "business" && m.Status != "read" {
				t.Errorf("read must not go back to delivered: %+v", m)
			}
		}

		// A position that is not a number is refused.
		r := v.Do("GET", "/public/v1/stream?since=abc", nil)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("since=abc: %d", r.StatusCode)
		}
	})
}

// metric is the value of an unlabelled metric in /metrics.
func metric(t *testing.T, srv *testrig.Server, name string) string {
	t.Helper()
	for _, line := range strings.Split(string(srv.Anonymous().Do("GET", "/metrics", nil).Expect(http.StatusOK).Body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("/metrics lacks %s", name)
	return ""
}

// TestPublicSilentSessions: a session costs no contact until its visitor
// writes; the first message makes it (with the profile given at the
// start); sessions that never wrote are pruned, and counted meanwhile.
func TestPublicSilentSessions(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, secret := srv.NewWebchatInbox("Site", agent.UserID)

		// Opening the widget starts a session: no contact, no conversation,
		// and what the widget asks for before a first message works.
		quiet := srv.NewVisitor(in.Token, map[string]string{"name": "Quiet"})
		srv.NewVisitor(in.Token, nil)
		if n := countRows(t, d, "contacts"); n != 0 {
			t.Fatalf("two sessions made %d contacts", n)
		}
		if h := history(t, quiet); len(h) != 0 {
			t.Fatalf("history %+v", h)
		}
		quiet.Do("POST", "/public/v1/seen", map[string]any{"up_to": 1, "read": true}).Expect(http.StatusNoContent)

		// The first message makes the contact, with the profile.
		ada := srv.NewVisitor(in.Token, map[string]string{"name": "Ada", "email": "Ada@Example.com"})
		send(ada, "first", "Hello").Expect(http.StatusCreated)
		send(ada, "first", "Hello").Expect(http.StatusOK) // a retry
		send(ada, "second", "Anyone?").Expect(http.StatusCreated)
		var name, email string
		if err := d.QueryRow(t.Context(), `SELECT name, email FROM contacts`).Scan(&name, &email); err != nil || name != "Ada" || email != "ada@example.com" {
			t.Fatalf("contact %q %q, %v", name, email, err)
		}
		if h := history(t, ada); len(h) != 2 {
			t.Fatalf("history %+v", h)
		}

		// A verified person who wrote before is their contact from the
		// start: the new device shows the conversation before writing.
		id := map[string]string{"identifier": "customer-7", "identifier_hash": webchat.Sign(secret, "customer-7")}
		srv.NewVisitor(in.Token, id).Say("From my phone")
		laptop := srv.NewVisitor(in.Token, id)
		if h := history(t, laptop); len(h) != 1 || h[0].Text != "From my phone" {
			t.Fatalf("the laptop sees %+v", h)
		}
		if n := countRows(t, d, "contacts"); n != 2 {
			t.Fatalf("%d contacts, want Ada and customer-7", n)
		}
		if s, silent := metric(t, srv, "switchboard_webchat_sessions"), metric(t, srv, "switchboard_webchat_sessions_silent"); s != "5" || silent != "2" {
			t.Errorf("metrics: %s sessions, %s silent; want 5 and 2", s, silent)
		}

		// Pruning takes the sessions started before the time given that
		// never wrote; the widget then starts a new one.
		if n, err := srv.App.Webchat.PruneSilent(t.Context(), time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("pruned %d younger sessions, %v", n, err)
		}
		if n, err := srv.App.Webchat.PruneSilent(t.Context(), time.Now().Add(time.Minute)); err != nil || n != 2 {
			t.Fatalf("pruned %d, %v; want the 2 silent sessions", n, err)
		}
		quiet.Do("GET", "/public/v1/messages", nil).Expect(http.StatusUnauthorized)
		send(ada, "third", "Still here").Expect(http.StatusCreated)
		laptop.Do("GET", "/public/v1/messages", nil).Expect(http.StatusOK)
		if s, silent := metric(t, srv, "switchboard_webchat_sessions"), metric(t, srv, "switchboard_webchat_sessions_silent"); s != "3" || silent != "0" {
			t.Errorf("metrics after pruning: %s sessions, %s silent; want 3 and 0", s, silent)
		}

		// A visitor whose stream dropped before their first message
		// resumes (Last-Event-ID) with it, then follows their contact.
		z := srv.NewVisitor(in.Token, nil)
		s := openStream(t, srv, z.Token, "", "")
		hello := s.next(t)
		s.stop()
		var zm visitorMessage
		send(z, "z-1", "Z here").Expect(http.StatusCreated).Decode(&zm)
		s = openStream(t, srv, z.Token, "", strconv.FormatInt(hello.ID, 10))
		if m := s.skip(t, "status").message(t); m.ID != zm.ID {
			t.Fatalf("replayed %+v", m)
		}
		var convs agentList
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&convs)
		for _, c := range convs.Items {
			var msgs agentList
			agent.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", c.ID), nil).Expect(http.StatusOK).Decode(&msgs)
			if msgs.Items[0].Text == "Z here" {
				agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", c.ID), map[string]string{"text": "Hello Z"}).Expect(http.StatusCreated)
			}
		}
		if m := s.skip(t, "status").message(t); m.Text != "Hello Z" {
			t.Fatalf("after reconnecting: %+v", m)
		}
		s.stop()

		// A first message whose session was pruned meanwhile leaves
		// nothing behind.
		sess, err := srv.App.Webchat.StartSession(t.Context(), in.Token, webchat.Start{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := srv.App.Webchat.Visitor(t.Context(), sess.Token)
		if err != nil || v.ContactID != 0 {
			t.Fatalf("visitor %+v, %v", v, err)
		}
		if _, err := srv.App.Webchat.PruneSilent(t.Context(), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.App.Webchat.Receive(t.Context(), v, webchat.Send{ID: "late", Text: "Hello?"}); err != webchat.ErrUnknownVisitor {
			t.Fatalf("Receive on a pruned session: %v", err)
		}
		if n := countRows(t, d, "contacts"); n != 3 {
			t.Fatalf("%d contacts after a refused first message", n)
		}
	})
}

// TestPublicUploadQuotas: a visitor, and an address, may keep only so
// many files (and bytes) uploaded and not sent; sending frees them, and
// agents are not counted.
func TestPublicUploadQuotas(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		limits := attachment.DefaultLimits
		limits.PerUploader = attachment.Quota{Files: 2, Bytes: 1 << 20}
		limits.PerClient = attachment.Quota{Files: 3, Bytes: 2 << 20}
		srv := testrig.Start(t, d, testrig.Options{Options: server.Options{Attachments: &limits},
			Config: func(c *config.Config) { c.TrustProxy = true }})
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		const kb = 1 << 10
		upload := func(c *testrig.Client, path, ip string, size int) *testrig.Response {
			t.Helper()
			body, ctype := fileForm(t, "notes.txt", bytes.Repeat([]byte("a"), size))
			return c.Do("POST", path, body, "Content-Type", ctype, "X-Forwarded-For", ip)
		}
		refused := func(r *testrig.Response, status int, says string) {
			t.Helper()
			if r.StatusCode != status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.Body)
			}
			if e := r.Err(); !strings.Contains(e.Message, says) {
				t.Fatalf("message %q, want it to say %q", e.Message, says)
			}
		}
		const office, home = "203.0.113.7", "198.51.100.2"

		// Files: two per visitor, three per address.
		a, b := srv.NewVisitor(in.Token, nil), srv.NewVisitor(in.Token, nil)
		var first, second visitorFileInfo
		upload(a.Client, "/public/v1/attachments", office, 400*kb).Expect(http.StatusCreated).Decode(&first)
		upload(a.Client, "/public/v1/attachments", office, 400*kb).Expect(http.StatusCreated).Decode(&second)
		refused(upload(a.Client, "/public/v1/attachments", office, 400*kb), http.StatusTooManyRequests, "You have 2 files uploaded and not yet sent")
		upload(b.Client, "/public/v1/attachments", office, 400*kb).Expect(http.StatusCreated)
		refused(upload(b.Client, "/public/v1/attachments", office, 10), http.StatusTooManyRequests, "3 files uploaded from your network are not yet sent")

		// Bytes: 1 MB per visitor, 2 MB per address.
		c, e, f := srv.NewVisitor(in.Token, nil), srv.NewVisitor(in.Token, nil), srv.NewVisitor(in.Token, nil)
		upload(c.Client, "/public/v1/attachments", home, 700*kb).Expect(http.StatusCreated)
		refused(upload(c.Client, "/public/v1/attachments", home, 400*kb), http.StatusRequestEntityTooLarge, "may take at most 1 MB: send them")
		upload(e.Client, "/public/v1/attachments", home, 1024*kb).Expect(http.StatusCreated)
		refused(upload(f.Client, "/public/v1/attachments", home, 400*kb), http.StatusRequestEntityTooLarge, "from your network and not yet sent may take at most 2 MB")
		// Full already: refused before the file is read.
		refused(upload(e.Client, "/public/v1/attachments", home, 1), http.StatusRequestEntityTooLarge, "may take at most 1 MB")

		// Sending frees the visitor's and the address's share, and the
		// address is not kept with a sent file.
		send(a, "files", "", first.ID, second.ID).Expect(http.StatusCreated)
		upload(b.Client, "/public/v1/attachments", office, 400*kb).Expect(http.StatusCreated)
		var kept int
		if err := d.QueryRow(t.Context(), `SELECT COUNT(*) FROM attachments WHERE message_id IS NOT NULL AND client_ip IS NOT NULL`).Scan(&kept); err != nil || kept != 0 {
			t.Fatalf("%d sent files keep their address, %v", kept, err)
		}

		// Agents are not counted.
		for range 3 {
			upload(agent, "/api/v1/attachments", office, 400*kb).Expect(http.StatusCreated)
		}
		// What was refused left nothing behind.
		if n := countRows(t, d, "attachments"); n != 2+2+1+1+3 {
			t.Fatalf("%d attachments stored, want the 9 accepted", n)
		}
		n, size := metric(t, srv, "switchboard_attachments_unattached"), metric(t, srv, "switchboard_attachments_unattached_bytes")
		if bytes, _ := strconv.ParseFloat(size, 64); n != "7" || bytes != (400+400+700+1024+3*400)*kb {
			t.Errorf("metrics: %s unattached files of %s bytes", n, size)
		}
	})
}
