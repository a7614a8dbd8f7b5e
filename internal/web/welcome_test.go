package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// welcomeWorld is a WhatsApp number on the Graph fake, with its webhook
// pointed at a node, and agents who work it.
type welcomeWorld struct {
	t         *testing.T
	d         *db.DB
	fake      *graphfake.Server
	srv       *testrig.Server
	num       graphfake.Number
	line      int64 // the WhatsApp inbox
	other     int64 // a second WhatsApp number, that only Ana works
	site      int64 // a web chat inbox they work too
	admin     *testrig.Client
	ana, ben  *testrig.Client
	customers int
}

func newWelcomeWorld(t *testing.T, d *db.DB) *welcomeWorld {
	t.Helper()
	const secret = "welcome-secret"
	fake := graphfake.NewServer(graphfake.Options{Seed: 3, Retry: graphfake.FastRetry})
	t.Cleanup(fake.Close)
	srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) { c.WhatsAppGraphURL, _ = url.Parse(fake.URL) }})
	fake.SetWebhook(srv.URL+"/webhooks/whatsapp", secret)
	w := &welcomeWorld{t: t, d: d, fake: fake, srv: srv}
	w.num = fake.AddNumber(graphfake.Number{VerifiedName: "Shop", AppSecret: secret})
	in, _, err := srv.App.Inboxes.Create(context.Background(), inbox.NewInbox{Type: whatsapp.Type, Name: "Shop line",
		Settings: map[inbox.Type]any{whatsapp.Type: &whatsapp.Config{PhoneNumberID: w.num.ID, WABAID: w.num.WABAID, DisplayPhoneNumber: w.num.Phone,
			AccessToken: w.num.Token, AppSecret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	w.line = in.ID
	n2 := fake.AddNumber(graphfake.Number{VerifiedName: "Support", AppSecret: secret})
	in2, _, err := srv.App.Inboxes.Create(context.Background(), inbox.NewInbox{Type: whatsapp.Type, Name: "Support line",
		Settings: map[inbox.Type]any{whatsapp.Type: &whatsapp.Config{PhoneNumberID: n2.ID, WABAID: n2.WABAID, DisplayPhoneNumber: n2.Phone,
			AccessToken: n2.Token, AppSecret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	w.other = in2.ID
	site, _ := srv.NewWebchatInbox("Site")
	w.site = site.ID
	w.admin = srv.NewUser("admin@example.com", policy.Admin)
	w.ana = srv.NewUser("ana@example.com", policy.Service, w.line, w.other, w.site)
	w.ben = srv.NewUser("ben@example.com", policy.Service, w.line, w.site)
	w.ana.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Ana"}).Expect(http.StatusOK)
	return w
}

// customer has a new customer write to the number and returns the
// conversation it opened.
func (w *welcomeWorld) customer(text string) (int64, graphfake.Customer) {
	w.t.Helper()
	w.customers++
	c := graphfake.Customer{Name: fmt.Sprintf("Carla %d", w.customers), Phone: fmt.Sprintf("1650555%04d", w.customers)}
	w.write(c, text)
	var id int64
	w.wait("the conversation of "+c.Name, func() bool {
		err := w.d.QueryRow(context.Background(), `SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
			WHERE c.inbox_id = $1 AND ct.name = $2 AND c.status = 'open'`, w.line, c.Name).Scan(&id)
		return err == nil
	})
	return id, c
}

func (w *welcomeWorld) write(c graphfake.Customer, text string) {
	w.t.Helper()
	if _, err := w.fake.Inbound(w.num.ID, c, graphfake.Text(text)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *welcomeWorld) assign(conv int64, to *testrig.Client) {
	w.t.Helper()
	w.admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", conv), map[string]any{"assignee_id": to.UserID}).Expect(http.StatusOK)
}

func (w *welcomeWorld) wait(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// welcomes are the personal welcome messages sent in a conversation, by
// text, oldest first.
func (w *welcomeWorld) welcomes(conv int64) []string {
	w.t.Helper()
	rows, err := w.d.Query(context.Background(), `SELECT text FROM messages WHERE conversation_id = $1 AND auto_kind = 'personal_welcome' ORDER BY id`, conv)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// waitWelcomes waits until conv has n welcome messages and returns them.
func (w *welcomeWorld) waitWelcomes(conv int64, n int) []string {
	w.t.Helper()
	var got []string
	w.wait(fmt.Sprintf("%d welcome messages in conversation %d", n, conv), func() bool { got = w.welcomes(conv); return len(got) >= n })
	return got
}

type welcomeOut struct {
	ID       int64   `json:"id"`
	Enabled  bool    `json:"enabled"`
	InboxIDs []int64 `json:"inbox_ids"`
	Message  struct {
		Kind string `json:"kind"`
		Text string `json:"text"`
	} `json:"message"`
}

// TestWelcomeMessages: an agent's welcome message goes once in each
// conversation a customer started that is assigned to them, while it is
// on: not while it is off, not in a conversation an agent started, not
// again when the conversation comes back to them; another agent's goes
// when it is transferred to them. It is sent by Switchboard, through the
// outbox, to the Graph fake, with its variables filled.
func TestWelcomeMessages(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWelcomeWorld(t, d)
		var mine, bens welcomeOut
		w.ana.Do("POST", "/api/v1/me/welcome-messages", map[string]any{"inbox_ids": []int64{w.line},
			"message": map[string]any{"kind": "text", "text": "Hi {{contact.name}}, I am {{agent.public_name}} of {{inbox.name}} 👋"}}).
			Expect(http.StatusCreated).Decode(&mine)
		if mine.Enabled || len(mine.InboxIDs) != 1 {
			t.Fatalf("created %+v: want it off, on one number", mine)
		}
		w.ben.Do("POST", "/api/v1/me/welcome-messages", map[string]any{"enabled": true, "inbox_ids": []int64{w.line},
			"message": map[string]any{"kind": "interactive", "text": "Ben here. How can I help?",
				"interactive": map[string]any{"type": "button", "buttons": []map[string]string{{"title": "An order"}, {"title": "Something else"}}}}}).
			Expect(http.StatusCreated).Decode(&bens)

		// Ana's is off: nothing when the conversation is hers. Ben's is
		// on: it goes when it is transferred to him (and, since events are
		// handled in order, Ana's assignment was handled before).
		c1, carla := w.customer("Hello")
		w.assign(c1, w.ana)
		w.assign(c1, w.ben)
		if got := w.waitWelcomes(c1, 1); len(got) != 1 || got[0] != "Ben here. How can I help?" {
			t.Fatalf("welcome messages %q", got)
		}
		var st struct {
			Type, Status, SenderType string
			SenderID                 *int64
		}
		w.wait("Ben's welcome to reach WhatsApp", func() bool {
			err := d.QueryRow(context.Background(), `SELECT type, status, sender_type, sender_id FROM messages WHERE conversation_id = $1 AND auto_kind = 'personal_welcome'`, c1).
				Scan(&st.Type, &st.Status, &st.SenderType, &st.SenderID)
			return err == nil && (st.Status == "sent" || st.Status == "delivered" || st.Status == "read") // the fake's statuses may follow at once
		})
		if st.Type != "interactive" || st.SenderType != "system" || st.SenderID != nil {
			t.Fatalf("the welcome was stored as %+v", st)
		}

		// On, Ana's goes when the conversation is transferred to her, with
		// its variables filled; back to Ben, his does not go again.
		w.ana.Do("PATCH", fmt.Sprintf("/api/v1/me/welcome-messages/%d", mine.ID), map[string]any{"enabled": true}).Expect(http.StatusOK)
		w.assign(c1, w.ana)
		got := w.waitWelcomes(c1, 2)
		if got[1] != "Hi Carla 1, I am Ana of Shop line 👋" {
			t.Fatalf("Ana's welcome reads %q", got[1])
		}
		// The trigger run again (an event handled twice): still once.
		if err := w.srv.App.Welcome.Send(context.Background(), c1, w.ana.UserID); err != nil {
			t.Fatal(err)
		}
		if got := w.welcomes(c1); len(got) != 2 {
			t.Fatalf("sent again: %q", got)
		}
		w.assign(c1, w.ben)
		w.write(carla, "Are you there?")
		// A customer who writes first, assigned to Ben: his welcome goes
		// there (by then the earlier events were handled).
		c2, _ := w.customer("Good morning")
		w.assign(c2, w.ben)
		w.waitWelcomes(c2, 1)
		if got := w.welcomes(c1); len(got) != 2 {
			t.Fatalf("conversation %d has the welcome messages %q, want two", c1, got)
		}

		// A conversation an agent started gets none, when the customer
		// answers either.
		w.admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", c2), nil).Expect(http.StatusOK)
		var started struct {
			Conversation struct {
				ID        int64  `json:"id"`
				StartedBy string `json:"started_by"`
			} `json:"conversation"`
		}
		w.ana.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/conversations", w.line), map[string]any{"phone": "+16505550002",
			"message": map[string]any{"type": "text", "text": "Your order is ready"}}).Expect(http.StatusCreated).Decode(&started)
		c3 := started.Conversation.ID
		if started.Conversation.StartedBy != "agent" {
			t.Fatalf("started %+v", started)
		}
		w.assign(c3, w.ben)
		w.assign(c3, w.ana)
		w.write(graphfake.Customer{Name: "Carla 2", Phone: "16505550002"}, "Thanks!")
		c4, _ := w.customer("Hi there")
		w.assign(c4, w.ana)
		w.waitWelcomes(c4, 1)
		if got := w.welcomes(c3); len(got) != 0 {
			t.Fatalf("the conversation an agent started got %q", got)
		}
	})
}

// TestWelcomeMessagesAPI: an agent's welcome messages over the API: the
// numbers must be WhatsApp numbers they work, each taken by one of their
// welcome messages; on, a message is neither edited nor deleted (409);
// another agent's are not found.
func TestWelcomeMessagesAPI(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWelcomeWorld(t, d)
		text := map[string]any{"kind": "text", "text": "Hello!"}
		var first welcomeOut
		w.ana.Do("POST", "/api/v1/me/welcome-messages", map[string]any{"inbox_ids": []int64{w.line}, "message": text}).Expect(http.StatusCreated).Decode(&first)

		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no number", map[string]any{"inbox_ids": []int64{}, "message": text}, "inbox_ids"},
			{"a number taken", map[string]any{"inbox_ids": []int64{w.other, w.line}, "message": text}, "inbox_ids"},
			{"a web chat inbox", map[string]any{"inbox_ids": []int64{w.site}, "message": text}, "inbox_ids"},
			{"an unknown inbox", map[string]any{"inbox_ids": []int64{987654}, "message": text}, "inbox_ids"},
			{"no text", map[string]any{"inbox_ids": []int64{w.other}, "message": map[string]any{"kind": "text", "text": " "}}, "message.text"},
			{"a button too long", map[string]any{"inbox_ids": []int64{w.other}, "message": map[string]any{"kind": "interactive", "text": "Pick",
				"interactive": map[string]any{"type": "button", "buttons": []map[string]string{{"title": "A title far over twenty characters"}}}}}, "message.interactive.buttons.0.title"},
			{"no kind", map[string]any{"inbox_ids": []int64{w.other}, "message": map[string]any{"text": "Hi"}}, "message.kind"},
		}
		for _, tc := range cases {
			e := w.ana.Do("POST", "/api/v1/me/welcome-messages", tc.body).Expect(http.StatusUnprocessableEntity).Err()
			if e.Fields[tc.field] == "" {
				t.Errorf("%s: %+v, want a message for %s", tc.name, e, tc.field)
			}
		}
		// Ben works only one of the numbers: the other is not his.
		if e := w.ben.Do("POST", "/api/v1/me/welcome-messages", map[string]any{"inbox_ids": []int64{w.other}, "message": text}).
			Expect(http.StatusUnprocessableEntity).Err(); e.Fields["inbox_ids"] == "" {
			t.Errorf("a number Ben does not work: %+v", e)
		}
		// Ben has his own for the number Ana's has.
		w.ben.Do("POST", "/api/v1/me/welcome-messages", map[string]any{"inbox_ids": []int64{w.line}, "message": text}).Expect(http.StatusCreated)

		// Ana's second takes the other number; moving the first to it is
		// refused.
		var second welcomeOut
		w.ana.Do("POST", "/api/v1/me/welcome-messages", map[string]any{"inbox_ids": []int64{w.other}, "message": text}).Expect(http.StatusCreated).Decode(&second)
		path := fmt.Sprintf("/api/v1/me/welcome-messages/%d", first.ID)
		w.ana.Do("PATCH", path, map[string]any{"inbox_ids": []int64{w.line, w.other}}).Expect(http.StatusUnprocessableEntity)

		// On: not edited, not deleted, with a message that says why.
		w.ana.Do("PATCH", path, map[string]any{"enabled": true}).Expect(http.StatusOK)
		for _, r := range []*testrig.Response{
			w.ana.Do("PATCH", path, map[string]any{"message": map[string]any{"kind": "text", "text": "Changed"}}),
			w.ana.Do("PATCH", path, map[string]any{"inbox_ids": []int64{w.line}}),
			w.ana.Do("PATCH", path, map[string]any{"enabled": false, "message": map[string]any{"kind": "text", "text": "Changed"}}),
			w.ana.Do("DELETE", path, nil),
		} {
			if r.StatusCode != http.StatusConflict || r.Err().Message == "" {
				t.Errorf("%s while on: %d %s", r.Request.Method, r.StatusCode, r.Body)
			}
		}
		var list struct {
			Items   []welcomeOut `json:"items"`
			Numbers []struct {
				ID        int64 `json:"id"`
				WelcomeID int64 `json:"welcome_id"`
			} `json:"numbers"`
		}
		w.ana.Do("GET", "/api/v1/me/welcome-messages", nil).Expect(http.StatusOK).Decode(&list)
		if len(list.Items) != 2 || list.Items[0].Message.Text != "Hello!" || !list.Items[0].Enabled || len(list.Numbers) != 2 {
			t.Fatalf("list %+v", list)
		}
		// Another agent's: not found.
		w.ben.Do("PATCH", path, map[string]any{"enabled": false}).Expect(http.StatusNotFound)
		w.ben.Do("DELETE", path, nil).Expect(http.StatusNotFound)

		// Off: edited, then deleted.
		var edited welcomeOut
		w.ana.Do("PATCH", path, map[string]any{"enabled": false}).Expect(http.StatusOK)
		w.ana.Do("PATCH", path, map[string]any{"message": map[string]any{"kind": "text", "text": "Changed"}}).Expect(http.StatusOK).Decode(&edited)
		if edited.Message.Text != "Changed" || edited.Enabled {
			t.Fatalf("edited %+v", edited)
		}
		w.ana.Do("DELETE", path, nil).Expect(http.StatusNoContent)
		w.ana.Do("DELETE", path, nil).Expect(http.StatusNotFound)
		// Its number is free again.
		w.ana.Do("PATCH", fmt.Sprintf("/api/v1/me/welcome-messages/%d", second.ID), map[string]any{"inbox_ids": []int64{w.line, w.other}}).Expect(http.StatusOK)

		// Ana leaves the second number: her welcome message stays, not
		// sent there, and the page says so.
		if _, _, err := w.srv.App.Inboxes.Update(context.Background(), w.other, inbox.Patch{MemberIDs: &[]int64{}}); err != nil {
			t.Fatal(err)
		}
		page := w.ana.Do("GET", "/preferences/welcome-messages", nil).Expect(http.StatusOK)
		if body := string(page.Body); !strings.Contains(body, "Not sent on the numbers you no longer work: Support line") || !strings.Contains(body, "Shop line") {
			t.Fatalf("the page does not say which numbers Ana left:\n%s", body)
		}
		if e := w.ana.Do("PATCH", fmt.Sprintf("/api/v1/me/welcome-messages/%d", second.ID), map[string]any{"inbox_ids": []int64{w.line, w.other}}).
			Expect(http.StatusUnprocessableEntity).Err(); e.Fields["inbox_ids"] == "" {
			t.Fatalf("attached again to a number Ana left: %+v", e)
		}
	})
}

// TestWelcomeWindowClosed: a welcome message WhatsApp would refuse (the
// customer wrote more than 24 hours ago) is not sent, and the send is
// recorded as done, so it is not tried again with every event.
func TestWelcomeWindowClosed(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		const secret = "welcome-secret"
		fake := graphfake.NewServer(graphfake.Options{Seed: 4, Retry: graphfake.FastRetry})
		t.Cleanup(fake.Close)
		// A window of a second: the test waits for it to close.
		srv := testrig.Start(t, d, testrig.Options{Options: server.Options{WhatsApp: whatsapp.Options{Window: time.Second}},
			Config: func(c *config.Config) { c.WhatsAppGraphURL, _ = url.Parse(fake.URL) }})
		fake.SetWebhook(srv.URL+"/webhooks/whatsapp", secret)
		w := &welcomeWorld{t: t, d: d, fake: fake, srv: srv}
		w.num = fake.AddNumber(graphfake.Number{VerifiedName: "Shop", AppSecret: secret})
		in, _, err := srv.App.Inboxes.Create(context.Background(), inbox.NewInbox{Type: whatsapp.Type, Name: "Shop line",
			Settings: map[inbox.Type]any{whatsapp.Type: &whatsapp.Config{PhoneNumberID: w.num.ID, WABAID: w.num.WABAID, DisplayPhoneNumber: w.num.Phone,
				AccessToken: w.num.Token, AppSecret: secret}}})
		if err != nil {
			t.Fatal(err)
		}
		w.line = in.ID
		w.admin = srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service, w.line)
		ana.Do("POST", "/api/v1/me/welcome-messages", map[string]any{"enabled": true, "inbox_ids": []int64{w.line},
			"message": map[string]any{"kind": "text", "text": "Hello!"}}).Expect(http.StatusCreated)
		conv, _ := w.customer("Hi")
		var c struct {
			ReplyWindowEndsAt *time.Time `json:"reply_window_ends_at"`
		}
		w.admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", conv), nil).Expect(http.StatusOK).Decode(&c)
		if c.ReplyWindowEndsAt == nil {
			t.Fatal("no window")
		}
		w.wait("the window to close", func() bool { return time.Now().After(c.ReplyWindowEndsAt.Add(10 * time.Millisecond)) })
		w.assign(conv, ana)
		var sent *int64
		w.wait("the send to be recorded", func() bool {
			return d.QueryRow(context.Background(), `SELECT message_id FROM welcome_sends WHERE conversation_id = $1 AND user_id = $2`, conv, ana.UserID).Scan(&sent) == nil
		})
		if sent != nil {
			t.Fatalf("recorded as sent in message %d", *sent)
		}
		if got := w.welcomes(conv); len(got) != 0 {
			t.Fatalf("sent %q outside the window", got)
		}
	})
}

// TestWelcomeNumberRace: many welcome messages of one agent for the same
// number at once: one gets it, the others are told (422), none fails.
func TestWelcomeNumberRace(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWelcomeWorld(t, d)
		const n = 8
		codes := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := w.ana.Do("POST", "/api/v1/me/welcome-messages", map[string]any{"inbox_ids": []int64{w.line},
					"message": map[string]any{"kind": "text", "text": fmt.Sprintf("Hello %d", i)}})
				if r.StatusCode == http.StatusUnprocessableEntity && r.Err().Fields["inbox_ids"] == "" {
					t.Errorf("422 without a message on inbox_ids: %s", r.Body)
				}
				codes <- r.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		got := map[int]int{}
		for c := range codes {
			got[c]++
		}
		if got[http.StatusCreated] != 1 || got[http.StatusUnprocessableEntity] != n-1 {
			t.Fatalf("answers %v: want one 201 and %d 422", got, n-1)
		}
		var rows int
		d.QueryRow(context.Background(), `SELECT COUNT(*) FROM welcome_messages`).Scan(&rows)
		if rows != 1 {
			t.Fatalf("%d welcome messages stored", rows)
		}
	})
}
