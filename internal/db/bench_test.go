package db_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
)

// BenchmarkWriters compares the ways PostgreSQL writes can be committed
// under concurrent callers: group commit with four workers (the server's),
// with one, and plain transactions, one per call. Each write is shaped like
// an inbound message: an insert, an update of one of 1,000 rows, and one
// event in the event log (whose sequence row every transaction takes).
// ns/op is wall time per write across all callers. See docs/benchmarks.md.
func BenchmarkWriters(b *testing.B) {
	for _, layout := range []struct {
		name    string
		writers int // 0: a transaction per call
	}{{"group4", 4}, {"group1", 1}, {"plain", 0}} {
		for _, callers := range []int{4, 32} {
			b.Run(fmt.Sprintf("%s/callers=%d", layout.name, callers), func(b *testing.B) {
				d := dbtest.Postgres(b)
				db.SetWriters(d, layout.writers)
				benchWrites(b, d, callers)
			})
		}
	}
}

func benchWrites(b *testing.B, d *db.DB, callers int) {
	ctx := context.Background()
	const rows = 1000
	for _, q := range []string{
		`CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, at TIMESTAMPTZ NOT NULL)`,
		`CREATE TABLE bench_items (id BIGSERIAL PRIMARY KEY, row_id INTEGER NOT NULL, body TEXT NOT NULL, at TIMESTAMPTZ NOT NULL)`,
		fmt.Sprintf(`INSERT INTO bench_rows SELECT i, 0, now() FROM generate_series(1, %d) i`, rows),
	} {
		if _, err := d.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	log := event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler))
	write := func(id int) error {
		return log.Write(ctx, func(tx *event.Tx) error {
			now := db.Now()
			if _, err := tx.Exec(ctx, `INSERT INTO bench_items (row_id, body, at) VALUES ($1, $2, $3)`, id, "a message of some length, as customers write them", now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE bench_rows SET n = n + 1, at = $2 WHERE id = $1`, id, now); err != nil {
				return err
			}
			tx.Emit(event.New(event.MessageCreated, map[string]int{"row": id}))
			return nil
		})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	b.ResetTimer()
	for range callers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := write(1 + rand.IntN(rows)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
