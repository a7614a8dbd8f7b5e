package automation

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/job"
)

// TestSchedulingStatements counts what scheduling costs an inbound
// message with the reminder and auto-close on: one statement for the first
// message of a customer's turn (the reminder's row), none for the others.
func TestSchedulingStatements(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		cost := func(who, text string) int64 {
			before := d.Statements()
			f.say(who, text)
			return d.Statements() - before
		}
		// A conversation that waits for an answer, without automation…
		f.say("base", "first")
		f.reply(f.say("base", "second").Conversation.ID, "answer")
		plainTurn := cost("base", "a new turn")
		plainMore := cost("base", "more of the turn")
		// … and with it.
		f.set(func(s *Settings) { s.Reminder.Enabled, s.AutoClose.Enabled = true, true })
		f.say("auto", "first")
		f.reply(f.say("auto", "second").Conversation.ID, "answer")
		autoTurn := cost("auto", "a new turn")
		autoMore := cost("auto", "more of the turn")
		t.Logf("statements per inbound message: new turn %d → %d, same turn %d → %d", plainTurn, autoTurn, plainMore, autoMore)
		if autoTurn-plainTurn > 1 || autoMore != plainMore {
			t.Errorf("scheduling costs %d statements for a turn's first message and %d for the next (want at most 1 and 0)",
				autoTurn-plainTurn, autoMore-plainMore)
		}
	})
}

// BenchmarkTimers is a node's timers under load: 1,000,000 pending
// timers, and for ten seconds 1,000 reminders falling due each second (each
// a transaction that reads the customer's turn and stores the reminder
// with its send job), while four customers write as fast as they are
// answered. It reports how late the reminders went (lag-p50-ms,
// lag-p99-ms: the reminder's commit after its deadline), the reminders
// sent per second, and the ingest beside them against a baseline of ingest
// alone, measured first in the same run (msgs/s, baseline-msgs/s).
//
//	go test ./internal/automation -run '^$' -bench Timers -benchtime 1x -count 3
func BenchmarkTimers(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var d *db.DB
			if engine == "sqlite" {
				d = dbtest.SQLite(b)
			} else {
				d = dbtest.Postgres(b)
			}
			f := newFixture(b, d)
			f.auto.SetClock(time.Now) // the fixture's clock stands still
			ctx := context.Background()
			if _, err := f.auto.SetSettings(ctx, f.admin, f.inbox, func() Settings {
				s := Defaults()
				s.Reminder.Enabled, s.Reminder.AfterMinutes = true, 1
				return s
			}()); err != nil {
				b.Fatal(err)
			}
			// 1,000,000 pending timers, due over the next days
			// (SWITCHBOARD_BENCH_PENDING sets another number).
			pending := 1_000_000
			if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_BENCH_PENDING")); err == nil {
				pending = v
			}
			far := db.Now().Add(24 * time.Hour)
			for i := 0; i < pending; i += 1000 {
				var sb strings.Builder
				sb.WriteString(`INSERT INTO jobs (kind, dedup_key, payload, run_at, max_attempts, created_at) VALUES `)
				for k := range min(1000, pending-i) {
					if k > 0 {
						sb.WriteString(",")
					}
					fmt.Fprintf(&sb, "('automation.autoclose', 'autoclose:seed-%d', '{\"conversation_id\":0}', $1, 10, $1)", i+k)
				}
				if _, err := d.Exec(ctx, sb.String(), far); err != nil {
					b.Fatal(err)
				}
			}
			// The reminders: customers who wrote; their turns are moved so
			// that 1,000 fall due each second of the measured window.
			const rate, window = 1000, 10 * time.Second
			const due = rate * int(window/time.Second)
			ids := make([]int64, due)
			for i := range due {
				r, err := f.conv.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: fmt.Sprintf("due-%d", i),
					ChannelMessageID: fmt.Sprintf("due-%d", i), Text: "Hello?"})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = r.Conversation.ID
			}
			if engine == "postgres" {
				// Statistics for the planner, as autovacuum would gather on
				// tables that grew this fast.
				if _, err := d.Exec(ctx, `ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			runner := job.NewRunner(d, f.queue, job.Config{Workers: 256, Poll: 10 * time.Millisecond}, quiet) // as a node runs them
			f.auto.Register(runner)
			runner.Handle(conversation.SendJob, job.HandlerFunc(func(context.Context, *job.Job) error { return job.Later(time.Now().Add(time.Hour)) }))

			// Four customers writing as fast as they are answered, for d.
			ingest := func(tag string, d time.Duration) float64 {
				var n atomic.Int64
				var wg sync.WaitGroup
				end := time.Now().Add(d)
				for w := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; time.Now().Before(end); i++ {
							if _, err := f.conv.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: fmt.Sprintf("%s-%d-%d", tag, w, i%50),
								ChannelMessageID: fmt.Sprintf("%s-%d-%d", tag, w, i), Text: "More"}); err != nil {
								b.Error(err)
								return
							}
							n.Add(1)
						}
					}()
				}
				wg.Wait()
				return float64(n.Load()) / d.Seconds()
			}
			baseline := ingest("base", 5*time.Second)

			b.ResetTimer()
			start := db.Now().Add(2 * time.Second) // the first deadline
			if err := d.Write(ctx, func(tx *db.Tx) error {
				for i, id := range ids {
					at := start.Add(time.Duration(i) * window / time.Duration(due))
					turn := at.Add(-time.Minute)
					for _, q := range []string{`UPDATE messages SET created_at = $2 WHERE conversation_id = $1`,
						`UPDATE conversations SET last_customer_message_at = $2 WHERE id = $1`} {
						if _, err := tx.Exec(ctx, q, id, turn); err != nil {
							return err
						}
					}
					if _, err := tx.Exec(ctx, `UPDATE jobs SET run_at = $2 WHERE dedup_key = $1`, fmt.Sprintf("reminder:%d", id), at); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			rctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); runner.Run(rctx) }()
			time.Sleep(time.Until(start))
			beside := ingest("live", window)
			for {
				var left int
				d.QueryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE run_at <= $1 AND failed_at IS NULL AND kind = 'automation.reminder'`, db.Now()).Scan(&left)
				if left == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			last := time.Now()
			stop()
			wg.Wait()
			b.StopTimer()
			// Each reminder's lag: its commit after its turn's deadline.
			rows, err := d.Query(ctx, `SELECT r.created_at, c.last_customer_message_at FROM messages r JOIN conversations c ON c.id = r.conversation_id
				WHERE r.auto_kind = 'reminder'`)
			if err != nil {
				b.Fatal(err)
			}
			var lags []time.Duration
			for rows.Next() {
				var sent, turn time.Time
				if err := rows.Scan(&sent, &turn); err != nil {
					b.Fatal(err)
				}
				lags = append(lags, sent.Sub(turn.Add(time.Minute)))
			}
			rows.Close()
			if len(lags) != due {
				b.Fatalf("%d reminders sent, want %d", len(lags), due)
			}
			slices.Sort(lags)
			ms := func(p float64) float64 { return float64(lags[int(p*float64(len(lags)-1))]) / float64(time.Millisecond) }
			b.ReportMetric(ms(0.5), "lag-p50-ms")
			b.ReportMetric(ms(0.99), "lag-p99-ms")
			b.ReportMetric(float64(due)/last.Sub(start).Seconds(), "timers/s")
			b.ReportMetric(beside, "msgs/s")
			b.ReportMetric(baseline, "baseline-msgs/s")
		})
	}
}
