package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestDeactivateUser: an admin deactivates an agent from their page, after
// reading what it does; the agent's open browser is signed out, signing in
// again says the account is deactivated, and the users list marks it.
// Reactivated, the agent signs in again.
func TestDeactivateUser(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service)
		agent := wsSignIn(t, srv, "ana@example.com", "/inbox")
		admin := wsSignIn(t, srv, "admin@example.com", fmt.Sprintf("/admin/users/%d", ana.UserID))

		Do(t, admin,
			chromedp.WaitVisible(chromedp.CSS(`details.deactivate summary`)),
			chromedp.Click(chromedp.CSS(`details.deactivate summary`)),
			chromedp.WaitVisible(chromedp.CSS(`.deactivate-form button[type=submit]`)),
		)
		wsWaitText(t, admin, ".deactivate-form p", "go back to routing")
		Do(t, admin,
			chromedp.Click(chromedp.CSS(`.deactivate-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.reactivate-form`)),
		)
		wsWaitText(t, admin, ".account-notice", "signed out everywhere")
		wsWaitText(t, admin, ".deactivated", "deactivated")

		// The agent's next page is the sign-in page, which says why (a 401).
		AllowStatus(agent, 401, "/login")
		Do(t, agent,
			chromedp.Navigate(srv.URL+"/inbox"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "ana@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testrig.Password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`p.error`)),
		)
		wsWaitText(t, agent, "p.error", "This account has been deactivated")

		Do(t, admin, chromedp.Navigate(srv.URL+"/admin/users"))
		wsWaitText(t, admin, fmt.Sprintf(`tr[data-user="%d"] .badge`, ana.UserID), "Deactivated")

		Do(t, admin,
			chromedp.Navigate(fmt.Sprintf("%s/admin/users/%d", srv.URL, ana.UserID)),
			chromedp.WaitVisible(chromedp.CSS(`.reactivate-form button`)),
			chromedp.Click(chromedp.CSS(`.reactivate-form button`)),
			chromedp.WaitVisible(chromedp.CSS(`details.deactivate`)),
		)
		wsWaitText(t, admin, ".account-notice", "Reactivated")
		wsLogin(t, agent, srv, "ana@example.com", "/inbox")
	})
}

// TestForgotPassword: from the sign-in page an agent asks for a link,
// opens it from their mail, chooses a new password and signs in with it.
func TestForgotPassword(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv, smtp := startWithMail(t, d)
		srv.NewUser("ana@example.com", policy.Service)
		me := Browser(t)
		AllowStatus(me, 404, "/password-reset/[^/]+") // the link used twice
		Do(t, me,
			chromedp.Navigate(srv.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`p.forgot a`)),
			chromedp.Click(chromedp.CSS(`p.forgot a`)),
			chromedp.WaitVisible(chromedp.CSS(`.forgot-form input[name=email]`)),
			chromedp.SendKeys(chromedp.CSS(`.forgot-form input[name=email]`), "ana@example.com"),
			chromedp.Click(chromedp.CSS(`.forgot-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
		)
		wsWaitText(t, me, "p.notice", "If this address has an account")
		link := smtp.Wait(t, "ana@example.com", "new Switchboard password").Link()
		Do(t, me,
			chromedp.Navigate(link),
			chromedp.WaitVisible(chromedp.CSS(`.reset-form input[name=password]`)),
			chromedp.SendKeys(chromedp.CSS(`.reset-form input[name=password]`), "a brand new password"),
			chromedp.SendKeys(chromedp.CSS(`.reset-form input[name=repeat_password]`), "a brand new password"),
			chromedp.Click(chromedp.CSS(`.reset-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
		)
		wsWaitText(t, me, "p.notice", "Your new password is set")
		Do(t, me,
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "ana@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a brand new password"),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`header.top`)),
		)
		// The link worked once.
		Do(t, me, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`.reset-problem`)))
	})
}

// TestArchiveInboxPage: the admin archives an inbox from its page after
// reading what happens to its conversations; the list says so.
func TestArchiveInboxPage(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		srv.NewUser("admin@example.com", policy.Admin)
		in, _ := srv.NewWebchatInbox("Old site")
		srv.NewVisitor(in.Token, map[string]string{"name": "Cy"}).Say("hello")
		admin := wsSignIn(t, srv, "admin@example.com", fmt.Sprintf("/admin/inboxes/%d", in.ID))
		Do(t, admin,
			chromedp.WaitVisible(chromedp.CSS(`details.archive summary`)),
			chromedp.Click(chromedp.CSS(`details.archive summary`)),
			chromedp.WaitVisible(chromedp.CSS(`.archive-form button[type=submit]`)),
		)
		wsWaitText(t, admin, ".archive-form p", "read-only, in lists and searches")
		Do(t, admin,
			chromedp.Click(chromedp.CSS(`.archive-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.archive-notice`)),
		)
		wsWaitText(t, admin, ".archive-notice", "1 open conversations were closed")
		wsWaitText(t, admin, "table.inboxes .badge", "Archived")
	})
}
