package db_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// insertKey inserts a login_attempts row (a table with a text primary key
// and no references, handy for tests of the write path).
func insertKey(ctx context.Context, tx *db.Tx, key string) error {
	_, err := tx.Exec(ctx, `INSERT INTO login_attempts (key, failures, blocked_until, updated_at) VALUES ($1, 1, $2, $2)`, key, db.Now())
	return err
}

func keyExists(t *testing.T, d *db.DB, key string) bool {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM login_attempts WHERE key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestWriteConcurrent runs many writers at once: on SQLite they share
// transactions (group commit). Each caller's outcome must be its own: a
// failing or conflicting caller leaves nothing behind and does not disturb
// the others, and OnCommit runs only after the commit that holds the work.
func TestWriteConcurrent(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.Write(ctx, func(tx *db.Tx) error { return insertKey(ctx, tx, "taken") }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		const writers, each = 40, 25
		var ok, committedEarly atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					key := fmt.Sprintf("k-%d-%d", w, i)
					var hookRan bool
					err := d.Write(ctx, func(tx *db.Tx) error {
						tx.OnCommit(func() {
							hookRan = true
							// The hook runs after the commit: the row is
							// visible to a reader outside the transaction.
							if !keyExists(t, d, key) {
								committedEarly.Add(1)
							}
						})
						if err := insertKey(ctx, tx, key); err != nil {
							return err
						}
						switch i % 5 {
						case 1:
							return boom // after writing: must be undone
						case 2:
							return insertKey(ctx, tx, "taken") // a conflict, after writing
						}
						return nil
					})
					switch i % 5 {
					case 1:
						if !errors.Is(err, boom) || hookRan || keyExists(t, d, key) {
							errs <- fmt.Errorf("%s: failing write: err=%v hook=%v", key, err, hookRan)
						}
					case 2:
						if !errors.Is(err, db.ErrConflict) || hookRan || keyExists(t, d, key) {
							errs <- fmt.Errorf("%s: conflicting write: err=%v hook=%v", key, err, hookRan)
						}
					default:
						if err != nil || !hookRan {
							errs <- fmt.Errorf("%s: write: err=%v hook=%v", key, err, hookRan)
						}
						ok.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := committedEarly.Load(); n > 0 {
			t.Errorf("%d OnCommit functions ran before their work was visible", n)
		}
		var rows int64
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM login_attempts WHERE key LIKE 'k-%'`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != ok.Load() {
			t.Errorf("%d rows, want %d (one per successful write)", rows, ok.Load())
		}
	})
}

// TestWritePanic: a panicking function panics in its caller, leaves
// nothing behind and does not disturb the writes committed with it.
func TestWritePanic(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprintf("p-%d", i)
				defer func() {
					p := recover()
					if (p != nil) != (i == 7) {
						t.Errorf("%s: recovered %v", key, p)
					}
				}()
				err := d.Write(ctx, func(tx *db.Tx) error {
					if err := insertKey(ctx, tx, key); err != nil {
						return err
					}
					if i == 7 {
						panic("write function failed")
					}
					return nil
				})
				if err != nil {
					t.Errorf("%s: %v", key, err)
				}
			}()
		}
		wg.Wait()
		for i := range 20 {
			if got := keyExists(t, d, fmt.Sprintf("p-%d", i)); got != (i != 7) {
				t.Errorf("p-%d exists = %v", i, got)
			}
		}
		// The writer still works.
		if err := d.Write(ctx, func(tx *db.Tx) error { return insertKey(ctx, tx, "after") }); err != nil {
			t.Fatal(err)
		}
	})
}

// TestWriteCancelled: a cancelled context stops a write before it runs;
// one cancelled while its function runs keeps statements from starting,
// and the function's error undoes its work.
func TestWriteCancelled(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ran := false
		err := d.Write(ctx, func(tx *db.Tx) error { ran = true; return insertKey(ctx, tx, "c1") })
		if !errors.Is(err, context.Canceled) || keyExists(t, d, "c1") {
			t.Fatalf("cancelled before: err=%v ran=%v", err, ran)
		}
		ctx, cancel = context.WithCancel(context.Background())
		err = d.Write(ctx, func(tx *db.Tx) error {
			if err := insertKey(ctx, tx, "c2"); err != nil {
				return err
			}
			cancel()
			return insertKey(ctx, tx, "c3")
		})
		if !errors.Is(err, context.Canceled) || keyExists(t, d, "c2") || keyExists(t, d, "c3") {
			t.Fatalf("cancelled during: err=%v", err)
		}
		if _, err := d.Exec(context.Background(), `DELETE FROM login_attempts`); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBeforeCommit: functions registered with BeforeCommit run in the
// transaction after the work, in order; an error fails the write and
// leaves nothing behind.
func TestBeforeCommit(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var order []string
		err := d.Write(ctx, func(tx *db.Tx) error {
			tx.BeforeCommit(func() error { order = append(order, "hook1"); return insertKey(ctx, tx, "h1") })
			tx.BeforeCommit(func() error { order = append(order, "hook2"); return nil })
			order = append(order, "work")
			return insertKey(ctx, tx, "w1")
		})
		if err != nil || fmt.Sprint(order) != "[work hook1 hook2]" || !keyExists(t, d, "h1") || !keyExists(t, d, "w1") {
			t.Fatalf("err=%v order=%v", err, order)
		}
		boom := errors.New("boom")
		hookRan := false
		err = d.Write(ctx, func(tx *db.Tx) error {
			tx.BeforeCommit(func() error { hookRan = true; return nil })
			if err := insertKey(ctx, tx, "w2"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || hookRan || keyExists(t, d, "w2") {
			t.Fatalf("failed write: err=%v hookRan=%v", err, hookRan)
		}
		err = d.Write(ctx, func(tx *db.Tx) error {
			tx.BeforeCommit(func() error { return boom })
			return insertKey(ctx, tx, "w3")
		})
		if !errors.Is(err, boom) || keyExists(t, d, "w3") {
			t.Fatalf("failing hook: err=%v", err)
		}
	})
}

// TestNestedWritePanics: DB.Write and DB.Exec called from inside a Write's
// function would wait for the writer that runs it; they panic with a
// message that says what to do instead, and the writer goes on working.
// Tx.Alone and writes from other goroutines meanwhile are fine.
func TestNestedWritePanics(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, c := range []struct {
			name  string
			inner func() error
		}{
			{"Write", func() error { return d.Write(ctx, func(tx *db.Tx) error { return insertKey(ctx, tx, "inner-w") }) }},
			{"Exec", func() error {
				_, err := d.Exec(ctx, `DELETE FROM login_attempts WHERE key = 'outer'`)
				return err
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				done := make(chan any, 1)
				go func() {
					defer func() { done <- recover() }()
					err := d.Write(ctx, func(tx *db.Tx) error {
						if err := insertKey(ctx, tx, "outer"); err != nil {
							return err
						}
						return c.inner()
					})
					t.Errorf("Write returned %v; want a panic", err)
				}()
				select {
				case p := <-done:
					if msg, _ := p.(string); !strings.Contains(msg, "DB."+c.name+" called from inside the function of a Write") {
						t.Fatalf("recovered %v", p)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("the nested call waited for its own writer")
				}
				if keyExists(t, d, "outer") || keyExists(t, d, "inner-w") {
					t.Fatal("the panicking write left rows behind")
				}
			})
		}
		// What is allowed: Tx.Alone, and another goroutine's write while a
		// function runs.
		err := d.Write(ctx, func(tx *db.Tx) error {
			if err := tx.Alone(ctx, func(tx *db.Tx) error { return insertKey(ctx, tx, "alone") }); err != nil {
				return err
			}
			other := make(chan error)
			go func() { other <- d.Write(ctx, func(tx *db.Tx) error { return insertKey(ctx, tx, "other") }) }()
			if d.Dialect() == db.Postgres {
				// Another worker commits it meanwhile (on SQLite it waits
				// for this batch, so it is awaited after Write returns).
				if err := <-other; err != nil {
					return err
				}
				other = nil
			}
			tx.OnCommit(func() {
				if other != nil {
					if err := <-other; err != nil {
						t.Error(err)
					}
				}
			})
			return insertKey(ctx, tx, "outer")
		})
		if err != nil || !keyExists(t, d, "alone") || !keyExists(t, d, "outer") || !keyExists(t, d, "other") {
			t.Fatalf("allowed writes: err=%v", err)
		}
	})
}

// TestBatchCallFails: a batch runs without savepoints until a call fails;
// then its transaction is rolled back and the batch runs again with a
// savepoint per call, so the failed call leaves nothing and the others
// commit once, on both engines. The statements show what the first pass
// saves: none of the calls of a batch that succeeds pays for a savepoint.
func TestBatchCallFails(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		refused := errors.New("refused")
		var runs [3]int
		call := func(i int, key string, err error) func(*db.Tx) error {
			return func(tx *db.Tx) error {
				runs[i]++
				if e := insertKey(ctx, tx, key); e != nil {
					return e
				}
				return err
			}
		}
		before := d.Statements()
		errs := db.CommitBatch(d, call(0, "a1", nil), call(1, "b1", nil), call(2, "c1", nil))
		if errs[0] != nil || errs[1] != nil || errs[2] != nil || runs != [3]int{1, 1, 1} {
			t.Fatalf("batch that succeeds: %v, runs %v", errs, runs)
		}
		if n := d.Statements() - before; n != 5 {
			t.Fatalf("batch that succeeds: %d statements, want 5 (BEGIN, three inserts, COMMIT)", n)
		}
		runs = [3]int{}
		errs = db.CommitBatch(d, call(0, "a2", nil), call(1, "b2", refused), call(2, "c2", nil))
		if errs[0] != nil || !errors.Is(errs[1], refused) || errs[2] != nil {
			t.Fatalf("errors: %v", errs)
		}
		if runs != [3]int{2, 2, 1} {
			t.Fatalf("runs %v; want the calls up to the failed one twice, the rest once", runs)
		}
		for key, want := range map[string]bool{"a1": true, "b1": true, "c1": true, "a2": true, "b2": false, "c2": true} {
			if got := keyExists(t, d, key); got != want {
				t.Errorf("%s stored: %v, want %v", key, got, want)
			}
		}
	})
}
