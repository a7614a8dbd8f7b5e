package whatsapp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/automation"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
)

// TestAutomation runs a number's automation against the Graph fake: the
// welcome switch reaches Meta, a customer opening the chat gets the
// welcome (and no conversation shows until they write), and the survey of
// a served conversation goes as a list whose answer rates it.
func TestAutomation(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		var st automation.Settings
		h.admin.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/automation", h.inbox.ID), nil).Expect(200).Decode(&st)
		if st.Welcome.Enabled || st.AutoClose.AfterMinutes != automation.DefaultClose {
			t.Fatalf("defaults: %+v", st)
		}
		h.admin.Do("PUT", fmt.Sprintf("/api/v1/inboxes/%d/automation", h.inbox.ID), map[string]any{
			"welcome": map[string]any{"enabled": true, "message": map[string]any{"kind": "interactive", "text": "Welcome to {{inbox.name}}! What do you need?",
				"interactive": map[string]any{"type": "button", "buttons": []map[string]any{{"id": "order", "title": "My order"}, {"id": "other", "title": "Something else"}}}}},
			"csat": map[string]any{"enabled": true, "text": "How did we do?", "button": "Rate us"},
		}).Expect(200).Decode(&st)
		if !st.Welcome.Enabled || !st.CSAT.Enabled || st.CSAT.Thanks == "" {
			t.Fatalf("saved: %+v", st)
		}
		if a := h.fake.Automation(h.num.ID); !a.EnableWelcomeMessage {
			t.Error("Meta was not told to send request_welcome")
		}
		// A bad message is refused field by field, and nothing changes.
		bad := h.admin.Do("PUT", fmt.Sprintf("/api/v1/inboxes/%d/automation", h.inbox.ID), map[string]any{
			"unassigned": map[string]any{"enabled": true, "message": map[string]any{"kind": "interactive", "text": "Hi",
				"interactive": map[string]any{"type": "button", "buttons": []map[string]any{{"id": "a", "title": strings.Repeat("x", 21)}}}}},
		}).Expect(422).Err()
		if bad.Fields["unassigned.message.interactive.buttons.0.title"] == "" {
			t.Errorf("no problem on the button title: %+v", bad)
		}

		zoe := graphfake.Customer{Name: "Zoe", Phone: "16505550199"}
		if _, err := h.fake.Inbound(h.num.ID, zoe, graphfake.RequestWelcome()); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		eventually(t, "the welcome at Meta", func() bool { return len(businessMessages(h, "interactive")) == 1 })
		if w := businessMessages(h, "interactive")[0]; !strings.Contains(string(w.Body), "Welcome to Lucky Shrub!") {
			t.Errorf("welcome sent as %s", w.Body)
		}
		if cs := h.conversations(); len(cs) != 0 {
			t.Fatalf("opening the chat listed %d conversations", len(cs))
		}
		if _, err := h.fake.Inbound(h.num.ID, zoe, graphfake.Text("Where is my order?")); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		c := h.conversationOf("Zoe")
		ms := h.messages(c.ID)
		if len(ms) != 3 || ms[1].AutoKind != automation.KindWelcome || ms[1].SenderType != conversation.SenderSystem {
			t.Fatalf("history: %+v", ms)
		}
		if len(businessMessages(h, "interactive")) != 1 {
			t.Error("a second welcome for the first message")
		}
		// Served and closed: the survey goes as a list; the answer rates.
		h.post(c.ID, map[string]any{"type": "text", "text": "It ships tomorrow."}).Expect(201)
		h.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", c.ID), nil).Expect(200)
		var survey graphfake.ChatMessage
		eventually(t, "the survey at Meta", func() bool {
			for _, m := range businessMessages(h, "interactive") {
				if strings.Contains(string(m.Body), `"type":"list"`) {
					survey = m
					return true
				}
			}
			return false
		})
		if !strings.Contains(string(survey.Body), "csat:5") || !strings.Contains(string(survey.Body), "How did we do?") {
			t.Errorf("survey sent as %s", survey.Body)
		}
		if _, err := h.fake.Inbound(h.num.ID, zoe, graphfake.ListReply(survey.ID, "csat:5", "⭐⭐⭐⭐⭐", "Excellent")); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		var rating int
		if err := d.QueryRow(t.Context(), `SELECT rating FROM csat_ratings WHERE conversation_id = $1`, c.ID).Scan(&rating); err != nil || rating != 5 {
			t.Errorf("rating %d (%v), want 5", rating, err)
		}
		if cs := h.conversations(); len(cs) != 1 {
			t.Errorf("the answer opened a conversation: %d conversations", len(cs))
		}
		eventually(t, "the thanks at Meta", func() bool { return len(businessMessages(h, "text")) == 2 })
	})
}

// businessMessages are the messages of a type the business sent.
func businessMessages(h *harness, typ string) []graphfake.ChatMessage {
	var out []graphfake.ChatMessage
	for _, m := range h.fake.Sent() {
		if m.FromBusiness && m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}
