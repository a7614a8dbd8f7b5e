package conversation_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type fixture struct {
	db     *db.DB
	log    *event.Log
	svc    *conversation.Service
	broker *event.Local
	// assigner is routing, when the test gives one.
	assigner conversation.Assigner

	mu     sync.Mutex
	events []event.Event

	admin, service, sales, outsider policy.Actor
	inbox, otherInbox               int64
}

func newFixture(t *testing.T, d *db.DB, assigner ...conversation.Assigner) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: d, broker: event.NewLocal()}
	if len(assigner) > 0 {
		f.assigner = assigner[0]
	}
	f.broker.Subscribe(func(es []event.Event) {
		f.mu.Lock()
		f.events = append(f.events, es...)
		f.mu.Unlock()
	})
	f.log = event.NewLog(d, f.broker, slog.New(slog.DiscardHandler))
	f.svc = conversation.NewService(d, f.log, job.NewQueue(), attachment.DefaultLimits, f.assigner)
	mkUser := func(email string, role policy.Role) policy.Actor {
		var id int64
		err := d.QueryRow(ctx, `SELECT 1`).Scan(new(int))
		if err != nil {
			t.Fatal(err)
		}
		err = d.Write(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ($1, $1, $2, 'x', $3, $3) RETURNING id`,
				email, role, db.Now()).Scan(&id)
		})
		if err != nil {
			t.Fatal(err)
		}
		return policy.Actor{UserID: id, Role: role}
	}
	mkInbox := func(name string) int64 {
		var id int64
		err := d.Write(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO inboxes (type, name, public_token, created_at, updated_at) VALUES ('webchat', $1, $1, $2, $2) RETURNING id`,
				name, db.Now()).Scan(&id)
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	f.admin = mkUser("admin@x.test", policy.Admin)
	f.service = mkUser("service@x.test", policy.Service)
	f.sales = mkUser("sales@x.test", policy.Sales)
	f.outsider = mkUser("outsider@x.test", policy.Service)
	f.inbox = mkInbox("site")
	f.otherInbox = mkInbox("other")
	if _, err := d.Exec(ctx, `INSERT INTO inbox_members (inbox_id, user_id) VALUES ($1, $2)`, f.inbox, f.service.UserID); err != nil {
		t.Fatal(err)
	}
	f.service.Inboxes = []int64{f.inbox}
	f.outsider.Inboxes = []int64{}
	return f
}

func (f *fixture) receive(t *testing.T, inbox int64, visitor, id, text string) conversation.Receipt {
	t.Helper()
	r, err := f.svc.Receive(context.Background(), conversation.Incoming{InboxID: inbox, ExternalID: visitor,
		Profile: contact.Profile{Name: "Visitor " + visitor}, ChannelMessageID: id, Text: text})
	if err != nil {
		t.Fatalf("Receive(%s): %v", id, err)
	}
	return r
}

func TestReceiveSendClose(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)

		r1 := f.receive(t, f.inbox, "v1", "m1", "Hello")
		if !r1.NewConversation || r1.Duplicate {
			t.Fatalf("first message: new=%v dup=%v", r1.NewConversation, r1.Duplicate)
		}
		r2 := f.receive(t, f.inbox, "v1", "m2", "Anyone there?")
		if r2.NewConversation || r2.Conversation.ID != r1.Conversation.ID {
			t.Fatalf("second message opened conversation %d, want %d", r2.Conversation.ID, r1.Conversation.ID)
		}
		// Delivered again: stored once.
		dup := f.receive(t, f.inbox, "v1", "m1", "Hello")
		if !dup.Duplicate || dup.Message.ID != r1.Message.ID {
			t.Fatalf("redelivery: dup=%v id=%d want %d", dup.Duplicate, dup.Message.ID, r1.Message.ID)
		}

		// A reply with an idempotency key, sent twice, is one message.
		out := conversation.Outgoing{Text: "Hi, how can I help?", IdempotencyKey: "k1"}
		m1, created, err := f.svc.Send(ctx, f.service, r1.Conversation.ID, out)
		if err != nil || !created {
			t.Fatalf("Send: %v created=%v", err, created)
		}
		m2, created, err := f.svc.Send(ctx, f.service, r1.Conversation.ID, out)
		if err != nil || created || m2.ID != m1.ID {
			t.Fatalf("Send again: %v created=%v id=%d want %d", err, created, m2.ID, m1.ID)
		}
		if m1.Status != conversation.Pending {
			t.Fatalf("new reply status %s, want pending", m1.Status)
		}
		var jobs int
		d.QueryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1`, conversation.SendJob).Scan(&jobs)
		if jobs != 1 {
			t.Fatalf("outbox jobs = %d, want 1", jobs)
		}
		// Replying assigned the conversation to the agent.
		c, err := f.svc.Get(ctx, f.service, r1.Conversation.ID)
		if err != nil || c.AssigneeID == nil || *c.AssigneeID != f.service.UserID {
			t.Fatalf("after reply: %v assignee=%v", err, c.AssigneeID)
		}

		// Delivery never goes backwards.
		for _, st := range []conversation.Delivery{conversation.Sent, conversation.Read, conversation.Delivered, conversation.Sent} {
			if _, err := f.svc.SetDelivery(ctx, m1.ID, st, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := f.svc.LoadMessage(ctx, m1.ID)
		if got.Status != conversation.Read {
			t.Fatalf("status after sent, read, delivered, sent = %s, want read", got.Status)
		}

		// Close; a new customer message opens a new conversation.
		if _, err := f.svc.Close(ctx, f.service, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Send(ctx, f.service, c.ID, conversation.Outgoing{Text: "late"}); !isKind(err, problem.KindConflict) {
			t.Fatalf("send to closed: %v, want conflict", err)
		}
		r3 := f.receive(t, f.inbox, "v1", "m3", "Me again")
		if !r3.NewConversation || r3.Conversation.ID == c.ID || r3.Conversation.ContactID != c.ContactID {
			t.Fatalf("after close: new=%v conv=%d contact=%d", r3.NewConversation, r3.Conversation.ID, r3.Conversation.ContactID)
		}
		// The old one cannot be reopened while the new one is open.
		if _, err := f.svc.Reopen(ctx, f.service, c.ID); !isKind(err, problem.KindConflict) {
			t.Fatalf("reopen with another open: %v, want conflict", err)
		}
		// The contact's history shows both.
		page, err := f.svc.List(ctx, f.admin, conversation.ListOptions{ContactID: c.ContactID})
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("contact history: %v, %d items", err, len(page.Items))
		}

		// Events are numbered without gaps.
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, e := range f.events {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
		}
	})
}

func isKind(err error, k problem.Kind) bool {
	p, ok := problem.As(err)
	return ok && p.Kind == k
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		inMine := f.receive(t, f.inbox, "a", "a1", "in my inbox").Conversation
		inOther := f.receive(t, f.otherInbox, "b", "b1", "elsewhere").Conversation
		owned := f.receive(t, f.otherInbox, "c", "c1", "owned by sales").Conversation
		owner := f.sales.UserID
		if _, err := f.svc.UpdateContact(ctx, f.admin, owned.ContactID, contact.Patch{OwnerID: &owner}); err != nil {
			t.Fatal(err)
		}
		assigned := f.receive(t, f.otherInbox, "d", "d1", "assigned to sales").Conversation
		if _, err := f.svc.Assign(ctx, f.admin, assigned.ID, &owner); !isKind(err, problem.KindInvalid) {
			t.Fatalf("assign to non-member: %v, want invalid", err)
		}
		if _, err := d.Exec(ctx, `INSERT INTO inbox_members (inbox_id, user_id) VALUES ($1, $2)`, f.otherInbox, owner); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Assign(ctx, f.admin, assigned.ID, &owner); err != nil {
			t.Fatal(err)
		}

		ids := func(a policy.Actor, o conversation.ListOptions) []int64 {
			t.Helper()
			p, err := f.svc.List(ctx, a, o)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, c := range p.Items {
				out = append(out, c.ID)
			}
			slices.Sort(out)
			return out
		}
		all := conversation.ListOptions{}
		cases := []struct {
			name  string
			actor policy.Actor
			opts  conversation.ListOptions
			want  []int64
		}{
			{"admin all", f.admin, all, []int64{inMine.ID, inOther.ID, owned.ID, assigned.ID}},
			{"service all", f.service, all, []int64{inMine.ID}},
			{"service other inbox", f.service, conversation.ListOptions{InboxID: f.otherInbox}, nil},
			{"service own inbox", f.service, conversation.ListOptions{InboxID: f.inbox, Status: conversation.Open}, []int64{inMine.ID}},
			{"service unassigned", f.service, conversation.ListOptions{Assignee: conversation.Assignee{None: true}}, []int64{inMine.ID}},
			{"sales in inbox", f.sales, conversation.ListOptions{InboxID: f.otherInbox}, []int64{owned.ID, assigned.ID}},
			{"admin in inbox", f.admin, conversation.ListOptions{InboxID: f.inbox}, []int64{inMine.ID}},
			{"outsider all", f.outsider, all, nil},
			{"sales all", f.sales, all, []int64{owned.ID, assigned.ID}},
			{"sales mine", f.sales, conversation.ListOptions{Assignee: conversation.Assignee{Me: true}}, []int64{assigned.ID}},
			{"sales unassigned", f.sales, conversation.ListOptions{Assignee: conversation.Assignee{None: true}}, []int64{owned.ID}},
			{"admin unassigned", f.admin, conversation.ListOptions{Assignee: conversation.Assignee{None: true}}, []int64{inMine.ID, inOther.ID, owned.ID}},
			{"admin closed", f.admin, conversation.ListOptions{Status: conversation.Closed}, nil},
		}
		for _, tc := range cases {
			if got := ids(tc.actor, tc.opts); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
		for _, tc := range []struct {
			actor policy.Actor
			id    int64
			ok    bool
		}{
			{f.service, inMine.ID, true}, {f.service, inOther.ID, false},
			{f.sales, owned.ID, true}, {f.sales, inOther.ID, false}, {f.outsider, inMine.ID, false},
		} {
			_, err := f.svc.Get(ctx, tc.actor, tc.id)
			if (err == nil) != tc.ok {
				t.Errorf("Get(user %d, conversation %d) = %v, want ok=%v", tc.actor.UserID, tc.id, err, tc.ok)
			}
			if err != nil && !errors.Is(err, conversation.ErrNotFound) {
				t.Errorf("Get: %v, want ErrNotFound", err)
			}
		}
	})
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		var want []int64
		for i := range 12 {
			r := f.receive(t, f.inbox, fmt.Sprint("p", i), fmt.Sprint("pm", i), "hi")
			want = append([]int64{r.Conversation.ID}, want...)
		}
		for _, a := range []policy.Actor{f.admin, f.service} {
			var got []int64
			cursor := ""
			for {
				p, err := f.svc.List(ctx, a, conversation.ListOptions{Limit: 5, Cursor: cursor, Status: conversation.Open})
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range p.Items {
					got = append(got, c.ID)
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			if !slices.Equal(got, want) {
				t.Fatalf("role %s paged %v, want %v", a.Role, got, want)
			}
		}
		if _, err := f.svc.List(ctx, f.admin, conversation.ListOptions{Cursor: "garbage!"}); !isKind(err, problem.KindInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}
