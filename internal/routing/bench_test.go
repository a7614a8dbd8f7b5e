package routing_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/user"
)

// engines runs a benchmark on SQLite and PostgreSQL (when configured).
func engines(b *testing.B, fn func(b *testing.B, d *db.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLite(b)) })
	if dbtest.PostgresURL(b) != "" {
		b.Run("postgres", func(b *testing.B) { fn(b, dbtest.Postgres(b)) })
	}
}

// latencies keeps the time of each operation and reports p50 and p99.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) time(fn func()) {
	t := time.Now()
	fn()
	e := time.Since(t)
	l.mu.Lock()
	l.d = append(l.d, e)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	at := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// benchFixture is a node with ten Available agents in one inbox.
func benchFixture(b *testing.B, d *db.DB) (*fixture, int64, []user.User) {
	f := &fixture{node: newNode(d), t: b, ctx: context.Background()}
	f.admin = f.actor(f.agent("admin@example.com", policy.Admin))
	var agents []user.User
	for i := range 10 {
		agents = append(agents, f.agent(fmt.Sprintf("a%d@example.com", i), policy.Service))
	}
	in := f.inbox("Bench", agents...)
	for _, a := range agents {
		f.setStatus(a.ID, user.Available)
	}
	return f, in, agents
}

// BenchmarkReceiveNew: a customer's first message, which opens a
// conversation, with routing off and on (advanced rules and a limit, so
// every rule runs), 32 at a time, on the same database in the same run.
func BenchmarkReceiveNew(b *testing.B) {
	engines(b, func(b *testing.B, d *db.DB) {
		f, in, _ := benchFixture(b, d)
		for _, on := range []bool{false, true} {
			name := "rules_off"
			if on {
				name = "rules_on"
				f.set(in, routing.Patch{Rule: ptr(routing.LeastBusy), Advanced: ptr(true), DefaultLimit: ptr(1 << 20),
					Owner: &routing.Preference{On: true, OnlyAvailable: true}, Previous: &routing.Preference{On: true, OnlyAvailable: true}})
			}
			b.Run(name, func(b *testing.B) {
				var l latencies
				var n int64
				var mu sync.Mutex
				b.SetParallelism(16) // 32 on two cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						mu.Lock()
						n++
						id := fmt.Sprintf("%s-%d", name, n)
						mu.Unlock()
						l.time(func() {
							if _, err := f.conv.Receive(f.ctx, conversation.Incoming{InboxID: in, ExternalID: id, ChannelMessageID: id, Text: "Hi"}); err != nil {
								b.Error(err)
							}
						})
					}
				})
				l.report(b)
			})
		}
	})
}

// queueOf fills in's queue with n conversations (everyone at a limit of
// one) and returns the conversations the agents work.
func queueOf(b *testing.B, f *fixture, in int64, n int) []int64 {
	f.set(in, routing.Patch{Rule: ptr(routing.AvailableInTurn), DefaultLimit: ptr(1)})
	var working []int64
	for i := range 10 {
		working = append(working, f.receive(in, fmt.Sprintf("w%d", i)).ID)
	}
	// The rest straight into the queue, in one statement per engine.
	now := db.Now()
	q := `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $2)
		INSERT INTO contacts (name, created_at, updated_at) SELECT 'q' || i, $1, $1 FROM s`
	if _, err := f.d.Exec(f.ctx, q, now, n); err != nil {
		b.Fatal(err)
	}
	q = `INSERT INTO conversations (inbox_id, contact_id, status, started_by, last_activity_at, created_at, updated_at, queued_at)
		SELECT $1, id, 'open', 'customer', $2, $2, $2, $2 FROM contacts WHERE name LIKE 'q%'`
	if _, err := f.d.Exec(f.ctx, q, in, now); err != nil {
		b.Fatal(err)
	}
	return working
}

// BenchmarkCloseDrain: an agent closes a conversation and is given the
// head of a queue of 10,000 in the same transaction.
func BenchmarkCloseDrain(b *testing.B) {
	engines(b, func(b *testing.B, d *db.DB) {
		f, in, _ := benchFixture(b, d)
		working := queueOf(b, f, in, 10_000)
		var l latencies
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			id := working[i%len(working)]
			var next int64
			l.time(func() {
				if _, err := f.conv.Close(f.ctx, f.admin, id); err != nil {
					b.Fatal(err)
				}
			})
			// Who took the head now works it.
			b.StopTimer()
			f.d.QueryRow(f.ctx, `SELECT id FROM conversations WHERE inbox_id = $1 AND status = 'open' AND queued_at IS NULL ORDER BY id DESC LIMIT 1`, in).Scan(&next)
			working[i%len(working)] = next
			b.StartTimer()
		}
		l.report(b)
	})
}

// BenchmarkClaim: an agent claims from a queue of 10,000.
func BenchmarkClaim(b *testing.B) {
	engines(b, func(b *testing.B, d *db.DB) {
		f, in, agents := benchFixture(b, d)
		queueOf(b, f, in, 10_000)
		ids, err := db.IDs(f.ctx, f.d, `SELECT id FROM conversations WHERE inbox_id = $1 AND queued_at IS NOT NULL ORDER BY id DESC`, in)
		if err != nil {
			b.Fatal(err)
		}
		actor := f.actor(agents[0])
		var l latencies
		b.ResetTimer()
		for i := 0; i < b.N && i < len(ids); i++ {
			l.time(func() {
				if _, err := f.routing.Claim(f.ctx, actor, ids[i]); err != nil {
					b.Fatal(err)
				}
			})
		}
		l.report(b)
	})
}

// BenchmarkSweepIdle: the sweep with nothing waiting among 1,000,000
// conversations.
func BenchmarkSweepIdle(b *testing.B) {
	engines(b, func(b *testing.B, d *db.DB) {
		f, in, _ := benchFixture(b, d)
		now := db.Now()
		var contact int64
		if err := d.QueryRow(f.ctx, `INSERT INTO contacts (name, created_at, updated_at) VALUES ('c', $1, $1) RETURNING id`, now).Scan(&contact); err != nil {
			b.Fatal(err)
		}
		q := `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000000)
			INSERT INTO conversations (inbox_id, contact_id, status, started_by, last_activity_at, created_at, updated_at, closed_at)
			SELECT $1, $2, 'closed', 'customer', $3, $3, $3, $3 FROM s`
		if _, err := d.Exec(f.ctx, q, in, contact, now); err != nil {
			b.Fatal(err)
		}
		if d.Dialect() == db.Postgres {
			d.Exec(f.ctx, `ANALYZE conversations`)
		}
		var l latencies
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			l.time(func() {
				if n, err := f.routing.Sweep(f.ctx); err != nil || n != 0 {
					b.Fatal(n, err)
				}
			})
		}
		l.report(b)
	})
}
