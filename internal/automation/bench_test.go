package automation

import (
	"context"
	"fmt"
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

// BenchmarkTimers fires reminders among 1,000,000 pending timers while
// customers' messages are ingested: timers/s is how fast due reminders go
// out (each a transaction that reads the turn and stores the reminder with
// its send job), msgs/s the ingest beside them.
//
//	go test ./internal/automation -run '^$' -bench Timers -benchtime 1x
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
			ctx := context.Background()
			if _, err := f.auto.SetSettings(ctx, f.admin, f.inbox, func() Settings {
				s := Defaults()
				s.Reminder.Enabled, s.Reminder.AfterMinutes = true, 1
				return s
			}()); err != nil {
				b.Fatal(err)
			}
			// 1,000,000 pending timers, due over the next days.
			const pending = 1_000_000
			far := db.Now().Add(24 * time.Hour)
			for i := 0; i < pending; i += 1000 {
				var sb strings.Builder
				sb.WriteString(`INSERT INTO jobs (kind, dedup_key, payload, run_at, max_attempts, created_at) VALUES `)
				args := []any{far}
				for k := range 1000 {
					if k > 0 {
						sb.WriteString(",")
					}
					fmt.Fprintf(&sb, "('automation.autoclose', 'autoclose:seed-%d', '{\"conversation_id\":0}', $1, 10, $1)", i+k)
				}
				if _, err := d.Exec(ctx, sb.String(), args...); err != nil {
					b.Fatal(err)
				}
			}
			// Due reminders: conversations whose customers wrote minutes ago.
			const due = 3000
			for i := range due {
				if _, err := f.conv.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: fmt.Sprintf("due-%d", i),
					ChannelMessageID: fmt.Sprintf("due-%d", i), Text: "Hello?"}); err != nil {
					b.Fatal(err)
				}
			}
			ago := db.Now().Add(-10 * time.Minute)
			for _, q := range []string{`UPDATE messages SET created_at = $1`, `UPDATE conversations SET last_customer_message_at = $1`,
				`UPDATE jobs SET run_at = $1 WHERE kind = 'automation.reminder'`} {
				if _, err := d.Exec(ctx, q, ago); err != nil {
					b.Fatal(err)
				}
			}
			runner := job.NewRunner(d, f.queue, job.Config{Workers: 16, Poll: 10 * time.Millisecond}, quiet)
			f.auto.Register(runner)
			runner.Handle(conversation.SendJob, job.HandlerFunc(func(context.Context, *job.Job) error { return job.Later(time.Now().Add(time.Hour)) }))

			b.ResetTimer()
			start := time.Now()
			rctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); runner.Run(rctx) }()
			// Ingest beside the timers: four customers writing as fast as
			// they are answered.
			var ingested atomic.Int64
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; rctx.Err() == nil; i++ {
						_, err := f.conv.Receive(ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: fmt.Sprintf("live-%d-%d", w, i%50),
							ChannelMessageID: fmt.Sprintf("live-%d-%d", w, i), Text: "More"})
						if err != nil {
							return
						}
						ingested.Add(1)
					}
				}()
			}
			for {
				var left int
				d.QueryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE run_at <= $1 AND failed_at IS NULL AND kind = 'automation.reminder'`, db.Now()).Scan(&left)
				if left == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			elapsed := time.Since(start)
			stop()
			wg.Wait()
			b.StopTimer()
			var sent int
			d.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE auto_kind = 'reminder'`).Scan(&sent)
			if sent < due {
				b.Fatalf("%d reminders sent, want %d", sent, due)
			}
			b.ReportMetric(float64(due)/elapsed.Seconds(), "timers/s")
			b.ReportMetric(float64(ingested.Load())/elapsed.Seconds(), "msgs/s")
		})
	}
}
