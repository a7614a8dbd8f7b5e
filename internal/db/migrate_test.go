package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// emptyEngines runs fn on an empty database of each engine, not migrated
// (on PostgreSQL: an empty schema of a fresh database).
func emptyEngines(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		d, err := db.Open(ctx, "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		fn(t, d)
	})
	t.Run("postgres", func(t *testing.T) {
		u := dbtest.PostgresURL(t)
		migrated, err := db.Open(ctx, u, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = migrated.Exec(ctx, `CREATE SCHEMA empty`)
		migrated.Close()
		if err != nil {
			t.Fatal(err)
		}
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		d, err := db.Open(ctx, u+sep+"search_path=empty", "")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		fn(t, d)
	})
}

// TestMigrationSplitsNames migrates a database with people in it: their
// names become a first name (up to the first space) and a last name (the
// rest), and the whole name stays.
func TestMigrationSplitsNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emptyEngines(t, func(t *testing.T, d *db.DB) {
		if _, err := d.MigrateTo(ctx, 3); err != nil {
			t.Fatal(err)
		}
		names := map[string][2]string{
			"Ana":               {"Ana", ""},
			"Bo Berg":           {"Bo", "Berg"},
			"María José García": {"María", "José García"},
			"  Lee   Chen  ":    {"Lee", "Chen"},
		}
		i := 0
		for name := range names {
			i++
			if _, err := d.Exec(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ($1, $2, 'service', 'x', $3, $3)`,
				strings.Repeat("u", i)+"@example.com", name, db.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for name, want := range names {
			var first, last, whole, location string
			if err := d.QueryRow(ctx, `SELECT first_name, last_name, name, location FROM users WHERE name = $1`, name).Scan(&first, &last, &whole, &location); err != nil {
				t.Fatal(err)
			}
			if first != want[0] || last != want[1] || location != "" {
				t.Errorf("%q became first %q, last %q, location %q", name, first, last, location)
			}
		}
	})
}
