package conversation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// TestChannelIdentities: a customer known by two ids (WhatsApp's
// business-scoped id and phone-based id) is one contact whichever id a
// message comes with, and the ids it lacked are linked.
func TestChannelIdentities(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		// An older message with the phone-based id only.
		r1, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "wa:16505551234", Profile: contact.Profile{Phone: "+16505551234"},
			ChannelMessageID: "w1", Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		// Then both ids: the same contact, which learns the new id and a name.
		r2, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "bsuid:US.1", AltExternalIDs: []string{"wa:16505551234"},
			Profile: contact.Profile{Name: "Sheena", Phone: "+16505551234"}, ChannelMessageID: "w2", Text: "again"})
		if err != nil {
			t.Fatal(err)
		}
		if r2.Conversation.ContactID != r1.Conversation.ContactID || r2.Conversation.ID != r1.Conversation.ID {
			t.Fatalf("two contacts: %d, %d", r1.Conversation.ContactID, r2.Conversation.ContactID)
		}
		// Then the business-scoped id alone (the phone hidden).
		r3, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "bsuid:US.1", AltExternalIDs: []string{""}, ChannelMessageID: "w3", Text: "hidden"})
		if err != nil || r3.Conversation.ContactID != r1.Conversation.ContactID {
			t.Fatalf("bsuid only: %v contact %d", err, r3.Conversation.ContactID)
		}
		ct, err := f.svc.Contact(ctx, f.admin, r1.Conversation.ContactID)
		if err != nil || ct.Name != "Sheena" || ct.Phone == nil || *ct.Phone != "+16505551234" || len(ct.Identities) != 2 {
			t.Fatalf("contact: %v %+v", err, ct)
		}
		// A customer with a hidden phone from the start.
		r4, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "bsuid:US.2", AltExternalIDs: []string{""}, Profile: contact.Profile{Name: "Hidden"},
			ChannelMessageID: "w4", Text: "hi"})
		if err != nil || r4.Conversation.ContactID == r1.Conversation.ContactID || r4.Conversation.Contact.Phone != nil {
			t.Fatalf("hidden phone: %v %+v", err, r4.Conversation)
		}
		// A known customer writing again in their open conversation with
		// what the contact lacked (a name, then a phone): it is filled in.
		r5, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "wa:16505550000", ChannelMessageID: "w5", Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range []contact.Profile{{}, {Name: "Late"}, {Name: "Late", Phone: "+16505550000"}} {
			r, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "wa:16505550000", AltExternalIDs: []string{""}, Profile: p,
				ChannelMessageID: fmt.Sprintf("w6-%d", i), Text: "again"})
			if err != nil || r.Conversation.ID != r5.Conversation.ID || r.Conversation.Contact.Name != p.Name {
				t.Fatalf("again %d: %v %+v", i, err, r.Conversation)
			}
		}
		ct, err = f.svc.Contact(ctx, f.admin, r5.Conversation.ContactID)
		if err != nil || ct.Name != "Late" || ct.Phone == nil || *ct.Phone != "+16505550000" {
			t.Fatalf("contact filled in: %v %+v", err, ct)
		}
	})
}

// TestReplyLinkAndThen: a message answering another is linked to it, and
// a channel's own writes commit with the message, or roll it back.
func TestReplyLinkAndThen(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		r1 := f.receive(t, f.inbox, "v", "q1", "Which color?")
		ran := 0
		r2, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "v", ChannelMessageID: "q2", Type: conversation.TypeInteractive,
			Text: "Blue", Content: json.RawMessage(`{"wa_type":"interactive"}`), ReplyToChannelID: "q1",
			Then: func(ctx context.Context, tx *event.Tx, r *conversation.Receipt) error { ran++; return nil }})
		if err != nil || ran != 1 {
			t.Fatalf("receive: %v ran=%d", err, ran)
		}
		if r2.Message.ReplyToID == nil || *r2.Message.ReplyToID != r1.Message.ID {
			t.Fatalf("reply_to_id = %v, want %d", r2.Message.ReplyToID, r1.Message.ID)
		}
		// A reply to a message Switchboard never saw is stored unlinked.
		r3, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "v", ChannelMessageID: "q3", Text: "?", ReplyToChannelID: "unknown"})
		if err != nil || r3.Message.ReplyToID != nil {
			t.Fatalf("unknown reply target: %v %v", err, r3.Message.ReplyToID)
		}
		// A redelivery does not run Then again.
		if _, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "v", ChannelMessageID: "q2", Type: conversation.TypeInteractive, Text: "Blue",
			Then: func(ctx context.Context, tx *event.Tx, r *conversation.Receipt) error { ran++; return nil }}); err != nil || ran != 1 {
			t.Fatalf("redelivery: %v ran=%d", err, ran)
		}
		// Then failing leaves nothing.
		boom := errors.New("boom")
		_, err = f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "new-visitor", ChannelMessageID: "q4", Text: "x",
			Then: func(ctx context.Context, tx *event.Tx, r *conversation.Receipt) error { return boom }})
		if !errors.Is(err, boom) {
			t.Fatalf("then error: %v", err)
		}
		var n int
		d.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE channel_message_id = 'q4'`).Scan(&n)
		var c int
		d.QueryRow(ctx, `SELECT COUNT(*) FROM contact_identities WHERE external_id = 'new-visitor'`).Scan(&c)
		if n != 0 || c != 0 {
			t.Fatalf("a failed Then left %d messages, %d identities", n, c)
		}
	})
}

// TestDeliveryByChannelID: statuses find their message by the channel's
// id, or by Switchboard's id when they overtake the outbox; never go
// backwards; played follows read; failures keep their details; an id
// learnt late is kept.
func TestDeliveryByChannelID(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		r := f.receive(t, f.inbox, "v", "in1", "hi")
		m, _, err := f.svc.Send(ctx, f.service, r.Conversation.ID, conversation.Outgoing{Text: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		// "delivered" arrives before the outbox recorded "sent": found by
		// Switchboard's id, and the channel id is learnt.
		found, changed, err := f.svc.SetDeliveryByChannelID(ctx, f.inbox, "wamid.A", m.ID, conversation.Delivered, nil)
		if err != nil || !found || !changed {
			t.Fatalf("by fallback: %v %v %v", found, changed, err)
		}
		// The outbox's late "sent" changes nothing.
		if ch, err := f.svc.SetDelivery(ctx, m.ID, conversation.Sent, "wamid.A", nil); err != nil || ch {
			t.Fatalf("late sent: %v %v", ch, err)
		}
		// The fallback id of another inbox, or of a message with another
		// channel id, finds nothing.
		if found, _, _ := f.svc.SetDeliveryByChannelID(ctx, f.otherInbox, "wamid.Z", m.ID, conversation.Read, nil); found {
			t.Error("found a message of another inbox")
		}
		if found, _, _ := f.svc.SetDeliveryByChannelID(ctx, f.inbox, "wamid.Z", m.ID, conversation.Read, nil); found {
			t.Error("found a message by its id though it has another channel id")
		}
		for _, st := range []conversation.Delivery{conversation.Played, conversation.Read, conversation.Delivered} {
			if _, _, err := f.svc.SetDeliveryByChannelID(ctx, f.inbox, "wamid.A", 0, st, nil); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := f.svc.LoadMessage(ctx, m.ID)
		if got.Status != conversation.Played || got.ChannelMessageID == nil || *got.ChannelMessageID != "wamid.A" {
			t.Fatalf("after played, read, delivered: %s %v", got.Status, got.ChannelMessageID)
		}

		// A failure keeps Meta's title and details.
		m2, _, _ := f.svc.Send(ctx, f.service, r.Conversation.ID, conversation.Outgoing{Text: "second"})
		f.svc.SetDelivery(ctx, m2.ID, conversation.Sent, "wamid.B", nil)
		e := &conversation.MessageError{Code: "131047", Message: "Re-engagement message", Details: "More than 24 hours have passed."}
		if _, changed, err := f.svc.SetDeliveryByChannelID(ctx, f.inbox, "wamid.B", 0, conversation.Failed, e); err != nil || !changed {
			t.Fatal(err)
		}
		got, _ = f.svc.LoadMessage(ctx, m2.ID)
		if got.Status != conversation.Failed || got.Error == nil || *got.Error != *e {
			t.Fatalf("failed: %s %+v", got.Status, got.Error)
		}
		// A late "sent" does not hide the failure; a "delivered" (another
		// device) wins over it.
		f.svc.SetDeliveryByChannelID(ctx, f.inbox, "wamid.B", 0, conversation.Sent, nil)
		if got, _ = f.svc.LoadMessage(ctx, m2.ID); got.Status != conversation.Failed {
			t.Fatalf("sent after failed: %s", got.Status)
		}
		f.svc.SetDeliveryByChannelID(ctx, f.inbox, "wamid.B", 0, conversation.Delivered, nil)
		if got, _ = f.svc.LoadMessage(ctx, m2.ID); got.Status != conversation.Delivered || got.Error != nil {
			t.Fatalf("delivered after failed: %s %+v", got.Status, got.Error)
		}
	})
}

// TestReactions: one reaction per side, replaced, removed, and an older
// one arriving late is ignored.
func TestReactions(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		r := f.receive(t, f.inbox, "v", "in1", "hi")
		id := r.Message.ID
		t0 := time.Now().UTC().Add(-time.Minute)
		steps := []struct {
			by      conversation.Reactor
			emoji   string
			at      time.Time
			changed bool
		}{
			{conversation.ByContact, "👍", t0, true},
			{conversation.ByContact, "👍", t0.Add(time.Second), false}, // the same again
			{conversation.ByBusiness, "❤️", t0, true},
			{conversation.ByContact, "", t0.Add(3 * time.Second), true},   // removed
			{conversation.ByContact, "😂", t0.Add(2 * time.Second), false}, // older than the removal: ignored
			{conversation.ByContact, "🎉", t0.Add(4 * time.Second), true},
		}
		for i, s := range steps {
			changed, err := f.svc.React(ctx, id, s.by, s.emoji, s.at)
			if err != nil || changed != s.changed {
				t.Fatalf("step %d: changed=%v err=%v, want %v", i, changed, err, s.changed)
			}
		}
		m, _ := f.svc.LoadMessage(ctx, id)
		if len(m.Reactions) != 2 || m.Reactions[0].By != conversation.ByBusiness || m.Reactions[0].Emoji != "❤️" || m.Reactions[1].Emoji != "🎉" {
			t.Fatalf("reactions: %+v", m.Reactions)
		}
		page, _ := f.svc.Messages(ctx, f.admin, r.Conversation.ID, conversation.MessageOptions{})
		if len(page.Items[0].Reactions) != 2 {
			t.Fatalf("history reactions: %+v", page.Items[0].Reactions)
		}
	})
}

// TestSendChecksAndStart: a channel's check refuses a send (nothing kept)
// or delays its job; an agent starts a conversation with a customer.
func TestSendChecksAndStart(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		f.svc.CheckSends(func(ctx context.Context, tx *event.Tx, c *conversation.Conversation, m *conversation.Message) (time.Time, error) {
			if m.Text == "refuse" {
				return time.Time{}, problem.Invalid("text", "Refused by the channel.")
			}
			if m.Type == conversation.TypeTemplate {
				return later, nil
			}
			return time.Time{}, nil
		})
		r := f.receive(t, f.inbox, "v", "in1", "hi")
		_, _, err := f.svc.Send(ctx, f.service, r.Conversation.ID, conversation.Outgoing{Text: "refuse"})
		if p, ok := problem.As(err); !ok || p.Fields["text"] != "Refused by the channel." {
			t.Fatalf("refused: %v", err)
		}
		var n int
		d.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE text = 'refuse'`).Scan(&n)
		if n != 0 {
			t.Fatal("a refused message was stored")
		}
		m, _, err := f.svc.Send(ctx, f.service, r.Conversation.ID, conversation.Outgoing{Text: "Your order", Type: conversation.TypeTemplate, Content: json.RawMessage(`{"wa_type":"template"}`)})
		if err != nil || m.Type != conversation.TypeTemplate || string(m.Content) != `{"wa_type":"template"}` {
			t.Fatalf("template: %v %+v", err, m)
		}
		var runAt time.Time
		d.QueryRow(ctx, `SELECT run_at FROM jobs WHERE payload LIKE '%' || $1 || '%'`, `"message_id":`+itoa(m.ID)+`}`).Scan(&runAt)
		if !runAt.Equal(later) {
			t.Fatalf("job runs at %v, want %v", runAt, later)
		}

		// Start: a new customer gets a conversation started by the agent
		// and assigned to them; their open conversation is reused after.
		start := conversation.NewConversation{InboxID: f.inbox, ExternalID: "wa:34600111222", Profile: contact.Profile{Phone: "+34600111222"},
			Message: conversation.Outgoing{Text: "Hello from us", IdempotencyKey: "s1"}}
		m1, c1, created, err := f.svc.Start(ctx, f.service, start)
		if err != nil || !created || c1.StartedBy != conversation.ByAgent || c1.AssigneeID == nil || *c1.AssigneeID != f.service.UserID || m1.ConversationID != c1.ID {
			t.Fatalf("start: %v %v %+v", err, created, c1)
		}
		m2, _, created, err := f.svc.Start(ctx, f.service, start)
		if err != nil || created || m2.ID != m1.ID {
			t.Fatalf("start again (same key): %v %v %d", err, created, m2.ID)
		}
		start.Message.IdempotencyKey = "s2"
		m3, c3, created, err := f.svc.Start(ctx, f.service, start)
		if err != nil || !created || c3.ID != c1.ID || m3.ID == m1.ID {
			t.Fatalf("second start: %v %v %d", err, created, c3.ID)
		}
		// Someone who is not a member of the inbox may not.
		if _, _, _, err := f.svc.Start(ctx, f.outsider, start); !isKind(err, problem.KindForbidden) {
			t.Fatalf("outsider: %v", err)
		}
		// A sales agent may not take over a conversation they cannot see.
		sales := f.sales
		sales.Inboxes = []int64{f.inbox}
		d.Exec(ctx, `INSERT INTO inbox_members (inbox_id, user_id) VALUES ($1, $2)`, f.inbox, sales.UserID)
		start.Message.IdempotencyKey = "s3"
		if _, _, _, err := f.svc.Start(ctx, sales, start); !isKind(err, problem.KindConflict) {
			t.Fatalf("sales on someone else's conversation: %v", err)
		}
	})
}

// TestAmendAndReadHooks: a channel completes a stored message; read
// hooks learn an agent saw a conversation; the reply window is read on
// single conversations.
func TestAmendAndReadHooks(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		var seen []int64
		f.svc.OnRead(func(ctx context.Context, a policy.Actor, c conversation.Conversation) { seen = append(seen, c.ID) })
		end := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f.svc.SetReplyWindow(func(ctx context.Context, c *conversation.Conversation) (*time.Time, error) { return &end, nil })
		r, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "v", ChannelMessageID: "img", Type: conversation.TypeImage,
			Content: json.RawMessage(`{"wa_type":"image","media":{"state":"pending"}}`)})
		if err != nil {
			t.Fatal(err)
		}
		m, err := f.svc.Amend(ctx, r.Message.ID, func(tx *event.Tx, m *conversation.Message) error {
			m.Content = json.RawMessage(`{"wa_type":"image","media":{"state":"stored"}}`)
			m.Text = "caption"
			return nil
		})
		if err != nil || m.Text != "caption" {
			t.Fatal(err)
		}
		got, _ := f.svc.LoadMessage(ctx, r.Message.ID)
		if string(got.Content) != `{"wa_type":"image","media":{"state":"stored"}}` || got.Text != "caption" {
			t.Fatalf("amended: %s %q", got.Content, got.Text)
		}
		c, _ := f.svc.Get(ctx, f.admin, r.Conversation.ID)
		if c.LastMessagePreview != "caption" || c.ReplyWindowEndsAt == nil || !c.ReplyWindowEndsAt.Equal(end) {
			t.Fatalf("conversation: %q %v", c.LastMessagePreview, c.ReplyWindowEndsAt)
		}
		if err := f.svc.MarkRead(ctx, f.admin, r.Conversation.ID); err != nil || len(seen) != 1 || seen[0] != r.Conversation.ID {
			t.Fatalf("read hook: %v %v", err, seen)
		}
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestChannelAccessors: what channels read of conversations without
// querying their tables.
func TestChannelAccessors(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		if id, err := f.svc.LatestFromCustomer(ctx, 999); err != nil || id != 0 {
			t.Errorf("latest of no conversation: %d %v", id, err)
		}
		r1 := f.receive(t, f.inbox, "v", "c1", "first")
		r2 := f.receive(t, f.inbox, "v", "c2", "second")
		// Neither a system message nor the business's reply counts.
		if _, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "v", ChannelMessageID: "c3", Type: conversation.TypeSystem, Text: "changed number"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Send(ctx, f.admin, r1.Conversation.ID, conversation.Outgoing{Text: "hello", IdempotencyKey: "k1"}); err != nil {
			t.Fatal(err)
		}
		if id, err := f.svc.LatestFromCustomer(ctx, r1.Conversation.ID); err != nil || id != r2.Message.ID {
			t.Errorf("latest from the customer: %d %v, want %d", id, err, r2.Message.ID)
		}
		if id, err := f.svc.ContactOf(ctx, r1.Conversation.ID); err != nil || id != r1.Conversation.ContactID {
			t.Errorf("contact of the conversation: %d %v", id, err)
		}
		if _, err := f.svc.ContactOf(ctx, 999); !errors.Is(err, conversation.ErrNotFound) {
			t.Errorf("contact of no conversation: %v", err)
		}
		if id, err := f.svc.ContactOfMessage(ctx, r2.Message.ID); err != nil || id != r1.Conversation.ContactID {
			t.Errorf("contact of the message: %d %v", id, err)
		}
		if _, err := f.svc.ContactOfMessage(ctx, 999); !isKind(err, problem.KindNotFound) {
			t.Errorf("contact of no message: %v", err)
		}
	})
}
