package whatsapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// harness is a Switchboard node and the Graph fake, wired to each other:
// the node calls the fake's Graph API, the fake posts signed webhooks to
// the node's /webhooks/whatsapp.
type harness struct {
	t     *testing.T
	fake  *graphfake.Server
	srv   *testrig.Server
	admin *testrig.Client
	agent *testrig.Client // a service agent, member of the inbox
	num   graphfake.Number
	inbox inbox.Inbox

	mu     sync.Mutex
	events []event.Event
	// sends are the instants Switchboard sent messages to Graph.
	sends *dispatchRecorder
}

// dispatchRecorder notes when each message leaves for Graph.
type dispatchRecorder struct {
	mu    sync.Mutex
	times []time.Time
}

func (d *dispatchRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/messages") {
		d.mu.Lock()
		d.times = append(d.times, time.Now())
		d.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (d *dispatchRecorder) all() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := append([]time.Time(nil), d.times...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

const appSecret = "test-app-secret"

type harnessOptions struct {
	fake     graphfake.Options
	whatsapp whatsapp.Options
	rate     int // the inbox's messages per second
	dataDir  string
	key      []byte
}

func newHarness(t *testing.T, d *db.DB, o harnessOptions) *harness {
	t.Helper()
	if o.fake.Retry == (graphfake.Retry{}) {
		o.fake.Retry = graphfake.FastRetry
	}
	if o.fake.Seed == 0 {
		o.fake.Seed = 1
	}
	h := &harness{t: t}
	h.fake = graphfake.NewServer(o.fake)
	t.Cleanup(h.fake.Close)
	h.start(d, o)
	h.num = h.fake.AddNumber(graphfake.Number{AppSecret: appSecret, WebhookURL: h.srv.URL + "/webhooks/whatsapp", VerifyToken: "verify-me", VerifiedName: "Lucky Shrub"})
	// Template webhooks go to the app's own callback URL.
	h.fake.SetWebhook(h.srv.URL+"/webhooks/whatsapp", appSecret)
	h.admin = h.srv.NewUser("admin@example.com", policy.Admin)
	var created struct {
		inbox.Inbox
		WebhookURL string `json:"webhook_url"`
	}
	h.admin.Do("POST", "/api/v1/inboxes", map[string]any{"type": "whatsapp", "name": "Lucky Shrub", "whatsapp": map[string]any{
		"phone_number_id": h.num.ID, "waba_id": h.num.WABAID, "display_phone_number": h.num.Phone,
		"access_token": h.num.Token, "app_secret": appSecret, "verify_token": "verify-me", "messages_per_second": o.rate,
	}}).Expect(201).Decode(&created)
	if created.WebhookURL != h.srv.URL+"/webhooks/whatsapp" {
		t.Fatalf("webhook url %q", created.WebhookURL)
	}
	h.inbox = created.Inbox
	h.agent = h.srv.NewUser("agent@example.com", policy.Service, h.inbox.ID)
	return h
}

// start runs a node on d pointing at the fake.
func (h *harness) start(d *db.DB, o harnessOptions) {
	opt := testrig.Options{Config: func(c *config.Config) {
		c.WhatsAppGraphURL, _ = url.Parse(h.fake.URL)
		c.WhatsAppAPIVersion = "v23.0"
		if o.dataDir != "" {
			c.DataDir = o.dataDir
		}
		c.SecretKey = o.key
	}}
	if o.whatsapp.InFlightGrace == 0 {
		o.whatsapp.InFlightGrace = 300 * time.Millisecond
	}
	if o.whatsapp.HTTPClient == nil {
		h.sends = &dispatchRecorder{}
		o.whatsapp.HTTPClient = &http.Client{Transport: h.sends, Timeout: 10 * time.Second}
	}
	if o.whatsapp.ThrottleWait == 0 {
		o.whatsapp.ThrottleWait = 100 * time.Millisecond
	}
	opt.JobBackoff = 50 * time.Millisecond
	opt.WhatsApp = o.whatsapp
	opt.Clock = o.whatsapp.Clock // the typing throttles
	h.srv = testrig.Start(h.t, d, opt)
	unsub := subscribe(h.srv.App, func(es []event.Event) {
		h.mu.Lock()
		h.events = append(h.events, es...)
		h.mu.Unlock()
	})
	h.t.Cleanup(unsub)
}

// alerts returns the whatsapp.alert events so far.
func (h *harness) alerts() []whatsapp.Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []whatsapp.Alert
	for _, e := range h.events {
		if e.Type == whatsapp.AlertEvent {
			var a whatsapp.Alert
			json.Unmarshal(e.Data, &a)
			out = append(out, a)
		}
	}
	return out
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// conversations lists the inbox's conversations as the admin sees them.
func (h *harness) conversations() []conversation.Conversation {
	var page struct {
		Items []conversation.Conversation `json:"items"`
	}
	h.admin.Do("GET", fmt.Sprintf("/api/v1/conversations?inbox_id=%d&limit=100", h.inbox.ID), nil).Expect(200).Decode(&page)
	return page.Items
}

// messages lists a conversation's messages, oldest first.
func (h *harness) messages(convID int64) []conversation.Message {
	var page struct {
		Items []conversation.Message `json:"items"`
	}
	h.admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages?limit=200", convID), nil).Expect(200).Decode(&page)
	out := make([]conversation.Message, len(page.Items))
	for i, m := range page.Items {
		out[len(out)-1-i] = m
	}
	return out
}

// waitWebhooks waits until the fake has no webhook left to deliver.
func (h *harness) waitWebhooks() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.fake.WaitWebhooks(ctx); err != nil {
		h.t.Fatalf("webhooks not delivered: %v (pending %d)", err, h.fake.Pending())
	}
}

// conversationOf finds the conversation of a customer by their name.
func (h *harness) conversationOf(name string) conversation.Conversation {
	h.t.Helper()
	for _, c := range h.conversations() {
		if c.Contact.Name == name {
			return c
		}
	}
	h.t.Fatalf("no conversation with %s", name)
	return conversation.Conversation{}
}

// post sends a composed WhatsApp message as the agent through the API.
func (h *harness) post(convID int64, body any) *testrig.Response {
	return h.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/whatsapp/messages", convID), body)
}

// waitStatus waits for a message to reach a status (sent: or later).
func (h *harness) waitStatus(id int64, want conversation.Delivery) conversation.Message {
	h.t.Helper()
	var m conversation.Message
	deadline := time.Now().Add(15 * time.Second)
	for {
		var err error
		m, err = h.srv.App.Conversations.LoadMessage(context.Background(), id)
		if err == nil && (m.Status == want || (want == conversation.Sent && (m.Status == conversation.Delivered || m.Status == conversation.Read))) {
			return m
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for message %d to be %s: it is %s (%+v); jobs:\n%s", id, want, m.Status, m.Error, h.jobs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func content(t *testing.T, m conversation.Message) whatsapp.Content {
	t.Helper()
	c, ok := whatsapp.DecodeContent(&m)
	if !ok {
		t.Fatalf("message %d has no WhatsApp content: %s", m.ID, m.Content)
	}
	return c
}

func subscribe(a *server.App, fn func([]event.Event)) func() {
	unsub, err := a.Subscribe(fn)
	if err != nil {
		panic(err) // the test node's broker is in-process
	}
	return unsub
}

func has(s, sub string) bool { return strings.Contains(s, sub) }

// jobs describes the job table, for failures.
// waitJobsDone waits until no job of kind is left: none can run again.
func (h *harness) waitJobsDone(kind string) {
	h.t.Helper()
	eventually(h.t, "the "+kind+" jobs done", func() bool {
		var n int
		if err := h.srv.App.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = $1`, kind).Scan(&n); err != nil {
			h.t.Fatal(err)
		}
		return n == 0
	})
}

func (h *harness) jobs() string {
	rows, err := h.srv.App.DB.Query(context.Background(), `SELECT id, kind, payload, run_at, attempts, last_error, failed_at IS NOT NULL FROM jobs ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id int64
		var kind, payload, lastErr string
		var runAt time.Time
		var attempts int
		var failed bool
		rows.Scan(&id, &kind, &payload, &runAt, &attempts, &lastErr, &failed)
		fmt.Fprintf(&b, "  %d %s %s run_at=%s attempts=%d failed=%v %s\n", id, kind, payload, runAt.Format("15:04:05.000"), attempts, failed, lastErr)
	}
	return b.String()
}
