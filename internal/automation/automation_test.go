package automation

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

// fixture is a node's conversations with routing and automation, a web
// chat inbox and an agent, and a clock the timers read.
type fixture struct {
	t       testing.TB
	ctx     context.Context
	d       *db.DB
	log     *event.Log
	queue   *job.Queue
	auto    *Service
	routing *routing.Service
	conv    *conversation.Service
	status  *availability.Service
	users   *user.Store
	inboxes *inbox.Store
	admin   policy.Actor
	agent   user.User
	inbox   int64
	now     time.Time
	msgs    atomic.Int64
}

func newFixture(t testing.TB, d *db.DB) *fixture {
	f := &fixture{t: t, ctx: context.Background(), d: d, queue: job.NewQueue(), now: time.Now()}
	f.log = event.NewLog(d, event.NewLocal(), quiet)
	f.routing = routing.New(d, f.log, f.queue, quiet)
	f.auto = New(d, f.log, f.queue, quiet)
	f.auto.SetClock(func() time.Time { return f.now })
	f.auto.EstimateWith(f.routing.EstimatedWait)
	f.conv = conversation.NewService(d, f.log, f.queue, attachment.DefaultLimits, f.auto.Route(f.routing))
	f.auto.Serve(f.conv)
	f.status = availability.New(d, f.log, f.routing)
	f.users = user.NewStore(d, f.log, func(string) (string, error) { return "h", nil })
	box, _ := secret.NewBox(make([]byte, 32))
	f.inboxes = inbox.NewStore(d, f.log, box, webchat.Channel())
	admin := f.user("admin@example.com", policy.Admin)
	f.agent = f.user("ana@example.com", policy.Service)
	in, _, err := f.inboxes.Create(f.ctx, inbox.NewInbox{Type: webchat.Type, Name: "Support", MemberIDs: []int64{f.agent.ID}})
	if err != nil {
		t.Fatal(err)
	}
	f.inbox = in.ID
	f.admin = f.actor(admin)
	return f
}

func (f *fixture) user(email string, role policy.Role) user.User {
	f.t.Helper()
	u, err := f.users.Create(f.ctx, user.NewUser{Email: email, Name: strings.Split(email, "@")[0], Role: role, Password: "long enough password"})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) actor(u user.User) policy.Actor {
	ids, err := user.Inboxes(f.ctx, f.d, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return policy.Actor{UserID: u.ID, Role: u.Role, Inboxes: ids}
}

// set saves the inbox's automation after change edits the defaults.
func (f *fixture) set(change func(*Settings)) {
	f.t.Helper()
	st := Defaults()
	change(&st)
	if _, err := f.auto.SetSettings(f.ctx, f.admin, f.inbox, st); err != nil {
		f.t.Fatal(err)
	}
}

// say is a message of customer who.
func (f *fixture) say(who, text string) conversation.Receipt {
	f.t.Helper()
	r, err := f.conv.Receive(f.ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: who,
		ChannelMessageID: fmt.Sprintf("m%d", f.msgs.Add(1)), Text: text})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// choose is a customer's tap on a button or row.
func (f *fixture) choose(who, id, title string) conversation.Receipt {
	f.t.Helper()
	r, err := f.conv.Receive(f.ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: who,
		ChannelMessageID: fmt.Sprintf("m%d", f.msgs.Add(1)), Text: title, Choice: id})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) reply(convID int64, text string) {
	f.t.Helper()
	if _, _, err := f.conv.Send(f.ctx, f.actor(f.agent), convID, conversation.Outgoing{Text: text}); err != nil {
		f.t.Fatal(err)
	}
}

// auto returns the kinds of the automatic messages of a conversation, in
// order.
func (f *fixture) autos(convID int64) []string {
	f.t.Helper()
	rows, err := f.d.Query(f.ctx, `SELECT auto_kind, sender_type, status FROM messages WHERE conversation_id = $1 AND auto_kind IS NOT NULL ORDER BY id`, convID)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k, sender, status string
		if err := rows.Scan(&k, &sender, &status); err != nil {
			f.t.Fatal(err)
		}
		if sender != "system" || status != "pending" {
			f.t.Errorf("automatic %s message: sender %s, status %s; want system, pending (in the outbox)", k, sender, status)
		}
		out = append(out, k)
	}
	return out
}

// fire runs the timer with dedup key (kind:conv) as its runner would, at
// the fixture's clock; ok is false when there is none.
func (f *fixture) fire(kind string, convID int64) (later time.Time, ok bool) {
	f.t.Helper()
	key := map[string]string{ReminderJob: "reminder:", AutoCloseJob: "autoclose:"}[kind] + fmt.Sprint(convID)
	var payload string
	err := f.d.QueryRow(f.ctx, `SELECT payload FROM jobs WHERE dedup_key = $1`, key).Scan(&payload)
	if err != nil {
		return time.Time{}, false
	}
	// Claimed as a runner would (by an unnamed one, the zero Job's node).
	if _, err := f.d.Exec(f.ctx, `UPDATE jobs SET locked_by = '' WHERE dedup_key = $1`, key); err != nil {
		f.t.Fatal(err)
	}
	var id int64
	f.d.QueryRow(f.ctx, `SELECT id FROM jobs WHERE dedup_key = $1`, key).Scan(&id)
	j := &job.Job{ID: id, Kind: kind, Payload: []byte(payload), Attempt: 1, MaxAttempts: 10}
	var herr error
	if kind == ReminderJob {
		herr = f.auto.handleReminder(f.ctx, j)
	} else {
		herr = f.auto.handleAutoClose(f.ctx, j)
	}
	if at, moved := job.IsLater(herr); moved {
		if _, err := f.d.Exec(f.ctx, `UPDATE jobs SET run_at = $2 WHERE dedup_key = $1`, key, db.Time(at)); err != nil {
			f.t.Fatal(err)
		}
		return at, true
	}
	if herr != nil {
		f.t.Fatalf("%s: %v", kind, herr)
	}
	if _, err := f.d.Exec(f.ctx, `DELETE FROM jobs WHERE dedup_key = $1`, key); err != nil {
		f.t.Fatal(err)
	}
	return time.Time{}, true
}

func (f *fixture) sendJobs(convID int64) int {
	f.t.Helper()
	var n int
	err := f.d.QueryRow(f.ctx, `SELECT COUNT(*) FROM jobs j JOIN messages m ON j.payload = '{"message_id":' || CAST(m.id AS TEXT) || '}'
		WHERE j.kind = 'message.send' AND m.conversation_id = $1 AND m.auto_kind IS NOT NULL`, convID).Scan(&n)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestDeadlines(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	at := func(m int) *time.Time { v := t0.Add(time.Duration(m) * time.Minute); return &v }
	for _, c := range []struct {
		name  string
		s     reminderState
		now   time.Time
		send  bool
		later time.Time
	}{
		{"not yet", reminderState{Open: true, Enabled: true, TurnStart: t0, Wait: 10 * time.Minute}, *at(5), false, *at(10)},
		{"due", reminderState{Open: true, Enabled: true, TurnStart: t0, Wait: 10 * time.Minute}, *at(10), true, time.Time{}},
		{"answered", reminderState{Open: true, Enabled: true, Wait: 10 * time.Minute}, *at(30), false, time.Time{}},
		{"reminded", reminderState{Open: true, Enabled: true, TurnStart: t0, Reminded: true, Wait: 10 * time.Minute}, *at(30), false, time.Time{}},
		{"switched off", reminderState{Open: true, TurnStart: t0, Wait: 10 * time.Minute}, *at(30), false, time.Time{}},
		{"closed", reminderState{Enabled: true, TurnStart: t0, Wait: 10 * time.Minute}, *at(30), false, time.Time{}},
	} {
		send, later := reminderDue(c.s, c.now)
		if send != c.send || !later.Equal(c.later) {
			t.Errorf("reminder %s: %v %v, want %v %v", c.name, send, later, c.send, c.later)
		}
	}
	for _, c := range []struct {
		name  string
		s     closeState
		now   time.Time
		close bool
		later time.Time
	}{
		{"not yet", closeState{Open: true, Served: true, Enabled: true, LastAgent: at(0), LastCustomer: at(-1), After: time.Hour}, *at(59), false, *at(60)},
		{"due", closeState{Open: true, Served: true, Enabled: true, LastAgent: at(0), LastCustomer: at(-1), After: time.Hour}, *at(60), true, time.Time{}},
		{"customer replied", closeState{Open: true, Served: true, Enabled: true, LastAgent: at(0), LastCustomer: at(1), After: time.Hour}, *at(90), false, time.Time{}},
		{"unassigned", closeState{Open: true, Enabled: true, LastAgent: at(0), After: time.Hour}, *at(90), false, time.Time{}},
		{"no agent message", closeState{Open: true, Served: true, Enabled: true, LastCustomer: at(0), After: time.Hour}, *at(90), false, time.Time{}},
		{"switched off", closeState{Open: true, Served: true, LastAgent: at(0), After: time.Hour}, *at(90), false, time.Time{}},
		{"closed", closeState{Served: true, Enabled: true, LastAgent: at(0), After: time.Hour}, *at(90), false, time.Time{}},
	} {
		close, later := closeDue(c.s, c.now)
		if close != c.close || !later.Equal(c.later) {
			t.Errorf("auto-close %s: %v %v, want %v %v", c.name, close, later, c.close, c.later)
		}
	}
	if got := span(24 * time.Hour); got != "1 day" {
		t.Errorf("span(24h) = %q", got)
	}
	if got := span(90 * time.Minute); got != "90 minutes" {
		t.Errorf("span(90m) = %q", got)
	}
}

func TestSettingsChecked(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		st := Defaults()
		st.Welcome.Message = reply.Message{Kind: reply.Text}
		st.Reminder.AfterMinutes = 0
		st.AutoClose.AfterMinutes = 72*60 + 1
		st.CSAT.Button = strings.Repeat("b", 21)
		st.Queue.Message = reply.Message{Kind: reply.Interactive, Text: "Pick one", Interactive: &whatsapp.Interactive{Type: "button",
			Buttons: []whatsapp.Button{{ID: "a", Title: strings.Repeat("t", 21)}}}}
		_, err := f.auto.SetSettings(f.ctx, f.admin, f.inbox, st)
		p, ok := problem.As(err)
		if !ok || p.Kind != problem.KindInvalid {
			t.Fatalf("SetSettings = %v, want a problem per field", err)
		}
		for _, field := range []string{"welcome.message.text", "reminder.after_minutes", "auto_close.after_minutes", "csat.button", "queue.message.interactive.buttons.0.title"} {
			if p.Fields[field] == "" {
				t.Errorf("no problem on %s (got %v)", field, p.Fields)
			}
		}
		if got, _ := f.auto.Settings(f.ctx, f.inbox); got.Reminder.AfterMinutes != DefaultReminder {
			t.Errorf("refused settings were saved: %+v", got.Reminder)
		}
		if _, err := f.auto.Settings(f.ctx, 99999); err == nil {
			t.Error("settings of an inbox that does not exist")
		}
	})
}

func TestWelcome(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.set(func(s *Settings) { s.Welcome.Enabled = true })
		// A first message opens a conversation and gets the welcome, with
		// its variables filled, through the outbox.
		r := f.say("alice", "Hi")
		if got := f.autos(r.Conversation.ID); !equal(got, []string{KindWelcome}) {
			t.Fatalf("automatic messages = %v, want the welcome", got)
		}
		if n := f.sendJobs(r.Conversation.ID); n != 1 {
			t.Errorf("%d send jobs for the welcome, want 1", n)
		}
		var text string
		f.d.QueryRow(f.ctx, `SELECT text FROM messages WHERE conversation_id = $1 AND auto_kind = 'welcome'`, r.Conversation.ID).Scan(&text)
		if text != "Hi, welcome to Support! How can we help?" {
			t.Errorf("welcome text %q", text)
		}
		// The next conversation of the same customer within a day: none.
		if _, err := f.conv.Close(f.ctx, f.admin, r.Conversation.ID); err != nil {
			t.Fatal(err)
		}
		r2 := f.say("alice", "Me again")
		if r2.Conversation.ID == r.Conversation.ID || len(f.autos(r2.Conversation.ID)) != 0 {
			t.Errorf("second conversation %d got %v, want no welcome", r2.Conversation.ID, f.autos(r2.Conversation.ID))
		}
		// Opening the chat (no message) greets at once, and leaves no
		// conversation in agents' lists until the customer writes.
		opened, err := f.conv.Receive(f.ctx, conversation.Incoming{InboxID: f.inbox, ExternalID: "bob", ChannelMessageID: "open-1",
			Type: conversation.TypeSystem, Opened: true})
		if err != nil {
			t.Fatal(err)
		}
		c := opened.Conversation
		if !c.Pending() || c.AssigneeID != nil || c.Queue != nil {
			t.Errorf("opened chat: pending %v, assignee %v, queue %v; want pending and unrouted", c.Pending(), c.AssigneeID, c.Queue)
		}
		if got := f.autos(c.ID); !equal(got, []string{KindWelcome}) {
			t.Errorf("opened chat: automatic messages %v, want the welcome", got)
		}
		page, err := f.conv.List(f.ctx, f.admin, conversation.ListOptions{Status: conversation.Open})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if it.ID == c.ID {
				t.Error("a conversation whose customer only opened the chat is listed")
			}
		}
		// The first message: the same conversation, listed now, with no
		// second welcome.
		first := f.say("bob", "Hello?")
		if first.Conversation.ID != c.ID || first.Conversation.Pending() || !first.NewConversation && false {
			t.Errorf("first message went to %d (pending %v), want %d, no longer pending", first.Conversation.ID, first.Conversation.Pending(), c.ID)
		}
		if got := f.autos(c.ID); !equal(got, []string{KindWelcome}) {
			t.Errorf("after the first message: %v, want one welcome", got)
		}
		page, _ = f.conv.List(f.ctx, f.admin, conversation.ListOptions{Status: conversation.Open})
		found := false
		for _, it := range page.Items {
			found = found || it.ID == c.ID
		}
		if !found {
			t.Error("the conversation is not listed after the customer wrote")
		}
	})
}

func TestUnassignedAndQueue(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.set(func(s *Settings) { s.Unassigned.Enabled, s.Queue.Enabled = true, true })
		// Nobody takes conversations automatically: the unassigned reply.
		r := f.say("carol", "Anyone?")
		if got := f.autos(r.Conversation.ID); !equal(got, []string{KindUnassigned}) {
			t.Errorf("unassigned conversation: %v, want the unassigned auto-reply", got)
		}
		// In turn among Available members, with a limit of one: the second
		// conversation waits in the queue and is told its position.
		lim := 1
		rule := routing.AvailableInTurn
		if _, err := f.routing.SetSettings(f.ctx, f.inbox, routing.Patch{Rule: &rule, DefaultLimit: &lim}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.status.Set(f.ctx, f.agent.ID, user.Available); err != nil {
			t.Fatal(err)
		}
		served := f.say("dan", "Help")
		if served.Conversation.AssigneeID == nil || len(f.autos(served.Conversation.ID)) != 0 {
			t.Errorf("assigned conversation: assignee %v, automatic %v; want assigned, nothing sent", served.Conversation.AssigneeID, f.autos(served.Conversation.ID))
		}
		queued := f.say("erin", "Help me too")
		if queued.Conversation.Queue == nil {
			t.Fatal("the second conversation is not queued")
		}
		if got := f.autos(queued.Conversation.ID); !equal(got, []string{KindQueue}) {
			t.Fatalf("queued conversation: %v, want the queue message", got)
		}
		var text string
		f.d.QueryRow(f.ctx, `SELECT text FROM messages WHERE conversation_id = $1 AND auto_kind = 'queue'`, queued.Conversation.ID).Scan(&text)
		if !strings.HasPrefix(text, "You are number 1 in the queue.") {
			t.Errorf("queue message %q", text)
		}
	})
}

func TestReminder(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.set(func(s *Settings) { s.Reminder.Enabled, s.Reminder.AfterMinutes = true, 10 })
		r := f.say("fay", "Is anyone there?")
		id := r.Conversation.ID
		// More messages of the same turn schedule nothing more.
		f.say("fay", "Hello?")
		var jobs int
		f.d.QueryRow(f.ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1`, ReminderJob).Scan(&jobs)
		if jobs != 1 {
			t.Fatalf("%d reminder timers, want 1", jobs)
		}
		f.now = time.Now().Add(9 * time.Minute)
		if later, ok := f.fire(ReminderJob, id); !ok || later.IsZero() {
			t.Fatalf("before the waiting time: later %v (ok %v), want the timer moved", later, ok)
		}
		f.now = time.Now().Add(11 * time.Minute)
		if later, ok := f.fire(ReminderJob, id); !ok || !later.IsZero() {
			t.Fatalf("after the waiting time: later %v (ok %v), want done", later, ok)
		}
		if got := f.autos(id); !equal(got, []string{KindReminder}) {
			t.Fatalf("automatic messages %v, want one reminder", got)
		}
		// The turn had its reminder: another message of the customer does
		// not start another.
		f.say("fay", "Still waiting")
		if _, ok := f.fire(ReminderJob, id); ok {
			t.Error("a second reminder timer in the same turn")
		}
		// An agent answers before the waiting time: no reminder.
		f.reply(id, "Sorry, here I am")
		f.say("fay", "Thanks, one more question")
		f.reply(id, "Sure")
		f.now = time.Now().Add(time.Hour)
		if later, ok := f.fire(ReminderJob, id); !ok || !later.IsZero() {
			t.Fatalf("answered turn: later %v (ok %v)", later, ok)
		}
		if got := f.autos(id); !equal(got, []string{KindReminder}) {
			t.Errorf("an answered turn got a reminder: %v", got)
		}
		// A new unanswered turn gets its own.
		f.say("fay", "And another thing")
		f.now = time.Now().Add(time.Hour)
		f.fire(ReminderJob, id)
		if got := f.autos(id); !equal(got, []string{KindReminder, KindReminder}) {
			t.Errorf("second turn: %v, want two reminders", got)
		}
	})
}

func TestAutoClose(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.set(func(s *Settings) { s.AutoClose.Enabled, s.AutoClose.AfterMinutes = true, 60 })
		r := f.say("gus", "Hi")
		id := r.Conversation.ID
		// Unassigned conversations never close by themselves.
		if _, ok := f.fire(AutoCloseJob, id); ok {
			t.Fatal("an auto-close timer for a conversation nobody answered")
		}
		f.reply(id, "Hello, how can I help?") // takes the conversation
		f.now = time.Now().Add(30 * time.Minute)
		if later, ok := f.fire(AutoCloseJob, id); !ok || later.IsZero() {
			t.Fatalf("before the time: later %v (ok %v)", later, ok)
		}
		// The customer replies: the timer ends; the agent's next reply
		// starts it again.
		f.say("gus", "Let me check")
		f.now = time.Now().Add(2 * time.Hour)
		if later, ok := f.fire(AutoCloseJob, id); !ok || !later.IsZero() {
			t.Fatalf("after the customer replied: later %v (ok %v)", later, ok)
		}
		if c, _ := conversation.Load(f.ctx, f.d, id); c.Status != conversation.Open {
			t.Fatal("closed although the customer replied")
		}
		f.reply(id, "Anything else?")
		f.now = time.Now().Add(61 * time.Minute)
		f.fire(AutoCloseJob, id)
		c, _ := conversation.Load(f.ctx, f.d, id)
		if c.Status != conversation.Closed {
			t.Fatal("not closed after an hour without the customer's reply")
		}
		acts, err := f.conv.Activities(f.ctx, f.admin, id, conversation.ActivityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		last := acts[len(acts)-1]
		if last.Kind != conversation.ActClosed || last.ActorType != conversation.ActorSystem || last.Note != "The customer did not reply for 1 hour." {
			t.Errorf("last activity %+v, want Switchboard's close with its reason", last)
		}
	})
}

func TestCSAT(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.set(func(s *Settings) { s.CSAT.Enabled = true })
		// Closed with nobody serving it: no survey.
		idle := f.say("hal", "Hi")
		if _, err := f.conv.Close(f.ctx, f.admin, idle.Conversation.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.autos(idle.Conversation.ID); len(got) != 0 {
			t.Errorf("unserved conversation got %v", got)
		}
		r := f.say("ivy", "Hi")
		id := r.Conversation.ID
		f.reply(id, "Hello Ivy")
		if _, err := f.conv.Close(f.ctx, f.actor(f.agent), id); err != nil {
			t.Fatal(err)
		}
		if got := f.autos(id); !equal(got, []string{KindCSAT}) {
			t.Fatalf("served conversation closed: %v, want the survey", got)
		}
		var content string
		f.d.QueryRow(f.ctx, `SELECT content FROM messages WHERE conversation_id = $1 AND auto_kind = 'csat'`, id).Scan(&content)
		for _, want := range []string{`"csat:5"`, `"csat:1"`, `"list_button":"Rate us"`} {
			if !strings.Contains(content, want) {
				t.Errorf("survey content lacks %s: %s", want, content)
			}
		}
		// The rating is kept in the closed conversation: no new one opens.
		rated := f.choose("ivy", "csat:4", "⭐⭐⭐⭐")
		if rated.Conversation.ID != id || rated.Conversation.Status != conversation.Closed {
			t.Fatalf("the rating went to conversation %d (%s), want %d, closed", rated.Conversation.ID, rated.Conversation.Status, id)
		}
		comment := f.say("ivy", "Quick and kind, thanks")
		if comment.Conversation.ID != id {
			t.Fatalf("the comment opened conversation %d", comment.Conversation.ID)
		}
		var rating int
		var text string
		var agent *int64
		if err := f.d.QueryRow(f.ctx, `SELECT rating, comment, agent_id FROM csat_ratings WHERE conversation_id = $1`, id).Scan(&rating, &text, &agent); err != nil {
			t.Fatal(err)
		}
		if rating != 4 || text != "Quick and kind, thanks" || agent == nil || *agent != f.agent.ID {
			t.Errorf("rating %d, comment %q, agent %v", rating, text, agent)
		}
		if got := f.autos(id); !equal(got, []string{KindCSAT, KindCSATThanks}) {
			t.Errorf("after rating: %v, want the survey and the thanks", got)
		}
		// Afterwards the customer's messages open a new conversation.
		next := f.say("ivy", "New question")
		if next.Conversation.ID == id || !next.NewConversation {
			t.Error("a message after the comment did not open a new conversation")
		}
	})
}

// TestBotConversations: while a bot holds a conversation, automation
// leaves it to the bot: no reminder, and no survey when it closes.
func TestBotConversations(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.set(func(s *Settings) {
			s.Reminder.Enabled, s.CSAT.Enabled = true, true
		})
		var botID int64
		now := db.Now()
		if err := d.Write(f.ctx, func(tx *db.Tx) error {
			return tx.QueryRow(f.ctx, `INSERT INTO bots (name, kind, created_at, updated_at) VALUES ('Menu', 'menu', $1, $1) RETURNING id`, now).Scan(&botID)
		}); err != nil {
			t.Fatal(err)
		}
		r := f.say("kim", "Hi")
		id := r.Conversation.ID
		// Held by the bot, which has answered: the next message starts a turn.
		if _, err := d.Exec(f.ctx, `UPDATE conversations SET bot_id = $2, last_agent_message_at = $3 WHERE id = $1`, id, botID, db.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(f.ctx, `DELETE FROM jobs WHERE kind = $1`, ReminderJob); err != nil {
			t.Fatal(err)
		}
		f.say("kim", "Hello?") // held by the bot: a turn, but no reminder
		var n int
		d.QueryRow(f.ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1`, ReminderJob).Scan(&n)
		if n != 0 {
			t.Errorf("%d reminder timers for a bot's conversation", n)
		}
		if _, err := f.conv.Close(f.ctx, f.admin, id); err != nil {
			t.Fatal(err)
		}
		if got := f.autos(id); len(got) != 0 {
			t.Errorf("a bot's conversation got %v", got)
		}
	})
}

// TestFilesKept: the file of an automatic message is kept for the inbox
// (the daily cleanup of uploads leaves it) and each send gets a copy.
func TestFilesKept(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		files := attachment.NewStore(d, t.TempDir(), attachment.DefaultLimits)
		pdf := "%PDF-1.4\n% the price list\n"
		up, err := files.Save(f.ctx, attachment.From{Uploader: attachment.Uploader("user", f.admin.UserID)}, "prices.pdf", strings.NewReader(pdf))
		if err != nil {
			t.Fatal(err)
		}
		f.set(func(s *Settings) {
			s.Welcome.Enabled = true
			s.Welcome.Message = reply.Message{Kind: reply.Media, Text: "Our prices", AttachmentID: up.ID}
		})
		if _, err := files.DeleteUnattached(f.ctx, -time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := attachment.Get(f.ctx, d, up.ID); err != nil {
			t.Fatalf("the cleanup removed the welcome's file: %v", err)
		}
		r := f.say("lou", "Hi")
		var n int
		d.QueryRow(f.ctx, `SELECT COUNT(*) FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = $1 AND m.auto_kind = 'welcome' AND a.sha256 = $2`,
			r.Conversation.ID, up.SHA256).Scan(&n)
		if n != 1 {
			t.Errorf("the welcome went with %d copies of its file, want 1", n)
		}
		// Another admin's upload cannot be taken by these settings.
		other, _ := files.Save(f.ctx, attachment.From{Uploader: attachment.Uploader("user", f.agent.ID)}, "x.pdf", strings.NewReader(pdf))
		st := Defaults()
		st.Queue.Message = reply.Message{Kind: reply.Media, AttachmentID: other.ID}
		_, err = f.auto.SetSettings(f.ctx, f.admin, f.inbox, st)
		if p, ok := problem.As(err); !ok || p.Fields["queue.message.attachment_id"] == "" {
			t.Errorf("someone else's upload: %v", err)
		}
	})
}
