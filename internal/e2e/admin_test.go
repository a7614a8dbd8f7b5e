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

		// The agent's next page is the sign-in page, which says why.
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
