// Package automation is what Switchboard does by itself in a number's
// conversations (product document 002): the welcome message, the
// unassigned auto-reply, the queue message, the no-reply reminder,
// auto-close and the satisfaction survey. It is the conversation core's
// Automation (hooks in the transactions of customers' messages, replies and
// closes) and wraps routing's Assigner to hear where a conversation lands.
// Its sends go through the outbox like an agent's (conversation.PostAuto);
// its timers are job rows whose deadlines are compared at fire time
// (deadline.go), so moving them costs no write per message.
package automation

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// Changed is the event of an inbox's automation saved.
const Changed = "automation.changed"

// The timers.
const (
	ReminderJob  = "automation.reminder"
	AutoCloseJob = "automation.autoclose"
)

// The kinds of message automation sends (messages.auto_kind).
const (
	KindWelcome    = "welcome"
	KindUnassigned = "unassigned"
	KindQueue      = "queue"
	KindReminder   = "reminder"
	KindCSAT       = "csat"
	KindCSATThanks = "csat_thanks"
)

// Service runs a node's number automation.
type Service struct {
	db     *db.DB
	log    *event.Log
	queue  *job.Queue
	logger *slog.Logger
	now    func() time.Time

	// Set while the node is assembled, read-only after.
	conv  *conversation.Service
	inner conversation.Assigner
	// welcomeSwitch tells the channel (WhatsApp: Meta) that the inbox's
	// welcome message is on or off.
	welcomeSwitch func(ctx context.Context, inboxID int64, on bool) error
	// queueWait estimates the wait at a position of an inbox's queue.
	queueWait func(ctx context.Context, inboxID int64, position int) (time.Duration, error)

	cache settingsCache
}

// New returns the automation of a node.
func New(d *db.DB, log *event.Log, queue *job.Queue, logger *slog.Logger) *Service {
	return &Service{db: d, log: log, queue: queue, logger: logger, now: time.Now, cache: settingsCache{m: map[int64]cached{}}}
}

// Route makes s hear where routing (inner) puts conversations: the
// result is the Assigner to give the conversation core.
func (s *Service) Route(inner conversation.Assigner) conversation.Assigner {
	s.inner = inner
	return s
}

// Serve makes s the conversation core's automation.
func (s *Service) Serve(conv *conversation.Service) {
	s.conv = conv
	conv.Automate(s)
}

// OnWelcomeSwitch sets what tells a channel that an inbox's welcome
// message was switched on or off.
func (s *Service) OnWelcomeSwitch(f func(ctx context.Context, inboxID int64, on bool) error) {
	s.welcomeSwitch = f
}

// EstimateWith sets how the queue message's estimated wait is found.
func (s *Service) EstimateWith(f func(ctx context.Context, inboxID int64, position int) (time.Duration, error)) {
	s.queueWait = f
}

// SetClock replaces the clock of the timers' deadlines (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Register adds the timers' handlers to a job runner.
func (s *Service) Register(runner *job.Runner) {
	runner.Handle(ReminderJob, job.HandlerFunc(s.handleReminder))
	runner.Handle(AutoCloseJob, job.HandlerFunc(s.handleAutoClose))
}

// Consumer keeps this node's cache of settings fresh.
func (s *Service) Consumer() event.Consumer {
	return event.Consumer{Name: "automation.settings", Scope: event.PerNode, Types: []string{Changed, event.InboxChanged},
		Handle: func(_ context.Context, events []event.Event) error {
			for _, e := range events {
				var d struct {
					InboxID int64 `json:"inbox_id"`
				}
				json.Unmarshal(e.Data, &d)
				if d.InboxID == 0 {
					s.cache.clear()
				}
				s.cache.forget(d.InboxID)
			}
			return nil
		}}
}

// settingsCache keeps each inbox's settings a minute; a save forgets them
// on every node (Consumer).
type settingsCache struct {
	mu sync.Mutex
	m  map[int64]cached
}

type cached struct {
	st    Settings
	inbox string // the inbox's name, for {{inbox.name}}
	at    time.Time
}

const cacheTTL = time.Minute

func (c *settingsCache) forget(inboxID int64) {
	c.mu.Lock()
	delete(c.m, inboxID)
	c.mu.Unlock()
}

func (c *settingsCache) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// of returns an inbox's settings, from the cache while fresh.
func (s *Service) of(ctx context.Context, inboxID int64) (Settings, error) {
	e, err := s.cached(ctx, inboxID)
	return e.st, err
}

// inboxName returns an inbox's name, from the cache while fresh.
func (s *Service) inboxName(ctx context.Context, inboxID int64) (string, error) {
	e, err := s.cached(ctx, inboxID)
	return e.inbox, err
}

// cached returns what the cache keeps of an inbox, loading it when it
// is missing or stale.
func (s *Service) cached(ctx context.Context, inboxID int64) (cached, error) {
	s.cache.mu.Lock()
	e, ok := s.cache.m[inboxID]
	s.cache.mu.Unlock()
	if ok && time.Since(e.at) < cacheTTL {
		return e, nil
	}
	return s.load(ctx, inboxID)
}

// load reads what the cache keeps of an inbox.
func (s *Service) load(ctx context.Context, inboxID int64) (cached, error) {
	e := cached{at: time.Now()}
	var err error
	if e.st, err = s.settings(ctx, s.db, inboxID); err != nil {
		return e, err
	}
	if err := s.db.QueryRow(ctx, `SELECT name FROM inboxes WHERE id = $1`, inboxID).Scan(&e.inbox); err != nil {
		return e, err
	}
	s.cache.mu.Lock()
	if len(s.cache.m) > 10000 {
		clear(s.cache.m)
	}
	s.cache.m[inboxID] = e
	s.cache.mu.Unlock()
	return e, nil
}

// Place gives c to routing, then tells the customer where it landed: in
// the queue (the queue message), or with nobody (the unassigned
// auto-reply).
func (s *Service) Place(ctx context.Context, tx *event.Tx, c *conversation.Conversation) error {
	if s.inner != nil {
		if err := s.inner.Place(ctx, tx, c); err != nil {
			return err
		}
	}
	if c.Status != conversation.Open || c.Pending() || c.AssigneeID != nil {
		return nil
	}
	st, err := s.of(ctx, c.InboxID)
	if err != nil {
		return err
	}
	switch {
	case c.Queue != nil && st.Queue.Enabled:
		return s.send(ctx, tx, c, KindQueue, st.Queue.Message)
	case c.Queue == nil && st.Unassigned.Enabled:
		return s.send(ctx, tx, c, KindUnassigned, st.Unassigned.Message)
	}
	return nil
}

// Freed passes to routing.
func (s *Service) Freed(ctx context.Context, tx *event.Tx, inboxID int64) error {
	if s.inner == nil {
		return nil
	}
	return s.inner.Freed(ctx, tx, inboxID)
}

// Received greets a customer who opens the chat or writes first, starts
// the reminder of a turn that waits for an answer, and takes the answers
// to a survey.
func (s *Service) Received(ctx context.Context, tx *event.Tx, c *conversation.Conversation, m *conversation.Message, a conversation.Arrival) error {
	if a.Answer {
		return s.answer(ctx, tx, c, m, a.Choice)
	}
	st, err := s.of(ctx, c.InboxID)
	if err != nil {
		return err
	}
	if st.Welcome.Enabled && (a.Opened || (a.FirstMessage && st.Welcome.OnFirstMessage)) {
		if err := s.welcome(ctx, tx, c, st.Welcome.Message); err != nil {
			return err
		}
	}
	if a.NewTurn && st.Reminder.Enabled && !c.Pending() && c.BotID == nil { // a bot answers its own
		// One statement per turn, none per later message of the turn: the
		// handler reads the turn's start when it fires (deadline.go).
		due := s.now().Add(time.Duration(st.Reminder.AfterMinutes) * time.Minute)
		if _, err := s.queue.Enqueue(ctx, tx.Tx, ReminderJob, convPayload{ConversationID: c.ID},
			job.Options{RunAt: due, DedupKey: "reminder:" + strconv.FormatInt(c.ID, 10)}); err != nil {
			return err
		}
	}
	return nil
}

// Answered starts the auto-close of an agent-served conversation: it
// closes when the customer does not reply in time.
func (s *Service) Answered(ctx context.Context, tx *event.Tx, c *conversation.Conversation, m *conversation.Message) error {
	st, err := s.of(ctx, c.InboxID)
	if err != nil || !st.AutoClose.Enabled {
		return err
	}
	due := s.now().Add(time.Duration(st.AutoClose.AfterMinutes) * time.Minute)
	_, err = s.queue.Enqueue(ctx, tx.Tx, AutoCloseJob, convPayload{ConversationID: c.ID},
		job.Options{RunAt: due, DedupKey: "autoclose:" + strconv.FormatInt(c.ID, 10)})
	return err
}

// Closed sends the survey when a person served the conversation.
func (s *Service) Closed(ctx context.Context, tx *event.Tx, c *conversation.Conversation, actorID int64) error {
	if c.AssigneeID == nil || c.BotID != nil || c.Pending() {
		return nil // nobody served it, or a bot did: no survey
	}
	st, err := s.of(ctx, c.InboxID)
	if err != nil || !st.CSAT.Enabled {
		return err
	}
	return s.survey(ctx, tx, c, st.CSAT)
}

// welcome sends the inbox's welcome message unless the customer got one
// in the last day.
func (s *Service) welcome(ctx context.Context, tx *event.Tx, c *conversation.Conversation, m reply.Message) error {
	now := db.Now()
	res, err := tx.Exec(ctx, `INSERT INTO automation_welcomed (inbox_id, contact_id, sent_at) VALUES ($1, $2, $3)
		ON CONFLICT (inbox_id, contact_id) DO UPDATE SET sent_at = excluded.sent_at WHERE automation_welcomed.sent_at < $4`,
		c.InboxID, c.ContactID, now, now.Add(-WelcomeEvery))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // welcomed in the last day
	}
	return s.send(ctx, tx, c, KindWelcome, m)
}

// send fills m's variables for c and posts it.
func (s *Service) send(ctx context.Context, tx *event.Tx, c *conversation.Conversation, kind string, m reply.Message) error {
	if s.conv == nil || m.IsZero() {
		return nil
	}
	v, err := s.vars(ctx, tx, c)
	if err != nil {
		return err
	}
	o, err := m.Fill(v).Prepare(ctx, tx.Tx, conversation.AutoUploader)
	if err != nil {
		return err
	}
	_, err = s.conv.PostAuto(ctx, tx, c, conversation.Author{Type: conversation.SenderSystem, Kind: kind}, o)
	return err
}

// vars are the values of c's variables.
func (s *Service) vars(ctx context.Context, tx *event.Tx, c *conversation.Conversation) (reply.Vars, error) {
	v := reply.Vars{ContactName: c.Contact.Name}
	var err error
	if v.InboxName, err = s.inboxName(ctx, c.InboxID); err != nil {
		return v, err
	}
	if c.AssigneeID != nil {
		if err := tx.QueryRow(ctx, `SELECT public_name FROM users WHERE id = $1`, *c.AssigneeID).Scan(&v.AgentPublicName); err != nil && !errors.Is(db.MapErr(err), db.ErrNotFound) {
			return v, err
		}
	}
	if c.Queue != nil {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM conversations q WHERE q.inbox_id = $1 AND q.queued_at IS NOT NULL
			AND (q.queued_at < $2 OR (q.queued_at = $2 AND q.id <= $3))`, c.InboxID, db.Time(c.Queue.Since), c.ID).Scan(&v.QueuePosition); err != nil {
			return v, err
		}
		if s.queueWait != nil {
			w, err := s.queueWait(ctx, c.InboxID, v.QueuePosition)
			if err != nil {
				return v, err
			}
			v.QueueWait = w
		}
	}
	return v, nil
}

// convPayload is the payload of the timers.
type convPayload struct {
	ConversationID int64 `json:"conversation_id"`
}

// isRefusal reports whether err is the channel refusing a send (a closed
// window): the automatic message is dropped, the rest goes on.
func isRefusal(err error) bool {
	p, ok := problem.As(err)
	return ok && (p.Kind == problem.KindConflict || p.Kind == problem.KindInvalid)
}
