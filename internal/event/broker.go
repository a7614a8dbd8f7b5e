package event

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go"
)

// Local is the in-process broker of a single node.
type Local struct {
	mu   sync.RWMutex // guards subs and next
	subs map[int]func([]Event)
	next int
}

// NewLocal returns an in-process broker.
func NewLocal() *Local { return &Local{subs: map[int]func([]Event){}} }

// Publish hands events to every subscriber.
func (b *Local) Publish(_ context.Context, events []Event) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.subs {
		fn(events)
	}
	return nil
}

// Subscribe registers fn; fn must not block. It never fails.
func (b *Local) Subscribe(fn func([]Event)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}, nil
}

// natsSubject carries every event of the installation.
const natsSubject = "switchboard.events"

// NATS is the broker between nodes. Events travel with their audience so
// each node's hub can filter without a database round trip.
type NATS struct {
	conn   *nats.Conn
	logger *slog.Logger
}

// wireEvent is an Event with its audience, as it travels between nodes.
type wireEvent struct {
	Event
	UserID         int64 `json:"u,omitempty"`
	ConversationID int64 `json:"c,omitempty"`
	ContactID      int64 `json:"k,omitempty"`
	InboxID        int64 `json:"i,omitempty"`
	AssigneeID     int64 `json:"a,omitempty"`
	PrevAssigneeID int64 `json:"pa,omitempty"`
	OwnerID        int64 `json:"o,omitempty"`
	Public         bool  `json:"p,omitempty"`
}

// DialNATS connects to the NATS server at url.
func DialNATS(url string, logger *slog.Logger) (*NATS, error) {
	conn, err := nats.Connect(url,
		nats.Name("switchboard"),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats: disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { logger.Info("nats: reconnected", "url", c.ConnectedUrl()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("event: connect to NATS at %s: %w", url, err)
	}
	return &NATS{conn: conn, logger: logger}, nil
}

// Publish sends events to every node, in one message.
func (b *NATS) Publish(_ context.Context, events []Event) error {
	wire := make([]wireEvent, len(events))
	for i, e := range events {
		wire[i] = wireEvent{Event: e, UserID: e.UserID, ConversationID: e.ConversationID, ContactID: e.ContactID,
			InboxID: e.Ref.InboxID, AssigneeID: e.Ref.AssigneeID, PrevAssigneeID: e.PrevAssigneeID, OwnerID: e.Ref.OwnerID, Public: e.Public}
	}
	b2, err := json.Marshal(wire)
	if err != nil {
		return err
	}
	return b.conn.Publish(natsSubject, b2)
}

// Subscribe delivers every node's events to fn. It fails when the
// connection cannot take the subscription (closed, draining).
func (b *NATS) Subscribe(fn func([]Event)) (func(), error) {
	sub, err := b.conn.Subscribe(natsSubject, func(m *nats.Msg) {
		var wire []wireEvent
		if err := json.Unmarshal(m.Data, &wire); err != nil {
			b.logger.Error("nats: bad event message", "err", err)
			return
		}
		events := make([]Event, len(wire))
		for i, w := range wire {
			e := w.Event
			e.UserID, e.ConversationID, e.ContactID, e.PrevAssigneeID, e.Public = w.UserID, w.ConversationID, w.ContactID, w.PrevAssigneeID, w.Public
			e.Ref.InboxID, e.Ref.AssigneeID, e.Ref.OwnerID = w.InboxID, w.AssigneeID, w.OwnerID
			events[i] = e
		}
		fn(events)
	})
	if err != nil {
		return nil, fmt.Errorf("event: subscribe to %s on NATS: %w", natsSubject, err)
	}
	// Subscriptions matter more than the default pending limits suggest:
	// a burst must not be dropped (the hub would catch up, but later).
	if err := sub.SetPendingLimits(1<<20, 256<<20); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("event: subscribe to %s on NATS: %w", natsSubject, err)
	}
	return func() { sub.Unsubscribe() }, nil
}

// Close drains and closes the connection.
func (b *NATS) Close() { b.conn.Drain() }
