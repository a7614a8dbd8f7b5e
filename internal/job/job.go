// Package job runs durable jobs and timers: rows in the jobs table that are
// due at a time, claimed by one node at a time for a lease, retried with
// backoff and removed when done. A job is enqueued in the same transaction
// as the change that needs it, so a committed change never loses its job,
// and jobs survive restarts. The lease is renewed while the handler runs,
// so a long job stays with its runner. Handlers must be idempotent: a node
// that dies mid-job lets its lease run out and another node runs the job
// again (and a runner that finds its job taken that way stops its handler).
package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Job is one claimed job.
type Job struct {
	ID          int64
	Kind        string
	Payload     json.RawMessage
	Attempt     int // 1 for the first run
	MaxAttempts int

	// node is the runner that claimed it; done is set by Complete.
	node string
	done bool
}

// ErrTaken is Complete's answer when the job is no longer this runner's
// (its lease ran out and another runner took it): the work in the
// transaction must roll back, the other runner does it.
var ErrTaken = errors.New("job: taken by another runner")

// Complete deletes the job in tx, the transaction of its work, so that
// the work and the job's end commit together: a timer completed this way
// fires once even when its node dies right after the commit, and a runner
// whose lease ran out cannot commit the work again (ErrTaken).
func (j *Job) Complete(ctx context.Context, tx *db.Tx) error {
	res, err := tx.Exec(ctx, `DELETE FROM jobs WHERE id = $1 AND locked_by = $2`, j.ID, j.node)
	if err != nil {
		return fmt.Errorf("job: complete %d: %w", j.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ErrTaken
	}
	j.done = true
	return nil
}

// Final reports whether this is the last attempt.
func (j *Job) Final() bool { return j.Attempt >= j.MaxAttempts }

// Handler runs jobs of one kind. A nil error completes the job; an error
// schedules a retry (see RetryAt and Permanent) until the attempts run out,
// when the job is kept as failed for inspection.
type Handler interface {
	Handle(ctx context.Context, j *Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, j *Job) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, j *Job) error { return f(ctx, j) }

// retryAt is an error asking for the next attempt at a given time
// (a Retry-After from a remote API).
type retryAt struct {
	err error
	at  time.Time
}

func (e *retryAt) Error() string { return e.err.Error() }
func (e *retryAt) Unwrap() error { return e.err }

// RetryAt wraps err so the next attempt runs no earlier than at.
func RetryAt(err error, at time.Time) error { return &retryAt{err: err, at: at} }

// later is a timer's answer that it is not due yet (its deadline moved).
type later struct{ at time.Time }

func (e *later) Error() string { return "job: not due until " + e.at.UTC().Format(time.RFC3339) }

// Later is what a timer's handler returns when, compared at fire time,
// its deadline has moved to at: the job runs again then, and the attempt
// does not count. A timer is scheduled once and moved this way, instead of
// being written again by every event that pushes it back.
func Later(at time.Time) error { return &later{at: at} }

// errPermanent marks an error that retrying cannot fix.
type errPermanent struct{ err error }

func (e *errPermanent) Error() string { return e.err.Error() }
func (e *errPermanent) Unwrap() error { return e.err }

// Permanent wraps err so the job fails at once, without retries.
func Permanent(err error) error { return &errPermanent{err: err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *errPermanent
	return errors.As(err, &p)
}

// Options shape an enqueued job.
type Options struct {
	// RunAt is when the job is due; zero means now.
	RunAt time.Time
	// MaxAttempts defaults to 10.
	MaxAttempts int
	// DedupKey, when set, makes enqueuing a second job with the same key a
	// no-op while the first exists (a timer that must fire once).
	DedupKey string
}

// Queue enqueues jobs and wakes the local runner when they commit.
type Queue struct {
	wake chan struct{}
}

// NewQueue returns a queue.
func NewQueue() *Queue { return &Queue{wake: make(chan struct{}, 1)} }

// Enqueue adds a job in tx. With a DedupKey that already exists it does
// nothing and returns 0.
func (q *Queue) Enqueue(ctx context.Context, tx *db.Tx, kind string, payload any, opts Options) (int64, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("job: marshal %s: %w", kind, err)
	}
	now := db.Now()
	runAt := now
	if !opts.RunAt.IsZero() {
		runAt = db.Time(opts.RunAt)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	var dedup any
	if opts.DedupKey != "" {
		dedup = opts.DedupKey
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO jobs (kind, dedup_key, payload, run_at, max_attempts, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
		kind, dedup, string(body), runAt, opts.MaxAttempts, now).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, nil // deduplicated
	}
	if err != nil {
		return 0, fmt.Errorf("job: enqueue %s: %w", kind, err)
	}
	if !runAt.After(now) {
		tx.OnCommit(q.Wake)
	}
	return id, nil
}

// Cancel deletes the job with the given dedup key, if any.
func (q *Queue) Cancel(ctx context.Context, tx *db.Tx, dedupKey string) error {
	_, err := tx.Exec(ctx, `DELETE FROM jobs WHERE dedup_key = $1`, dedupKey)
	return err
}

// Wake makes the local runner look for due jobs now.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Config tunes a runner.
type Config struct {
	Node        string        // names the claimer, for inspection
	Workers     int           // jobs run at once; default 8
	Poll        time.Duration // how often to look for due jobs without a wake-up; default 1s
	Lease       time.Duration // how long a claim lasts without renewal (renewed while the job runs); default 1m
	ClaimBatch  int           // jobs claimed per query; default Workers
	MaxBackoff  time.Duration // default 10m
	BaseBackoff time.Duration // default 1s
}

// Runner claims due jobs and runs their handlers.
type Runner struct {
	db       *db.DB
	queue    *Queue
	cfg      Config
	logger   *slog.Logger
	handlers map[string]Handler
}

// NewRunner returns a runner of queue's jobs.
func NewRunner(d *db.DB, queue *Queue, cfg Config, logger *slog.Logger) *Runner {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.ClaimBatch <= 0 {
		cfg.ClaimBatch = cfg.Workers
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = time.Second
	}
	if cfg.Node == "" {
		cfg.Node = fmt.Sprintf("node-%d", rand.Int64())
	}
	return &Runner{db: d, queue: queue, cfg: cfg, logger: logger, handlers: map[string]Handler{}}
}

// Handle registers the handler of a kind. Call before Run.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// Run claims and runs jobs until ctx ends, then waits for running handlers
// (which see ctx cancelled) to return.
func (r *Runner) Run(ctx context.Context) error {
	sem := make(chan struct{}, r.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	ticker := time.NewTicker(r.cfg.Poll)
	defer ticker.Stop()
	for {
		free := r.cfg.Workers - len(sem)
		var jobs []*Job
		if free > 0 {
			var err error
			jobs, err = r.claim(ctx, min(free, r.cfg.ClaimBatch))
			if err != nil && ctx.Err() == nil {
				r.logger.Error("job: claim", "err", err)
			}
		}
		for _, j := range jobs {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done(); r.queue.Wake() }()
				r.run(ctx, j)
			}()
		}
		if len(jobs) == free && free > 0 {
			continue // there may be more due right now
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.queue.wake:
		case <-ticker.C:
		}
	}
}

// claim takes up to n due jobs for a lease.
func (r *Runner) claim(ctx context.Context, n int) ([]*Job, error) {
	now := db.Now()
	pick := `SELECT id FROM jobs WHERE run_at <= $1 AND failed_at IS NULL AND (locked_until IS NULL OR locked_until < $1) ORDER BY run_at LIMIT $2`
	if r.db.Dialect() == db.Postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	var jobs []*Job
	err := r.db.Write(ctx, func(tx *db.Tx) error {
		jobs = jobs[:0] // the function may run more than once
		rows, err := tx.Query(ctx, `UPDATE jobs SET locked_by = $3, locked_until = $4, attempts = attempts + 1
			WHERE id IN (`+pick+`) AND (locked_until IS NULL OR locked_until < $1)
			RETURNING id, kind, payload, attempts, max_attempts`, now, n, r.cfg.Node, now.Add(r.cfg.Lease))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j := &Job{node: r.cfg.Node}
			var payload string
			if err := rows.Scan(&j.ID, &j.Kind, &payload, &j.Attempt, &j.MaxAttempts); err != nil {
				return err
			}
			j.Payload = json.RawMessage(payload)
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	return jobs, err
}

func (r *Runner) run(ctx context.Context, j *Job) {
	h, ok := r.handlers[j.Kind]
	var err error
	if !ok {
		err = Permanent(fmt.Errorf("no handler for job kind %q", j.Kind))
	} else {
		hctx, cancel := context.WithCancelCause(ctx)
		renewed := make(chan struct{})
		go func() { defer close(renewed); r.keepLease(hctx, j, cancel) }()
		err = safeHandle(hctx, h, j)
		cancel(nil)
		<-renewed
		if errors.Is(context.Cause(hctx), errLeaseLost) {
			r.logger.Warn("job: lease lost while running; another runner has the job", "job", j.ID, "kind", j.Kind, "err", err)
			return
		}
	}
	// Record the outcome even when shutting down: the handler's work is done.
	ctx = context.WithoutCancel(ctx)
	if err == nil {
		if j.done {
			return // deleted with the handler's work (Complete)
		}
		if _, derr := r.db.Exec(ctx, `DELETE FROM jobs WHERE id = $1 AND locked_by = $2`, j.ID, r.cfg.Node); derr != nil {
			r.logger.Error("job: complete", "job", j.ID, "kind", j.Kind, "err", derr)
		}
		return
	}
	var lt *later
	if errors.As(err, &lt) {
		if _, derr := r.db.Exec(ctx, `UPDATE jobs SET run_at = $2, attempts = attempts - 1, locked_until = NULL, locked_by = NULL
			WHERE id = $1 AND locked_by = $3`, j.ID, db.Time(lt.at), r.cfg.Node); derr != nil {
			r.logger.Error("job: move timer", "job", j.ID, "err", derr)
		}
		return
	}
	var perm *errPermanent
	if errors.As(err, &perm) || j.Final() {
		r.logger.Warn("job: failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempt, "err", err)
		if _, derr := r.db.Exec(ctx, `UPDATE jobs SET failed_at = $2, last_error = $3, locked_until = NULL, dedup_key = NULL WHERE id = $1 AND locked_by = $4`, j.ID, db.Now(), err.Error(), r.cfg.Node); derr != nil {
			r.logger.Error("job: record failure", "job", j.ID, "err", derr)
		}
		return
	}
	next := db.Now().Add(Backoff(j.Attempt, r.cfg.BaseBackoff, r.cfg.MaxBackoff))
	var ra *retryAt
	if errors.As(err, &ra) && ra.at.After(next) {
		next = db.Time(ra.at)
	}
	r.logger.Info("job: retry", "job", j.ID, "kind", j.Kind, "attempt", j.Attempt, "next", next, "err", err)
	if _, derr := r.db.Exec(ctx, `UPDATE jobs SET run_at = $2, last_error = $3, locked_until = NULL, locked_by = NULL WHERE id = $1 AND locked_by = $4`, j.ID, next, err.Error(), r.cfg.Node); derr != nil {
		r.logger.Error("job: schedule retry", "job", j.ID, "err", derr)
	}
}

// errLeaseLost ends a handler whose job another runner has claimed.
var errLeaseLost = errors.New("job: lease lost")

// keepLease extends j's lease while its handler runs (until ctx ends),
// every third of the lease, so that a job that runs longer than its lease
// is not claimed again meanwhile. A renewal that fails is tried again at
// the next one, two more before the lease runs out. When the job is no
// longer this runner's (its lease ran out and another runner took it),
// keepLease cancels the handler with errLeaseLost.
func (r *Runner) keepLease(ctx context.Context, j *Job, cancel context.CancelCauseFunc) {
	t := time.NewTicker(r.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := r.db.Exec(context.WithoutCancel(ctx), `UPDATE jobs SET locked_until = $3 WHERE id = $1 AND locked_by = $2`,
			j.ID, r.cfg.Node, db.Now().Add(r.cfg.Lease))
		if err != nil {
			r.logger.Warn("job: renew lease", "job", j.ID, "kind", j.Kind, "err", err)
			continue
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			cancel(errLeaseLost)
			return
		}
	}
}

func safeHandle(ctx context.Context, h Handler, j *Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job: handler panicked: %v", p)
		}
	}()
	return h.Handle(ctx, j)
}

// Backoff is the delay before attempt+1: exponential from base, capped at
// max, with up to 20% jitter so retries of a burst spread out.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// Depth counts jobs waiting (due or not) and failed, for /metrics.
func Depth(ctx context.Context, q db.Querier) (waiting, failed int64, err error) {
	err = q.QueryRow(ctx, `SELECT COUNT(*) FILTER (WHERE failed_at IS NULL), COUNT(*) FILTER (WHERE failed_at IS NOT NULL) FROM jobs`).Scan(&waiting, &failed)
	return waiting, failed, err
}

// IsLater reports whether err is a timer's Later, and until when.
func IsLater(err error) (time.Time, bool) {
	var l *later
	if errors.As(err, &l) {
		return l.at, true
	}
	return time.Time{}, false
}
