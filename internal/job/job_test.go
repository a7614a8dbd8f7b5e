package job_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/job"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

// runFor runs r until the test ends, or until stop (which returns once
// r's handlers have).
func runFor(t *testing.T, r *job.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return stop
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
		stop := runFor(t, r)
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
		// Done rows are gone and failed ones are never claimed again: once
		// the runner has stopped, the counts are final.
		stop()
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
		var stops []func()
		for node := range 3 {
			r := job.NewRunner(d, job.NewQueue(), job.Config{Node: fmt.Sprint("node", node), Poll: 5 * time.Millisecond, Workers: 4}, quiet)
			r.Handle("count", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
				mu.Lock()
				seen[string(j.Payload)]++
				mu.Unlock()
				return nil
			}))
			stops = append(stops, runFor(t, r))
		}
		waitFor(t, "all jobs done", func() bool {
			var left int
			if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM jobs`).Scan(&left); err != nil {
				t.Fatal(err)
			}
			return left == 0
		})
		// No row is left to claim: once the runners have stopped, every
		// run is counted.
		for _, stop := range stops {
			stop()
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != n {
			t.Errorf("%d of %d jobs ran", len(seen), n)
		}
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

// TestLeaseRenewedWhileRunning: a handler that runs for many leases keeps
// its job; the other runner (and its own) never claim it meanwhile, and
// the job runs once. On fake time (synctest), both engines.
func TestLeaseRenewedWhileRunning(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		t.Run(engine.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := engine.open(t)
				q := job.NewQueue()
				var runs atomic.Int32
				release := make(chan struct{})
				var claimedBy []string
				var mu sync.Mutex
				for _, node := range []string{"a", "b"} {
					r := job.NewRunner(d, job.NewQueue(), job.Config{Node: node, Poll: time.Second, Lease: time.Minute}, quiet)
					r.Handle("long", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
						runs.Add(1)
						mu.Lock()
						claimedBy = append(claimedBy, node)
						mu.Unlock()
						select {
						case <-release:
							return nil
						case <-ctx.Done():
							return ctx.Err()
						}
					}))
					runFor(t, r)
				}
				id := enqueue(t, d, q, "long", nil, job.Options{})
				for runs.Load() == 0 {
					time.Sleep(time.Second)
				}
				time.Sleep(10 * time.Minute) // ten leases
				if n := runs.Load(); n != 1 {
					mu.Lock()
					t.Fatalf("the job ran %d times (%v) while its first run was still going", n, claimedBy)
				}
				close(release)
				for {
					if _, _, exists := jobRow(t, d, id); !exists {
						break
					}
					time.Sleep(time.Second)
				}
				if n := runs.Load(); n != 1 {
					t.Fatalf("the job ran %d times", n)
				}
			})
		})
	}
}

// TestLeaseLost: a runner whose job was taken by another (its lease ran
// out while it could not renew) stops the handler at its next renewal and
// leaves the job to the other runner.
func TestLeaseLost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		d := dbtest.SQLite(t)
		q := job.NewQueue()
		started, stopped := make(chan struct{}), make(chan error, 1)
		r := job.NewRunner(d, q, job.Config{Node: "a", Poll: time.Second, Lease: time.Minute}, quiet)
		r.Handle("long", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
			close(started)
			<-ctx.Done()
			stopped <- ctx.Err()
			return ctx.Err()
		}))
		runFor(t, r)
		id := enqueue(t, d, q, "long", nil, job.Options{})
		<-started
		if _, err := d.Exec(context.Background(), `UPDATE jobs SET locked_by = 'b', locked_until = $2 WHERE id = $1`, id, db.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		select {
		case <-stopped:
		default:
			t.Fatal("the handler still runs a job that is another runner's")
		}
		time.Sleep(time.Second)
		var by string
		var failed *time.Time
		if err := d.QueryRow(context.Background(), `SELECT locked_by, failed_at FROM jobs WHERE id = $1`, id).Scan(&by, &failed); err != nil || by != "b" || failed != nil {
			t.Fatalf("job after losing its lease: locked_by %q, failed %v, err %v; want it left to b", by, failed, err)
		}
	})
}

// TestComplete ends a job in the transaction of its work: the work and the
// job's end commit together, and a runner whose job another runner took
// cannot commit the work (ErrTaken rolls it back).
func TestComplete(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Exec(ctx, `CREATE TABLE effects (job_id TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		q := job.NewQueue()
		r := job.NewRunner(d, q, job.Config{Node: "a", Poll: 10 * time.Millisecond}, quiet)
		steal := make(chan int64, 1)
		results := make(chan error, 2)
		r.Handle("work", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
			select {
			case id := <-steal: // another runner takes this one meanwhile
				if _, err := d.Exec(ctx, `UPDATE jobs SET locked_by = 'b', locked_until = $2 WHERE id = $1`, id, db.Now().Add(time.Hour)); err != nil {
					return err
				}
			default:
			}
			err := d.Write(ctx, func(tx *db.Tx) error {
				// The payload names the job (SQLite may give a new job the
				// id of a deleted one).
				if _, err := tx.Exec(ctx, `INSERT INTO effects (job_id) VALUES ($1)`, string(j.Payload)); err != nil {
					return err
				}
				return j.Complete(ctx, tx)
			})
			results <- err
			return err
		}))
		runFor(t, r)
		done := enqueue(t, d, q, "work", 1, job.Options{})
		if err := <-results; err != nil {
			t.Fatalf("complete: %v", err)
		}
		if _, _, exists := jobRow(t, d, done); exists {
			t.Error("a completed job is still there")
		}
		taken := enqueue(t, d, q, "work", 2, job.Options{RunAt: time.Now().Add(time.Hour)})
		steal <- taken
		if _, err := d.Exec(ctx, `UPDATE jobs SET run_at = $2 WHERE id = $1`, taken, db.Now()); err != nil {
			t.Fatal(err)
		}
		q.Wake()
		if err := <-results; !errors.Is(err, job.ErrTaken) {
			t.Fatalf("completing a job another runner took: %v, want ErrTaken", err)
		}
		var n int
		d.QueryRow(ctx, `SELECT COUNT(*) FROM effects WHERE job_id = '2'`).Scan(&n)
		if n != 0 {
			t.Error("the work of a job another runner took was committed")
		}
		d.QueryRow(ctx, `SELECT COUNT(*) FROM effects WHERE job_id = '1'`).Scan(&n)
		if n != 1 {
			t.Errorf("the completed job's work committed %d times", n)
		}
	})
}

// TestLater moves a timer whose deadline moved: it runs again at the new
// deadline, not before, and the move does not count as an attempt.
func TestLater(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		d := dbtest.SQLite(t)
		q := job.NewQueue()
		r := job.NewRunner(d, q, job.Config{Node: "a", Poll: time.Second}, quiet)
		var runs []int // the attempt of each run
		var mu sync.Mutex
		r.Handle("timer", job.HandlerFunc(func(ctx context.Context, j *job.Job) error {
			mu.Lock()
			runs = append(runs, j.Attempt)
			n := len(runs)
			mu.Unlock()
			if n == 1 {
				return job.Later(time.Now().Add(time.Hour))
			}
			return nil
		}))
		runFor(t, r)
		id := enqueue(t, d, q, "timer", nil, job.Options{MaxAttempts: 1})
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(runs) }
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if n := count(); n != 1 {
			t.Fatalf("%d runs before the new deadline, want 1", n)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		mu.Lock()
		got := append([]int(nil), runs...)
		mu.Unlock()
		if len(got) != 2 || got[1] != 1 {
			t.Fatalf("runs %v, want a second run at the deadline, still the first attempt (of one)", got)
		}
		if _, _, exists := jobRow(t, d, id); exists {
			t.Error("the timer is still there after its run")
		}
	})
}
