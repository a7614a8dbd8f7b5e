package job_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/job"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

// runFor runs r until the test ends.
func runFor(t *testing.T, r *job.Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func enqueue(t *testing.T, d *db.DB, q *job.Queue, kind string, payload any, o job.Options) int64 {
	t.Helper()
	var id int64
	err := d.Write(context.Background(), func(tx *db.Tx) error {
		var err error
		id, err = q.Enqueue(context.Background(), tx, kind, payload, o)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func jobRow(t *testing.T, d *db.DB, id int64) (attempts int, failed bool, exists bool) {
	t.Helper()
	var failedAt *time.Time
	err := d.QueryRow(context.Background(), `SELECT attempts, failed_at FROM jobs WHERE id = $1`, id).Scan(&attempts, &failedAt)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, false, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return attempts, failedAt != nil, true
}

func TestRunRetryFail(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		q := job.NewQueue()
		r := job.NewRunner(d, q, job.Config{Poll: 10 * time.Millisecond, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}, quiet)
		var ok, flaky, perm, final atomic.Int32
		r.Handle("ok", job.HandlerFunc(func(ctx context.Context, j *job.Job) error { ok.Add(1); return nil }))
		r.Handle("flaky", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
			if flaky.Add(1) < 3 {
				return errors.New("try again")
			}
			return nil
		}))
		r.Handle("perm", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
			perm.Add(1)
			return job.Permanent(errors.New("never"))
		}))
		r.Handle("final", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
			final.Add(1)
			return fmt.Errorf("attempt %d of %d", j.Attempt, j.MaxAttempts)
		}))
		runFor(t, r)
		okID := enqueue(t, d, q, "ok", nil, job.Options{})
		flakyID := enqueue(t, d, q, "flaky", nil, job.Options{})
		permID := enqueue(t, d, q, "perm", nil, job.Options{})
		finalID := enqueue(t, d, q, "final", nil, job.Options{MaxAttempts: 3})
		unknownID := enqueue(t, d, q, "no such kind", nil, job.Options{})

		waitFor(t, "ok done", func() bool { _, _, e := jobRow(t, d, okID); return !e })
		waitFor(t, "flaky done", func() bool { _, _, e := jobRow(t, d, flakyID); return !e })
		if n := flaky.Load(); n != 3 {
			t.Errorf("flaky ran %d times, want 3", n)
		}
		waitFor(t, "perm failed", func() bool { _, f, _ := jobRow(t, d, permID); return f })
		waitFor(t, "final failed", func() bool { _, f, _ := jobRow(t, d, finalID); return f })
		waitFor(t, "unknown failed", func() bool { _, f, _ := jobRow(t, d, unknownID); return f })
		time.Sleep(50 * time.Millisecond)
		if perm.Load() != 1 || final.Load() != 3 || ok.Load() != 1 {
			t.Errorf("runs: perm %d (want 1), final %d (want 3), ok %d (want 1)", perm.Load(), final.Load(), ok.Load())
		}
		var lastErr string
		d.QueryRow(context.Background(), `SELECT last_error FROM jobs WHERE id = $1`, finalID).Scan(&lastErr)
		if lastErr != "attempt 3 of 3" {
			t.Errorf("last error %q", lastErr)
		}
	})
}

func TestScheduleDedupRetryAt(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		q := job.NewQueue()
		r := job.NewRunner(d, q, job.Config{Poll: 10 * time.Millisecond, BaseBackoff: time.Millisecond}, quiet)
		var mu sync.Mutex
		ran := map[string]time.Time{}
		var later atomic.Int32
		r.Handle("timer", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
			mu.Lock()
			ran[string(j.Payload)] = time.Now()
			mu.Unlock()
			return nil
		}))
		r.Handle("later", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
			if later.Add(1) == 1 {
				return job.RetryAt(errors.New("throttled"), time.Now().Add(300*time.Millisecond))
			}
			return nil
		}))
		start := time.Now()
		enqueue(t, d, q, "timer", "soon", job.Options{RunAt: start.Add(200 * time.Millisecond), DedupKey: "t1"})
		// The same timer enqueued again is not a second job.
		if id := enqueue(t, d, q, "timer", "again", job.Options{RunAt: start, DedupKey: "t1"}); id != 0 {
			t.Fatalf("duplicate timer got id %d", id)
		}
		laterID := enqueue(t, d, q, "later", nil, job.Options{})
		runFor(t, r)
		waitFor(t, "timer", func() bool { mu.Lock(); defer mu.Unlock(); return !ran["\"soon\""].IsZero() })
		mu.Lock()
		at, again := ran["\"soon\""], ran["\"again\""]
		mu.Unlock()
		if at.Sub(start) < 190*time.Millisecond {
			t.Errorf("timer fired after %v, before it was due", at.Sub(start))
		}
		if !again.IsZero() {
			t.Error("the deduplicated timer ran")
		}
		waitFor(t, "later", func() bool { _, _, e := jobRow(t, d, laterID); return !e })
		if since := time.Since(start); since < 290*time.Millisecond {
			t.Errorf("retry honoured RetryAt only after %v", since)
		}
		// Once done, the key is free again.
		if id := enqueue(t, d, q, "timer", "next", job.Options{DedupKey: "t1"}); id == 0 {
			t.Error("dedup key still taken after the job ran")
		}
	})
}

// TestSurvivesRestartAndDeadNodes: a job enqueued with no runner is run by
// a runner started later; a job claimed by a node that died is run again
// once its lease runs out.
func TestSurvivesRestartAndDeadNodes(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		q := job.NewQueue()
		id := enqueue(t, d, q, "work", nil, job.Options{})
		dead := enqueue(t, d, q, "work", nil, job.Options{})
		// A node claimed it a while ago and died.
		if _, err := d.Exec(context.Background(), `UPDATE jobs SET locked_by = 'dead', locked_until = $2, attempts = 1 WHERE id = $1`, dead, db.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		var runs atomic.Int32
		r := job.NewRunner(d, q, job.Config{Poll: 10 * time.Millisecond}, quiet)
		r.Handle("work", job.HandlerFunc(func(ctx context.Context, j *job.Job) error { runs.Add(1); return nil }))
		runFor(t, r)
		waitFor(t, "both jobs", func() bool {
			_, _, a := jobRow(t, d, id)
			_, _, b := jobRow(t, d, dead)
			return !a && !b
		})
		if runs.Load() != 2 {
			t.Fatalf("ran %d times", runs.Load())
		}
	})
}

// TestEachJobRunsOnceAcrossRunners starts three runners on one database
// and checks that 300 jobs each run exactly once.
func TestEachJobRunsOnceAcrossRunners(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		q := job.NewQueue()
		const n = 300
		for i := range n {
			enqueue(t, d, q, "count", i, job.Options{})
		}
		var mu sync.Mutex
		seen := map[string]int{}
		for node := range 3 {
			r := job.NewRunner(d, job.NewQueue(), job.Config{Node: fmt.Sprint("node", node), Poll: 5 * time.Millisecond, Workers: 4}, quiet)
			r.Handle("count", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
				mu.Lock()
				seen[string(j.Payload)]++
				mu.Unlock()
				return nil
			}))
			runFor(t, r)
		}
		waitFor(t, "all jobs", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == n })
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		for p, c := range seen {
			if c != 1 {
				t.Errorf("job %s ran %d times", p, c)
			}
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 800 * time.Millisecond, time.Second},
		{2, 1600 * time.Millisecond, 2 * time.Second},
		{5, 12800 * time.Millisecond, 16 * time.Second},
		{30, 8 * time.Minute, 10 * time.Minute},
	} {
		d := job.Backoff(tc.attempt, time.Second, 10*time.Minute)
		if d < tc.min || d > tc.max {
			t.Errorf("Backoff(%d) = %v, want in [%v, %v]", tc.attempt, d, tc.min, tc.max)
		}
	}
}

// TestLongJobKeepsItsLease: a job that runs longer than its lease keeps
// it while it runs: once the first lease is over, the row is still held
// by the node running it, and no other node has claimed it again.
func TestLongJobKeepsItsLease(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		const lease = time.Second
		release := make(chan struct{})
		var runs atomic.Int32
		for node := range 2 {
			r := job.NewRunner(d, job.NewQueue(), job.Config{Node: fmt.Sprint("node", node), Poll: 10 * time.Millisecond, Lease: lease}, quiet)
			r.Handle("download", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
				runs.Add(1)
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}))
			runFor(t, r)
		}
		id := enqueue(t, d, job.NewQueue(), "download", nil, job.Options{})
		waitFor(t, "the job to start", func() bool { return runs.Load() == 1 })
		var first time.Time
		if err := d.QueryRow(context.Background(), `SELECT locked_until FROM jobs WHERE id = $1`, id).Scan(&first); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first lease to end", func() bool { return db.Now().After(first.Add(lease / 2)) })
		var until time.Time
		var attempts int
		if err := d.QueryRow(context.Background(), `SELECT locked_until, attempts FROM jobs WHERE id = $1`, id).Scan(&until, &attempts); err != nil {
			t.Fatal(err)
		}
		if !until.After(db.Now()) || attempts != 1 || runs.Load() != 1 {
			t.Fatalf("lease until %v (now %v), %d attempts, %d runs", until, db.Now(), attempts, runs.Load())
		}
		close(release)
		waitFor(t, "the job to finish", func() bool { _, _, exists := jobRow(t, d, id); return !exists })
	})
}
