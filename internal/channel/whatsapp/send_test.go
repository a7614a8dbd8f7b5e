package whatsapp_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// customerWrites makes a customer write (opening the window) and returns
// their conversation.
func (h *harness) customerWrites(c graphfake.Customer, text string) conversation.Conversation {
	h.t.Helper()
	if _, err := h.fake.Inbound(h.num.ID, c, graphfake.Text(text)); err != nil {
		h.t.Fatal(err)
	}
	h.waitWebhooks()
	return h.conversationOf(c.Name)
}

func decodeMessage(t *testing.T, r *testrig.Response) conversation.Message {
	var m conversation.Message
	r.Decode(&m)
	return m
}

// TestSendEveryKind: an agent's text, file, reply buttons, list, link
// button and reaction reach the fake as Meta would take them (with
// Switchboard's id as biz_opaque_callback_data), statuses follow, and a
// customer's tap on a button comes back linked to the message it answers.
func TestSendEveryKind(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		ann := graphfake.Customer{Name: "Ann", Phone: "16505551234"}
		c := h.customerWrites(ann, "Hello, do you ship to Spain?")
		var inbound conversation.Message
		for _, m := range h.messages(c.ID) {
			inbound = m
		}

		text := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "Yes! See https://example.com/shipping", "idempotency_key": "k1"}).Expect(201))
		if text.Status != conversation.Pending {
			t.Fatalf("a new reply is %s", text.Status)
		}
		again := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "Yes! See https://example.com/shipping", "idempotency_key": "k1"}).Expect(200))
		if again.ID != text.ID {
			t.Fatal("the same idempotency key sent twice")
		}
		sent := h.waitStatus(text.ID, conversation.Delivered)
		if sent.ChannelMessageID == nil || !strings.HasPrefix(*sent.ChannelMessageID, "wamid.") {
			t.Fatalf("channel id: %v", sent.ChannelMessageID)
		}
		if n := h.fake.Accepted(fmt.Sprint(text.ID)); n != 1 {
			t.Fatalf("the fake accepted message %d %d times", text.ID, n)
		}

		// A file: uploaded first, sent by media id with its caption.
		up := upload(t, h.agent, "photo.png", pngBytes)
		img := decodeMessage(t, h.post(c.ID, map[string]any{"type": "media", "text": "Our warehouse", "attachments": []int64{up}}).Expect(201))
		h.waitStatus(img.ID, conversation.Delivered)

		buttons := decodeMessage(t, h.post(c.ID, map[string]any{"type": "interactive", "interactive": map[string]any{
			"type": "button", "body": "Pick a delivery option", "footer": "Lucky Shrub", "header": map[string]any{"type": "text", "text": "Shipping"},
			"buttons": []map[string]any{{"id": "express", "title": "Express"}, {"id": "standard", "title": "Standard"}},
		}}).Expect(201))
		list := decodeMessage(t, h.post(c.ID, map[string]any{"type": "interactive", "interactive": map[string]any{
			"type": "list", "body": "Which size?", "list_button": "Sizes",
			"sections": []map[string]any{{"title": "Pots", "rows": []map[string]any{{"id": "s", "title": "Small", "description": "10 cm"}, {"id": "l", "title": "Large"}}}},
		}}).Expect(201))
		link := decodeMessage(t, h.post(c.ID, map[string]any{"type": "interactive", "interactive": map[string]any{
			"type": "cta_url", "body": "Track your parcel", "display_text": "Track", "url": "https://example.com/track/123",
		}}).Expect(201))
		react := decodeMessage(t, h.post(c.ID, map[string]any{"type": "reaction", "reaction": map[string]any{"message_id": inbound.ID, "emoji": "👍"}}).Expect(201))
		for _, m := range []conversation.Message{buttons, list, link} {
			h.waitStatus(m.ID, conversation.Delivered)
		}
		h.waitStatus(react.ID, conversation.Sent) // reactions only get "sent"
		got, _ := h.srv.App.Conversations.LoadMessage(context.Background(), inbound.ID)
		if len(got.Reactions) != 1 || got.Reactions[0].By != conversation.ByBusiness || got.Reactions[0].Emoji != "👍" {
			t.Errorf("the business's reaction is not on the message: %+v", got.Reactions)
		}

		// What the fake took.
		byCallback := map[string]graphfake.ChatMessage{}
		for _, s := range h.fake.Sent() {
			byCallback[s.CallbackData] = s
		}
		check := func(m conversation.Message, typ string, parts ...string) {
			t.Helper()
			s, ok := byCallback[fmt.Sprint(m.ID)]
			if !ok || s.Type != typ {
				t.Errorf("message %d: sent as %q (%v)", m.ID, s.Type, ok)
				return
			}
			for _, p := range parts {
				if !strings.Contains(string(s.Body), p) {
					t.Errorf("message %d: %s lacks %s", m.ID, s.Body, p)
				}
			}
		}
		check(text, "text", `"preview_url":true`, `"to":"16505551234"`)
		check(img, "image", `"caption":"Our warehouse"`, `"id":"`)
		check(buttons, "interactive", `"type":"button"`, `"title":"Express"`, `"footer":{"text":"Lucky Shrub"}`)
		check(list, "interactive", `"button":"Sizes"`, `"description":"10 cm"`)
		check(link, "interactive", `"name":"cta_url"`, `"url":"https://example.com/track/123"`)
		check(react, "reaction", `"emoji":"👍"`)
		if len(h.fake.Duplicates()) != 0 {
			t.Errorf("duplicates: %v", h.fake.Duplicates())
		}

		// The customer taps a button: the reply is linked to the message.
		if _, err := h.fake.Inbound(h.num.ID, ann, graphfake.ButtonReply(*h.waitStatus(buttons.ID, conversation.Delivered).ChannelMessageID, "express", "Express")); err != nil {
			t.Fatal(err)
		}
		if _, err := h.fake.Inbound(h.num.ID, ann, graphfake.ListReply(*h.waitStatus(list.ID, conversation.Delivered).ChannelMessageID, "l", "Large", "")); err != nil {
			t.Fatal(err)
		}
		// And reacts to the list.
		if _, err := h.fake.Inbound(h.num.ID, ann, graphfake.React(*h.waitStatus(list.ID, conversation.Delivered).ChannelMessageID, "❤️")); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		ms := h.messages(c.ID)
		var tap, row *conversation.Message
		for i := range ms {
			if cc, ok := whatsapp.DecodeContent(&ms[i]); ok && cc.Reply != nil {
				switch cc.Reply.Kind {
				case "button_reply":
					tap = &ms[i]
				case "list_reply":
					row = &ms[i]
				}
			}
		}
		if tap == nil || tap.ReplyToID == nil || *tap.ReplyToID != buttons.ID || tap.Text != "Express" {
			t.Errorf("button tap: %+v", tap)
		}
		if row == nil || row.ReplyToID == nil || *row.ReplyToID != list.ID {
			t.Errorf("list row: %+v", row)
		}
		got, _ = h.srv.App.Conversations.LoadMessage(context.Background(), list.ID)
		if len(got.Reactions) != 1 || got.Reactions[0].By != conversation.ByContact {
			t.Errorf("customer's reaction: %+v", got.Reactions)
		}

		// Limits are checked before sending, field by field.
		e := h.post(c.ID, map[string]any{"type": "interactive", "interactive": map[string]any{"type": "button", "body": "x",
			"buttons": []map[string]any{{"title": "A title far longer than twenty"}, {"title": "B"}, {"title": "C"}, {"title": "D"}}}}).Expect(422).Err()
		if e.Fields["interactive.buttons"] == "" || e.Fields["interactive.buttons.0.title"] == "" {
			t.Errorf("limits: %+v", e)
		}
		e = h.post(c.ID, map[string]any{"type": "reaction", "reaction": map[string]any{"message_id": inbound.ID, "emoji": "ok"}}).Expect(422).Err()
		if e.Fields["reaction.emoji"] == "" {
			t.Errorf("reaction emoji: %+v", e)
		}
		gif := upload(t, h.agent, "a.gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
		e = h.post(c.ID, map[string]any{"type": "media", "attachments": []int64{gif}}).Expect(422).Err()
		if !strings.Contains(e.Fields["attachments"], "GIF") {
			t.Errorf("gif: %+v", e)
		}
	})
}

// TestWindow: outside the 24-hour window free-form messages are refused
// before Graph is called, with a message saying to use a template; the
// conversation shows when the window ends; a message that waited past the
// window fails without a call.
func TestWindow(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{whatsapp: whatsapp.Options{Window: 3 * time.Second}})
		bob := graphfake.Customer{Name: "Bob", Phone: "447700900123"}
		c := h.customerWrites(bob, "hi")
		var conv conversation.Conversation
		h.agent.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", c.ID), nil).Expect(200).Decode(&conv)
		if conv.ReplyWindowEndsAt == nil || time.Until(*conv.ReplyWindowEndsAt) > 3*time.Second || time.Until(*conv.ReplyWindowEndsAt) < time.Second {
			t.Fatalf("window ends %v", conv.ReplyWindowEndsAt)
		}
		h.post(c.ID, map[string]any{"type": "text", "text": "in time"}).Expect(201)
		eventually(t, "the window closed", func() bool {
			return strings.Contains(string(h.agent.Do("GET", fmt.Sprintf("/inbox/conversations/%d", c.ID), nil).Expect(200).Body), `class="wa-window closed"`)
		})
		attempts := len(h.fake.Attempts())
		e := h.post(c.ID, map[string]any{"type": "text", "text": "too late"}).Expect(409).Err()
		if !strings.Contains(e.Message, "template") {
			t.Errorf("window message: %q", e.Message)
		}
		// The plain API refuses it too.
		h.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", c.ID), map[string]any{"text": "too late"}).Expect(409)
		if len(h.fake.Attempts()) != attempts {
			t.Error("Graph was called for a message outside the window")
		}
	})
}

// TestSendErrors: Meta's error codes decide: a permanent code fails the
// message with Meta's words shown to the agent; throttling and 5xx are
// retried until the message goes, once; an expired token flags the inbox
// and alerts the admins.
func TestSendErrors(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{whatsapp: whatsapp.Options{PairInterval: 50 * time.Millisecond}})
		cy := graphfake.Customer{Name: "Cy", Phone: "15550009999"}
		c := h.customerWrites(cy, "hi")

		// Permanent: 131026 (undeliverable).
		h.fake.FailNext(graphfake.EndpointMessages, &graphfake.Error{Message: "(#131026) Message undeliverable", Type: "OAuthException", Code: 131026,
			Data: &graphfake.ErrorData{MessagingProduct: "whatsapp", Details: "Receiver is incapable of receiving this message"}})
		m := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "one"}).Expect(201))
		m = h.waitStatus(m.ID, conversation.Failed)
		if m.Error == nil || m.Error.Code != "131026" || m.Error.Details != "Receiver is incapable of receiving this message" {
			t.Errorf("permanent failure: %+v", m.Error)
		}
		if whatsapp.Hint("131026") == "" {
			t.Error("no hint for 131026")
		}

		// Throttling, unknown and unavailable: retried, sent once.
		h.fake.FailNext(graphfake.EndpointMessages, graphfake.ErrThroughput(429, time.Second), graphfake.ErrUnknown(), graphfake.ErrUnavailable())
		m = decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "two"}).Expect(201))
		h.waitStatus(m.ID, conversation.Delivered)
		if n := h.fake.Accepted(fmt.Sprint(m.ID)); n != 1 {
			t.Errorf("accepted %d times", n)
		}

		// Pair rate: retried after a pause for this customer.
		h.fake.FailNext(graphfake.EndpointMessages, graphfake.ErrPairRate())
		m = decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "three"}).Expect(201))
		h.waitStatus(m.ID, conversation.Delivered)

		// A failed status webhook shows Meta's title and details.
		m = decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "four"}).Expect(201))
		m = h.waitStatus(m.ID, conversation.Delivered)
		if err := h.fake.FailMessage(*m.ChannelMessageID, 131049); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		if got, _ := h.srv.App.Conversations.LoadMessage(context.Background(), m.ID); got.Status != conversation.Delivered {
			t.Errorf("a late failed status moved delivered back to %s", got.Status)
		}
		m = decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "five"}).Expect(201))
		m = h.waitStatus(m.ID, conversation.Delivered)
		h.fake.SetStatuses(graphfake.Step{Status: "sent"})
		m6 := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "six"}).Expect(201))
		m6 = h.waitStatus(m6.ID, conversation.Sent)
		h.fake.FailMessage(*m6.ChannelMessageID, 131049)
		h.waitWebhooks()
		m6 = h.waitStatus(m6.ID, conversation.Failed)
		if m6.Error == nil || m6.Error.Code != "131049" || m6.Error.Message == "" || m6.Error.Details == "" {
			t.Errorf("failed status: %+v", m6.Error)
		}

		// Token expired: the inbox is flagged, admins alerted, and the
		// message goes once a new token is entered.
		h.fake.ExpireToken(h.num.Token)
		m7 := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "seven"}).Expect(201))
		eventually(t, "token flagged", func() bool {
			var st struct {
				TokenError string `json:"token_error"`
			}
			h.admin.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp", h.inbox.ID), nil).Expect(200).Decode(&st)
			return st.TokenError != ""
		})
		eventually(t, "alert", func() bool { return len(h.alerts()) > 0 })
		if a := h.alerts()[0]; a.InboxID != h.inbox.ID || a.Code != "190" {
			t.Errorf("alert: %+v", a)
		}
		if got, _ := h.srv.App.Conversations.LoadMessage(context.Background(), m7.ID); got.Status != conversation.Pending {
			t.Errorf("with an expired token the message is %s, want pending (retried)", got.Status)
		}
		var conn whatsapp.Connection
		h.admin.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/test", h.inbox.ID), nil).Expect(200).Decode(&conn)
		if conn.OK || !strings.Contains(conn.Error, "190") {
			t.Errorf("test connection with an expired token: %+v", conn)
		}
		h.fake.RestoreToken(h.num.Token)
		h.admin.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/test", h.inbox.ID), nil).Expect(200).Decode(&conn)
		if !conn.OK || conn.VerifiedName != "Lucky Shrub" || conn.QualityRating == "" {
			t.Errorf("test connection: %+v", conn)
		}
	})
}

// TestPacing: a number's throughput is held as configured: with a limit
// of 25 messages a second, 100 replies to 10 customers reach the fake in
// about four seconds, never more than 25 in any second, and the fake
// (which refuses beyond the limit) records no violation.
func TestPacing(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		const rate = 25
		h := newHarness(t, d, harnessOptions{rate: rate, fake: graphfake.Options{Throughput: rate}})
		var convs []int64
		for i := range 10 {
			c := h.customerWrites(graphfake.Customer{Name: fmt.Sprintf("Customer %d", i), Phone: fmt.Sprintf("1555000%04d", i)}, "hi")
			convs = append(convs, c.ID)
		}
		start := time.Now()
		var ids []int64
		for i := range 100 {
			m := decodeMessage(t, h.post(convs[i%10], map[string]any{"type": "text", "text": fmt.Sprintf("reply %d", i)}).Expect(201))
			ids = append(ids, m.ID)
		}
		for _, id := range ids {
			h.waitStatus(id, conversation.Sent)
		}
		took := time.Since(start)
		// What Switchboard controls, when it sends: never more than the
		// limit in any second.
		sent := h.sends.all()
		if len(sent) != 100 {
			t.Fatalf("%d sends, want 100", len(sent))
		}
		maxIn := maxInWindow(sent, time.Second)
		if maxIn > rate {
			t.Errorf("%d sends in one second, limit %d", maxIn, rate)
		}
		// What Meta sees: the fake's limiter (Meta's, a bucket of one
		// second) refused nothing.
		if v := h.fake.Violations(); len(v) > 0 {
			t.Errorf("the fake saw %d violations: %+v", len(v), v[0])
		}
		var arrived []time.Time
		for _, a := range h.fake.Attempts() {
			if !a.Read && a.Code == 0 {
				arrived = append(arrived, a.At)
			}
		}
		if took < 3500*time.Millisecond || took > 12*time.Second {
			t.Errorf("100 messages at %d/s took %v", rate, took)
		}
		t.Logf("100 messages at %d/s: %v, at most %d sent in any second (%d arrived at the fake)", rate, took.Round(time.Millisecond), maxIn, maxInWindow(arrived, time.Second))
	})
}

// maxInWindow is the most instants in any window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best := 0
	j := 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// upload stores a file as the client, for attaching.
func upload(t *testing.T, c *testrig.Client, name string, data []byte) int64 {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	var a struct {
		ID int64 `json:"id"`
	}
	c.Do("POST", "/api/v1/attachments", &b, "Content-Type", mw.FormDataContentType()).Expect(201).Decode(&a)
	return a.ID
}
