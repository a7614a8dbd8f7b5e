// Package event is Switchboard's event log. Every change that agents (or a
// web chat visitor) must see is written as an Event in the same transaction
// as the change, numbered by a per-installation sequence without gaps, and
// published to a Broker after commit. The real-time hub of each node
// delivers events in sequence order and fills any gap from the log, so a
// client that resumes after the last sequence it saw misses nothing.
// Consumers follow the log from cursors of their own for the reactions
// that run after the writing transaction (consumer.go).
// Signals (Log.Signal: typing indicators) are events that are not stored:
// no sequence, published to whoever listens at that moment.
package event

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// Event types.
const (
	ConversationCreated = "conversation.created"
	ConversationUpdated = "conversation.updated"
	MessageCreated      = "message.created"
	MessageUpdated      = "message.updated"
	InboxChanged        = "inbox.changed"
	MembershipChanged   = "membership.changed"

	// Typing is a signal (Log.Signal) that someone is writing in a
	// conversation.
	Typing = "typing"
)

// Event is one entry of the log. Seq, Type and Data go to clients; the
// other fields say who may see it.
type Event struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`

	// UserID, when set, limits the event to that one user.
	UserID int64 `json:"-"`
	// Conversation, when set, makes the event visible to whoever may see
	// the conversation (after the change, or before it, for a sales agent
	// whose conversation was taken away).
	ConversationID int64      `json:"-"`
	ContactID      int64      `json:"-"`
	Ref            policy.Ref `json:"-"`
	PrevAssigneeID int64      `json:"-"`
	// Public events may also be shown to the customer (the contact's web
	// chat visitor): messages, never notes or assignments.
	Public bool `json:"-"`

	At time.Time `json:"-"`
}

// VisibleTo reports whether the scope's user may see e. Events that are
// neither for one user nor about a conversation concern the installation's
// settings and go to admins.
func (e *Event) VisibleTo(s policy.Scope, role policy.Role) bool {
	switch {
	case e.UserID != 0:
		return e.UserID == s.UserID
	case e.ConversationID != 0:
		if s.Allows(e.Ref) {
			return true
		}
		return s.Kind == policy.ScopeAssignedOrOwned && e.PrevAssigneeID != 0 && e.PrevAssigneeID == s.UserID
	}
	return role == policy.Admin
}

// Ephemeral reports whether e is a signal (Log.Signal): not in the log,
// without a sequence.
func (e *Event) Ephemeral() bool { return e.Seq == 0 }

// New makes an event with data marshalled to JSON. It panics if data
// cannot be marshalled, which is a programming error.
func New(typ string, data any) Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("event: marshal %s: %v", typ, err))
	}
	return Event{Type: typ, Data: b}
}

// Broker carries events from the node that committed them to every node's
// hub. Publish must not block on slow consumers. Subscribe fails when the
// broker cannot deliver to fn (a NATS connection that is closed): a node
// without its subscriptions would miss other nodes' events until its hub
// polled the log, so it does not start.
type Broker interface {
	Publish(ctx context.Context, events []Event) error
	Subscribe(fn func([]Event)) (unsubscribe func(), err error)
}

// Tx is a database transaction that also records events; they are written
// to the log when the transaction commits.
type Tx struct {
	*db.Tx
	events []Event
}

// Emit records e to be written with the transaction.
func (tx *Tx) Emit(e Event) { tx.events = append(tx.events, e) }

// Log writes and reads the event log.
type Log struct {
	db     *db.DB
	broker Broker
	logger *slog.Logger
}

// NewLog returns a Log on d publishing to broker.
func NewLog(d *db.DB, broker Broker, logger *slog.Logger) *Log {
	return &Log{db: d, broker: broker, logger: logger}
}

// Write runs fn in a transaction; the events it emits are numbered and
// written last, once for every call committed with this one (db.Batch):
// after all their work, just before the commit, so that PostgreSQL holds
// the sequence row for as short a time as possible. They are published
// once the transaction has committed.
func (l *Log) Write(ctx context.Context, fn func(tx *Tx) error) error {
	var written []Event
	err := l.db.Write(ctx, func(dtx *db.Tx) error {
		tx := &Tx{Tx: dtx}
		if err := fn(tx); err != nil {
			return err
		}
		if len(tx.events) > 0 {
			b := dtx.Batch()
			p, _ := b.Value(l).(*pending)
			if p == nil {
				p = &pending{}
				b.SetValue(l, p)
				dtx.BeforeCommit(func() error { return p.flush(context.WithoutCancel(ctx), dtx) })
			}
			p.calls = append(p.calls, pendingCall{events: tx.events, written: &written})
		}
		return nil
	})
	if err != nil || len(written) == 0 {
		return err
	}
	if err := l.broker.Publish(ctx, written); err != nil {
		// The events are committed: hubs poll the log and catch up.
		l.logger.Warn("event: publish failed; hubs will catch up from the log", "err", err, "seq", written[0].Seq)
	}
	return nil
}

// Signal publishes e to every node's hub without writing it anywhere: it
// has no sequence, reaches only the subscribers connected at that moment
// (with the same audience rules as other events), is never replayed, and
// one lost on the way is lost. For what does not matter a few seconds
// later, like typing indicators.
func (l *Log) Signal(ctx context.Context, e Event) error {
	e.Seq, e.At = 0, time.Now()
	if err := l.broker.Publish(ctx, []Event{e}); err != nil {
		return fmt.Errorf("event: signal %s: %w", e.Type, err)
	}
	return nil
}

// pending are the events of the calls committed together, in the order
// the calls ran.
type pending struct {
	calls []pendingCall
}

type pendingCall struct {
	events  []Event
	written *[]Event
}

// appendChunk bounds the events of one INSERT on PostgreSQL.
const appendChunk = 1000

// flush numbers and inserts every call's events, then hands each call
// its own.
func (p *pending) flush(ctx context.Context, tx *db.Tx) error {
	var all []Event
	for _, c := range p.calls {
		all = append(all, c.events...)
	}
	if tx.Dialect() == db.Postgres {
		for from := 0; from < len(all); from += appendChunk {
			if _, err := appendPostgres(ctx, tx, all[from:min(len(all), from+appendChunk)]); err != nil {
				return err
			}
		}
	} else if err := appendSQLite(ctx, tx, all); err != nil {
		return err
	}
	off := 0
	for _, c := range p.calls {
		*c.written = all[off : off+len(c.events) : off+len(c.events)]
		off += len(c.events)
	}
	return nil
}

// sqliteRows are the sizes of the multi-row INSERTs appendSQLite uses,
// largest first: a commit's events go in as few statements as these
// make, and every statement is one the writer has prepared before.
var sqliteRows = [...]int{64, 16, 4, 1}

// sqliteInserts holds the INSERT of each size of sqliteRows. Its
// parameters are anonymous (?): SQLite looks a named or numbered
// parameter up by walking a list of them, which for hundreds of
// parameters costs more than the insert.
var sqliteInserts = func() (qs [len(sqliteRows)]string) {
	const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for i, n := range sqliteRows {
		qs[i] = `INSERT INTO events (seq, type, user_id, inbox_id, conversation_id, contact_id, assignee_id, prev_assignee_id, owner_id, public, data, created_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	}
	return qs
}()

// appendSQLite numbers events with one update of the sequence row and
// inserts them.
func appendSQLite(ctx context.Context, tx *db.Tx, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	var last int64
	err := tx.QueryRow(ctx, `UPDATE event_seq SET value = value + $1 WHERE id = 1 RETURNING value`, len(events)).Scan(&last)
	if err != nil {
		return fmt.Errorf("event: take sequence: %w", err)
	}
	now := db.Now()
	const cols = 12
	args := make([]any, 0, min(len(events), sqliteRows[0])*cols)
	for from := 0; from < len(events); {
		k := 0
		for sqliteRows[k] > len(events)-from {
			k++
		}
		args = args[:0]
		for i := from; i < from+sqliteRows[k]; i++ {
			e := &events[i]
			e.Seq = last - int64(len(events)) + int64(i) + 1
			e.At = now
			args = append(args, e.Seq, e.Type, nullID(e.UserID), nullID(e.Ref.InboxID), nullID(e.ConversationID),
				nullID(e.ContactID), nullID(e.Ref.AssigneeID), nullID(e.PrevAssigneeID), nullID(e.Ref.OwnerID),
				e.Public, string(e.Data), e.At)
		}
		if _, err := tx.Exec(ctx, sqliteInserts[k], args...); err != nil {
			return fmt.Errorf("event: insert: %w", err)
		}
		from += sqliteRows[k]
	}
	return nil
}

// appendPostgres numbers events and inserts them in one statement (the
// sequence row stays locked from that statement to the commit, so one
// round trip less is a shorter critical section).
func appendPostgres(ctx context.Context, tx *db.Tx, events []Event) ([]Event, error) {
	now := db.Now()
	n := len(events)
	var sb strings.Builder
	sb.WriteString(`WITH s AS (UPDATE event_seq SET value = value + $1 WHERE id = 1 RETURNING value)
		INSERT INTO events (seq, type, user_id, inbox_id, conversation_id, contact_id, assignee_id, prev_assignee_id, owner_id, public, data, created_at)
		SELECT s.value - $1 + v.i, v.type, v.user_id, v.inbox_id, v.conversation_id, v.contact_id, v.assignee_id, v.prev_assignee_id, v.owner_id, v.public, v.data, $2
		FROM s, (VALUES `)
	const cols = 11
	args := make([]any, 0, 2+n*cols)
	args = append(args, n, now)
	for i := range events {
		e := &events[i]
		e.At = now
		if i > 0 {
			sb.WriteString(", ")
		}
		b := 3 + i*cols
		fmt.Fprintf(&sb, "(CAST($%d AS BIGINT), CAST($%d AS TEXT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), "+
			"CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BOOLEAN), CAST($%d AS TEXT))",
			b, b+1, b+2, b+3, b+4, b+5, b+6, b+7, b+8, b+9, b+10)
		args = append(args, i+1, e.Type, nullID(e.UserID), nullID(e.Ref.InboxID), nullID(e.ConversationID),
			nullID(e.ContactID), nullID(e.Ref.AssigneeID), nullID(e.PrevAssigneeID), nullID(e.Ref.OwnerID), e.Public, string(e.Data))
	}
	sb.WriteString(`) AS v (i, type, user_id, inbox_id, conversation_id, contact_id, assignee_id, prev_assignee_id, owner_id, public, data)
		RETURNING seq`)
	rows, err := tx.Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("event: insert: %w", err)
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("event: insert: %w", err)
		}
		last = max(last, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event: insert: %w", err)
	}
	for i := range events {
		events[i].Seq = last - int64(n) + int64(i) + 1
	}
	return events, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Last returns the sequence of the newest event (0 for none).
func (l *Log) Last(ctx context.Context) (int64, error) {
	var v int64
	err := l.db.QueryRow(ctx, `SELECT value FROM event_seq WHERE id = 1`).Scan(&v)
	return v, err
}

// First returns the sequence of the oldest event still in the log, or
// Last()+1 when the log is empty.
func (l *Log) First(ctx context.Context) (int64, error) {
	var v *int64
	if err := l.db.QueryRow(ctx, `SELECT MIN(seq) FROM events`).Scan(&v); err != nil {
		return 0, err
	}
	if v == nil {
		last, err := l.Last(ctx)
		return last + 1, err
	}
	return *v, nil
}

// Range returns the events with after < seq <= upto in order, at most
// limit of them.
func (l *Log) Range(ctx context.Context, after, upto int64, limit int) ([]Event, error) {
	rows, err := l.db.Query(ctx, `SELECT seq, type, user_id, inbox_id, conversation_id, contact_id, assignee_id, prev_assignee_id, owner_id, public, data, created_at
		FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, after, upto, limit)
	if err != nil {
		return nil, fmt.Errorf("event: range: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var user, inbox, conv, contact, assignee, prev, owner *int64
		var data string
		if err := rows.Scan(&e.Seq, &e.Type, &user, &inbox, &conv, &contact, &assignee, &prev, &owner, &e.Public, &data, &e.At); err != nil {
			return nil, fmt.Errorf("event: range: %w", err)
		}
		e.UserID, e.ConversationID, e.ContactID, e.PrevAssigneeID = deref(user), deref(conv), deref(contact), deref(prev)
		e.Ref = policy.Ref{InboxID: deref(inbox), AssigneeID: deref(assignee), OwnerID: deref(owner)}
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Prune deletes events older than keep, but always keeps the newest
// minKeep events so that a short outage can still be resumed.
func (l *Log) Prune(ctx context.Context, keep time.Duration, minKeep int64) (int64, error) {
	last, err := l.Last(ctx)
	if err != nil {
		return 0, err
	}
	res, err := l.db.Exec(ctx, `DELETE FROM events WHERE created_at < $1 AND seq <= $2`, db.Now().Add(-keep), last-minKeep)
	if err != nil {
		return 0, fmt.Errorf("event: prune: %w", err)
	}
	return res.RowsAffected()
}
