package e2e

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestWidgetTyping has an agent in the workspace and a customer in the
// widget, in two browsers: each sees the other typing, the sign goes when
// the message comes (or a few seconds after the last keystroke), and
// typing a whole word sends one signal, not one per key.
func TestWidgetTyping(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID)
	ana.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Ana"}).Expect(http.StatusOK)

	customer := Browser(t)
	Do(t, customer,
		chromedp.Navigate(srv.URL+"/widget/demo/"+in.Token),
		chromedp.Click(inWidget(".launcher")),
		chromedp.WaitVisible(inWidget("textarea")),
		chromedp.SendKeys(inWidget("textarea"), "Hello"),
		pressEnter,
	)
	waitInWidget(t, customer, "the first message", widget+`?.querySelector('.msg.visitor time') != null`)
	id := wsConversations(ana, "")[0].ID

	agent := wsSignIn(t, srv, "ana@example.com", fmt.Sprintf("/inbox/conversations/%d", id))
	Do(t, agent, chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
	wsLive(t, agent)

	// The customer types: the agent sees it; one signal for the word.
	Do(t, customer, chromedp.Evaluate[chromedp.Void](`(() => {
		const real = window.fetch;
		window.typingCalls = 0;
		window.fetch = (url, init) => {
			if (String(url).endsWith('/public/v1/typing')) window.typingCalls++;
			return real(url, init);
		};
	})()`))
	Do(t, customer, chromedp.SendKeys(inWidget("textarea"), "Where is my parcel"))
	if n := Run(t, customer, chromedp.Evaluate[int](`window.typingCalls`)); n != 1 {
		t.Fatalf("%d typing signals for one sentence, want 1", n)
	}
	wsWait(t, agent, `() => { const el = document.getElementById("typing-indicator"); return el && !el.hidden && el.textContent === "Visitor is typing…"; }`)
	// The message comes: the sign goes.
	Do(t, customer, pressEnter)
	wsWaitText(t, agent, `#messages .text`, "Where is my parcel")
	wsWait(t, agent, `() => document.getElementById("typing-indicator").hidden`)

	// The agent types: the customer sees who.
	Do(t, agent, chromedp.SendKeys(chromedp.CSS(`#composer textarea`), "Let me check"))
	waitInWidget(t, customer, "the agent typing", widget+`?.querySelector('.typing:not([hidden])')?.textContent === 'Ana is typing…'`)
	// The reply comes: the sign goes.
	Do(t, agent, chromedp.Click(chromedp.CSS(`#composer button[type=submit]`)))
	waitInWidget(t, customer, "the reply", widget+`?.querySelectorAll('.messages .msg.business').length === 1 && `+widget+`.querySelector('.typing').hidden`)

	// A sign left alone goes after a few seconds.
	Do(t, customer, chromedp.Evaluate[chromedp.Void](`window.typingCalls = 0`))
	// (The customer's last signal was moments ago: the next may go 3 s
	// later. Typing until it does keeps this test off the clock.)
	wsWait(t, customer, `() => { const ta = document.querySelector('switchboard-chat').shadowRoot.querySelector('textarea');
		ta.value += '.'; ta.dispatchEvent(new Event('input')); return window.typingCalls === 1; }`)
	wsWait(t, agent, `() => !document.getElementById("typing-indicator").hidden`)
	if _, err := chromedp.Run(agent, chromedp.PollFunction[bool](`() => document.getElementById("typing-indicator").hidden`)); err != nil {
		t.Fatalf("the sign did not go: %v", err)
	}
}

// TestWidgetAgentSide: the agent's picture shows beside their replies
// (through a link that carries no session token), and the widget says
// when the agent closed the conversation, until the customer writes again.
func TestWidgetAgentSide(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID)
	ana.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Ana"}).Expect(http.StatusOK)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "ana.png")
	fw.Write(testPNG(t))
	mw.Close()
	ana.Do("PUT", "/api/v1/me/avatar", &b, "Content-Type", mw.FormDataContentType()).Expect(http.StatusOK)

	ctx := Browser(t)
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/widget/demo/"+in.Token),
		chromedp.Click(inWidget(".launcher")),
		chromedp.WaitVisible(inWidget("textarea")),
		chromedp.SendKeys(inWidget("textarea"), "Hi"),
		pressEnter,
	)
	waitInWidget(t, ctx, "the message", widget+`?.querySelector('.msg.visitor time') != null`)
	id := wsConversations(ana, "")[0].ID
	conv := fmt.Sprintf("/api/v1/conversations/%d", id)
	ana.Do("POST", conv+"/messages", map[string]string{"text": "Hello, Ana here"}).Expect(http.StatusCreated)

	waitInWidget(t, ctx, "the avatar", `(() => { const img = `+widget+`?.querySelector('.msg.business img.avatar'); return !!img && img.complete && img.naturalWidth === 640; })()`)
	src := Run(t, ctx, chromedp.Evaluate[string](widget+`.querySelector('.msg.business img.avatar').src`))
	token := Run(t, ctx, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem('switchboard:`+in.Token+`')).token`))
	if !strings.HasPrefix(src, srv.URL+"/public/v1/avatars/") || strings.Contains(src, token) || strings.Contains(src, "token") {
		t.Fatalf("avatar at %s", src)
	}
	if meta := Run(t, ctx, chromedp.Text(inWidget(".msg.business .meta"))); !strings.HasPrefix(meta, "Ana · ") {
		t.Errorf("meta %q", meta)
	}

	// Closed by the agent: the widget says so, after a reload too.
	closed := widget + `?.querySelector('.closed')`
	if !Run(t, ctx, chromedp.Evaluate[bool](closed+`.hidden`)) {
		t.Fatal("closed shown while open")
	}
	ana.Do("POST", conv+"/close", nil).Expect(http.StatusOK)
	waitInWidget(t, ctx, "the closed line", `!`+closed+`.hidden`)
	if got := Run(t, ctx, chromedp.Evaluate[string](closed+`.textContent`)); got != "This conversation was closed. Write to start a new one." {
		t.Fatalf("closed line %q", got)
	}
	Do(t, ctx, chromedp.Reload())
	waitInWidget(t, ctx, "the closed line after a reload", widget+`?.querySelectorAll('.messages .msg').length === 2 && !`+closed+`.hidden`)

	// The customer writes again: a new conversation, the line goes.
	Do(t, ctx, chromedp.SendKeys(inWidget("textarea"), "One more question"), pressEnter)
	waitInWidget(t, ctx, "the line to go", closed+`.hidden`)
	if cs := wsConversations(ana, "status=open"); len(cs) != 1 || cs[0].ID == id {
		t.Fatalf("open conversations %+v: want a new one", cs)
	}
}
