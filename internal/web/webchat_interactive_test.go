package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// interactiveMessage is a message of the public API with its buttons.
type interactiveMessage struct {
	visitorMessage
	Type        string                `json:"type"`
	Interactive *whatsapp.Interactive `json:"interactive"`
}

// postInteractive stores a business's interactive message in a web chat
// conversation, as the reply model prepares it, and waits until the
// outbox released it to the visitor.
func postInteractive(t *testing.T, srv *testrig.Server, agent policy.Actor, convID int64, in *whatsapp.Interactive, attachments ...int64) (conversation.Message, error) {
	t.Helper()
	content, _ := json.Marshal(whatsapp.Content{Kind: "interactive", Interactive: in})
	m, _, err := srv.App.Conversations.Send(t.Context(), agent, convID,
		conversation.Outgoing{Type: conversation.TypeInteractive, Text: in.Summary(), Content: content, AttachmentIDs: attachments})
	if err != nil {
		return m, err
	}
	waitSent(t, srv, m.ID)
	return m, nil
}

func waitSent(t *testing.T, srv *testrig.Server, id int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := srv.App.Conversations.LoadMessage(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == conversation.Sent {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d still %s", id, m.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebchatInteractive: a business's buttons, list and link button
// reach the widget with their parts; a visitor's tap on a button or a
// row is stored as WhatsApp stores a customer's (the choice's id and
// title, linked to the message); taps that name no choice are refused.
func TestWebchatInteractive(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		v := srv.NewVisitor(in.Token, nil)
		first := v.Say("Hello")
		hm, err := srv.App.Conversations.LoadMessage(t.Context(), first)
		if err != nil {
			t.Fatal(err)
		}
		cid := hm.ConversationID
		actor := policy.Actor{UserID: agent.UserID, Role: policy.Service, Inboxes: []int64{in.ID}}

		buttons, err := postInteractive(t, srv, actor, cid, &whatsapp.Interactive{Type: whatsapp.InteractiveButtons, Header: &whatsapp.Header{Type: "text", Text: "Delivery"},
			Body: "When should we come?", Footer: "Reply with a button",
			Buttons: []whatsapp.Button{{ID: "morning", Title: "Morning"}, {ID: "evening", Title: "<b>Evening</b>"}}})
		if err != nil {
			t.Fatal(err)
		}
		list, err := postInteractive(t, srv, actor, cid, &whatsapp.Interactive{Type: whatsapp.InteractiveList, Body: "Pick a size", ListButton: "Sizes",
			Sections: []whatsapp.Section{{Title: "Shirts", Rows: []whatsapp.Row{{ID: "s", Title: "Small", Description: "Chest 90 cm"}, {ID: "m", Title: "Medium"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		link, err := postInteractive(t, srv, actor, cid, &whatsapp.Interactive{Type: whatsapp.InteractiveLink, Body: "Track your parcel",
			DisplayText: "Track", URL: "https://example.com/track?id=7"})
		if err != nil {
			t.Fatal(err)
		}

		// The widget gets each with its parts.
		var page struct {
			Items []interactiveMessage `json:"items"`
		}
		v.Do("GET", "/public/v1/messages", nil).Expect(http.StatusOK).Decode(&page)
		if len(page.Items) != 4 {
			t.Fatalf("history has %d messages", len(page.Items))
		}
		got := map[int64]*whatsapp.Interactive{}
		for _, m := range page.Items {
			got[m.ID] = m.Interactive
			if m.From == "visitor" && m.Interactive != nil {
				t.Errorf("visitor's message %d has buttons", m.ID)
			}
		}
		if b := got[buttons.ID]; b == nil || b.Type != "button" || b.Header == nil || b.Header.Text != "Delivery" || b.Footer != "Reply with a button" ||
			len(b.Buttons) != 2 || b.Buttons[1].ID != "evening" || b.Buttons[1].Title != "<b>Evening</b>" {
			t.Errorf("buttons as the widget gets them: %+v", b)
		}
		if l := got[list.ID]; l == nil || l.ListButton != "Sizes" || len(l.Sections) != 1 || l.Sections[0].Rows[0].Description != "Chest 90 cm" {
			t.Errorf("list as the widget gets it: %+v", l)
		}
		if l := got[link.ID]; l == nil || l.URL != "https://example.com/track?id=7" || l.DisplayText != "Track" {
			t.Errorf("link button as the widget gets it: %+v", l)
		}

		// A tap on a button: stored with the button's id and title (not
		// what the visitor's browser says), linked to the message.
		var tapped visitorMessage
		v.Do("POST", "/public/v1/messages", map[string]any{"id": "tap-1", "reply": map[string]any{"message_id": buttons.ID, "id": "evening"}}).
			Expect(http.StatusCreated).Decode(&tapped)
		if tapped.Text != "<b>Evening</b>" || tapped.From != "visitor" {
			t.Fatalf("tap answered %+v", tapped)
		}
		// Again (a retry): stored once.
		v.Do("POST", "/public/v1/messages", map[string]any{"id": "tap-1", "reply": map[string]any{"message_id": buttons.ID, "id": "evening"}}).Expect(http.StatusOK)
		stored, err := srv.App.Conversations.LoadMessage(t.Context(), tapped.ID)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := whatsapp.DecodeContent(&stored)
		if stored.Type != conversation.TypeInteractive || !ok || c.Reply == nil || c.Reply.Kind != "button_reply" || c.Reply.ID != "evening" ||
			c.Reply.Title != "<b>Evening</b>" || stored.ReplyToID == nil || *stored.ReplyToID != buttons.ID || stored.ConversationID != cid {
			t.Fatalf("stored tap %+v, content %+v", stored, c)
		}
		// A row of the list.
		var row visitorMessage
		v.Do("POST", "/public/v1/messages", map[string]any{"id": "tap-2", "reply": map[string]any{"message_id": list.ID, "id": "s"}}).
			Expect(http.StatusCreated).Decode(&row)
		stored, _ = srv.App.Conversations.LoadMessage(t.Context(), row.ID)
		if c, _ := whatsapp.DecodeContent(&stored); c.Reply == nil || c.Reply.Kind != "list_reply" || c.Reply.Title != "Small" || c.Reply.Description != "Chest 90 cm" {
			t.Fatalf("stored row %+v", c.Reply)
		}
		// The agent sees the choices in the conversation.
		var msgs struct {
			Items []struct {
				ID      int64           `json:"id"`
				Type    string          `json:"type"`
				Text    string          `json:"text"`
				Content json.RawMessage `json:"content"`
			} `json:"items"`
		}
		agent.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", cid), nil).Expect(http.StatusOK).Decode(&msgs)
		if len(msgs.Items) == 0 || msgs.Items[0].ID != row.ID || msgs.Items[0].Type != "interactive" || msgs.Items[0].Text != "Small" {
			t.Fatalf("agent's view %+v", msgs.Items)
		}

		// Refused: a choice the message does not have, a message without
		// choices (the link, a text), another visitor's message, a choice
		// with a text, no message at all.
		other := srv.NewVisitor(in.Token, nil)
		other.Say("Me too")
		cases := []struct {
			name  string
			who   *testrig.Visitor
			body  map[string]any
			field string
		}{
			{"unknown choice", v, map[string]any{"id": "x1", "reply": map[string]any{"message_id": buttons.ID, "id": "night"}}, "reply.id"},
			{"link button", v, map[string]any{"id": "x2", "reply": map[string]any{"message_id": link.ID, "id": "Track"}}, "reply.message_id"},
			{"visitor's own message", v, map[string]any{"id": "x3", "reply": map[string]any{"message_id": first, "id": "morning"}}, "reply.message_id"},
			{"someone else's message", other, map[string]any{"id": "x4", "reply": map[string]any{"message_id": buttons.ID, "id": "morning"}}, "reply.message_id"},
			{"with a text", v, map[string]any{"id": "x5", "text": "hi", "reply": map[string]any{"message_id": buttons.ID, "id": "morning"}}, "reply"},
			{"no message", v, map[string]any{"id": "x6", "reply": map[string]any{"id": "morning"}}, "reply.message_id"},
			{"unknown message", v, map[string]any{"id": "x7", "reply": map[string]any{"message_id": 999999, "id": "morning"}}, "reply.message_id"},
		}
		before := countRows(t, d, "messages")
		for _, tc := range cases {
			e := tc.who.Do("POST", "/public/v1/messages", tc.body).Expect(http.StatusUnprocessableEntity).Err()
			if e.Fields[tc.field] == "" {
				t.Errorf("%s: %+v, want a message for %s", tc.name, e, tc.field)
			}
		}
		if n := countRows(t, d, "messages"); n != before {
			t.Fatalf("refused taps stored %d messages", n-before)
		}

		// What the widget cannot show is refused before it is stored: a
		// button over Meta's limits, a template.
		if _, err := postInteractive(t, srv, actor, cid, &whatsapp.Interactive{Type: whatsapp.InteractiveButtons, Body: "Too long",
			Buttons: []whatsapp.Button{{ID: "a", Title: "A title far over twenty characters"}}}); err == nil {
			t.Error("a button over the limit was sent")
		}
		tpl, _ := json.Marshal(whatsapp.Content{Kind: "template"})
		if _, _, err := srv.App.Conversations.Send(t.Context(), actor, cid,
			conversation.Outgoing{Type: conversation.TypeTemplate, Text: "x", Content: tpl}); err == nil {
			t.Error("a template was sent on web chat")
		}
		if n := countRows(t, d, "messages"); n != before {
			t.Fatalf("refused sends stored %d messages", n-before)
		}
	})
}

// TestWebchatPreparedMessages: what Switchboard sends by itself from the
// reply model (a file with its caption, buttons with a file header)
// reaches the widget like an agent's message, from the business.
func TestWebchatPreparedMessages(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		v := srv.NewVisitor(in.Token, nil)
		first := v.Say("Hello")
		hm, err := srv.App.Conversations.LoadMessage(t.Context(), first)
		if err != nil {
			t.Fatal(err)
		}
		var file visitorFileInfo
		uploadAs(t, agent, "/api/v1/attachments", "label.png", pixelPNG).Expect(http.StatusCreated).Decode(&file)
		messages := []reply.Message{
			{Kind: reply.Media, Text: "Your label, {{contact.name}}", AttachmentID: file.ID},
			{Kind: reply.Interactive, Text: "Print it?", AttachmentID: file.ID, Interactive: &whatsapp.Interactive{Type: whatsapp.InteractiveButtons,
				Header: &whatsapp.Header{Type: "image"}, Buttons: []whatsapp.Button{{Title: "Yes"}, {Title: "No"}}}},
		}
		var ids []int64
		for _, m := range messages {
			if err := m.Check(t.Context(), d, "message"); err != nil {
				t.Fatal(err)
			}
			err := srv.App.Log.Write(t.Context(), func(tx *event.Tx) error {
				c, err := conversation.Load(t.Context(), tx, hm.ConversationID)
				if err != nil {
					return err
				}
				o, err := m.Fill(reply.Vars{ContactName: "Vera"}).Prepare(t.Context(), tx.Tx, conversation.AutoUploader)
				if err != nil {
					return err
				}
				sent, err := srv.App.Conversations.PostAuto(t.Context(), tx, &c, conversation.Author{Type: conversation.SenderSystem, Kind: "test"}, o)
				ids = append(ids, sent.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids {
			waitSent(t, srv, id)
		}
		var page struct {
			Items []interactiveMessage `json:"items"`
		}
		v.Do("GET", "/public/v1/messages", nil).Expect(http.StatusOK).Decode(&page)
		if len(page.Items) != 3 {
			t.Fatalf("history %+v", page.Items)
		}
		media, buttons := page.Items[1], page.Items[0]
		if media.From != "business" || media.Text != "Your label, Vera" || len(media.Attachments) != 1 || media.Attachments[0].Filename != "label.png" ||
			media.Attachments[0].URL == "" || media.Interactive != nil || media.Agent != "" {
			t.Errorf("the file with its caption: %+v", media)
		}
		if buttons.Interactive == nil || buttons.Interactive.Body != "Print it?" || len(buttons.Interactive.Buttons) != 2 || len(buttons.Attachments) != 1 {
			t.Errorf("buttons with a file header: %+v", buttons)
		}
		// A tap on one of them is the visitor's choice.
		var tap visitorMessage
		v.Do("POST", "/public/v1/messages", map[string]any{"id": "tap", "reply": map[string]any{"message_id": buttons.ID, "id": buttons.Interactive.Buttons[0].ID}}).
			Expect(http.StatusCreated).Decode(&tap)
		if tap.Text != "Yes" {
			t.Errorf("tap %+v", tap)
		}
	})
}
