package db_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// column is what the two engines must agree on about a column: its kind
// of value (the engines name types differently) and whether it may be
// NULL.
type column struct {
	kind     string
	nullable bool
}

func (c column) String() string {
	if c.nullable {
		return c.kind + " NULL"
	}
	return c.kind + " NOT NULL"
}

// kinds maps each engine's type names to the kind of value they hold.
// Times are stored UTC (DATETIME and TIMESTAMPTZ); the migration table
// alone, created by the code, keeps its times without a zone on both.
var kinds = map[string]string{
	// SQLite (declared types, upper-cased)
	"INTEGER": "integer", "BIGINT": "integer", "TEXT": "text", "DATETIME": "time", "TIMESTAMP": "time without zone",
	"BOOLEAN": "boolean", "BLOB": "bytes",
	// PostgreSQL (information_schema.columns.data_type)
	"bigint": "integer", "integer": "integer", "smallint": "integer", "text": "text",
	"timestamp with time zone": "time", "timestamp without time zone": "time without zone",
	"boolean": "boolean", "bytea": "bytes",
}

// schema reads every table of d with its columns.
func schema(t *testing.T, d *db.DB) map[string]map[string]column {
	t.Helper()
	ctx := context.Background()
	query := `SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns
		WHERE table_schema = current_schema()`
	if d.Dialect() == db.SQLite {
		query = `SELECT m.name, c.name, upper(c.type), c."notnull" = 0 AND c.pk = 0
			FROM sqlite_master m, pragma_table_info(m.name) c
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	}
	rows, err := d.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]column{}
	for rows.Next() {
		var table, name, typ string
		var nullable bool
		if err := rows.Scan(&table, &name, &typ, &nullable); err != nil {
			t.Fatal(err)
		}
		kind, ok := kinds[typ]
		if !ok {
			t.Errorf("%s: %s.%s has the type %q, which this test does not know: add it to kinds", d.Dialect(), table, name, typ)
		}
		if out[table] == nil {
			out[table] = map[string]column{}
		}
		out[table][name] = column{kind: kind, nullable: nullable}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSchemasAgree migrates both engines and compares what the
// migrations made of them: the same latest migration, the same tables,
// the same columns, each column of the same kind and nullability. A
// migration written for one engine only, or a column added with another
// type, fails here.
func TestSchemasAgree(t *testing.T) {
	t.Parallel()
	liteDB, pgDB := dbtest.SQLite(t), dbtest.Postgres(t)
	if a, b := liteDB.LatestVersion(), pgDB.LatestVersion(); a != b {
		t.Errorf("the latest migration is %d on SQLite, %d on PostgreSQL", a, b)
	}
	lite, pg := schema(t, liteDB), schema(t, pgDB)
	if len(lite) < 20 {
		t.Fatalf("only %d SQLite tables read: the query is broken", len(lite))
	}
	var diffs []string
	for _, table := range slices.Sorted(maps.Keys(lite)) {
		other, ok := pg[table]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("table %s: only on SQLite", table))
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(lite[table])) {
			a := lite[table][name]
			b, ok := other[name]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s.%s: only on SQLite", table, name))
			case a != b:
				diffs = append(diffs, fmt.Sprintf("%s.%s: %s on SQLite, %s on PostgreSQL", table, name, a, b))
			}
		}
		for name := range other {
			if _, ok := lite[table][name]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: only on PostgreSQL", table, name))
			}
		}
	}
	for table := range pg {
		if _, ok := lite[table]; !ok {
			diffs = append(diffs, fmt.Sprintf("table %s: only on PostgreSQL", table))
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		t.Errorf("the schemas differ:\n%s", strings.Join(diffs, "\n"))
	}
}
