package web_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// named is a team or an inbox in the profile's summary.
type named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// text is the text of the element with class in body, tags left out.
func text(body []byte, class string) string {
	m := regexp.MustCompile(`class="` + regexp.QuoteMeta(class) + `"[^>]*>(.*?)</(?:dd|p|span)>`).FindSubmatch(body)
	if m == nil {
		return ""
	}
	return htmlUnescape(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(string(m[1]), ""))
}

// TestProfileDetails: people keep their first and last name and location
// (the whole name follows), from the profile page and the API; the
// profile shows their role, teams and inboxes.
func TestProfileDetails(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Sales)
		site, _ := srv.NewWebchatInbox("Main site", ana.UserID)
		shop, _ := srv.NewWebchatInbox("Shop", ana.UserID)
		srv.NewWebchatInbox("Elsewhere")
		admin.Do("POST", "/api/v1/teams", map[string]any{"name": "Night shift", "member_ids": []int64{ana.UserID}}).Expect(201)
		admin.Do("POST", "/api/v1/teams", map[string]any{"name": "Billing", "member_ids": []int64{ana.UserID, admin.UserID}}).Expect(201)

		p := me(t, ana)
		if p.FirstName != "Ana" || p.LastName != "" || p.Role != "sales" || len(p.Teams) != 2 || p.Teams[0].Name != "Billing" || p.Teams[1].Name != "Night shift" ||
			len(p.Inboxes) != 2 || p.Inboxes[0].ID != site.ID || p.Inboxes[0].Name != "Main site" || p.Inboxes[1].ID != shop.ID || p.EmailChange != nil {
			t.Fatalf("profile %+v", p)
		}

		// The API: in parts, one part alone, refused field by field.
		ana.Do("PATCH", "/api/v1/me", map[string]any{"first_name": "Ana María", "last_name": "Díaz", "location": "Sevilla, Spain"}).Expect(200)
		ana.Do("PATCH", "/api/v1/me", map[string]any{"last_name": "Díaz Ruiz"}).Expect(200)
		if p := me(t, ana); p.Name != "Ana María Díaz Ruiz" || p.FirstName != "Ana María" || p.LastName != "Díaz Ruiz" || p.Location != "Sevilla, Spain" {
			t.Fatalf("after the API %+v", p)
		}
		e := ana.Do("PATCH", "/api/v1/me", map[string]any{"first_name": "", "location": strings.Repeat("x", 101)}).Expect(422).Err()
		if e.Fields["first_name"] != "Enter a first name." || e.Fields["location"] != "A location has at most 100 characters." {
			t.Fatalf("refused %+v", e)
		}
		if e := ana.Do("PATCH", "/api/v1/me", map[string]any{"name": "Ana", "first_name": "Ana"}).Expect(422).Err(); e.Fields["name"] == "" {
			t.Fatalf("whole and in parts %+v", e)
		}

		// The page shows the fields and the summary; its form saves them.
		page := ana.Do("GET", "/preferences", nil).Expect(200).Body
		for _, want := range []string{`name="first_name" value="Ana María"`, `name="last_name" value="Díaz Ruiz"`, `name="location" value="Sevilla, Spain"`} {
			if !strings.Contains(string(page), want) {
				t.Errorf("the profile page lacks %s", want)
			}
		}
		if got := text(page, "profile-role"); got != "Sales" {
			t.Errorf("role %q", got)
		}
		if got := text(page, "profile-teams"); got != "Billing, Night shift" {
			t.Errorf("teams %q", got)
		}
		if got := text(page, "profile-inboxes"); got != "Main site, Shop" {
			t.Errorf("inboxes %q", got)
		}
		noRedirects(ana)
		form(ana, "/preferences", url.Values{"first_name": {"Ana"}, "last_name": {"Díaz"}, "location": {"Madrid"}, "language": {"en"}}).Expect(303)
		ana.HTTP.CheckRedirect = nil
		if p := me(t, ana); p.Name != "Ana Díaz" || p.Location != "Madrid" {
			t.Errorf("after the form %+v", p)
		}
		// Others see the whole name.
		var us []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		admin.Do("GET", "/api/v1/users", nil).Expect(200).Decode(&us)
		for _, u := range us {
			if u.ID == ana.UserID && u.Name != "Ana Díaz" {
				t.Errorf("listed as %q", u.Name)
			}
		}
		// Nobody's teams or inboxes: said so.
		cy := srv.NewUser("cy@example.com", policy.Service)
		page = cy.Do("GET", "/preferences", nil).Expect(200).Body
		if text(page, "profile-teams") != "None" || text(page, "profile-inboxes") != "None" {
			t.Errorf("empty summary: %q, %q", text(page, "profile-teams"), text(page, "profile-inboxes"))
		}
	})
}

// TestEmailChange: an admin changes a user's address, from the API and
// from the user's page; the address changes only when the link mailed to
// the new address is confirmed; then the user signs in with it and the
// old address is told.
func TestEmailChange(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := startPeople(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service)
		path := fmt.Sprintf("/api/v1/users/%d/email-change", ana.UserID)

		admin.Do("GET", path, nil).Expect(404)
		if e := admin.Do("POST", path, map[string]any{"email": "admin@example.com"}).Expect(422).Err(); e.Fields["email"] != "Another account has this email address." {
			t.Fatalf("taken %+v", e)
		}
		if e := admin.Do("POST", path, map[string]any{"email": "ana"}).Expect(422).Err(); e.Fields["email"] == "" {
			t.Fatalf("bad address %+v", e)
		}
		admin.Do("POST", "/api/v1/users/999999/email-change", map[string]any{"email": "x@example.com"}).Expect(404)

		var c struct {
			UserID int64  `json:"user_id"`
			Email  string `json:"email"`
		}
		admin.Do("POST", path, map[string]any{"email": "ana.diaz@example.org"}).Expect(201).Decode(&c)
		if c.UserID != ana.UserID || c.Email != "ana.diaz@example.org" {
			t.Fatalf("change %+v", c)
		}
		admin.Do("GET", path, nil).Expect(200)
		if p := me(t, ana); p.Email != "ana@example.com" || p.EmailChange == nil || *p.EmailChange != "ana.diaz@example.org" {
			t.Fatalf("while waiting %+v", p)
		}
		if !strings.Contains(text(ana.Do("GET", "/preferences", nil).Expect(200).Body, "hint profile-email-change"), "ana.diaz@example.org") {
			t.Error("the profile does not say a change waits")
		}
		m := srv.smtp.Wait(t, "ana.diaz@example.org", "Confirm your new email address")
		link := m.Link()
		if !strings.HasPrefix(link, srv.URL+"/email-change/sbe_") || !strings.Contains(m.Text, "Admin") {
			t.Fatalf("mail %+v", m)
		}
		// Opening the link changes nothing (mail scanners open links too).
		visitor := srv.Anonymous()
		page := visitor.Do("GET", strings.TrimPrefix(link, srv.URL), nil).Expect(200).Body
		if text(page, "email-change-current") != "ana@example.com" || text(page, "email-change-new") != "ana.diaz@example.org" {
			t.Fatalf("confirmation page %s", page)
		}
		if p := me(t, ana); p.Email != "ana@example.com" {
			t.Fatal("changed by opening the link")
		}
		page = form(visitor, strings.TrimPrefix(link, srv.URL), url.Values{}).Expect(200).Body
		if !strings.Contains(text(page, "notice email-change-done"), "ana.diaz@example.org") {
			t.Fatalf("after confirming %s", page)
		}
		if p := me(t, ana); p.Email != "ana.diaz@example.org" || p.EmailChange != nil {
			t.Fatalf("after confirming %+v", p)
		}
		told := srv.smtp.Wait(t, "ana@example.com", "ana.diaz@example.org")
		if told.Link() != "" {
			t.Errorf("the old address got a link: %q", told.Text)
		}
		srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana.diaz@example.org", "password": testrig.Password}).Expect(200)
		srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}).Expect(401)
		if r := form(visitor, strings.TrimPrefix(link, srv.URL), url.Values{}); r.StatusCode != 404 || text(r.Body, "error email-change-problem") == "" {
			t.Errorf("a link used twice: %d", r.StatusCode)
		}
		admin.Do("GET", path, nil).Expect(404)

		// From the user's page: asked, shown as waiting, cancelled.
		noRedirects(admin)
		form(admin, fmt.Sprintf("/admin/users/%d/email", ana.UserID), url.Values{"email": {"ana@example.net"}}).Expect(303)
		admin.HTTP.CheckRedirect = nil
		page = admin.Do("GET", fmt.Sprintf("/admin/users/%d?email=sent", ana.UserID), nil).Expect(200).Body
		if !strings.Contains(text(page, "pending-email"), "ana@example.net") || text(page, "notice email-notice") == "" {
			t.Fatalf("the user's page does not show the change waiting: %s", page)
		}
		link = srv.smtp.Wait(t, "ana@example.net", "Confirm your new email address").Link()
		noRedirects(admin)
		form(admin, fmt.Sprintf("/admin/users/%d/email/cancel", ana.UserID), url.Values{}).Expect(303)
		admin.HTTP.CheckRedirect = nil
		if r := visitor.Do("GET", strings.TrimPrefix(link, srv.URL), nil); r.StatusCode != 404 {
			t.Errorf("a cancelled link: %d", r.StatusCode)
		}
		// The API cancels too.
		admin.Do("POST", path, map[string]any{"email": "ana@example.io"}).Expect(201)
		admin.Do("DELETE", path, nil).Expect(204)
		admin.Do("GET", path, nil).Expect(404)
		if p := me(t, ana); p.Email != "ana.diaz@example.org" {
			t.Errorf("in the end %s", p.Email)
		}
	})
}
