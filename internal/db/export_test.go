package db

import (
	"context"
	"sync"
)

// MigrateTo applies the pending migrations up to version target.
func (db *DB) MigrateTo(ctx context.Context, target int) (int, error) { return db.migrate(ctx, target) }

// CommitBatch runs fns as one batch of the group writer, in one
// transaction on a connection of its own, as the writer does, and
// returns each function's error (after MapErr); the OnCommit functions of
// the calls that succeeded run before it returns. Tests use it to build
// batches that would otherwise depend on timing.
func CommitBatch(d *DB, fns ...func(*Tx) error) []error {
	w := &worker{g: d.group}
	defer w.dropConn()
	batch := make([]*writeReq, len(fns))
	for i, fn := range fns {
		batch[i] = &writeReq{ctx: context.Background(), fn: fn}
	}
	w.commit(batch)
	errs := make([]error, len(fns))
	for i, r := range batch {
		if r.panicked != nil {
			panic(r.panicked)
		}
		errs[i] = r.err
		if r.err == nil {
			for _, f := range r.tx.onCommit {
				f()
			}
		}
	}
	return errs
}

// SetWriters replaces d's group writer by one with n workers. With n == 0
// there is no group commit: every Write runs as a transaction of its own
// on a connection of its own (the same code, with batches of one), for
// comparison in BenchmarkWriters.
func SetWriters(d *DB, n int) {
	d.group.close()
	g := newGroupWriter(d, n)
	d.group = g
	if n > 0 {
		return
	}
	g.workers.Add(1)
	go func() {
		defer g.workers.Done()
		var calls sync.WaitGroup
		defer calls.Wait()
		for {
			select {
			case r := <-g.reqs:
				calls.Go(func() {
					w := &worker{g: g}
					w.commit([]*writeReq{r})
					w.dropConn()
					r.done <- struct{}{}
				})
			case <-g.quit:
				return
			}
		}
	}()
}
