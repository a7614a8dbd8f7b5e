package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// The text rule at the boundaries: NUL (which PostgreSQL refuses in text),
// the other control characters but tab and line breaks, and invalid UTF-8
// are refused with 422 naming the field, on both engines alike, before
// anything is written and without an error in the log.

// storedRows counts the rows of the tables refused requests could touch.
func storedRows(t *testing.T, d *db.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"messages", "conversations", "contacts", "contact_identities", "contact_tags", "users", "teams", "sessions", "api_tokens", "jobs", "webchat_visitors", "conversation_tags", "login_attempts"} {
		fmt.Fprintf(&b, "%s=%d ", table, countRows(t, d, table))
	}
	return b.String()
}

// TestControlCharactersRefused: one request per input path — the visitor's
// API, signing in, the agent's API, query parameters and path values.
func TestControlCharactersRefused(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin, cid := setupConversation(t, srv, policy.Admin)
		var c struct {
			ContactID int64 `json:"contact_id"`
		}
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", cid), nil).Expect(200).Decode(&c)
		in, _ := srv.NewWebchatInbox("Chat", admin.UserID)
		visitor := srv.NewVisitor(in.Token, nil)
		anon := srv.Anonymous()
		sessions := "/public/v1/inboxes/" + in.Token + "/sessions"
		contact := fmt.Sprintf("/api/v1/contacts/%d", c.ContactID)
		reply := fmt.Sprintf("/api/v1/conversations/%d/messages", cid)
		before := storedRows(t, d)

		cases := []struct {
			name         string
			who          *testrig.Client
			method, path string
			body         any
			field        string
		}{
			{"visitor message", visitor.Client, "POST", "/public/v1/messages", map[string]string{"id": "m-1", "text": "hello\x00world"}, "text"},
			{"visitor message with an escape", visitor.Client, "POST", "/public/v1/messages", map[string]string{"id": "m-2", "text": "\x1b[31mred"}, "text"},
			{"visitor message id", visitor.Client, "POST", "/public/v1/messages", map[string]string{"id": "m\x00", "text": "hi"}, "id"},
			{"visitor name", anon, "POST", sessions, map[string]string{"name": "Ada\x00 Lovelace"}, "name"},
			{"visitor email", anon, "POST", sessions, map[string]string{"email": "ada\x00@example.com"}, "email"},
			{"visitor identifier", anon, "POST", sessions, map[string]string{"identifier": "user\x00", "identifier_hash": "00"}, "identifier"},
			{"login email", anon, "POST", "/api/v1/auth/login", map[string]string{"email": "admin\x00@example.com", "password": testrig.Password}, "email"},
			{"login password", anon, "POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "correct\x00horse"}, "password"},
			{"contact name", admin, "PATCH", contact, map[string]string{"name": "Ada\x00"}, "name"},
			{"contact phone", admin, "PATCH", contact, map[string]string{"phone": "+1 555\x07"}, "phone"},
			{"a contact's second tag", admin, "PATCH", contact, map[string]any{"tags": []string{"vip", "late\x00"}}, "tags.1"},
			{"conversation reply", admin, "POST", reply, map[string]string{"text": "On it\x00"}, "text"},
			{"reply's idempotency key", admin, "POST", reply, map[string]string{"text": "On it", "idempotency_key": "k\x00"}, "idempotency_key"},
			{"new user's name", admin, "POST", "/api/v1/users", map[string]any{"email": "cy@example.com", "name": "Cy\x00", "role": "service", "password": "long enough password"}, "name"},
			{"team name", admin, "POST", "/api/v1/teams", map[string]string{"name": "Night\x0cshift"}, "name"},
			{"public name", admin, "PATCH", "/api/v1/me", map[string]string{"public_name": "Ad\x00"}, "public_name"},
			{"token name", admin, "POST", "/api/v1/tokens", map[string]string{"name": "ci\x00"}, "name"},
			{"contact search", admin, "GET", "/api/v1/contacts?q=ada%00", nil, "q"},
			{"contact search, not UTF-8", admin, "GET", "/api/v1/contacts?q=caf%E9", nil, "q"},
			{"tag filter", admin, "GET", "/api/v1/conversations?tag=%1B", nil, "tag"},
			{"tag in the path", admin, "DELETE", fmt.Sprintf("/api/v1/conversations/%d/tags/vip%%00", cid), nil, "tag"},
			{"inbox token in the path", anon, "GET", "/public/v1/inboxes/abc%00", nil, "token"},
		}
		for _, tc := range cases {
			r := tc.who.Do(tc.method, tc.path, tc.body)
			if r.StatusCode != 422 {
				t.Errorf("%s: status %d, want 422: %s", tc.name, r.StatusCode, r.Body)
				continue
			}
			e := r.Err()
			if e.Code != "validation_failed" || len(e.Fields) != 1 {
				t.Errorf("%s: %+v, want one field refused", tc.name, e)
			}
			if m := e.Fields[tc.field]; !strings.Contains(m, "control character") && !strings.Contains(m, "UTF-8") {
				t.Errorf("%s: field %s says %q", tc.name, tc.field, m)
			}
		}
		if after := storedRows(t, d); after != before {
			t.Errorf("refused requests wrote:\n before %s\n after  %s", before, after)
		}
		if errs := srv.Errors(); len(errs) > 0 {
			t.Errorf("refused requests logged errors:\n%s", strings.Join(errs, "\n"))
		}

		// Tabs and line breaks, CRLF included, are text.
		var m visitorMessage
		visitor.Do("POST", "/public/v1/messages", map[string]string{"id": "m-3", "text": "one\r\ntwo\tthree\nfour"}).Expect(201).Decode(&m)
		if m.Text != "one\r\ntwo\tthree\nfour" {
			t.Errorf("stored %q", m.Text)
		}
		admin.Do("POST", reply, map[string]string{"text": "Line one\r\nLine two"}).Expect(201)
	})
}

// TestControlCharactersInForms: the workspace's forms refuse the same,
// showing the message where the person looks (next to the field, or at
// the top of a form without fields to point at), and nothing is written;
// a textarea's CRLF line breaks are fine.
func TestControlCharactersInForms(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		const msg = "This contains an invisible control character (U+0000); remove it."
		shows := func(name string, r *testrig.Response, status int) {
			t.Helper()
			if r.StatusCode != status {
				t.Errorf("%s: status %d, want %d: %s", name, r.StatusCode, status, r.Body)
			} else if !strings.Contains(htmlUnescape(string(r.Body)), msg) {
				t.Errorf("%s: the page does not say what is wrong:\n%s", name, r.Body)
			}
		}
		// The first run's setup page.
		shows("setup", form(srv.Anonymous(), "/setup", url.Values{"name": {"Ada\x00"}, "email": {"ada@example.com"}, "password": {"long enough password"}}), 422)
		if n := countRows(t, d, "users"); n != 0 {
			t.Fatalf("setup created %d users", n)
		}

		admin, cid := setupConversation(t, srv, policy.Admin)
		before := storedRows(t, d)
		shows("sign-in", form(srv.Anonymous(), "/login", url.Values{"email": {"admin\x00@example.com"}, "password": {testrig.Password}}), 422)
		shows("new team", form(admin, "/admin/teams", url.Values{"name": {"Night\x00"}}), 422)
		if got := fieldError(form(admin, "/admin/teams", url.Values{"name": {"Night\x00"}}).Body, "name"); got != msg {
			t.Errorf("new team: the message next to the name is %q", got)
		}
		shows("new user", form(admin, "/admin/users", url.Values{"email": {"cy@example.com"}, "first_name": {"Cy\x00"}, "role": {"service"}, "password": {"long enough password"}}), 422)
		shows("profile", form(admin, "/preferences", url.Values{"first_name": {"Admin\x00"}, "language": {"en"}}), 422)
		shows("API token", form(admin, "/settings/tokens", url.Values{"name": {"ci\x00"}}), 422)
		htmx := func(path string, v url.Values) *testrig.Response {
			return admin.Do("POST", path, strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Origin", admin.Base, "HX-Request", "true")
		}
		conv := fmt.Sprintf("/inbox/conversations/%d", cid)
		shows("composer", htmx(conv+"/messages", url.Values{"text": {"On it\x00"}, "idempotency_key": {"k-1"}}), 422)
		shows("contact form", htmx(conv+"/contact", url.Values{"name": {"Ada\x00"}}), 422)
		shows("add a tag", htmx(conv+"/tags", url.Values{"tag": {"vip\x00"}}), 422)
		// A form whose fields are not shown says it in the notice area.
		shows("assign", htmx(conv+"/assign", url.Values{"assignee_id": {"me\x00"}}), 422)
		if after := storedRows(t, d); after != before {
			t.Errorf("refused forms wrote:\n before %s\n after  %s", before, after)
		}
		if errs := srv.Errors(); len(errs) > 0 {
			t.Errorf("refused forms logged errors:\n%s", strings.Join(errs, "\n"))
		}

		// The browser posts a textarea's line breaks as CRLF.
		htmx(conv+"/messages", url.Values{"text": {"Line one\r\nLine two"}, "idempotency_key": {"k-2"}}).Expect(200)
	})
}

// TestHeadersStoredSafely: a User-Agent is the browser's and is not
// refused: bytes that are not UTF-8, or a long one cut in the middle of a
// character, are stored as text PostgreSQL accepts.
func TestHeadersStoredSafely(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		srv.NewUser("ana@example.com", policy.Service)
		for _, ua := range []string{"Mozilla/5.0 \xff\xfe", strings.Repeat("a", 299) + "é"} {
			c := srv.Anonymous()
			c.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}, "User-Agent", ua).Expect(200)
			var ss []struct {
				UserAgent string `json:"user_agent"`
			}
			c.Do("GET", "/api/v1/me/sessions", nil).Expect(200).Decode(&ss)
			if len(ss) == 0 || ss[0].UserAgent == "" {
				t.Errorf("sessions %+v", ss)
			}
		}
		if errs := srv.Errors(); len(errs) > 0 {
			t.Errorf("sign-in logged errors:\n%s", strings.Join(errs, "\n"))
		}
	})
}

// FuzzVisitorText posts arbitrary text as a visitor's message and name on
// each engine: the answer is 201, or 422 naming the field, never a server
// error; what is stored is what was sent, and a refused message stores
// nothing. The seed corpus (control characters, invalid UTF-8, line
// breaks) runs with the other tests; to fuzz, use PostgreSQL:
//
//	SWITCHBOARD_FUZZ_POSTGRES=1 go test -run XXX -fuzz FuzzVisitorText ./internal/web
func FuzzVisitorText(f *testing.F) {
	type node struct {
		engine, url, inbox string
		d                  *db.DB
		srv                *testrig.Server
	}
	var nodes []node
	for _, e := range dbtest.FuzzEngines(f) {
		srv := testrig.Start(f, e.DB)
		in, _ := srv.NewWebchatInbox("Fuzz")
		nodes = append(nodes, node{engine: e.Name, url: srv.URL, inbox: in.Token, d: e.DB, srv: srv})
	}
	for _, s := range []string{"hello", "a\x00b", "\x00", "\x1b[31mred", "tab\there", "one\r\ntwo", "lone\rCR", "\x7f\u0085", "caf\xe9", "\xff\xfe", "👋 ¡hola!"} {
		f.Add(s)
	}
	for b := range byte(0x20) {
		f.Add("x" + string(rune(b)) + "y")
	}
	post := func(t *testing.T, url, token string, body map[string]string) (int, []byte) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, s string) {
		for _, nd := range nodes {
			// A visitor of their own for each input (visitors' sends are
			// paced), named with it when the rule lets the name through.
			var sess struct {
				Token string `json:"token"`
			}
			status, out := post(t, nd.url+"/public/v1/inboxes/"+nd.inbox+"/sessions", "", map[string]string{"name": s})
			if status == 422 {
				status, out = post(t, nd.url+"/public/v1/inboxes/"+nd.inbox+"/sessions", "", map[string]string{})
			}
			if status != 201 {
				t.Fatalf("%s: name %q: status %d: %s", nd.engine, s, status, out)
			}
			json.Unmarshal(out, &sess)
			var before int
			nd.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM messages`).Scan(&before)
			status, out = post(t, nd.url+"/public/v1/messages", sess.Token, map[string]string{"id": fmt.Sprintf("f-%d", n.Add(1)), "text": s})
			switch status {
			case 201:
				// JSON carries only UTF-8: the encoder replaced the rest.
				var sent, m visitorMessage
				b, _ := json.Marshal(map[string]string{"text": s})
				json.Unmarshal(b, &sent)
				if json.Unmarshal(out, &m); m.Text != sent.Text {
					t.Fatalf("%s: sent %q, stored %q", nd.engine, sent.Text, m.Text)
				}
			case 422:
				var e struct {
					Error testrig.Error `json:"error"`
				}
				if json.Unmarshal(out, &e); e.Error.Fields["text"] == "" {
					t.Fatalf("%s: %q refused without naming the text: %s", nd.engine, s, out)
				}
				var after int
				nd.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM messages`).Scan(&after)
				if after != before {
					t.Fatalf("%s: a refused message was stored", nd.engine)
				}
			default:
				t.Fatalf("%s: %q: status %d: %s", nd.engine, s, status, out)
			}
			if errs := nd.srv.Errors(); len(errs) > 0 {
				t.Fatalf("%s: errors logged:\n%s", nd.engine, strings.Join(errs, "\n"))
			}
		}
	})
}
