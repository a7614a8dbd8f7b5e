package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestSwapKeepsInlineStylesOut: a composer the agent has resized (the
// browser keeps the new height as a style attribute) is replaced after
// each send, and htmx does not carry that style over to the new one,
// which the Content-Security-Policy (style-src 'self') would refuse.
func TestSwapKeepsInlineStylesOut(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID)
	srv.NewVisitor(in.Token, map[string]string{"name": "Olga"}).Say("Hello")

	ctx := wsSignIn(t, srv, "ana@example.com", "/inbox")
	Do(t, ctx, chromedp.Click(chromedp.CSS(`#rows li.row a`)), chromedp.WaitVisible(chromedp.CSS(`#reply`)))
	// What dragging the corner of the text area does.
	wsEval[chromedp.Void](t, ctx, `document.querySelector("#reply").style.height = "140px"`)
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#reply`), "Hi there\n"))
	wsWaitText(t, ctx, `#messages article.outbound`, "Hi there")
	wsWait(t, ctx, `() => document.querySelector("#reply").value === ""`)
	// The console check at the end of the test sees any refused style.
}
