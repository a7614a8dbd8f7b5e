package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "modernc.org/sqlite"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// TestDeadlockIsRetried makes a write deadlock with another connection on
// PostgreSQL: the write is the victim, runs again, and succeeds.
func TestDeadlockIsRetried(t *testing.T) {
	t.Parallel()
	url := dbtest.PostgresURL(t)
	d, err := db.Open(context.Background(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Exec(ctx, `CREATE TABLE pair (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO pair VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The other side waits long before it looks for deadlocks, so the
	// write is the one PostgreSQL picks as the victim.
	if _, err := otx.ExecContext(ctx, `SET LOCAL deadlock_timeout = '20s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := otx.ExecContext(ctx, `UPDATE pair SET v = v + 1 WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	holdsOne := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- d.Write(ctx, func(tx *db.Tx) error {
			attempts.Add(1)
			if _, err := tx.Exec(ctx, `UPDATE pair SET v = v + 10 WHERE id = 1`); err != nil {
				return err
			}
			once.Do(func() { close(holdsOne) })
			_, err := tx.Exec(ctx, `UPDATE pair SET v = v + 10 WHERE id = 2`)
			return err
		})
	}()
	<-holdsOne
	// Now each side holds one row and wants the other's.
	if _, err := otx.ExecContext(ctx, `UPDATE pair SET v = v + 1 WHERE id = 1`); err != nil {
		t.Fatalf("the other side was chosen as the victim: %v", err)
	}
	if err := otx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("write after deadlock: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("write did not finish")
	}
	if n := attempts.Load(); n < 2 {
		t.Fatalf("write ran %d times; the deadlock should have made it run again", n)
	}
	var v1, v2 int
	d.QueryRow(ctx, `SELECT v FROM pair WHERE id = 1`).Scan(&v1)
	d.QueryRow(ctx, `SELECT v FROM pair WHERE id = 2`).Scan(&v2)
	if v1 != 11 || v2 != 11 {
		t.Fatalf("rows %d, %d; want 11, 11 (each side's work once)", v1, v2)
	}
}

// sqliteErrors makes SQLite answer with a unique violation and with
// SQLITE_BUSY (a second connection, without a busy timeout, asking for the
// write lock another one holds).
func sqliteErrors(t *testing.T) (unique, busy error) {
	t.Helper()
	ctx := context.Background()
	path := t.TempDir() + "/errors.db"
	open := func() *sql.DB {
		c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		c.SetMaxOpenConns(1)
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := open(), open()
	if _, err := a.ExecContext(ctx, `CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, `INSERT INTO k (v) VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	_, unique = a.ExecContext(ctx, `INSERT INTO k (v) VALUES ('x')`)
	if _, err := a.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	_, busy = b.ExecContext(ctx, `BEGIN IMMEDIATE`)
	if _, err := a.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	return unique, busy
}

func TestMapErr(t *testing.T) {
	t.Parallel()
	unique, busy := sqliteErrors(t)
	plain := errors.New("plain")
	pg := func(code string) error { return &pgconn.PgError{Code: code, Message: "m"} }
	for _, c := range []struct {
		name string
		err  error
		want error // nil: none of the three
	}{
		{"no rows", sql.ErrNoRows, db.ErrNotFound},
		{"no rows, wrapped", fmt.Errorf("load: %w", sql.ErrNoRows), db.ErrNotFound},
		{"sqlite unique", unique, db.ErrConflict},
		{"sqlite busy", busy, db.ErrRetryable},
		{"postgres unique", pg("23505"), db.ErrConflict},
		{"postgres deadlock", pg("40P01"), db.ErrRetryable},
		{"postgres serialization", pg("40001"), db.ErrRetryable},
		{"postgres deadlock, wrapped", fmt.Errorf("event: insert: %w", pg("40P01")), db.ErrRetryable},
		{"postgres foreign key", pg("23503"), nil},
		{"plain", plain, nil},
		{"already mapped", fmt.Errorf("%w: x", db.ErrRetryable), db.ErrRetryable},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil {
				t.Fatal("the driver gave no error")
			}
			got := db.MapErr(c.err)
			if !errors.Is(got, c.err) {
				t.Errorf("MapErr(%v) = %v: lost the original error", c.err, got)
			}
			for _, sentinel := range []error{db.ErrNotFound, db.ErrConflict, db.ErrRetryable} {
				if errors.Is(got, sentinel) != (sentinel == c.want) {
					t.Errorf("MapErr(%v) = %v: errors.Is(%v) = %v", c.err, got, sentinel, !(sentinel == c.want))
				}
			}
		})
	}
	if db.MapErr(nil) != nil {
		t.Error("MapErr(nil) != nil")
	}
}

// TestRetry: a retryable error runs fn again with growing waits, up to a
// bound; any other error ends at once; a context that ends during a wait
// stops the retries without waiting further.
func TestRetry(t *testing.T) {
	t.Parallel()
	retryable := fmt.Errorf("write: %w", &pgconn.PgError{Code: "40P01"})
	t.Run("bounded, with backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var runs []time.Duration
			start := time.Now()
			err := db.Retry(context.Background(), func() error {
				runs = append(runs, time.Since(start))
				return retryable
			})
			if !errors.Is(err, db.ErrRetryable) || len(runs) != 5 {
				t.Fatalf("err=%v after %d runs; want the deadlock after 5", err, len(runs))
			}
			for i := 1; i < len(runs); i++ {
				wait, base := runs[i]-runs[i-1], 5*time.Millisecond<<(i-1)
				if wait < base/2 || wait >= base*3/2 {
					t.Errorf("wait before run %d = %v, want [%v, %v)", i+1, wait, base/2, base*3/2)
				}
			}
		})
	})
	t.Run("other errors", func(t *testing.T) {
		runs := 0
		boom := errors.New("boom")
		if err := db.Retry(context.Background(), func() error { runs++; return boom }); err != boom || runs != 1 {
			t.Fatalf("err=%v runs=%d", err, runs)
		}
		runs = 0
		if err := db.Retry(context.Background(), func() error {
			runs++
			if runs < 3 {
				return retryable
			}
			return nil
		}); err != nil || runs != 3 {
			t.Fatalf("err=%v runs=%d; want success on the third run", err, runs)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			runs := 0
			done := make(chan error)
			go func() {
				done <- db.Retry(ctx, func() error { runs++; return retryable })
			}()
			synctest.Wait() // Retry waits before its second run
			start := time.Now()
			cancel()
			err := <-done
			if runs != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, db.ErrRetryable) {
				t.Fatalf("runs=%d err=%v; want one run, the deadlock and the cancellation", runs, err)
			}
			if waited := time.Since(start); waited != 0 {
				t.Fatalf("Retry waited %v after the cancellation", waited)
			}
		})
	})
}
