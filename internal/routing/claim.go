package routing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// errTaken answers a claim of a conversation that is no longer in the
// queue (another agent claimed it, routing gave it out, it was closed).
var errTaken = problem.Conflict("This conversation is no longer in the queue: someone else has taken it.")

// visible loads conversation id in tx when a may see it.
func visible(ctx context.Context, tx *db.Tx, a policy.Actor, id int64) (conversation.Conversation, error) {
	c, err := conversation.Load(ctx, tx, id)
	if err != nil {
		return c, err
	}
	if !policy.ConversationScope(a).Allows(policy.Ref{InboxID: c.InboxID, AssigneeID: derefID(c.AssigneeID), OwnerID: derefID(c.OwnerID)}) {
		return conversation.Conversation{}, conversation.ErrNotFound
	}
	return c, nil
}

// mayWork reports whether userID (active) may be assigned conversations
// of inboxID, with their role.
func mayWork(ctx context.Context, tx *db.Tx, userID, inboxID int64) (policy.Role, bool, error) {
	var role policy.Role
	err := tx.QueryRow(ctx, `SELECT role FROM users WHERE id = $1 AND deactivated_at IS NULL`, userID).Scan(&role)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	inboxes, err := user.Inboxes(ctx, tx, userID)
	if err != nil {
		return "", false, err
	}
	return role, policy.MayBeAssigned(role, inboxes, inboxID), nil
}

// Claim gives a queued conversation to the agent a who asks for it, even
// at their limit (that is what claiming is for). Of two agents claiming
// one conversation at once, one gets it and the other a conflict.
func (s *Service) Claim(ctx context.Context, a policy.Actor, id int64) (conversation.Conversation, error) {
	if !policy.Allow(a, policy.ClaimConversations) {
		return conversation.Conversation{}, problem.Forbidden("You may not take conversations from the queue.")
	}
	var c conversation.Conversation
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		if c, err = visible(ctx, tx.Tx, a, id); err != nil {
			return err
		}
		if _, ok, err := mayWork(ctx, tx.Tx, a.UserID, c.InboxID); err != nil {
			return err
		} else if !ok {
			return problem.Forbidden("You are not a member of this conversation's inbox.")
		}
		cfg, err := lock(ctx, tx.Tx, c.InboxID)
		if err != nil {
			return err
		}
		// Read again under the inbox's lock: what a claim or a drain
		// committed meanwhile is seen.
		if c, err = conversation.Load(ctx, tx, id); err != nil {
			return err
		}
		if c.Status != conversation.Open || c.AssigneeID != nil || c.Queue == nil {
			return errTaken
		}
		if err := s.endWait(ctx, tx.Tx, &c); err != nil {
			return err
		}
		if err := conversation.AssignTo(ctx, tx.Tx, &c, a.UserID, a.UserID); err != nil {
			return err
		}
		if err := s.assigned(ctx, tx.Tx, &cfg, a.UserID, false); err != nil {
			return err
		}
		conversation.Emit(tx, &c, 0)
		return nil
	})
	return c, err
}

// Transfer gives an open conversation to another agent who may work its
// inbox. Service agents and admins transfer (policy.AssignConversations:
// sales hand customers over by changing the owner instead); an admin may
// give an agent more than their limit, a service agent may not. The agent
// who had it has room again, so the queue may move in the same
// transaction.
func (s *Service) Transfer(ctx context.Context, a policy.Actor, id, agentID int64) (conversation.Conversation, error) {
	if !policy.Allow(a, policy.AssignConversations) {
		return conversation.Conversation{}, problem.Forbidden("You may not transfer conversations.")
	}
	var c conversation.Conversation
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		if c, err = visible(ctx, tx.Tx, a, id); err != nil {
			return err
		}
		if _, ok, err := mayWork(ctx, tx.Tx, agentID, c.InboxID); err != nil {
			return err
		} else if !ok {
			return problem.Invalid("agent_id", "This agent is not a member of the conversation's inbox.")
		}
		cfg, err := lock(ctx, tx.Tx, c.InboxID)
		if err != nil {
			return err
		}
		if c, err = conversation.Load(ctx, tx, id); err != nil {
			return err
		}
		if c.Status != conversation.Open {
			return problem.Conflict("This conversation is closed.")
		}
		prev := derefID(c.AssigneeID)
		if prev == agentID {
			return problem.Conflict("This conversation is already theirs.")
		}
		if a.Role != policy.Admin {
			ms, err := members(ctx, tx.Tx, &cfg)
			if err != nil {
				return err
			}
			if m := find(ms, agentID); m != nil && !m.room() {
				return problem.Invalid("agent_id", "This agent is at their reception limit (%d of %d).", m.load, m.limit)
			}
		}
		if err := s.endWait(ctx, tx.Tx, &c); err != nil {
			return err
		}
		if err := conversation.AssignTo(ctx, tx.Tx, &c, agentID, a.UserID); err != nil {
			return err
		}
		if prev != 0 {
			if _, err := s.drain(ctx, tx, &cfg, inTxBudget); err != nil {
				return err
			}
		}
		conversation.Emit(tx, &c, prev)
		return nil
	})
	return c, err
}

// Candidate is someone a conversation may be transferred to, with what
// the Transfer menu shows.
type Candidate struct {
	ID            int64       `json:"id"`
	Name          string      `json:"name"`
	AvatarVersion string      `json:"avatar_version"`
	Status        user.Status `json:"status"`
	// Open is how many open conversations of the inbox they have; Limit
	// their reception limit there (0: none).
	Open  int `json:"open"`
	Limit int `json:"limit"`
}

// Candidates lists who conversation id may be transferred to: the active
// members of its inbox, Available first, then by name; not its assignee.
func (s *Service) Candidates(ctx context.Context, a policy.Actor, id int64) ([]Candidate, error) {
	c, err := conversation.Load(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if !policy.ConversationScope(a).Allows(policy.Ref{InboxID: c.InboxID, AssigneeID: derefID(c.AssigneeID), OwnerID: derefID(c.OwnerID)}) {
		return nil, conversation.ErrNotFound
	}
	rows, err := s.db.Query(ctx, `SELECT u.id, u.name, u.avatar_version, u.status, COALESCE(l.reception_limit, a.default_limit, 0),
			(SELECT COUNT(*) FROM conversations c WHERE c.inbox_id = m.inbox_id AND c.assignee_id = u.id AND c.status = 'open')
		FROM inbox_members m JOIN users u ON u.id = m.user_id
		LEFT JOIN member_limits l ON l.inbox_id = m.inbox_id AND l.user_id = m.user_id
		LEFT JOIN inbox_assignment a ON a.inbox_id = m.inbox_id
		WHERE m.inbox_id = $1 AND u.deactivated_at IS NULL AND u.id <> $2
		ORDER BY CASE WHEN u.status = 'available' THEN 0 ELSE 1 END, lower(u.name), u.id`, c.InboxID, derefID(c.AssigneeID))
	if err != nil {
		return nil, fmt.Errorf("routing: candidates: %w", err)
	}
	defer rows.Close()
	out := []Candidate{}
	for rows.Next() {
		var k Candidate
		if err := rows.Scan(&k.ID, &k.Name, &k.AvatarVersion, &k.Status, &k.Limit, &k.Open); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Waiting is one conversation of an inbox's queue.
type Waiting struct {
	ConversationID int64 `json:"conversation_id"`
	conversation.Queue
}

// Queue lists inboxID's queue, longest waiting first, with positions and
// estimated waits, up to limit (at most 500).
func (s *Service) Queue(ctx context.Context, inboxID int64, limit int) ([]Waiting, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	if err := inboxExists(ctx, s.db, inboxID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, queued_at, queue_agent_id, queue_until FROM conversations
		WHERE inbox_id = $1 AND queued_at IS NOT NULL ORDER BY queued_at, id LIMIT $2`, inboxID, limit)
	if err != nil {
		return nil, fmt.Errorf("routing: queue: %w", err)
	}
	defer rows.Close()
	out := []Waiting{}
	for rows.Next() {
		var w Waiting
		if err := rows.Scan(&w.ConversationID, &w.Since, &w.WaitingFor, &w.WaitingUntil); err != nil {
			return nil, err
		}
		w.Position = len(out) + 1
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	est, err := s.estimator(ctx, inboxID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].EstimatedWaitS = est(out[i].Position)
	}
	return out, nil
}

// QueueLength is how many conversations wait in inboxID's queue.
func (s *Service) QueueLength(ctx context.Context, inboxID int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM conversations WHERE inbox_id = $1 AND queued_at IS NOT NULL`, inboxID).Scan(&n)
	return n, err
}

// estimator returns the estimated wait of a position in inboxID's queue:
// the position times the moving average of the time between two
// conversations routing gave out there (nil when there is none yet).
func (s *Service) estimator(ctx context.Context, inboxID int64) (func(position int) *int, error) {
	var interval int64
	err := s.db.QueryRow(ctx, `SELECT interval_ms FROM inbox_assignment WHERE inbox_id = $1`, inboxID).Scan(&interval)
	if err != nil && !errors.Is(db.MapErr(err), db.ErrNotFound) {
		return nil, err
	}
	return func(position int) *int { return Estimate(interval, position) }, nil
}

// Estimate is the estimated wait in seconds at position of a queue whose
// conversations are given out every intervalMS on average (nil: unknown).
func Estimate(intervalMS int64, position int) *int {
	if intervalMS <= 0 || position <= 0 {
		return nil
	}
	s := int((time.Duration(intervalMS) * time.Millisecond * time.Duration(position)).Round(time.Second) / time.Second)
	return &s
}

// Fill sets the estimated waits of the queued conversations among cs (the
// position comes with the conversation), one query per inbox among them.
func (s *Service) Fill(ctx context.Context, cs []conversation.Conversation) error {
	ests := map[int64]func(int) *int{}
	for i := range cs {
		q := cs[i].Queue
		if q == nil {
			continue
		}
		est, ok := ests[cs[i].InboxID]
		if !ok {
			var err error
			if est, err = s.estimator(ctx, cs[i].InboxID); err != nil {
				return err
			}
			ests[cs[i].InboxID] = est
		}
		q.EstimatedWaitS = est(q.Position)
	}
	return nil
}

// EstimatedWait is the estimated wait at position of inboxID's queue
// (0: unknown), for the message that tells a customer.
func (s *Service) EstimatedWait(ctx context.Context, inboxID int64, position int) (time.Duration, error) {
	est, err := s.estimator(ctx, inboxID)
	if err != nil {
		return 0, err
	}
	if w := est(position); w != nil {
		return time.Duration(*w) * time.Second, nil
	}
	return 0, nil
}
