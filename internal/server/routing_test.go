package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/testrig"
	"github.com/switchboardhq/switchboard/internal/user"
)

// TestRoutingFollowsMemberships: the node's routing hears membership
// changes through its shared event consumer: a member removed from an
// inbox no longer works its conversation (it goes to a colleague), and a
// member added takes what waits in the queue (the drain job, run by the
// node's runner).
func TestRoutingFollowsMemberships(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		srv := testrig.Start(t, d)
		app := srv.App
		a := srv.NewUser("a@example.com", policy.Service)
		b := srv.NewUser("b@example.com", policy.Service)
		c := srv.NewUser("c@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", a.UserID, b.UserID)
		for _, u := range []*testrig.Client{a, b, c} {
			if _, err := app.Availability.Set(ctx, u.UserID, user.Available); err != nil {
				t.Fatal(err)
			}
		}
		one := 1
		if _, err := app.Routing.SetSettings(ctx, in.ID, routing.Patch{Rule: ptrRule(routing.AvailableInTurn), DefaultLimit: &one}); err != nil {
			t.Fatal(err)
		}
		receive := func(who string) conversation.Conversation {
			r, err := app.Conversations.Receive(ctx, conversation.Incoming{InboxID: in.ID, ExternalID: who, ChannelMessageID: who, Text: "Hi"})
			if err != nil {
				t.Fatal(err)
			}
			return r.Conversation
		}
		first, second, third := receive("v1"), receive("v2"), receive("v3")
		if first.AssigneeID == nil || *first.AssigneeID != a.UserID || second.AssigneeID == nil || *second.AssigneeID != b.UserID || third.Queue == nil {
			t.Fatalf("%v, %v, %+v", first.AssigneeID, second.AssigneeID, third.Queue)
		}
		admin := policy.Actor{UserID: a.UserID, Role: policy.Admin}
		assignee := func(id int64) int64 {
			got, err := app.Conversations.Get(ctx, admin, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.AssigneeID == nil {
				return 0
			}
			return *got.AssigneeID
		}
		start := time.Now()
		wait := func(what string, cond func() bool) {
			t.Helper()
			for !cond() {
				if time.Since(start) > 20*time.Second {
					t.Fatalf("timed out waiting for %s", what)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		// c joins: the queue's head is theirs.
		members := []int64{a.UserID, b.UserID, c.UserID}
		if _, _, err := app.Inboxes.Update(ctx, in.ID, inbox.Patch{MemberIDs: &members}); err != nil {
			t.Fatal(err)
		}
		wait("the new member to take from the queue", func() bool { return assignee(third.ID) == c.UserID })
		// a leaves: their conversation waits for room (everyone else is
		// at the limit), then goes to b when b closes theirs.
		members = []int64{b.UserID, c.UserID}
		start = time.Now()
		if _, _, err := app.Inboxes.Update(ctx, in.ID, inbox.Patch{MemberIDs: &members}); err != nil {
			t.Fatal(err)
		}
		wait("the removed member's conversation to go back to routing", func() bool { return assignee(first.ID) == 0 })
		if _, err := app.Conversations.Close(ctx, admin, second.ID); err != nil {
			t.Fatal(err)
		}
		if got := assignee(first.ID); got != b.UserID {
			t.Fatalf("after b's close the conversation went to %d, want b", got)
		}
	})
}

func ptrRule(r routing.Rule) *routing.Rule { return &r }
