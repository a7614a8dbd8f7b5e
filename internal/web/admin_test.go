package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// shownCode is the text of <code id="id"> on a page, "" when none.
func shownCode(body []byte, id string) string {
	m := regexp.MustCompile(`<code class="secret" id="` + id + `">([^<]*)</code>`).FindSubmatch(body)
	if m == nil {
		return ""
	}
	return htmlUnescape(string(m[1]))
}

// followShown posts a form that creates something, checks it answers 303
// to a page with ?shown=, and returns that page's path.
func followShown(t *testing.T, c *testrig.Client, path string, v url.Values, prefix string) string {
	t.Helper()
	r := form(c, path, v).Expect(http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, prefix) || !strings.Contains(loc, "shown=") {
		t.Fatalf("POST %s: redirected to %q, want %s…?shown=", path, loc, prefix)
	}
	return loc
}

// TestCreateThenRedirect: forms that create something answer 303 to a
// page that can be reloaded; what is shown once (an inbox's identity
// secret, a WhatsApp verify token, an API token) is on that page the
// first time only, and only to who made it. Reloading creates nothing.
func TestCreateThenRedirect(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := noRedirects(srv.NewUser("admin@example.com", policy.Admin))
		other := noRedirects(srv.NewUser("other@example.com", policy.Admin))
		count := func() int {
			var ins []struct{ ID int64 }
			admin.Do("GET", "/api/v1/inboxes", nil).Expect(200).Decode(&ins)
			return len(ins)
		}

		// A web chat inbox: its secret and snippet once.
		loc := followShown(t, admin, "/admin/inboxes", url.Values{"name": {"Site"}, "color": {"#2563eb"}}, "/admin/inboxes/")
		if !strings.Contains(loc, "/created?") {
			t.Fatalf("after creating: %s", loc)
		}
		if r := other.Do("GET", loc, nil).Expect(http.StatusSeeOther); shownCode(r.Body, "secret") != "" {
			t.Fatal("another admin saw the secret")
		}
		page := admin.Do("GET", loc, nil).Expect(200)
		secret := shownCode(page.Body, "secret")
		if secret == "" || shownCode(page.Body, "snippet") == "" {
			t.Fatalf("created page: %s", page.Body)
		}
		if page.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("the page of a secret may be cached: %q", page.Header.Get("Cache-Control"))
		}
		again := admin.Do("GET", loc, nil).Expect(http.StatusSeeOther)
		inboxPage := again.Header.Get("Location")
		if !strings.HasPrefix(loc, inboxPage+"/created") || strings.Contains(string(again.Body), secret) {
			t.Fatalf("reloaded: to %q, %s", inboxPage, again.Body)
		}
		if n := count(); n != 1 {
			t.Fatalf("%d inboxes after a reload", n)
		}

		// A new secret: shown once too.
		loc = followShown(t, admin, inboxPage+"/secret", url.Values{}, inboxPage+"/created")
		if s := shownCode(admin.Do("GET", loc, nil).Expect(200).Body, "secret"); s == "" || s == secret {
			t.Fatalf("new secret %q (old %q)", s, secret)
		}
		admin.Do("GET", loc, nil).Expect(http.StatusSeeOther)

		// A WhatsApp number: its verify token once.
		loc = followShown(t, admin, "/admin/inboxes/whatsapp", url.Values{"name": {"Sales"}, "phone_number_id": {"1234567890"}, "waba_id": {"987654321"},
			"display_phone_number": {"+1 415 555 0100"}, "access_token": {"EAAB-token"}, "app_secret": {"app-secret"}, "verify_token": {"my-verify-token"},
			"messages_per_second": {"80"}}, "/admin/inboxes/")
		if r := admin.Do("GET", loc, nil).Expect(200); !strings.Contains(string(r.Body), "my-verify-token") {
			t.Fatalf("created number page: %s", r.Body)
		}
		if r := admin.Do("GET", loc, nil).Expect(200); strings.Contains(string(r.Body), "my-verify-token") {
			t.Fatal("the verify token is shown again on reload")
		}
		if n := count(); n != 2 {
			t.Fatalf("%d inboxes", n)
		}

		// An API token.
		loc = followShown(t, admin, "/settings/tokens", url.Values{"name": {"ci"}}, "/settings/tokens?")
		if tok := shownCode(admin.Do("GET", loc, nil).Expect(200).Body, "new-token"); !strings.HasPrefix(tok, "sbt_") {
			t.Fatalf("token page shows %q", tok)
		}
		if tok := shownCode(admin.Do("GET", loc, nil).Expect(200).Body, "new-token"); tok != "" {
			t.Fatal("the token is shown again on reload")
		}
		var toks []struct{ ID int64 }
		admin.Do("GET", "/api/v1/tokens", nil).Expect(200).Decode(&toks)
		if len(toks) != 1 {
			t.Fatalf("%d tokens", len(toks))
		}
	})
}

// TestInvitationLinkWithoutMail: without a mail server the invitation
// mail goes to the log, and the admin is told so and given the link to
// pass on, once; with one, the page only says it was sent.
func TestInvitationLinkWithoutMail(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := noRedirects(srv.NewUser("admin@example.com", policy.Admin))
		loc := followShown(t, admin, "/admin/invitations", url.Values{"email": {"bo@example.com"}, "role": {"service"}}, "/admin/invitations?done=logged")
		page := admin.Do("GET", loc, nil).Expect(200)
		link := shownCode(page.Body, "invitation-link")
		if !strings.HasPrefix(link, srv.URL+"/invitations/sbi_") || !strings.Contains(string(page.Body), "went to the server log") {
			t.Fatalf("page: %s", page.Body)
		}
		srv.Anonymous().Do("GET", strings.TrimPrefix(link, srv.URL), nil).Expect(200)
		if shownCode(admin.Do("GET", loc, nil).Expect(200).Body, "invitation-link") != "" {
			t.Fatal("the link is shown again on reload")
		}
		// Sent again: a new link, shown once.
		var invs []struct{ ID int64 }
		admin.Do("GET", "/api/v1/invitations", nil).Expect(200).Decode(&invs)
		loc = followShown(t, admin, fmt.Sprintf("/admin/invitations/%d/resend", invs[0].ID), url.Values{}, "/admin/invitations?done=logged")
		if l := shownCode(admin.Do("GET", loc, nil).Expect(200).Body, "invitation-link"); l == "" || l == link {
			t.Fatalf("resent link %q", l)
		}

		// With a mail server, the link goes by mail only.
		mailed := startPeople(t, d)
		boss := noRedirects(mailed.NewUser("boss@example.com", policy.Admin))
		r := form(boss, "/admin/invitations", url.Values{"email": {"cy@example.com"}, "role": {"service"}}).Expect(http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/admin/invitations?done=sent" {
			t.Fatalf("with mail: %s", loc)
		}
	})
}

// TestDeactivate: a deactivated user is signed out everywhere at once,
// their API tokens stop working, they cannot sign in (and are told why),
// nobody can assign them, and their open conversations go to whom the
// inbox's automatic assignment picks; their closed ones keep them.
// Reactivated, they sign in with their password again.
func TestDeactivate(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		in, _ := srv.NewWebchatInbox("Site")
		ana := srv.NewUser("ana@example.com", policy.Service, in.ID)
		bo := srv.NewUser("bo@example.com", policy.Service, in.ID)
		anaAPI := ana.WithToken()
		admin.Do("PUT", fmt.Sprintf("/api/v1/inboxes/%d/assignment", in.ID), map[string]bool{"auto_assign": true}).Expect(200)
		ana.Do("PUT", "/api/v1/me/status", map[string]string{"status": "available"}).Expect(200)

		// Two conversations of ana's: one open, one closed.
		var convs []int64
		for _, name := range []string{"Cy", "Dee"} {
			srv.NewVisitor(in.Token, map[string]string{"name": name}).Say("hello")
			var list page[conv]
			admin.Do("GET", "/api/v1/conversations?limit=1", nil).Expect(200).Decode(&list)
			id := list.Items[0].ID
			admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", id), map[string]any{"assignee_id": ana.UserID}).Expect(200)
			convs = append(convs, id)
		}
		admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", convs[1]), nil).Expect(200)
		bo.Do("PUT", "/api/v1/me/status", map[string]string{"status": "available"}).Expect(200)

		// Not oneself; not an account already active.
		admin.Do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", admin.UserID), nil).Expect(409)
		admin.Do("POST", fmt.Sprintf("/api/v1/users/%d/reactivate", ana.UserID), nil).Expect(409)
		ana.Do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", bo.UserID), nil).Expect(403)

		var out struct {
			User struct {
				DeactivatedAt *string `json:"deactivated_at"`
				Status        string  `json:"status"`
			} `json:"user"`
			Tokens   int `json:"api_tokens_revoked"`
			Released int `json:"conversations_released"`
		}
		admin.Do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", ana.UserID), nil).Expect(200).Decode(&out)
		if out.User.DeactivatedAt == nil || out.User.Status != "unavailable" || out.Tokens != 1 || out.Released != 1 {
			t.Fatalf("deactivated: %+v", out)
		}
		admin.Do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", ana.UserID), nil).Expect(409)

		// Refused at once, by session and by token.
		ana.Do("GET", "/api/v1/me", nil).Expect(401)
		anaAPI.Do("GET", "/api/v1/me", nil).Expect(401)
		r := srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}).Expect(401)
		if e := r.Err(); !strings.Contains(e.Message, "deactivated") {
			t.Fatalf("sign-in of a deactivated account: %+v", e)
		}
		// A wrong password says nothing of the account.
		r = srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "not the password"}).Expect(401)
		if e := r.Err(); strings.Contains(e.Message, "deactivated") {
			t.Fatalf("wrong password: %+v", e)
		}

		// The open conversation went to bo (the inbox assigns
		// automatically); the closed one keeps ana.
		var open, closed struct {
			AssigneeID *int64 `json:"assignee_id"`
		}
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", convs[0]), nil).Expect(200).Decode(&open)
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", convs[1]), nil).Expect(200).Decode(&closed)
		if open.AssigneeID == nil || *open.AssigneeID != bo.UserID || closed.AssigneeID == nil || *closed.AssigneeID != ana.UserID {
			t.Fatalf("open assigned to %v, closed to %v", open.AssigneeID, closed.AssigneeID)
		}
		var who []struct{ ID int64 }
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/assignees", convs[0]), nil).Expect(200).Decode(&who)
		for _, w := range who {
			if w.ID == ana.UserID {
				t.Fatal("a deactivated user may be assigned")
			}
		}
		admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", convs[0]), map[string]any{"assignee_id": ana.UserID}).Expect(422)

		// Back again.
		admin.Do("POST", fmt.Sprintf("/api/v1/users/%d/reactivate", ana.UserID), nil).Expect(200)
		again := srv.Anonymous()
		again.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}).Expect(200)
		// Signed in, an agent is Away until they choose Available.
		if m := me(t, again); m.ID != ana.UserID || m.Status != "away" {
			t.Fatalf("reactivated: %+v", m)
		}
		anaAPI.Do("GET", "/api/v1/me", nil).Expect(401) // revoked tokens stay revoked
	})
}

// TestPasswordReset: "Forgot password?" answers the same for any address
// and mails a single-use link to an account's; the old password works
// until the new one is set, which ends every session and revokes every
// API token. Requests are limited per address. An admin can send a link.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := startPeople(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service)
		anaAPI := ana.WithToken()
		anon := noRedirects(srv.Anonymous())

		known := anon.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "Ana@example.com"}).Expect(202)
		unknown := anon.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "nobody@example.com"}).Expect(202)
		if string(known.Body) != string(unknown.Body) {
			t.Fatalf("answers differ: %q and %q", known.Body, unknown.Body)
		}
		if e := anon.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "not an address"}).Expect(422).Err(); e.Fields["email"] == "" {
			t.Fatalf("bad address: %+v", e)
		}
		m := srv.smtp.Wait(t, "ana@example.com", "new Switchboard password")
		link := m.Link()
		if !strings.HasPrefix(link, srv.URL+"/password-reset/sbr_") || !strings.Contains(m.Text, "an hour") {
			t.Fatalf("mail: %+v", m)
		}
		path := strings.TrimPrefix(link, srv.URL)
		for _, x := range srv.smtp.Mails() {
			if x.To[0] == "nobody@example.com" {
				t.Fatal("a mail to an address without an account")
			}
		}

		// Until the new password is set, the old one works.
		srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}).Expect(200)
		if page := anon.Do("GET", path, nil).Expect(200); !strings.Contains(string(page.Body), "ana@example.com") {
			t.Fatalf("link page: %s", page.Body)
		}
		r := form(anon, path, url.Values{"password": {"short"}, "repeat_password": {"short"}}).Expect(422)
		if fieldError(r.Body, "password") == "" {
			t.Fatalf("weak password: %s", r.Body)
		}
		r = form(anon, path, url.Values{"password": {"a brand new password"}, "repeat_password": {"a brand new password"}}).Expect(303)
		if loc := r.Header.Get("Location"); loc != "/login?reset=1" {
			t.Fatalf("after the new password: %s", loc)
		}
		ana.Do("GET", "/api/v1/me", nil).Expect(401)
		anaAPI.Do("GET", "/api/v1/me", nil).Expect(401)
		srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}).Expect(401)
		srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "a brand new password"}).Expect(200)
		// Once only.
		anon.Do("GET", path, nil).Expect(404)
		anon.Do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": strings.TrimPrefix(path, "/password-reset/"), "password": "another new password"}).Expect(404)

		// Three requests an hour per address, whether it has an account or
		// not (this is ana's second, so two more pass).
		for _, email := range []string{"ana@example.com", "nobody@example.com"} {
			for range 2 {
				anon.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": email}).Expect(202)
			}
		}
		anon.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "ana@example.com"}).Expect(429)
		anon.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "nobody@example.com"}).Expect(429)

		// An admin sends one; the sign-in page offers to ask for one.
		bo := srv.NewUser("bo@example.com", policy.Sales)
		r = form(noRedirects(admin), fmt.Sprintf("/admin/users/%d/password-reset", bo.UserID), url.Values{}).Expect(303)
		if page := admin.Do("GET", r.Header.Get("Location"), nil).Expect(200); !strings.Contains(string(page.Body), "was mailed to bo@example.com") {
			t.Fatalf("admin page after sending: %s", page.Body)
		}
		if m := srv.smtp.Wait(t, "bo@example.com", "new Switchboard password"); !strings.Contains(m.Text, "Admin has sent you a link") {
			t.Fatalf("admin's mail: %s", m.Text)
		}
		if page := srv.Anonymous().Do("GET", "/login", nil).Expect(200); !strings.Contains(string(page.Body), `href="/login/forgot"`) {
			t.Fatal("no Forgot password? on the sign-in page")
		}
	})
}

// TestArchiveInbox: archiving closes the inbox's open conversations and
// keeps them read-only and listed; the widget starts no new chats and a
// visitor's messages are refused; the inbox is marked archived.
func TestArchiveInbox(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		in, _ := srv.NewWebchatInbox("Old site")
		other, _ := srv.NewWebchatInbox("New site")
		v := srv.NewVisitor(in.Token, map[string]string{"name": "Cy"})
		v.Say("hello")
		srv.NewVisitor(other.Token, map[string]string{"name": "Dee"}).Say("hi")
		var list page[conv]
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations?inbox_id=%d", in.ID), nil).Expect(200).Decode(&list)
		if len(list.Items) != 1 {
			t.Fatalf("%d conversations", len(list.Items))
		}
		cid := list.Items[0].ID

		srv.NewUser("agent@example.com", policy.Service, in.ID).Do("DELETE", fmt.Sprintf("/api/v1/inboxes/%d", in.ID), nil).Expect(403)
		admin.Do("DELETE", fmt.Sprintf("/api/v1/inboxes/%d", in.ID), nil).Expect(204)
		admin.Do("DELETE", fmt.Sprintf("/api/v1/inboxes/%d", in.ID), nil).Expect(409)
		admin.Do("DELETE", "/api/v1/inboxes/999999", nil).Expect(404)

		var got struct {
			ArchivedAt *string `json:"archived_at"`
		}
		admin.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d", in.ID), nil).Expect(200).Decode(&got)
		if got.ArchivedAt == nil {
			t.Fatal("the inbox is not marked archived")
		}
		// Closed, kept, read-only.
		var c struct{ Status string }
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", cid), nil).Expect(200).Decode(&c)
		if c.Status != "closed" {
			t.Fatalf("conversation %s after archiving", c.Status)
		}
		admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/reopen", cid), nil).Expect(409)
		admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", cid), map[string]string{"text": "still there?"}).Expect(409)
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", cid), nil).Expect(200)
		// Nothing comes in any more.
		r := srv.Anonymous().Do("POST", "/public/v1/inboxes/"+in.Token+"/sessions", map[string]string{}).Expect(409)
		if !strings.Contains(r.Err().Message, "This chat is closed") {
			t.Fatalf("new chat on an archived inbox: %s", r.Body)
		}
		v.Client.Do("POST", "/public/v1/messages", map[string]string{"id": "m-after", "text": "anyone?"}).Expect(409)
		// The other inbox works on.
		var open struct{ Status string }
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations?inbox_id=%d", other.ID), nil).Expect(200).Decode(&list)
		admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", list.Items[0].ID), nil).Expect(200).Decode(&open)
		if open.Status != "open" {
			t.Fatalf("another inbox's conversation: %s", open.Status)
		}
		// The admin list marks it.
		if page := admin.Do("GET", "/admin/inboxes", nil).Expect(200); !strings.Contains(string(page.Body), `badge archived`) {
			t.Fatal("the list does not mark the archived inbox")
		}
	})
}
