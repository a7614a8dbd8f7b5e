package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/user"
)

// drainBudget is how many conversations one transaction of the drain job
// gives out.
const drainBudget = 100

// Drain gives out what may move in inboxID's queue, in transactions of
// up to a hundred conversations, and reports how many were assigned.
func (s *Service) Drain(ctx context.Context, inboxID int64) (int, error) {
	total := 0
	for {
		var n int
		err := s.log.Write(ctx, func(tx *event.Tx) error {
			cfg, err := lock(ctx, tx.Tx, inboxID)
			if err != nil || !cfg.on() {
				n = 0
				return err
			}
			// A budget one short of a full round, so that this
			// transaction does not enqueue the job that is running.
			n, err = s.drain(ctx, tx, &cfg, drainBudget-1)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < drainBudget-1 {
			return total, nil
		}
	}
}

func (s *Service) handleDrain(ctx context.Context, j *job.Job) error {
	var p drainPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	_, err := s.Drain(ctx, p.InboxID)
	return err
}

// handleWait ends a conversation's wait for one agent: it falls through
// to the next rules (the job is idempotent: a conversation no longer
// waiting, or whose wait was extended, is left).
func (s *Service) handleWait(ctx context.Context, j *job.Job) error {
	var p waitPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	return s.log.Write(ctx, func(tx *event.Tx) error {
		c, err := conversation.Load(ctx, tx, p.ConversationID)
		if err != nil {
			return nil // gone
		}
		cfg, err := lock(ctx, tx.Tx, c.InboxID)
		if err != nil {
			return err
		}
		// Read again under the lock: a claim may have taken it meanwhile.
		if c, err = conversation.Load(ctx, tx, p.ConversationID); err != nil {
			return err
		}
		q := c.Queue
		if c.Status != conversation.Open || c.AssigneeID != nil || q == nil || q.WaitingFor == nil ||
			(q.WaitingUntil != nil && q.WaitingUntil.After(db.Now())) {
			return nil
		}
		ms, err := members(ctx, tx.Tx, &cfg)
		if err != nil {
			return err
		}
		st := fromBasic
		if c.OwnerID != nil && *q.WaitingFor == *c.OwnerID {
			st = fromPrevious
		}
		if _, err := s.fallThrough(ctx, tx, &cfg, ms, &c, st); err != nil {
			return err
		}
		conversation.Emit(tx, &c, 0)
		return nil
	})
}

type returnPayload struct {
	InboxID int64 `json:"inbox_id"`
	UserID  int64 `json:"user_id"`
}

// handleReturn returns to routing the open conversations of an agent who
// is still not Available whose customer waits for an answer.
func (s *Service) handleReturn(ctx context.Context, j *job.Job) error {
	var p returnPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	return s.log.Write(ctx, func(tx *event.Tx) error {
		var st user.Status
		if err := tx.QueryRow(ctx, `SELECT status FROM users WHERE id = $1`, p.UserID).Scan(&st); err != nil {
			return nil // gone
		}
		if st == user.Available {
			return nil
		}
		cfg, err := lock(ctx, tx.Tx, p.InboxID)
		if err != nil || cfg.ReturnAfterMinutes == 0 {
			return err
		}
		ids, err := db.IDs(ctx, tx, `SELECT id FROM conversations WHERE inbox_id = $1 AND assignee_id = $2 AND status = 'open'
			AND last_customer_message_at IS NOT NULL AND (last_agent_message_at IS NULL OR last_agent_message_at < last_customer_message_at)
			ORDER BY id`, p.InboxID, p.UserID)
		if err != nil || len(ids) == 0 {
			return err
		}
		ms, err := members(ctx, tx.Tx, &cfg)
		if err != nil {
			return err
		}
		for _, id := range ids {
			c, err := conversation.Load(ctx, tx, id)
			if err != nil {
				return err
			}
			if err := conversation.Unassign(ctx, tx.Tx, &c, 0); err != nil {
				return err
			}
			if m := find(ms, p.UserID); m != nil {
				m.load--
			}
			if _, err := s.place(ctx, tx, &cfg, ms, &c, fromOwner, p.UserID); err != nil {
				return err
			}
			conversation.Emit(tx, &c, p.UserID)
		}
		return nil
	})
}

// StatusChanged is told of userID's status change in its transaction
// (availability calls it): an agent who turns Available may be given what
// waits in their inboxes' queues, at once; one who leaves Available has
// their unanswered conversations returned later where an inbox asks for
// that.
func (s *Service) StatusChanged(ctx context.Context, tx *event.Tx, userID int64, from, to user.Status) error {
	if from == to {
		return nil
	}
	// Inboxes in id order: the locks of one change are taken in one order.
	rows, err := tx.Query(ctx, `SELECT a.inbox_id, a.return_after_minutes FROM inbox_members m
		JOIN inbox_assignment a ON a.inbox_id = m.inbox_id WHERE m.user_id = $1 ORDER BY a.inbox_id`, userID)
	if err != nil {
		return fmt.Errorf("routing: status: %w", err)
	}
	type inboxReturn struct {
		id      int64
		minutes int
	}
	var inboxes []inboxReturn
	for rows.Next() {
		var r inboxReturn
		if err := rows.Scan(&r.id, &r.minutes); err != nil {
			rows.Close()
			return err
		}
		inboxes = append(inboxes, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, in := range inboxes {
		key := fmt.Sprintf("%s:%d:%d", ReturnJob, in.id, userID)
		if to == user.Available {
			if err := s.queue.Cancel(ctx, tx.Tx, key); err != nil {
				return err
			}
			if err := s.Freed(ctx, tx, in.id); err != nil {
				return err
			}
			continue
		}
		if in.minutes > 0 && from == user.Available {
			if _, err := s.queue.Enqueue(ctx, tx.Tx, ReturnJob, returnPayload{InboxID: in.id, UserID: userID},
				job.Options{RunAt: time.Now().Add(time.Duration(in.minutes) * time.Minute), DedupKey: key}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Consumer is routing's reaction to membership changes, outside the
// transactions that make them: a member added may take from the queue
// (the drain job), and a member removed from an inbox no longer works its
// conversations, which go back to routing.
func (s *Service) Consumer() event.Consumer {
	return event.Consumer{Name: "routing", Scope: event.Shared, Types: []string{event.MembershipChanged}, Handle: s.handleMembership}
}

func (s *Service) handleMembership(ctx context.Context, events []event.Event) error {
	users := map[int64]bool{}
	for _, e := range events {
		if e.UserID != 0 {
			users[e.UserID] = true
		}
	}
	for uid := range users {
		if err := s.Reconcile(ctx, uid); err != nil {
			return err
		}
	}
	return nil
}

// Reconcile brings routing in line with userID's memberships: their open
// conversations in inboxes they may no longer be assigned go back to
// routing, and the queues of the inboxes they are a member of may move
// (the drain job). It is idempotent.
func (s *Service) Reconcile(ctx context.Context, userID int64) error {
	return s.log.Write(ctx, func(tx *event.Tx) error {
		ids, err := db.IDs(ctx, tx, `SELECT c.id FROM conversations c JOIN users u ON u.id = c.assignee_id
			WHERE c.assignee_id = $1 AND c.status = 'open' AND u.role NOT IN ('admin', 'inbox_manager')
			AND NOT EXISTS (SELECT 1 FROM inbox_members m WHERE m.inbox_id = c.inbox_id AND m.user_id = $1)
			ORDER BY c.inbox_id, c.id`, userID)
		if err != nil {
			return fmt.Errorf("routing: reconcile: %w", err)
		}
		for _, id := range ids {
			c, err := conversation.Load(ctx, tx, id)
			if err != nil {
				return err
			}
			if err := conversation.Unassign(ctx, tx.Tx, &c, 0); err != nil {
				return err
			}
			if err := s.Place(ctx, tx, &c); err != nil {
				return err
			}
			conversation.Emit(tx, &c, userID)
		}
		inboxes, err := db.IDs(ctx, tx, `SELECT m.inbox_id FROM inbox_members m WHERE m.user_id = $1
			AND EXISTS (SELECT 1 FROM conversations c WHERE c.inbox_id = m.inbox_id AND c.queued_at IS NOT NULL)`, userID)
		if err != nil {
			return err
		}
		return s.enqueueDrains(ctx, tx.Tx, inboxes)
	})
}

func (s *Service) enqueueDrains(ctx context.Context, tx *db.Tx, inboxes []int64) error {
	for _, id := range inboxes {
		if _, err := s.queue.Enqueue(ctx, tx, DrainJob, drainPayload{InboxID: id},
			job.Options{DedupKey: fmt.Sprintf("%s:%d", DrainJob, id)}); err != nil {
			return err
		}
	}
	return nil
}

// Sweep enqueues the drain job of every inbox whose queue is not empty,
// which also ends the waits whose job was lost. It reads the queue's
// partial index only, so it costs next to nothing when nothing waits.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	inboxes, err := db.IDs(ctx, s.db, `SELECT DISTINCT inbox_id FROM conversations WHERE queued_at IS NOT NULL`)
	if err != nil || len(inboxes) == 0 {
		return 0, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error { return s.enqueueDrains(ctx, tx, inboxes) })
	return len(inboxes), err
}

// Run sweeps every SweepEvery until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("routing: sweep", "err", err)
		}
	}
}
