package db_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
)

// TestCheckpointer: with the background checkpointer running beside the
// writer's own checkpoints, the write-ahead log is still reused from its
// start instead of growing.
func TestCheckpointer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	d, err := db.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	wal := filepath.Join(dir, "switchboard.db-wal")
	pad := string(make([]byte, 3000)) // about a page per row
	var biggest int64
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO login_attempts (key, failures, blocked_until, updated_at) VALUES ($1, 1, $2, $2)`,
				fmt.Sprintf("%d%s", i, pad), db.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(wal); err == nil {
			biggest = max(biggest, fi.Size())
		}
	}
	// Two seconds of single-row commits write tens of megabytes of log;
	// checkpointed and restarted it stays near the writer's threshold
	// (4,000 pages of 4 KiB).
	if biggest > 24<<20 {
		t.Fatalf("the WAL grew to %d bytes", biggest)
	}
}
