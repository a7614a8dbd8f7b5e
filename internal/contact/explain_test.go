package contact_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// seedContacts imports n contacts: one in 10 tagged "vip", one in 20
// owned by the sales agent and one in 20 pending, the rest the admin's;
// gives them conversations (a few the sales agent's); then it updates
// the planner's statistics.
func seedContacts(t testing.TB, d *db.DB, n int) people {
	t.Helper()
	ctx := context.Background()
	p := mkUsers(t, d)
	var b strings.Builder
	b.WriteString("name,phone,email,tags,owner\n")
	for i := range n {
		tags, owner := "regular", ""
		if i%10 == 0 {
			tags = "vip"
		}
		switch i % 20 {
		case 1:
			owner = "sales@x.test"
		case 2:
			owner = fmt.Sprintf("later%d@example.com", i%50)
		case 3, 4, 5: // no owner
		default:
			owner = "admin@x.test"
		}
		fmt.Fprintf(&b, "Customer %d,+346%08d,c%d@example.com,%s,%s\n", i, i, i, tags, owner)
	}
	if _, err := importFile(t, d, b.String()); err != nil {
		t.Fatal(err)
	}
	err := d.Write(ctx, func(tx *db.Tx) error {
		var inbox int64
		if err := tx.QueryRow(ctx, `INSERT INTO inboxes (type, name, public_token, created_at, updated_at) VALUES ('webchat', 'S', 's', $1, $1) RETURNING id`, db.Now()).Scan(&inbox); err != nil {
			return err
		}
		for i := 0; i < n/10; i++ {
			id, assignee := int64(i*7+3), p.admin
			if i%100 == 0 {
				assignee = p.sales
			}
			if _, err := tx.Exec(ctx, `INSERT INTO contact_identities (contact_id, inbox_id, external_id, created_at) VALUES ($1, $2, $3, $4)`, id, inbox, fmt.Sprint(i), db.Now()); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO conversations (inbox_id, contact_id, status, started_by, assignee_id, last_activity_at, created_at, updated_at)
				VALUES ($1, $2, 'open', 'customer', $3, $4, $4, $4)`, inbox, id, assignee, db.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExplainContacts checks the plans of the contacts page's views on
// both engines (see badContactPlan): every filter is read through its
// index in the list's order, and a sales agent's contacts through the
// two index ranges of theirs. Run with -v to print the plans.
func TestExplainContacts(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := seedContacts(t, d, 20_000)
		scopes := map[string]policy.Scope{
			"admin": {Kind: policy.ScopeAll, UserID: p.admin},
			"sales": {Kind: policy.ScopeAssignedOrOwned, UserID: p.sales},
		}
		views := []struct {
			name  string
			o     contact.ListOptions
			index string // the index the view must read ("" for any, "-" for a search)
		}{
			{"all", contact.ListOptions{}, ""},
			{"next page", contact.ListOptions{Before: 10_000}, ""},
			{"search", contact.ListOptions{Query: "customer 12"}, "-"},
			{"tag", contact.ListOptions{Tag: "vip"}, "contact_tags_tag"},
			{"tag, next page", contact.ListOptions{Tag: "vip", Before: 10_000}, "contact_tags_tag"},
			{"owner", contact.ListOptions{Owner: contact.OwnerFilter{Kind: contact.OwnedBy, UserID: p.sales}}, "contacts_owner"},
			{"no owner", contact.ListOptions{Owner: contact.OwnerFilter{Kind: contact.NoOwner}}, ""},
			{"pending", contact.ListOptions{Owner: contact.OwnerFilter{Kind: contact.PendingOwner}}, "contacts_pending"},
		}
		for who, s := range scopes {
			for _, v := range views {
				o := v.o
				o.Limit = 25
				q, args := contact.ListQuery(s, o)
				plan, err := explain(ctx, d, q, args)
				if err != nil {
					t.Fatalf("%s / %s: %v\n%s", who, v.name, err, q)
				}
				t.Logf("%s / %s\n%s\n  %s", who, v.name, q, strings.Join(plan, "\n  "))
				index := v.index
				if s.Kind == policy.ScopeAssignedOrOwned {
					index = "contacts_owner" // the owned range drives; the filter is applied to few rows
				}
				if v.index == "-" {
					// A search by part of a name, phone or email reads the
					// rows until the page is full (SQLite, in the list's
					// order) or all of them (PostgreSQL may scan and keep
					// the top of the page).
					continue
				}
				if bad := badContactPlan(d.Dialect(), plan, index, s.Kind == policy.ScopeAssignedOrOwned); bad != "" {
					t.Errorf("%s / %s: %s\n%s\n  %s", who, v.name, bad, q, strings.Join(plan, "\n  "))
				}
			}
		}
	})
}

// badContactPlan says what is wrong with the plan of a page of contacts,
// or "": the contacts table is never read whole but in the id order of
// the list, stopping at the page's end (SQLite: no temporary B-tree sorts
// the rows); a view with a filter reads the filter's index. A sales
// agent's view gathers their few contacts by index and sorts them.
func badContactPlan(d db.Dialect, plan []string, index string, small bool) string {
	all := strings.Join(plan, "\n")
	if index != "" && !strings.Contains(all, index) {
		return "the index " + index + " is not used"
	}
	if d == db.Postgres {
		if strings.Contains(all, "Seq Scan on contacts") && !small {
			return "contacts is scanned"
		}
		if strings.Contains(all, "Seq Scan") && small {
			return "a table is scanned"
		}
		if !small && strings.Contains(all, "Sort") {
			return "the rows are sorted"
		}
		return ""
	}
	for _, line := range plan {
		l := strings.TrimSpace(line)
		if small && strings.HasPrefix(l, "SCAN ") {
			return "a table is scanned: " + l
		}
		if !small && strings.Contains(l, "TEMP B-TREE") {
			return "the rows are sorted: " + l
		}
	}
	return ""
}

// explain returns the plan of q, one line per node.
func explain(ctx context.Context, d *db.DB, q string, args []any) ([]string, error) {
	if d.Dialect() == db.Postgres {
		rows, err := d.Query(ctx, "EXPLAIN (COSTS OFF) "+q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return nil, err
			}
			plan = append(plan, line)
		}
		return plan, rows.Err()
	}
	rows, err := d.Query(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	depth := map[int64]int{}
	var plan []string
	for rows.Next() {
		var id, parent, unused int64
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		depth[id] = depth[parent] + 1
		plan = append(plan, strings.Repeat("  ", depth[id]-1)+detail)
	}
	return plan, rows.Err()
}
