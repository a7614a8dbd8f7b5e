package db

import (
	"context"
	"sync"
	"time"
)

// checkpointEvery is how often the checkpointer copies committed pages
// from SQLite's write-ahead log back into the database file.
const checkpointEvery = 250 * time.Millisecond

// writerCheckpointPages is the size of the WAL, in pages, past which the
// writer checkpoints after its commit (SQLite's default is 1,000).
const writerCheckpointPages = 4000

// checkpointer takes most of SQLite's checkpoint work off the writer. The
// connection whose commit takes the WAL past writerCheckpointPages runs a
// checkpoint itself, copying pages into the database file and syncing it
// while every write waits behind it; on a busy disk that was the long tail
// of message latency, and flat out it was a tenth of the writer's time. A
// PASSIVE checkpoint on another connection every 250 ms (it never blocks
// the writer or readers) leaves the writer's own checkpoints little to
// copy, and the higher threshold makes them rarer. The writer keeps its
// automatic checkpoints: only a checkpoint run by the writer right after
// its commit lets the next write start the log over, so without them the
// WAL would grow.
type checkpointer struct {
	db   *DB
	quit chan struct{}
	once sync.Once
	done sync.WaitGroup
}

func newCheckpointer(d *DB) *checkpointer {
	c := &checkpointer{db: d, quit: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer c.done.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		// An error (the database busy during a backup) is retried at the
		// next tick; the writer's own checkpoints still happen.
		c.db.write.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
	}
}

// stop ends the checkpointer (Close may be called twice).
func (c *checkpointer) stop() {
	c.once.Do(func() { close(c.quit) })
	c.done.Wait()
}
