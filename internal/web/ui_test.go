package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

var everyone = []string{"admin", "inbox_manager", "service", "sales"}

// pageAccess is who may use each workspace route, written out by hand
// from the product's rules like apiAccess.
var pageAccess = map[string][]string{
	"GET /{$}":                 {"public"},
	"GET /setup":               {"public"},
	"POST /setup":              {"public"},
	"GET /login":               {"public"},
	"POST /login":              {"public"},
	"POST /logout":             everyone,
	"GET /static/{file...}":    {"public"},
	"GET /widget/demo/{token}": {"public"},

	"GET /inbox":                                       everyone,
	"GET /inbox/list":                                  everyone,
	"GET /inbox/rows/{id}":                             everyone,
	"GET /inbox/conversations/{id}":                    everyone,
	"GET /inbox/conversations/{id}/head":               everyone,
	"GET /inbox/conversations/{id}/messages":           everyone,
	"GET /inbox/conversations/{id}/messages/{message}": everyone,
	"GET /inbox/conversations/{id}/activities":         everyone,
	"GET /inbox/conversations/{id}/earlier":            everyone,
	"GET /inbox/conversations/{id}/contact":            everyone,
	"POST /inbox/conversations/{id}/messages":          everyone,
	"POST /inbox/conversations/{id}/close":             everyone,
	"POST /inbox/conversations/{id}/reopen":            everyone,
	"POST /inbox/conversations/{id}/tags":              everyone,
	"POST /inbox/conversations/{id}/tags/remove":       everyone,
	"POST /inbox/conversations/{id}/assign":            {"admin", "inbox_manager", "service"},
	"GET /inbox/queue":                                 {"admin", "inbox_manager", "service"},
	"POST /inbox/conversations/{id}/claim":             {"admin", "inbox_manager", "service"},
	"GET /inbox/conversations/{id}/transfer":           {"admin", "inbox_manager", "service"},
	"POST /inbox/conversations/{id}/transfer":          {"admin", "inbox_manager", "service"},
	"POST /inbox/conversations/{id}/handoff":           {"admin", "inbox_manager", "service"},
	// Inbox managers work conversations, not contacts.
	"POST /inbox/conversations/{id}/contact": {"admin", "service", "sales"},

	"GET /admin/inboxes":                    {"admin"},
	"GET /admin/inboxes/new":                {"admin"},
	"POST /admin/inboxes":                   {"admin"},
	"GET /admin/inboxes/{id}":               {"admin"},
	"POST /admin/inboxes/{id}":              {"admin"},
	"POST /admin/inboxes/{id}/secret":       {"admin"},
	"GET /admin/inboxes/{id}/created":       {"admin"},
	"POST /admin/inboxes/{id}/archive":      {"admin"},
	"POST /admin/users/{id}/deactivate":     {"admin"},
	"POST /admin/users/{id}/reactivate":     {"admin"},
	"POST /admin/users/{id}/password-reset": {"admin"},
	"GET /login/forgot":                     {"public"},
	"POST /login/forgot":                    {"public"},
	"GET /password-reset/{token}":           {"public"},
	"POST /password-reset/{token}":          {"public"},
	"GET /admin/users":                      {"admin"},
	"GET /admin/users/new":                  {"admin"},
	"POST /admin/users":                     {"admin"},
	"GET /admin/users/{id}":                 {"admin"},
	"POST /admin/users/{id}":                {"admin"},
	"POST /admin/users/{id}/email":          {"admin"},
	"POST /admin/users/{id}/email/cancel":   {"admin"},

	"GET /settings/tokens":              everyone,
	"POST /settings/tokens":             everyone,
	"POST /settings/tokens/{id}/revoke": everyone,

	// People.
	"GET /login/code":                        {"public"},
	"POST /login/code":                       {"public"},
	"POST /login/code/resend":                {"public"},
	"GET /invitations/{token}":               {"public"},
	"POST /invitations/{token}":              {"public"},
	"GET /email-change/{token}":              {"public"},
	"POST /email-change/{token}":             {"public"},
	"GET /avatars/{id}":                      everyone,
	"POST /preferences/status":               everyone,
	"GET /preferences":                       everyone,
	"POST /preferences":                      everyone,
	"POST /preferences/avatar":               everyone,
	"POST /preferences/avatar/delete":        everyone,
	"GET /preferences/phone":                 everyone,
	"POST /preferences/phone":                everyone,
	"POST /preferences/phone/verify":         everyone,
	"POST /preferences/phone/resend":         everyone,
	"POST /preferences/phone/cancel":         everyone,
	"GET /preferences/security":              everyone,
	"POST /preferences/password":             everyone,
	"POST /preferences/sessions/{id}/revoke": everyone,
	"POST /preferences/two-factor":           everyone,
	"POST /preferences/two-factor/verify":    everyone,
	"POST /preferences/two-factor/resend":    everyone,
	"POST /preferences/two-factor/cancel":    everyone,
	"GET /preferences/notifications":         everyone,
	"POST /preferences/notifications":        everyone,
	"GET /preferences/settings":              everyone,
	"POST /preferences/settings":             everyone,
	// Canned responses: everyone's own, and the company presets (which
	// the handlers keep to admins to change).
	"GET /preferences/canned":                             everyone,
	"GET /preferences/canned/presets":                     everyone,
	"GET /preferences/canned/new":                         everyone,
	"POST /preferences/canned":                            everyone,
	"POST /preferences/canned/preview":                    everyone,
	"GET /preferences/canned/{id}":                        everyone,
	"POST /preferences/canned/{id}":                       everyone,
	"POST /preferences/canned/{id}/delete":                everyone,
	"GET /preferences/canned/{id}/file":                   everyone,
	"GET /inbox/conversations/{id}/canned":                everyone,
	"POST /inbox/conversations/{id}/canned/{canned}/file": everyone,
	"GET /admin/invitations":                              {"admin"},
	"POST /admin/invitations":                             {"admin"},
	"POST /admin/invitations/{id}/resend":                 {"admin"},
	"POST /admin/invitations/{id}/revoke":                 {"admin"},
	"POST /admin/security":                                {"admin"},
	"GET /admin/teams":                                    {"admin"},
	"POST /admin/teams":                                   {"admin"},
	"GET /admin/teams/{id}":                               {"admin"},
	"POST /admin/teams/{id}":                              {"admin"},
	"POST /admin/teams/{id}/delete":                       {"admin"},
	"GET /admin/inboxes/{id}/assignment":                  {"admin"},
	"POST /admin/inboxes/{id}/assignment":                 {"admin"},
	// Personal welcome messages: everyone who is assigned conversations.
	"GET /preferences/welcome-messages":              everyone,
	"GET /preferences/welcome-messages/new":          everyone,
	"POST /preferences/welcome-messages":             everyone,
	"GET /preferences/welcome-messages/{id}":         everyone,
	"POST /preferences/welcome-messages/{id}":        everyone,
	"POST /preferences/welcome-messages/{id}/switch": everyone,
	"POST /preferences/welcome-messages/{id}/delete": everyone,
	// Bots are admins'.
	"GET /admin/bots":              {"admin"},
	"GET /admin/bots/new":          {"admin"},
	"POST /admin/bots":             {"admin"},
	"GET /admin/bots/{id}":         {"admin"},
	"POST /admin/bots/{id}":        {"admin"},
	"GET /admin/bots/{id}/created": {"admin"},
	"POST /admin/bots/{id}/rotate": {"admin"},
	"POST /admin/bots/{id}/delete": {"admin"},
	// WhatsApp: the number's page is admins'; the composer, templates and
	// new conversations are everyone's who works conversations.
	"GET /admin/inboxes/new/whatsapp":                  {"admin"},
	"POST /admin/inboxes/whatsapp":                     {"admin"},
	"POST /admin/inboxes/{id}/whatsapp/test":           {"admin"},
	"POST /admin/inboxes/{id}/whatsapp/templates/sync": {"admin"},
	"POST /admin/inboxes/{id}/whatsapp/ice-breakers":   {"admin"},
	"POST /inbox/conversations/{id}/whatsapp":          everyone,
	"GET /inbox/conversations/{id}/whatsapp/template":  everyone,
	"GET /inbox/new":          everyone,
	"POST /inbox/new":         everyone,
	"POST /inbox/new/start":   everyone,
	"GET /inbox/new/template": everyone,
	// The contacts page: inbox managers work conversations, not
	// contacts; imports are admins'.
	"GET /contacts":         {"admin", "service", "sales"},
	"GET /contacts/{id}":    {"admin", "service", "sales"},
	"POST /contacts/{id}":   {"admin", "service", "sales"},
	"GET /contacts/import":  {"admin"},
	"POST /contacts/import": {"admin"},
	// Reports are a supervisor's: inbox managers see conversations only.
	"GET /admin/reports/time-in-status":           {"admin"},
	"GET /admin/reports/time-in-status.csv":       {"admin"},
	"GET /admin/inboxes/{id}/automation":          {"admin"},
	"POST /admin/inboxes/{id}/automation":         {"admin"},
	"POST /admin/inboxes/{id}/automation/preview": {"admin"},
	"GET /admin/reports/satisfaction":             {"admin"},
	"GET /admin/reports/satisfaction.csv":         {"admin"},
}

// TestPageRoleMatrix calls every workspace route as every role and as
// nobody: the roles listed get through, the others get 403, and nobody
// is sent to the login page.
func TestPageRoleMatrix(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { pageRoleMatrix(t, d) })
}

func pageRoleMatrix(t *testing.T, d *db.DB) {
	srv := testrig.Start(t, d)
	roles := map[string]*testrig.Client{}
	for _, r := range policy.Roles {
		roles[string(r)] = srv.NewUser(string(r)+"@example.com", r)
	}
	var ids []int64
	for _, c := range roles {
		ids = append(ids, c.UserID)
	}
	in, _ := srv.NewWebchatInbox("Site", ids...)
	admin := roles["admin"]
	// Each role gets a conversation of its own, assigned to it, so the
	// sales agent may see what it calls.
	convOf := map[string]int64{}
	msgOf := map[string]int64{}
	tokenOf := map[string]int64{}
	contactOf := map[string]int64{}
	for name, c := range roles {
		msgOf[name] = srv.NewVisitor(in.Token, map[string]string{"name": "Customer of " + name}).Say("hello")
		var list page[conv]
		admin.Do("GET", "/api/v1/conversations?assignee=none&limit=1", nil).Expect(http.StatusOK).Decode(&list)
		convOf[name] = list.Items[0].ID
		var withContact struct {
			ContactID int64 `json:"contact_id"`
		}
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", convOf[name]), nil).Expect(http.StatusOK).Decode(&withContact)
		contactOf[name] = withContact.ContactID
		admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", convOf[name]), map[string]any{"assignee_id": c.UserID}).Expect(http.StatusOK)
	}
	spareInbox, _ := srv.NewWebchatInbox("Spare")
	anon := srv.Anonymous()

	routes := srv.App.Web.Routes()
	// Signing out ends the session the other calls use: do it last.
	sort.SliceStable(routes, func(i, j int) bool { return routes[j].Path == "/logout" && routes[i].Path != "/logout" })
	seen := map[string]bool{}
	for _, rt := range routes {
		if rt.API || rt.Path == "/widget.js" || rt.Path == "/healthz" || rt.Path == "/readyz" || rt.Path == "/metrics" || strings.HasPrefix(rt.Path, "/public/") {
			continue
		}
		key := rt.Method + " " + rt.Path
		allowed, ok := pageAccess[key]
		if !ok {
			t.Errorf("page route %s has no entry in pageAccess: add who may use it", key)
			continue
		}
		seen[key] = true
		if len(allowed) == 1 && allowed[0] == "public" {
			continue
		}
		callers := map[string]*testrig.Client{"anonymous": anon}
		for name, c := range roles {
			callers[name] = c
		}
		for name, c := range callers {
			who := name
			if who == "anonymous" {
				who = "admin" // the path of someone's things
			}
			if strings.Contains(rt.Path, "/tokens/{id}") && name != "anonymous" {
				var tok struct {
					ID int64 `json:"id"`
				}
				c.Do("POST", "/api/v1/tokens", map[string]string{"name": "matrix"}).Expect(http.StatusCreated).Decode(&tok)
				tokenOf[name] = tok.ID
			}
			inboxID := in.ID
			if strings.HasSuffix(rt.Path, "/archive") {
				inboxID = spareInbox.ID // archived, it takes nothing more
			}
			id := pick(rt.Path, convOf[who], inboxID, roles[who].UserID, tokenOf[name])
			if strings.HasPrefix(rt.Path, "/contacts/{id}") {
				id = contactOf[who]
			}
			path := strings.NewReplacer(
				"{id}", fmt.Sprint(id),
				"{message}", fmt.Sprint(msgOf[who]),
				"{$}", "",
			).Replace(rt.Path)
			var body any
			if rt.Method == "POST" {
				body = strings.NewReader(url.Values{"text": {"hi"}, "tag": {"x"}}.Encode())
			}
			resp := c.Do(rt.Method, path, body, "Content-Type", "application/x-www-form-urlencoded")
			// Signing out ends at the login page too, but by design.
			atLogin := resp.Request.URL.Path == "/login" && (name == "anonymous" || rt.Path != "/logout")
			switch {
			case name == "anonymous":
				if !atLogin {
					t.Errorf("%s as nobody: %d at %s, want the login page", key, resp.StatusCode, resp.Request.URL.Path)
				}
			case slices.Contains(allowed, name):
				if resp.StatusCode == http.StatusForbidden || atLogin || resp.StatusCode >= 500 {
					t.Errorf("%s as %s: %d at %s, want it allowed", key, name, resp.StatusCode, resp.Request.URL.Path)
				}
			default:
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s as %s: %d, want 403", key, name, resp.StatusCode)
				}
			}
		}
	}
	for key := range pageAccess {
		if !seen[key] {
			t.Errorf("pageAccess lists %s, which is not a route", key)
		}
	}
}

// pick chooses the id for a path: a conversation, an inbox, a user or a
// token.
func pick(path string, conv, inbox, user, token int64) int64 {
	switch {
	case strings.HasPrefix(path, "/admin/inboxes/"):
		return inbox
	case strings.HasPrefix(path, "/admin/users/"):
		return user
	case strings.HasPrefix(path, "/preferences/sessions/"):
		return 999999 // someone else's session: never the caller's own
	case strings.HasPrefix(path, "/settings/tokens/"):
		return token
	}
	return conv
}

// TestLiveFragments checks the fragments app.js fetches on events: a row
// as the view shows it (or 204 when the view does not include it), a
// message, and that customer text is escaped in both.
func TestLiveFragments(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { liveFragments(t, d) })
}

func liveFragments(t *testing.T, d *db.DB) {
	srv := testrig.Start(t, d)
	ana := srv.NewUser("ana@example.com", policy.Service)
	sam := srv.NewUser("sam@example.com", policy.Sales)
	in, _ := srv.NewWebchatInbox("Site", ana.UserID, sam.UserID)
	mid := srv.NewVisitor(in.Token, map[string]string{"name": "<i>Eve</i>"}).Say(`<b onmouseover="x()">hi</b>`)
	var list page[conv]
	ana.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
	id := list.Items[0].ID
	hx := []string{"HX-Request", "true"}

	row := ana.Do("GET", fmt.Sprintf("/inbox/rows/%d?view=unassigned&status=open", id), nil, hx...).Expect(http.StatusOK)
	body := string(row.Body)
	for _, want := range []string{`id="row-` + fmt.Sprint(id) + `"`, `class="row unread"`, "&lt;b onmouseover=&#34;x()&#34;&gt;hi&lt;/b&gt;", "&lt;i&gt;Eve&lt;/i&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("row lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<b ") || strings.Contains(body, "<i>") {
		t.Errorf("row has the customer's markup unescaped:\n%s", body)
	}
	// Views that do not include the conversation answer 204.
	for _, q := range []string{"view=mine&status=open", "view=all&status=closed", "view=all&status=open&tag=vip", fmt.Sprintf("view=all&status=open&inbox_id=%d", in.ID+1)} {
		ana.Do("GET", fmt.Sprintf("/inbox/rows/%d?%s", id, q), nil, hx...).Expect(http.StatusNoContent)
	}
	// Nor does a conversation the user may not see.
	sam.Do("GET", fmt.Sprintf("/inbox/rows/%d?view=all&status=open", id), nil, hx...).Expect(http.StatusNoContent)

	msg := ana.Do("GET", fmt.Sprintf("/inbox/conversations/%d/messages/%d", id, mid), nil, hx...).Expect(http.StatusOK)
	if !strings.Contains(string(msg.Body), "&lt;b onmouseover=&#34;x()&#34;&gt;hi&lt;/b&gt;") || strings.Contains(string(msg.Body), "<b ") {
		t.Errorf("message fragment:\n%s", msg.Body)
	}
	sam.Do("GET", fmt.Sprintf("/inbox/conversations/%d/messages/%d", id, mid), nil, hx...).Expect(http.StatusNotFound)

	// An htmx request that fails gets the message as text, not a page.
	e := sam.Do("GET", fmt.Sprintf("/inbox/conversations/%d/head", id), nil, hx...).Expect(http.StatusNotFound)
	if ct := e.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || e.Header.Get("HX-Reswap") != "none" || string(e.Body) != "Conversation not found." {
		t.Errorf("htmx error: %s %q %q", ct, e.Header.Get("HX-Reswap"), e.Body)
	}
}

// TestComposerSend posts the composer's form as htmx does: a reply, the
// same key again (one message), and a refused text that is kept.
func TestComposerSend(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { composerSend(t, d) })
}

func composerSend(t *testing.T, d *db.DB) {
	srv := testrig.Start(t, d)
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Site", ana.UserID)
	srv.NewVisitor(in.Token, nil).Say("hello")
	var list page[conv]
	ana.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
	id := list.Items[0].ID
	send := func(text, key string) *testrig.Response {
		form := url.Values{"text": {text}, "idempotency_key": {key}}
		return ana.Do("POST", fmt.Sprintf("/inbox/conversations/%d/messages", id), strings.NewReader(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "HX-Request", "true")
	}
	first := send("Hello there", "key-1").Expect(http.StatusOK)
	if !strings.Contains(string(first.Body), "Hello there") || strings.Contains(string(first.Body), `value="key-1"`) {
		t.Errorf("after sending, the composer shows the message and takes a new key:\n%s", first.Body)
	}
	send("Hello there", "key-1").Expect(http.StatusOK)
	var msgs page[msg]
	ana.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", id), nil).Expect(http.StatusOK).Decode(&msgs)
	if len(msgs.Items) != 2 {
		t.Fatalf("%d messages after sending twice with one key, want 2 (hello and one reply)", len(msgs.Items))
	}
	long := strings.Repeat("é", 4097)
	refused := send(long, "key-2").Expect(http.StatusUnprocessableEntity)
	for _, want := range []string{"at most 4096 characters", long, `value="key-2"`} {
		if !strings.Contains(string(refused.Body), want) {
			t.Errorf("refused composer lacks %.40q", want)
		}
	}
}
