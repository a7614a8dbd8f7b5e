// Package routing gives conversations to agents: an inbox's rules (the
// basic rule, in turn among Available members, in turn among all members,
// least busy, or none; and, first, the advanced rules of the contact's
// owner and of the agent who last handled the contact), reception limits
// per member, the queue, transfer and claim. It is the conversation core's
// Assigner.
//
// Routing is exact under concurrency because it is serialized per inbox:
// every decision locks the inbox's inbox_assignment row in the transaction
// of the change that asks for it (a new conversation, a close, a transfer,
// a status change), and reads agents' loads after that lock as an indexed
// count of their open conversations in the inbox (conversations_load), not
// from a counter row. On PostgreSQL a transaction that waits for the lock
// reads the loads afresh once it has it (READ COMMITTED takes a snapshot
// per statement), so what the previous holder committed is counted; SQLite
// has one writer.
//
// The queue is state on the conversation (queued_at, and queue_agent_id
// with queue_until while it waits for one agent), first in, first out;
// its position is derived. A change that frees capacity gives out the
// longest-waiting conversations in its own transaction, and enqueues a
// deduplicated drain job (routing.drain:<inbox>) when some still wait.
// Waits for an agent end with a durable job (routing.wait:<conversation>).
// Membership changes reach routing through a shared event consumer, and a
// sweep every minute on each node heals whatever was missed; it costs an
// index probe when nothing waits.
package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Rule is an inbox's basic rule.
type Rule string

// The basic rules.
const (
	// None leaves every conversation the advanced rules do not place
	// unassigned.
	None Rule = "none"
	// AvailableInTurn gives conversations to the Available members in
	// turn.
	AvailableInTurn Rule = "available_in_turn"
	// AllInTurn gives conversations to every member in turn, online or
	// not.
	AllInTurn Rule = "all_in_turn"
	// LeastBusy gives a conversation to the Available member with the
	// fewest open conversations in the inbox (ties in turn).
	LeastBusy Rule = "least_busy"
)

// Rules lists the basic rules.
var Rules = []Rule{None, AvailableInTurn, AllInTurn, LeastBusy}

// Preference is an advanced rule: give the conversation to one agent (the
// contact's owner, or the agent who last handled the contact in the inbox)
// when that agent is a member of the inbox and, with OnlyAvailable, is
// Available, and has room under their limit; otherwise wait for them up to
// WaitMinutes in the queue (0: not at all), then fall through.
type Preference struct {
	On            bool `json:"on"`
	OnlyAvailable bool `json:"only_available"`
	WaitMinutes   int  `json:"wait_minutes"`
}

// Settings are an inbox's assignment rules and limits.
type Settings struct {
	// AutoAssign is true when the basic rule is not None (the setting
	// before there were rules).
	AutoAssign bool `json:"auto_assign"`
	Rule       Rule `json:"rule"`
	// Advanced runs the owner's rule, then the previous agent's, before
	// the basic rule.
	Advanced bool       `json:"advanced"`
	Owner    Preference `json:"owner"`
	Previous Preference `json:"previous_agent"`
	// DefaultLimit is the reception limit of members without one of their
	// own: how many open conversations of the inbox routing gives them at
	// most (0: no limit).
	DefaultLimit int `json:"default_limit"`
	// ReturnAfterMinutes returns the open, unanswered conversations of an
	// agent who leaves Available to routing after that long (0: never).
	ReturnAfterMinutes int `json:"return_unanswered_after_minutes"`
}

// defaults are the settings of an inbox that never had any.
var defaults = Settings{Rule: None, Owner: Preference{OnlyAvailable: true}, Previous: Preference{OnlyAvailable: true}}

// Patch changes some of an inbox's settings.
type Patch struct {
	AutoAssign         *bool       `json:"auto_assign"`
	Rule               *Rule       `json:"rule"`
	Advanced           *bool       `json:"advanced"`
	Owner              *Preference `json:"owner"`
	Previous           *Preference `json:"previous_agent"`
	DefaultLimit       *int        `json:"default_limit"`
	ReturnAfterMinutes *int        `json:"return_unanswered_after_minutes"`
}

// MaxWaitMinutes bounds the waits of the settings (a week).
const MaxWaitMinutes = 7 * 24 * 60

// apply returns s changed by p, or the problem with p.
func (p Patch) apply(s Settings) (Settings, error) {
	if p.AutoAssign != nil {
		switch {
		case !*p.AutoAssign:
			s.Rule = None
		case s.Rule == None:
			s.Rule = AvailableInTurn
		}
	}
	if p.Rule != nil {
		s.Rule = *p.Rule
	}
	if p.Advanced != nil {
		s.Advanced = *p.Advanced
	}
	if p.Owner != nil {
		s.Owner = *p.Owner
	}
	if p.Previous != nil {
		s.Previous = *p.Previous
	}
	if p.DefaultLimit != nil {
		s.DefaultLimit = *p.DefaultLimit
	}
	if p.ReturnAfterMinutes != nil {
		s.ReturnAfterMinutes = *p.ReturnAfterMinutes
	}
	f := problem.Fields{}
	if !validRule(s.Rule) {
		f.Add("rule", "Choose one of none, available_in_turn, all_in_turn, least_busy.")
	}
	if s.Owner.WaitMinutes < 0 || s.Owner.WaitMinutes > MaxWaitMinutes {
		f.Add("owner.wait_minutes", "Wait from 0 to %d minutes.", MaxWaitMinutes)
	}
	if s.Previous.WaitMinutes < 0 || s.Previous.WaitMinutes > MaxWaitMinutes {
		f.Add("previous_agent.wait_minutes", "Wait from 0 to %d minutes.", MaxWaitMinutes)
	}
	if s.DefaultLimit < 0 || s.DefaultLimit > MaxLimit {
		f.Add("default_limit", "A limit is from 0 (none) to %d.", MaxLimit)
	}
	if s.ReturnAfterMinutes < 0 || s.ReturnAfterMinutes > MaxWaitMinutes {
		f.Add("return_unanswered_after_minutes", "Return after 0 (never) to %d minutes.", MaxWaitMinutes)
	}
	if err := f.Err(); err != nil {
		return s, err
	}
	s.AutoAssign = s.Rule != None
	return s, nil
}

func validRule(r Rule) bool {
	for _, x := range Rules {
		if x == r {
			return true
		}
	}
	return false
}

// MaxLimit is the highest reception limit.
const MaxLimit = 1000

// The jobs of routing.
const (
	// DrainJob gives out what waits in an inbox's queue; its dedup key is
	// routing.drain:<inbox>.
	DrainJob = "routing.drain"
	// WaitJob ends a conversation's wait for one agent; its dedup key is
	// routing.wait:<conversation>.
	WaitJob = "routing.wait"
	// ReturnJob returns the unanswered conversations of an agent who left
	// Available; its dedup key is routing.return:<inbox>:<user>.
	ReturnJob = "routing.return"
)

// SweepEvery is how often each node looks for queues that could move.
const SweepEvery = time.Minute

// Service is routing.
type Service struct {
	db     *db.DB
	log    *event.Log
	queue  *job.Queue
	logger *slog.Logger
}

// New returns routing.
func New(d *db.DB, log *event.Log, queue *job.Queue, logger *slog.Logger) *Service {
	return &Service{db: d, log: log, queue: queue, logger: logger}
}

// Register makes runner run routing's jobs.
func (s *Service) Register(runner *job.Runner) { s.RegisterWith(runner.Handle) }

// RegisterWith hands each of routing's jobs to handle, with its handler.
func (s *Service) RegisterWith(handle func(kind string, h job.Handler)) {
	handle(DrainJob, job.HandlerFunc(s.handleDrain))
	handle(WaitJob, job.HandlerFunc(s.handleWait))
	handle(ReturnJob, job.HandlerFunc(s.handleReturn))
}

// config is an inbox's settings as read under its lock.
type config struct {
	Settings
	inboxID      int64
	lastUser     int64
	lastAssigned *time.Time
	intervalMS   int64
}

const settingsColumns = `rule, advanced, owner_on, owner_only_available, owner_wait_minutes,
	previous_on, previous_only_available, previous_wait_minutes, default_limit, return_after_minutes,
	last_user_id, last_assigned_at, interval_ms`

func scanConfig(row interface{ Scan(...any) error }, inboxID int64) (config, error) {
	c := config{Settings: defaults, inboxID: inboxID}
	err := row.Scan(&c.Rule, &c.Advanced, &c.Owner.On, &c.Owner.OnlyAvailable, &c.Owner.WaitMinutes,
		&c.Previous.On, &c.Previous.OnlyAvailable, &c.Previous.WaitMinutes, &c.DefaultLimit, &c.ReturnAfterMinutes,
		&c.lastUser, &c.lastAssigned, &c.intervalMS)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return config{Settings: defaults, inboxID: inboxID}, nil
	}
	c.AutoAssign = c.Rule != None
	return c, err
}

// lock locks inboxID's routing for the rest of tx and reads its settings
// (the defaults for an inbox that has none stored).
func lock(ctx context.Context, tx *db.Tx, inboxID int64) (config, error) {
	c, err := scanConfig(tx.QueryRow(ctx, `UPDATE inbox_assignment SET last_user_id = last_user_id WHERE inbox_id = $1
		RETURNING `+settingsColumns, inboxID), inboxID)
	if err != nil {
		return c, fmt.Errorf("routing: lock inbox %d: %w", inboxID, err)
	}
	return c, nil
}

// on reports whether routing places anything in the inbox.
func (c *config) on() bool {
	return c.Rule != None || (c.Advanced && (c.Owner.On || c.Previous.On))
}

// Settings returns inboxID's settings.
func (s *Service) Settings(ctx context.Context, inboxID int64) (Settings, error) {
	if err := inboxExists(ctx, s.db, inboxID); err != nil {
		return Settings{}, err
	}
	c, err := scanConfig(s.db.QueryRow(ctx, `SELECT `+settingsColumns+` FROM inbox_assignment WHERE inbox_id = $1`, inboxID), inboxID)
	return c.Settings, err
}

func inboxExists(ctx context.Context, q db.Querier, inboxID int64) error {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inboxes WHERE id = $1)`, inboxID).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return problem.NotFound("Inbox")
	}
	return nil
}

// SetSettings changes inboxID's settings. What waits may move at once (a
// limit raised, a rule switched on), in the same transaction.
func (s *Service) SetSettings(ctx context.Context, inboxID int64, p Patch) (Settings, error) {
	var out Settings
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		if err := inboxExists(ctx, tx, inboxID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO inbox_assignment (inbox_id) VALUES ($1) ON CONFLICT (inbox_id) DO NOTHING`, inboxID); err != nil {
			return err
		}
		c, err := lock(ctx, tx.Tx, inboxID)
		if err != nil {
			return err
		}
		if out, err = p.apply(c.Settings); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE inbox_assignment SET rule = $2, advanced = $3, owner_on = $4, owner_only_available = $5,
			owner_wait_minutes = $6, previous_on = $7, previous_only_available = $8, previous_wait_minutes = $9, default_limit = $10,
			return_after_minutes = $11 WHERE inbox_id = $1`, inboxID, out.Rule, out.Advanced, out.Owner.On, out.Owner.OnlyAvailable,
			out.Owner.WaitMinutes, out.Previous.On, out.Previous.OnlyAvailable, out.Previous.WaitMinutes, out.DefaultLimit,
			out.ReturnAfterMinutes)
		if err != nil {
			return fmt.Errorf("routing: settings: %w", err)
		}
		c.Settings = out
		_, err = s.drain(ctx, tx, &c, inTxBudget)
		return err
	})
	return out, err
}

// Limit is a member's reception limit in an inbox.
type Limit struct {
	UserID int64 `json:"user_id"`
	// Limit is the member's own limit (null: the inbox's default).
	Limit *int `json:"limit"`
	// Effective is the limit that applies (0: none).
	Effective int `json:"effective"`
}

// SetLimit gives userID, a member of inboxID, a reception limit of their
// own there (nil: the inbox's default; 0: none). A limit raised lets the
// queue move in the same transaction.
func (s *Service) SetLimit(ctx context.Context, inboxID, userID int64, limit *int) (Limit, error) {
	if limit != nil && (*limit < 0 || *limit > MaxLimit) {
		return Limit{}, problem.Invalid("limit", "A limit is from 0 (none) to %d.", MaxLimit)
	}
	out := Limit{UserID: userID, Limit: limit}
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		if err := inboxExists(ctx, tx, inboxID); err != nil {
			return err
		}
		var member bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inbox_members WHERE inbox_id = $1 AND user_id = $2)`, inboxID, userID).Scan(&member); err != nil {
			return err
		}
		if !member {
			return problem.NotFound("Member")
		}
		c, err := lock(ctx, tx.Tx, inboxID)
		if err != nil {
			return err
		}
		if limit == nil {
			_, err = tx.Exec(ctx, `DELETE FROM member_limits WHERE inbox_id = $1 AND user_id = $2`, inboxID, userID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO member_limits (inbox_id, user_id, reception_limit) VALUES ($1, $2, $3)
				ON CONFLICT (inbox_id, user_id) DO UPDATE SET reception_limit = excluded.reception_limit`, inboxID, userID, *limit)
		}
		if err != nil {
			return fmt.Errorf("routing: set limit: %w", err)
		}
		out.Effective = c.DefaultLimit
		if limit != nil {
			out.Effective = *limit
		}
		_, err = s.drain(ctx, tx, &c, inTxBudget)
		return err
	})
	return out, err
}

// Limits returns the reception limits of inboxID's members.
func (s *Service) Limits(ctx context.Context, inboxID int64) ([]Limit, error) {
	st, err := s.Settings(ctx, inboxID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT m.user_id, l.reception_limit FROM inbox_members m
		LEFT JOIN member_limits l ON l.inbox_id = m.inbox_id AND l.user_id = m.user_id WHERE m.inbox_id = $1 ORDER BY m.user_id`, inboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Limit{}
	for rows.Next() {
		var l Limit
		if err := rows.Scan(&l.UserID, &l.Limit); err != nil {
			return nil, err
		}
		l.Effective = st.DefaultLimit
		if l.Limit != nil {
			l.Effective = *l.Limit
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// member is a member of an inbox as routing weighs them.
type member struct {
	id     int64
	status user.Status
	limit  int // 0: none
	load   int // open conversations of the inbox assigned to them
}

func (m *member) room() bool { return m.limit == 0 || m.load < m.limit }

// members reads inboxID's active members, by id, with their limits and
// loads (an index range count per member on conversations_load).
func members(ctx context.Context, tx *db.Tx, c *config) ([]member, error) {
	rows, err := tx.Query(ctx, `SELECT u.id, u.status, COALESCE(l.reception_limit, $2),
			(SELECT COUNT(*) FROM conversations c WHERE c.inbox_id = $1 AND c.assignee_id = u.id AND c.status = 'open')
		FROM inbox_members m JOIN users u ON u.id = m.user_id
		LEFT JOIN member_limits l ON l.inbox_id = m.inbox_id AND l.user_id = m.user_id
		WHERE m.inbox_id = $1 AND u.deactivated_at IS NULL ORDER BY u.id`, c.inboxID, c.DefaultLimit)
	if err != nil {
		return nil, fmt.Errorf("routing: members: %w", err)
	}
	defer rows.Close()
	var out []member
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.id, &m.status, &m.limit, &m.load); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func find(ms []member, id int64) *member {
	for i := range ms {
		if ms[i].id == id {
			return &ms[i]
		}
	}
	return nil
}

// pick chooses by the basic rule among ms, after the last one picked, not
// exclude: nil when nobody may take another conversation. It is pure.
func pick(rule Rule, ms []member, last, exclude int64) *member {
	eligible := func(m *member) bool {
		return m.id != exclude && m.room() && (rule == AllInTurn || m.status == user.Available)
	}
	// In turn: the first eligible member after last, wrapping around.
	var best *member
	for _, wrap := range []bool{false, true} {
		for i := range ms {
			m := &ms[i]
			if (m.id > last) == wrap || !eligible(m) {
				continue
			}
			switch rule {
			case AvailableInTurn, AllInTurn:
				return m
			case LeastBusy:
				if best == nil || m.load < best.load {
					best = m
				}
			default:
				return nil
			}
		}
	}
	return best
}

// stage is where placement starts: with the owner's rule, with the
// previous agent's (the owner's wait is over), or with the basic rule.
type stage int

const (
	fromOwner stage = iota
	fromPrevious
	fromBasic
)

// Place implements conversation.Assigner: it gives c, open and without an
// assignee, to an agent, or puts it in the queue (or leaves it, when the
// inbox routes nothing), in tx. The caller emits c's event.
func (s *Service) Place(ctx context.Context, tx *event.Tx, c *conversation.Conversation) error {
	cfg, err := lock(ctx, tx.Tx, c.InboxID)
	if err != nil || !cfg.on() {
		return err
	}
	ms, err := members(ctx, tx.Tx, &cfg)
	if err != nil {
		return err
	}
	_, err = s.place(ctx, tx, &cfg, ms, c, fromOwner, 0)
	return err
}

// place runs the rules for c from stage st on, never giving it to
// exclude: it assigns c, or queues it (waiting for one agent, or for
// anyone), or (with the basic rule None) leaves it unassigned out of the
// queue. It reports whether c was assigned.
func (s *Service) place(ctx context.Context, tx *event.Tx, cfg *config, ms []member, c *conversation.Conversation, st stage, exclude int64) (bool, error) {
	if c.Status != conversation.Open || c.AssigneeID != nil {
		return false, nil
	}
	now := db.Now()
	if cfg.Advanced {
		var owner int64
		if c.OwnerID != nil {
			owner = *c.OwnerID
		}
		if st <= fromOwner && cfg.Owner.On && owner != 0 && owner != exclude {
			if m := find(ms, owner); m != nil {
				if ready(m, cfg.Owner) {
					return true, s.assign(ctx, tx, cfg, c, m, false)
				}
				if cfg.Owner.WaitMinutes > 0 {
					return false, s.wait(ctx, tx, c, m.id, now.Add(time.Duration(cfg.Owner.WaitMinutes)*time.Minute))
				}
			}
		}
		if st <= fromPrevious && cfg.Previous.On {
			prev, err := previousAgent(ctx, tx.Tx, c)
			if err != nil {
				return false, err
			}
			// The owner was tried already.
			tried := cfg.Owner.On && prev == owner
			if prev != 0 && prev != exclude && !tried {
				if m := find(ms, prev); m != nil {
					if ready(m, cfg.Previous) {
						return true, s.assign(ctx, tx, cfg, c, m, false)
					}
					if cfg.Previous.WaitMinutes > 0 {
						return false, s.wait(ctx, tx, c, m.id, now.Add(time.Duration(cfg.Previous.WaitMinutes)*time.Minute))
					}
				}
			}
		}
	}
	if cfg.Rule == None {
		if c.Queue != nil {
			// Its wait is over, and nobody else is given conversations:
			// it waits unassigned, out of the queue.
			return false, conversation.Unassign(ctx, tx.Tx, c, 0)
		}
		return false, nil
	}
	if m := pick(cfg.Rule, ms, cfg.lastUser, exclude); m != nil {
		return true, s.assign(ctx, tx, cfg, c, m, true)
	}
	if c.Queue != nil && c.Queue.WaitingFor == nil {
		return false, nil // queued already, for anyone
	}
	return false, conversation.Enqueue(ctx, tx.Tx, c, now, 0, time.Time{})
}

// ready reports whether m may be given a conversation by preference p.
func ready(m *member, p Preference) bool {
	return m.room() && (!p.OnlyAvailable || m.status == user.Available)
}

// previousAgent is who last had a conversation of c's contact in its
// inbox (0: nobody), on the contact's index.
func previousAgent(ctx context.Context, tx *db.Tx, c *conversation.Conversation) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT assignee_id FROM conversations WHERE contact_id = $1 AND inbox_id = $2 AND id <> $3
		AND assignee_id IS NOT NULL ORDER BY id DESC LIMIT 1`, c.ContactID, c.InboxID, c.ID).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, nil
	}
	return id, err
}

// assign gives c to m by routing (turn says whether it was m's turn by the
// basic rule, which then moves on) and records the inbox's rate.
func (s *Service) assign(ctx context.Context, tx *event.Tx, cfg *config, c *conversation.Conversation, m *member, turn bool) error {
	if err := s.endWait(ctx, tx.Tx, c); err != nil {
		return err
	}
	if err := conversation.AssignTo(ctx, tx.Tx, c, m.id, 0); err != nil {
		return err
	}
	m.load++
	return s.assigned(ctx, tx.Tx, cfg, m.id, turn)
}

// assigned records in cfg's row that routing gave a conversation out (to
// userID, whose turn it was when turn is set): the time and the moving
// average of the time between two, for the queue's estimated wait.
func (s *Service) assigned(ctx context.Context, tx *db.Tx, cfg *config, userID int64, turn bool) error {
	now := db.Now()
	interval := cfg.intervalMS
	if cfg.lastAssigned != nil {
		gap := now.Sub(*cfg.lastAssigned).Milliseconds()
		if interval == 0 {
			interval = gap
		} else {
			interval = (4*interval + gap) / 5
		}
	}
	last := cfg.lastUser
	if turn {
		last = userID
	}
	if _, err := tx.Exec(ctx, `UPDATE inbox_assignment SET last_user_id = $2, last_assigned_at = $3, interval_ms = $4 WHERE inbox_id = $1`,
		cfg.inboxID, last, now, interval); err != nil {
		return fmt.Errorf("routing: record: %w", err)
	}
	cfg.lastUser, cfg.lastAssigned, cfg.intervalMS = last, &now, interval
	return nil
}

// wait queues c for agentID until until, with the durable job that ends
// the wait.
func (s *Service) wait(ctx context.Context, tx *event.Tx, c *conversation.Conversation, agentID int64, until time.Time) error {
	if err := conversation.Enqueue(ctx, tx.Tx, c, db.Now(), agentID, until); err != nil {
		return err
	}
	key := fmt.Sprintf("%s:%d", WaitJob, c.ID)
	if err := s.queue.Cancel(ctx, tx.Tx, key); err != nil {
		return err
	}
	_, err := s.queue.Enqueue(ctx, tx.Tx, WaitJob, waitPayload{ConversationID: c.ID}, job.Options{RunAt: until, DedupKey: key})
	return err
}

// endWait cancels the job that would end c's wait for one agent, if it
// waits for one: it is leaving the queue.
func (s *Service) endWait(ctx context.Context, tx *db.Tx, c *conversation.Conversation) error {
	if c.Queue == nil || c.Queue.WaitingFor == nil {
		return nil
	}
	return s.queue.Cancel(ctx, tx, fmt.Sprintf("%s:%d", WaitJob, c.ID))
}

type waitPayload struct {
	ConversationID int64 `json:"conversation_id"`
}

// inTxBudget is how many conversations a change that frees capacity gives
// out in its own transaction; the drain job gives out the rest.
const inTxBudget = 4

// Freed implements conversation.Assigner: an agent has one open
// conversation fewer in inboxID, so the queue may move, in tx.
func (s *Service) Freed(ctx context.Context, tx *event.Tx, inboxID int64) error {
	cfg, err := lock(ctx, tx.Tx, inboxID)
	if err != nil || !cfg.on() {
		return err
	}
	_, err = s.drain(ctx, tx, &cfg, inTxBudget)
	return err
}

// drain gives out up to budget queued conversations of cfg's inbox (whose
// lock tx holds), longest waiting first, with their events: those waiting
// for one agent go to that agent when they are ready, or fall through
// when their wait is over; the others go by the basic rule while anyone
// has room. When some could still move it enqueues the drain job. It
// returns how many were assigned.
func (s *Service) drain(ctx context.Context, tx *event.Tx, cfg *config, budget int) (int, error) {
	// What waits: for one agent (few), and for anyone, from the head.
	ids, err := db.IDs(ctx, tx, `SELECT id FROM conversations WHERE inbox_id = $1 AND queued_at IS NOT NULL AND queue_agent_id IS NOT NULL
		ORDER BY queued_at, id`, cfg.inboxID)
	if err != nil {
		return 0, fmt.Errorf("routing: drain: %w", err)
	}
	general, err := db.IDs(ctx, tx, `SELECT id FROM conversations WHERE inbox_id = $1 AND queued_at IS NOT NULL AND queue_agent_id IS NULL
		ORDER BY queued_at, id LIMIT $2`, cfg.inboxID, budget+1)
	if err != nil {
		return 0, fmt.Errorf("routing: drain: %w", err)
	}
	if len(ids) == 0 && len(general) == 0 {
		return 0, nil
	}
	ms, err := members(ctx, tx.Tx, cfg)
	if err != nil {
		return 0, err
	}
	n := 0
	now := db.Now()
	// Conversations waiting for one agent first: they are not behind the
	// others, only beside them.
	for _, id := range ids {
		if n >= budget {
			break
		}
		c, err := conversation.Load(ctx, tx, id)
		if err != nil {
			return n, err
		}
		q := c.Queue
		m := find(ms, derefID(q.WaitingFor))
		pref := cfg.Previous
		if c.OwnerID != nil && derefID(q.WaitingFor) == *c.OwnerID {
			pref = cfg.Owner
		}
		var placed bool
		switch {
		case m != nil && ready(m, pref):
			err = s.assign(ctx, tx, cfg, &c, m, false)
			placed = true
		case q.WaitingUntil != nil && !q.WaitingUntil.After(now), m == nil, !cfg.Advanced:
			// The wait is over (or its agent is gone): the next rules.
			st := fromBasic
			if c.OwnerID != nil && derefID(q.WaitingFor) == *c.OwnerID {
				st = fromPrevious
			}
			placed, err = s.fallThrough(ctx, tx, cfg, ms, &c, st)
		default:
			continue
		}
		if err != nil {
			return n, err
		}
		conversation.Emit(tx, &c, 0)
		if placed {
			n++
		}
	}
	for _, id := range general {
		if n >= budget || cfg.Rule == None {
			break
		}
		m := pick(cfg.Rule, ms, cfg.lastUser, 0)
		if m == nil {
			break // nobody has room: the queue stays as it is
		}
		c, err := conversation.Load(ctx, tx, id)
		if err != nil {
			return n, err
		}
		if err := s.assign(ctx, tx, cfg, &c, m, true); err != nil {
			return n, err
		}
		conversation.Emit(tx, &c, 0)
		n++
	}
	if n >= budget {
		// More may move: the drain job goes on after this commits.
		if _, err := s.queue.Enqueue(ctx, tx.Tx, DrainJob, drainPayload{InboxID: cfg.inboxID},
			job.Options{DedupKey: fmt.Sprintf("%s:%d", DrainJob, cfg.inboxID)}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// fallThrough places c, whose wait for one agent is over, from stage st:
// it stays in the queue at its place (since when it entered) when it must
// wait on.
func (s *Service) fallThrough(ctx context.Context, tx *event.Tx, cfg *config, ms []member, c *conversation.Conversation, st stage) (bool, error) {
	since := c.Queue.Since
	// Out of the wait, still at its place in the queue, then the rules.
	if err := conversation.Enqueue(ctx, tx.Tx, c, since, 0, time.Time{}); err != nil {
		return false, err
	}
	return s.place(ctx, tx, cfg, ms, c, st, 0)
}

type drainPayload struct {
	InboxID int64 `json:"inbox_id"`
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
