package routing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

// node is one Switchboard node's routing, conversations and statuses
// over a database.
type node struct {
	d       *db.DB
	log     *event.Log
	queue   *job.Queue
	routing *routing.Service
	conv    *conversation.Service
	status  *availability.Service
	users   *user.Store
	inboxes *inbox.Store
}

func newNode(d *db.DB) *node {
	n := &node{d: d, queue: job.NewQueue()}
	n.log = event.NewLog(d, event.NewLocal(), quiet)
	n.routing = routing.New(d, n.log, n.queue, quiet)
	n.conv = conversation.NewService(d, n.log, n.queue, attachment.DefaultLimits, n.routing)
	n.status = availability.New(d, n.log, n.routing)
	n.users = user.NewStore(d, n.log, func(string) (string, error) { return "h", nil })
	box, _ := secret.NewBox(make([]byte, 32))
	n.inboxes = inbox.NewStore(d, n.log, box, webchat.Channel())
	return n
}

type fixture struct {
	*node
	t     testing.TB
	ctx   context.Context
	admin policy.Actor
	msgs  atomic.Int64
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	f := &fixture{node: newNode(d), t: t, ctx: context.Background()}
	f.admin = f.actor(f.agent("admin@example.com", policy.Admin))
	return f
}

func (f *fixture) agent(email string, role policy.Role) user.User {
	f.t.Helper()
	u, err := f.users.Create(f.ctx, user.NewUser{Email: email, Name: email, Role: role, Password: "long enough password"})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) actor(u user.User) policy.Actor {
	ids, err := user.Inboxes(f.ctx, f.d, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return policy.Actor{UserID: u.ID, Role: u.Role, Inboxes: ids}
}

func (f *fixture) inbox(name string, members ...user.User) int64 {
	f.t.Helper()
	var ids []int64
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	in, _, err := f.inboxes.Create(f.ctx, inbox.NewInbox{Type: webchat.Type, Name: name, MemberIDs: ids})
	if err != nil {
		f.t.Fatal(err)
	}
	return in.ID
}

func (f *fixture) set(inboxID int64, p routing.Patch) {
	f.t.Helper()
	if _, err := f.routing.SetSettings(f.ctx, inboxID, p); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) setStatus(id int64, st user.Status) {
	f.t.Helper()
	if _, err := f.status.Set(f.ctx, id, st); err != nil {
		f.t.Fatal(err)
	}
}

// receive is a first message of a new visitor (or of who), which opens a
// conversation.
func (f *fixture) receive(inboxID int64, who string) conversation.Conversation {
	f.t.Helper()
	r, err := f.conv.Receive(f.ctx, conversation.Incoming{InboxID: inboxID, ExternalID: who,
		ChannelMessageID: fmt.Sprintf("m%d", f.msgs.Add(1)), Text: "Hello"})
	if err != nil {
		f.t.Fatal(err)
	}
	return r.Conversation
}

func (f *fixture) get(id int64) conversation.Conversation {
	f.t.Helper()
	c, err := f.conv.Get(f.ctx, f.admin, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func assignee(c conversation.Conversation) int64 {
	if c.AssigneeID == nil {
		return 0
	}
	return *c.AssigneeID
}

func ptr[T any](v T) *T { return &v }

// TestInTurn: only Available members of an inbox that asks for it are
// given new conversations, in turn, fairly under concurrency; with
// routing off nothing is assigned or queued.
func TestInTurn(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a, b, c := f.agent("a@example.com", policy.Service), f.agent("b@example.com", policy.Service), f.agent("c@example.com", policy.Service)
		in := f.inbox("Site", a, b, c)
		f.setStatus(a.ID, user.Available)
		f.setStatus(b.ID, user.Available)
		f.setStatus(c.ID, user.Busy)
		if cv := f.receive(in, "v0"); cv.AssigneeID != nil || cv.Queue != nil {
			t.Fatalf("routing off, yet %+v", cv)
		}
		f.set(in, routing.Patch{AutoAssign: ptr(true)})
		if st, _ := f.routing.Settings(f.ctx, in); st.Rule != routing.AvailableInTurn || !st.AutoAssign {
			t.Fatalf("settings %+v", st)
		}
		var got []int64
		for i := range 4 {
			got = append(got, assignee(f.receive(in, fmt.Sprintf("v%d", i+1))))
		}
		if got[0] != a.ID || got[1] != b.ID || got[2] != a.ID || got[3] != b.ID {
			t.Fatalf("turns %v, want a, b, a, b (c is busy)", got)
		}
		for _, st := range []user.Status{user.Away, user.Unavailable, user.OnBreak, user.AfterCallWork, user.DoNotDisturb, user.Busy} {
			f.setStatus(a.ID, st)
			f.setStatus(b.ID, st)
			if cv := f.receive(in, "x"+string(st)); cv.AssigneeID != nil || cv.Queue == nil {
				t.Errorf("everyone %s: %+v, want it queued", st, cv)
			}
		}
		// The queue waits for anyone Available: a turns Available and
		// takes from it at once (in the status change's transaction).
		f.setStatus(a.ID, user.Available)
		n, _ := f.routing.QueueLength(f.ctx, in)
		if n != 6-4 {
			t.Errorf("queue of %d after a turned Available, want 2 (4 given out at once, the drain job the rest)", n)
		}
		if _, err := f.routing.Drain(f.ctx, in); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.routing.QueueLength(f.ctx, in); n != 0 {
			t.Errorf("queue of %d after the drain", n)
		}
		f.setStatus(b.ID, user.Available)
		f.setStatus(c.ID, user.Available)
		var mu sync.Mutex
		count := map[int64]int{}
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := f.conv.Receive(f.ctx, conversation.Incoming{InboxID: in, ExternalID: fmt.Sprintf("p%d", i), ChannelMessageID: fmt.Sprintf("p%d", i), Text: "Hi"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				count[assignee(r.Conversation)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if count[a.ID] != 10 || count[b.ID] != 10 || count[c.ID] != 10 {
			t.Errorf("30 concurrent conversations went %v, want 10 each", count)
		}
		if _, err := f.routing.SetSettings(f.ctx, in+100, routing.Patch{AutoAssign: ptr(true)}); err == nil {
			t.Error("set the assignment of an inbox that does not exist")
		}
		if _, err := f.routing.SetSettings(f.ctx, in, routing.Patch{Rule: ptr(routing.Rule("random")), DefaultLimit: ptr(-1)}); err == nil {
			t.Error("accepted an unknown rule")
		} else if p, _ := problem.As(err); p.Fields["rule"] == "" || p.Fields["default_limit"] == "" {
			t.Errorf("bad settings: %v", err)
		}
	})
}

// TestRules: in turn among all members ignores statuses; least busy gives
// the member with the fewest open conversations (ties in turn); none
// leaves everything unassigned and out of the queue.
func TestRules(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a, b, c := f.agent("a@example.com", policy.Service), f.agent("b@example.com", policy.Service), f.agent("c@example.com", policy.Sales)
		in := f.inbox("Site", a, b, c)
		f.setStatus(a.ID, user.Available)
		f.set(in, routing.Patch{Rule: ptr(routing.AllInTurn)})
		var got []int64
		for i := range 3 {
			got = append(got, assignee(f.receive(in, fmt.Sprintf("all%d", i))))
		}
		if got[0] != a.ID || got[1] != b.ID || got[2] != c.ID {
			t.Errorf("all in turn gave %v, want a, b, c whatever their status", got)
		}
		// Least busy among the Available: a has 1, b has 1 and is now
		// Available too, c stays away: ties go in turn (after c: a), then
		// the least loaded.
		f.setStatus(b.ID, user.Available)
		f.set(in, routing.Patch{Rule: ptr(routing.LeastBusy)})
		first := assignee(f.receive(in, "lb1"))
		second := assignee(f.receive(in, "lb2"))
		if first != a.ID || second != b.ID {
			t.Errorf("least busy gave %d then %d, want a (tie, in turn) then b (fewer)", first, second)
		}
		f.set(in, routing.Patch{Rule: ptr(routing.None)})
		if cv := f.receive(in, "none"); cv.AssigneeID != nil || cv.Queue != nil {
			t.Errorf("rule none: %+v", cv)
		}
	})
}

// TestLimitsAndQueue: an agent at their limit gets nothing automatically;
// what nobody may take waits in the queue, first in first out, with its
// position; a close, a limit raised and a transfer away give the head out
// in their own transaction; claims are exact and allowed at the limit;
// transfers check the target.
func TestLimitsAndQueue(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a, b := f.agent("a@example.com", policy.Service), f.agent("b@example.com", policy.Service)
		sales := f.agent("s@example.com", policy.Sales)
		in := f.inbox("Site", a, b, sales)
		f.setStatus(a.ID, user.Available)
		f.setStatus(b.ID, user.Available)
		f.set(in, routing.Patch{AutoAssign: ptr(true), DefaultLimit: ptr(1)})
		c1, c2 := f.receive(in, "v1"), f.receive(in, "v2")
		if assignee(c1) != a.ID || assignee(c2) != b.ID {
			t.Fatalf("first two went to %d, %d", assignee(c1), assignee(c2))
		}
		q1, q2, q3 := f.receive(in, "v3"), f.receive(in, "v4"), f.receive(in, "v5")
		for i, q := range []conversation.Conversation{q1, q2, q3} {
			if q.AssigneeID != nil || q.Queue == nil {
				t.Fatalf("conversation %d: %+v, want it queued", i, q)
			}
			if got := f.get(q.ID); got.Queue == nil || got.Queue.Position != i+1 {
				t.Fatalf("conversation %d at %+v, want position %d", i, got.Queue, i+1)
			}
		}
		queued, err := f.conv.List(f.ctx, f.admin, conversation.ListOptions{Queued: true})
		if err != nil || len(queued.Items) != 3 {
			t.Fatalf("queued list %d (%v)", len(queued.Items), err)
		}
		// a closes c1: the head (q1) is a's in the same transaction.
		if _, err := f.conv.Close(f.ctx, f.actor(a), c1.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.get(q1.ID); assignee(got) != a.ID || got.Queue != nil {
			t.Fatalf("after the close the head is %+v, want a's", got)
		}
		if got := f.get(q2.ID); got.Queue == nil || got.Queue.Position != 1 {
			t.Fatalf("the next moved to %+v, want position 1", got.Queue)
		}
		// b's own limit raised to 2: q2 is b's at once.
		if l, err := f.routing.SetLimit(f.ctx, in, b.ID, ptr(2)); err != nil || l.Effective != 2 {
			t.Fatalf("limit %+v (%v)", l, err)
		}
		if got := f.get(q2.ID); assignee(got) != b.ID {
			t.Fatalf("after the limit was raised q2 went to %d, want b", assignee(got))
		}
		if _, err := f.routing.SetLimit(f.ctx, in, 9999, ptr(2)); err == nil {
			t.Error("set the limit of a non-member")
		}
		// Claiming: a, at the limit, claims q3; b's claim of it is a
		// conflict; sales may not claim.
		queue, err := f.routing.Queue(f.ctx, in, 0)
		if err != nil || len(queue) != 1 || queue[0].ConversationID != q3.ID || queue[0].Position != 1 {
			t.Fatalf("queue %+v (%v)", queue, err)
		}
		if _, err := f.routing.Claim(f.ctx, f.actor(sales), q3.ID); err == nil {
			t.Error("sales claimed")
		}
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for _, who := range []user.User{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.routing.Claim(f.ctx, f.actor(who), q3.ID)
				var p *problem.Error
				switch {
				case err == nil:
					wins.Add(1)
				case errors.As(err, &p) && p.Kind == problem.KindConflict:
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 1 {
			t.Fatalf("two claims: %d won, %d conflicts", wins.Load(), conflicts.Load())
		}
		// Transfer: a service agent may not overload a colleague; an
		// admin may; sales may not transfer; the one who had it has room
		// again and the queue moves.
		owner := assignee(f.get(q3.ID))
		other := a
		if owner == a.ID {
			other = b
		}
		q4 := f.receive(in, "v6")
		if q4.Queue == nil {
			t.Fatalf("q4 %+v, want it queued", q4)
		}
		if _, err := f.routing.Transfer(f.ctx, f.actor(sales), q3.ID, other.ID); err == nil {
			t.Error("sales transferred")
		}
		if _, err := f.routing.Transfer(f.ctx, f.actor(a), q3.ID, 424242); err == nil {
			t.Error("transferred to nobody")
		}
		full := a
		if _, err := f.routing.Transfer(f.ctx, f.actor(a), c2.ID, full.ID); err == nil {
			t.Error("a service agent transferred to an agent at their limit")
		} else if p, _ := problem.As(err); p.Fields["agent_id"] == "" {
			t.Errorf("transfer over the limit: %v", err)
		}
		got, err := f.routing.Transfer(f.ctx, f.admin, c2.ID, full.ID)
		if err != nil || assignee(got) != full.ID {
			t.Fatalf("admin's transfer: %+v (%v)", got, err)
		}
		// b had c2 and has room again (unless b won q3, which takes b
		// to the limit of 2): q4 is b's.
		q4now := f.get(q4.ID)
		switch {
		case owner == b.ID && (assignee(q4now) != 0 || q4now.Queue == nil):
			t.Errorf("b is at the limit, yet q4 is %+v", q4now)
		case owner != b.ID && assignee(q4now) != b.ID:
			t.Errorf("after the transfer away q4 went to %d, want b", assignee(q4now))
		}
		cands, err := f.routing.Candidates(f.ctx, f.admin, c2.ID)
		if err != nil || len(cands) != 2 || cands[0].ID != b.ID || cands[1].ID != sales.ID || cands[1].Status != user.Unavailable {
			t.Fatalf("candidates %+v (%v), want b (Available) then the sales agent, not a (who has it)", cands, err)
		}
		if cands[0].Limit != 2 || cands[0].Open != 2 {
			t.Errorf("b's load %d/%d, want 2/2", cands[0].Open, cands[0].Limit)
		}
	})
}

// runDue runs the jobs of kind that are due by now (moved by shift), as
// the job runner would, and reports how many ran.
func (f *fixture) runDue(kind string, h job.Handler, shift time.Duration) int {
	f.t.Helper()
	rows, err := f.d.Query(f.ctx, `SELECT id, payload, run_at FROM jobs WHERE kind = $1 ORDER BY run_at, id`, kind)
	if err != nil {
		f.t.Fatal(err)
	}
	var jobs []job.Job
	now := time.Now().Add(shift)
	for rows.Next() {
		var j job.Job
		var payload string
		var at time.Time
		if err := rows.Scan(&j.ID, &payload, &at); err != nil {
			f.t.Fatal(err)
		}
		if at.After(now) {
			continue
		}
		j.Kind, j.Payload, j.Attempt, j.MaxAttempts = kind, json.RawMessage(payload), 1, 10
		jobs = append(jobs, j)
	}
	rows.Close()
	for _, j := range jobs {
		if err := h.Handle(f.ctx, &j); err != nil {
			f.t.Fatalf("%s job %d: %v", kind, j.ID, err)
		}
		if _, err := f.d.Exec(f.ctx, `DELETE FROM jobs WHERE id = $1`, j.ID); err != nil {
			f.t.Fatal(err)
		}
	}
	return len(jobs)
}

// handler returns the handler routing registers for kind.
func (f *fixture) handler(kind string) job.Handler {
	hs := map[string]job.Handler{}
	f.routing.RegisterWith(func(k string, h job.Handler) { hs[k] = h })
	return hs[kind]
}

// TestOwnerRules: with the advanced rules on, the contact's owner gets
// the conversation when they are a member and Available; an owner away is
// waited for in the queue up to the minutes set (a durable job ends the
// wait, once), or skipped at once; then the agent who last handled the
// contact; then the basic rule.
func TestOwnerRules(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		owner, a, b := f.agent("o@example.com", policy.Sales), f.agent("a@example.com", policy.Service), f.agent("b@example.com", policy.Service)
		outsider := f.agent("x@example.com", policy.Sales)
		in := f.inbox("Site", owner, a, b)
		for _, u := range []user.User{owner, a, b} {
			f.setStatus(u.ID, user.Available)
		}
		f.set(in, routing.Patch{AutoAssign: ptr(true), Advanced: ptr(true), Owner: &routing.Preference{On: true, OnlyAvailable: true}})
		// A contact owned by owner.
		first := f.receive(in, "cust")
		setOwner := func(contactID, ownerID int64) {
			t.Helper()
			if _, err := f.conv.UpdateContact(f.ctx, f.admin, contactID, contact.Patch{OwnerID: &ownerID}); err != nil {
				t.Fatal(err)
			}
		}
		setOwner(first.ContactID, owner.ID)
		if _, err := f.conv.Close(f.ctx, f.admin, first.ID); err != nil {
			t.Fatal(err)
		}
		if c := f.receive(in, "cust"); assignee(c) != owner.ID {
			t.Fatalf("the owner is Available, yet it went to %d", assignee(c))
		} else {
			f.conv.Close(f.ctx, f.admin, c.ID)
		}
		// Owner away, no wait: the basic rule at once.
		f.setStatus(owner.ID, user.Away)
		c := f.receive(in, "cust")
		if got := assignee(c); got == 0 || got == owner.ID {
			t.Fatalf("owner away without a wait: went to %d", got)
		}
		f.conv.Close(f.ctx, f.admin, c.ID)
		// Owner away, wait 5 minutes: queued for the owner; their return
		// gives it to them.
		f.set(in, routing.Patch{Owner: &routing.Preference{On: true, OnlyAvailable: true, WaitMinutes: 5}})
		c = f.receive(in, "cust")
		if c.Queue == nil || c.Queue.WaitingFor == nil || *c.Queue.WaitingFor != owner.ID || c.AssigneeID != nil {
			t.Fatalf("owner away with a wait: %+v", c)
		}
		if n := f.runDue(routing.WaitJob, f.handler(routing.WaitJob), 0); n != 0 {
			t.Fatalf("%d wait jobs ran before their time", n)
		}
		f.setStatus(owner.ID, user.Available)
		if got := f.get(c.ID); assignee(got) != owner.ID || got.Queue != nil {
			t.Fatalf("the owner came back; conversation %+v", got)
		}
		f.conv.Close(f.ctx, f.admin, c.ID)
		// The wait runs out: the job (once) lets it fall through to the
		// previous agent's rule (off) and the basic rule.
		f.setStatus(owner.ID, user.Away)
		c = f.receive(in, "cust")
		if c.Queue == nil {
			t.Fatalf("not queued for the owner: %+v", c)
		}
		if n := f.runDue(routing.WaitJob, f.handler(routing.WaitJob), 6*time.Minute); n != 1 {
			t.Fatalf("%d wait jobs ran, want 1", n)
		}
		// The job's time came, yet the row's wait is five minutes: the
		// test moves the stored end back as time would have.
		if got := f.get(c.ID); got.Queue == nil {
			t.Fatalf("the wait ended before its time: %+v", got)
		}
		if _, err := d.Exec(f.ctx, `UPDATE conversations SET queue_until = $2 WHERE id = $1`, c.ID, db.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		// The sweep heals a wait whose job is gone.
		if n, err := f.routing.Sweep(f.ctx); err != nil || n != 1 {
			t.Fatalf("sweep found %d inboxes (%v)", n, err)
		}
		if n := f.runDue(routing.DrainJob, f.handler(routing.DrainJob), 0); n != 1 {
			t.Fatalf("%d drain jobs ran", n)
		}
		got := f.get(c.ID)
		if a := assignee(got); a == 0 || a == owner.ID || got.Queue != nil {
			t.Fatalf("after the wait: %+v", got)
		}
		worked := assignee(got)
		f.conv.Close(f.ctx, f.admin, c.ID)
		// The previous agent's rule: the agent who last had the contact.
		f.set(in, routing.Patch{Owner: &routing.Preference{On: false}, Previous: &routing.Preference{On: true, OnlyAvailable: true}})
		for range 3 {
			c = f.receive(in, "cust")
			if assignee(c) != worked {
				t.Fatalf("previous agent %d, yet it went to %d", worked, assignee(c))
			}
			f.conv.Close(f.ctx, f.admin, c.ID)
		}
		// An owner who is no member of the inbox: the owner's rule does
		// not apply.
		f.set(in, routing.Patch{Owner: &routing.Preference{On: true, OnlyAvailable: false}, Previous: &routing.Preference{}})
		other := f.receive(in, "cust2")
		f.conv.Close(f.ctx, f.admin, other.ID)
		setOwner(other.ContactID, outsider.ID)
		if c := f.receive(in, "cust2"); assignee(c) == outsider.ID || assignee(c) == 0 {
			t.Fatalf("owner outside the inbox: went to %d", assignee(c))
		}
	})
}

// TestOwnerChange: giving a contact another owner moves the open
// conversations the previous owner was working to the new owner where the
// new owner is a member, and through routing elsewhere.
func TestOwnerChange(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ana, ben, cy := f.agent("ana@example.com", policy.Sales), f.agent("ben@example.com", policy.Sales), f.agent("cy@example.com", policy.Service)
		in1 := f.inbox("One", ana, ben, cy)
		in2 := f.inbox("Two", ana, cy)
		for _, u := range []user.User{ana, ben, cy} {
			f.setStatus(u.ID, user.Available)
		}
		f.set(in1, routing.Patch{AutoAssign: ptr(true)})
		f.set(in2, routing.Patch{AutoAssign: ptr(true)})
		c1 := f.receive(in1, "cust")
		// The same customer on the second inbox: one contact per inbox
		// identity, so give the first's contact the second conversation.
		r, err := f.conv.Receive(f.ctx, conversation.Incoming{InboxID: in2, ContactID: c1.ContactID, ChannelMessageID: "x1", Text: "Hi"})
		if err != nil {
			t.Fatal(err)
		}
		c2 := r.Conversation
		for _, c := range []conversation.Conversation{c1, c2} {
			if _, err := f.conv.Assign(f.ctx, f.admin, c.ID, &ana.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.conv.UpdateContact(f.ctx, f.admin, c1.ContactID, contact.Patch{OwnerID: &ana.ID}); err != nil {
			t.Fatal(err)
		}
		// Ana hands the customer to Ben, a member of One only.
		if _, err := f.conv.UpdateContact(f.ctx, f.actor(ana), c1.ContactID, contact.Patch{OwnerID: &ben.ID}); err != nil {
			t.Fatal(err)
		}
		if got := assignee(f.get(c1.ID)); got != ben.ID {
			t.Errorf("in One (Ben is a member) it went to %d, want Ben", got)
		}
		if got := assignee(f.get(c2.ID)); got != cy.ID {
			t.Errorf("in Two (Ben is not a member) it went to %d, want Cy through routing", got)
		}
	})
}

// TestReturnUnanswered: with the inbox's option, an agent who leaves
// Available has their unanswered conversations returned to routing after
// the minutes set (a durable job); coming back in time cancels it.
func TestReturnUnanswered(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a, b := f.agent("a@example.com", policy.Service), f.agent("b@example.com", policy.Service)
		in := f.inbox("Site", a, b)
		f.setStatus(a.ID, user.Available)
		f.set(in, routing.Patch{AutoAssign: ptr(true), ReturnAfterMinutes: ptr(10)})
		c := f.receive(in, "v1")
		if assignee(c) != a.ID {
			t.Fatalf("went to %d", assignee(c))
		}
		f.setStatus(b.ID, user.Available)
		f.setStatus(a.ID, user.OnBreak)
		f.setStatus(a.ID, user.Available) // back in time: nothing to return
		if n := f.runDue(routing.ReturnJob, f.handler(routing.ReturnJob), 11*time.Minute); n != 0 {
			t.Fatalf("%d return jobs ran after a came back", n)
		}
		f.setStatus(a.ID, user.DoNotDisturb)
		if n := f.runDue(routing.ReturnJob, f.handler(routing.ReturnJob), 9*time.Minute); n != 0 {
			t.Fatalf("%d return jobs ran early", n)
		}
		if n := f.runDue(routing.ReturnJob, f.handler(routing.ReturnJob), 11*time.Minute); n != 1 {
			t.Fatalf("%d return jobs ran, want 1", n)
		}
		if got := assignee(f.get(c.ID)); got != b.ID {
			t.Fatalf("returned to %d, want b", got)
		}
	})
}

// TestMembership: an agent removed from an inbox no longer works its
// conversations (they go back to routing); a member added takes from the
// queue (the drain job).
func TestMembership(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a, b := f.agent("a@example.com", policy.Service), f.agent("b@example.com", policy.Service)
		in := f.inbox("Site", a)
		f.setStatus(a.ID, user.Available)
		f.setStatus(b.ID, user.Available)
		f.set(in, routing.Patch{AutoAssign: ptr(true), DefaultLimit: ptr(1)})
		c1, c2 := f.receive(in, "v1"), f.receive(in, "v2")
		if assignee(c1) != a.ID || c2.Queue == nil {
			t.Fatalf("%d, %+v", assignee(c1), c2.Queue)
		}
		if _, _, err := f.inboxes.Update(f.ctx, in, inbox.Patch{MemberIDs: &[]int64{a.ID, b.ID}}); err != nil {
			t.Fatal(err)
		}
		if err := f.routing.Reconcile(f.ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if n := f.runDue(routing.DrainJob, f.handler(routing.DrainJob), 0); n != 1 {
			t.Fatalf("%d drain jobs", n)
		}
		if got := assignee(f.get(c2.ID)); got != b.ID {
			t.Fatalf("the new member got nothing: %d", got)
		}
		if _, _, err := f.inboxes.Update(f.ctx, in, inbox.Patch{MemberIDs: &[]int64{b.ID}}); err != nil {
			t.Fatal(err)
		}
		if err := f.routing.Reconcile(f.ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.get(c1.ID); assignee(got) != 0 || got.Queue == nil {
			t.Fatalf("a was removed; c1 %+v, want it queued (b is at the limit)", got)
		}
		if n, err := f.routing.Sweep(f.ctx); err != nil || n != 1 {
			t.Fatalf("sweep %d (%v)", n, err)
		}
	})
}
