package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestConsoleWatched: what any tab of a test's browser reports as an
// error is collected for the end of the test — a console error in the
// first tab, an exception in a tab the test opens, a refused inline style
// in a window a page opens — and what the test allows is left out.
func TestConsoleWatched(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	srv.NewUser("ana@example.com", policy.Service)
	ctx := wsSignIn(t, srv, "ana@example.com", "/inbox")
	c := ctx.Value(consoleKey{}).(*console)

	AllowConsole(ctx, `^error: allowed on purpose$`)
	wsEval[chromedp.Void](t, ctx, `console.error("allowed on purpose"); console.error("first tab")`)

	second, cancel := chromedp.NewContext(ctx)
	defer cancel()
	Do(t, second, chromedp.Navigate(srv.URL+"/inbox"), chromedp.WaitVisible(chromedp.CSS(`header.top`)))
	wsEval[chromedp.Void](t, second, `setTimeout(() => { throw new Error("second tab") }, 0)`)

	opened := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return i.Type == "page" })
	wsEval[chromedp.Void](t, ctx, `void window.open("/preferences", "popup", "popup")`)
	popup, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(<-opened))
	defer cancel()
	Do(t, popup, chromedp.WaitVisible(chromedp.CSS(`header.top`)))
	wsEval[chromedp.Void](t, popup, `document.body.insertAdjacentHTML("beforeend", '<p style="color: red">popup</p>')`)

	want := []string{"error: first tab", "exception: Uncaught Error: second tab", "error (security): Applying inline style violates"}
	wsEventually(t, "the errors are collected", func() string {
		c.flush()
		got := c.unexpected()
		for _, w := range want {
			if !slices.ContainsFunc(got, func(e string) bool { return strings.HasPrefix(e, w) }) {
				return "no " + w + " in " + strings.Join(got, "; ")
			}
		}
		if len(got) != len(want) {
			return "got " + strings.Join(got, "; ")
		}
		return ""
	})
	AllowConsole(ctx, ".") // what this test provoked does not fail it
}
