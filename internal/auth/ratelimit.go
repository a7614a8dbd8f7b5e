package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
)

// limit allows at most max hits of a key per window (a fixed window that
// starts at its first hit), and at least gap between two hits. Counters
// are rows in rate_counters, so limits hold across nodes.
type limit struct {
	window time.Duration
	max    int
	gap    time.Duration
}

// counter is a key and its limit.
type counter struct {
	key string
	limit
}

// wait is how long the counter's limit refuses a hit at now, given its
// state.
func (l limit) wait(now, start time.Time, hits int, last time.Time) time.Duration {
	if now.Sub(start) >= l.window {
		hits = 0 // a new window
	}
	var w time.Duration
	if hits >= l.max {
		w = start.Add(l.window).Sub(now)
	}
	if l.gap > 0 {
		if g := last.Add(l.gap).Sub(now); g > w {
			w = g
		}
	}
	return max(w, 0)
}

type counterState struct {
	start time.Time
	hits  int
	last  time.Time
}

// lockCounter reads a counter in tx, creating it, and holds its row until
// tx ends (on PostgreSQL the upsert locks the row; SQLite has one writer).
func lockCounter(ctx context.Context, tx *db.Tx, key string, now time.Time) (counterState, error) {
	var st counterState
	epoch := time.Unix(0, 0).UTC()
	err := tx.QueryRow(ctx, `INSERT INTO rate_counters (key, window_start, hits, last_at) VALUES ($1, $2, 0, $3)
		ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING window_start, hits, last_at`, key, now, epoch).
		Scan(&st.start, &st.hits, &st.last)
	if err != nil {
		return st, fmt.Errorf("auth: rate counter %s: %w", key, err)
	}
	return st, nil
}

// peek reports how long the counter refuses a hit, without one.
func peek(ctx context.Context, tx *db.Tx, now time.Time, key string, l limit) (time.Duration, error) {
	st, err := lockCounter(ctx, tx, key, now)
	if err != nil {
		return 0, err
	}
	return l.wait(now, st.start, st.hits, st.last), nil
}

// hit records one hit on every counter, unless one of them refuses it:
// then it records nothing and returns the longest wait.
func hit(ctx context.Context, tx *db.Tx, now time.Time, cs []counter) (time.Duration, error) {
	states := make([]counterState, len(cs))
	var wait time.Duration
	for i, c := range cs {
		st, err := lockCounter(ctx, tx, c.key, now)
		if err != nil {
			return 0, err
		}
		states[i] = st
		wait = max(wait, c.wait(now, st.start, st.hits, st.last))
	}
	if wait > 0 {
		return wait, nil
	}
	for i, c := range cs {
		st := states[i]
		if now.Sub(st.start) >= c.window {
			st.start, st.hits = now, 0
		}
		if _, err := tx.Exec(ctx, `UPDATE rate_counters SET window_start = $2, hits = $3, last_at = $4 WHERE key = $1`,
			c.key, st.start, st.hits+1, now); err != nil {
			return 0, err
		}
	}
	return 0, nil
}
