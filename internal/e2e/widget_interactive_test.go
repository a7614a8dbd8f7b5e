package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestWidgetInteractive: the business's reply buttons, list and link
// button show in the widget as buttons (their texts as text), a file
// comes with its caption, and the visitor's tap on a button or on a row
// of the list is sent and stored as the choice; at 390 px nothing
// scrolls sideways.
func TestWidgetInteractive(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Website", ana.UserID)
	actor := policy.Actor{UserID: ana.UserID, Role: policy.Service, Inboxes: []int64{in.ID}}

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

	post := func(in *whatsapp.Interactive) int64 {
		t.Helper()
		content, _ := json.Marshal(whatsapp.Content{Kind: "interactive", Interactive: in})
		m, _, err := srv.App.Conversations.Send(t.Context(), actor, id, conversation.Outgoing{Type: conversation.TypeInteractive, Text: in.Summary(), Content: content})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	const xss = `<img src=x>`
	buttons := post(&whatsapp.Interactive{Type: whatsapp.InteractiveButtons, Header: &whatsapp.Header{Type: "text", Text: "Delivery"},
		Body: "When should we come?", Footer: "Tap a time", Buttons: []whatsapp.Button{{ID: "am", Title: "Morning"}, {ID: "pm", Title: xss}}})
	post(&whatsapp.Interactive{Type: whatsapp.InteractiveList, Body: "Which size?", ListButton: "See sizes",
		Sections: []whatsapp.Section{{Title: "Shirts", Rows: []whatsapp.Row{{ID: "s", Title: "Small", Description: "Chest 90 cm"}, {ID: "m", Title: "Medium"}}}}})
	post(&whatsapp.Interactive{Type: whatsapp.InteractiveLink, Body: "Follow your parcel", DisplayText: "Track it", URL: "https://example.com/track?id=7"})
	// A file with its caption, as an agent sends it.
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "label.png")
	fw.Write(testPNG(t))
	mw.Close()
	var file struct {
		ID int64 `json:"id"`
	}
	ana.Do("POST", "/api/v1/attachments", &b, "Content-Type", mw.FormDataContentType()).Expect(http.StatusCreated).Decode(&file)
	ana.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]any{"text": "Your label", "attachments": []int64{file.ID}}).Expect(http.StatusCreated)

	waitInWidget(t, ctx, "the four messages", widget+`?.querySelectorAll('.messages .msg.business').length === 4`)
	got := Run(t, ctx, chromedp.Evaluate[[]string](`Array.from(`+widget+`.querySelectorAll('.messages .msg.business'), (li) =>
		Array.from(li.querySelectorAll('.bubble p, .choice, .row'), (e) => e.className + ':' + e.textContent).join('|'))`))
	want := []string{
		"head:Delivery|:When should we come?|foot:Tap a time|choice:Morning|choice:" + xss,
		":Which size?|choice:See sizes|row:SmallChest 90 cm|row:Medium",
		":Follow your parcel|choice:Track it",
		":Your label",
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("messages shown as\n%q\nwant\n%q", got, want)
		}
	}
	if n := Run(t, ctx, chromedp.Evaluate[int](widget+`.querySelectorAll('.msg.business img:not(.avatar)').length`)); n != 1 {
		t.Fatalf("%d images in the replies: only the label's may be one", n)
	}
	link := Run(t, ctx, chromedp.Evaluate[[]string](`(() => { const a = `+widget+`.querySelector('a.choice'); return [a.href, a.target, a.rel]; })()`))
	if link[0] != "https://example.com/track?id=7" || link[1] != "_blank" || link[2] != "noopener noreferrer nofollow" {
		t.Fatalf("link button %q", link)
	}
	// The list's rows show when its button is pressed.
	if !Run(t, ctx, chromedp.Evaluate[bool](widget+`.querySelector('.rows').hidden`)) {
		t.Fatal("the list's rows show before its button is pressed")
	}

	// At 390 px the panel fills the screen and nothing scrolls sideways.
	Do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	waitInWidget(t, ctx, "the full-screen panel", widget+`?.querySelector('.panel').getBoundingClientRect().width === 390`)
	if wide := Run(t, ctx, chromedp.Evaluate[bool](`(() => { const log = `+widget+`.querySelector('.log'); return log.scrollWidth > log.clientWidth; })()`)); wide {
		t.Fatal("the messages scroll sideways at 390 px")
	}

	// A tap on a button sends its title; the message stores the choice.
	Do(t, ctx, chromedp.Click(inWidget(".msg.business .choices .choice:nth-child(2)")))
	waitInWidget(t, ctx, "the choice to be sent", `(() => { const v = Array.from(`+widget+`.querySelectorAll('.msg.visitor')).pop();
		return v.querySelector('.bubble p').textContent === `+jsString(xss)+` && !!v.querySelector('time'); })()`)
	choice := lastInbound(t, srv, id)
	if r := reply(t, &choice); r == nil || r.Kind != "button_reply" || r.ID != "pm" || r.Title != xss || choice.ReplyToID == nil || *choice.ReplyToID != buttons {
		t.Fatalf("stored choice %+v: %+v", choice, r)
	}

	// The list: its button opens the rows, a row is sent.
	Do(t, ctx, chromedp.Click(inWidget(".msg.business:nth-child(3) .choice")))
	waitInWidget(t, ctx, "the rows", `!`+widget+`.querySelector('.rows').hidden && `+widget+`.querySelector('.msg.business:nth-child(3) .choice').getAttribute('aria-expanded') === 'true'`)
	Do(t, ctx, chromedp.Click(inWidget(".rows .row")))
	waitInWidget(t, ctx, "the row to be sent", `(() => { const v = Array.from(`+widget+`.querySelectorAll('.msg.visitor')).pop();
		return v.querySelector('.bubble p').textContent === 'Small' && !!v.querySelector('time'); })()`)
	choice = lastInbound(t, srv, id)
	if r := reply(t, &choice); r == nil || r.Kind != "list_reply" || r.ID != "s" || r.Description != "Chest 90 cm" {
		t.Fatalf("stored row %+v", r)
	}
	Shot(t, ctx, "phone")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// lastInbound is the customer's newest message in the conversation.
func lastInbound(t *testing.T, srv *testrig.Server, convID int64) conversation.Message {
	t.Helper()
	var id int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := srv.App.DB.QueryRow(t.Context(), `SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'inbound' ORDER BY id DESC LIMIT 1`, convID).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		m, err := srv.App.Conversations.LoadMessage(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == conversation.TypeInteractive || time.Now().After(deadline) {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func reply(t *testing.T, m *conversation.Message) *whatsapp.Reply {
	t.Helper()
	c, ok := whatsapp.DecodeContent(m)
	if !ok {
		return nil
	}
	return c.Reply
}
