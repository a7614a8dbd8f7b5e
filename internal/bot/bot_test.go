package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/bot"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// clock is the node's injected time: the real time moved on by a test.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// rig is a node with an admin, an agent and a web chat inbox whose
// routing gives every conversation to the agent.
type rig struct {
	t     *testing.T
	srv   *testrig.Server
	clock *clock
	admin *testrig.Client
	agent *testrig.Client
	inbox int64
	token string
}

func newRig(t *testing.T, d *db.DB) *rig {
	t.Helper()
	clk := &clock{}
	srv := testrig.Start(t, d, testrig.Options{Options: server.Options{Clock: clk.Now, JobBackoff: 20 * time.Millisecond}})
	admin := srv.NewUser("admin@example.com", policy.Admin)
	agent := srv.NewUser("agent@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Site", agent.UserID)
	rule := routing.AllInTurn
	if _, err := srv.App.Routing.SetSettings(context.Background(), in.ID, routing.Patch{Rule: &rule}); err != nil {
		t.Fatal(err)
	}
	// The bots' consumer follows the log from where it first starts:
	// wait for it before any customer writes.
	waitFor(t, "the bots' consumer to start", func() bool {
		var n int
		d.QueryRow(context.Background(), `SELECT COUNT(*) FROM event_consumers WHERE name = 'bots'`).Scan(&n)
		return n == 1
	})
	return &rig{t: t, srv: srv, clock: clk, admin: admin, agent: agent, inbox: in.ID, token: in.Token}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// conv reads a conversation as the admin sees it.
func (r *rig) conv(id int64) conversation.Conversation {
	r.t.Helper()
	var c conversation.Conversation
	r.admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", id), nil).Expect(200).Decode(&c)
	return c
}

// messages reads a conversation's messages, oldest first.
func (r *rig) messages(id int64) []conversation.Message {
	r.t.Helper()
	var p conversation.Page[conversation.Message]
	r.admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages?limit=100", id), nil).Expect(200).Decode(&p)
	out := make([]conversation.Message, 0, len(p.Items))
	for i := len(p.Items) - 1; i >= 0; i-- {
		out = append(out, p.Items[i])
	}
	return out
}

// botMessages are the conversation's messages sent by bots.
func (r *rig) botMessages(id int64) []conversation.Message {
	var out []conversation.Message
	for _, m := range r.messages(id) {
		if m.SenderType == conversation.SenderBot {
			out = append(out, m)
		}
	}
	return out
}

// visit starts a visitor who writes text, and returns them with their
// conversation.
func (r *rig) visit(name, text string) (*testrig.Visitor, int64) {
	r.t.Helper()
	v := r.srv.NewVisitor(r.token, map[string]string{"name": name})
	mid := v.Say(text)
	var convID int64
	if err := r.srv.App.DB.QueryRow(context.Background(), `SELECT conversation_id FROM messages WHERE id = $1`, mid).Scan(&convID); err != nil {
		r.t.Fatal(err)
	}
	return v, convID
}

func menuBot(inbox int64) bot.NewBot {
	return bot.NewBot{Name: "Concierge", Kind: bot.Menu, InboxID: &inbox, Menu: &bot.MenuConfig{
		Greeting: reply.Message{Text: "Hi {{contact.name}}, welcome to {{inbox.name}}! How can we help?"},
		Options: []bot.Option{
			{Title: "Opening hours", Action: bot.Reply, Message: textMessage("We are open 9:00–17:00, Monday to Friday.")},
			{Title: "Talk to a person", Action: bot.HandOff, Message: textMessage("One moment, someone will be with you.")},
			{Title: "Nothing, thanks", Action: bot.Close, Message: textMessage("Bye!")},
		},
	}}
}

// TestMenuFlow: a menu bot takes the inbox's new web chat conversations,
// greets with its options as buttons, answers an option (tapped, or
// written by its title or number) with its message, keeps the conversation while an agent writes, and hands off
// to routing (the agent gets it) or closes it without an assignee.
func TestMenuFlow(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		var b bot.Created
		r.admin.Do("POST", "/api/v1/bots", menuBot(r.inbox)).Expect(201).Decode(&b)
		if b.Token != "" || b.SigningSecret != "" || b.Menu.Options[1].ID != "o2" {
			t.Fatalf("menu bot: %+v", b)
		}

		v, id := r.visit("Ana", "hello")
		c := r.conv(id)
		if c.BotID == nil || *c.BotID != b.ID || c.AssigneeID != nil {
			t.Fatalf("the bot does not hold the new conversation: bot %v, assignee %v", c.BotID, c.AssigneeID)
		}
		waitFor(t, "the greeting", func() bool { return len(r.botMessages(id)) == 1 })
		g := r.botMessages(id)[0]
		if g.Type != conversation.TypeInteractive || g.Text != "Hi Ana, welcome to Site! How can we help?" || g.BotID == nil || *g.BotID != b.ID ||
			g.AutoKind != bot.AutoKind || g.SenderID != nil {
			t.Fatalf("greeting: %+v", g)
		}
		var content struct {
			Interactive struct {
				Type    string `json:"type"`
				Buttons []struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"buttons"`
			} `json:"interactive"`
		}
		if err := json.Unmarshal(g.Content, &content); err != nil || content.Interactive.Type != "button" || len(content.Interactive.Buttons) != 3 ||
			content.Interactive.Buttons[2].Title != "Nothing, thanks" || content.Interactive.Buttons[2].ID != "o3" {
			t.Fatalf("greeting's buttons: %s (%v)", g.Content, err)
		}
		// The visitor gets it from the outbox, as an agent's reply.
		waitFor(t, "the visitor to get the greeting", func() bool {
			var p struct {
				Items []struct {
					Text string `json:"text"`
				} `json:"items"`
			}
			v.Do("GET", "/public/v1/messages", nil).Expect(200).Decode(&p)
			for _, m := range p.Items {
				if m.Text == g.Text {
					return true
				}
			}
			return false
		})

		// A tap on the greeting's first button, as the widget sends it.
		v.Do("POST", "/public/v1/messages", map[string]any{"id": "tap-1", "reply": map[string]any{"message_id": g.ID, "id": "o1"}}).Expect(201)
		waitFor(t, "the answer", func() bool { return len(r.botMessages(id)) == 2 })
		if m := r.botMessages(id)[1]; m.Text != "We are open 9:00–17:00, Monday to Friday." {
			t.Fatalf("answer: %+v", m)
		}
		// An agent writes: the bot keeps the conversation.
		r.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]string{"text": "Hello from a person"}).Expect(201)
		if c := r.conv(id); c.BotID == nil || c.AssigneeID != nil {
			t.Fatalf("after an agent's reply: bot %v, assignee %v", c.BotID, c.AssigneeID)
		}
		// Something that is no option: the menu again.
		v.Say("what?")
		waitFor(t, "the menu again", func() bool { return len(r.botMessages(id)) == 3 })
		if m := r.botMessages(id)[2]; m.Type != conversation.TypeInteractive {
			t.Fatalf("not the menu: %+v", m)
		}
		v.Say("2")
		waitFor(t, "the hand-off", func() bool { return r.conv(id).BotID == nil })
		c = r.conv(id)
		if c.AssigneeID == nil || *c.AssigneeID != r.agent.UserID || c.Status != conversation.Open {
			t.Fatalf("after the hand-off: assignee %v, status %s", c.AssigneeID, c.Status)
		}
		if m := r.botMessages(id); len(m) != 4 || m[3].Text != "One moment, someone will be with you." {
			t.Fatalf("hand-off message: %+v", m)
		}
		// The bot no longer answers.
		v.Say("opening hours")
		waitFor(t, "the customer's message", func() bool {
			ms := r.messages(id)
			return ms[len(ms)-1].Text == "opening hours"
		})

		// The end of the flow closes the conversation, with nobody on it.
		v2, id2 := r.visit("Ben", "hi")
		waitFor(t, "the greeting", func() bool { return len(r.botMessages(id2)) == 1 })
		v2.Say("Nothing, thanks")
		waitFor(t, "the close", func() bool { return r.conv(id2).Status == conversation.Closed })
		c2 := r.conv(id2)
		if c2.AssigneeID != nil {
			t.Fatalf("a bot-only conversation closed with an assignee: %v", *c2.AssigneeID)
		}
		if m := r.botMessages(id2); len(m) != 2 || m[1].Text != "Bye!" {
			t.Fatalf("closing message: %+v", m)
		}
		if errs := r.srv.Errors(); len(errs) > 0 {
			t.Fatalf("errors logged: %v", errs)
		}
	})
}

// TestTurnsOnce: the bots' consumer handles every event at least once;
// a customer message handled again is not answered again.
func TestTurnsOnce(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		r.admin.Do("POST", "/api/v1/bots", menuBot(r.inbox)).Expect(201)
		_, id := r.visit("Ana", "hello")
		waitFor(t, "the greeting", func() bool { return len(r.botMessages(id)) == 1 })
		last, err := r.srv.App.Log.Last(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		events, err := r.srv.App.Log.Range(context.Background(), 0, last, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if err := bot.HandleMessages(r.srv.App.Bots, context.Background(), events); err != nil {
			t.Fatal(err)
		}
		if n := len(r.botMessages(id)); n != 1 {
			t.Fatalf("%d bot messages after the events were handled again, want 1", n)
		}
	})
}

func textMessage(s string) *reply.Message { return &reply.Message{Kind: reply.Text, Text: s} }

// deliveries is an external bot on loopback: it records what it gets,
// and answers with the statuses a test gives it.
type deliveries struct {
	mu       sync.Mutex
	got      []delivery
	statuses []int // the answers to the first deliveries; 200 after
	always   int   // when not 0, the answer to every delivery
}

type delivery struct {
	body      []byte
	signature string
	timestamp string
	id        string
}

func (d *deliveries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	n := len(d.got)
	d.got = append(d.got, delivery{body: body, signature: r.Header.Get(bot.SignatureHeader), timestamp: r.Header.Get(bot.TimestampHeader),
		id: r.Header.Get(bot.DeliveryHeader)})
	status := 200
	switch {
	case d.always != 0:
		status = d.always
	case n < len(d.statuses):
		status = d.statuses[n]
	}
	d.mu.Unlock()
	w.WriteHeader(status)
}

func (d *deliveries) all() []delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]delivery(nil), d.got...)
}

// TestExternalBot: each customer message of a conversation the external
// bot holds is posted to its URL, signed, with the same delivery id on
// every retry after failures; the bot answers with its token and hands
// off with one call, which runs routing. The token does nothing else.
func TestExternalBot(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		ext := &deliveries{statuses: []int{500, 503}}
		hs := httptest.NewServer(ext)
		t.Cleanup(hs.Close)
		var b bot.Created
		r.admin.Do("POST", "/api/v1/bots", bot.NewBot{Name: "Helper", Kind: bot.External, InboxID: &r.inbox, URL: hs.URL + "/hook"}).Expect(201).Decode(&b)
		if len(b.Token) < 20 || b.Token[:4] != "sbb_" || b.SigningSecret == "" || b.HandoffAfterS != 300 {
			t.Fatalf("external bot: %+v", b)
		}
		// Never shown again.
		var list []map[string]any
		r.admin.Do("GET", "/api/v1/bots", nil).Expect(200).Decode(&list)
		if _, ok := list[0]["token"]; ok || len(list) != 1 {
			t.Fatalf("the list shows credentials: %v", list)
		}

		v, id := r.visit("Ana", "I need help")
		waitFor(t, "the delivery to succeed after two failures", func() bool { return len(ext.all()) == 3 })
		got := ext.all()
		var first bot.Delivery
		for i, g := range got {
			if !bot.Verify(b.SigningSecret, g.body, g.signature) {
				t.Fatalf("delivery %d: bad signature %q", i, g.signature)
			}
			if bot.Verify("another secret", g.body, g.signature) {
				t.Fatal("a signature checks under another secret")
			}
			var dl bot.Delivery
			if err := json.Unmarshal(g.body, &dl); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = dl
			}
			if g.id != first.ID || dl.ID != first.ID || g.timestamp != fmt.Sprint(dl.Timestamp) {
				t.Fatalf("delivery %d: id %q (body %q), timestamp %q (body %d); first %q", i, g.id, dl.ID, g.timestamp, dl.Timestamp, first.ID)
			}
		}
		if first.Conversation.ID != id || first.Message.Text != "I need help" || first.BotID != b.ID || first.Conversation.Contact.Name != "Ana" {
			t.Fatalf("delivery: %+v", first)
		}
		// The success ends the bot's failures.
		waitFor(t, "the bot to be failing no more", func() bool {
			var failing *time.Time
			d.QueryRow(context.Background(), `SELECT failing_since FROM bots WHERE id = $1`, b.ID).Scan(&failing)
			return failing == nil
		})

		// The bot answers with its token.
		botc := botClient(r.srv, b.Token)
		var sent conversation.Message
		botc.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]any{"text": "Hello Ana, I am a bot."}).Expect(201).Decode(&sent)
		if sent.SenderType != conversation.SenderBot || sent.AutoKind != bot.AutoKind {
			t.Fatalf("bot's message: %+v", sent)
		}
		// Checked like every prepared message.
		e := botc.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]any{"text": "Pick", "interactive": map[string]any{
			"type": "button", "buttons": []map[string]string{{"id": "a", "title": "A title that is far too long"}}}}).Expect(422).Err()
		if e.Fields["interactive.buttons.0.title"] == "" {
			t.Fatalf("fields: %v", e.Fields)
		}
		// Only what it holds, and nothing else.
		_, other := r.visitOther(t)
		botc.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", other), map[string]any{"text": "hi"}).Expect(404)
		botc.Do("GET", "/api/v1/conversations", nil).Expect(403)
		botc.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", id), nil).Expect(403)
		botc.Do("GET", "/api/v1/me", nil).Expect(403)
		// Every message of its conversations reaches it, each once.
		v.Say("Still there?")
		waitFor(t, "the second delivery", func() bool { return len(ext.all()) == 4 })

		var c conversation.Conversation
		botc.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/handoff", id), nil).Expect(200).Decode(&c)
		if c.BotID != nil || c.AssigneeID == nil || *c.AssigneeID != r.agent.UserID {
			t.Fatalf("after the hand-off: bot %v, assignee %v", c.BotID, c.AssigneeID)
		}
		botc.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/handoff", id), nil).Expect(404)
		botc.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]any{"text": "late"}).Expect(404)
		// A revoked (rotated) token no longer works.
		var rot bot.Created
		r.admin.Do("PATCH", fmt.Sprintf("/api/v1/bots/%d", b.ID), map[string]any{"rotate_token": true}).Expect(200).Decode(&rot)
		if rot.Token == "" || rot.Token == b.Token || rot.SigningSecret != "" {
			t.Fatalf("rotation: %+v", rot)
		}
		botc.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/handoff", id), nil).Expect(401)
		if n := len(ext.all()); n != 4 {
			t.Fatalf("%d deliveries, want 4", n)
		}
	})
}

// visitOther opens a conversation in another inbox, which no bot holds.
func (r *rig) visitOther(t *testing.T) (*testrig.Visitor, int64) {
	t.Helper()
	in, _ := r.srv.NewWebchatInbox("Other", r.agent.UserID)
	v := r.srv.NewVisitor(in.Token, nil)
	mid := v.Say("hello")
	var id int64
	if err := r.srv.App.DB.QueryRow(context.Background(), `SELECT conversation_id FROM messages WHERE id = $1`, mid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return v, id
}

func botClient(srv *testrig.Server, token string) *testrig.Client {
	c := srv.Anonymous()
	c.Token = token
	return c
}

// TestSelfHandoff: an external bot whose deliveries keep failing for
// longer than its hand-off time hands its conversation to routing by
// itself.
func TestSelfHandoff(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		ext := &deliveries{always: 500}
		hs := httptest.NewServer(ext)
		t.Cleanup(hs.Close)
		var b bot.Created
		r.admin.Do("POST", "/api/v1/bots", bot.NewBot{Name: "Flaky", Kind: bot.External, InboxID: &r.inbox, URL: hs.URL, HandoffAfterS: 120}).Expect(201).Decode(&b)
		_, id := r.visit("Ana", "hello")
		waitFor(t, "a failed delivery", func() bool {
			var since *time.Time
			d.QueryRow(context.Background(), `SELECT failing_since FROM bots WHERE id = $1`, b.ID).Scan(&since)
			return since != nil && len(ext.all()) >= 1
		})
		if c := r.conv(id); c.BotID == nil {
			t.Fatal("handed off before its time")
		}
		r.clock.Advance(119 * time.Second)
		n := len(ext.all())
		waitFor(t, "another failed delivery", func() bool { return len(ext.all()) > n })
		if c := r.conv(id); c.BotID == nil {
			t.Fatal("handed off before its time")
		}
		r.clock.Advance(2 * time.Second)
		waitFor(t, "the bot to hand off by itself", func() bool { return r.conv(id).BotID == nil })
		c := r.conv(id)
		if c.AssigneeID == nil || *c.AssigneeID != r.agent.UserID {
			t.Fatalf("after the self hand-off: assignee %v", c.AssigneeID)
		}
		// The delivery ended with the hand-off: no job is left to retry
		// (nor kept as failed).
		waitFor(t, "the delivery job to end", func() bool {
			var jobs int
			d.QueryRow(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = 'bot.deliver'`).Scan(&jobs)
			return jobs == 0
		})
	})
}

// TestHandoffByAgent: the people who assign conversations hand a bot's
// conversation over to a human (routing runs), to a team's member when
// one is given; a conversation no bot holds answers 409.
func TestHandoffByAgent(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		r.admin.Do("POST", "/api/v1/bots", menuBot(r.inbox)).Expect(201)
		_, id := r.visit("Ana", "hello")
		var team struct {
			ID int64 `json:"id"`
		}
		r.admin.Do("POST", "/api/v1/teams", map[string]any{"name": "Support", "member_ids": []int64{r.agent.UserID}}).Expect(201).Decode(&team)
		e := r.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/handoff", id), map[string]any{"team_id": 999}).Expect(422).Err()
		if e.Fields["team_id"] == "" {
			t.Fatalf("fields: %v", e.Fields)
		}
		sales := r.srv.NewUser("sales@example.com", policy.Sales, r.inbox)
		sales.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/handoff", id), nil).Expect(403)
		var c conversation.Conversation
		r.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/handoff", id), map[string]any{"team_id": team.ID}).Expect(200).Decode(&c)
		if c.BotID != nil || c.AssigneeID == nil || *c.AssigneeID != r.agent.UserID {
			t.Fatalf("after the hand-off: bot %v, assignee %v", c.BotID, c.AssigneeID)
		}
		r.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/handoff", id), nil).Expect(409)
	})
}

// TestSilenceClose: a bot's conversation closes after ten minutes of the
// customer's silence, without an assignee; the timer set when the bot took
// the conversation moves to the customer's last message when they wrote
// since.
func TestSilenceClose(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		r.admin.Do("POST", "/api/v1/bots", menuBot(r.inbox)).Expect(201)
		v, id := r.visit("Ana", "hello")
		ctx := context.Background()
		key := fmt.Sprintf("bot.silence:%d", id)
		var due time.Time
		if err := d.QueryRow(ctx, `SELECT run_at FROM jobs WHERE dedup_key = $1`, key).Scan(&due); err != nil {
			t.Fatalf("no silence timer: %v", err)
		}
		if w := time.Until(due); w < 9*time.Minute || w > 10*time.Minute {
			t.Fatalf("the timer fires in %v", w)
		}
		waitFor(t, "the greeting", func() bool { return len(r.botMessages(id)) == 1 })
		v.Say("opening hours")
		waitFor(t, "the answer", func() bool { return len(r.botMessages(id)) == 2 })
		var last time.Time
		if err := d.QueryRow(ctx, `SELECT last_customer_message_at FROM conversations WHERE id = $1`, id).Scan(&last); err != nil {
			t.Fatal(err)
		}
		fire := func() {
			if _, err := d.Exec(ctx, `UPDATE jobs SET run_at = $2 WHERE dedup_key = $1`, key, db.Now()); err != nil {
				t.Fatal(err)
			}
			r.srv.App.Queue.Wake()
		}
		// The timer fires while the customer wrote less than ten minutes
		// ago: it moves to ten minutes after their last message.
		fire()
		var at time.Time
		waitFor(t, "the timer to move", func() bool {
			var locked *time.Time
			d.QueryRow(ctx, `SELECT run_at, locked_until FROM jobs WHERE dedup_key = $1`, key).Scan(&at, &locked)
			return locked == nil && at.After(db.Now())
		})
		if want := last.Add(bot.Silence); at.Before(want) || at.After(want.Add(time.Second)) {
			t.Fatalf("the timer moved to %v, want %v", at, want)
		}
		if c := r.conv(id); c.Status != conversation.Open {
			t.Fatal("closed while the customer wrote less than ten minutes ago")
		}
		r.clock.Advance(bot.Silence + time.Second)
		fire()
		waitFor(t, "the close", func() bool { return r.conv(id).Status == conversation.Closed })
		c := r.conv(id)
		if c.AssigneeID != nil || c.BotID == nil {
			t.Fatalf("closed with assignee %v, bot %v", c.AssigneeID, c.BotID)
		}
		var acts struct {
			Items []struct {
				Kind string `json:"kind"`
				Note string `json:"note"`
			} `json:"items"`
		}
		r.admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/activities", id), nil).Expect(200).Decode(&acts)
		if n := len(acts.Items); n == 0 || acts.Items[n-1].Kind != "closed" || acts.Items[n-1].Note == "" {
			t.Fatalf("activities: %+v", acts.Items)
		}
	})
}

// TestMenuOnWhatsApp: a menu bot on a WhatsApp number greets with reply
// buttons that the Graph fake (Meta's checks) accepts, and a customer's
// tap on a button picks the option by its id (not its title, which the
// tap carries as the customer saw it).
func TestMenuOnWhatsApp(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		fake := graphfake.NewServer(graphfake.Options{Seed: 1, Retry: graphfake.FastRetry})
		t.Cleanup(fake.Close)
		srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) { c.WhatsAppGraphURL, _ = url.Parse(fake.URL) },
			Options: server.Options{JobBackoff: 20 * time.Millisecond}})
		num := fake.AddNumber(graphfake.Number{AppSecret: "bots", WebhookURL: srv.URL + "/webhooks/whatsapp", VerifyToken: "verify-me"})
		admin := srv.NewUser("admin@example.com", policy.Admin)
		var in struct {
			ID int64 `json:"id"`
		}
		admin.Do("POST", "/api/v1/inboxes", map[string]any{"type": "whatsapp", "name": "Lucky Shrub", "whatsapp": map[string]any{
			"phone_number_id": num.ID, "waba_id": num.WABAID, "display_phone_number": num.Phone,
			"access_token": num.Token, "app_secret": "bots", "verify_token": "verify-me",
		}}).Expect(201).Decode(&in)
		nb := menuBot(in.ID)
		nb.Menu.Greeting.Interactive = &whatsapp.Interactive{Footer: "Lucky Shrub, since 1990"}
		admin.Do("POST", "/api/v1/bots", nb).Expect(201)
		waitFor(t, "the bots' consumer to start", func() bool {
			var n int
			d.QueryRow(context.Background(), `SELECT COUNT(*) FROM event_consumers WHERE name = 'bots'`).Scan(&n)
			return n == 1
		})
		business := func(typ string) []graphfake.ChatMessage {
			var out []graphfake.ChatMessage
			for _, m := range fake.Sent() {
				if m.FromBusiness && m.Type == typ {
					out = append(out, m)
				}
			}
			return out
		}
		zoe := graphfake.Customer{Name: "Zoe", Phone: "16505550199"}
		if _, err := fake.Inbound(num.ID, zoe, graphfake.Text("hi")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the greeting at Meta", func() bool { return len(business("interactive")) == 1 })
		g := business("interactive")[0]
		if body := string(g.Body); !strings.Contains(body, `"type":"button"`) || !strings.Contains(body, "Hi Zoe, welcome to Lucky Shrub!") ||
			!strings.Contains(body, `"id":"o1"`) || !strings.Contains(body, "Lucky Shrub, since 1990") || g.Status == "failed" {
			t.Fatalf("greeting sent as %s (%s)", body, g.Status)
		}
		if _, err := fake.Inbound(num.ID, zoe, graphfake.ButtonReply(g.ID, "o1", "Hours (renamed)")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the answer at Meta", func() bool { return len(business("text")) == 1 })
		if body := string(business("text")[0].Body); !strings.Contains(body, "We are open 9:00") {
			t.Fatalf("answer sent as %s", body)
		}
	})
}

// TestBotChecks: what a bot's settings get wrong is refused field by
// field, with the menu's names for the greeting's problems, and nothing
// is written.
func TestBotChecks(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		e := r.admin.Do("POST", "/api/v1/bots", map[string]any{"name": " ", "kind": "menu", "inbox_id": 999, "menu": map[string]any{
			"greeting": map[string]any{"text": "", "interactive": map[string]any{"footer": strings.Repeat("f", 61)}},
			"options": []map[string]any{
				{"title": "Opening hours and holidays", "action": "reply", "message": map[string]any{"text": "9–17"}},
				{"title": "Prices", "action": "reply"},
				{"title": "A person", "action": "handoff", "team_id": 999},
				{"title": "Bye", "action": "explode"},
			}}}).Expect(422).Err()
		for _, f := range []string{"name", "inbox_id", "menu.greeting.text", "menu.greeting.interactive.footer", "menu.options.0.title",
			"menu.options.1.message.text", "menu.options.2.team_id", "menu.options.3.action"} {
			if e.Fields[f] == "" {
				t.Errorf("no problem on %s: %v", f, e.Fields)
			}
		}
		e = r.admin.Do("POST", "/api/v1/bots", map[string]any{"name": "Helper", "kind": "external", "url": "ftp://bot", "handoff_after_s": 5}).Expect(422).Err()
		if e.Fields["url"] == "" || e.Fields["handoff_after_s"] == "" {
			t.Errorf("fields: %v", e.Fields)
		}
		var list []bot.Bot
		r.admin.Do("GET", "/api/v1/bots", nil).Expect(200).Decode(&list)
		if len(list) != 0 {
			t.Fatalf("%d bots after refusals", len(list))
		}
		// One active bot per inbox.
		var b bot.Created
		r.admin.Do("POST", "/api/v1/bots", menuBot(r.inbox)).Expect(201).Decode(&b)
		if e := r.admin.Do("POST", "/api/v1/bots", menuBot(r.inbox)).Expect(422).Err(); e.Fields["inbox_id"] == "" {
			t.Fatalf("fields: %v", e.Fields)
		}
		if e := r.admin.Do("PATCH", fmt.Sprintf("/api/v1/bots/%d", b.ID), map[string]any{"rotate_token": true}).Expect(422).Err(); e.Fields["kind"] == "" {
			t.Fatalf("fields: %v", e.Fields)
		}
		r.admin.Do("DELETE", "/api/v1/bots/999", nil).Expect(404)
		// A bot switched off hands its conversations to routing.
		_, id := r.visit("Ana", "hello")
		r.admin.Do("PATCH", fmt.Sprintf("/api/v1/bots/%d", b.ID), map[string]any{"active": false}).Expect(200)
		if c := r.conv(id); c.BotID != nil || c.AssigneeID == nil || *c.AssigneeID != r.agent.UserID {
			t.Fatalf("after the bot was switched off: bot %v, assignee %v", c.BotID, c.AssigneeID)
		}
	})
}
