package conversation

import (
	"context"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
)

// Assigner picks who gets a conversation a customer has just opened, in
// the transaction that opens it: an agent's id, or 0 to leave it
// unassigned. (availability.Service gives it to the inbox's Available
// members in turn when the inbox asks for that.)
type Assigner interface {
	Next(ctx context.Context, tx *db.Tx, inboxID int64) (int64, error)
}

// AssignNewWith makes Receive give new conversations to whom a picks.
// Call it while assembling the node, before it serves.
func (s *Service) AssignNewWith(a Assigner) { s.assigner = a }

// autoAssign gives a conversation just opened by a customer to whom the
// assigner picks, if anyone.
func (s *Service) autoAssign(ctx context.Context, tx *event.Tx, c *Conversation) error {
	if s.assigner == nil {
		return nil
	}
	id, err := s.assigner.Next(ctx, tx.Tx, c.InboxID)
	if err != nil || id == 0 {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE conversations SET assignee_id = $2 WHERE id = $1`, c.ID, id); err != nil {
		return fmt.Errorf("conversation: assign new: %w", err)
	}
	c.AssigneeID = &id
	return record(ctx, tx.Tx, c, 0, Activity{Kind: ActAssigned, AssigneeID: &id})
}

// Release returns to routing, in tx, the open conversations assigned to
// userID (whose account is being deactivated): each goes to whom the
// assigner picks for its inbox (the caller has already taken userID out of
// automatic assignment) or, if nobody, waits unassigned. It returns how
// many were released.
func (s *Service) Release(ctx context.Context, tx *event.Tx, userID int64) (int, error) {
	ids, err := db.IDs(ctx, tx, `SELECT id FROM conversations WHERE assignee_id = $1 AND status = 'open' ORDER BY id`, userID)
	if err != nil {
		return 0, fmt.Errorf("conversation: release: %w", err)
	}
	now := db.Now()
	for _, id := range ids {
		c, err := load(ctx, tx, id)
		if err != nil {
			return 0, fmt.Errorf("conversation: release: %w", err)
		}
		c.AssigneeID, c.UpdatedAt = nil, now
		if s.assigner != nil {
			next, err := s.assigner.Next(ctx, tx.Tx, c.InboxID)
			if err != nil {
				return 0, fmt.Errorf("conversation: release: %w", err)
			}
			if next != 0 && next != userID {
				c.AssigneeID = &next
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE conversations SET assignee_id = $2, updated_at = $3 WHERE id = $1`, id, c.AssigneeID, now); err != nil {
			return 0, fmt.Errorf("conversation: release: %w", err)
		}
		emitConversation(tx, event.ConversationUpdated, &c, userID)
	}
	return len(ids), nil
}
