package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestLoginPage(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	srv.NewUser("agent@example.com", policy.Service)
	ctx := Browser(t)
	AllowStatus(ctx, 401, "/login") // the wrong password
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "agent@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "wrong password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.error`)),
	)
	msg := Run(t, ctx, chromedp.Text(chromedp.CSS(`.error`)))
	if !strings.Contains(msg, "not right") {
		t.Fatalf("error message %q", msg)
	}
}
