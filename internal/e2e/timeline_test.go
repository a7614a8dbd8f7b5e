package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// waRig is a node wired to the Graph API fake with one WhatsApp number,
// an agent who works it, and a customer who writes to it.
type waRig struct {
	srv   *testrig.Server
	fake  *graphfake.Server
	num   graphfake.Number
	ana   *testrig.Client
	carla graphfake.Customer
}

func newWARig(t *testing.T, d *db.DB) *waRig {
	t.Helper()
	const secret = "e2e-app-secret"
	fake := graphfake.NewServer(graphfake.Options{Seed: 7, Retry: graphfake.FastRetry})
	t.Cleanup(fake.Close)
	srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) { c.WhatsAppGraphURL = mustURL(t, fake.URL) }})
	num := fake.AddNumber(graphfake.Number{VerifiedName: "Lucky Shrub", AppSecret: secret, VerifyToken: "vt", WebhookURL: srv.URL + "/webhooks/whatsapp"})
	admin := srv.NewUser("admin@example.com", policy.Admin)
	var in struct {
		ID int64 `json:"id"`
	}
	admin.Do("POST", "/api/v1/inboxes", map[string]any{"type": "whatsapp", "name": "WhatsApp", "whatsapp": map[string]any{
		"phone_number_id": num.ID, "waba_id": num.WABAID, "display_phone_number": num.Phone,
		"access_token": num.Token, "app_secret": secret, "verify_token": num.VerifyToken,
	}}).Expect(http.StatusCreated).Decode(&in)
	r := &waRig{srv: srv, fake: fake, num: num, ana: srv.NewUser("ana@example.com", policy.Service, in.ID)}
	r.carla = fake.AddCustomer(graphfake.Customer{Name: "Carla Customer", Phone: "16505551234"})
	return r
}

// say posts the customer's message to the number and waits until it is
// stored; it returns the message's wamid.
func (r *waRig) say(t *testing.T, in graphfake.In) string {
	t.Helper()
	id, err := r.fake.Inbound(r.num.ID, r.carla, in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.fake.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}

// order reports whether the elements matching sels come in that order in
// the element matching in.
func order(t *testing.T, ctx context.Context, in string, sels ...string) bool {
	t.Helper()
	return wsEval[bool](t, ctx, fmt.Sprintf(`(() => {
		const root = document.querySelector(%q);
		const els = %s.map(s => root.querySelector(s));
		if (els.some(e => !e)) return false;
		return els.every((e, i) => i === 0 || (els[i-1].compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING));
	})()`, in, jsList(sels)))
}

func jsList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// TestWhatsAppTimeline works a WhatsApp conversation as a new agent
// would: the list shows no row for a chat just opened; links
// in messages open in a new tab; the rich composer keeps the history
// readable at 1280×800 and at 390×844; a button title over 20
// characters is counted and refused, not cut; buttons read as on the
// phone (header, body, footer, buttons); a customer's reply quotes the
// message it answers and scrolls to it.
func TestWhatsAppTimeline(t *testing.T) {
	r := newWARig(t, dbtest.SQLite(t))

	// The customer opens the chat without writing: nothing to answer
	// yet, so no row until they write.
	r.say(t, graphfake.RequestWelcome())
	agent := wsSignIn(t, r.srv, "ana@example.com", "/inbox")
	AllowStatus(agent, 422, "/inbox/conversations/[0-9]+/whatsapp") // a label over the limit, refused on purpose
	wsLive(t, agent)
	if n := wsEval[int](t, agent, `document.querySelectorAll("#rows li.row").length`); n != 0 {
		t.Fatalf("%d rows for a customer who only opened the chat", n)
	}
	r.say(t, graphfake.Text(`Hi! The pot from https://shop.example.com/pots?id=7&size=L. <b>not bold</b> javascript:alert(1)`))
	wsWaitText(t, agent, `#rows li.row .preview`, "Hi! The pot")
	Do(t, agent, chromedp.Click(chromedp.CSS(`#rows li.row a`)), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	wsLive(t, agent)

	// The address is a link; everything else stays text.
	link := `#messages article.inbound .text a`
	wsWaitText(t, agent, link, "https://shop.example.com/pots?id=7&size=L")
	if got := wsEval[string](t, agent, `(() => { const a = document.querySelector("`+link+`"); return [a.getAttribute("href"), a.target, a.rel, document.querySelectorAll("#messages .text a").length].join("|"); })()`); got != "https://shop.example.com/pots?id=7&size=L|_blank|noopener noreferrer|1" {
		t.Fatalf("link %s", got)
	}
	if got := wsEval[string](t, agent, `Array.from(document.querySelectorAll("#messages article.inbound .text")).pop().textContent`); got != `Hi! The pot from https://shop.example.com/pots?id=7&size=L. <b>not bold</b> javascript:alert(1)` {
		t.Fatalf("the message reads %q", got)
	}
	if n := wsEval[int](t, agent, `document.querySelectorAll("#messages b").length`); n != 0 {
		t.Fatal("the customer's markup was rendered")
	}

	// The rich composer open at 1280×800: the history keeps its room,
	// the panel scrolls within the frame, its fields do not touch the
	// column's edges.
	Do(t, agent, chromedp.EmulateViewport(1280, 800))
	wsEval[bool](t, agent, `document.querySelector("#wa-panel details").open = true`)
	Do(t, agent, chromedp.Click(chromedp.CSS(`#wa-panel a[data-wa-kind="buttons"]`)), chromedp.WaitVisible(chromedp.CSS(`#wa-buttons`)))
	phoneShot(t, agent, "wa-panel-desktop")
	waLayout(t, agent, 800)

	// A button title over 20 characters: counted as it is typed, kept
	// whole, and refused with the limit and the count.
	long := "Deliver it to my door" // 21 characters
	Do(t, agent,
		chromedp.SendKeys(chromedp.CSS(`#wa-buttons [name="body"]`), "Delivery or pickup?"),
		chromedp.SendKeys(chromedp.CSS(`#wa-buttons [name="button.0"]`), long),
	)
	if got := wsEval[string](t, agent, `document.querySelector('#wa-buttons [name="button.0"]').value`); got != long {
		t.Fatalf("the button title was cut to %q", got)
	}
	wsWait(t, agent, `() => { const c = document.querySelector('#wa-buttons [data-count-for="button.0"]'); return c && c.textContent.trim() === "21 / 20" && c.classList.contains("over"); }`)
	Do(t, agent, chromedp.Click(chromedp.CSS(`#wa-buttons button[type=submit]`)))
	wsWaitText(t, agent, `#wa-buttons .field-error`, "A button title has at most 20 characters (this one has 21).")
	if got := wsEval[string](t, agent, `document.querySelector('#wa-buttons [name="button.0"]').value`); got != long {
		t.Fatalf("the refused title was not kept: %q", got)
	}
	if n := len(r.fake.Sent()); n != 0 {
		t.Fatalf("%d messages reached WhatsApp", n)
	}

	// Header, body, footer and buttons, in the phone's order.
	Do(t, agent, chromedp.Click(chromedp.CSS(`#wa-panel a[data-wa-kind="buttons"]`)))
	fill := map[string]string{"header_text": "Your order", "footer": "Reply within a day", "button.0": "Delivery", "button.1": "Pickup"}
	wsEval[bool](t, agent, `(() => { const i = document.querySelector('#wa-buttons [name="button.0"]'); i.value = ""; i.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`)
	for name, v := range fill {
		Do(t, agent, chromedp.SendKeys(chromedp.CSS(`#wa-buttons [name="`+name+`"]`), v))
	}
	Do(t, agent, chromedp.Click(chromedp.CSS(`#wa-buttons button[type=submit]`)), chromedp.WaitNotPresent(chromedp.CSS(`#wa-panel .field-error`)))
	wsWaitText(t, agent, `#messages article.outbound .wa-buttons`, "Pickup")
	target := wsEval[string](t, agent, `Array.from(document.querySelectorAll("#messages article.outbound")).pop().id`)
	sent := "#" + target
	if !order(t, agent, sent, ".wa-header", ".text", ".wa-footer", ".wa-buttons") {
		t.Fatalf("the buttons message reads out of order: %s", Run(t, agent, chromedp.OuterHTML(chromedp.CSS(sent))))
	}
	wsWait(t, agent, `(sel) => document.querySelector(sel + " .tick.sent, " + sel + " .tick.delivered, " + sel + " .tick.read") !== null`, sent)

	// The customer taps a button: the tap quotes the message it answers,
	// and the quote leads to it.
	var wamid string
	for _, m := range r.fake.Sent() {
		if m.Type == "interactive" {
			wamid = m.ID
		}
	}
	if wamid == "" {
		t.Fatalf("no interactive message reached WhatsApp: %+v", r.fake.Sent())
	}
	r.say(t, graphfake.ButtonReply(wamid, "pickup-2", "Pickup"))
	quote := `#messages article.inbound a.quote`
	wsWaitText(t, agent, quote+" .quote-text", "Delivery or pickup?")
	wsWaitText(t, agent, quote+" .quote-sender", "Ana")
	if got := wsEval[string](t, agent, `document.querySelector("`+quote+`").getAttribute("href")`); got != "#"+target {
		t.Fatalf("the quote leads to %s, want #%s", got, target)
	}
	wsEval[bool](t, agent, `document.getElementById("messages").scrollTop = 0; true`)
	Do(t, agent, chromedp.Click(chromedp.CSS(quote)))
	wsWait(t, agent, `(id) => document.getElementById(id).classList.contains("highlight")`, target)
	wsEval[bool](t, agent, `document.querySelector("#wa-panel details").open = false`)
	phoneShot(t, agent, "wa-timeline")

	// At phone width the panel scrolls under the composer and the
	// history stays readable.
	Do(t, agent, chromedp.EmulateViewport(390, 844))
	wsEval[bool](t, agent, `document.querySelector("#wa-panel details").open = true`)
	phoneShot(t, agent, "wa-panel-phone")
	phoneFits(t, agent, "a WhatsApp conversation with the rich composer open")
	waLayout(t, agent, 844)
}

// waLayout checks the conversation with the rich composer open on a
// screen height px tall: the history keeps a usable height, the panel
// ends within the screen and scrolls inside itself, and its fields keep
// a margin from the column's edges.
func waLayout(t *testing.T, ctx context.Context, height float64) {
	t.Helper()
	msgs, panel, main := phoneRect(t, ctx, `#messages`), phoneRect(t, ctx, `#wa-panel`), phoneRect(t, ctx, `.conv-main`)
	if h := msgs.Bottom - msgs.Top; h < 150 {
		t.Errorf("the history is %.0f px high with the rich composer open, want at least 150", h)
	}
	if panel.Bottom > height+0.5 || panel.Bottom > main.Bottom+0.5 {
		t.Errorf("the panel ends at %.0f px, below the screen (%.0f) or its column (%.0f)", panel.Bottom, height, main.Bottom)
	}
	if !wsEval[bool](t, ctx, `(() => { const p = document.getElementById("wa-panel"); const s = getComputedStyle(p); return s.overflowY === "auto" && s.maxHeight !== "none"; })()`) {
		t.Error("the panel does not scroll within a height of its own")
	}
	field := phoneRect(t, ctx, `#wa-panel form:not([hidden]) input:not([type=hidden])`)
	if field.Left-main.Left < 8 || main.Right-field.Right < 8 {
		t.Errorf("a field spans %.0f–%.0f px in a column of %.0f–%.0f: it touches the edge", field.Left, field.Right, main.Left, main.Right)
	}
}

// TestTimelineActivities: assignments, tags, closing and reopening are
// lines of the timeline, by whom and when, as they happen (from this page
// or another agent's) and after a reload. A returning customer's earlier
// conversation shows above the new one on demand, with dividers; a sales
// agent who may see only the new one is not offered the earlier one.
func TestTimelineActivities(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { timelineActivities(t, d) })
}

func timelineActivities(t *testing.T, d *db.DB) {
	srv := testrig.Start(t, d)
	ana := srv.NewUser("ana@example.com", policy.Service)
	ben := srv.NewUser("ben@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID, ben.UserID)
	sam := srv.NewUser("sam@example.com", policy.Sales, in.ID)
	v := srv.NewVisitor(in.Token, map[string]string{"name": "Carla Customer"})
	v.Say("My first order is late")
	first := wsConversations(ana, "")[0].ID

	ctx := wsSignIn(t, srv, "ana@example.com", fmt.Sprintf("/inbox/conversations/%d", first))
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	wsLive(t, ctx)
	// From another agent, live.
	ben.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", first), map[string]any{"assignee_id": ben.UserID}).Expect(http.StatusOK)
	wsWaitText(t, ctx, `#messages p.activity`, "Ben took this conversation")
	// From this page.
	wsChoose(t, ctx, `#assignee`, fmt.Sprint(ana.UserID))
	wsWaitText(t, ctx, `#messages p.activity`, "Ana transferred this from Ben to Ana")
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#new-tag`), "late\n"))
	wsWaitText(t, ctx, `#messages p.activity`, "Ana added the tag late")
	Do(t, ctx, chromedp.Click(chromedp.CSS(`#conv-tags li[data-tag="late"] .remove-tag`)))
	wsWaitText(t, ctx, `#messages p.activity`, "Ana removed the tag late")
	Do(t, ctx, chromedp.Click(chromedp.CSS(`button.close-conv`)))
	wsWaitText(t, ctx, `#messages p.activity`, "Ana closed this conversation")
	lines := `Array.from(document.querySelectorAll("#messages p.activity")).map(p => p.textContent.split(" · ")[0].trim()).join("|")`
	want := "Ben took this conversation|Ana transferred this from Ben to Ana|Ana added the tag late|Ana removed the tag late|Ana closed this conversation"
	if got := wsEval[string](t, ctx, lines); got != want {
		t.Fatalf("activity lines %q, want %q", got, want)
	}
	// Each once, with its time, after a reload too.
	Do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#messages p.activity`)))
	if got := wsEval[string](t, ctx, lines); got != want {
		t.Fatalf("after a reload: activity lines %q, want %q", got, want)
	}
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#messages p.activity time").length`); n != 5 {
		t.Fatalf("%d activity times, want 5", n)
	}
	phoneShot(t, ctx, "activities")

	// The customer comes back: a new conversation, the earlier one above
	// it on demand.
	v.Say("Now the second order")
	var second int64
	wsEventually(t, "a new conversation", func() string {
		for _, c := range wsConversations(ana, "status=open") {
			second = c.ID
			return ""
		}
		return "none open"
	})
	Do(t, ctx,
		chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", srv.URL, second)),
		chromedp.WaitVisible(chromedp.CSS(`#messages button.earlier-load`)),
	)
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#messages article.msg").length`); n != 1 {
		t.Fatalf("%d messages before asking for earlier conversations, want 1", n)
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(`#messages button.earlier-load`)))
	wsWaitText(t, ctx, `#messages .divider.earlier`, "Earlier conversation")
	wsWaitText(t, ctx, `#messages .divider.current`, "This conversation")
	if !order(t, ctx, `#messages`, ".divider.earlier", fmt.Sprintf(`article.msg[data-conversation="%d"]`, first),
		fmt.Sprintf(`p.activity[data-conversation="%d"]`, first), ".divider.current", fmt.Sprintf(`article.msg[data-conversation="%d"]`, second)) {
		t.Fatalf("the timeline reads out of order: %s", Run(t, ctx, chromedp.OuterHTML(chromedp.CSS(`#messages`))))
	}
	if n := wsEval[int](t, ctx, `document.querySelectorAll("#messages button.earlier-load").length`); n != 0 {
		t.Fatal("still offers earlier conversations: there are none")
	}
	phoneShot(t, ctx, "earlier")
	// A new message still goes at the end.
	v.Say("Any news?")
	wsWait(t, ctx, `() => Array.from(document.querySelectorAll("#messages article.msg")).pop().textContent.includes("Any news?")`)

	// A sales agent assigned the new conversation does not see the
	// earlier one, nor is it offered.
	ana.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", second), map[string]any{"assignee_id": sam.UserID}).Expect(http.StatusOK)
	sales := wsSignIn(t, srv, "sam@example.com", fmt.Sprintf("/inbox/conversations/%d", second))
	Do(t, sales, chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	if n := wsEval[int](t, sales, `document.querySelectorAll("#messages button.earlier-load, #messages .divider").length`); n != 0 {
		t.Fatal("a sales agent is offered a conversation they may not see")
	}
	if body := string(sam.Do("GET", fmt.Sprintf("/inbox/conversations/%d/earlier", second), nil, "HX-Request", "true").Expect(http.StatusOK).Body); strings.Contains(body, "My first order") {
		t.Fatal("a sales agent reads an earlier conversation they may not see")
	}
}
