package routing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/user"
)

// propertyConversations is how many conversations each phase opens at
// once.
const propertyConversations = 1000

// TestProperty runs the property on each engine, one node.
func TestProperty(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		property(t, []*node{newNode(d)})
	})
}

// TestPropertyTwoNodes runs the property on two nodes (two routings, each
// with its own connections and writers) over one PostgreSQL database.
func TestPropertyTwoNodes(t *testing.T) {
	t.Parallel()
	url := dbtest.PostgresURL(t)
	var nodes []*node
	for range 2 {
		d, err := db.Open(context.Background(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		nodes = append(nodes, newNode(d))
	}
	property(t, nodes)
}

// property: under many concurrent new conversations, (1) in turn stays
// fair among equal agents (max − min ≤ 1); (2) with reception limits,
// random closes and status changes going on, no agent ever has more open
// conversations than their limit through automatic assignment (a reader
// checks all along), no conversation is assigned twice, none is lost from
// the queue (once everyone is Available and the queue drained, every open
// conversation is assigned or waiting, and nothing waits while anyone has
// room), and the queue gives out first in, first out (checked over the
// event log, in commit order).
func property(t *testing.T, nodes []*node) {
	ctx := context.Background()
	f := &fixture{node: nodes[0], t: t, ctx: ctx}
	f.admin = f.actor(f.agent("admin@example.com", policy.Admin))
	var agents []user.User
	for i := range 6 {
		agents = append(agents, f.agent(fmt.Sprintf("agent%d@example.com", i), policy.Service))
	}
	fair := f.inbox("Fair", agents...)
	limited := f.inbox("Limited", agents...)
	for _, a := range agents {
		f.setStatus(a.ID, user.Available)
	}
	f.set(fair, routing.Patch{Rule: ptr(routing.AvailableInTurn)})
	const limit = 3
	f.set(limited, routing.Patch{Rule: ptr(routing.AvailableInTurn), DefaultLimit: ptr(limit)})

	// receiveAll opens n conversations on inboxID at once, spread over
	// the nodes, and returns their ids.
	receiveAll := func(inboxID int64, prefix string, n int) []int64 {
		ids := make([]int64, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				nd := nodes[i%len(nodes)]
				r, err := nd.conv.Receive(ctx, conversation.Incoming{InboxID: inboxID, ExternalID: fmt.Sprintf("%s%d", prefix, i),
					ChannelMessageID: fmt.Sprintf("%s%d", prefix, i), Text: "Hello"})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = r.Conversation.ID
			}()
		}
		wg.Wait()
		return ids
	}

	// (1) Fairness.
	receiveAll(fair, "f", propertyConversations)
	counts := map[int64]int{}
	rows, err := f.d.Query(ctx, `SELECT assignee_id, COUNT(*) FROM conversations WHERE inbox_id = $1 GROUP BY assignee_id`, fair)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id *int64
		var n int
		rows.Scan(&id, &n)
		if id == nil {
			t.Errorf("%d conversations unassigned with everyone Available and no limit", n)
			continue
		}
		counts[*id] = n
	}
	rows.Close()
	lo, hi := propertyConversations, 0
	for _, a := range agents {
		lo, hi = min(lo, counts[a.ID]), max(hi, counts[a.ID])
	}
	if hi-lo > 1 {
		t.Errorf("in turn gave %v: max − min = %d, want ≤ 1", counts, hi-lo)
	}

	// (2) Limits, the queue, closes and status changes at once.
	start, err := f.log.Last(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var side sync.WaitGroup
	var over atomic.Int32
	var checks, closes, changes atomic.Int32
	side.Add(1)
	go func() { // the reader: nobody above the limit, ever
		defer side.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			var worst int
			if err := f.d.QueryRow(ctx, `SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM conversations
				WHERE inbox_id = $1 AND status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id) x`, limited).Scan(&worst); err != nil {
				t.Error(err)
				return
			}
			checks.Add(1)
			if worst > limit {
				over.Add(1)
			}
		}
	}()
	closer := func(seed uint64) { // random closes of open conversations, assigned or waiting
		defer side.Done()
		rng := rand.New(rand.NewPCG(seed, 2))
		for {
			select {
			case <-done:
				return
			default:
			}
			ids, err := db.IDs(ctx, f.d, `SELECT id FROM conversations WHERE inbox_id = $1 AND status = 'open' ORDER BY id DESC LIMIT 50`, limited)
			if err != nil {
				t.Error(err)
				return
			}
			if len(ids) == 0 {
				time.Sleep(time.Millisecond) // nothing open yet: let the writers on
				continue
			}
			nd := nodes[rng.IntN(len(nodes))]
			if _, err := nd.conv.Close(ctx, f.admin, ids[rng.IntN(len(ids))]); err == nil {
				closes.Add(1)
			}
		}
	}
	changer := func(seed uint64) { // random status changes
		defer side.Done()
		rng := rand.New(rand.NewPCG(seed, 4))
		sts := []user.Status{user.Available, user.Available, user.Away, user.Busy, user.OnBreak}
		for {
			select {
			case <-done:
				return
			default:
			}
			nd := nodes[rng.IntN(len(nodes))]
			if _, err := nd.status.Set(ctx, agents[rng.IntN(len(agents))].ID, sts[rng.IntN(len(sts))]); err != nil {
				t.Error(err)
				return
			}
			changes.Add(1)
		}
	}
	for i := range 4 {
		side.Add(2)
		go closer(uint64(i))
		go changer(uint64(i))
	}
	ids := receiveAll(limited, "l", propertyConversations)
	close(done)
	side.Wait()
	if over.Load() > 0 {
		t.Errorf("%d of %d reads saw an agent above the limit of %d", over.Load(), checks.Load(), limit)
	}
	t.Logf("%d conversations, %d closes, %d status changes, %d reads of the loads", len(ids), closes.Load(), changes.Load(), checks.Load())
	if f.d.Dialect() == db.Postgres {
		var deadlocks int64
		f.d.QueryRow(ctx, `SELECT pg_stat_force_next_flush()`).Scan(new(any))
		f.d.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocks)
		t.Logf("PostgreSQL counted %d deadlocks", deadlocks)
	}

	// Everyone Available, the queue drained: nothing lost.
	for _, a := range agents {
		f.setStatus(a.ID, user.Available)
	}
	if _, err := f.routing.Drain(ctx, limited); err != nil {
		t.Fatal(err)
	}
	var total, lost, queued, assigned, maxLoad int
	f.d.QueryRow(ctx, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN status = 'open' AND assignee_id IS NULL AND queued_at IS NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN queued_at IS NOT NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'open' AND assignee_id IS NOT NULL THEN 1 ELSE 0 END), 0)
		FROM conversations WHERE inbox_id = $1`, limited).Scan(&total, &lost, &queued, &assigned)
	f.d.QueryRow(ctx, `SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM conversations
		WHERE inbox_id = $1 AND status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id) x`, limited).Scan(&maxLoad)
	if total != propertyConversations || lost != 0 {
		t.Errorf("%d conversations (want %d), %d open neither assigned nor queued", total, propertyConversations, lost)
	}
	if queued > 0 && assigned != limit*len(agents) {
		t.Errorf("%d wait in the queue while only %d of %d places are taken", queued, assigned, limit*len(agents))
	}
	if maxLoad > limit {
		t.Errorf("an agent has %d open conversations, over the limit of %d", maxLoad, limit)
	}
	// No conversation assigned twice: at most one assignment each, and
	// none taken from anyone (nobody transferred in this test).
	var twice, moved int
	f.d.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT a.conversation_id FROM conversation_activities a
		JOIN conversations c ON c.id = a.conversation_id WHERE c.inbox_id = $1 AND a.kind = 'assigned'
		GROUP BY a.conversation_id HAVING COUNT(*) > 1) x`, limited).Scan(&twice)
	f.d.QueryRow(ctx, `SELECT COUNT(*) FROM conversation_activities a JOIN conversations c ON c.id = a.conversation_id
		WHERE c.inbox_id = $1 AND a.kind IN ('transferred', 'unassigned')`, limited).Scan(&moved)
	if twice != 0 || moved != 0 {
		t.Errorf("%d conversations assigned twice, %d taken from their assignee", twice, moved)
	}
	// First in, first out, over the log in commit order: whenever a
	// waiting conversation is given out, none that entered the queue
	// before it still waits.
	type key struct {
		since time.Time
		id    int64
	}
	waiting := map[int64]key{}
	dequeued, violations := 0, 0
	for after := start; ; {
		es, err := f.log.Range(ctx, after, 1<<62, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		after = es[len(es)-1].Seq
		for _, e := range es {
			if e.Type != event.ConversationCreated && e.Type != event.ConversationUpdated {
				continue
			}
			var c conversation.Conversation
			if err := json.Unmarshal(e.Data, &c); err != nil {
				t.Fatal(err)
			}
			if c.InboxID != limited {
				continue
			}
			k, was := waiting[c.ID]
			switch {
			case c.Queue != nil:
				waiting[c.ID] = key{c.Queue.Since, c.ID}
			case was && c.AssigneeID != nil && c.Status == conversation.Open:
				dequeued++
				for _, o := range waiting {
					if o.id != c.ID && (o.since.Before(k.since) || (o.since.Equal(k.since) && o.id < k.id)) {
						violations++
						break
					}
				}
				delete(waiting, c.ID)
			default:
				delete(waiting, c.ID)
			}
		}
	}
	if violations > 0 {
		t.Errorf("%d of %d conversations given out from the queue passed one that waited longer", violations, dequeued)
	}
	if dequeued == 0 {
		t.Error("nothing was given out from the queue: the test did not exercise it")
	}
	left := slices.Collect(func(yield func(int64) bool) {
		for id := range waiting {
			if !yield(id) {
				return
			}
		}
	})
	if len(left) != queued {
		t.Errorf("the log leaves %d waiting, the table %d", len(left), queued)
	}
}
