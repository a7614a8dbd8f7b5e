package conversation

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/db"
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
	s := NewService(d, nil, nil, attachment.DefaultLimits)
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

// TestExplainList prints the query plan of every role's default views
// (go test -run ExplainList -v with SWITCHBOARD_BENCH_DB set).
func TestExplainList(t *testing.T) {
	d, actors := benchDB(t)
	ctx := context.Background()
	for _, role := range policy.Roles {
		for _, v := range listViews {
			o := v.o
			o.Limit = 25
			a := actors[role]
			q, args := listQuery(policy.ConversationScope(a), a.UserID, o, nil)
			explain := "EXPLAIN QUERY PLAN "
			if d.Dialect() == db.Postgres {
				explain = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
			}
			rows, err := d.Query(ctx, explain+q, args...)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", role, v.name, err, q)
			}
			cols, _ := rows.Columns()
			var plan []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				rows.Scan(ptrs...)
				var parts []string
				for _, v := range vals {
					switch v := v.(type) {
					case string:
						parts = append(parts, v)
					case []byte:
						parts = append(parts, string(v))
					}
				}
				plan = append(plan, strings.Join(parts, " "))
			}
			rows.Close()
			t.Logf("%s / %s\n%s\n  %s", role, v.name, q, strings.Join(plan, "\n  "))
		}
	}
}
