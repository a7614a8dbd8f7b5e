package db_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// TestCrossingBatches shows why rows that many writers update are written
// with Tx.Alone on PostgreSQL. Two batches side by side, each of two calls
// that each lock one row: in the first batch a call updates the hot row
// (a number's pacing) and the next one a customer's row; in the second
// batch the same rows are locked in the other order. No call crosses
// another's order, but the batches hold their calls' locks until they
// commit, so together they deadlock: PostgreSQL finds it after its
// deadlock_timeout (a stall of every writer behind those rows) and fails
// one batch's transaction, which the writer rolls back and runs again
// (each call in a savepoint: a call that failed again would fail alone).
// With the hot row updated through Tx.Alone, its lock lasts only as long
// as its own short transaction and the same two batches commit without a
// deadlock, each call run once.
func TestCrossingBatches(t *testing.T) {
	t.Parallel()
	d := dbtest.Postgres(t)
	ctx := context.Background()
	for _, key := range []string{"hot", "customer"} {
		if err := d.Write(ctx, func(tx *db.Tx) error { return insertKey(ctx, tx, key) }); err != nil {
			t.Fatal(err)
		}
	}
	bump := func(tx *db.Tx, key string) error {
		_, err := tx.Exec(ctx, `UPDATE login_attempts SET failures = failures + 1 WHERE key = $1`, key)
		return err
	}
	failures := func(key string) int {
		var n int
		if err := d.QueryRow(ctx, `SELECT failures FROM login_attempts WHERE key = $1`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// run commits the two batches side by side: each call that updates a
	// row second waits until the other batch holds its first row. It
	// returns the calls' errors and how many times the calls ran.
	run := func(hot func(tx *db.Tx) error) (errs []error, runs int64) {
		var ran atomic.Int64
		var firstOnce, secondOnce sync.Once
		firstHolds, secondHolds := make(chan struct{}), make(chan struct{})
		counted := func(fn func(tx *db.Tx) error) func(tx *db.Tx) error {
			return func(tx *db.Tx) error { ran.Add(1); return fn(tx) }
		}
		done := make(chan []error)
		go func() {
			done <- db.CommitBatch(d,
				counted(func(tx *db.Tx) error { defer firstOnce.Do(func() { close(firstHolds) }); return hot(tx) }),
				counted(func(tx *db.Tx) error { <-secondHolds; return bump(tx, "customer") }),
			)
		}()
		second := db.CommitBatch(d,
			counted(func(tx *db.Tx) error { defer secondOnce.Do(func() { close(secondHolds) }); return bump(tx, "customer") }),
			counted(func(tx *db.Tx) error { <-firstHolds; return hot(tx) }),
		)
		return append(<-done, second...), ran.Load()
	}

	t.Run("in the batches", func(t *testing.T) {
		hot := func(tx *db.Tx) error { return bump(tx, "hot") }
		errs, runs := run(hot)
		for i, err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, db.ErrRetryable):
				// Deadlocked again when its batch ran again (the other
				// batch slow to commit): what Write does with it, the
				// call runs again.
				fn := hot
				if i == 1 || i == 2 {
					fn = func(tx *db.Tx) error { return bump(tx, "customer") }
				}
				if err := d.Write(ctx, fn); err != nil {
					t.Fatalf("running the deadlocked call again: %v", err)
				}
			default:
				t.Errorf("call %d: %v", i, err)
			}
		}
		if runs < 6 {
			t.Fatalf("the calls ran %d times; want 6 (the deadlocked batch's two calls again)", runs)
		}
		if h, c := failures("hot"), failures("customer"); h != 3 || c != 3 {
			t.Fatalf("hot %d, customer %d; want 3 and 3 (each call's work once)", h, c)
		}
	})

	t.Run("hot row alone", func(t *testing.T) {
		errs, runs := run(func(tx *db.Tx) error {
			return tx.Alone(ctx, func(tx *db.Tx) error { return bump(tx, "hot") })
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		}
		if runs != 4 {
			t.Fatalf("the calls ran %d times; want 4", runs)
		}
		if h, c := failures("hot"), failures("customer"); h != 5 || c != 5 {
			t.Fatalf("hot %d, customer %d; want 5 and 5", h, c)
		}
	})
}
