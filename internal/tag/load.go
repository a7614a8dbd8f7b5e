package tag

import (
	"context"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Table is where the tags of one kind of item are kept: one row per item
// and tag, such as contact_tags (item column contact_id) or
// conversation_tags (conversation_id). Both names are the code's own,
// never input.
type Table struct {
	Name string
	Item string
}

// Fill adds to each item its tags from the table, in order, with one
// query; ref gives an item's id and its list of tags.
func Fill[T any](ctx context.Context, q db.Querier, t Table, items []*T, ref func(*T) (int64, *[]string)) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]int64, len(items))
	byID := make(map[int64]*[]string, len(items))
	for i, it := range items {
		id, tags := ref(it)
		ids[i], byID[id] = id, tags
	}
	rows, err := q.Query(ctx, `SELECT `+t.Item+`, tag FROM `+t.Name+` WHERE `+t.Item+` IN (`+db.IDList(ids)+`) ORDER BY tag`)
	if err != nil {
		return fmt.Errorf("tag: %s: %w", t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return fmt.Errorf("tag: %s: %w", t.Name, err)
		}
		tags := byID[id]
		*tags = append(*tags, tag)
	}
	return rows.Err()
}
