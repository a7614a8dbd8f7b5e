package web_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// who may call each API route, written out by hand from the product's
// rules (not derived from the policy code, so that a change to the policy
// that breaks a rule fails here). "public" routes need no user; the web
// chat routes authenticate visitors themselves.
var apiAccess = map[string][]string{
	"GET /healthz":               {"public"},
	"GET /readyz":                {"public"},
	"GET /metrics":               {"public"},
	"GET /api/v1/openapi.json":   {"public"},
	"POST /api/v1/auth/login":    {"public"},
	"POST /api/v1/auth/logout":   {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/me":             {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/tokens":         {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/tokens":        {"admin", "inbox_manager", "service", "sales"},
	"DELETE /api/v1/tokens/{id}": {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/ws":             {"admin", "inbox_manager", "service", "sales"},

	"GET /api/v1/users":                        {"admin"},
	"POST /api/v1/users":                       {"admin"},
	"PATCH /api/v1/users/{id}":                 {"admin"},
	"POST /api/v1/users/{id}/deactivate":       {"admin"},
	"POST /api/v1/users/{id}/reactivate":       {"admin"},
	"POST /api/v1/users/{id}/password-reset":   {"admin"},
	"POST /api/v1/auth/password-reset":         {"public"},
	"POST /api/v1/auth/password-reset/confirm": {"public"},
	// Only admins change someone's sign-in address.
	"GET /api/v1/users/{id}/email-change":    {"admin"},
	"POST /api/v1/users/{id}/email-change":   {"admin"},
	"DELETE /api/v1/users/{id}/email-change": {"admin"},

	"GET /api/v1/inboxes":              {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/inboxes/{id}":         {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/inboxes":             {"admin"},
	"PATCH /api/v1/inboxes/{id}":       {"admin"},
	"POST /api/v1/inboxes/{id}/secret": {"admin"},
	"DELETE /api/v1/inboxes/{id}":      {"admin"},

	"GET /api/v1/conversations":                    {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/conversations/{id}":               {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/conversations/{id}/messages":      {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/conversations/{id}/activities":    {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/conversations/{id}/messages":     {"admin", "inbox_manager", "service", "sales", "bot"},
	"POST /api/v1/conversations/{id}/close":        {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/conversations/{id}/typing":       {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/conversations/{id}/reopen":       {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/conversations/{id}/read":         {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/conversations/{id}/tags":         {"admin", "inbox_manager", "service", "sales"},
	"DELETE /api/v1/conversations/{id}/tags/{tag}": {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/conversations/{id}/assign":       {"admin", "inbox_manager", "service"},
	"GET /api/v1/conversations/{id}/assignees":     {"admin", "inbox_manager", "service"},
	// Routing: service agents (and inbox managers, admins) take from the
	// queue and transfer; sales hand customers over by their owner.
	"POST /api/v1/conversations/{id}/claim":              {"admin", "inbox_manager", "service"},
	"POST /api/v1/conversations/{id}/transfer":           {"admin", "inbox_manager", "service"},
	"GET /api/v1/conversations/{id}/transfer-candidates": {"admin", "inbox_manager", "service"},
	"GET /api/v1/inboxes/{id}/queue":                     {"admin", "inbox_manager", "service"},
	// Bots: admins keep them; a bot's token posts to and hands off the
	// conversations it holds (nothing else), and who assigns conversations
	// transfers a bot's conversation to a human.
	"GET /api/v1/bots":                                 {"admin"},
	"POST /api/v1/bots":                                {"admin"},
	"PATCH /api/v1/bots/{id}":                          {"admin"},
	"DELETE /api/v1/bots/{id}":                         {"admin"},
	"POST /api/v1/conversations/{id}/handoff":          {"admin", "inbox_manager", "service", "bot"},
	"PUT /api/v1/inboxes/{id}/members/{user_id}/limit": {"admin"},
	"POST /api/v1/attachments":                         {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/attachments/{id}":                     {"admin", "inbox_manager", "service", "sales"},

	// WhatsApp: Meta's webhooks authenticate by signature; number
	// settings are admins'; templates, lookups and sends are everyone's
	// who works the inbox.
	"GET /webhooks/whatsapp":                            {"public"},
	"POST /webhooks/whatsapp":                           {"public"},
	"GET /api/v1/inboxes/{id}/whatsapp":                 {"admin"},
	"POST /api/v1/inboxes/{id}/whatsapp/test":           {"admin"},
	"PUT /api/v1/inboxes/{id}/whatsapp/ice-breakers":    {"admin"},
	"GET /api/v1/inboxes/{id}/whatsapp/templates":       {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/inboxes/{id}/whatsapp/templates/sync": {"admin"},
	"GET /api/v1/inboxes/{id}/whatsapp/lookup":          {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/inboxes/{id}/whatsapp/conversations":  {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/conversations/{id}/whatsapp/messages": {"admin", "inbox_manager", "service", "sales"},

	// Inbox managers see conversations and messages, nothing else.
	"GET /api/v1/contacts":        {"admin", "service", "sales"},
	"GET /api/v1/contacts/{id}":   {"admin", "service", "sales"},
	"PATCH /api/v1/contacts/{id}": {"admin", "service", "sales"},
	// Contacts page: the owner by agent or email (the owner rules are the
	// service's), export of what one sees; imports are admins'.
	"PUT /api/v1/contacts/{id}/owner": {"admin", "service", "sales"},
	"GET /api/v1/contacts/export":     {"admin", "service", "sales"},
	"POST /api/v1/contacts/import":    {"admin"},

	// People: everyone keeps their own profile, status, password, avatar
	// and sessions; invitations, teams, security settings, automatic
	// assignment and reports are an admin's (supervisor's).
	"POST /api/v1/auth/otp":                {"public"},
	"POST /api/v1/auth/otp/resend":         {"public"},
	"PATCH /api/v1/me":                     {"admin", "inbox_manager", "service", "sales"},
	"PUT /api/v1/me/status":                {"admin", "inbox_manager", "service", "sales"},
	"PUT /api/v1/me/password":              {"admin", "inbox_manager", "service", "sales"},
	"PUT /api/v1/me/avatar":                {"admin", "inbox_manager", "service", "sales"},
	"DELETE /api/v1/me/avatar":             {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/me/sessions":              {"admin", "inbox_manager", "service", "sales"},
	"DELETE /api/v1/me/sessions/{id}":      {"admin", "inbox_manager", "service", "sales"},
	"GET /api/v1/invitations":              {"admin"},
	"POST /api/v1/invitations":             {"admin"},
	"DELETE /api/v1/invitations/{id}":      {"admin"},
	"POST /api/v1/invitations/{id}/resend": {"admin"},
	"GET /api/v1/teams":                    {"admin"},
	"POST /api/v1/teams":                   {"admin"},
	"PATCH /api/v1/teams/{id}":             {"admin"},
	"DELETE /api/v1/teams/{id}":            {"admin"},
	"GET /api/v1/settings/security":        {"admin"},
	"PUT /api/v1/settings/security":        {"admin"},
	"GET /api/v1/inboxes/{id}/assignment":  {"admin"},
	"PUT /api/v1/inboxes/{id}/assignment":  {"admin"},
	"GET /api/v1/inboxes/{id}/automation":  {"admin"},
	"PUT /api/v1/inboxes/{id}/automation":  {"admin"},
	"GET /api/v1/reports/time-in-status":   {"admin"},
	"GET /api/v1/reports/csat":             {"admin"},
	"GET /api/v1/reports/response-times":   {"admin"},

	// Canned responses: everyone who writes replies uses the company
	// presets and keeps their own (admins alone change the presets, which
	// the handlers check: canned_test.go).
	"GET /api/v1/canned-responses":         {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/canned-responses":        {"admin", "inbox_manager", "service", "sales"},
	"PATCH /api/v1/canned-responses/{id}":  {"admin", "inbox_manager", "service", "sales"},
	"DELETE /api/v1/canned-responses/{id}": {"admin", "inbox_manager", "service", "sales"},

	// Personal welcome messages: everyone who is assigned conversations
	// keeps their own (another's answers not found: welcome_test.go).
	"GET /api/v1/me/welcome-messages":         {"admin", "inbox_manager", "service", "sales"},
	"POST /api/v1/me/welcome-messages":        {"admin", "inbox_manager", "service", "sales"},
	"PATCH /api/v1/me/welcome-messages/{id}":  {"admin", "inbox_manager", "service", "sales"},
	"DELETE /api/v1/me/welcome-messages/{id}": {"admin", "inbox_manager", "service", "sales"},

	"GET /widget.js":                           {"public"},
	"OPTIONS /public/v1/":                      {"public"},
	"GET /public/v1/inboxes/{token}":           {"public"},
	"POST /public/v1/inboxes/{token}/sessions": {"public"},
	"GET /public/v1/messages":                  {"public"},
	"POST /public/v1/messages":                 {"public"},
	"POST /public/v1/attachments":              {"public"},
	"GET /public/v1/attachments/{id}":          {"public"},
	"GET /public/v1/attachments/{id}/link":     {"public"},
	"GET /public/v1/avatars/{version}":         {"public"},
	"POST /public/v1/seen":                     {"public"},
	"POST /public/v1/stream/tickets":           {"public"},
	"POST /public/v1/typing":                   {"public"},
	"GET /public/v1/stream":                    {"public"},
}

// TestRoleMatrix calls every API route as every role and as nobody, and
// checks that exactly the roles listed above get through the policy.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { roleMatrix(t, d) })
}

func roleMatrix(t *testing.T, d *db.DB) {
	fake := graphfake.NewServer(graphfake.Options{Seed: 1})
	t.Cleanup(fake.Close)
	srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) { c.WhatsAppGraphURL, _ = url.Parse(fake.URL) }})
	roles := map[string]*testrig.Client{}
	for _, r := range policy.Roles {
		roles[string(r)] = srv.NewUser(string(r)+"@example.com", r)
	}
	ids := make([]int64, 0, 4)
	for _, c := range roles {
		ids = append(ids, c.UserID)
	}
	in, _ := srv.NewWebchatInbox("Site", ids...)
	num := fake.AddNumber(graphfake.Number{AppSecret: "matrix"})
	wa, waVerify, err := srv.App.Inboxes.Create(context.Background(), inbox.NewInbox{Type: whatsapp.Type, Name: "Line", MemberIDs: ids,
		Settings: map[inbox.Type]any{whatsapp.Type: &whatsapp.Config{PhoneNumberID: num.ID, WABAID: num.WABAID, DisplayPhoneNumber: num.Phone, AccessToken: num.Token, AppSecret: "matrix"}}})
	if err != nil {
		t.Fatal(err)
	}
	admin := roles["admin"]

	// Every role's conversations, so that each may see the one it calls
	// (sales sees conversations assigned to them).
	convOf := map[string]int64{}
	contactOf := map[string]int64{}
	attachmentOf := map[string]int64{}
	cannedOf := map[string]int64{}
	for name, c := range roles {
		v := srv.NewVisitor(in.Token, map[string]string{"name": "Customer of " + name})
		v.Say("hello")
		var list page[struct {
			ID        int64 `json:"id"`
			ContactID int64 `json:"contact_id"`
		}]
		admin.Do("GET", "/api/v1/conversations?assignee=none&limit=1", nil).Expect(200).Decode(&list)
		cid := list.Items[0].ID
		admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", cid), map[string]any{"assignee_id": c.UserID}).Expect(200)
		convOf[name], contactOf[name] = cid, list.Items[0].ContactID
		attachmentOf[name] = upload(t, c, 201)
		var cr struct {
			ID int64 `json:"id"`
		}
		c.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "own", "message": map[string]any{"kind": "text", "text": "Hello"}}).Expect(201).Decode(&cr)
		cannedOf[name] = cr.ID
	}

	// A change of address waiting, for the routes that show it.
	admin.Do("POST", fmt.Sprintf("/api/v1/users/%d/email-change", roles["sales"].UserID), map[string]string{"email": "sales.new@example.com"}).Expect(201)

	// A bot (on no inbox: it holds nothing) with its token, and another
	// to delete.
	var matrixBot, spareBot struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	admin.Do("POST", "/api/v1/bots", map[string]any{"name": "Matrix bot", "kind": "external", "url": "https://bot.example.com/hook"}).Expect(201).Decode(&matrixBot)
	admin.Do("POST", "/api/v1/bots", map[string]any{"name": "Spare bot", "kind": "external", "url": "https://bot.example.com/hook"}).Expect(201).Decode(&spareBot)
	botCaller := srv.Anonymous()
	botCaller.Token = matrixBot.Token

	// Someone to deactivate and reactivate.
	spare := srv.NewUser("spare@example.com", policy.Service)
	spareInbox, _ := srv.NewWebchatInbox("Spare")
	anon := srv.Anonymous()
	visitor := srv.NewVisitor(in.Token, nil)
	visitor.Say("from the visitor")

	seen := map[string]bool{}
	routes := srv.App.Web.Routes()
	// Signing out ends the session the other calls use: do it last.
	sort.SliceStable(routes, func(i, j int) bool {
		return routes[j].Path == "/api/v1/auth/logout" && routes[i].Path != routes[j].Path
	})
	for _, rt := range routes {
		if !rt.API && !strings.HasPrefix(rt.Path, "/widget.js") && rt.Path != "/healthz" && rt.Path != "/readyz" && rt.Path != "/metrics" {
			continue
		}
		key := rt.Method + " " + rt.Path
		allowed, ok := apiAccess[key]
		if !ok {
			t.Errorf("route %s has no entry in the role matrix: add who may call it", key)
			continue
		}
		seen[key] = true
		public := len(allowed) == 1 && allowed[0] == "public"
		callers := map[string]*testrig.Client{"anonymous": anon, "bot": botCaller}
		for n, c := range roles {
			callers[n] = c
		}
		if strings.HasPrefix(rt.Path, "/public/") {
			callers = map[string]*testrig.Client{"visitor": visitor.Client}
		}
		names := make([]string, 0, len(callers))
		for n := range callers {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, who := range names {
			c := callers[who]
			path := strings.NewReplacer(
				"{token}", in.Token,
				"{tag}", "vip",
				"{user_id}", strconv.FormatInt(roles["service"].UserID, 10),
			).Replace(rt.Path)
			owner := who
			if _, ok := convOf[owner]; !ok {
				owner = "admin"
			}
			switch {
			case strings.HasPrefix(path, "/api/v1/conversations/{id}"):
				path = strings.Replace(path, "{id}", strconv.FormatInt(convOf[owner], 10), 1)
			case strings.HasPrefix(path, "/api/v1/contacts/{id}"):
				path = strings.Replace(path, "{id}", strconv.FormatInt(contactOf[owner], 10), 1)
			case strings.HasPrefix(path, "/api/v1/canned-responses/{id}"):
				path = strings.Replace(path, "{id}", strconv.FormatInt(cannedOf[owner], 10), 1)
			case strings.Contains(path, "/attachments/{id}"):
				path = strings.Replace(path, "{id}", strconv.FormatInt(attachmentOf[owner], 10), 1)
			case strings.HasPrefix(path, "/api/v1/inboxes/{id}/whatsapp"):
				path = strings.Replace(path, "{id}", strconv.FormatInt(wa.ID, 10), 1)
				if strings.HasSuffix(path, "/lookup") {
					path += "?phone=%2B14155550123"
				}
			case rt.Method == "DELETE" && path == "/api/v1/inboxes/{id}":
				// An inbox no other call needs: archived, it takes nothing.
				path = strings.Replace(path, "{id}", strconv.FormatInt(spareInbox.ID, 10), 1)
			case strings.HasPrefix(path, "/api/v1/inboxes/{id}"):
				path = strings.Replace(path, "{id}", strconv.FormatInt(in.ID, 10), 1)
			case strings.HasSuffix(path, "/deactivate") || strings.HasSuffix(path, "/reactivate"):
				// Someone whose sessions no other call needs.
				path = strings.Replace(path, "{id}", strconv.FormatInt(spare.UserID, 10), 1)
			case strings.HasPrefix(path, "/api/v1/users/{id}"):
				path = strings.Replace(path, "{id}", strconv.FormatInt(roles["sales"].UserID, 10), 1)
			case rt.Method == "DELETE" && path == "/api/v1/bots/{id}":
				path = strings.Replace(path, "{id}", strconv.FormatInt(spareBot.ID, 10), 1)
			case strings.HasPrefix(path, "/api/v1/bots/{id}"):
				path = strings.Replace(path, "{id}", strconv.FormatInt(matrixBot.ID, 10), 1)
			case strings.HasPrefix(path, "/api/v1/tokens/{id}"):
				path = strings.Replace(path, "{id}", "999999", 1)
			}
			if rt.Method == "GET" && path == "/webhooks/whatsapp" {
				path += "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=" + url.QueryEscape(waVerify)
			}
			if rt.Method == "GET" && path == "/public/v1/stream" {
				continue // a stream does not end; its auth is covered in public_test.go
			}
			resp := call(t, c, rt.Method, path, who)
			want := "allowed"
			switch {
			case public:
			case who == "anonymous":
				want = "401"
			case !contains(allowed, who):
				want = "403"
			}
			switch {
			case resp.StatusCode >= 500:
				t.Errorf("%s as %s: %d %s", key, who, resp.StatusCode, resp.Body)
			case want == "allowed" && (resp.StatusCode == 401 || resp.StatusCode == 403) && !public:
				t.Errorf("%s as %s: %d, want it allowed; %s", key, who, resp.StatusCode, resp.Body)
			case want == "allowed" && !public && rt.Method == "GET" && rt.Path != "/api/v1/ws" && resp.StatusCode != 200:
				t.Errorf("%s as %s: %d, want 200 (the caller may see it); %s", key, who, resp.StatusCode, resp.Body)
			case want == "allowed" && public && resp.StatusCode == 403:
				t.Errorf("%s as %s: 403 on a public route; %s", key, who, resp.Body)
			case want == "401" && resp.StatusCode != 401:
				t.Errorf("%s as %s: %d, want 401", key, who, resp.StatusCode)
			case want == "403" && resp.StatusCode != 403:
				t.Errorf("%s as %s: %d, want 403", key, who, resp.StatusCode)
			}
		}
	}
	for key := range apiAccess {
		if !seen[key] {
			t.Errorf("the role matrix lists %s, which the server does not serve", key)
		}
	}
}

// lookupContactFields are the fields of a contact each role gets from a
// WhatsApp lookup, written out by hand like apiAccess: what conversations
// show of their contact for everyone who works the inbox, the whole
// contact for those who may read contacts (inbox managers may not).
var lookupContactFields = map[string][]string{
	"admin":         {"created_at", "email", "id", "name", "owner_id", "phone", "tags", "updated_at"},
	"inbox_manager": {"email", "id", "name", "phone"},
	"service":       {"created_at", "email", "id", "name", "owner_id", "phone", "tags", "updated_at"},
	"sales":         {"created_at", "email", "id", "name", "owner_id", "phone", "tags", "updated_at"},
}

// TestLookupContactFields looks a customer's number up as every role and
// checks which of the contact's fields each one gets.
func TestLookupContactFields(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		fake := graphfake.NewServer(graphfake.Options{Seed: 1})
		t.Cleanup(fake.Close)
		srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) { c.WhatsAppGraphURL, _ = url.Parse(fake.URL) }})
		num := fake.AddNumber(graphfake.Number{AppSecret: "lookup"})
		wa, _, err := srv.App.Inboxes.Create(context.Background(), inbox.NewInbox{Type: whatsapp.Type, Name: "Line",
			Settings: map[inbox.Type]any{whatsapp.Type: &whatsapp.Config{PhoneNumberID: num.ID, WABAID: num.WABAID, DisplayPhoneNumber: num.Phone, AccessToken: num.Token, AppSecret: "lookup"}}})
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string]*testrig.Client{}
		for _, r := range policy.Roles {
			roles[string(r)] = srv.NewUser(string(r)+"@example.com", r, wa.ID)
		}
		// A customer of the sales agent's, with a tag.
		const phone = "+14155550123"
		rc, err := srv.App.Conversations.Receive(context.Background(), conversation.Incoming{InboxID: wa.ID, ExternalID: "14155550123",
			Profile: contact.Profile{Name: "Dora", Phone: phone}, ChannelMessageID: "wamid.lookup", Text: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		roles["admin"].Do("PATCH", fmt.Sprintf("/api/v1/contacts/%d", rc.Conversation.ContactID),
			map[string]any{"owner_id": roles["sales"].UserID, "tags": []string{"vip"}}).Expect(200)

		callers := apiAccess["GET /api/v1/inboxes/{id}/whatsapp/lookup"]
		if len(callers) != len(lookupContactFields) {
			t.Errorf("the lookup's callers %v and lookupContactFields differ", callers)
		}
		for _, r := range callers {
			var res struct {
				Contacts      []map[string]any `json:"contacts"`
				Conversations []conv           `json:"conversations"`
			}
			roles[r].Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/lookup?phone=%s", wa.ID, url.QueryEscape(phone)), nil).Expect(200).Decode(&res)
			if len(res.Contacts) != 1 || len(res.Conversations) != 1 || res.Conversations[0].ID != rc.Conversation.ID {
				t.Errorf("%s finds %d contacts and conversations %+v, want Dora and her conversation", r, len(res.Contacts), res.Conversations)
				continue
			}
			var got []string
			for k := range res.Contacts[0] {
				got = append(got, k)
			}
			sort.Strings(got)
			if want := lookupContactFields[r]; !slices.Equal(got, want) {
				t.Errorf("%s gets the contact's fields %v, want %v", r, got, want)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// call sends a plausible request for the route, so that an allowed caller
// gets past validation.
func call(t *testing.T, c *testrig.Client, method, path, who string) *testrig.Response {
	t.Helper()
	switch {
	case method == "POST" && (path == "/api/v1/attachments" || path == "/public/v1/attachments"):
		body, ctype := pngForm(t)
		return c.Do(method, path, body, "Content-Type", ctype)
	case method == "GET" && path == "/api/v1/ws":
		return c.Do(method, path, nil) // no upgrade: 426 for whoever gets through
	case method == "POST" && path == "/api/v1/contacts/import":
		return c.Do(method, path+"?dry_run=true", strings.NewReader("name,phone\nNew customer,+34612345678\n"), "Content-Type", "text/csv")
	}
	bodies := map[string]any{
		"POST /api/v1/auth/login":                      map[string]string{"email": "nobody@example.com", "password": "wrong"},
		"POST /api/v1/tokens":                          map[string]string{"name": "matrix"},
		"POST /api/v1/users":                           map[string]any{"email": "new-" + who + "@example.com", "name": "New", "role": "service", "password": "long enough password"},
		"PATCH /api/v1/users":                          map[string]any{"name": "Renamed"},
		"POST /api/v1/inboxes":                         map[string]any{"type": "webchat", "name": "Another site"},
		"PATCH /api/v1/inboxes":                        map[string]any{"name": "Site"},
		"POST /api/v1/conversations/messages":          map[string]any{"text": "reply from " + who},
		"POST /api/v1/conversations/assign":            map[string]any{"assignee_id": nil},
		"POST /api/v1/conversations/tags":              map[string]any{"tag": "vip"},
		"PATCH /api/v1/contacts":                       map[string]any{"name": "Renamed customer"},
		"PUT /api/v1/contacts/owner":                   map[string]any{}, // the owner it has (none)
		"POST /public/v1/inboxes/sessions":             map[string]any{},
		"POST /public/v1/messages":                     map[string]any{"id": "matrix-" + who, "text": "hi"},
		"POST /public/v1/seen":                         map[string]any{"up_to": 1, "read": false},
		"PATCH /api/v1/me":                             map[string]any{"public_name": "Agent " + who},
		"PUT /api/v1/me/status":                        map[string]any{"status": "available"},
		"POST /api/v1/teams":                           map[string]any{"name": "Team of " + who},
		"POST /api/v1/bots":                            map[string]any{"name": "Bot of " + who, "kind": "menu", "menu": map[string]any{"greeting": map[string]any{"text": "Hi"}, "options": []map[string]any{{"title": "Bye", "action": "close"}}}},
		"PATCH /api/v1/bots":                           map[string]any{"name": "Matrix bot"},
		"PUT /api/v1/settings/security":                map[string]any{"require_two_factor": false},
		"PUT /api/v1/inboxes/assignment":               map[string]any{"auto_assign": false},
		"PUT /api/v1/inboxes/automation":               map[string]any{},
		"POST /api/v1/canned-responses":                map[string]any{"short_code": "matrix", "message": map[string]any{"kind": "text", "text": "Hi"}},
		"PATCH /api/v1/canned-responses":               map[string]any{"message": map[string]any{"kind": "text", "text": "Hi again"}},
		"POST /api/v1/me/welcome-messages":             map[string]any{"inbox_ids": []int64{}, "message": map[string]any{"kind": "text", "text": "Hi"}},
		"PATCH /api/v1/me/welcome-messages":            map[string]any{"enabled": false},
		"PUT /api/v1/inboxes/members/limit":            map[string]any{"limit": 5},
		"POST /api/v1/conversations/transfer":          map[string]any{"agent_id": 999999},
		"PUT /api/v1/inboxes/whatsapp/ice-breakers":    map[string]any{"prompts": []string{"Where is my order?"}},
		"POST /api/v1/inboxes/whatsapp/conversations":  map[string]any{"phone": "+14155550123", "message": map[string]any{"type": "text", "text": "hi"}},
		"POST /api/v1/conversations/whatsapp/messages": map[string]any{"type": "text", "text": "hi from " + who},
	}
	key := method + " " + stripIDs(path)
	return c.Do(method, path, bodies[key])
}

// stripIDs turns /api/v1/users/12 into /api/v1/users and
// /public/v1/inboxes/TOKEN/sessions into /public/v1/inboxes/sessions.
func stripIDs(path string) string {
	parts := strings.Split(path, "/")
	out := parts[:0]
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil {
			continue
		}
		if i > 0 && parts[i-1] == "inboxes" && strings.HasPrefix(path, "/public/") {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, "/")
}

// pngForm is a multipart body with a 1×1 PNG in "file".
func pngForm(t *testing.T) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", "pixel.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(onePixelPNG)
	mw.Close()
	return &b, mw.FormDataContentType()
}

var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

func upload(t *testing.T, c *testrig.Client, want int) int64 {
	t.Helper()
	body, ctype := pngForm(t)
	var a struct {
		ID int64 `json:"id"`
	}
	c.Do("POST", "/api/v1/attachments", body, "Content-Type", ctype).Expect(want).Decode(&a)
	return a.ID
}
