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

// TestCustomerAndAgent is the whole path with two real browsers, a
// customer in the widget and an agent in the workspace, neither of them
// ever reloading: the customer writes, the agent sees it arrive, replies,
// the customer sees the reply; a customer's <script> is shown as text;
// the agent closes and reopens the conversation.
func TestCustomerAndAgent(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { customerAndAgent(t, d) })
}

func customerAndAgent(t *testing.T, d *db.DB) {
	srv := testrig.Start(t, d)
	in, _ := srv.NewWebchatInbox("Website")
	ana := srv.NewUser("ana@example.com", policy.Service, in.ID)

	agent := wsSignIn(t, srv, "ana@example.com", "/inbox")
	wsLive(t, agent)
	wsEval[chromedp.Void](t, agent, `window.stayed = true`)

	customer := Browser(t)
	Do(t, customer,
		chromedp.Navigate(srv.URL+"/widget/demo/"+in.Token),
		chromedp.WaitVisible(inWidget(".launcher")),
		chromedp.Click(inWidget(".launcher")),
		chromedp.WaitVisible(inWidget("textarea")),
		chromedp.SendKeys(inWidget("textarea"), "Hi, my parcel has not arrived"),
		pressEnter,
	)
	waitInWidget(t, customer, "the message to be stored", widget+`?.querySelector('.msg.visitor time') != null`)

	// The agent's list shows it, unread, without a reload.
	wsWaitText(t, agent, `#rows li.row.unread .preview`, "Hi, my parcel has not arrived")
	if !wsEval[bool](t, agent, `window.stayed === true`) {
		t.Fatal("the agent's list reloaded")
	}
	convs := wsConversations(ana, "")
	if len(convs) != 1 {
		t.Fatalf("conversations %+v", convs)
	}
	row := fmt.Sprintf("#row-%d", convs[0].ID)
	Do(t, agent,
		chromedp.Click(chromedp.CSS(row+" a")),
		chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)),
	)
	wsLive(t, agent)
	wsEval[chromedp.Void](t, agent, `window.stayed = true`)
	wsEval[chromedp.Void](t, customer, `window.stayed = true`)

	// The agent replies; the customer sees it without a reload.
	Do(t, agent, chromedp.SendKeys(chromedp.CSS(`#composer textarea`), "Sorry! It arrives tomorrow.\n"))
	wsWaitText(t, agent, `#messages article.outbound .text`, "Sorry! It arrives tomorrow.")
	waitInWidget(t, customer, "the reply", `Array.from(`+widget+`?.querySelectorAll('.messages .msg.business .bubble p') ?? [], p => p.textContent).includes("Sorry! It arrives tomorrow.")`)
	// Seen in the open widget: the agent's tick turns to read.
	wsWaitText(t, agent, `#messages article.outbound .tick`, "Read")

	// A customer's markup arrives as text.
	Do(t, customer,
		chromedp.SendKeys(inWidget("textarea"), `<script>document.body.dataset.pwned = "yes"</script>`),
		pressEnter,
	)
	wsWait(t, agent, `() => Array.from(document.querySelectorAll("#messages .text")).some(e => e.textContent === '<script>document.body.dataset.pwned = "yes"</script>')`)
	if n := wsEval[int](t, agent, `document.querySelectorAll("main script").length`); n != 0 {
		t.Fatalf("%d script elements were injected", n)
	}
	if wsEval[bool](t, agent, `document.body.dataset.pwned === "yes"`) {
		t.Fatal("the customer's script ran")
	}

	// Close and reopen.
	Do(t, agent, chromedp.Click(chromedp.CSS(`button.close-conv`)))
	wsWait(t, agent, `() => document.querySelector("#conv-head").dataset.status === "closed"`)
	Do(t, agent, chromedp.Click(chromedp.CSS(`button.reopen-conv`)))
	wsWait(t, agent, `() => document.querySelector("#conv-head").dataset.status === "open"`)
	Do(t, agent, chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	if c := wsConversations(ana, ""); c[0].Status != "open" {
		t.Fatalf("status %s after reopening", c[0].Status)
	}
	if !wsEval[bool](t, agent, `window.stayed === true`) || !wsEval[bool](t, customer, `window.stayed === true`) {
		t.Fatal("a page reloaded")
	}
}
