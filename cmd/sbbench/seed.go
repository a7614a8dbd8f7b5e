package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/user"
)

// seedPassword is every seeded user's password.
const seedPassword = "sbbench password 1"

func seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sbbench seed", flag.ContinueOnError)
	dbURL := fs.String("db", "", "postgres:// URL, or empty for SQLite in -data-dir (as SWITCHBOARD_DATABASE_URL)")
	dataDir := fs.String("data-dir", "./bench-data", "data directory (the server must use the same one: it holds the secret key and the SQLite file)")
	nConv := fs.Int("conversations", 100_000, "conversations to create")
	nMsg := fs.Int("messages", -1, "messages to create across them (default 2 per conversation)")
	nInbox := fs.Int("inboxes", 10, "web chat inboxes")
	nService := fs.Int("service", 20, "service agents (each a member of 2 inboxes)")
	nSales := fs.Int("sales", 10, "sales agents (each a member of 3 inboxes)")
	openShare := fs.Float64("open", 0.08, "share of conversations that are open")
	ownedShare := fs.Float64("owned", 0.10, "share of contacts owned by a sales agent")
	out := fs.String("out", "bench-creds.json", "where to write the credentials")
	seedN := fs.Uint64("seed", 1, "random seed")
	analyze := fs.Bool("sqlite-analyze", false, "run ANALYZE on SQLite too (PostgreSQL always gets VACUUM ANALYZE, as autovacuum would; the SQLite server never runs ANALYZE, and its stat4 statistics make SQLite re-plan prepared statements)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the seeding to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nMsg < 0 {
		*nMsg = 2 * *nConv
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		return err
	}
	d, err := db.Open(ctx, *dbURL, *dataDir)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	var existing int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&existing); err != nil {
		return err
	}
	if existing > 0 {
		return fmt.Errorf("the database already has %d users: seed an empty one", existing)
	}
	base, _ := url.Parse("http://127.0.0.1:8080")
	cfg := config.Config{Addr: "127.0.0.1:8080", DataDir: *dataDir, DatabaseURL: *dbURL, BaseURL: base, LogFormat: "text", ShutdownTimeout: time.Second}
	app, err := server.Assemble(cfg, d, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Options{})
	if err != nil {
		return err
	}
	defer app.Close()

	creds := Creds{Engine: string(d.Dialect()), Conversations: *nConv, Messages: *nMsg, Password: seedPassword}
	// Inboxes first (users are made members of them).
	for i := range *nInbox {
		in, _, err := app.Inboxes.Create(ctx, inbox.NewInbox{Type: webchat.Type, Name: fmt.Sprintf("Site %d", i+1)})
		if err != nil {
			return err
		}
		creds.Inboxes = append(creds.Inboxes, CredInbox{ID: in.ID, Name: in.Name, Token: in.Token})
	}
	inboxIDs := make([]int64, len(creds.Inboxes))
	for i, in := range creds.Inboxes {
		inboxIDs[i] = in.ID
	}
	mkUser := func(email string, role policy.Role, inboxes []int64) (CredUser, error) {
		u, err := app.Users.Create(ctx, user.NewUser{Email: email, Name: strings.Split(email, "@")[0], Role: role, Password: seedPassword, InboxIDs: inboxes})
		if err != nil {
			return CredUser{}, fmt.Errorf("create %s: %w", email, err)
		}
		_, token, err := app.Auth.CreateToken(ctx, u.ID, "sbbench")
		if err != nil {
			return CredUser{}, err
		}
		cu := CredUser{ID: u.ID, Email: email, Role: string(role), Token: token, Inboxes: u.InboxIDs}
		creds.Users = append(creds.Users, cu)
		return cu, nil
	}
	if _, err := mkUser("admin@bench.test", policy.Admin, nil); err != nil {
		return err
	}
	if _, err := mkUser("manager@bench.test", policy.InboxManager, nil); err != nil {
		return err
	}
	var service, sales []CredUser
	// memberOf[inbox index] lists the service agents of that inbox.
	memberOf := make([][]int64, len(inboxIDs))
	for i := range *nService {
		a, b := i%len(inboxIDs), (i+1)%len(inboxIDs)
		u, err := mkUser(fmt.Sprintf("service%d@bench.test", i+1), policy.Service, []int64{inboxIDs[a], inboxIDs[b]})
		if err != nil {
			return err
		}
		service = append(service, u)
		memberOf[a] = append(memberOf[a], u.ID)
		memberOf[b] = append(memberOf[b], u.ID)
	}
	for i := range *nSales {
		var ins []int64
		for k := range 3 {
			ins = append(ins, inboxIDs[(i+k)%len(inboxIDs)])
		}
		u, err := mkUser(fmt.Sprintf("sales%d@bench.test", i+1), policy.Sales, ins)
		if err != nil {
			return err
		}
		sales = append(sales, u)
	}
	fmt.Printf("users, inboxes and tokens: %d users, %d inboxes (%s)\n", len(creds.Users), len(creds.Inboxes), time.Since(start).Round(time.Millisecond))

	g := &generator{d: d, r: rand.New(rand.NewPCG(*seedN, 7)), inboxes: inboxIDs, memberOf: memberOf, sales: sales,
		leads: []int64{creds.Users[0].ID, creds.Users[1].ID}, open: *openShare, owned: *ownedShare, now: db.Now(), analyze: *analyze}
	if err := g.run(ctx, *nConv, *nMsg); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(creds, "", "  ")
	if err := os.WriteFile(*out, b, 0o600); err != nil {
		return err
	}
	fmt.Printf("seeded %d conversations, %d messages in %s; credentials in %s\n", *nConv, *nMsg, time.Since(start).Round(time.Millisecond), *out)
	return nil
}

// generator writes contacts, conversations, tags and messages in large
// multi-row INSERTs, many per transaction.
type generator struct {
	d        *db.DB
	r        *rand.Rand
	inboxes  []int64
	memberOf [][]int64
	sales    []CredUser
	leads    []int64 // the admin and the inbox manager
	open     float64
	owned    float64
	now      time.Time
	analyze  bool
}

// batch accumulates rows of one table for a multi-row INSERT.
type batch struct {
	table string
	cols  []string
	rows  int
	args  []any
}

func (b *batch) add(vals ...any) {
	b.args = append(b.args, vals...)
	b.rows++
}

func (b *batch) flush(ctx context.Context, tx *db.Tx) error {
	if b.rows == 0 {
		return nil
	}
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES ")
	n := 1
	for r := range b.rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range b.cols {
			if c > 0 {
				sb.WriteString(", ")
			}
			// SQLite looks "$N" names up one by one; "?" is positional.
			if tx.Dialect() == db.SQLite {
				sb.WriteByte('?')
			} else {
				sb.WriteString("$" + strconv.Itoa(n))
			}
			n++
		}
		sb.WriteByte(')')
	}
	if _, err := tx.Exec(ctx, sb.String(), b.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	b.rows, b.args = 0, b.args[:0]
	return nil
}

// flushAll writes batches in order: rows before the rows that reference them.
func flushAll(ctx context.Context, tx *db.Tx, bs ...*batch) error {
	for _, b := range bs {
		if err := b.flush(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) maxID(ctx context.Context, table string) (int64, error) {
	var id int64
	err := g.d.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+table).Scan(&id)
	return id, err
}

var previews = []string{
	"Hi, I have a question about my order",
	"Is this available in blue?",
	"Thanks, that solved it!",
	"When will my package arrive?",
	"Can I change my delivery address?",
	"I would like a refund please",
	"Do you ship to Canada?",
	"What are your opening hours?",
}

func (g *generator) run(ctx context.Context, nConv, nMsg int) error {
	const perTx = 20_000 // conversations per transaction
	const perStmt = 200  // rows per INSERT
	contactBase, err := g.maxID(ctx, "contacts")
	if err != nil {
		return err
	}
	convBase, err := g.maxID(ctx, "conversations")
	if err != nil {
		return err
	}
	msgBase, err := g.maxID(ctx, "messages")
	if err != nil {
		return err
	}
	contacts := &batch{table: "contacts", cols: []string{"id", "name", "email", "owner_id", "created_at", "updated_at"}}
	convs := &batch{table: "conversations", cols: []string{"id", "inbox_id", "contact_id", "status", "assignee_id", "owner_id", "started_by",
		"last_message_id", "last_message_preview", "last_activity_at", "last_customer_message_at", "last_agent_message_at", "closed_at", "created_at", "updated_at"}}
	tags := &batch{table: "conversation_tags", cols: []string{"conversation_id", "tag"}}
	msgs := &batch{table: "messages", cols: []string{"id", "conversation_id", "inbox_id", "direction", "sender_type", "sender_id", "type", "text",
		"status", "channel_message_id", "created_at", "updated_at"}}
	start := time.Now()
	msgID := msgBase
	for from := 0; from < nConv; from += perTx {
		to := min(nConv, from+perTx)
		err := g.d.Write(ctx, func(tx *db.Tx) error {
			if tx.Dialect() == db.SQLite && from == 0 {
				// A page cache that holds the indexes being filled (this
				// connection only).
				if _, err := tx.Exec(ctx, `PRAGMA cache_size = -524288`); err != nil {
					return err
				}
			}
			for i := from; i < to; i++ {
				contactID := contactBase + int64(i) + 1
				convID := convBase + int64(i) + 1
				inboxIdx := g.r.IntN(len(g.inboxes))
				inboxID := g.inboxes[inboxIdx]
				var owner *int64
				if g.r.Float64() < g.owned && len(g.sales) > 0 {
					id := g.sales[g.r.IntN(len(g.sales))].ID
					owner = &id
				}
				open := g.r.Float64() < g.open
				// Open conversations are recent; closed ones spread over two years.
				var last time.Time
				if open {
					last = g.now.Add(-time.Duration(g.r.Int64N(int64(7 * 24 * time.Hour))))
				} else {
					last = g.now.Add(-time.Duration(g.r.Int64N(int64(2 * 365 * 24 * time.Hour))))
				}
				last = db.Time(last)
				created := last.Add(-time.Duration(g.r.Int64N(int64(48 * time.Hour))))
				// Assignment: owned contacts go to their owner; otherwise a
				// service agent of the inbox, or nobody (more often while open).
				var assignee *int64
				unassigned := 0.05
				if open {
					unassigned = 0.30
				}
				switch {
				case owner != nil && g.r.Float64() < 0.9:
					assignee = owner
				case g.r.Float64() < unassigned:
				case g.r.IntN(50) == 0 && len(g.leads) > 0:
					// A few for the admin and the inbox manager.
					id := g.leads[g.r.IntN(len(g.leads))]
					assignee = &id
				case len(g.memberOf[inboxIdx]) > 0:
					id := g.memberOf[inboxIdx][g.r.IntN(len(g.memberOf[inboxIdx]))]
					assignee = &id
				}
				status, closedAt := "closed", &last
				if open {
					status, closedAt = "open", nil
				}
				// Messages: nMsg spread evenly, the remainder to the first ones.
				k := nMsg / nConv
				if i < nMsg%nConv {
					k++
				}
				var lastMsg int64
				preview := ""
				var lastCust, lastAgent *time.Time
				for j := range k {
					msgID++
					at := created.Add(time.Duration(j+1) * last.Sub(created) / time.Duration(k))
					at = db.Time(at)
					text := previews[g.r.IntN(len(previews))]
					if j%2 == 0 {
						msgs.add(msgID, convID, inboxID, "inbound", "contact", nil, "text", text, "received", "seed:"+strconv.FormatInt(msgID, 10), at, at)
						lastCust = &at
					} else {
						msgs.add(msgID, convID, inboxID, "outbound", "agent", assignee, "text", text, "read", nil, at, at)
						lastAgent = &at
					}
					lastMsg, preview = msgID, text
				}
				contacts.add(contactID, fmt.Sprintf("Customer %d", contactID), fmt.Sprintf("customer%d@example.com", contactID), owner, created, created)
				convs.add(convID, inboxID, contactID, status, assignee, owner, "customer", lastMsg, preview, last, lastCust, lastAgent, closedAt, created, last)
				if g.r.IntN(20) == 0 {
					tags.add(convID, []string{"vip", "billing", "shipping", "returns"}[g.r.IntN(4)])
				}
				if contacts.rows >= perStmt || msgs.rows >= perStmt {
					if err := flushAll(ctx, tx, contacts, convs, tags, msgs); err != nil {
						return err
					}
				}
			}
			return flushAll(ctx, tx, contacts, convs, tags, msgs)
		})
		if err != nil {
			return err
		}
		if to%100_000 == 0 || to == nConv {
			el := time.Since(start)
			fmt.Printf("  %d/%d conversations (%s, %.0f conversations/s)\n", to, nConv, el.Round(time.Second), float64(to)/el.Seconds())
		}
	}
	if g.d.Dialect() == db.Postgres {
		// Explicit ids leave the identity sequences behind.
		for _, t := range []string{"contacts", "conversations", "messages"} {
			if _, err := g.d.Exec(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'), (SELECT MAX(id) FROM `+t+`))`); err != nil {
				return err
			}
		}
	}
	if !g.analyze && g.d.Dialect() == db.SQLite {
		return nil
	}
	t := time.Now()
	// On PostgreSQL, what autovacuum would do after a bulk load: statistics
	// for the planner and the visibility map for index-only scans.
	q := `ANALYZE`
	if g.d.Dialect() == db.Postgres {
		q = `VACUUM ANALYZE`
	}
	if _, err := g.d.Exec(ctx, q); err != nil {
		return err
	}
	fmt.Printf("  %s (%s)\n", q, time.Since(t).Round(time.Millisecond))
	return nil
}
