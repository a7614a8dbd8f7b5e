package automation

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/routing"
)

// timerNodeEnv makes the test binary a node that only runs timers (see
// runTimerNode), for TestTimersSurviveKill.
const timerNodeEnv = "SWITCHBOARD_TEST_TIMER_NODE"

func init() {
	if name := os.Getenv(timerNodeEnv); name != "" {
		runTimerNode(name)
	}
}

// runTimerNode runs the automation timers of the database named by the
// environment until it is killed.
func runTimerNode(name string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	d, err := db.Open(ctx, os.Getenv("SWITCHBOARD_TEST_TIMER_URL"), os.Getenv("SWITCHBOARD_TEST_TIMER_DIR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := event.NewLog(d, event.NewLocal(), quiet)
	queue := job.NewQueue()
	auto := New(d, log, queue, quiet)
	conv := conversation.NewService(d, log, queue, attachment.DefaultLimits, auto.Route(routing.New(d, log, queue, quiet)))
	auto.Serve(conv)
	runner := job.NewRunner(d, queue, job.Config{Node: name, Workers: 8, Poll: 20 * time.Millisecond, Lease: 2 * time.Second}, quiet)
	auto.Register(runner)
	// The reminders' sends stay in the outbox: no channel here.
	runner.Handle(conversation.SendJob, job.HandlerFunc(func(context.Context, *job.Job) error { return job.Later(time.Now().Add(time.Hour)) }))
	runner.Run(ctx)
	os.Exit(0)
}

// TestTimersSurviveKill kills a node with kill -9 while it fires
// reminders, then runs the rest (on PostgreSQL on two nodes at once): every
// reminder goes exactly once, none is lost.
func TestTimersSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			env := []string{}
			var d *db.DB
			var err error
			if engine == "sqlite" {
				dir := t.TempDir()
				if d, err = db.Open(t.Context(), "", dir); err == nil {
					_, err = d.Migrate(t.Context())
				}
				env = append(env, "SWITCHBOARD_TEST_TIMER_DIR="+dir)
			} else {
				u := dbtest.PostgresURL(t)
				d, err = db.Open(t.Context(), u, "")
				env = append(env, "SWITCHBOARD_TEST_TIMER_URL="+u)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			f := newFixture(t, d)
			f.set(func(s *Settings) { s.Reminder.Enabled, s.Reminder.AfterMinutes = true, 1 })
			const n = 300
			for i := range n {
				f.say(fmt.Sprintf("customer-%d", i), "Hello?")
			}
			// Their turns began ten minutes ago: every reminder is due.
			ago := db.Now().Add(-10 * time.Minute)
			for _, q := range []string{`UPDATE messages SET created_at = $1`, `UPDATE conversations SET last_customer_message_at = $1`,
				`UPDATE jobs SET run_at = $1 WHERE kind = 'automation.reminder'`} {
				if _, err := d.Exec(f.ctx, q, ago); err != nil {
					t.Fatal(err)
				}
			}
			reminded := func() (convs, msgs int) {
				if err := d.QueryRow(f.ctx, `SELECT COUNT(DISTINCT conversation_id), COUNT(*) FROM messages WHERE auto_kind = 'reminder'`).Scan(&convs, &msgs); err != nil {
					t.Fatal(err)
				}
				return
			}
			start := func(name string) *exec.Cmd {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(append(os.Environ(), env...), timerNodeEnv+"="+name)
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
				return cmd
			}
			wait := func(what string, cond func() bool) {
				deadline := time.Now().Add(90 * time.Second)
				for !cond() {
					if time.Now().After(deadline) {
						t.Fatalf("timed out waiting for %s", what)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			first := start("first")
			wait("the first reminders", func() bool { c, _ := reminded(); return c >= n/5 })
			if err := first.Process.Kill(); err != nil { // SIGKILL: no shutdown at all
				t.Fatal(err)
			}
			first.Wait()
			before, _ := reminded()
			start("second")
			if engine == "postgres" {
				start("third")
			}
			wait("every reminder", func() bool {
				var left int
				d.QueryRow(f.ctx, `SELECT COUNT(*) FROM jobs WHERE kind = 'automation.reminder'`).Scan(&left)
				return left == 0
			})
			convs, msgs := reminded()
			t.Logf("%d reminders before the kill, %d after", before, convs-before)
			if before >= n {
				t.Errorf("the node was killed after it had fired every reminder (%d): the test shows nothing", before)
			}
			if convs != n || msgs != n {
				t.Errorf("%d reminders in %d conversations, want exactly one in each of %d", msgs, convs, n)
			}
			var failed int
			d.QueryRow(f.ctx, `SELECT COUNT(*) FROM jobs WHERE failed_at IS NOT NULL`).Scan(&failed)
			if failed != 0 {
				t.Errorf("%d jobs failed", failed)
			}
		})
	}
}
