package db_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
