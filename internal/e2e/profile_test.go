package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/team"
)

// TestProfileAndEmail, in two real browsers: an agent fills in first
// name, last name and location, and sees their role, teams and inboxes
// on the profile; an admin changes the agent's email from the user's
// page; the agent opens the link of the mail (read from an SMTP server in
// the test), confirms, and the profile shows the new address; the old
// address is told.
func TestProfileAndEmail(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { profileAndEmail(t, d) })
}

func profileAndEmail(t *testing.T, d *db.DB) {
	srv, smtp := startWithMail(t, d)
	srv.NewUser("admin@example.com", policy.Admin)
	ana := srv.NewUser("ana@example.com", policy.Service)
	srv.NewWebchatInbox("Main site", ana.UserID)
	srv.NewWebchatInbox("Shop", ana.UserID)
	if _, err := srv.App.Teams.Create(context.Background(), team.NewTeam{Name: "Night shift", MemberIDs: []int64{ana.UserID}}); err != nil {
		t.Fatal(err)
	}

	// The agent's profile: the new fields, and the summary.
	me := wsSignIn(t, srv, "ana@example.com", "/preferences")
	AllowStatus(me, 422, "/preferences") // the form refused on purpose
	Do(t, me,
		chromedp.Navigate(srv.URL+"/preferences"),
		chromedp.WaitVisible(chromedp.CSS(`.profile-form input[name=first_name]`)),
	)
	wsWaitText(t, me, ".profile-role", "Service")
	wsWaitText(t, me, ".profile-teams", "Night shift")
	wsWaitText(t, me, ".profile-inboxes", "Main site, Shop")
	// A first name is needed: the message stands next to the field, and
	// what was typed stays.
	wsEval[string](t, me, `document.querySelector(".profile-form input[name=first_name]").value = ""`)
	Do(t, me,
		chromedp.SetValue(chromedp.CSS(`.profile-form input[name=last_name]`), "Díaz"),
		chromedp.Click(chromedp.CSS(`.profile-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.field-error[data-field=first_name]`)),
	)
	wsWaitText(t, me, ".field-error[data-field=first_name]", "Enter a first name.")
	if got := wsEval[string](t, me, `document.querySelector(".profile-form input[name=last_name]").value`); got != "Díaz" {
		t.Fatalf("last name kept as %q", got)
	}
	Do(t, me,
		chromedp.SetValue(chromedp.CSS(`.profile-form input[name=first_name]`), "Ana María"),
		chromedp.SetValue(chromedp.CSS(`.profile-form input[name=location]`), "Sevilla, Spain"),
		chromedp.Click(chromedp.CSS(`.profile-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	wsWaitText(t, me, ".notice", "Saved.")
	wsWaitText(t, me, "#me-name", "Ana María Díaz")
	got := wsEval[string](t, me, `["first_name", "last_name", "location"].map(n => document.querySelector(".profile-form input[name=" + n + "]").value).join("|")`)
	if got != "Ana María|Díaz|Sevilla, Spain" {
		t.Fatalf("profile fields %q", got)
	}
	if u, _ := srv.App.Users.Get(context.Background(), ana.UserID); u.Name != "Ana María Díaz" || u.Location != "Sevilla, Spain" {
		t.Fatalf("stored %+v", u)
	}
	wsWaitText(t, me, ".profile-email", "ana@example.com")

	// The admin changes the email from the user's page.
	admin := wsSignIn(t, srv, "admin@example.com", "/admin/users")
	Do(t, admin,
		chromedp.Navigate(srv.URL+"/admin/users/"+strconv.FormatInt(ana.UserID, 10)),
		chromedp.WaitVisible(chromedp.CSS(`.email-form input[name=email]`)),
	)
	wsWaitText(t, admin, ".user-email-current", "ana@example.com")
	Do(t, admin,
		chromedp.SendKeys(chromedp.CSS(`.email-form input[name=email]`), "ana.diaz@example.org"),
		chromedp.Click(chromedp.CSS(`.email-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.pending-email`)),
	)
	wsWaitText(t, admin, ".pending-email", "ana.diaz@example.org")
	wsWaitText(t, admin, ".email-notice", "confirmation link")

	// Until confirmed, the profile says so and the address stays.
	Do(t, me, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`.profile-email-change`)))
	wsWaitText(t, me, ".profile-email-change", "ana.diaz@example.org")
	wsWaitText(t, me, ".profile-email", "ana@example.com")

	// The link of the mail: a page that asks to confirm; then the change.
	m := smtp.Wait(t, "ana.diaz@example.org", "Confirm your new email address")
	link := m.Link()
	if !strings.HasPrefix(link, srv.URL+"/email-change/") {
		t.Fatalf("link %q in %q", link, m.Text)
	}
	Do(t, me,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`.email-change-confirm button[type=submit]`)),
	)
	wsWaitText(t, me, ".email-change-current", "ana@example.com")
	wsWaitText(t, me, ".email-change-new", "ana.diaz@example.org")
	Do(t, me,
		chromedp.Click(chromedp.CSS(`.email-change-confirm button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.email-change-done`)),
	)
	wsWaitText(t, me, ".email-change-done", "ana.diaz@example.org")
	smtp.Wait(t, "ana@example.com", "ana.diaz@example.org")
	Do(t, me,
		chromedp.Navigate(srv.URL+"/preferences"),
		chromedp.WaitVisible(chromedp.CSS(`.profile-email`)),
	)
	wsWaitText(t, me, ".profile-email", "ana.diaz@example.org")
	if n := wsEval[int](t, me, `document.querySelectorAll(".profile-email-change").length`); n != 0 {
		t.Error("the profile still says a change waits")
	}
}
