package conversation_test

import (
	"context"
	"testing"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
)

// pick assigns every new conversation to one agent.
type pick struct {
	to    int64
	calls int
	freed []int64
}

func (p *pick) Place(ctx context.Context, tx *event.Tx, c *conversation.Conversation) error {
	p.calls++
	if p.to == 0 {
		return nil
	}
	return conversation.AssignTo(ctx, tx.Tx, c, p.to, 0)
}

func (p *pick) Freed(_ context.Context, _ *event.Tx, inboxID int64) error {
	p.freed = append(p.freed, inboxID)
	return nil
}

// TestAutoAssign: a customer's first message gives the new conversation
// to whom the assigner picks, in the same transaction and event; later
// messages do not ask again, and their events keep the assignee as the
// previous one too (it did not change).
func TestAutoAssign(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		p := &pick{}
		f := newFixture(t, d, p)
		p.to = f.service.UserID
		r := f.receive(t, f.inbox, "v1", "m1", "Hello")
		if r.Conversation.AssigneeID == nil || *r.Conversation.AssigneeID != f.service.UserID {
			t.Fatalf("new conversation assigned to %v", r.Conversation.AssigneeID)
		}
		c, err := f.svc.Get(context.Background(), f.admin, r.Conversation.ID)
		if err != nil || c.AssigneeID == nil || *c.AssigneeID != f.service.UserID {
			t.Fatalf("stored assignee %v (%v)", c.AssigneeID, err)
		}
		acts, err := f.svc.Activities(context.Background(), f.admin, c.ID, conversation.ActivityOptions{})
		if err != nil || len(acts) != 1 || acts[0].Kind != conversation.ActAssigned || acts[0].ActorType != conversation.ActorSystem ||
			acts[0].ActorID != nil || acts[0].AfterMessageID != r.Message.ID {
			t.Fatalf("activities %+v (%v), want one automatic assignment after the first message", acts, err)
		}
		f.receive(t, f.inbox, "v1", "m2", "Still there?")
		if p.calls != 1 {
			t.Errorf("assigner asked %d times, want once (for the new conversation)", p.calls)
		}
		f.mu.Lock()
		var created, updated *event.Event
		for i := range f.events {
			e := &f.events[i]
			switch e.Type {
			case event.ConversationCreated:
				created = e
			case event.ConversationUpdated:
				updated = e
			}
		}
		if created == nil || created.Ref.AssigneeID != f.service.UserID || created.PrevAssigneeID != 0 {
			t.Errorf("created event %+v", created)
		}
		if updated == nil || updated.PrevAssigneeID != f.service.UserID {
			t.Errorf("updated event %+v: the assignee did not change", updated)
		}
		f.mu.Unlock()
		// Nobody picked: the conversation waits unassigned.
		p.to = 0
		if r := f.receive(t, f.otherInbox, "v2", "m3", "Hi"); r.Conversation.AssigneeID != nil {
			t.Errorf("assigned to %v", *r.Conversation.AssigneeID)
		}
	})
}
