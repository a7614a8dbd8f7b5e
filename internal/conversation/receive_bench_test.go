package conversation_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
)

// BenchmarkReceive stores inbound messages from 200 contacts of one inbox,
// many at once (b.RunParallel with 8 goroutines per CPU), as the web chat
// API does. It reports statements per message as well.
func BenchmarkReceive(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var d *db.DB
			if engine == "sqlite" {
				d = dbtest.SQLite(b)
			} else {
				d = dbtest.Postgres(b)
			}
			ctx := context.Background()
			log := event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler))
			svc := conversation.NewService(d, log, job.NewQueue(), attachment.DefaultLimits, nil)
			var inbox int64
			contacts := make([]int64, 200)
			err := d.Write(ctx, func(tx *db.Tx) error {
				now := db.Now()
				if err := tx.QueryRow(ctx, `INSERT INTO inboxes (type, name, public_token, created_at, updated_at) VALUES ('webchat', 'Bench', 'bench', $1, $1) RETURNING id`, now).Scan(&inbox); err != nil {
					return err
				}
				for i := range contacts {
					if err := tx.QueryRow(ctx, `INSERT INTO contacts (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id`, fmt.Sprintf("C%d", i), now).Scan(&contacts[i]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(8)
			stmts := d.Statements()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					_, err := svc.Receive(ctx, conversation.Incoming{InboxID: inbox, ContactID: contacts[i%int64(len(contacts))],
						ChannelMessageID: fmt.Sprintf("b%d", i), Text: "hello"})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(d.Statements()-stmts)/float64(b.N), "statements/msg")
		})
	}
}
