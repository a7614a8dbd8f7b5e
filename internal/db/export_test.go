package db

import "context"

// MigrateTo applies the pending migrations up to version target.
func (db *DB) MigrateTo(ctx context.Context, target int) (int, error) { return db.migrate(ctx, target) }
