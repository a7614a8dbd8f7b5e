package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestPasswordChangeTokens: on the Security tab the password form offers
// to keep the API tokens, unticked; changing the password as it comes
// revokes them and says how many, and ticking the box keeps them.
func TestPasswordChangeTokens(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		ana := srv.NewUser("ana@example.com", policy.Service)
		one, two := ana.WithToken(), ana.WithToken()

		b := wsSignIn(t, srv, "ana@example.com", "/preferences/security")
		change := func(from, to string, keep bool) {
			t.Helper()
			actions := []chromedp.Action[chromedp.Void]{
				chromedp.WaitVisible(chromedp.CSS(`.password-form input[name=keep_api_tokens]`)),
				chromedp.SendKeys(chromedp.CSS(`.password-form input[name=current_password]`), from),
				chromedp.SendKeys(chromedp.CSS(`.password-form input[name=new_password]`), to),
				chromedp.SendKeys(chromedp.CSS(`.password-form input[name=repeat_password]`), to),
			}
			if keep {
				actions = append(actions, chromedp.Click(chromedp.CSS(`.password-form input[name=keep_api_tokens]`)))
			}
			actions = append(actions, chromedp.Click(chromedp.CSS(`.password-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
			Do(t, b, actions...)
		}
		if wsEval[bool](t, b, `document.querySelector(".password-form input[name=keep_api_tokens]").checked`) {
			t.Fatal("keep_api_tokens is ticked by default")
		}
		wsWaitText(t, b, ".password-form .hint", "revokes your API tokens")

		change(testrig.Password, "second long password", false)
		wsWaitText(t, b, "p.notice", "your 2 API tokens were revoked")
		one.Do("GET", "/api/v1/me", nil).Expect(401)
		two.Do("GET", "/api/v1/me", nil).Expect(401)

		c := srv.Anonymous()
		c.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "second long password"}).Expect(200)
		three := c.WithToken()
		Do(t, b, chromedp.Navigate(srv.URL+"/preferences/security"))
		wsWaitGone(t, b, "p.notice")
		change("second long password", "third long password", true)
		wsWaitText(t, b, "p.notice", "your API token was kept")
		three.Do("GET", "/api/v1/me", nil).Expect(200)
	})
}
