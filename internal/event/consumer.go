package event

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Consumers are the reactions to events that need not run inside the
// transaction that wrote them (cache invalidation, queue drains,
// automation, outbound integrations): each follows the log from a cursor
// of its own and hands what it reads to its handler, at least once.
//
// A Shared consumer is one for the installation: its cursor is a row of
// event_consumers, resumed after a restart, and one node at a time
// advances it. That node holds the row's lease (holder, lease_until),
// taken when it is free or has run out and renewed while the node works;
// a cursor only moves with a compare-and-set on its holder and its
// previous position, so a node that lost its lease (paused past it, cut
// off) cannot move it, and the next holder handles again what that node
// may have handled. A lease row is used rather than SELECT … FOR UPDATE on
// PostgreSQL: handlers run outside any transaction (they write through
// the group-committed db.Write, and may call the network), so a row lock
// would pin a connection and an open transaction for as long as a handler
// runs, and SQLite has no such lock; leases work the same on both engines.
//
// A PerNode consumer runs on every node with its cursor in memory, from
// the log's end when the node starts: what one node keeps (its caches).
// It is handed each delivery of the broker as it arrives, in whatever
// order deliveries come, so that with the in-process broker the node that
// made a change has handled it before its write returns; it reads from
// the log whatever the broker did not deliver (NATS may drop messages),
// after a short wait for a gap to fill and by polling.
//
// Both are woken by the broker and poll the log as a fallback.
type Consumers struct {
	log    *Log
	cfg    ConsumerConfig
	logger *slog.Logger

	mu      sync.Mutex // guards list and running
	list    []*consumer
	running bool
}

// Scope says where a consumer runs.
type Scope int

// The scopes.
const (
	// Shared consumers handle each event once for the installation (at
	// least once), on one node at a time, in sequence order.
	Shared Scope = iota
	// PerNode consumers handle each event on every node, as it arrives.
	PerNode
)

// Handler handles events (in sequence order for a shared consumer). It
// must be idempotent: after a restart, a lost lease or an error, events
// are handled again. An error makes the consumer try the same events
// again later. A per-node handler runs as the broker delivers (inside the
// writer's call, with the in-process broker): it must be quick and must
// not write events itself.
type Handler func(ctx context.Context, events []Event) error

// Consumer is one reaction to events.
type Consumer struct {
	// Name identifies the consumer (its cursor, for a shared one): keep
	// it when the code changes.
	Name  string
	Scope Scope
	// Types are the event types handled; none means all. The cursor
	// moves past the others.
	Types  []string
	Handle Handler
}

// ConsumerConfig tunes the consumers of a node.
type ConsumerConfig struct {
	// Node names this node in leases; made up when empty.
	Node string
	// Poll is how often the log is read without a wake-up (default 1 s).
	Poll time.Duration
	// Lease is how long a node holds a shared consumer without renewing
	// it (default 30 s); a batch should take well under it.
	Lease time.Duration
	// Batch is how many events one handler call gets at most (default 500).
	Batch int
	// GapWait is how long a per-node consumer waits for a missing event
	// before reading it from the log (default 100 ms).
	GapWait time.Duration
	// BaseBackoff and MaxBackoff space the retries of a failing handler
	// (default 100 ms, doubling up to 10 s: the holder renews its lease
	// between retries).
	BaseBackoff, MaxBackoff time.Duration
}

// NewConsumers returns the consumers of this node, reading log. Add them,
// hand the broker Receive, then Run.
func NewConsumers(log *Log, cfg ConsumerConfig, logger *slog.Logger) *Consumers {
	if cfg.Node == "" {
		b := make([]byte, 6)
		rand.Read(b)
		cfg.Node = "node-" + hex.EncodeToString(b)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.GapWait <= 0 {
		cfg.GapWait = 100 * time.Millisecond
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	return &Consumers{log: log, cfg: cfg, logger: logger}
}

// Add registers a consumer. It panics on a name used twice or when the
// consumers already run: both are wiring mistakes.
func (c *Consumers) Add(k Consumer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		panic("event: consumer " + k.Name + " added after Run")
	}
	if k.Name == "" || k.Handle == nil {
		panic("event: a consumer needs a name and a handler")
	}
	for _, x := range c.list {
		if x.Name == k.Name {
			panic("event: two consumers named " + k.Name)
		}
	}
	c.list = append(c.list, &consumer{Consumer: k, c: c, wake: make(chan struct{}, 1), seen: map[int64]bool{}})
}

// Receive takes a delivery of the broker: per-node consumers handle it,
// shared ones are woken. It never blocks on the database.
func (c *Consumers) Receive(events []Event) {
	c.mu.Lock()
	list := c.list
	c.mu.Unlock()
	for _, k := range list {
		if k.Scope == PerNode {
			k.receive(events)
		} else if slices.ContainsFunc(events, k.wants) {
			k.poke()
		}
	}
}

// Start places the per-node consumers at the log's end, as Run does
// first; tests that write right away call it before.
func (c *Consumers) Start(ctx context.Context) error {
	last, err := c.log.Last(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	list := c.list
	c.mu.Unlock()
	for _, k := range list {
		if k.Scope == PerNode {
			k.place(last)
		}
	}
	return nil
}

// Run follows the log for every consumer until ctx ends. Errors of the
// database or of handlers are logged and retried; Run returns nil when
// ctx ends.
func (c *Consumers) Run(ctx context.Context) error {
	c.mu.Lock()
	c.running = true
	list := c.list
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, k := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if k.Scope == PerNode {
				k.runPerNode(ctx)
			} else {
				k.runShared(ctx)
			}
		}()
	}
	wg.Wait()
	return nil
}

// consumer is a Consumer as it runs.
type consumer struct {
	Consumer
	c    *Consumers
	wake chan struct{} // a delivery came (capacity 1)

	// Per node: the cursor and what arrived past it.
	mu         sync.Mutex // guards cursor, positioned and seen; held while the handler runs
	cursor     int64      // every event up to it is handled
	positioned bool       // the cursor was placed at the log's end
	seen       map[int64]bool
}

func (k *consumer) wants(e Event) bool {
	return len(k.Types) == 0 || slices.Contains(k.Types, e.Type)
}

func (k *consumer) poke() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// handle hands the events the consumer wants to its handler.
func (k *consumer) handle(ctx context.Context, events []Event) (err error) {
	var want []Event
	for _, e := range events {
		if k.wants(e) {
			want = append(want, e)
		}
	}
	if len(want) == 0 {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("event: consumer %s panicked: %v", k.Name, p)
		}
	}()
	return k.Handle(ctx, want)
}

func (k *consumer) backoff(failures int) time.Duration {
	d := float64(k.c.cfg.BaseBackoff) * math.Pow(2, float64(min(failures-1, 30)))
	return min(time.Duration(d), k.c.cfg.MaxBackoff)
}

// sleep waits d or until ctx ends; false when it ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ---- Per node ----

// receive handles a delivery of the broker. Before Run has positioned the
// consumer everything delivered is handled (a cache is invalidated from
// the start); after, what the cursor passed or was seen already is left
// out, and a gap makes the loop read the log.
func (k *consumer) receive(events []Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var todo []Event
	for _, e := range events {
		if k.positioned && (e.Seq <= k.cursor || k.seen[e.Seq]) {
			continue
		}
		todo = append(todo, e)
	}
	if len(todo) == 0 {
		return
	}
	if err := k.handle(context.Background(), todo); err != nil {
		k.c.logger.Warn("event: consumer failed; reading the events again from the log", "consumer", k.Name, "err", err)
		k.poke()
		return
	}
	if !k.positioned {
		return
	}
	for _, e := range todo {
		k.seen[e.Seq] = true
	}
	k.advanceLocked()
	if len(k.seen) > 0 {
		k.poke() // something before them has not come
	}
}

// advanceLocked moves the cursor over what was seen right after it.
func (k *consumer) advanceLocked() {
	for k.seen[k.cursor+1] {
		delete(k.seen, k.cursor+1)
		k.cursor++
	}
	for s := range k.seen {
		if s <= k.cursor {
			delete(k.seen, s)
		}
	}
}

// place sets the cursor at last, the log's end, the first time.
func (k *consumer) place(last int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.positioned {
		k.cursor, k.positioned = last, true
	}
}

// runPerNode places the consumer at the log's end (unless Start did),
// then reads from the log what the broker does not deliver: after GapWait
// when a delivery showed a gap, and every Poll.
func (k *consumer) runPerNode(ctx context.Context) {
	for failures := 1; ; failures++ {
		k.mu.Lock()
		placed := k.positioned
		k.mu.Unlock()
		if placed {
			break
		}
		last, err := k.c.log.Last(ctx)
		if err == nil {
			k.place(last)
			break
		}
		k.c.logger.Warn("event: consumer: read the log's end", "consumer", k.Name, "err", err)
		if !sleep(ctx, k.backoff(failures)) {
			return
		}
	}
	poll := time.NewTicker(k.c.cfg.Poll)
	defer poll.Stop()
	var gap <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.wake:
			if gap == nil {
				gap = time.After(k.c.cfg.GapWait)
			}
			continue
		case <-gap:
			gap = nil
		case <-poll.C:
		}
		if err := k.catchUp(ctx); err != nil && ctx.Err() == nil {
			k.c.logger.Warn("event: consumer: catch up", "consumer", k.Name, "err", err)
		}
	}
}

// catchUp reads from the log what came after the cursor: up to the newest
// event seen, or to the log's end.
func (k *consumer) catchUp(ctx context.Context) error {
	k.mu.Lock()
	from, upto := k.cursor, int64(0)
	for s := range k.seen {
		upto = max(upto, s)
	}
	k.mu.Unlock()
	if upto == 0 {
		last, err := k.c.log.Last(ctx)
		if err != nil {
			return err
		}
		upto = last
	}
	for from < upto {
		events, err := k.c.log.Range(ctx, from, upto, k.c.cfg.Batch)
		if err != nil {
			return err
		}
		k.mu.Lock()
		if len(events) == 0 || events[0].Seq > from+1 {
			// Pruned before this node read them: nothing to do but go on.
			to := upto
			if len(events) > 0 {
				to = events[0].Seq - 1
			}
			k.c.logger.Warn("event: consumer: events no longer in the log; skipped", "consumer", k.Name, "from", from+1, "to", to)
			k.cursor = max(k.cursor, to)
		}
		var todo []Event
		for _, e := range events {
			if e.Seq > k.cursor && !k.seen[e.Seq] {
				todo = append(todo, e)
			}
		}
		err = k.handle(ctx, todo)
		if err == nil {
			for _, e := range todo {
				k.seen[e.Seq] = true
			}
		}
		k.advanceLocked()
		from = k.cursor
		k.mu.Unlock()
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		from = max(from, events[len(events)-1].Seq)
	}
	return nil
}

// ---- Shared ----

// errLostLease is a cursor another node holds now.
var errLostLease = errors.New("event: consumer lease lost")

// runShared follows the log while this node holds the consumer's lease,
// and tries to take it every Poll while another node does.
func (k *consumer) runShared(ctx context.Context) {
	for failures := 1; ; failures++ {
		err := k.register(ctx)
		if err == nil {
			break
		}
		k.c.logger.Warn("event: consumer: register", "consumer", k.Name, "err", err)
		if !sleep(ctx, k.backoff(failures)) {
			return
		}
	}
	held := false
	defer func() {
		if held {
			// Let another node go on at once rather than after the lease.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := k.release(rctx); err != nil {
				k.c.logger.Warn("event: consumer: release", "consumer", k.Name, "err", err)
			}
		}
	}()
	poll := time.NewTicker(k.c.cfg.Poll)
	defer poll.Stop()
	var cursor int64
	var renewed time.Time
	failures := 0
	for {
		var err error
		more := false
		if !held {
			held, cursor, err = k.acquire(ctx, time.Now())
			renewed = time.Now()
		}
		if held && err == nil {
			more, err = k.step(ctx, &cursor, &renewed)
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errLostLease):
			k.c.logger.Info("event: consumer held by another node now", "consumer", k.Name)
			held, err = false, nil
		case err != nil:
			failures++
			k.c.logger.Warn("event: consumer failed; trying again", "consumer", k.Name, "attempt", failures, "err", err)
			if !sleep(ctx, k.backoff(failures)) {
				return
			}
			continue
		}
		failures = 0
		if more {
			continue
		}
		if held && time.Since(renewed) > k.c.cfg.Lease/3 {
			if err := k.renew(ctx, time.Now()); errors.Is(err, errLostLease) {
				held = false
			} else if err != nil && ctx.Err() == nil {
				k.c.logger.Warn("event: consumer: renew", "consumer", k.Name, "err", err)
			} else {
				renewed = time.Now()
			}
		}
		// Deliveries wake the holder; another node only looks at the
		// lease every Poll.
		var wake <-chan struct{}
		if held {
			wake = k.wake
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
	}
}

// step handles the next batch after cursor and moves the stored cursor
// past it; more says a whole batch was read (there may be more).
//
// A consumer of some types reads only those: the log up to its newest
// event (events are committed in sequence order), and the cursor moves
// to that event when fewer than a batch are of those types. When none is,
// the cursor is stored only once it is skipAdvance behind, so that a busy
// log of other events costs a read per wake-up and not a write.
func (k *consumer) step(ctx context.Context, cursor *int64, renewed *time.Time) (more bool, err error) {
	upto := int64(math.MaxInt64)
	if len(k.Types) > 0 {
		if upto, err = k.c.log.Last(ctx); err != nil || upto <= *cursor {
			return false, err
		}
	}
	events, err := k.c.log.rangeOf(ctx, *cursor, upto, k.c.cfg.Batch, k.Types)
	if err != nil {
		return false, err
	}
	full := len(events) == k.c.cfg.Batch
	next := upto
	switch {
	case full || len(k.Types) == 0:
		if len(events) == 0 {
			return false, nil
		}
		next = events[len(events)-1].Seq
	case len(events) == 0 && next-*cursor < skipAdvance:
		return false, nil
	}
	if len(k.Types) == 0 {
		if first := events[0].Seq; first > *cursor+1 {
			k.c.logger.Warn("event: consumer: events no longer in the log; skipped", "consumer", k.Name, "from", *cursor+1, "to", first-1)
		}
	}
	// The lease is renewed while the handler runs, so that a slow batch
	// does not let another node take over.
	hctx, stop := context.WithCancel(ctx)
	kept := make(chan error, 1)
	go func() { kept <- k.keep(hctx) }()
	err = k.handle(ctx, events)
	stop()
	if kerr := <-kept; errors.Is(kerr, errLostLease) {
		return false, kerr
	}
	if err != nil {
		return false, err
	}
	if err := k.advance(ctx, *cursor, next, time.Now()); err != nil {
		return false, err
	}
	*cursor, *renewed = next, time.Now()
	return full, nil
}

// skipAdvance is how far behind the log a consumer's stored cursor may
// stay while none of the events is of its types.
const skipAdvance = 1000

// keep renews the lease every third of it until ctx ends.
func (k *consumer) keep(ctx context.Context) error {
	t := time.NewTicker(k.c.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := k.renew(ctx, time.Now()); errors.Is(err, errLostLease) {
			return err
		} else if err != nil && ctx.Err() == nil {
			k.c.logger.Warn("event: consumer: renew", "consumer", k.Name, "err", err)
		}
	}
}

// register makes the consumer's row the first time it runs anywhere: a new
// consumer starts at the log's end (it reacts to what happens from now
// on, not to the log's history).
func (k *consumer) register(ctx context.Context) error {
	last, err := k.c.log.Last(ctx)
	if err != nil {
		return err
	}
	return k.c.log.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO event_consumers (name, seq, holder, lease_until, updated_at) VALUES ($1, $2, '', NULL, $3)
			ON CONFLICT (name) DO NOTHING`, k.Name, last, db.Now())
		return err
	})
}

// acquire takes the consumer's lease if it is free, this node's, or run
// out at now, and returns the stored cursor. Looking first costs a read,
// not a write, while another node holds it.
func (k *consumer) acquire(ctx context.Context, now time.Time) (held bool, cursor int64, err error) {
	var holder string
	var until *time.Time
	err = k.c.log.db.QueryRow(ctx, `SELECT seq, holder, lease_until FROM event_consumers WHERE name = $1`, k.Name).Scan(&cursor, &holder, &until)
	if err != nil {
		return false, 0, fmt.Errorf("event: consumer %s: %w", k.Name, db.MapErr(err))
	}
	if holder != "" && holder != k.c.cfg.Node && until != nil && until.After(now) {
		return false, 0, nil
	}
	now = db.Time(now)
	err = k.c.log.db.Write(ctx, func(tx *db.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE event_consumers SET holder = $2, lease_until = $3, updated_at = $4
			WHERE name = $1 AND (holder = $2 OR holder = '' OR lease_until IS NULL OR lease_until < $4) RETURNING seq`,
			k.Name, k.c.cfg.Node, now.Add(k.c.cfg.Lease), now).Scan(&cursor)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return nil // taken meanwhile
		}
		held = err == nil
		return err
	})
	return held, cursor, err
}

// advance moves the cursor from from to to, if this node still holds the
// lease and nobody moved the cursor meanwhile; errLostLease otherwise.
func (k *consumer) advance(ctx context.Context, from, to int64, now time.Time) error {
	now = db.Time(now)
	return k.c.log.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE event_consumers SET seq = $4, lease_until = $5, updated_at = $6
			WHERE name = $1 AND holder = $2 AND seq = $3`, k.Name, k.c.cfg.Node, from, to, now.Add(k.c.cfg.Lease), now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errLostLease
		}
		return nil
	})
}

// renew extends this node's lease from now; errLostLease when another
// node holds it.
func (k *consumer) renew(ctx context.Context, now time.Time) error {
	now = db.Time(now)
	return k.c.log.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE event_consumers SET lease_until = $3, updated_at = $4 WHERE name = $1 AND holder = $2`,
			k.Name, k.c.cfg.Node, now.Add(k.c.cfg.Lease), now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errLostLease
		}
		return nil
	})
}

// release gives the lease up.
func (k *consumer) release(ctx context.Context) error {
	return k.c.log.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE event_consumers SET holder = '', lease_until = NULL, updated_at = $3 WHERE name = $1 AND holder = $2`,
			k.Name, k.c.cfg.Node, db.Now())
		return err
	})
}
