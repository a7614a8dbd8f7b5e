package conversation_test

import (
	"context"
	"testing"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// unread reports how a conversation shows to a in a list and alone.
func (f *fixture) unread(t *testing.T, a policy.Actor, id int64) (list, single bool) {
	t.Helper()
	ctx := context.Background()
	c, err := f.svc.Get(ctx, a, id)
	if err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.List(ctx, a, conversation.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range page.Items {
		if x.ID == id {
			return x.Unread, c.Unread
		}
	}
	t.Fatalf("conversation %d is not in the list", id)
	return false, false
}

// TestUnreadIsTheCustomers: a conversation is unread for an agent when
// the customer wrote since the agent last read it; a colleague's reply
// does not make it unread.
func TestUnreadIsTheCustomers(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		r := f.receive(t, f.inbox, "v1", "m1", "Hello")
		id := r.Conversation.ID
		if l, s := f.unread(t, f.admin, id); !l || !s {
			t.Fatalf("a new customer message: unread %v in the list, %v alone; want both", l, s)
		}
		if err := f.svc.MarkRead(ctx, f.admin, id); err != nil {
			t.Fatal(err)
		}
		if l, s := f.unread(t, f.admin, id); l || s {
			t.Fatalf("after reading: unread %v in the list, %v alone", l, s)
		}
		// A colleague replies: still read for the admin, and read for the
		// colleague who wrote it.
		if _, _, err := f.svc.Send(ctx, f.service, id, conversation.Outgoing{Text: "On it"}); err != nil {
			t.Fatal(err)
		}
		if l, s := f.unread(t, f.admin, id); l || s {
			t.Fatalf("after a colleague's reply: unread %v in the list, %v alone; want read", l, s)
		}
		if l, s := f.unread(t, f.service, id); l || s {
			t.Fatalf("for the one who replied: unread %v in the list, %v alone", l, s)
		}
		// The customer writes again: unread for both.
		f.receive(t, f.inbox, "v1", "m2", "Thanks")
		for _, a := range []policy.Actor{f.admin, f.service} {
			if l, s := f.unread(t, a, id); !l || !s {
				t.Fatalf("user %d after the customer wrote again: unread %v in the list, %v alone; want both", a.UserID, l, s)
			}
		}
	})
}

// TestPreviewOfNotices: a message with nothing to show (a WhatsApp
// customer opening the chat) is not the conversation's preview: the list
// keeps what it showed, or shows nothing for the page to word.
func TestPreviewOfNotices(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		opened := func(id string) conversation.Receipt {
			r, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "v1", Profile: contact.Profile{Name: "Vera"},
				ChannelMessageID: id, Type: conversation.TypeSystem})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		r := opened("w1")
		if got := r.Conversation.LastMessagePreview; got != "" {
			t.Fatalf("preview of a chat just opened %q, want none", got)
		}
		c, err := f.svc.Get(ctx, f.admin, r.Conversation.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.LastMessagePreview != "" || c.LastMessageID != r.Message.ID || !c.Unread {
			t.Fatalf("stored: preview %q, last message %d (want %d), unread %v", c.LastMessagePreview, c.LastMessageID, r.Message.ID, c.Unread)
		}
		f.receive(t, f.inbox, "v1", "m1", "Do you deliver on Sundays?")
		r = opened("w2")
		c, err = f.svc.Get(ctx, f.admin, r.Conversation.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.LastMessagePreview != "Do you deliver on Sundays?" || r.Conversation.LastMessagePreview != c.LastMessagePreview {
			t.Fatalf("preview after the chat was opened again %q (receipt %q), want the customer's question", c.LastMessagePreview, r.Conversation.LastMessagePreview)
		}
	})
}
