package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestPhoneWorkspace works a conversation on a phone-width screen
// (390×844): the list fills the screen, a conversation replaces it with a
// way back, its side panel takes the place of the messages on demand, the
// composer sends, and no page scrolls sideways. At 1280×800 the list and
// the conversation stand side by side.
func TestPhoneWorkspace(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Admin)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID)
	for i := range 3 {
		v := srv.NewVisitor(in.Token, map[string]string{"name": fmt.Sprintf("Customer with a rather long name %d", i)})
		v.Say(fmt.Sprintf("Hello, where is my order %d? It has been a long time since I ordered it, and nobody answers.", i))
	}
	ana.Do("POST", "/api/v1/teams", map[string]any{"name": "Front desk", "member_ids": []int64{ana.UserID}}).Expect(http.StatusCreated)
	ana.Do("POST", "/api/v1/tokens", map[string]string{"name": "CRM sync"}).Expect(http.StatusCreated)
	id := wsConversations(ana, "")[0].ID
	row := fmt.Sprintf("#row-%d", id)

	ctx := Browser(t)
	Do(t, ctx, chromedp.EmulateViewport(390, 844))
	wsLogin(t, ctx, srv, "ana@example.com", "/inbox")

	// The list alone, within the screen.
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(row)))
	wsLive(t, ctx)
	phoneShot(t, ctx, "inbox")
	phoneFits(t, ctx, "/inbox")
	if !phoneVisible(t, ctx, `#rows`) || phoneVisible(t, ctx, `.conv.placeholder`) {
		t.Fatal("the list is not alone on the screen")
	}
	if r := phoneRect(t, ctx, row); r.Left < 0 || r.Right > 390 {
		t.Fatalf("a row spans %v–%v px, want within 0–390", r.Left, r.Right)
	}

	// A conversation replaces the list, with a way back.
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(row+" a")),
		chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)),
	)
	wsLive(t, ctx)
	phoneShot(t, ctx, "conversation")
	phoneFits(t, ctx, "a conversation")
	if phoneVisible(t, ctx, `.list`) {
		t.Fatal("the list shows beside the conversation")
	}
	if !phoneVisible(t, ctx, `.conv-nav .back`) || !phoneVisible(t, ctx, `#messages`) {
		t.Fatal("no back button or no messages")
	}
	if phoneVisible(t, ctx, `#conv-side`) {
		t.Fatal("the side panel takes room from the messages")
	}
	for _, sel := range []string{`#composer`, `#composer textarea`, `#composer button[type=submit]`} {
		if r := phoneRect(t, ctx, sel); r.Left < 0 || r.Right > 390 || r.Bottom > 844 {
			t.Fatalf("%s spans x %v–%v, bottom %v; want within 390×844", sel, r.Left, r.Right, r.Bottom)
		}
	}

	// The side panel, in place of the messages; it stays open when the
	// header is rendered again.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.side-toggle`)), chromedp.WaitVisible(chromedp.CSS(`#contact-panel`)))
	phoneShot(t, ctx, "side-panel")
	if phoneVisible(t, ctx, `#messages`) || phoneVisible(t, ctx, `#composer`) {
		t.Fatal("the messages show with the side panel")
	}
	wsWaitText(t, ctx, `#contact-panel .contact-name`, "Customer with a rather long name")
	Do(t, ctx, chromedp.Click(chromedp.CSS(`button.assign-me`)))
	wsWaitText(t, ctx, `#conv-head .assignee`, "Assigned to Ana")
	if got := wsEval[string](t, ctx, `document.querySelector(".side-toggle").getAttribute("aria-expanded")`); got != "true" || !phoneVisible(t, ctx, `#conv-tags`) {
		t.Fatalf("after assigning: toggle expanded %q, tags visible %v; want the panel still open", got, phoneVisible(t, ctx, `#conv-tags`))
	}
	phoneFits(t, ctx, "the side panel")
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.side-toggle`)), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	if phoneVisible(t, ctx, `#conv-side`) {
		t.Fatal("the side panel stays over the messages")
	}

	// The composer sends.
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#composer textarea`), "It left our warehouse today.\n"))
	wsWaitText(t, ctx, `#messages article.outbound .text`, "It left our warehouse today.")
	wsWait(t, ctx, `() => document.querySelector("#composer textarea").value === ""`)
	phoneShot(t, ctx, "replied")
	phoneFits(t, ctx, "a conversation after a reply")

	// Back to the list.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.conv-nav .back`)), chromedp.WaitVisible(chromedp.CSS(row)))
	phoneFits(t, ctx, "/inbox, back")
	wsWaitText(t, ctx, row+" .preview", "It left our warehouse today.")

	// The other pages fit too.
	for _, path := range []string{
		"/preferences", "/preferences/security", "/preferences/notifications", "/preferences/settings",
		"/settings/tokens", "/admin/users", "/admin/users/new", "/admin/teams", "/admin/invitations",
		"/admin/inboxes", fmt.Sprintf("/admin/inboxes/%d", in.ID), "/admin/reports/time-in-status",
	} {
		Do(t, ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`main`)))
		phoneShot(t, ctx, strings.ReplaceAll(strings.Trim(path, "/"), "/", "-"))
		phoneFits(t, ctx, path)
	}

	// A desktop screen shows the list and the conversation side by side,
	// with the side panel, and no phone controls.
	Do(t, ctx, chromedp.EmulateViewport(1280, 800))
	Do(t, ctx,
		chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", srv.URL, id)),
		chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)),
	)
	phoneShot(t, ctx, "desktop")
	phoneFits(t, ctx, "a conversation on a desktop")
	for _, sel := range []string{`.list`, `#messages`, `#composer`, `#conv-side`} {
		if !phoneVisible(t, ctx, sel) {
			t.Fatalf("%s is not visible at 1280×800", sel)
		}
	}
	if phoneVisible(t, ctx, `.conv-nav`) {
		t.Fatal("the phone's back button and toggle show at 1280×800")
	}
	list, conv := phoneRect(t, ctx, `.list`), phoneRect(t, ctx, `#conv`)
	if list.Right > conv.Left || list.Top != conv.Top || conv.Right > 1280 {
		t.Fatalf("list %+v and conversation %+v are not side by side", list, conv)
	}
}

type phoneBox struct{ Left, Right, Top, Bottom float64 }

// phoneRect is where the element matching sel is on the screen.
func phoneRect(t *testing.T, ctx context.Context, sel string) phoneBox {
	t.Helper()
	return wsEval[phoneBox](t, ctx, fmt.Sprintf(`(() => {
		const r = document.querySelector(%q).getBoundingClientRect();
		return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom};
	})()`, sel))
}

// phoneVisible reports whether an element matching sel takes room on the
// page.
func phoneVisible(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return wsEval[bool](t, ctx, fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		return e !== null && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
	})()`, sel))
}

// phoneFits fails the test when the page scrolls sideways.
func phoneFits(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if w := wsEval[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
		t.Fatalf("%s is %d px wide on a %d px screen", what, w[0], w[1])
	}
}

// phoneShot saves a screenshot of the whole page as NAME.png in the
// directory SWITCHBOARD_TEST_SCREENSHOTS names, when it is set.
func phoneShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_TEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	b := Run(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
