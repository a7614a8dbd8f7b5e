package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// fakeAlerts replaces the page's sound player and the browser's
// notifications with recorders (headless Chromium plays no sound and asks
// nobody for permission), and says the page is in the background.
const fakeAlerts = `(() => {
	window.__played = [];
	window.__popups = [];
	HTMLMediaElement.prototype.play = function () { window.__played.push(this.src); return Promise.resolve(); };
	window.Notification = class { constructor(title, opts) { window.__popups.push(title + " | " + (opts && opts.body || "")); } close() {} };
	window.Notification.permission = "granted";
	window.Notification.requestPermission = () => Promise.resolve("granted");
	document.hasFocus = () => false;
	// The tabs of a browser decide who alerts under the lock "sb-notify":
	// a request made after the page's own is granted once that decision is
	// made, and records an assignment's event as settled in this tab.
	window.__settled = [];
	document.addEventListener("sb:event", (e) => {
		if (e.detail.notify !== "assigned") return;
		navigator.locks.request("sb-notify", () => { window.__settled.push(e.detail.seq); });
	});
	return true;
})()`

// TestNotificationsAndTabs: a customer's new conversation, given to the
// Available agent, plays the sound they chose and shows a pop-up; their
// status and preferences follow them into every open tab; the composer
// capitalizes the first letter when they ask for it.
func TestNotificationsAndTabs(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	admin := srv.NewUser("admin@example.com", policy.Admin)
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Shop", ana.UserID)
	admin.Do("PUT", fmt.Sprintf("/api/v1/inboxes/%d/assignment", in.ID), map[string]bool{"auto_assign": true}).Expect(http.StatusOK)
	// A new conversation assigned to Ana: the knock, always, and a pop-up.
	ana.Do("PATCH", "/api/v1/me", map[string]any{"notifications": map[string]any{
		"assigned": map[string]any{"on": true, "sound": "knock", "sound_when": "always", "repeat": "once", "popup": true},
	}}).Expect(http.StatusOK)

	tab1 := wsSignIn(t, srv, "ana@example.com", "/inbox")
	wsLive(t, tab1)
	tab2, cancel := chromedp.NewContext(tab1) // a second tab of the same browser
	defer cancel()
	Do(t, tab2, chromedp.Navigate(srv.URL+"/preferences/settings"), chromedp.WaitVisible(chromedp.CSS(`.settings-form`)))
	wsLive(t, tab2)

	// The status set in one tab shows in the other.
	Do(t, tab1,
		chromedp.Click(chromedp.CSS(`#me-menu summary`)),
		chromedp.Click(chromedp.CSS(`.status-choice[data-status=available]`)),
	)
	wsWaitText(t, tab2, "#me-status .status-badge", "Available")

	// The customer writes: the conversation goes to Ana, who hears it,
	// once (in one of her tabs).
	for _, tab := range []context.Context{tab1, tab2} {
		if ok := wsEval[bool](t, tab, fakeAlerts); !ok {
			t.Fatal("could not install the recorders")
		}
	}
	srv.NewVisitor(in.Token, map[string]string{"name": "Carla"}).Say("Hello, is my order on its way?")
	heard := func() (played, popups int) {
		for _, tab := range []context.Context{tab1, tab2} {
			played += wsEval[int](t, tab, `window.__played.filter(s => s.endsWith("/static/sounds/knock.wav")).length`)
			popups += wsEval[int](t, tab, `window.__popups.filter(p => p.startsWith("A conversation was assigned to you") && p.includes("Carla")).length`)
		}
		return played, popups
	}
	// Once both tabs have settled the alert, exactly one has given it.
	var seq int64
	for _, tab := range []context.Context{tab1, tab2} {
		wsWait(t, tab, `() => window.__settled.length > 0`)
		got := wsEval[[]int64](t, tab, `window.__settled`)
		if seq == 0 {
			seq = got[0]
		}
		if len(got) != 1 || got[0] != seq {
			t.Fatalf("alerts settled %v, want the assignment's alone (%d)", got, seq)
		}
	}
	if p, n := heard(); p != 1 || n != 1 {
		t.Errorf("sound played %d times and %d pop-ups in two tabs, want once", p, n)
	}

	// Settings saved in one tab reach the other at once: the composer of
	// tab 1 capitalizes the first letter.
	Do(t, tab2,
		chromedp.Click(chromedp.CSS(`input[name=capitalize_first]`)),
		chromedp.Click(chromedp.CSS(`.settings-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	wsWait(t, tab1, `() => document.body.dataset.capitalize === "true"`)
	Do(t, tab1,
		chromedp.Click(chromedp.CSS(`#rows li.row a`)),
		chromedp.WaitVisible(chromedp.CSS(`#reply`)),
		chromedp.SendKeys(chromedp.CSS(`#reply`), "yes, it left today"),
	)
	if got := wsEval[string](t, tab1, `document.querySelector("#reply").value`); got != "Yes, it left today" {
		t.Errorf("composer %q, want the first letter capitalized", got)
	}
	if strings.Contains(wsEval[string](t, tab1, `document.body.innerHTML`), "#ZgotmplZ") {
		t.Error("a template value was refused by the escaper")
	}
}
