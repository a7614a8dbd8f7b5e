package user

import (
	"context"
	"fmt"
	"slices"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Members is a table of users' memberships in groups: one row per group
// and user, such as inbox_members (group column inbox_id) or team_members
// (team_id). Both names are the code's own, never input.
type Members struct {
	Table string
	Group string
}

// Set makes userIDs the members of the group in tx, each once, and returns
// them in order. An id that is no user is a problem on member_ids, and
// nothing of the change stays.
func (m Members) Set(ctx context.Context, tx *db.Tx, groupID int64, userIDs []int64) ([]int64, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM `+m.Table+` WHERE `+m.Group+` = $1`, groupID); err != nil {
		return nil, fmt.Errorf("user: set %s: %w", m.Table, err)
	}
	out := []int64{}
	for _, id := range userIDs {
		if slices.Contains(out, id) {
			continue
		}
		res, err := tx.Exec(ctx, `INSERT INTO `+m.Table+` (`+m.Group+`, user_id) SELECT $1, id FROM users WHERE id = $2`, groupID, id)
		if err != nil {
			return nil, fmt.Errorf("user: set %s: %w", m.Table, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, problem.Invalid("member_ids", "User %d does not exist.", id)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}
