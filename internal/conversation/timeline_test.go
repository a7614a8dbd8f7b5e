package conversation_test

import (
	"context"
	"errors"
	"fmt"
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

// TestActivities: every change of assignee, status and tags is an
// activity of the conversation, written with the change, by whom, after
// the message that was last then; a refused change writes none, and
// only those who see the conversation see its activities.
func TestActivities(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		r := f.receive(t, f.inbox, "v1", "m1", "Hello")
		id, first := r.Conversation.ID, r.Message.ID
		must := func(_ conversation.Conversation, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		svc, admin := f.service.UserID, f.admin.UserID
		must(f.svc.Assign(ctx, f.admin, id, &svc))
		must(f.svc.Assign(ctx, f.admin, id, &svc)) // no change: no activity
		must(f.svc.Assign(ctx, f.admin, id, &admin))
		must(f.svc.Assign(ctx, f.admin, id, nil))
		reply, _, err := f.svc.Send(ctx, f.service, id, conversation.Outgoing{Text: "On it"}) // takes it
		if err != nil {
			t.Fatal(err)
		}
		must(f.svc.Tag(ctx, f.service, id, []string{"VIP", "billing"}, nil))
		must(f.svc.Tag(ctx, f.service, id, []string{"vip"}, []string{"billing", "absent"}))
		must(f.svc.Close(ctx, f.service, id))
		if _, err := f.svc.Close(ctx, f.service, id); err == nil {
			t.Fatal("closing twice was not refused")
		}
		must(f.svc.Reopen(ctx, f.admin, id))

		acts, err := f.svc.Activities(ctx, f.admin, id, conversation.ActivityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			kind       conversation.ActivityKind
			actor      int64
			to, from   int64
			tag        string
			afterReply bool
		}
		want := []row{
			{conversation.ActAssigned, admin, svc, 0, "", false},
			{conversation.ActTransferred, admin, admin, svc, "", false},
			{conversation.ActUnassigned, admin, 0, admin, "", false},
			{conversation.ActAssigned, svc, svc, 0, "", false},
			{conversation.ActTagged, svc, 0, 0, "billing", true},
			{conversation.ActTagged, svc, 0, 0, "vip", true},
			{conversation.ActUntagged, svc, 0, 0, "billing", true},
			{conversation.ActClosed, svc, 0, 0, "", true},
			{conversation.ActReopened, admin, 0, 0, "", true},
		}
		deref := func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		}
		var got []row
		for _, a := range acts {
			if a.ConversationID != id || a.ActorType != conversation.ActorAgent || a.CreatedAt.IsZero() {
				t.Errorf("activity %+v", a)
			}
			switch a.AfterMessageID {
			case first, reply.ID:
			default:
				t.Errorf("%s after message %d, want %d or %d", a.Kind, a.AfterMessageID, first, reply.ID)
			}
			got = append(got, row{a.Kind, deref(a.ActorID), deref(a.AssigneeID), deref(a.PrevAssigneeID), a.Tag, a.AfterMessageID == reply.ID})
		}
		// Tags added together are written in the order given: sort
		// nothing, compare as a set within each change.
		if len(got) == len(want) && got[4].tag == "vip" {
			got[4], got[5] = got[5], got[4]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("activities\n got %v\nwant %v", got, want)
		}

		// Paged with the messages: those after the reply, and those after
		// the last one seen.
		later, err := f.svc.Activities(ctx, f.admin, id, conversation.ActivityOptions{AfterMessage: reply.ID})
		if err != nil || len(later) != 5 {
			t.Fatalf("after the reply: %d activities (%v), want 5", len(later), err)
		}
		earlier, err := f.svc.Activities(ctx, f.admin, id, conversation.ActivityOptions{BeforeMessage: reply.ID})
		if err != nil || len(earlier) != 4 {
			t.Fatalf("before the reply: %d activities (%v), want 4", len(earlier), err)
		}
		since, err := f.svc.Activities(ctx, f.admin, id, conversation.ActivityOptions{AfterID: acts[6].ID})
		if err != nil || len(since) != 2 || since[0].Kind != conversation.ActClosed {
			t.Fatalf("since the seventh: %+v (%v)", since, err)
		}
		if _, err := f.svc.Activities(ctx, f.outsider, id, conversation.ActivityOptions{}); !errors.Is(err, conversation.ErrNotFound) {
			t.Fatalf("an outsider reads the activities: %v", err)
		}
	})
}

// TestEarlier: a returning customer's earlier conversations come one by
// one, newest first, and only those the reader may see.
func TestEarlier(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		var ids []int64
		for i := range 3 {
			r := f.receive(t, f.inbox, "v1", fmt.Sprintf("m%d", i), fmt.Sprintf("Visit %d", i))
			ids = append(ids, r.Conversation.ID)
			if i < 2 {
				if _, err := f.svc.Close(ctx, f.admin, r.Conversation.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		f.receive(t, f.inbox, "v2", "x1", "Someone else") // another contact
		if ids[0] == ids[1] || ids[1] == ids[2] {
			t.Fatalf("conversations %v: each visit should open one", ids)
		}
		for _, a := range []policy.Actor{f.admin, f.service} {
			e, err := f.svc.Earlier(ctx, a, ids[2])
			if err != nil || e.ID != ids[1] {
				t.Fatalf("user %d: before %d comes %d (%v), want %d", a.UserID, ids[2], e.ID, err, ids[1])
			}
			e, err = f.svc.Earlier(ctx, a, ids[1])
			if err != nil || e.ID != ids[0] {
				t.Fatalf("user %d: before %d comes %d (%v), want %d", a.UserID, ids[1], e.ID, err, ids[0])
			}
			if _, err = f.svc.Earlier(ctx, a, ids[0]); !errors.Is(err, conversation.ErrNotFound) {
				t.Fatalf("user %d: before the first: %v, want none", a.UserID, err)
			}
		}
		// A sales agent sees what is assigned to them: the current
		// conversation, and of the earlier ones only the first.
		sales := f.sales.UserID
		if _, err := d.Exec(ctx, `INSERT INTO inbox_members (inbox_id, user_id) VALUES ($1, $2)`, f.inbox, sales); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{ids[2], ids[0]} {
			if _, err := f.svc.Assign(ctx, f.admin, id, &sales); err != nil {
				t.Fatal(err)
			}
		}
		e, err := f.svc.Earlier(ctx, f.sales, ids[2])
		if err != nil || e.ID != ids[0] {
			t.Fatalf("sales: before %d comes %d (%v), want %d (the one in between is not theirs)", ids[2], e.ID, err, ids[0])
		}
		if _, err := f.svc.Earlier(ctx, f.sales, ids[1]); !errors.Is(err, conversation.ErrNotFound) {
			t.Fatalf("sales asked before a conversation they do not see: %v", err)
		}
		if _, err := f.svc.Earlier(ctx, f.outsider, ids[2]); !errors.Is(err, conversation.ErrNotFound) {
			t.Fatalf("an outsider: %v", err)
		}
	})
}

// TestReplied: the message a reply quotes is read for those who see its
// conversation, and for nobody else.
func TestReplied(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		q := f.receive(t, f.inbox, "v1", "m1", "My order is 42\nand it is late")
		r, err := f.svc.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "v1", ChannelMessageID: "m2", Text: "Any news?", ReplyToChannelID: "m1"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Message.ReplyToID == nil || *r.Message.ReplyToID != q.Message.ID {
			t.Fatalf("reply to %v, want %d", r.Message.ReplyToID, q.Message.ID)
		}
		got, err := f.svc.Replied(ctx, f.service, []int64{q.Message.ID, 999999})
		if err != nil || len(got) != 1 || got[q.Message.ID].Text != "My order is 42\nand it is late" || got[q.Message.ID].Attachments == nil {
			t.Fatalf("replied: %+v (%v)", got, err)
		}
		if got, err := f.svc.Replied(ctx, f.outsider, []int64{q.Message.ID}); err != nil || len(got) != 0 {
			t.Fatalf("an outsider reads the quoted message: %+v (%v)", got, err)
		}
	})
}
