package conversation

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// The list benchmarks run on a database seeded by "sbbench seed": set
// SWITCHBOARD_BENCH_DB to its data directory (SQLite) or its postgres://
// URL. See docs/benchmarks.md.

// listViews are the inbox's default views.
var listViews = []struct {
	name string
	o    ListOptions
}{
	{"mine", ListOptions{Status: Open, Assignee: Assignee{Me: true}}},
	{"unassigned", ListOptions{Status: Open, Assignee: Assignee{None: true}}},
	{"all-open", ListOptions{Status: Open}},
	{"all", ListOptions{}},
}

func benchDB(tb testing.TB) (*db.DB, map[policy.Role]policy.Actor) {
	tb.Helper()
	u := os.Getenv("SWITCHBOARD_BENCH_DB")
	if u == "" {
		tb.Skip("set SWITCHBOARD_BENCH_DB to a database seeded by sbbench seed")
	}
	var d *db.DB
	var err error
	if strings.HasPrefix(u, "postgres") {
		d, err = db.Open(context.Background(), u, "")
	} else {
		d, err = db.Open(context.Background(), "", u)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	ctx := context.Background()
	actors := map[policy.Role]policy.Actor{}
	for _, role := range policy.Roles {
		var a policy.Actor
		if err := d.QueryRow(ctx, `SELECT id, role FROM users WHERE role = $1 ORDER BY id LIMIT 1`, role).Scan(&a.UserID, &a.Role); err != nil {
			tb.Fatalf("no %s user: %v", role, err)
		}
		rows, err := d.Query(ctx, `SELECT inbox_id FROM inbox_members WHERE user_id = $1 ORDER BY inbox_id`, a.UserID)
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			a.Inboxes = append(a.Inboxes, id)
		}
		rows.Close()
		actors[role] = a
	}
	return d, actors
}

// BenchmarkList is the inbox list (25 rows) per role and default view.
func BenchmarkList(b *testing.B) {
	d, actors := benchDB(b)
	s := NewService(d, nil, nil, attachment.DefaultLimits, nil)
	ctx := context.Background()
	for _, role := range policy.Roles {
		for _, v := range listViews {
			b.Run(string(role)+"/"+v.name, func(b *testing.B) {
				o := v.o
				o.Limit = 25
				for b.Loop() {
					if _, err := s.List(ctx, actors[role], o); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestExplainList checks the query plan of every role's default views on
// both engines (see badPlan): conversations is read through its indexes,
// never scanned whole. It runs on a fresh
// database with 20,000 conversations (and, with SWITCHBOARD_BENCH_DB set,
// on that database too); go test -run ExplainList -v prints the plans.
func TestExplainList(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		explainList(t, d, seedList(t, d))
	})
	if os.Getenv("SWITCHBOARD_BENCH_DB") != "" {
		t.Run("bench", func(t *testing.T) {
			d, actors := benchDB(t)
			explainList(t, d, actors)
		})
	}
}

func explainList(t *testing.T, d *db.DB, actors map[policy.Role]policy.Actor) {
	ctx := context.Background()
	for _, role := range policy.Roles {
		for _, v := range listViews {
			o := v.o
			o.Limit = 25
			a := actors[role]
			q, args := listQuery(policy.ConversationScope(a), a.UserID, o, nil)
			plan, err := explain(ctx, d, q, args)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", role, v.name, err, q)
			}
			t.Logf("%s / %s\n%s\n  %s", role, v.name, q, strings.Join(plan, "\n  "))
			if bad := badPlan(d.Dialect(), plan); bad != "" {
				t.Errorf("%s / %s: %s\n%s\n  %s", role, v.name, bad, q, strings.Join(plan, "\n  "))
			}
		}
	}
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

// badPlan says what is wrong with a list query's plan, or "".
//
// Both engines: conversations is read through one of its indexes, never
// scanned as a table, and an index read without a condition (the whole
// index, in the list's order) stops at its branch's limit.
//
// SQLite also reads each branch in order: no temporary B-tree sorts the
// rows of a conversations index (the union of the branches, at most 26
// rows each, is sorted). PostgreSQL may instead fetch a small set (an
// agent's open conversations) with a bitmap index scan and sort it, when
// its statistics say that is cheaper.
func badPlan(dialect db.Dialect, plan []string) string {
	if dialect == db.Postgres {
		for i, line := range plan {
			node := pgNode(line)
			if !strings.HasSuffix(node, " on conversations") && !strings.Contains(node, " on conversations ") {
				continue // another table, or one of conversations' indexes
			}
			switch {
			case strings.HasPrefix(node, "Index Scan"), strings.HasPrefix(node, "Index Only Scan"):
				if !hasChild(plan, i, "Index Cond:") && !strings.HasPrefix(pgNode(parent(plan, i)), "Limit") {
					return "the whole index read: " + node
				}
			case strings.HasPrefix(node, "Bitmap Heap Scan"):
				if !hasChild(plan, i, "Bitmap Index Scan on conversations_") {
					return "a bitmap scan without a conversations index: " + node
				}
			default:
				return "conversations read by " + node
			}
		}
		return ""
	}
	for i, line := range plan {
		detail := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(detail, "SCAN conversations") || strings.HasPrefix(detail, "SEARCH conversations"):
			if !strings.Contains(detail, " USING INDEX ") && !strings.Contains(detail, " USING COVERING INDEX ") {
				return "conversations read without an index: " + detail
			}
		case strings.Contains(detail, "TEMP B-TREE FOR ORDER BY"):
			for _, sib := range siblings(plan, i) {
				if strings.Contains(sib, " conversations ") {
					return "the rows of " + strings.TrimSpace(sib) + " sorted (line " + strconv.Itoa(i+1) + ")"
				}
			}
		}
	}
	return ""
}

// pgNode is the plan node of an EXPLAIN line, without indentation and
// arrow.
func pgNode(line string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->"))
}

// parent is the line that line i is indented under.
func parent(plan []string, i int) string {
	for j := i - 1; j >= 0; j-- {
		if indent(plan[j]) < indent(plan[i]) {
			return plan[j]
		}
	}
	return ""
}

// hasChild reports whether a line indented under line i starts with
// prefix.
func hasChild(plan []string, i int, prefix string) bool {
	for j := i + 1; j < len(plan) && indent(plan[j]) > indent(plan[i]); j++ {
		if strings.HasPrefix(pgNode(plan[j]), prefix) {
			return true
		}
	}
	return false
}

// siblings are the lines with the same parent as line i.
func siblings(plan []string, i int) []string {
	var out []string
	for j := i - 1; j >= 0 && indent(plan[j]) >= indent(plan[i]); j-- {
		if indent(plan[j]) == indent(plan[i]) {
			out = append(out, plan[j])
		}
	}
	for j := i + 1; j < len(plan) && indent(plan[j]) >= indent(plan[i]); j++ {
		if indent(plan[j]) == indent(plan[i]) {
			out = append(out, plan[j])
		}
	}
	return out
}

func indent(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// seedList fills d with what the list views need to be planned as on a
// real installation: 10 inboxes, 20,000 conversations of 20,000 contacts
// over two years (8% open, a third of those unassigned; a tenth owned by
// the sales agent), and one user of each role (service in 2 inboxes,
// sales in 3). PostgreSQL's statistics are gathered, as autovacuum would.
func seedList(t *testing.T, d *db.DB) map[policy.Role]policy.Actor {
	t.Helper()
	ctx := context.Background()
	now := db.Now()
	const inboxes, conversations, users = 10, 20_000, 20
	err := d.Write(ctx, func(tx *db.Tx) error {
		for i := 1; i <= users; i++ {
			role := policy.Service
			switch i {
			case 1:
				role = policy.Admin
			case 2:
				role = policy.InboxManager
			case 3, 4, 5:
				role = policy.Sales
			}
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, 'x', $5, $5)`,
				i, fmt.Sprintf("u%d@example.com", i), fmt.Sprint("User ", i), role, now); err != nil {
				return err
			}
		}
		for i := 1; i <= inboxes; i++ {
			if _, err := tx.Exec(ctx, `INSERT INTO inboxes (id, type, name, created_at, updated_at) VALUES ($1, 'webchat', $2, $3, $3)`, i, fmt.Sprint("Inbox ", i), now); err != nil {
				return err
			}
		}
		for u := 3; u <= users; u++ {
			n := 2
			if u <= 5 {
				n = 3
			}
			for k := range n {
				if _, err := tx.Exec(ctx, `INSERT INTO inbox_members (inbox_id, user_id) VALUES ($1, $2)`, (u+k)%inboxes+1, u); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 500
	for from := 1; from <= conversations; from += chunk {
		err := d.Write(ctx, func(tx *db.Tx) error {
			var contacts, convs strings.Builder
			var cargs, vargs []any
			for i := from; i < from+chunk; i++ {
				var owner any
				if i%10 == 0 {
					owner = int64(3) // the first sales agent
				}
				if len(cargs) > 0 {
					contacts.WriteString(", ")
					convs.WriteString(", ")
				}
				n := len(cargs)
				fmt.Fprintf(&contacts, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+4)
				cargs = append(cargs, i, fmt.Sprint("Customer ", i), owner, now.Add(-time.Duration(i)*time.Hour))

				status, at := "closed", now.Add(-time.Duration(i)*53*time.Minute) // two years over 20,000
				if i%100 < 8 {
					status, at = "open", now.Add(-time.Duration(i)*time.Second)
				}
				var assignee any = int64(6 + i%(users-5))
				switch {
				case status == "open" && i%3 == 0, status == "closed" && i%20 == 0:
					assignee = nil
				case owner != nil && i%4 != 0:
					assignee = owner
				}
				m := len(vargs)
				fmt.Fprintf(&convs, "($%d, $%d, $%d, $%d, $%d, $%d, 'customer', $%d, $%d, $%d)", m+1, m+2, m+3, m+4, m+5, m+6, m+7, m+7, m+7)
				vargs = append(vargs, i, 1+i%inboxes, i, status, assignee, owner, at)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO contacts (id, name, owner_id, created_at, updated_at) VALUES `+contacts.String(), cargs...); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO conversations (id, inbox_id, contact_id, status, assignee_id, owner_id, started_by, last_activity_at, created_at, updated_at) VALUES `+convs.String(), vargs...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if d.Dialect() == db.Postgres {
		if _, err := d.Exec(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}
	actors := map[policy.Role]policy.Actor{}
	for role, id := range map[policy.Role]int64{policy.Admin: 1, policy.InboxManager: 2, policy.Sales: 3, policy.Service: 6} {
		a := policy.Actor{UserID: id, Role: role}
		rows, err := d.Query(ctx, `SELECT inbox_id FROM inbox_members WHERE user_id = $1 ORDER BY inbox_id`, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var inbox int64
			if err := rows.Scan(&inbox); err != nil {
				t.Fatal(err)
			}
			a.Inboxes = append(a.Inboxes, inbox)
		}
		rows.Close()
		actors[role] = a
	}
	return actors
}
