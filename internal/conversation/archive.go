package conversation

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// errArchived refuses work in an archived inbox.
var errArchived = problem.Conflict("This inbox is archived: its conversations are read-only.")

// ArchiveInbox archives inbox id in one transaction: it receives nothing
// more, and its open conversations are closed (they stay, read-only and
// searchable). It returns how many were closed.
func (s *Service) ArchiveInbox(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		now := db.Now()
		res, err := tx.Exec(ctx, `UPDATE inboxes SET archived_at = $2, updated_at = $2 WHERE id = $1 AND archived_at IS NULL`, id, now)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			if err := archived(ctx, tx.Tx, id); errors.Is(err, db.ErrNotFound) {
				return problem.NotFound("Inbox")
			}
			return problem.Conflict("This inbox is archived already.")
		}
		ids, err := db.IDs(ctx, tx, `SELECT id FROM conversations WHERE inbox_id = $1 AND status = 'open' ORDER BY id`, id)
		if err != nil {
			return err
		}
		for _, cid := range ids {
			c, err := load(ctx, tx, cid)
			if err != nil {
				return err
			}
			c.Status, c.ClosedAt, c.UpdatedAt, c.Queue = Closed, &now, now, nil
			if _, err := tx.Exec(ctx, `UPDATE conversations SET status = 'closed', closed_at = $2, updated_at = $2,
				queued_at = NULL, queue_agent_id = NULL, queue_until = NULL WHERE id = $1`, cid, now); err != nil {
				return err
			}
			emitConversation(tx, event.ConversationUpdated, &c, deref(c.AssigneeID))
		}
		n = len(ids)
		// The channels' caches of the inbox (a WhatsApp number's routing)
		// follow inbox changes on every node.
		tx.Emit(event.New(event.InboxChanged, map[string]any{"id": id, "archived_at": now}))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("conversation: archive inbox: %w", err)
	}
	return n, nil
}

// archived answers errArchived when inbox id is archived (db.ErrNotFound
// when there is no such inbox).
func archived(ctx context.Context, q db.Querier, id int64) error {
	var yes bool
	if err := q.QueryRow(ctx, `SELECT archived_at IS NOT NULL FROM inboxes WHERE id = $1`, id).Scan(&yes); err != nil {
		return db.MapErr(err)
	}
	if yes {
		return errArchived
	}
	return nil
}
