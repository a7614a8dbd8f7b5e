package report_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/report"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestPercentile(t *testing.T) {
	s := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Second
		}
		return out
	}
	for _, c := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{s(7), 0.5, 7 * time.Second},
		{s(7), 0.9, 7 * time.Second},
		{s(1, 2), 0.5, 1500 * time.Millisecond},
		{s(1, 2, 3), 0.5, 2 * time.Second},
		{s(60, 300), 0.9, 276 * time.Second},
		{s(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9100 * time.Millisecond},
		{s(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.5, 5500 * time.Millisecond},
		{s(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0.9, 10 * time.Second},
		{s(5, 5, 5, 100), 1, 100 * time.Second},
		{s(5, 5, 5, 100), 0, 5 * time.Second},
	} {
		if got := report.Percentile(c.in, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.in, c.p, got, c.want)
		}
	}
}

// seed is a small installation: two agents, two teams, two inboxes.
type seed struct {
	t                *testing.T
	d                *db.DB
	ana, bo, cy      int64 // cy has no team and no work
	support, sales   int64 // Support: ana; Sales: ana and bo
	shop, line       int64 // inboxes
	day1, day2, past time.Time
	contacts         int
}

func newSeed(t *testing.T, d *db.DB) *seed {
	s := &seed{t: t, d: d}
	now := db.Now()
	s.ana = s.insert(`INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('ana@example.com', 'Ana', 'service', '', $1, $1) RETURNING id`, now)
	s.bo = s.insert(`INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('bo@example.com', 'Bo', 'service', '', $1, $1) RETURNING id`, now)
	s.cy = s.insert(`INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('cy@example.com', 'Cy', 'service', '', $1, $1) RETURNING id`, now)
	s.support = s.insert(`INSERT INTO teams (name, created_at, updated_at) VALUES ('Support', $1, $1) RETURNING id`, now)
	s.sales = s.insert(`INSERT INTO teams (name, created_at, updated_at) VALUES ('Sales', $1, $1) RETURNING id`, now)
	for _, m := range [][2]int64{{s.support, s.ana}, {s.sales, s.ana}, {s.sales, s.bo}} {
		s.exec(`INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)`, m[0], m[1])
	}
	s.shop = s.insert(`INSERT INTO inboxes (type, name, created_at, updated_at) VALUES ('webchat', 'Shop', $1, $1) RETURNING id`, now)
	s.line = s.insert(`INSERT INTO inboxes (type, name, created_at, updated_at) VALUES ('whatsapp', 'Line', $1, $1) RETURNING id`, now)
	s.day1 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s.day2 = s.day1.Add(24 * time.Hour)
	s.past = s.day1.Add(-10 * 24 * time.Hour)
	return s
}

func (s *seed) exec(q string, args ...any) {
	s.t.Helper()
	if _, err := s.d.Exec(context.Background(), q, args...); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
}

func (s *seed) insert(q string, args ...any) int64 {
	s.t.Helper()
	var id int64
	err := s.d.Write(context.Background(), func(tx *db.Tx) error { return tx.QueryRow(context.Background(), q, args...).Scan(&id) })
	if err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return id
}

// conv is a conversation to seed: its customer's first message (nil:
// none), its first agent reply, its close.
type conv struct {
	inbox, assignee int64
	startedBy       string
	created         time.Time
	asked           *time.Time // first customer message
	answered        *time.Time // first agent message
	responder       int64
	closed          *time.Time
}

func at(t time.Time) *time.Time { return &t }

func (s *seed) conversation(c conv) int64 {
	s.t.Helper()
	s.contacts++
	now := db.Now()
	ct := s.insert(`INSERT INTO contacts (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id`, fmt.Sprintf("Customer %d", s.contacts), now)
	status := "open"
	if c.closed != nil {
		status = "closed"
	}
	var assignee any
	if c.assignee != 0 {
		assignee = c.assignee
	}
	if c.startedBy == "" {
		c.startedBy = "customer"
	}
	id := s.insert(`INSERT INTO conversations (inbox_id, contact_id, status, assignee_id, started_by, last_activity_at, closed_at, created_at, updated_at,
		first_customer_message_at, first_response_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $6, $8, $9) RETURNING id`,
		c.inbox, ct, status, assignee, c.startedBy, c.created, c.closed, c.asked, c.answered)
	// An automatic welcome comes first: it is not a response.
	s.message(id, c.inbox, "system", 0, "welcome", "delivered", c.created)
	if c.asked != nil {
		s.message(id, c.inbox, "contact", 0, "", "received", *c.asked)
	}
	if c.answered != nil {
		s.message(id, c.inbox, "agent", c.responder, "", "read", *c.answered)
	}
	return id
}

func (s *seed) message(conv, inbox int64, sender string, senderID int64, kind, status string, when time.Time) {
	s.t.Helper()
	dir := "outbound"
	if sender == "contact" {
		dir = "inbound"
	}
	var sid, k any
	if senderID != 0 {
		sid = senderID
	}
	if kind != "" {
		k = kind
	}
	s.exec(`INSERT INTO messages (conversation_id, inbox_id, direction, sender_type, sender_id, type, text, status, auto_kind, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'text', 'hello', $6, $7, $8, $8)`, conv, inbox, dir, sender, sid, status, k, when)
}

func (s *seed) survey(conv, inbox, agent int64, sent time.Time, rating int, comment string, rated time.Time) {
	s.t.Helper()
	var r, rt any
	if rating != 0 {
		r, rt = rating, rated
	}
	s.exec(`INSERT INTO csat_ratings (conversation_id, inbox_id, agent_id, contact_id, message_id, rating, comment, sent_at, rated_at)
		VALUES ($1, $2, $3, (SELECT contact_id FROM conversations WHERE id = $1), 0, $4, $5, $6, $7)`,
		conv, inbox, agent, r, comment, sent, rt)
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func rowsByName[T any](rows []T, name func(T) string) map[string]T {
	m := map[string]T{}
	for _, r := range rows {
		m[name(r)] = r
	}
	return m
}

func TestCSAT(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSeed(t, d)
		svc := report.New(d)
		h := time.Hour
		c1 := s.conversation(conv{inbox: s.shop, assignee: s.ana, created: s.day1, closed: at(s.day1.Add(h))})
		c2 := s.conversation(conv{inbox: s.shop, assignee: s.ana, created: s.day1, closed: at(s.day1.Add(h))})
		c3 := s.conversation(conv{inbox: s.line, assignee: s.bo, created: s.day2, closed: at(s.day2.Add(h))})
		c4 := s.conversation(conv{inbox: s.line, assignee: s.bo, created: s.day2, closed: at(s.day2.Add(h))})
		c5 := s.conversation(conv{inbox: s.shop, assignee: s.ana, created: s.past, closed: at(s.past.Add(h))})
		s.survey(c1, s.shop, s.ana, s.day1.Add(h), 5, "Great, thanks!", s.day1.Add(2*h))
		s.survey(c2, s.shop, s.ana, s.day1.Add(h), 4, "", s.day1.Add(3*h))
		s.survey(c3, s.line, s.bo, s.day2.Add(h), 1, "Too slow", s.day2.Add(2*h))
		s.survey(c4, s.line, s.bo, s.day2.Add(h), 0, "", time.Time{})            // not answered
		s.survey(c5, s.shop, s.ana, s.past.Add(h), 1, "Long ago", s.past.Add(h)) // before the range

		from, to := s.day1.Add(-10*h), s.day2.Add(14*h)
		f := report.Filter{From: from, To: to, Group: report.ByAgent}
		rep, err := svc.CSAT(ctx, f, 0)
		if err != nil {
			t.Fatal(err)
		}
		if tot := rep.Total; tot.Sent != 4 || tot.Rated != 3 || !near(tot.Average, 10.0/3) || !near(tot.ResponseRate, 0.75) || tot.Distribution != [5]int{1, 0, 0, 1, 1} {
			t.Errorf("total %+v", tot)
		}
		byName := func(rows []report.CSATRow) map[string]report.CSATRow {
			return rowsByName(rows, func(r report.CSATRow) string { return r.Name })
		}
		rows := byName(rep.Rows)
		if len(rep.Rows) != 2 || rep.Rows[0].Name != "Ana" {
			t.Fatalf("rows %+v", rep.Rows)
		}
		if a := rows["Ana"]; a.ID != s.ana || a.Sent != 2 || a.Rated != 2 || !near(a.Average, 4.5) || !near(a.ResponseRate, 1) || a.Distribution != [5]int{0, 0, 0, 1, 1} {
			t.Errorf("Ana %+v", a)
		}
		if b := rows["Bo"]; b.Sent != 2 || b.Rated != 1 || !near(b.Average, 1) || !near(b.ResponseRate, 0.5) {
			t.Errorf("Bo %+v", b)
		}
		// Comments, newest first.
		if rep.CommentsTotal != 2 || len(rep.Comments) != 2 || rep.Comments[0].Comment != "Too slow" || rep.Comments[0].Agent != "Bo" ||
			rep.Comments[0].Inbox != "Line" || rep.Comments[0].Rating != 1 || rep.Comments[1].ConversationID != c1 || !rep.Comments[1].RatedAt.Equal(s.day1.Add(2*h)) {
			t.Errorf("comments %+v", rep.Comments)
		}
		if rep, _ := svc.CSAT(ctx, f, 1); len(rep.Comments) != 1 || rep.CommentsTotal != 2 {
			t.Errorf("one comment of two: %+v", rep.Comments)
		}

		// Per team: Ana's surveys count for both her teams.
		f.Group = report.ByTeam
		rep, _ = svc.CSAT(ctx, f, 0)
		rows = byName(rep.Rows)
		if sa := rows["Sales"]; len(rep.Rows) != 2 || sa.ID != s.sales || sa.Sent != 4 || sa.Rated != 3 || !near(sa.Average, 10.0/3) {
			t.Errorf("Sales %+v", rep.Rows)
		}
		if su := rows["Support"]; su.Sent != 2 || !near(su.Average, 4.5) {
			t.Errorf("Support %+v", su)
		}
		if rep.Total.Sent != 4 {
			t.Errorf("the total counts a survey once per team: %+v", rep.Total)
		}
		f.Group = report.ByInbox
		rep, _ = svc.CSAT(ctx, f, 0)
		rows = byName(rep.Rows)
		if sh, li := rows["Shop"], rows["Line"]; sh.Sent != 2 || sh.Rated != 2 || li.Sent != 2 || li.Rated != 1 || li.ID != s.line {
			t.Errorf("inboxes %+v", rep.Rows)
		}
		f.Group = report.ByDay
		rep, _ = svc.CSAT(ctx, f, 0)
		if len(rep.Rows) != 2 || rep.Rows[0].Name != "2026-03-02" || rep.Rows[0].Sent != 2 || rep.Rows[1].Name != "2026-03-03" || rep.Rows[1].Rated != 1 {
			t.Errorf("days %+v", rep.Rows)
		}

		// Filters.
		for _, c := range []struct {
			name       string
			f          report.Filter
			sent, rate int
		}{
			{"inbox", report.Filter{InboxID: s.line}, 2, 1},
			{"agent", report.Filter{AgentID: s.ana}, 2, 2},
			{"team", report.Filter{TeamID: s.support}, 2, 2},
			{"team of both", report.Filter{TeamID: s.sales}, 4, 3},
			{"agent with nothing", report.Filter{AgentID: s.cy}, 0, 0},
			{"inbox and agent", report.Filter{InboxID: s.shop, AgentID: s.bo}, 0, 0},
		} {
			c.f.From, c.f.To = from, to
			rep, err := svc.CSAT(ctx, c.f, 0)
			if err != nil || rep.Total.Sent != c.sent || rep.Total.Rated != c.rate {
				t.Errorf("%s: %+v, %v", c.name, rep.Total, err)
			}
		}
		for _, c := range []struct {
			f     report.Filter
			field string
		}{
			{report.Filter{InboxID: 999}, "inbox"},
			{report.Filter{AgentID: 999}, "agent"},
			{report.Filter{TeamID: 999}, "team"},
			{report.Filter{Group: "week"}, "group"},
		} {
			c.f.From, c.f.To = from, to
			_, err := svc.CSAT(ctx, c.f, 0)
			if p, ok := problem.As(err); !ok || p.Kind != problem.KindInvalid || p.Fields[c.field] == "" {
				t.Errorf("%+v: %v, want a message for %s", c.f, err, c.field)
			}
		}

		// The conversation's rating.
		if r, ok, err := svc.RatingOf(ctx, c1); err != nil || !ok || r.Rating != 5 || r.Comment != "Great, thanks!" {
			t.Errorf("rating of c1: %+v %v %v", r, ok, err)
		}
		if r, ok, err := svc.RatingOf(ctx, c2); err != nil || !ok || r.Rating != 4 || r.Comment != "" {
			t.Errorf("rating of c2: %+v %v %v", r, ok, err)
		}
		if _, ok, err := svc.RatingOf(ctx, c4); err != nil || ok {
			t.Errorf("c4 was not rated: %v %v", ok, err)
		}
	})
}

func TestResponseTimes(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSeed(t, d)
		svc := report.New(d)
		t0, sec, h := s.day1, time.Second, time.Hour
		// Ana answers in 60 s and 300 s, Bo in 180 s.
		c1 := s.conversation(conv{inbox: s.shop, assignee: s.ana, created: t0, asked: at(t0), answered: at(t0.Add(60 * sec)), responder: s.ana, closed: at(t0.Add(h))})
		s.conversation(conv{inbox: s.line, assignee: s.bo, created: t0, asked: at(t0), answered: at(t0.Add(180 * sec)), responder: s.bo, closed: at(t0.Add(3 * h))})
		s.conversation(conv{inbox: s.shop, assignee: s.ana, created: t0, asked: at(t0.Add(24 * h)), answered: at(t0.Add(24*h + 300*sec)), responder: s.ana})
		// Bo has not answered yet.
		s.conversation(conv{inbox: s.line, assignee: s.bo, created: t0, asked: at(t0)})
		// Ana started this one: no first response; resolved 40 minutes
		// after it started.
		s.conversation(conv{inbox: s.shop, assignee: s.ana, startedBy: "agent", created: t0.Add(-10 * time.Minute), asked: at(t0),
			answered: at(t0.Add(-10 * time.Minute)), responder: s.ana, closed: at(t0.Add(30 * time.Minute))})
		// Closed without an agent: no resolution.
		s.conversation(conv{inbox: s.shop, created: t0, asked: at(t0), closed: at(t0.Add(h))})
		// The customer opened the chat and never wrote; and a conversation
		// from before the range.
		s.conversation(conv{inbox: s.shop, assignee: s.ana, created: t0, closed: at(t0.Add(h))})
		s.conversation(conv{inbox: s.shop, assignee: s.ana, created: s.past, asked: at(s.past), answered: at(s.past.Add(h)), responder: s.ana, closed: at(s.past.Add(2 * h))})
		// Automatic messages (each conversation above has a welcome).
		s.message(c1, s.shop, "system", 0, "csat", "read", t0.Add(h))
		s.message(c1, s.shop, "system", 0, "welcome", "failed", t0.Add(h))
		s.message(c1, s.shop, "bot", 0, "menu", "sent", t0.Add(h))
		s.message(c1, s.shop, "agent", s.ana, "", "sent", t0.Add(h)) // a person's: not counted
		s.message(c1, s.shop, "system", 0, "autoclose", "pending", s.past)

		from, to := t0.Add(-5*h), t0.Add(40*h)
		f := report.Filter{From: from, To: to}
		rep, err := svc.ResponseTimes(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Group != report.ByAgent {
			t.Errorf("group %q", rep.Group)
		}
		byName := func(rows []report.TimesRow) map[string]report.TimesRow {
			return rowsByName(rows, func(r report.TimesRow) string { return r.Name })
		}
		rows := byName(rep.Rows)
		want := func(who string, got, want report.Durations) {
			t.Helper()
			if got != want {
				t.Errorf("%s: %+v, want %+v", who, got, want)
			}
		}
		want("Ana first", rows["Ana"].FirstResponse, report.Durations{Count: 2, MedianSeconds: 180, P90Seconds: 276})
		want("Bo first", rows["Bo"].FirstResponse, report.Durations{Count: 1, MedianSeconds: 180, P90Seconds: 180})
		want("Ana resolution", rows["Ana"].Resolution, report.Durations{Count: 2, MedianSeconds: 3000, P90Seconds: 3480})
		want("Bo resolution", rows["Bo"].Resolution, report.Durations{Count: 1, MedianSeconds: 10800, P90Seconds: 10800})
		want("total first", rep.Total.FirstResponse, report.Durations{Count: 3, MedianSeconds: 180, P90Seconds: 276})
		if rows["Bo"].Waiting != 1 || rows["Ana"].Waiting != 0 || rep.Total.Waiting != 1 {
			t.Errorf("waiting: Ana %d, Bo %d, total %d", rows["Ana"].Waiting, rows["Bo"].Waiting, rep.Total.Waiting)
		}
		if _, ok := rows["Cy"]; ok || len(rep.Rows) != 2 {
			t.Errorf("rows %+v", rep.Rows)
		}

		f.Group = report.ByInbox
		rep, _ = svc.ResponseTimes(ctx, f)
		rows = byName(rep.Rows)
		want("Shop first", rows["Shop"].FirstResponse, report.Durations{Count: 2, MedianSeconds: 180, P90Seconds: 276})
		want("Line resolution", rows["Line"].Resolution, report.Durations{Count: 1, MedianSeconds: 10800, P90Seconds: 10800})
		f.Group = report.ByTeam
		rep, _ = svc.ResponseTimes(ctx, f)
		rows = byName(rep.Rows)
		want("Sales first", rows["Sales"].FirstResponse, report.Durations{Count: 3, MedianSeconds: 180, P90Seconds: 276})
		want("Support first", rows["Support"].FirstResponse, report.Durations{Count: 2, MedianSeconds: 180, P90Seconds: 276})
		f.Group = report.ByDay
		rep, _ = svc.ResponseTimes(ctx, f)
		if len(rep.Rows) != 2 || rep.Rows[0].Name != "2026-03-02" || rep.Rows[0].FirstResponse.Count != 2 || rep.Rows[1].FirstResponse.Count != 1 || rep.Rows[0].Resolution.Count != 3 {
			t.Errorf("days %+v", rep.Rows)
		}

		// Filters.
		f = report.Filter{From: from, To: to, AgentID: s.bo}
		rep, _ = svc.ResponseTimes(ctx, f)
		if len(rep.Rows) != 1 || rep.Total.FirstResponse.Count != 1 || rep.Total.Resolution.Count != 1 || rep.Total.Waiting != 1 {
			t.Errorf("Bo alone %+v", rep)
		}
		f = report.Filter{From: from, To: to, TeamID: s.support, InboxID: s.shop}
		rep, _ = svc.ResponseTimes(ctx, f)
		if rep.Total.FirstResponse.Count != 2 || rep.Total.Resolution.Count != 2 || rep.Total.Waiting != 0 {
			t.Errorf("Support on Shop %+v", rep.Total)
		}

		// Automatic messages, by kind: eight welcomes (one failed), one
		// survey, one bot message; the auto-close is before the range.
		f = report.Filter{From: from, To: to}
		rep, _ = svc.ResponseTimes(ctx, f)
		autos := rowsByName(rep.Automatic, func(a report.AutoCount) string { return a.Kind })
		if w := autos["welcome"]; w.Sent != 8 || w.Delivered != 7 || w.Failed != 1 {
			t.Errorf("welcome %+v", w)
		}
		if c := autos["csat"]; c.Sent != 1 || c.Delivered != 1 {
			t.Errorf("csat %+v", c)
		}
		if b := autos["bot"]; b.Sent != 1 || b.Delivered != 0 {
			t.Errorf("bot %+v", b)
		}
		if len(rep.Automatic) != 3 || rep.Automatic[0].Kind != "welcome" || rep.Automatic[2].Kind != "bot" {
			t.Errorf("automatic %+v", rep.Automatic)
		}
		f.InboxID = s.line
		rep, _ = svc.ResponseTimes(ctx, f)
		if len(rep.Automatic) != 1 || rep.Automatic[0].Sent != 2 {
			t.Errorf("automatic on Line %+v", rep.Automatic)
		}
	})
}

func TestQuery(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f, err := report.Query{From: "2026-03-01", To: "2026-03-02", Inbox: "3", Agent: " 4 ", Team: "", Group: "day"}.Filter(now)
	if err != nil || f.InboxID != 3 || f.AgentID != 4 || f.TeamID != 0 || f.Group != report.ByDay ||
		!f.From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !f.To.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("%+v %v", f, err)
	}
	_, err = report.Query{From: "March", To: "2026-03-02", Inbox: "x", Agent: "-1", Team: "1.5"}.Filter(now)
	p, ok := problem.As(err)
	if !ok || p.Fields["from"] == "" || p.Fields["inbox"] == "" || p.Fields["agent"] == "" || p.Fields["team"] == "" {
		t.Errorf("%v", err)
	}
}
