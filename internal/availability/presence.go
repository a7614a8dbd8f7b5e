package availability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Presence: each node counts its agents' WebSocket connections in memory
// and writes a row per user and node when a count goes from 0 to 1 or
// back; while it has connections it refreshes their rows every heartbeat.
// A row whose heartbeat is older than staleAfter belongs to a node that
// died: its connections count as gone since the last heartbeat.
//
// When a user's last connection on a node closes, a durable job is
// scheduled for AwayAfter later; it makes the user Away if by then no
// node has a connection of theirs. Jobs are enqueued per disconnection
// and are idempotent (a job finding the user back, or gone for less than
// AwayAfter, does nothing: a later job decides). A periodic sweep heals
// what a dead node could not schedule.
const (
	heartbeat  = 20 * time.Second
	staleAfter = 3 * heartbeat
)

// AwayJob is the kind of the jobs that make a gone agent Away.
const AwayJob = "presence.away"

type awayPayload struct {
	UserID int64 `json:"user_id"`
}

// Presence tracks this node's agent connections.
type Presence struct {
	db        *db.DB
	log       *event.Log
	queue     *job.Queue
	listener  Listener // hears the status changes Presence makes
	node      string
	awayAfter time.Duration
	logger    *slog.Logger
	now       func() time.Time // db.Now; tests set their own clock

	mu    sync.Mutex          // guards conns and dirty
	conns map[int64]int       // open connections per user on this node
	dirty map[int64]time.Time // users whose row must be written, and when their count last changed
	wake  chan struct{}
}

// NewPresence returns the tracker of a node (node names the node in the
// presence table; it must differ between nodes and between runs); l (may
// be nil) hears the status changes it makes.
func NewPresence(d *db.DB, log *event.Log, queue *job.Queue, l Listener, node string, awayAfter time.Duration, logger *slog.Logger) *Presence {
	return &Presence{db: d, log: log, queue: queue, listener: l, node: node, awayAfter: awayAfter, logger: logger, now: db.Now,
		conns: map[int64]int{}, dirty: map[int64]time.Time{}, wake: make(chan struct{}, 1)}
}

// Connect records a new connection of userID on this node.
func (p *Presence) Connect(userID int64) { p.change(userID, 1) }

// Disconnect records that a connection of userID on this node closed.
func (p *Presence) Disconnect(userID int64) { p.change(userID, -1) }

func (p *Presence) change(userID int64, d int) {
	p.mu.Lock()
	n := max(p.conns[userID]+d, 0)
	before := p.conns[userID]
	if n == 0 {
		delete(p.conns, userID)
	} else {
		p.conns[userID] = n
	}
	if (before == 0) != (n == 0) {
		p.dirty[userID] = p.now()
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Connections returns how many connections userID has on this node.
func (p *Presence) Connections(userID int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[userID]
}

// settle is how long changes gather before they are written: moving
// from page to page closes a connection and opens another, which then
// cancel out instead of costing two writes and a job.
func (p *Presence) settle() time.Duration { return min(time.Second, p.awayAfter/4) }

// Run writes connection changes shortly after they happen, refreshes the
// node's rows every heartbeat and sweeps for agents whose node died,
// until ctx ends; then it records this node's connections as gone.
func (p *Presence) Run(ctx context.Context) error {
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	var settled <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			p.stop()
			return nil
		case <-p.wake:
			if settled == nil {
				settled = time.After(p.settle())
			}
		case <-settled:
			settled = nil
			p.flush(ctx)
		case <-t.C:
			p.flush(ctx)
			if err := p.beat(ctx); err != nil && ctx.Err() == nil {
				p.logger.Warn("presence: heartbeat", "err", err)
			}
			if err := p.Sweep(ctx); err != nil && ctx.Err() == nil {
				p.logger.Warn("presence: sweep", "err", err)
			}
		}
	}
}

// flush writes the rows of users whose count went from or to zero.
func (p *Presence) flush(ctx context.Context) {
	p.mu.Lock()
	if len(p.dirty) == 0 {
		p.mu.Unlock()
		return
	}
	dirty := p.dirty
	p.dirty = map[int64]time.Time{}
	counts := make(map[int64]int, len(dirty))
	for id := range dirty {
		counts[id] = p.conns[id]
	}
	p.mu.Unlock()
	err := p.db.Write(ctx, func(tx *db.Tx) error {
		now := p.now()
		for id, at := range dirty {
			var gone any
			if counts[id] == 0 {
				gone = at
			}
			_, err := tx.Exec(ctx, `INSERT INTO presence (user_id, node, connections, seen_at, gone_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (user_id, node) DO UPDATE SET connections = excluded.connections, seen_at = excluded.seen_at, gone_at = excluded.gone_at`,
				id, p.node, counts[id], now, gone)
			if err != nil {
				return err
			}
			if counts[id] == 0 {
				if _, err := p.queue.Enqueue(ctx, tx, AwayJob, awayPayload{UserID: id}, job.Options{RunAt: at.Add(p.awayAfter), MaxAttempts: 5}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			p.logger.Warn("presence: write", "err", err)
		}
		// Try again at the next wake-up or heartbeat, keeping the earliest
		// change time of each user.
		p.mu.Lock()
		for id, at := range dirty {
			if cur, ok := p.dirty[id]; !ok || at.Before(cur) {
				p.dirty[id] = at
			}
		}
		p.mu.Unlock()
	}
}

func (p *Presence) beat(ctx context.Context) error {
	_, err := p.db.Exec(ctx, `UPDATE presence SET seen_at = $2 WHERE node = $1 AND connections > 0`, p.node, p.now())
	return err
}

// stop records this node's connections as gone (a graceful stop: the
// WebSockets have been closed; their agents reconnect to another node or
// after the restart).
func (p *Presence) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.mu.Lock()
	for id := range p.conns {
		p.dirty[id] = p.now()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.flush(ctx)
}

// Handle is the handler of AwayJob.
func (p *Presence) Handle(ctx context.Context, j *job.Job) error {
	var pl awayPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return job.Permanent(fmt.Errorf("presence: payload: %w", err))
	}
	_, err := p.AwayIfGone(ctx, pl.UserID)
	return err
}

// AwayIfGone makes userID Away when none of their connections is open on
// any node and the last one closed at least AwayAfter ago. Statuses that
// already stop assignments and mean "not here" (Away, Unavailable) stay.
// It reports whether the status changed.
func (p *Presence) AwayIfGone(ctx context.Context, userID int64) (bool, error) {
	changed := false
	err := p.log.Write(ctx, func(tx *event.Tx) error {
		changed = false
		now := p.now()
		var st user.Status
		err := tx.QueryRow(ctx, `SELECT status FROM users WHERE id = $1`, userID).Scan(&st)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return nil // deleted since
		} else if err != nil {
			return err
		}
		if st == user.Away || st == user.Unavailable {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT connections, seen_at, gone_at FROM presence WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		var last time.Time
		seen := false
		for rows.Next() {
			var n int
			var seenAt time.Time
			var goneAt *time.Time
			if err := rows.Scan(&n, &seenAt, &goneAt); err != nil {
				rows.Close()
				return err
			}
			seen = true
			switch {
			case n > 0 && now.Sub(seenAt) < staleAfter:
				rows.Close()
				return nil // connected
			case n > 0:
				last = later(last, seenAt) // its node died
			case goneAt != nil:
				last = later(last, *goneAt)
			default:
				last = later(last, seenAt)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if !seen || now.Sub(last) < p.awayAfter {
			return nil // never connected, or not gone long enough yet
		}
		_, changed, err = setStatus(ctx, tx, p.listener, userID, user.Away, true)
		return err
	})
	return changed, err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Sweep makes Away the agents whose connections are gone but who were
// left out (their node died before it could schedule the job), and
// forgets old rows. Every node runs it; it is idempotent.
func (p *Presence) Sweep(ctx context.Context) error {
	now := p.now()
	ids, err := db.IDs(ctx, p.db, `SELECT DISTINCT p.user_id FROM presence p JOIN users u ON u.id = p.user_id
		WHERE u.status NOT IN ('away', 'unavailable')
		AND NOT EXISTS (SELECT 1 FROM presence q WHERE q.user_id = p.user_id AND q.connections > 0 AND q.seen_at > $1)`, now.Add(-staleAfter))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := p.AwayIfGone(ctx, id); err != nil {
			return err
		}
	}
	// Rows untouched for two days (longer than AwayAfter may be) have done
	// their work.
	_, err = p.db.Exec(ctx, `DELETE FROM presence WHERE seen_at < $1`, now.Add(-48*time.Hour))
	return err
}
