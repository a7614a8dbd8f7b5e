package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// A migration is one numbered SQL file, applied in one transaction.
type migration struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(db.dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("db: migration %s: name must be NNNN_what.sql", e.Name())
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("db: migration %s: %w", e.Name(), err)
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Numbers only increase; a gap is allowed (a migration numbered while
	// others were written beside it).
	for i, m := range ms {
		if m.version < 1 || (i > 0 && m.version == ms[i-1].version) {
			return nil, fmt.Errorf("db: migration %s: numbers start at 1 and are used once", m.name)
		}
	}
	return ms, nil
}

// LatestVersion is the schema version this binary knows.
func (db *DB) LatestVersion() int {
	ms, err := db.migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	applied_at TIMESTAMP NOT NULL
)`

// SchemaVersion reports the version the database is at (0 when empty).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	var q string
	switch db.dialect {
	case Postgres:
		q = `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations')`
	default:
		q = `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')`
	}
	if err := db.QueryRow(ctx, q).Scan(&exists); err != nil {
		return 0, fmt.Errorf("db: schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := db.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("db: schema version: %w", err)
	}
	return v, nil
}

// ErrSchemaNewer is returned when the database was migrated by a newer
// binary: running an older one against it could corrupt data.
type ErrSchemaNewer struct{ Database, Binary int }

func (e *ErrSchemaNewer) Error() string {
	return fmt.Sprintf("database schema is at version %d, newer than this binary's %d: upgrade switchboard", e.Database, e.Binary)
}

// CheckSchema reports whether the schema is exactly the binary's.
func (db *DB) CheckSchema(ctx context.Context) error {
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest := db.LatestVersion()
	switch {
	case v > latest:
		return &ErrSchemaNewer{Database: v, Binary: latest}
	case v < latest:
		return fmt.Errorf("database schema is at version %d, this binary needs %d: run switchboard migrate", v, latest)
	}
	return nil
}

// Migrate applies every pending migration, each in its own transaction. It
// refuses to touch a database whose schema is newer than the binary. Nodes
// starting together on PostgreSQL take turns through an advisory lock.
func (db *DB) Migrate(ctx context.Context) (applied int, err error) {
	ms, err := db.migrations()
	if err != nil {
		return 0, err
	}
	if db.dialect == Postgres {
		// The lock belongs to a session, so hold one connection for it.
		conn, err := db.write.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("db: migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7201001)`); err != nil {
			return 0, fmt.Errorf("db: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7201001)`)
	}
	if _, err := db.Exec(ctx, createMigrationsTable); err != nil {
		return 0, fmt.Errorf("db: migrate: %w", err)
	}
	current, err := db.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if latest := db.LatestVersion(); current > latest {
		return 0, &ErrSchemaNewer{Database: current, Binary: latest}
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		err := db.Write(ctx, func(tx *Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, Now())
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("db: migration %s: %w", m.name, err)
		}
		applied++
	}
	return applied, nil
}
