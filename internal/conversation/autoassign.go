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
