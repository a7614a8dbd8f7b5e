package availability_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

type fixture struct {
	d      *db.DB
	log    *event.Log
	users  *user.Store
	svc    *availability.Service
	mu     sync.Mutex
	events []event.Event
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	f := &fixture{d: d}
	b := event.NewLocal()
	b.Subscribe(func(es []event.Event) { f.mu.Lock(); f.events = append(f.events, es...); f.mu.Unlock() })
	f.log = event.NewLog(d, b, quiet)
	f.users = user.NewStore(d, f.log, func(string) (string, error) { return "h", nil })
	f.svc = availability.New(d, f.log, nil)
	return f
}

func (f *fixture) user(t *testing.T, email string) user.User {
	t.Helper()
	u, err := f.users.Create(context.Background(), user.NewUser{Email: email, Name: email, Role: policy.Service, Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) status(t *testing.T, id int64) user.Status {
	t.Helper()
	u, err := f.users.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Status
}

func TestStatuses(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		u := f.user(t, "ana@example.com")
		if _, err := f.svc.Set(ctx, u.ID, "napping"); err == nil {
			t.Fatal("an unknown status was accepted")
		} else if p, _ := problem.As(err); p.Fields["status"] == "" {
			t.Fatalf("unknown status: %v", err)
		}
		// Signing in makes an agent Away.
		if err := f.svc.SignedIn(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if st := f.status(t, u.ID); st != user.Away {
			t.Fatalf("after sign-in: %s", st)
		}
		for _, st := range []user.Status{user.Available, user.Busy, user.Busy, user.OnBreak} {
			if _, err := f.svc.Set(ctx, u.ID, st); err != nil {
				t.Fatal(err)
			}
		}
		var n, open int
		d.QueryRow(ctx, `SELECT COUNT(*), COUNT(*) - COUNT(ended_at) FROM status_intervals WHERE user_id = $1`, u.ID).Scan(&n, &open)
		if n != 4 || open != 1 {
			t.Errorf("%d intervals (%d open), want 4 (1 open): choosing the same status twice is one interval", n, open)
		}
		f.mu.Lock()
		var changes []availability.Change
		for _, e := range f.events {
			if e.Type == availability.StatusChanged && e.UserID == u.ID {
				var c availability.Change
				json.Unmarshal(e.Data, &c)
				changes = append(changes, c)
			}
		}
		f.mu.Unlock()
		if len(changes) != 4 || changes[0].Status != user.Away || !changes[0].Automatic || changes[3].Status != user.OnBreak || changes[3].Automatic {
			t.Errorf("events %+v", changes)
		}
		// Concurrent changes of one user leave one open interval.
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.svc.Set(ctx, u.ID, user.Statuses[i%len(user.Statuses)]); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		d.QueryRow(ctx, `SELECT COUNT(*) - COUNT(ended_at) FROM status_intervals WHERE user_id = $1`, u.ID).Scan(&open)
		if open != 1 {
			t.Errorf("%d open intervals after concurrent changes", open)
		}
	})
}

// TestPresence: an agent whose connections have all closed, on every node,
// becomes Away once the delay has passed; one who is still connected on
// another node, or who comes back in time, stays; a node that dies is
// noticed by the sweep. The nodes read a clock the test moves, their
// changes are written when the test says (as Run does once they settle),
// and the test runs the Away jobs that are due as the job runner would.
func TestPresence(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		q := job.NewQueue()
		const away = 10 * time.Second // well within a node's heartbeat staleness
		clk := newClock()
		nodeA := availability.NewPresence(d, f.log, q, nil, "node-a", away, quiet)
		nodeB := availability.NewPresence(d, f.log, q, nil, "node-b", away, quiet)
		nodeA.SetClock(clk.Now)
		nodeB.SetClock(clk.Now)
		// due runs the Away jobs due by the clock and reports how many ran.
		due := func() int {
			t.Helper()
			rows, err := d.Query(ctx, `SELECT id, payload FROM jobs WHERE kind = $1 AND run_at <= $2 ORDER BY run_at, id`, availability.AwayJob, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			var jobs []job.Job
			for rows.Next() {
				var j job.Job
				var payload string
				if err := rows.Scan(&j.ID, &payload); err != nil {
					t.Fatal(err)
				}
				j.Kind, j.Payload, j.Attempt, j.MaxAttempts = availability.AwayJob, json.RawMessage(payload), 1, 5
				jobs = append(jobs, j)
			}
			rows.Close()
			for _, j := range jobs {
				if err := nodeA.Handle(ctx, &j); err != nil {
					t.Fatalf("Away job %d: %v", j.ID, err)
				}
				if _, err := d.Exec(ctx, `DELETE FROM jobs WHERE id = $1`, j.ID); err != nil {
					t.Fatal(err)
				}
			}
			return len(jobs)
		}
		// scheduled returns when the Away jobs waiting are due.
		scheduled := func() []time.Time {
			t.Helper()
			rows, err := d.Query(ctx, `SELECT run_at FROM jobs WHERE kind = $1 ORDER BY run_at`, availability.AwayJob)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []time.Time
			for rows.Next() {
				var at time.Time
				if err := rows.Scan(&at); err != nil {
					t.Fatal(err)
				}
				out = append(out, at.UTC())
			}
			return out
		}

		ana := f.user(t, "ana@example.com")
		f.svc.Set(ctx, ana.ID, user.Available)
		nodeA.Connect(ana.ID)
		nodeB.Connect(ana.ID)
		nodeB.Connect(ana.ID)
		nodeA.Flush(ctx)
		nodeB.Flush(ctx)
		if at := scheduled(); len(at) != 0 {
			t.Fatalf("connecting scheduled Away jobs at %v", at)
		}

		// Gone from node A, still connected on node B: the job comes due
		// and finds her there.
		clk.Advance(time.Second)
		goneA := clk.Now()
		nodeA.Disconnect(ana.ID)
		nodeA.Flush(ctx)
		if at := scheduled(); len(at) != 1 || !at[0].Equal(goneA.Add(away)) {
			t.Fatalf("Away jobs at %v, want one at %v", at, goneA.Add(away))
		}
		clk.Advance(2 * away)
		if n := due(); n != 1 {
			t.Fatalf("%d Away jobs ran, want 1", n)
		}
		if st := f.status(t, ana.ID); st != user.Available {
			t.Fatalf("connected on another node, yet %s", st)
		}

		// A reload (a close and an open before they settle) changes
		// nothing and schedules nothing.
		nodeB.Disconnect(ana.ID)
		nodeB.Connect(ana.ID)
		nodeB.Flush(ctx)
		if at := scheduled(); len(at) != 0 {
			t.Fatalf("a reload scheduled Away jobs at %v", at)
		}

		// Gone from every node, back before the delay: the job finds her
		// back.
		nodeB.Disconnect(ana.ID)
		nodeB.Disconnect(ana.ID)
		nodeB.Flush(ctx)
		clk.Advance(away / 4)
		nodeB.Connect(ana.ID)
		nodeB.Flush(ctx)
		clk.Advance(2 * away)
		if n := due(); n != 1 {
			t.Fatalf("%d Away jobs ran, want 1", n)
		}
		if st := f.status(t, ana.ID); st != user.Available {
			t.Fatalf("came back in time, yet %s", st)
		}

		// Gone for good: Away at the delay, not a moment before.
		gone := clk.Now()
		nodeB.Disconnect(ana.ID)
		nodeB.Flush(ctx)
		clk.Advance(away - time.Microsecond)
		if n := due(); n != 0 {
			t.Fatalf("%d Away jobs ran before the delay", n)
		}
		if changed, err := nodeA.AwayIfGone(ctx, ana.ID); err != nil || changed {
			t.Fatalf("AwayIfGone %v after %v, before the delay of %v (%v)", changed, clk.Now().Sub(gone), away, err)
		}
		if st := f.status(t, ana.ID); st != user.Available {
			t.Fatalf("before the delay: %s", st)
		}
		clk.Advance(time.Microsecond)
		if n := due(); n != 1 {
			t.Fatalf("%d Away jobs ran at the delay, want 1", n)
		}
		if st := f.status(t, ana.ID); st != user.Away {
			t.Fatalf("gone for %v: %s", clk.Now().Sub(gone), st)
		}

		// A node that dies leaves a row with connections and an old
		// heartbeat: the sweep notices once the delay has passed.
		bo := f.user(t, "bo@example.com")
		f.svc.Set(ctx, bo.ID, user.OnBreak)
		if _, err := d.Exec(ctx, `INSERT INTO presence (user_id, node, connections, seen_at) VALUES ($1, 'dead-node', 2, $2)`,
			bo.ID, clk.Now().Add(-2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := nodeA.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if st := f.status(t, bo.ID); st != user.Away {
			t.Fatalf("agent of a dead node: %s", st)
		}
		// Someone who never connected (an API script) is left alone.
		cy := f.user(t, "cy@example.com")
		f.svc.Set(ctx, cy.ID, user.Available)
		nodeA.Sweep(ctx)
		if changed, _ := nodeA.AwayIfGone(ctx, cy.ID); changed || f.status(t, cy.ID) != user.Available {
			t.Fatal("an agent without connections was made Away")
		}
		// Signing in, on any device, makes the agent Away.
		nodeA.Connect(cy.ID)
		f.svc.SignedIn(ctx, cy.ID)
		if st := f.status(t, cy.ID); st != user.Away {
			t.Fatalf("after signing in: %s", st)
		}
	})
}

// TestPresenceRun runs a node and the job runner on the real clock: the
// close of an agent's last connection is written once it settles and its
// job makes them Away after the delay; a node that stops records its
// connections as gone.
func TestPresenceRun(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		q := job.NewQueue()
		const away = 300 * time.Millisecond
		node := availability.NewPresence(d, f.log, q, nil, "node-a", away, quiet)
		r := job.NewRunner(d, q, job.Config{Poll: 20 * time.Millisecond}, quiet)
		r.Handle(availability.AwayJob, node)
		run := func(run func(context.Context) error) (stop func()) {
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { run(rctx); close(done) }()
			return func() { cancel(); <-done }
		}
		stopRunner := run(r.Run)
		defer stopRunner()
		stopNode := run(node.Run)
		defer stopNode()

		ana := f.user(t, "ana@example.com")
		f.svc.Set(ctx, ana.ID, user.Available)
		node.Connect(ana.ID)
		start := time.Now()
		node.Disconnect(ana.ID)
		waitFor(t, "Away", func() bool { return f.status(t, ana.ID) == user.Away })
		if el := time.Since(start); el < away {
			t.Errorf("Away after %v, before the delay of %v", el, away)
		}

		bo := f.user(t, "bo@example.com")
		node.Connect(bo.ID)
		connections := func() (n int, gone bool) {
			var goneAt *time.Time
			err := d.QueryRow(ctx, `SELECT connections, gone_at FROM presence WHERE user_id = $1 AND node = 'node-a'`, bo.ID).Scan(&n, &goneAt)
			if err != nil && !errors.Is(db.MapErr(err), db.ErrNotFound) {
				t.Fatal(err)
			}
			return n, goneAt != nil
		}
		waitFor(t, "the connection written", func() bool { n, _ := connections(); return n == 1 })
		stopNode()
		if n, gone := connections(); n != 0 || !gone {
			t.Fatalf("after the node stopped: %d connections, gone %v", n, gone)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// clock is a time that moves only when the test says.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: db.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = db.Time(c.now.Add(d))
	c.mu.Unlock()
}

func TestTimeInStatus(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		ana, bo, cy := f.user(t, "ana@example.com"), f.user(t, "bo@example.com"), f.user(t, "cy@example.com")
		t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		insert := func(u user.User, st user.Status, from, to int) {
			var end any
			if to >= 0 {
				end = at(to)
			}
			if _, err := d.Exec(ctx, `INSERT INTO status_intervals (user_id, status, started_at, ended_at) VALUES ($1, $2, $3, $4)`, u.ID, st, at(from), end); err != nil {
				t.Fatal(err)
			}
		}
		insert(ana, user.Available, 0, 60)
		insert(ana, user.Away, 60, 90)
		insert(ana, user.Available, 90, 120)
		insert(bo, user.Available, -600, 120)
		insert(cy, user.OnBreak, 200, 230) // outside the range
		teams := team.NewStore(d)
		teams.Create(ctx, team.NewTeam{Name: "Support", MemberIDs: []int64{ana.ID, bo.ID}})
		teams.Create(ctx, team.NewTeam{Name: "Empty"})

		rep, err := f.svc.TimeInStatus(ctx, at(30), at(120), availability.ByAgent)
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]availability.ReportRow{}
		for _, r := range rep.Rows {
			rows[r.Name] = r
		}
		if a := rows["ana@example.com"].Times[user.Available]; a.TotalSeconds != 3600 || a.Intervals != 2 || a.AverageSeconds != 1800 {
			t.Errorf("ana available %+v", a)
		}
		if a := rows["ana@example.com"].Times[user.Away]; a.TotalSeconds != 1800 || a.Intervals != 1 {
			t.Errorf("ana away %+v", a)
		}
		if b := rows["bo@example.com"].Times[user.Available]; b.TotalSeconds != 5400 || b.AverageSeconds != 5400 {
			t.Errorf("bo available %+v", b)
		}
		if c := rows["cy@example.com"]; c.Total() != 0 || c.Agents != 1 {
			t.Errorf("cy %+v", c)
		}
		rep, err = f.svc.TimeInStatus(ctx, at(30), at(120), availability.ByTeam)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 2 || rep.Rows[0].Name != "Empty" || rep.Rows[1].Agents != 2 {
			t.Fatalf("teams %+v", rep.Rows)
		}
		if s := rep.Rows[1].Times[user.Available]; s.TotalSeconds != 9000 || s.AverageSeconds != 4500 {
			t.Errorf("team available %+v", s)
		}
		// An open interval counts until now.
		dan := f.user(t, "dan@example.com")
		if _, err := d.Exec(ctx, `INSERT INTO status_intervals (user_id, status, started_at) VALUES ($1, $2, $3)`, dan.ID, user.Available, db.Now().Add(-90*time.Second)); err != nil {
			t.Fatal(err)
		}
		rep, _ = f.svc.TimeInStatus(ctx, db.Now().Add(-time.Hour), db.Now().Add(time.Hour), availability.ByAgent)
		for _, r := range rep.Rows {
			if a := r.Times[user.Available]; r.ID == dan.ID && (a.TotalSeconds < 90 || a.TotalSeconds > 100 || a.Intervals != 1) {
				t.Errorf("open interval started 90 s ago: %+v", a)
			}
		}
		if _, err := f.svc.TimeInStatus(ctx, at(0), at(1), "inbox"); err == nil {
			t.Error("unknown group accepted")
		}
	})
}

func TestParseRange(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)
	from, to, err := availability.ParseRange("2026-03-01", "2026-03-02", now)
	if err != nil || !from.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("dates: %v %v %v", from, to, err)
	}
	from, to, err = availability.ParseRange("", "", now)
	if err != nil || !from.Equal(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)) || !to.Equal(now) {
		t.Errorf("default: %v %v %v", from, to, err)
	}
	if _, _, err := availability.ParseRange("2026-03-01T10:00:00+01:00", "2026-03-01T12:00:00Z", now); err != nil {
		t.Errorf("RFC 3339: %v", err)
	}
	for _, tc := range [][3]string{
		{"yesterday", "2026-03-02", "from"},
		{"2026-03-05", "2026-03-01", "to"},
		{"2024-01-01", "2026-03-01", "from"},
	} {
		_, _, err := availability.ParseRange(tc[0], tc[1], now)
		if p, _ := problem.As(err); p == nil || p.Fields[tc[2]] == "" {
			t.Errorf("%s..%s: %v, want a message on %s", tc[0], tc[1], err, tc[2])
		}
	}
}
