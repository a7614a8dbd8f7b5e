package contact

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// exportPage is how many contacts Export reads at a time.
const exportPage = 1000

// Export writes the contacts the scope may see that o's filters keep
// (its Before and Limit aside) to w as CSV, newest first, in the columns
// ReadCSV reads (Columns): a file that imports back to the same
// contacts. It reads a page at a time, so that a large export holds no
// long read and little memory. Contacts with neither phone nor email are
// left out: an import could not match them again.
func Export(ctx context.Context, q db.Querier, s policy.Scope, o ListOptions, w io.Writer) error {
	emails := map[int64]string{}
	rows, err := q.Query(ctx, `SELECT id, email FROM users`)
	if err != nil {
		return fmt.Errorf("contact: export: %w", err)
	}
	for rows.Next() {
		var id int64
		var e string
		if err := rows.Scan(&id, &e); err != nil {
			rows.Close()
			return err
		}
		emails[id] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	o.Before, o.Limit = 0, exportPage
	rec := make([]string, len(Columns))
	for {
		page, err := List(ctx, q, s, o)
		if err != nil {
			return err
		}
		for _, c := range page {
			if c.Phone == nil && c.Email == nil {
				continue
			}
			owner := derefString(c.OwnerEmail)
			if c.OwnerID != nil {
				owner = emails[*c.OwnerID]
			}
			rec[0], rec[1], rec[2] = quoteCell(c.Name), derefString(c.Phone), quoteCell(derefString(c.Email))
			rec[3], rec[4] = quoteCell(strings.Join(c.Tags, ", ")), quoteCell(owner)
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		o.Before = page[len(page)-1].ID
	}
}
