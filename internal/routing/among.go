package routing

import (
	"context"
	"slices"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/event"
)

// PlaceAmong gives c, open and without an assignee, to the least busy of
// userIDs (a team) who is a member of c's inbox, Available and under their
// reception limit, with the inbox locked as Place locks it, in tx. It
// reports whether it did; when it did not, c is as it was (the caller may
// Place it by the inbox's rules). The caller emits c's event.
func (s *Service) PlaceAmong(ctx context.Context, tx *event.Tx, c *conversation.Conversation, userIDs []int64) (bool, error) {
	if c.Status != conversation.Open || c.AssigneeID != nil || len(userIDs) == 0 {
		return false, nil
	}
	cfg, err := lock(ctx, tx.Tx, c.InboxID)
	if err != nil {
		return false, err
	}
	ms, err := members(ctx, tx.Tx, &cfg)
	if err != nil {
		return false, err
	}
	ms = slices.DeleteFunc(ms, func(m member) bool { return !slices.Contains(userIDs, m.id) })
	m := pick(LeastBusy, ms, cfg.lastUser, 0)
	if m == nil {
		return false, nil
	}
	return true, s.assign(ctx, tx, &cfg, c, m, false)
}
