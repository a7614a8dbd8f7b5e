package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// widget is the widget's shadow root, as a JavaScript expression that is
// undefined until the widget has drawn itself.
const widget = `document.querySelector('switchboard-chat')?.shadowRoot`

// inWidget selects the first element matching css inside the widget.
func inWidget(css string) chromedp.JSPath {
	return chromedp.JSPath(widget + `?.querySelector(` + strconv.Quote(css) + `)`)
}

// waitInWidget polls a JavaScript condition in the page until it holds.
func waitInWidget(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// pollServer polls the server until cond holds.
func pollServer(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// pressEnter presses Enter the way a keyboard does, without the extra
// character event that SendKeys adds.
var pressEnter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		})
		if err != nil {
			return err
		}
	}
	return nil
})

type apiMessage struct {
	ID          int64  `json:"id"`
	Direction   string `json:"direction"`
	Text        string `json:"text"`
	Status      string `json:"status"`
	Attachments []struct {
		ContentType string `json:"content_type"`
		Filename    string `json:"filename"`
	} `json:"attachments"`
}

type apiPage[T any] struct {
	Items []T `json:"items"`
}

// TestWidget plays a customer on the demo page against an agent using
// the API: the visitor writes, the agent's replies appear live and only
// as text, the history survives a reload, unread replies show on the
// launcher, and an image goes through.
func TestWidget(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	agent := srv.NewUser("agent@example.com", policy.Service)
	in, _, err := srv.App.Inboxes.Create(t.Context(), inbox.NewInbox{Type: webchat.Type, Name: "Northwind Shop", MemberIDs: []int64{agent.UserID},
		Settings: map[inbox.Type]any{webchat.Type: &webchat.Settings{Greeting: "Hi! How can we help?", Color: "#0b6e4f"}}})
	if err != nil {
		t.Fatal(err)
	}
	api := agent.WithToken()

	ctx := Browser(t)
	// A script that runs would open a dialog: answer it, and fail below.
	var mu sync.Mutex
	var problems []string
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			problems = append(problems, "dialog opened: "+ev.Message)
			mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	// The widget must work under the demo page's strict CSP, without
	// errors.
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, "console: "+m.String())
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Error(p)
		}
	})

	// The addresses of the event streams the page opens are noted (they
	// are not in the page's resource timing).
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.streams = [];
		const Real = window.EventSource;
		window.EventSource = class extends Real {
			constructor(url, opts) { super(url, opts); window.streams.push(String(url)); }
		};`}); err != nil {
		t.Fatal(err)
	}
	Do(t, ctx, chromedp.Navigate(srv.URL+"/widget/demo/"+in.Token))
	if csp := Run(t, ctx, chromedp.Evaluate[string](`fetch(location.href).then(r => r.headers.get('Content-Security-Policy'))`, chromedp.EvalAwaitPromise)); !strings.Contains(csp, "style-src 'self';") {
		t.Fatalf("demo page CSP %q: the test expects the strict one", csp)
	}
	Do(t, ctx, chromedp.WaitVisible(inWidget(".launcher")))
	// Its styles apply (the accent colour and a fixed position) although
	// the page's CSP forbids inline styles.
	style := Run(t, ctx, chromedp.Evaluate[string](`(() => { const l = `+widget+`.querySelector('.launcher');
		return getComputedStyle(l).backgroundColor + ' ' + getComputedStyle(l.getRootNode().host).position })()`))
	if style != "rgb(11, 110, 79) fixed" {
		t.Fatalf("launcher style %q: the widget's stylesheet did not apply", style)
	}

	// Open the chat and write; Enter sends.
	Do(t, ctx,
		chromedp.Click(inWidget(".launcher")),
		chromedp.WaitVisible(inWidget("textarea")),
	)
	if title := Run(t, ctx, chromedp.Text(inWidget("h2"))); title != "Northwind Shop" {
		t.Errorf("panel title %q", title)
	}
	if g := Run(t, ctx, chromedp.Text(inWidget(".greeting .bubble"))); g != "Hi! How can we help?" {
		t.Errorf("greeting %q", g)
	}
	Do(t, ctx,
		chromedp.SendKeys(inWidget("textarea"), "Do you ship to Norway?"),
		pressEnter,
	)
	// Shown at once, then confirmed by the server (the time replaces "Sending…").
	waitInWidget(t, ctx, "the message to be stored", widget+`?.querySelector('.msg.visitor time') != null`)
	if v := Run(t, ctx, chromedp.Value(inWidget("textarea"))); v != "" {
		t.Errorf("composer not cleared: %q", v)
	}

	// The agent sees it.
	var convs apiPage[struct {
		ID int64 `json:"id"`
	}]
	api.Do("GET", "/api/v1/conversations?inbox_id="+strconv.FormatInt(in.ID, 10), nil).Expect(200).Decode(&convs)
	if len(convs.Items) != 1 {
		t.Fatalf("conversations %+v", convs.Items)
	}
	conv := "/api/v1/conversations/" + strconv.FormatInt(convs.Items[0].ID, 10)
	messages := func() []apiMessage {
		var p apiPage[apiMessage]
		api.Do("GET", conv+"/messages", nil).Expect(200).Decode(&p)
		return p.Items
	}
	if ms := messages(); len(ms) != 1 || ms[0].Text != "Do you ship to Norway?" || ms[0].Direction != "inbound" {
		t.Fatalf("stored messages %+v", ms)
	}

	// The agent replies; the replies appear without a reload, as text.
	reply := func(key, text string) int64 {
		var m apiMessage
		api.Do("POST", conv+"/messages", map[string]string{"text": text, "idempotency_key": key}).Expect(201).Decode(&m)
		return m.ID
	}
	const xss = `<img src=x onerror=alert(1)>`
	reply("r1", "Yes, we do! Delivery takes 3 days.")
	last := reply("r2", xss)
	waitInWidget(t, ctx, "the replies", widget+`?.querySelectorAll('.messages .msg.business').length === 2`)
	texts := Run(t, ctx, chromedp.Evaluate[[]string](`Array.from(`+widget+`.querySelectorAll('.messages .msg.business .bubble p'), p => p.textContent)`))
	if len(texts) != 2 || texts[0] != "Yes, we do! Delivery takes 3 days." || texts[1] != xss {
		t.Fatalf("replies shown as %q", texts)
	}
	if n := Run(t, ctx, chromedp.Evaluate[int](widget+`.querySelectorAll('.msg img').length`)); n != 0 {
		t.Fatalf("a reply became %d <img> elements", n)
	}
	// Shown in the open panel: read.
	pollServer(t, "the replies to be read", func() bool {
		ms := messages()
		return ms[0].ID == last && ms[0].Status == "read" && ms[1].Status == "read"
	})

	// With the panel closed, a reply shows as unread on the launcher and
	// is acknowledged as delivered, not read.
	Do(t, ctx,
		chromedp.Click(inWidget(".panel header button")),
		chromedp.WaitNotVisible(inWidget("textarea")),
	)
	third := reply("r3", "Anything else?")
	waitInWidget(t, ctx, "the unread badge", widget+`?.querySelector('.badge:not([hidden])')?.textContent === '1'`)
	pollServer(t, "the reply to be delivered", func() bool {
		ms := messages()
		return ms[0].ID == third && ms[0].Status == "delivered"
	})
	Do(t, ctx, chromedp.Click(inWidget(".launcher")), chromedp.WaitVisible(inWidget("textarea")))
	waitInWidget(t, ctx, "the badge to clear", widget+`?.querySelector('.badge').hidden`)
	pollServer(t, "the reply to be read", func() bool { return messages()[0].Status == "read" })

	// After a reload the conversation is still there (the panel stays open
	// in this tab).
	Do(t, ctx, chromedp.Reload())
	waitInWidget(t, ctx, "the history", widget+`?.querySelectorAll('.messages .msg').length === 4 && !`+widget+`.querySelector('.panel').hidden`)
	all := Run(t, ctx, chromedp.Evaluate[[]string](`Array.from(`+widget+`.querySelectorAll('.messages .msg .bubble p'), p => p.textContent)`))
	want := []string{"Do you ship to Norway?", "Yes, we do! Delivery takes 3 days.", xss, "Anything else?"}
	if strings.Join(all, "|") != strings.Join(want, "|") {
		t.Fatalf("history after reload %q, want %q", all, want)
	}
	// Still live after the reload.
	reply("r4", "We are here until 6 pm.")
	waitInWidget(t, ctx, "a reply after the reload", widget+`?.querySelectorAll('.messages .msg.business').length === 4`)

	// An image: chosen with the file input, uploaded, sent, and shown from
	// the server.
	pic := filepath.Join(t.TempDir(), "parcel.png")
	if err := os.WriteFile(pic, testPNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	Do(t, ctx, chromedp.SetUploadFiles(inWidget("input[type=file]"), []string{pic}))
	waitInWidget(t, ctx, "the image to be sent and load", `(() => {
		const img = `+widget+`?.querySelector('.msg.visitor img[src*="/public/v1/attachments/"]');
		return !!img && img.complete && img.naturalWidth === 48 && !!img.closest('.msg').querySelector('time');
	})()`)
	ms := messages()
	if len(ms[0].Attachments) != 1 || ms[0].Attachments[0].ContentType != "image/png" || ms[0].Attachments[0].Filename != "parcel.png" {
		t.Fatalf("stored image message %+v", ms[0])
	}
	// No address the widget uses (links, images, the requests it made, the
	// event stream's) carries the session token.
	token := Run(t, ctx, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem('switchboard:`+in.Token+`')).token`))
	urls := Run(t, ctx, chromedp.Evaluate[[]string](`[
		...Array.from(`+widget+`.querySelectorAll('[src], [href]'), (e) => e.getAttribute('src') || e.getAttribute('href')),
		...performance.getEntriesByType('resource').map((e) => e.name),
		...window.streams,
	]`))
	stream := false
	for _, u := range urls {
		if strings.Contains(u, token) || strings.Contains(u, "token=") {
			t.Errorf("the widget used the address %s, with the session token", u)
		}
		stream = stream || strings.Contains(u, "/public/v1/stream?ticket=")
	}
	if !stream || len(urls) < 5 {
		t.Errorf("the addresses looked at miss the event stream's: %q", urls)
	}

	// On a phone the open panel fills the screen.
	Do(t, ctx, chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile))
	waitInWidget(t, ctx, "the full-screen panel", widget+`?.querySelector('.panel').getBoundingClientRect().width === 375`)
}

// TestWidgetRetries checks that a message whose send fails on the network
// is retried with the same id and stored once.
func TestWidgetRetries(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	agent := srv.NewUser("agent@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", agent.UserID)
	api := agent.WithToken()

	ctx := Browser(t)
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/widget/demo/"+in.Token),
		chromedp.Click(inWidget(".launcher")),
		chromedp.WaitVisible(inWidget("textarea")),
	)
	// The session exists once the panel is open.
	waitInWidget(t, ctx, "the session", `!!JSON.parse(localStorage.getItem('switchboard:`+in.Token+`') || '{}').token`)
	// The first send never reaches the server; the answer to the second
	// is lost on the way back, after the server stored the message.
	Do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const real = window.fetch;
		window.failedSends = 0;
		window.fetch = (url, init) => {
			if (String(url).endsWith('/public/v1/messages') && init && init.method === 'POST' && window.failedSends < 2) {
				if (window.failedSends++ === 0) return Promise.reject(new TypeError('Failed to fetch'));
				return real(url, init).then(() => { throw new TypeError('Failed to fetch'); });
			}
			return real(url, init);
		};
	})()`))
	Do(t, ctx, chromedp.SendKeys(inWidget("textarea"), "Is anyone there?"), pressEnter)
	waitInWidget(t, ctx, "the message to get through", `window.failedSends === 2 && `+widget+`?.querySelector('.msg.visitor time') != null`)

	var convs apiPage[struct {
		ID int64 `json:"id"`
	}]
	api.Do("GET", "/api/v1/conversations", nil).Expect(200).Decode(&convs)
	if len(convs.Items) != 1 {
		t.Fatalf("conversations %+v", convs.Items)
	}
	var msgs apiPage[apiMessage]
	api.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", convs.Items[0].ID), nil).Expect(200).Decode(&msgs)
	if len(msgs.Items) != 1 || msgs.Items[0].Text != "Is anyone there?" {
		t.Fatalf("stored %+v", msgs.Items)
	}
	if n := Run(t, ctx, chromedp.Evaluate[int](widget+`.querySelectorAll('.msg.visitor').length`)); n != 1 {
		t.Fatalf("the widget shows the message %d times", n)
	}
}

// testPNG is a small striped image.
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{uint8(40 + y*6), 110, uint8(200 - x*3), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWidgetVerifiedDemo: on an inbox that only takes verified visitors
// the demo page shows no chat to an anonymous reader, and vouches for a
// signed-in user as a demo visitor of their own.
func TestWidgetVerifiedDemo(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	agent := srv.NewUser("agent@example.com", policy.Service)
	in, _, err := srv.App.Inboxes.Create(t.Context(), inbox.NewInbox{Type: webchat.Type, Name: "Members", MemberIDs: []int64{agent.UserID},
		Settings: map[inbox.Type]any{webchat.Type: &webchat.Settings{RequireIdentity: true}}})
	if err != nil {
		t.Fatal(err)
	}

	ctx := Browser(t)
	console := chromedp.Console(ctx)
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/widget/demo/"+in.Token),
		chromedp.WaitVisible(chromedp.CSS(`.demo-note .warn`)),
	)
	// The widget explains itself in the console and stays away.
	for m, err := range console {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.Text, "only takes verified visitors") {
			break
		}
	}
	if n := Run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('switchboard-chat').length`)); n != 0 {
		t.Fatal("the chat shows to an unverified visitor")
	}

	// Signed in, the page vouches for the user.
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`.demo-note .warn a`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "agent@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testrig.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(inWidget(".launcher")),
		chromedp.Click(inWidget(".launcher")),
		chromedp.WaitVisible(inWidget("textarea")),
		chromedp.SendKeys(inWidget("textarea"), "Testing the members chat"),
		pressEnter,
	)
	waitInWidget(t, ctx, "the message to be stored", widget+`?.querySelector('.msg.visitor time') != null`)
	var convs apiPage[struct {
		Contact struct {
			Name string `json:"name"`
		} `json:"contact"`
		LastMessagePreview string `json:"last_message_preview"`
	}]
	agent.Do("GET", "/api/v1/conversations", nil).Expect(200).Decode(&convs)
	if len(convs.Items) != 1 || convs.Items[0].Contact.Name != "Agent (demo)" || convs.Items[0].LastMessagePreview != "Testing the members chat" {
		t.Fatalf("conversations %+v", convs.Items)
	}
}
