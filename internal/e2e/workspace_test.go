package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// signIn opens a browser and signs in as email through the login form.
func wsSignIn(t *testing.T, srv *testrig.Server, email, next string) context.Context {
	t.Helper()
	ctx := Browser(t)
	wsLogin(t, ctx, srv, email, next)
	return ctx
}

// wsLogin signs in as email in the browser of ctx.
func wsLogin(t *testing.T, ctx context.Context, srv *testrig.Server, email, next string) {
	t.Helper()
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/login?next="+next),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testrig.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`header.top`)),
	)
}

// waitFor waits until the JavaScript function fn, called with args,
// returns a truthy value.
func wsWait(t *testing.T, ctx context.Context, fn string, args ...any) {
	t.Helper()
	opts := []chromedp.PollOption{chromedp.WithPollingTimeout(10 * time.Second)}
	if len(args) > 0 {
		opts = append(opts, chromedp.WithPollingArgs(args...))
	}
	if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](fn, opts...)); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`main`)))
		t.Fatalf("waiting for %s %v: %v\npage: %s", fn, args, err, html)
	}
}

// waitText waits until an element matching sel has text containing want.
func wsWaitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	wsWait(t, ctx, `(sel, want) => Array.from(document.querySelectorAll(sel)).some(e => e.textContent.includes(want))`, sel, want)
}

// waitGone waits until nothing matches sel.
func wsWaitGone(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	wsWait(t, ctx, `(sel) => document.querySelector(sel) === null`, sel)
}

// js evaluates an expression in the page.
func wsEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return Run(t, ctx, chromedp.Evaluate[T](expr))
}

// waitLive waits until the page's WebSocket is connected.
func wsLive(t *testing.T, ctx context.Context) {
	t.Helper()
	wsWait(t, ctx, `() => document.body.dataset.connected === "true"`)
}

// choose picks a value in a select as a person would (firing change).
func wsChoose(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	Run(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const s = document.querySelector(%q);
		s.value = %q;
		s.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, sel, value)))
}

type wsConv struct {
	ID         int64    `json:"id"`
	Status     string   `json:"status"`
	AssigneeID *int64   `json:"assignee_id"`
	Tags       []string `json:"tags"`
	Unread     bool     `json:"unread"`
}

type wsMsg struct {
	ID        int64  `json:"id"`
	Text      string `json:"text"`
	Direction string `json:"direction"`
	From      string `json:"from"`
	Status    string `json:"status"`
}

func wsConversations(c *testrig.Client, query string) []wsConv {
	var p struct {
		Items []wsConv `json:"items"`
	}
	c.Do("GET", "/api/v1/conversations?"+query, nil).Expect(http.StatusOK).Decode(&p)
	return p.Items
}

func wsMessages(c *testrig.Client, id int64) []wsMsg {
	var p struct {
		Items []wsMsg `json:"items"`
	}
	c.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages?limit=100", id), nil).Expect(http.StatusOK).Decode(&p)
	return p.Items
}

// eventually retries check until it returns "" or time runs out.
func wsEventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentWorkspace plays a support conversation: a customer writes, the
// agent sees it arrive live, opens it, replies, and works it.
func TestAgentWorkspace(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { agentWorkspace(t, d) })
}

func agentWorkspace(t *testing.T, d *db.DB) {
	srv := testrig.Start(t, d)
	ana := srv.NewUser("ana@example.com", policy.Service)
	ben := srv.NewUser("ben@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID, ben.UserID)

	ctx := wsSignIn(t, srv, "ana@example.com", "/inbox")
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#rows-empty`)))
	wsLive(t, ctx)
	// A marker that a reload would wipe out.
	wsEval[chromedp.Void](t, ctx, `window.stayed = true`)

	// The customer's message appears in the list without a reload, unread.
	v := srv.NewVisitor(in.Token, map[string]string{"name": "Carla Customer"})
	v.Say("Hello, where is my order?")
	wsWaitText(t, ctx, `#rows li.row.unread .preview`, "Hello, where is my order?")
	wsWaitText(t, ctx, `#rows li.row .who`, "Carla Customer")
	if !wsEval[bool](t, ctx, `window.stayed === true`) {
		t.Fatal("the page reloaded")
	}
	if !wsEval[bool](t, ctx, `document.getElementById("rows-empty").hidden`) {
		t.Fatal("the list still says it is empty")
	}
	convs := wsConversations(ana, "")
	if len(convs) != 1 || !convs[0].Unread {
		t.Fatalf("conversations %+v, want one unread", convs)
	}
	id := convs[0].ID
	row := fmt.Sprintf("#row-%d", id)

	// Opening it marks it read.
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(row+" a")),
		chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)),
	)
	wsLive(t, ctx)
	wsWaitText(t, ctx, `#messages article.inbound .text`, "Hello, where is my order?")
	if wsEval[bool](t, ctx, `document.querySelector("`+row+`").classList.contains("unread")`) {
		t.Fatal("the open conversation is still marked unread")
	}
	if c := wsConversations(ana, ""); c[0].Unread {
		t.Fatal("the server still has the conversation unread")
	}

	// The reply shows at once and reaches the visitor.
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#composer textarea`), "It left our warehouse today.\n"))
	wsWaitText(t, ctx, `#messages article.outbound .text`, "It left our warehouse today.")
	wsWaitText(t, ctx, `#messages article.outbound .tick`, "Sent")
	wsEventually(t, "the visitor gets the reply", func() string {
		var p struct {
			Items []wsMsg `json:"items"`
		}
		v.Do("GET", "/public/v1/messages", nil).Expect(http.StatusOK).Decode(&p)
		for _, m := range p.Items {
			if m.From == "business" && m.Text == "It left our warehouse today." {
				return ""
			}
		}
		return fmt.Sprintf("visitor sees %+v", p.Items)
	})
	if got := wsEval[string](t, ctx, `document.querySelector("#composer textarea").value`); got != "" {
		t.Fatalf("composer still holds %q after sending", got)
	}

	// Shift+Enter is a new line; a double click sends once.
	Do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#composer textarea`), "Tracking:"),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierShift)),
		chromedp.SendKeys(chromedp.CSS(`#composer textarea`), "SB-123"),
	)
	if got := wsEval[string](t, ctx, `document.querySelector("#composer textarea").value`); got != "Tracking:\nSB-123" {
		t.Fatalf("composer holds %q, want two lines", got)
	}
	Do(t, ctx, chromedp.DoubleClick(chromedp.CSS(`#composer button[type=submit]`)))
	wsWaitText(t, ctx, `#messages article.outbound .text`, "Tracking:\nSB-123")
	wsWait(t, ctx, `() => document.querySelector("#composer textarea").value === ""`)
	var out int
	for _, m := range wsMessages(ana, id) {
		if m.Direction == "outbound" {
			out++
		}
	}
	if out != 2 {
		t.Fatalf("%d replies stored, want 2", out)
	}

	// A customer's markup is text: nothing is injected, nothing runs.
	v.Say(`<script>alert(1)</script>`)
	v.Say(`<img src=x onerror="document.body.dataset.pwned='yes'">`)
	wsWait(t, ctx, `() => Array.from(document.querySelectorAll("#messages .text")).some(e => e.textContent === "<img src=x onerror=\"document.body.dataset.pwned='yes'\">")`)
	wsWait(t, ctx, `() => Array.from(document.querySelectorAll("#messages .text")).some(e => e.textContent === "<script>alert(1)</script>")`)
	wsWaitText(t, ctx, row+" .preview", "<img src=x onerror=")
	if n := wsEval[int](t, ctx, `document.querySelectorAll("main script, main img").length`); n != 0 {
		t.Fatalf("%d script or img elements were injected", n)
	}
	if wsEval[bool](t, ctx, `document.body.dataset.pwned === "yes"`) {
		t.Fatal("the customer's markup ran")
	}
	// Seen while open: the live messages do not leave it unread.
	wsWait(t, ctx, `(sel) => !document.querySelector(sel).classList.contains("unread")`, row)

	// Close, and reopen.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`button.close-conv`)))
	wsWait(t, ctx, `() => document.querySelector("#conv-head").dataset.status === "closed"`)
	Do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`.closed-note`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#composer`)),
	)
	wsWaitGone(t, ctx, row) // the list shows open conversations
	if c := wsConversations(ana, "status=closed"); len(c) != 1 || c[0].ID != id {
		t.Fatalf("closed conversations %+v", c)
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(`button.reopen-conv`)))
	wsWait(t, ctx, `() => document.querySelector("#conv-head").dataset.status === "open"`)
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(row)))

	// Tags: add, refuse a bad one with a message, remove.
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#new-tag`), "VIP\n"))
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#conv-tags li[data-tag="vip"]`)))
	wsWaitText(t, ctx, row+" .tag", "vip")
	// The field stops at 50 characters; the server's answer covers
	// whatever gets past it.
	long := strings.Repeat("x", 51)
	AllowStatus(ctx, 422, `/inbox/conversations/\d+/tags`)
	Do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#new-tag`), long),
		chromedp.Click(chromedp.CSS(`.add-tag button[type=submit]`)),
	)
	wsWaitText(t, ctx, `#new-tag-error`, "at most 50 characters")
	if got := wsEval[string](t, ctx, `document.querySelector("#new-tag").value`); got != long {
		t.Fatalf("the refused tag was not kept: %q", got)
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(`#conv-tags li[data-tag="vip"] .remove-tag`)))
	wsWaitGone(t, ctx, `#conv-tags li[data-tag="vip"]`)
	wsWaitGone(t, ctx, row+" .tag")
	if c := wsConversations(ana, ""); len(c[0].Tags) != 0 {
		t.Fatalf("tags %v after removing", c[0].Tags)
	}

	// Assign to a colleague.
	wsChoose(t, ctx, `#assignee`, fmt.Sprint(ben.UserID))
	wsWaitText(t, ctx, `#conv-head .assignee`, "Assigned to Ben")
	wsWaitText(t, ctx, row+" .row-meta", "Ben")
	if c := wsConversations(ana, ""); c[0].AssigneeID == nil || *c[0].AssigneeID != ben.UserID {
		t.Fatalf("assignee %v, want Ben (%d)", c[0].AssigneeID, ben.UserID)
	}
	// And back to me.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`button.assign-me`)))
	wsWaitText(t, ctx, `#conv-head .assignee`, "Assigned to Ana")
}

// TestInboxLiveViews checks that the list follows changes made elsewhere:
// rows join, leave and move as conversations change, and pages load.
func TestInboxLiveViews(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { inboxLiveViews(t, d) })
}

func inboxLiveViews(t *testing.T, d *db.DB) {
	srv := testrig.Start(t, d)
	ana := srv.NewUser("ana@example.com", policy.Service)
	ben := srv.NewUser("ben@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID, ben.UserID)
	// 26 conversations: one more than a page.
	var first *testrig.Visitor
	for i := range 26 {
		v := srv.NewVisitor(in.Token, map[string]string{"name": fmt.Sprintf("Customer %02d", i)})
		v.Say(fmt.Sprintf("Message %02d", i))
		if i == 0 {
			first = v
		}
	}

	ctx := wsSignIn(t, srv, "ana@example.com", "/inbox%3Fview%3Dunassigned")
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#rows li.more button`)))
	wsLive(t, ctx)
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#rows li.row").length`); n != 25 {
		t.Fatalf("%d rows on the first page, want 25", n)
	}
	if got := wsEval[string](t, ctx, `document.querySelector("#rows li.row .preview").textContent`); got != "Message 25" {
		t.Fatalf("first row %q, want the newest", got)
	}
	// A change to the last loaded row keeps it in place while more pages
	// remain.
	last := wsEval[int64](t, ctx, `Number(Array.from(document.querySelectorAll("#rows li.row")).pop().dataset.id)`)
	ben.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/tags", last), map[string]string{"tag": "callback"}).Expect(http.StatusOK)
	wsWaitText(t, ctx, fmt.Sprintf("#row-%d .tag", last), "callback")
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#rows li.row").length`); n != 25 {
		t.Fatalf("%d rows after tagging the last one, want 25", n)
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(`#rows li.more button`)))
	wsWait(t, ctx, `() => document.querySelectorAll("#rows li.row").length === 26 && !document.querySelector("#rows li.more")`)

	// New activity moves a conversation to the top.
	first.Say("Still waiting")
	wsWait(t, ctx, `() => document.querySelector("#rows li.row .preview").textContent === "Still waiting"`)
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#rows li.row").length`); n != 26 {
		t.Fatalf("%d rows after an update, want 26 (no duplicates)", n)
	}

	// Assigned elsewhere, it leaves the Unassigned view.
	top := wsConversations(ana, "")[0]
	ben.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", top.ID), map[string]any{"assignee_id": ben.UserID}).Expect(http.StatusOK)
	wsWaitGone(t, ctx, fmt.Sprintf("#row-%d", top.ID))

	// Mine starts empty; a conversation assigned to me arrives live.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.views a[data-view=mine]`)), chromedp.WaitVisible(chromedp.CSS(`#rows-empty`)))
	wsLive(t, ctx)
	ben.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", top.ID), map[string]any{"assignee_id": ana.UserID}).Expect(http.StatusOK)
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#row-%d", top.ID))))
	if !wsEval[bool](t, ctx, `document.getElementById("rows-empty").hidden`) {
		t.Fatal("the list still says it is empty")
	}
}

// TestLiveResume cuts the live connection: while it is down a customer
// writes; the page reconnects with ?since= and catches up without a
// reload.
func TestLiveResume(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID)

	ctx := Browser(t)
	// Held reconnections fail, as the test means them to.
	AllowConsole(ctx, `^error \(network\): WebSocket connection to 'ws://[^/]+/api/v1/held\?`)
	// Keep the page's sockets within reach, and let the test hold
	// reconnections (a handshake with a path that does not exist fails).
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.sockets = [];
		window.seenFrames = [];
		window.holdSockets = false;
		const Real = window.WebSocket;
		window.WebSocket = class extends Real {
			constructor(url, protocols) {
				super(window.holdSockets ? url.replace("/api/v1/ws", "/api/v1/held") : url, protocols);
				this.wanted = url;
				window.sockets.push(this);
				this.addEventListener("message", (e) => window.seenFrames.push(JSON.parse(e.data).type));
			}
		};`})
	if err != nil {
		t.Fatal(err)
	}
	wsLogin(t, ctx, srv, "ana@example.com", "/inbox")
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#rows-empty`)))
	wsLive(t, ctx)
	wsEval[chromedp.Void](t, ctx, `window.stayed = true`)

	before := srv.App.Hub.Position()
	wsEval[chromedp.Void](t, ctx, `window.holdSockets = true; window.sockets[0].close()`)
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#live-status`)))
	srv.NewVisitor(in.Token, map[string]string{"name": "Offline Olga"}).Say("Written while you were away")
	wsWait(t, ctx, `() => window.sockets.length >= 2`) // a held attempt failed
	wsEval[chromedp.Void](t, ctx, `window.holdSockets = false`)

	wsWaitText(t, ctx, `#rows li.row .preview`, "Written while you were away")
	Do(t, ctx, chromedp.WaitNotVisible(chromedp.CSS(`#live-status`)))
	if !wsEval[bool](t, ctx, `window.stayed === true`) {
		t.Fatal("the page reloaded")
	}
	u := wsEval[string](t, ctx, `window.sockets.at(-1).wanted`)
	var since int64
	if _, err := fmt.Sscanf(u[strings.Index(u, "since=")+len("since="):], "%d", &since); err != nil || since > before {
		t.Fatalf("reconnected to %s, want since <= %d", u, before)
	}

	// Too far behind to replay (more events than the hub replays): the
	// server says resync, and the page reads the list again.
	other := srv.NewUser("other@example.com", policy.Service)
	wsEval[chromedp.Void](t, ctx, `window.holdSockets = true; window.sockets.at(-1).close()`)
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#live-status`)))
	srv.NewVisitor(in.Token, map[string]string{"name": "Patient Pat"}).Say("Written during a long absence")
	for range 11 {
		err := srv.App.Log.Write(context.Background(), func(tx *event.Tx) error {
			for range 500 {
				e := event.New(event.MembershipChanged, map[string]any{"inbox_ids": []int64{}})
				e.UserID = other.UserID // not for this page
				tx.Emit(e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wsEventually(t, "the hub delivers the filler", func() string {
		if p := srv.App.Hub.Position(); p < since+5500 {
			return fmt.Sprintf("at %d", p)
		}
		return ""
	})
	wsEval[chromedp.Void](t, ctx, `window.holdSockets = false`)
	wsWaitText(t, ctx, `#rows li.row .preview`, "Written during a long absence")
	if !wsEval[bool](t, ctx, `window.seenFrames.includes("resync") && window.stayed === true`) {
		t.Fatalf("frames %s, want a resync without a reload", wsEval[string](t, ctx, `JSON.stringify(window.seenFrames)`))
	}
	Do(t, ctx, chromedp.WaitNotVisible(chromedp.CSS(`#live-status`)))
}

// TestSalesViews checks that a sales agent sees the views of their role
// and no assignment controls.
func TestSalesViews(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	sam := srv.NewUser("sam@example.com", policy.Sales)
	lead := srv.NewUser("lead@example.com", policy.InboxManager)
	in, _ := srv.NewWebchatInbox("Website", sam.UserID)
	srv.NewVisitor(in.Token, map[string]string{"name": "Someone else's"}).Say("Not for sales")
	srv.NewVisitor(in.Token, map[string]string{"name": "Prospect"}).Say("I want to buy")
	mine := wsConversations(lead, "")[0]
	lead.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", mine.ID), map[string]any{"assignee_id": sam.UserID}).Expect(http.StatusOK)

	ctx := wsSignIn(t, srv, "sam@example.com", "/inbox")
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#rows li.row`)))
	views := wsEval[string](t, ctx, `Array.from(document.querySelectorAll(".views a")).map(a => a.textContent).join(",")`)
	if views != "Mine,All" {
		t.Fatalf("views %q, want Mine,All", views)
	}
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#rows li.row").length`); n != 1 {
		t.Fatalf("%d rows, want only the assigned conversation", n)
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(`#rows li.row a`)), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#assignee, .assign-me").length`); n != 0 {
		t.Fatal("a sales agent sees assignment controls")
	}
	if nav := wsEval[string](t, ctx, `document.querySelector("header.top nav").textContent`); strings.Contains(nav, "Users") || strings.Contains(nav, "Inboxes") {
		t.Fatalf("a sales agent sees admin links: %q", nav)
	}
}

// TestConversationContactAndFiles edits the contact panel (with a refused
// field, and a new owner from the agents offered), sends attachments, and
// pages through older messages.
func TestConversationContactAndFiles(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID)
	bob := srv.NewUser("bob@example.com", policy.Sales, in.ID)
	srv.NewUser("ivy@example.com", policy.InboxManager) // may not own contacts
	srv.NewVisitor(in.Token, map[string]string{"name": "Dora"}).Say("Line 00")
	id := wsConversations(ana, "")[0].ID
	for i := 1; i < 35; i++ {
		ana.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]string{"text": fmt.Sprintf("Line %02d", i)}).Expect(http.StatusCreated)
	}

	ctx := wsSignIn(t, srv, "ana@example.com", fmt.Sprintf("/inbox/conversations/%d", id))
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))

	// History: the newest at the bottom, older on demand.
	if got := wsEval[string](t, ctx, `Array.from(document.querySelectorAll("#messages .text")).pop().textContent`); got != "Line 34" {
		t.Fatalf("last message %q, want Line 34", got)
	}
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#messages article.msg").length`); n != 30 {
		t.Fatalf("%d messages shown, want a page of 30", n)
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(`#messages button.older`)))
	wsWait(t, ctx, `() => document.querySelectorAll("#messages article.msg").length === 35 && !document.querySelector("#messages button.older")`)
	if got := wsEval[string](t, ctx, `document.querySelector("#messages .text").textContent`); got != "Line 00" {
		t.Fatalf("first message %q, want Line 00", got)
	}

	// Contact: a bad email is refused next to the field, keeping the input.
	AllowStatus(ctx, 422, `/inbox/conversations/\d+/contact`)
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.edit-contact`)), chromedp.WaitVisible(chromedp.CSS(`.contact-form input[name=email]`)))
	Do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`.contact-form input[name=email]`), "dora@"),
		chromedp.SendKeys(chromedp.CSS(`.contact-form input[name=phone]`), "+4930123456"),
		chromedp.Click(chromedp.CSS(`.contact-form button[type=submit]`)),
	)
	wsWaitText(t, ctx, `#contact-panel .field-error`, "valid email address")
	if got := wsEval[string](t, ctx, `document.querySelector(".contact-form input[name=phone]").value`); got != "+4930123456" {
		t.Fatalf("phone %q was not kept", got)
	}
	Do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`.contact-form input[name=email]`), "dora@example.com"),
		chromedp.SendKeys(chromedp.CSS(`.contact-form input[name=tags]`), "Wholesale, berlin"),
		chromedp.Click(chromedp.CSS(`.contact-form button[type=submit]`)),
	)
	wsWaitText(t, ctx, `#contact-panel .contact-email`, "dora@example.com")
	wsWaitText(t, ctx, `#contact-panel .contact-phone`, "+4930123456")
	wsWaitText(t, ctx, `#contact-panel .contact-tags`, "wholesale")

	// Owner: the agents are offered, not the inbox manager.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.edit-contact`)), chromedp.WaitVisible(chromedp.CSS(`.contact-form select[name=owner_id]`)))
	if got := wsEval[string](t, ctx, `Array.from(document.querySelectorAll(".contact-form select[name=owner_id] option")).map(o => o.textContent).join(",")`); got != "No owner,Ana,Bob" {
		t.Fatalf("owners offered: %q, want No owner,Ana,Bob", got)
	}
	Do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`.contact-form select[name=owner_id]`), fmt.Sprint(bob.UserID)),
		chromedp.Click(chromedp.CSS(`.contact-form button[type=submit]`)),
	)
	wsWaitText(t, ctx, `#contact-panel .contact-owner`, "Bob")

	// Attachments: an image shows inline, another file is a download.
	dir := t.TempDir()
	img := filepath.Join(dir, "photo.png")
	doc := filepath.Join(dir, "invoice.txt")
	if err := os.WriteFile(img, wsPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, []byte("Invoice 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Do(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(`#composer input[data-upload]`), []string{img, doc}))
	wsWait(t, ctx, `() => document.querySelectorAll("#composer .uploads input[name=attachments]").length === 2`)
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#composer textarea`), "Here are both.\n"))
	wsWaitText(t, ctx, `#messages article.outbound .text`, "Here are both.")
	wsWait(t, ctx, `() => { const i = document.querySelector("#messages article.outbound img"); return i && i.complete && i.naturalWidth === 1 }`)
	wsWaitText(t, ctx, `#messages article.outbound a.file`, "invoice.txt")
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#composer .uploads li").length`); n != 0 {
		t.Fatalf("%d uploads left on the composer after sending", n)
	}
}

// onePixelPNG is a 1×1 image.
func wsPNG(t *testing.T) []byte {
	var b bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 1, 1))
	m.Set(0, 0, color.RGBA{R: 37, G: 99, B: 235, A: 255})
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAdminPages creates a web chat inbox and a user through the forms,
// with the forms' answers to bad input on the way.
func TestAdminPages(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	srv.NewUser("root@example.com", policy.Admin)
	ana := srv.NewUser("ana@example.com", policy.Service)

	ctx := wsSignIn(t, srv, "root@example.com", "/admin/inboxes")
	AllowStatus(ctx, 422, "/admin/inboxes")
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`a[href="/admin/inboxes/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=greeting]`), "Hi! How can we help?"),
	)
	// The colour is picked, starting from the default.
	if got := wsEval[string](t, ctx, `(() => { const c = document.querySelector("input[name=color]"); return c.type + " " + c.value; })()`); got != "color #2563eb" {
		t.Fatalf("colour field %q, want a colour picker at #2563eb", got)
	}
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`form.inbox-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.field-error`)),
	)
	errs := wsEval[string](t, ctx, `Array.from(document.querySelectorAll(".field-error")).map(e => e.textContent).join(" | ")`)
	if !strings.Contains(errs, "Enter a name") {
		t.Fatalf("field errors %q, want the name", errs)
	}
	if got := wsEval[string](t, ctx, `document.querySelector("textarea[name=greeting]").value`); got != "Hi! How can we help?" {
		t.Fatalf("greeting %q was not kept", got)
	}
	Shot(t, ctx, "inbox-form")
	Do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Shop"),
		chromedp.SetValue(chromedp.CSS(`input[name=color]`), "#16a34a"),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=allowed_origins]`), "https://shop.example.com"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=member_ids][value="%d"]`, ana.UserID))),
		chromedp.Click(chromedp.CSS(`form.inbox-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#snippet`)),
	)
	ins, err := srv.App.Inboxes.List(context.Background(), policy.Actor{Role: policy.Admin})
	if err != nil || len(ins) != 1 {
		t.Fatalf("inboxes %v, %v", ins, err)
	}
	shop := ins[0]
	set, err := webchat.SettingsOf(shop)
	if err != nil || shop.Name != "Shop" || set.Color != "#16a34a" || set.AllowedOrigins[0] != "https://shop.example.com" || len(shop.MemberIDs) != 1 {
		t.Fatalf("created %+v %+v %v", shop, set, err)
	}
	snippet := wsEval[string](t, ctx, `document.querySelector("#snippet").textContent`)
	if want := `<script src="` + srv.URL + `/widget.js" data-inbox="` + shop.Token + `" async></script>`; snippet != want {
		t.Fatalf("snippet %q, want %q", snippet, want)
	}
	secret := wsEval[string](t, ctx, `document.querySelector("#secret").textContent`)
	stored, err := srv.App.Webchat.Secret(context.Background(), shop.ID)
	if err != nil || secret != stored {
		t.Fatalf("shown secret %q, stored %q (%v)", secret, stored, err)
	}
	if n := wsEval[int](t, ctx, `document.querySelectorAll('a[href="/widget/demo/`+shop.Token+`"]').length`); n != 1 {
		t.Fatal("no link to the demo page")
	}
	// Done: the list of inboxes, with the new one.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`a.button.done`)), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`table.inboxes tr[data-inbox="%d"]`, shop.ID))))
	Shot(t, ctx, "done")
	if path := wsEval[string](t, ctx, `location.pathname`); path != "/admin/inboxes" {
		t.Fatalf("Done opened %s, want the inboxes", path)
	}
	// Going back to the page (a reload of it) creates nothing and shows
	// the secret no more: the browser lands on the inbox's page.
	Do(t, ctx,
		chromedp.NavigateBack(),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`form.inbox-form`)),
	)
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#secret").length`); n != 0 {
		t.Fatal("the secret is shown again after a reload")
	}
	if ins, err := srv.App.Inboxes.List(context.Background(), policy.Actor{Role: policy.Admin}); err != nil || len(ins) != 1 {
		t.Fatalf("inboxes after a reload: %d, %v", len(ins), err)
	}

	// Edit, then rotate the secret.
	Do(t, ctx,
		chromedp.Navigate(fmt.Sprintf("%s/admin/inboxes/%d", srv.URL, shop.ID)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SetValue(chromedp.CSS(`input[name=name]`), "Online shop"),
		chromedp.Click(chromedp.CSS(`form.inbox-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	if got := wsEval[string](t, ctx, `document.querySelector("input[name=name]").value`); got != "Online shop" {
		t.Fatalf("name after saving %q", got)
	}
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`main details summary`)),
		chromedp.Click(chromedp.CSS(`form[action$="/secret"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret`)),
	)
	rotated := wsEval[string](t, ctx, `document.querySelector("#secret").textContent`)
	if now, _ := srv.App.Webchat.Secret(context.Background(), shop.ID); rotated == secret || rotated != now {
		t.Fatalf("rotated secret %q, stored %q, old %q", rotated, now, secret)
	}
	// Done after a new secret: back to the inbox.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`a.button.done`)), chromedp.WaitVisible(chromedp.CSS(`form.inbox-form`)))
	if path := wsEval[string](t, ctx, `location.pathname`); path != fmt.Sprintf("/admin/inboxes/%d", shop.ID) {
		t.Fatalf("Done opened %s, want the inbox", path)
	}

	// A user form with bad input answers next to each field.
	AllowStatus(ctx, 422, "/admin/users")
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/admin/users/new"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "dana.example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=first_name]`), "Dana"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "short"),
		chromedp.Click(chromedp.CSS(`form.user-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.field-error[data-field=email]`)),
	)
	if got := wsEval[string](t, ctx, `document.querySelector(".field-error[data-field=email]").textContent`); !strings.Contains(got, "valid email") {
		t.Fatalf("email error %q", got)
	}
	if got := wsEval[string](t, ctx, `document.querySelector(".field-error[data-field=password]").textContent`); !strings.Contains(got, "at least 10") {
		t.Fatalf("password error %q", got)
	}
	if got := wsEval[string](t, ctx, `document.querySelector("input[name=first_name]").value + "|" + document.querySelector("input[name=email]").value`); got != "Dana|dana.example.com" {
		t.Fatalf("kept %q", got)
	}
	Do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "dana@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "long enough now"),
		chromedp.Click(chromedp.CSS(`input[name=role][value=sales]`)),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=inbox_ids][value="%d"]`, shop.ID))),
		chromedp.Click(chromedp.CSS(`form.user-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	wsWaitText(t, ctx, `table.users`, "dana@example.com")
	us, _ := srv.App.Users.List(context.Background())
	var dana *int64
	for _, u := range us {
		if u.Email == "dana@example.com" {
			dana = &u.ID
			if u.Role != policy.Sales || len(u.InboxIDs) != 1 || u.InboxIDs[0] != shop.ID {
				t.Fatalf("created %+v", u)
			}
		}
	}
	if dana == nil {
		t.Fatal("the user was not created")
	}
	// Change the role and memberships.
	Do(t, ctx,
		chromedp.Navigate(fmt.Sprintf("%s/admin/users/%d", srv.URL, *dana)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=first_name]`)),
		chromedp.Click(chromedp.CSS(`input[name=role][value=service]`)),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=inbox_ids][value="%d"]`, shop.ID))),
		chromedp.Click(chromedp.CSS(`form.user-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	if u, _ := srv.App.Users.Get(context.Background(), *dana); u.Role != policy.Service || len(u.InboxIDs) != 0 {
		t.Fatalf("after editing %+v", u)
	}
}

// TestAPITokensPage creates a token (shown once), uses it, and revokes it.
func TestAPITokensPage(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	srv.NewUser("ana@example.com", policy.Service)
	ctx := wsSignIn(t, srv, "ana@example.com", "/settings/tokens")
	AllowStatus(ctx, 422, "/settings/tokens") // a name too long
	Do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`.token-form input[name=name]`)),
		chromedp.SetValue(chromedp.CSS(`.token-form input[name=name]`), strings.Repeat("n", 101)),
		chromedp.Click(chromedp.CSS(`.token-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.field-error`)),
		chromedp.SetValue(chromedp.CSS(`.token-form input[name=name]`), "CRM sync"),
		chromedp.Click(chromedp.CSS(`.token-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-token`)),
	)
	token := wsEval[string](t, ctx, `document.querySelector("#new-token").textContent`)
	wsWaitText(t, ctx, `table.tokens`, "CRM sync")
	api := srv.Anonymous()
	api.Token = token
	api.Do("GET", "/api/v1/me", nil).Expect(http.StatusOK)

	// Shown once: a reload shows the list, not the token.
	Do(t, ctx, chromedp.Navigate(srv.URL+"/settings/tokens"), chromedp.WaitVisible(chromedp.CSS(`table.tokens`)))
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#new-token").length`); n != 0 {
		t.Fatal("the token is shown again")
	}
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`details.revoke summary`)),
		chromedp.Click(chromedp.CSS(`details.revoke button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	api.Do("GET", "/api/v1/me", nil).Expect(http.StatusUnauthorized)
}
