package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestFirstAdmin: on a new server the setup page makes the first admin,
// who lands on the inboxes and is told they are Away and how to become
// Available; doing what it says makes them Available.
func TestFirstAdmin(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	ctx := Browser(t)
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/setup"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Ada Admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testrig.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.page-notice`)),
	)
	Shot(t, ctx, "welcome")
	if path := wsEval[string](t, ctx, `location.pathname`); path != "/admin/inboxes" {
		t.Errorf("setup led to %s, want the inboxes", path)
	}
	notice := wsEval[string](t, ctx, `document.querySelector("p.page-notice").textContent`)
	for _, want := range []string{"You are Away", "status menu under your name", "choose Available"} {
		if !strings.Contains(notice, want) {
			t.Errorf("the notice %q does not say %q", notice, want)
		}
	}
	wsWaitText(t, ctx, "#me-status .status-badge", "Away")
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`#me-menu summary`)),
		chromedp.Click(chromedp.CSS(`.status-choice[data-status=available]`)),
	)
	wsWaitText(t, ctx, "#me-status .status-badge", "Available")
}
