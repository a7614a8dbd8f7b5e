package conversation

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
)

// Assigner is routing, as the conversation core sees it: it places
// conversations that need an agent and hears of capacity freed. Both run
// in the transaction of the change that calls them. (routing.Service
// implements it; a nil Assigner leaves every conversation unassigned.)
type Assigner interface {
	// Place gives c, an open conversation without an assignee (just
	// opened by a customer, or returned to routing), to an agent with
	// AssignTo, or puts it in its inbox's queue with Enqueue, or leaves
	// it. It emits no event for c: the caller does.
	Place(ctx context.Context, tx *event.Tx, c *Conversation) error
	// Freed says that an agent has one open conversation fewer in
	// inboxID (closed, transferred away, unassigned, given to another):
	// the queue may move, and what it gives out has its events.
	Freed(ctx context.Context, tx *event.Tx, inboxID int64) error
}

// Queue is where a conversation waits in its inbox's queue for an agent.
type Queue struct {
	// Position is 1 for the conversation that has waited longest (set on
	// reads; 0 in events, whose readers read the conversation).
	Position int `json:"position"`
	// Since is when it entered the queue.
	Since time.Time `json:"since"`
	// EstimatedWaitS is how long it may still wait, from the inbox's
	// recent rate of assignment (null when there is none to go by). It is
	// set where routing fills it in (not in events).
	EstimatedWaitS *int `json:"estimated_wait_s"`
	// WaitingFor is the agent it waits for (the contact's owner, or the
	// agent who last handled the contact) until WaitingUntil, when it
	// falls through to the other rules.
	WaitingFor   *int64     `json:"waiting_for,omitempty"`
	WaitingUntil *time.Time `json:"waiting_until,omitempty"`
}

// autoAssign gives a conversation just opened by a customer to routing.
func (s *Service) autoAssign(ctx context.Context, tx *event.Tx, c *Conversation) error {
	if s.assigner == nil {
		return nil
	}
	return s.assigner.Place(ctx, tx, c)
}

// freed tells routing that an agent's conversation in inboxID was closed
// or taken from them.
func (s *Service) freed(ctx context.Context, tx *event.Tx, inboxID int64) error {
	if s.assigner == nil {
		return nil
	}
	return s.assigner.Freed(ctx, tx, inboxID)
}

// Load reads conversation id in q, whoever asks (for routing, inside its
// transactions).
func Load(ctx context.Context, q db.Querier, id int64) (Conversation, error) {
	return load(ctx, q, id)
}

// AssignTo gives c to agentID in tx and takes it out of its inbox's
// queue (and from the bot that held it), with the activity done by
// actorID (0: Switchboard). It checks
// nothing: routing has. It emits no event (see Emit).
func AssignTo(ctx context.Context, tx *db.Tx, c *Conversation, agentID, actorID int64) error {
	now := db.Now()
	act, changed := assignment(c.AssigneeID, &agentID)
	c.AssigneeID, c.Queue, c.BotID, c.UpdatedAt = &agentID, nil, nil, now
	if _, err := tx.Exec(ctx, `UPDATE conversations SET assignee_id = $2, queued_at = NULL, queue_agent_id = NULL, queue_until = NULL,
		bot_id = NULL, updated_at = $3 WHERE id = $1`, c.ID, agentID, now); err != nil {
		return fmt.Errorf("conversation: assign: %w", err)
	}
	if !changed {
		return nil
	}
	return record(ctx, tx, c, actorID, act)
}

// Enqueue puts c, unassigned, in its inbox's queue as of since (kept when
// it is queued already), waiting for agent waitFor until until when
// waitFor is not 0. It emits no event (see Emit).
func Enqueue(ctx context.Context, tx *db.Tx, c *Conversation, since time.Time, waitFor int64, until time.Time) error {
	if c.Queue != nil {
		since = c.Queue.Since
	}
	q := &Queue{Since: db.Time(since)}
	var agent any
	var end any
	if waitFor != 0 {
		q.WaitingFor, q.WaitingUntil = &waitFor, &until
		agent, end = waitFor, db.Time(until)
	}
	now := db.Now()
	if _, err := tx.Exec(ctx, `UPDATE conversations SET assignee_id = NULL, queued_at = $2, queue_agent_id = $3, queue_until = $4,
		bot_id = NULL, updated_at = $5 WHERE id = $1`, c.ID, q.Since, agent, end, now); err != nil {
		return fmt.Errorf("conversation: enqueue: %w", err)
	}
	if c.AssigneeID != nil {
		act, _ := assignment(c.AssigneeID, nil)
		if err := record(ctx, tx, c, 0, act); err != nil {
			return err
		}
	}
	c.AssigneeID, c.BotID, c.UpdatedAt = nil, nil, now
	if c.Queue != nil {
		q.Position = c.Queue.Position
	}
	c.Queue = q
	return nil
}

// Emit writes c's conversation.updated event; prevAssignee is who had it
// before the change (0: nobody).
func Emit(tx *event.Tx, c *Conversation, prevAssignee int64) {
	emitConversation(tx, event.ConversationUpdated, c, prevAssignee)
}

// Release returns to routing, in tx, the open conversations assigned to
// userID (whose account is being deactivated): each goes to whom routing
// picks for its inbox (the caller has already taken userID out of
// automatic assignment), or to the inbox's queue. It returns how many
// were released.
func (s *Service) Release(ctx context.Context, tx *event.Tx, userID int64) (int, error) {
	ids, err := db.IDs(ctx, tx, `SELECT id FROM conversations WHERE assignee_id = $1 AND status = 'open' ORDER BY id`, userID)
	if err != nil {
		return 0, fmt.Errorf("conversation: release: %w", err)
	}
	for _, id := range ids {
		if err := s.release(ctx, tx, id, 0); err != nil {
			return 0, fmt.Errorf("conversation: release: %w", err)
		}
	}
	return len(ids), nil
}

// release takes conversation id from its assignee and gives it to routing,
// with the activity done by actorID (0: Switchboard), and its event.
func (s *Service) release(ctx context.Context, tx *event.Tx, id, actorID int64) error {
	c, err := load(ctx, tx, id)
	if err != nil {
		return err
	}
	prev := deref(c.AssigneeID)
	if err := Unassign(ctx, tx.Tx, &c, actorID); err != nil {
		return err
	}
	if err := s.autoAssign(ctx, tx, &c); err != nil {
		return err
	}
	emitConversation(tx, event.ConversationUpdated, &c, prev)
	return nil
}

// Unassign takes c from its assignee in tx (and out of the queue), with
// the activity done by actorID (0: Switchboard); no event (see Emit).
func Unassign(ctx context.Context, tx *db.Tx, c *Conversation, actorID int64) error {
	now := db.Now()
	act, changed := assignment(c.AssigneeID, nil)
	c.AssigneeID, c.Queue, c.UpdatedAt = nil, nil, now
	if _, err := tx.Exec(ctx, `UPDATE conversations SET assignee_id = NULL, queued_at = NULL, queue_agent_id = NULL, queue_until = NULL,
		updated_at = $2 WHERE id = $1`, c.ID, now); err != nil {
		return fmt.Errorf("conversation: unassign: %w", err)
	}
	if !changed {
		return nil
	}
	return record(ctx, tx, c, actorID, act)
}
