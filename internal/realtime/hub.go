// Package realtime is each node's hub: it receives events from the broker,
// puts them in sequence order (filling gaps from the event log) and hands
// each one to the subscribers allowed to see it. A subscriber that falls
// too far behind is dropped; its client reconnects and resumes from the log.
// Signals (event.Log.Signal: typing indicators) are events without a
// sequence: the hub hands them on as they come, to whoever is subscribed
// then, and never replays them; Throttle keeps them few.
package realtime

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/event"
)

// Log is what the hub reads from the event log.
type Log interface {
	Last(ctx context.Context) (int64, error)
	First(ctx context.Context) (int64, error)
	Range(ctx context.Context, after, upto int64, limit int) ([]event.Event, error)
}

// Config tunes the hub.
type Config struct {
	// GapWait is how long an out-of-order event waits for the ones before
	// it before the hub reads them from the log.
	GapWait time.Duration
	// Poll is how often the hub checks the log for events the broker lost.
	Poll time.Duration
	// Buffer is how many events a subscriber may have waiting (memory is
	// only taken while they wait).
	Buffer int
	// MaxReplay is how many events a resuming subscriber may replay before
	// it is told to resync instead.
	MaxReplay int
}

// Hub delivers events to this node's subscribers.
type Hub struct {
	log    Log
	cfg    Config
	logger *slog.Logger
	in     chan []event.Event

	mu        sync.Mutex // guards delivered, started, subs and closed
	delivered int64      // the last sequence handed to subscribers
	started   bool       // delivered has been positioned by Start
	subs      map[*Subscription]struct{}
	closed    bool

	// pending holds events that arrived ahead of a gap; only Run touches it.
	pending map[int64]event.Event
}

// Subscription receives the events its filter accepts, in order. Its
// queue grows only while events wait, so an idle subscription costs a few
// hundred bytes whatever Config.Buffer allows. A consumer either waits on
// C, or (without a goroutine of its own) registers a wake-up with OnReady
// and drains the queue with Take.
type Subscription struct {
	hub    *Hub
	filter func(*event.Event) bool
	// done is closed when the hub drops the subscription (too slow, or
	// shutting down).
	done    chan struct{}
	dropErr error // guarded by hub.mu

	mu      sync.Mutex // guards queue, onReady and c
	queue   []*event.Event
	onReady func()
	c       chan *event.Event // made by C
}

// push queues e and reports false if the queue is full. The caller holds
// hub.mu. Events are shared with other subscribers: nobody changes them.
func (s *Subscription) push(e *event.Event, limit int) bool {
	s.mu.Lock()
	if len(s.queue) >= limit {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, e)
	wake := len(s.queue) == 1
	f := s.onReady
	s.mu.Unlock()
	if wake && f != nil {
		f()
	}
	return true
}

// Take moves the waiting events into buf (which may be nil) and returns it.
func (s *Subscription) Take(buf []*event.Event) []*event.Event {
	s.mu.Lock()
	buf = append(buf, s.queue...)
	clear(s.queue)
	if cap(s.queue) > 64 {
		s.queue = nil // a burst is over: give its memory back
	} else {
		s.queue = s.queue[:0]
	}
	s.mu.Unlock()
	return buf
}

// Waiting reports whether events wait to be taken.
func (s *Subscription) Waiting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) > 0
}

// OnReady registers f, called when events are waiting after the queue
// was empty (and when the subscription is dropped); right away if events
// already wait. f runs on the hub's goroutine: it must not block.
func (s *Subscription) OnReady(f func()) {
	s.mu.Lock()
	s.onReady = f
	waiting := len(s.queue) > 0
	s.mu.Unlock()
	select {
	case <-s.done:
		waiting = true
	default:
	}
	if waiting {
		f()
	}
}

// ErrSlow is why a subscription that fell behind was dropped.
var ErrSlow = errors.New("realtime: subscriber too slow")

// ErrClosed is why subscriptions end when the hub stops.
var ErrClosed = errors.New("realtime: hub stopped")

// ErrResync means the client's position is too old to replay.
var ErrResync = errors.New("realtime: position too old, resync")

// NewHub returns a hub reading gaps from log. Call Run, and hand the broker
// the hub's Receive function.
func NewHub(log Log, cfg Config, logger *slog.Logger) *Hub {
	if cfg.GapWait == 0 {
		cfg.GapWait = 100 * time.Millisecond
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = 4096
	}
	if cfg.MaxReplay == 0 {
		cfg.MaxReplay = 5000
	}
	return &Hub{
		log: log, cfg: cfg, logger: logger,
		in:      make(chan []event.Event, 4096),
		subs:    map[*Subscription]struct{}{},
		pending: map[int64]event.Event{},
	}
}

// Receive takes events from the broker. It never blocks: if the hub is
// swamped the events are dropped and read back from the log.
func (h *Hub) Receive(events []event.Event) {
	select {
	case h.in <- events:
	default:
	}
}

// Start positions the hub at the end of the log. Run calls it; tests that
// subscribe before Run is scheduled call it first.
func (h *Hub) Start(ctx context.Context) error {
	last, err := h.log.Last(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	// Only the first call positions the hub: a second one (Run after a
	// caller's Start) must not skip events that arrived in between, even
	// when the log was empty at first (delivered 0).
	if !h.started {
		h.delivered, h.started = last, true
	}
	h.mu.Unlock()
	return nil
}

// Run orders and delivers events until ctx ends, then ends every
// subscription.
func (h *Hub) Run(ctx context.Context) error {
	if err := h.Start(ctx); err != nil {
		return err
	}
	defer h.shutdown()
	poll := time.NewTicker(h.cfg.Poll)
	defer poll.Stop()
	var gap *time.Timer
	var gapC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case events := <-h.in:
			for _, e := range events {
				h.accept(e)
			}
		case <-gapC:
			gapC = nil
			h.catchUp(ctx)
		case <-poll.C:
			h.catchUp(ctx)
		}
		h.mu.Lock()
		waiting := len(h.pending) > 0
		h.mu.Unlock()
		switch {
		case waiting && gapC == nil:
			gap = time.NewTimer(h.cfg.GapWait)
			gapC = gap.C
		case !waiting && gapC != nil:
			gap.Stop()
			gapC = nil
		}
	}
}

// accept delivers e if it is next, keeps it if it is early, ignores it if
// it was already delivered. A signal (an event without a sequence) is
// delivered at once and changes no position.
func (h *Hub) accept(e event.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case e.Ephemeral():
		h.fanOutLocked(&e)
		return
	case e.Seq <= h.delivered:
		return
	case e.Seq > h.delivered+1:
		h.pending[e.Seq] = e
		return
	}
	h.deliverLocked(e)
	for {
		next, ok := h.pending[h.delivered+1]
		if !ok {
			break
		}
		delete(h.pending, next.Seq)
		h.deliverLocked(next)
	}
}

// catchUp reads from the log whatever was missed: up to the newest pending
// event, or up to the log's end when nothing is pending.
func (h *Hub) catchUp(ctx context.Context) {
	h.mu.Lock()
	from := h.delivered
	upto := int64(0)
	for s := range h.pending {
		upto = max(upto, s)
	}
	h.mu.Unlock()
	if upto == 0 {
		last, err := h.log.Last(ctx)
		if err != nil {
			h.logger.Warn("realtime: poll event log", "err", err)
			return
		}
		if last <= from {
			return
		}
		upto = last
	}
	for from < upto {
		events, err := h.log.Range(ctx, from, upto, 1000)
		if err != nil {
			h.logger.Warn("realtime: read event log", "err", err)
			return
		}
		if len(events) == 0 {
			// Pruned away: skip ahead rather than wait forever.
			h.mu.Lock()
			if h.delivered < upto {
				h.logger.Warn("realtime: events missing from the log; skipping", "from", h.delivered+1, "to", upto)
				h.delivered = upto
			}
			h.mu.Unlock()
			return
		}
		for _, e := range events {
			h.accept(e)
		}
		from = events[len(events)-1].Seq
	}
}

// deliverLocked hands e, the next in sequence, to every subscriber that
// may see it.
func (h *Hub) deliverLocked(e event.Event) {
	h.delivered = e.Seq
	h.fanOutLocked(&e)
}

// fanOutLocked hands p to every subscriber whose filter takes it.
func (h *Hub) fanOutLocked(p *event.Event) {
	for s := range h.subs {
		if !s.filter(p) {
			continue
		}
		if !s.push(p, h.cfg.Buffer) {
			h.dropLocked(s, ErrSlow)
		}
	}
}

func (h *Hub) dropLocked(s *Subscription, err error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.dropErr = err
	close(s.done)
	s.mu.Lock()
	f := s.onReady
	s.mu.Unlock()
	if f != nil {
		f() // the consumer sees Done
	}
}

func (h *Hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.dropLocked(s, ErrClosed)
	}
}

// Position is the sequence of the last event the hub delivered.
func (h *Hub) Position() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.delivered
}

// Subscribers counts the live subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Subscribe starts a subscription. With since < 0 it begins with the next
// live event; otherwise it first replays every event after since that
// filter accepts, then continues live, without a gap or a duplicate. It
// returns ErrResync when since is older than the log keeps.
//
// The returned position is where the subscription starts: the client's
// "since" from now on.
func (h *Hub) Subscribe(ctx context.Context, since int64, filter func(*event.Event) bool) (*Subscription, []event.Event, int64, error) {
	s := &Subscription{hub: h, filter: filter, done: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, nil, 0, ErrClosed
	}
	h.subs[s] = struct{}{}
	at := h.delivered
	h.mu.Unlock()
	if since < 0 || since >= at {
		return s, nil, at, nil
	}
	first, err := h.log.First(ctx)
	if err != nil {
		s.Close()
		return nil, nil, 0, err
	}
	if since+1 < first || at-since > int64(h.cfg.MaxReplay) {
		s.Close()
		return nil, nil, at, ErrResync
	}
	var replay []event.Event
	for from := since; from < at; {
		events, err := h.log.Range(ctx, from, at, 1000)
		if err != nil {
			s.Close()
			return nil, nil, 0, err
		}
		if len(events) == 0 {
			break
		}
		for i := range events {
			if filter(&events[i]) {
				replay = append(replay, events[i])
			}
		}
		from = events[len(events)-1].Seq
	}
	return s, replay, at, nil
}

// C delivers the live events on a channel, fed by a goroutine started on
// the first call that ends with the subscription. They are shared with
// other subscribers: read them, never change them. Consumers that cannot
// spare a goroutine use OnReady and Take instead.
func (s *Subscription) C() <-chan *event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		return s.c
	}
	s.c = make(chan *event.Event)
	ready := make(chan struct{}, 1)
	s.onReady = func() {
		select {
		case ready <- struct{}{}:
		default:
		}
	}
	if len(s.queue) > 0 {
		ready <- struct{}{}
	}
	go func() {
		var buf []*event.Event
		for {
			select {
			case <-s.done:
				return
			case <-ready:
			}
			buf = s.Take(buf[:0])
			for _, e := range buf {
				select {
				case s.c <- e:
				case <-s.done:
					return
				}
			}
			clear(buf)
		}
	}()
	return s.c
}

// Done is closed when the hub drops the subscription; Err says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err says why the subscription was dropped.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.dropErr
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if _, ok := s.hub.subs[s]; ok {
		delete(s.hub.subs, s)
		close(s.done)
	}
	s.mu.Lock()
	s.queue = nil
	s.mu.Unlock()
}
