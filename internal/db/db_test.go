package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestMigrateAndErrors(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after migrate: %v", err)
		}
		// Migrating again is a no-op.
		n, err := d.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
		}

		now := db.Now()
		insert := func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
				"a@example.com", "A", "admin", "x", now)
			return err
		}
		if err := d.Write(ctx, insert); err != nil {
			t.Fatal(err)
		}
		if err := d.Write(ctx, insert); !errors.Is(err, db.ErrConflict) {
			t.Fatalf("duplicate insert: %v, want ErrConflict", err)
		}
		var got time.Time
		err = d.QueryRow(ctx, `SELECT created_at FROM users WHERE email = $1`, "a@example.com").Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(now) {
			t.Fatalf("time round trip: got %v, want %v", got, now)
		}
		err = db.MapErr(d.QueryRow(ctx, `SELECT name FROM users WHERE email = $1`, "nobody").Scan(new(string)))
		if !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("missing row: %v, want ErrNotFound", err)
		}

		// A failed transaction leaves nothing behind and runs no OnCommit.
		committed := false
		boom := errors.New("boom")
		err = d.Write(ctx, func(tx *db.Tx) error {
			tx.OnCommit(func() { committed = true })
			if _, err := tx.Exec(ctx, `UPDATE users SET name = 'B'`); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || committed {
			t.Fatalf("rollback: err=%v committed=%v", err, committed)
		}
		var name string
		d.QueryRow(ctx, `SELECT name FROM users`).Scan(&name)
		if name != "A" {
			t.Fatalf("name after rollback = %q, want A", name)
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		future := d.LatestVersion() + 1
		if _, err := d.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, future, db.Now()); err != nil {
			t.Fatal(err)
		}
		var newer *db.ErrSchemaNewer
		if err := d.CheckSchema(ctx); !errors.As(err, &newer) {
			t.Fatalf("CheckSchema = %v, want ErrSchemaNewer", err)
		}
		if _, err := d.Migrate(ctx); !errors.As(err, &newer) {
			t.Fatalf("Migrate = %v, want ErrSchemaNewer", err)
		}
	})
}

// TestIDs reads a column of ids, in order, into a slice that is empty
// rather than nil for none, and IDList writes them back into a query.
func TestIDs(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var want []int64
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			var id int64
			err := d.Write(ctx, func(tx *db.Tx) error {
				return tx.QueryRow(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ($1, 'X', 'sales', 'x', $2, $2) RETURNING id`,
					email, db.Now()).Scan(&id)
			})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
		got, err := db.IDs(ctx, d, `SELECT id FROM users WHERE id IN (`+db.IDList(want[1:])+`) ORDER BY id DESC`)
		if err != nil || len(got) != 2 || got[0] != want[2] || got[1] != want[1] {
			t.Fatalf("IDs = %v, %v; want %v reversed", got, err, want[1:])
		}
		none, err := db.IDs(ctx, d, `SELECT id FROM users WHERE email = $1`, "nobody@example.com")
		if err != nil || none == nil || len(none) != 0 {
			t.Fatalf("IDs of nothing = %#v, %v", none, err)
		}
	})
}
