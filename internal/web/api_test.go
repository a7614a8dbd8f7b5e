package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// setupConversation gives an agent a conversation with one visitor message.
func setupConversation(t *testing.T, srv *testrig.Server, role policy.Role) (*testrig.Client, int64) {
	t.Helper()
	agent := srv.NewUser(fmt.Sprintf("%s-%d@example.com", role, len(t.Name())), role)
	in, _ := srv.NewWebchatInbox("Site", agent.UserID)
	srv.NewVisitor(in.Token, nil).Say("hello")
	var list page[conv]
	agent.Do("GET", "/api/v1/conversations?inbox_id="+strconv.FormatInt(in.ID, 10), nil).Expect(200).Decode(&list)
	if len(list.Items) != 1 {
		t.Fatalf("conversations: %+v", list.Items)
	}
	return agent, list.Items[0].ID
}

func countMessages(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(t.Context(), `SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBadInput sends the kinds of broken requests clients send and checks
// each gets a clear 4xx, and nothing is stored half-way.
func TestBadInput(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent, cid := setupConversation(t, srv, policy.Service)
		send := fmt.Sprintf("/api/v1/conversations/%d/messages", cid)
		before := countMessages(t, d)

		cases := []struct {
			name   string
			body   any
			header []string
			status int
			code   string
			field  string
		}{
			{"malformed JSON", []byte(`{"text": "hi"`), nil, 400, "bad_request", ""},
			{"not an object", []byte(`["hi"]`), nil, 400, "bad_request", ""},
			{"two values", []byte(`{"text":"a"} {"text":"b"}`), nil, 400, "bad_request", ""},
			{"empty body", []byte(``), nil, 400, "bad_request", ""},
			{"invalid UTF-8", []byte("{\"text\": \"caf\xe9\"}"), nil, 400, "bad_request", ""},
			{"unknown field", []byte(`{"txt": "hi"}`), nil, 400, "bad_request", ""},
			{"wrong type", []byte(`{"text": 12}`), nil, 422, "validation_failed", "text"},
			{"wrong media type", []byte(`text=hi`), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
			{"empty text", map[string]any{"text": "   "}, nil, 422, "validation_failed", "text"},
			{"text too long", map[string]any{"text": strings.Repeat("é", 4097)}, nil, 422, "validation_failed", "text"},
			{"body too large", []byte(`{"text": "` + strings.Repeat("a", 1<<20) + `"}`), nil, 413, "too_large", ""},
			{"unknown attachment", map[string]any{"text": "see file", "attachments": []int64{424242}}, nil, 422, "validation_failed", "attachments"},
		}
		for _, tc := range cases {
			r := agent.Do("POST", send, tc.body, tc.header...)
			if r.StatusCode != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.StatusCode, tc.status, r.Body)
				continue
			}
			e := r.Err()
			if e.Code != tc.code || e.Message == "" {
				t.Errorf("%s: error %+v, want code %s and a message", tc.name, e, tc.code)
			}
			if tc.field != "" && e.Fields[tc.field] == "" {
				t.Errorf("%s: no message for field %s: %+v", tc.name, tc.field, e)
			}
		}
		if after := countMessages(t, d); after != before {
			t.Fatalf("refused requests stored %d messages", after-before)
		}
		// Exactly 4096 characters is fine.
		agent.Do("POST", send, map[string]any{"text": strings.Repeat("é", 4096)}).Expect(201)

		// Other endpoints: not found, bad ids, bad filters, per-field errors.
		agent.Do("GET", "/api/v1/conversations/999999", nil).Expect(404)
		agent.Do("GET", "/api/v1/conversations/abc", nil).Expect(404)
		agent.Do("GET", "/api/v1/nothing-here", nil).Expect(404)
		if e := agent.Do("GET", "/api/v1/conversations?status=pending&limit=0", nil).Expect(422).Err(); e.Fields["status"] == "" || e.Fields["limit"] == "" {
			t.Errorf("list filters: %+v", e)
		}
		agent.Do("GET", "/api/v1/conversations?cursor=not-a-cursor!", nil).Expect(422)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		e := admin.Do("POST", "/api/v1/users", map[string]any{"email": "not-an-email", "name": "", "role": "boss", "password": "short"}).Expect(422).Err()
		for _, f := range []string{"email", "name", "role", "password"} {
			if e.Fields[f] == "" {
				t.Errorf("create user: no message for %s: %+v", f, e.Fields)
			}
		}
		admin.Do("POST", "/api/v1/users", map[string]any{"email": "admin@example.com", "name": "Again", "role": "admin", "password": "long enough password"}).Expect(422)
		if e := admin.Do("POST", "/api/v1/inboxes", map[string]any{"type": "fax", "name": ""}).Expect(422).Err(); e.Fields["type"] == "" || e.Fields["name"] == "" {
			t.Errorf("create inbox: %+v", e.Fields)
		}
		if e := agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", cid), map[string]any{"assignee_id": 99999}).Expect(422).Err(); e.Fields["assignee_id"] == "" {
			t.Errorf("assign to nobody: %+v", e)
		}
	})
}

// TestUploads checks what the attachment endpoint accepts.
func TestUploads(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	agent, cid := setupConversation(t, srv, policy.Service)
	form := func(name string, content []byte) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(content)
		mw.Close()
		return &b, mw.FormDataContentType()
	}
	body, ct := form("pixel.png", onePixelPNG)
	var att struct {
		ID          int64  `json:"id"`
		ContentType string `json:"content_type"`
	}
	agent.Do("POST", "/api/v1/attachments", body, "Content-Type", ct).Expect(201).Decode(&att)
	if att.ContentType != "image/png" {
		t.Errorf("content type %q", att.ContentType)
	}
	// An HTML page named .png is refused by its content.
	body, ct = form("evil.png", []byte("<html><script>alert(1)</script></html>"))
	agent.Do("POST", "/api/v1/attachments", body, "Content-Type", ct).Expect(415)
	// Too large.
	big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 21<<20)...)
	body, ct = form("big.pdf", big)
	agent.Do("POST", "/api/v1/attachments", body, "Content-Type", ct).Expect(413)
	// Not multipart.
	agent.Do("POST", "/api/v1/attachments", []byte(`{}`)).Expect(415)

	// Sent with a message, it is served back with safe headers.
	var m struct {
		Type        string `json:"type"`
		Attachments []struct {
			ID int64 `json:"id"`
		} `json:"attachments"`
	}
	agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", cid), map[string]any{"attachments": []int64{att.ID}}).Expect(201).Decode(&m)
	if m.Type != "image" || len(m.Attachments) != 1 {
		t.Fatalf("message with image: %+v", m)
	}
	r := agent.Do("GET", fmt.Sprintf("/api/v1/attachments/%d", att.ID), nil).Expect(200)
	if !bytes.Equal(r.Body, onePixelPNG) || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download headers %v", r.Header)
	}
	// Used once only.
	agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", cid), map[string]any{"attachments": []int64{att.ID}}).Expect(422)
	// Someone who cannot see the conversation cannot download it.
	outsider := srv.NewUser("outsider@example.com", policy.Service)
	outsider.Do("GET", fmt.Sprintf("/api/v1/attachments/%d", att.ID), nil).Expect(404)
}

// TestLoginThrottle checks that repeated failures slow an account down,
// with Retry-After, and that a token is refused once revoked.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		anon := srv.Anonymous()
		wrong := map[string]string{"email": "agent@example.com", "password": "not the password"}
		for i := range 5 {
			if r := anon.Do("POST", "/api/v1/auth/login", wrong); r.StatusCode != 401 {
				t.Fatalf("failure %d: %d %s", i+1, r.StatusCode, r.Body)
			}
		}
		// The sixth failure starts the delay; then even the right password waits.
		anon.Do("POST", "/api/v1/auth/login", wrong).Expect(401)
		r := anon.Do("POST", "/api/v1/auth/login", map[string]string{"email": "agent@example.com", "password": testrig.Password}).Expect(429)
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}

		// Tokens: shown once, work until revoked.
		var tok struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		agent.Do("POST", "/api/v1/tokens", map[string]string{"name": "ci"}).Expect(201).Decode(&tok)
		withToken := srv.Anonymous()
		withToken.Token = tok.Token
		withToken.Do("GET", "/api/v1/me", nil).Expect(200)
		var list []map[string]any
		agent.Do("GET", "/api/v1/tokens", nil).Expect(200).Decode(&list)
		if len(list) != 1 || list[0]["token"] != nil {
			t.Fatalf("token list shows %v", list)
		}
		agent.Do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil).Expect(204)
		withToken.Do("GET", "/api/v1/me", nil).Expect(401)
		withToken.Token = tok.Token[:len(tok.Token)-1] + "x"
		withToken.Do("GET", "/api/v1/me", nil).Expect(401)
		withToken.Token = ""
		withToken.Do("GET", "/api/v1/me", nil, "Authorization", "Basic abc").Expect(401)
	})
}

// TestInternalErrorsAreOpaque checks that an unexpected failure answers
// 500 with a request id and no internals.
func TestInternalErrorsAreOpaque(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	srv := testrig.Start(t, d)
	agent, _ := setupConversation(t, srv, policy.Admin)
	d.Close() // every query now fails
	r := agent.Do("GET", "/api/v1/conversations", nil).Expect(500)
	e := r.Err()
	if e.Code != "internal" || !strings.Contains(e.Message, r.Header.Get("X-Request-Id")) || strings.Contains(string(r.Body), "sql") {
		t.Fatalf("500 body %s", r.Body)
	}
}
