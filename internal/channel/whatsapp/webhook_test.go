package whatsapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestBatch: one POST with many entries, changes and messages (Meta
// batches under load) stores every message once, each customer's in the
// order sent, and a redelivery of the whole batch changes nothing.
func TestBatch(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		b := h.fake.Batch()
		var customers []graphfake.Customer
		for i := range 5 {
			customers = append(customers, graphfake.Customer{Name: fmt.Sprintf("Batch %d", i), Phone: fmt.Sprintf("1555100%04d", i)})
		}
		for i := range 50 {
			if _, err := b.Inbound(h.num.ID, customers[i%5], graphfake.Text(fmt.Sprintf("message %02d", i))); err != nil {
				t.Fatal(err)
			}
		}
		id, err := b.Post()
		if err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		check := func() {
			t.Helper()
			cs := h.conversations()
			if len(cs) != 5 {
				t.Fatalf("%d conversations, want 5", len(cs))
			}
			for _, c := range cs {
				ms := h.messages(c.ID)
				if len(ms) != 10 {
					t.Fatalf("%s: %d messages, want 10", c.Contact.Name, len(ms))
				}
				for i := 1; i < len(ms); i++ {
					if ms[i].Text <= ms[i-1].Text {
						t.Errorf("%s: %q stored after %q", c.Contact.Name, ms[i].Text, ms[i-1].Text)
					}
				}
			}
		}
		check()
		if err := h.fake.Redeliver(id); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		check()
	})
}

// TestStatusesOutOfOrder: read before delivered before sent, played after
// read: the message ends read, then played, never moving back; a status
// for a message Switchboard does not have is acknowledged.
// statusesTaken is which statuses of the message wamid Switchboard has
// acknowledged.
func statusesTaken(fake *graphfake.Server, wamid string) map[string]bool {
	seen := map[string]bool{}
	for _, dl := range fake.Deliveries() {
		var p graphfake.Payload
		if !dl.Acked || json.Unmarshal(dl.Body, &p) != nil {
			continue
		}
		for _, e := range p.Entry {
			for _, c := range e.Changes {
				v, _ := c.Value.(map[string]any)
				ss, _ := v["statuses"].([]any)
				for _, s := range ss {
					if st, _ := s.(map[string]any); st["id"] == wamid {
						seen[fmt.Sprint(st["status"])] = true
					}
				}
			}
		}
	}
	return seen
}

func TestStatusesOutOfOrder(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{fake: graphfake.Options{Statuses: []graphfake.Step{
			{Status: "read", After: 0}, {Status: "delivered", After: 30 * time.Millisecond}, {Status: "sent", After: 60 * time.Millisecond}}}})
		c := h.customerWrites(graphfake.Customer{Name: "Gus", Phone: "15550005555"}, "hi")
		m := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "hello"}).Expect(201))
		defer func() {
			if t.Failed() {
				for _, dl := range h.fake.Deliveries() {
					t.Logf("delivery %d acked=%v attempts=%+v body=%s", dl.ID, dl.Acked, dl.Attempts, dl.Body)
				}
			}
		}()
		got := h.waitStatus(m.ID, conversation.Read)
		// Then delivered and sent come, and are taken.
		eventually(t, "delivered and sent taken", func() bool {
			seen := statusesTaken(h.fake, *got.ChannelMessageID)
			return seen["delivered"] && seen["sent"]
		})
		h.waitWebhooks()
		if got, _ = h.srv.App.Conversations.LoadMessage(context.Background(), m.ID); got.Status != conversation.Read {
			t.Fatalf("after read, delivered, sent: %s", got.Status)
		}
		if err := h.fake.SetStatus(*got.ChannelMessageID, "played"); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		h.waitStatus(m.ID, conversation.Played)
		if err := h.fake.SetStatus(*got.ChannelMessageID, "delivered"); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		if got, _ = h.srv.App.Conversations.LoadMessage(context.Background(), m.ID); got.Status != conversation.Played {
			t.Fatalf("a late delivered moved played back to %s", got.Status)
		}
	})
}

// TestPacingAcrossNodes: two nodes on one PostgreSQL database send for
// the same number; together they stay under its throughput.
func TestPacingAcrossNodes(t *testing.T) {
	t.Parallel()
	d := dbtest.Postgres(t)
	const rate = 20
	key := make([]byte, 32)
	h := newHarness(t, d, harnessOptions{rate: rate, key: key, fake: graphfake.Options{Throughput: rate}})
	opt := testrig.Options{Config: func(c *config.Config) {
		c.WhatsAppGraphURL = h.srv.App.Config.WhatsAppGraphURL
		c.WhatsAppAPIVersion = "v23.0"
		c.SecretKey = key
	}}
	other2 := &dispatchRecorder{}
	opt.WhatsApp = whatsapp.Options{InFlightGrace: 300 * time.Millisecond, ThrottleWait: 100 * time.Millisecond,
		HTTPClient: &http.Client{Transport: other2, Timeout: 10 * time.Second}}
	opt.JobBackoff = 50 * time.Millisecond
	other := testrig.Start(t, d, opt)
	agent2 := other.Anonymous()
	agent2.Do("POST", "/api/v1/auth/login", map[string]string{"email": "agent@example.com", "password": testrig.Password}).Expect(200)
	var convs []int64
	for i := range 6 {
		c := h.customerWrites(graphfake.Customer{Name: fmt.Sprintf("Node customer %d", i), Phone: fmt.Sprintf("1555200%04d", i)}, "hi")
		convs = append(convs, c.ID)
	}
	var ids []int64
	for i := range 60 {
		client := h.agent
		if i%2 == 1 {
			client = agent2
		}
		m := decodeMessage(t, client.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/whatsapp/messages", convs[i%6]), map[string]any{"type": "text", "text": fmt.Sprint(i)}).Expect(201))
		ids = append(ids, m.ID)
	}
	for _, id := range ids {
		h.waitStatus(id, conversation.Sent)
	}
	times := append(h.sends.all(), other2.all()...)
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	if n := maxInWindow(times, time.Second); n > rate {
		t.Errorf("%d sends in one second across two nodes, limit %d", n, rate)
	}
	if v := h.fake.Violations(); len(v) > 0 {
		t.Errorf("violations: %+v", v)
	}
	if len(h.fake.Duplicates()) > 0 {
		t.Errorf("duplicates: %v", h.fake.Duplicates())
	}
}

// FuzzWebhook posts arbitrary bodies, correctly signed, to a node on each
// engine: the answer is 200 or 400, never a server error (PostgreSQL
// refuses NUL and invalid UTF-8 that SQLite would store: a customer's
// message with them must still be stored), and a body refused with 400
// writes nothing at all. The seed corpus (every fixture, control
// characters included) runs on both engines with the other tests. To
// fuzz, use PostgreSQL: coverage instrumentation makes the pure-Go SQLite
// engine too slow to explore:
//
//	SWITCHBOARD_FUZZ_POSTGRES=1 go test -run XXX -fuzz FuzzWebhook ./internal/channel/whatsapp
func FuzzWebhook(f *testing.F) {
	type node struct {
		engine string
		d      *db.DB
		url    string
	}
	var nodes []node
	for _, e := range dbtest.FuzzEngines(f) {
		app, url := quietNode(f, e.DB)
		num := whatsapp.Config{PhoneNumberID: "106540352242922", WABAID: "102290129340398", DisplayPhoneNumber: "15550783881", AccessToken: "t", AppSecret: appSecret}
		if _, _, err := app.Inboxes.Create(context.Background(), inbox.NewInbox{Type: whatsapp.Type, Name: "Fuzz", Settings: map[inbox.Type]any{whatsapp.Type: &num}}); err != nil {
			f.Fatal(err)
		}
		nodes = append(nodes, node{e.Name, e.DB, url})
	}
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	counts := func(d *db.DB) string {
		var b bytes.Buffer
		for _, table := range []string{"messages", "contacts", "conversations", "contact_identities", "whatsapp_contacts", "message_reactions", "whatsapp_templates"} {
			var n int
			d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n)
			fmt.Fprintf(&b, "%s=%d ", table, n)
		}
		return b.String()
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, n := range nodes {
			before := counts(n.d)
			req, _ := http.NewRequest("POST", n.url+"/webhooks/whatsapp", bytes.NewReader(body))
			req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(body, appSecret))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
			case 400:
				if after := counts(n.d); after != before {
					t.Fatalf("%s: a refused body wrote something:\n before %s\n after  %s", n.engine, before, after)
				}
			default:
				t.Fatalf("%s: status %d: %s", n.engine, resp.StatusCode, out)
			}
		}
	})
}

// quietNode runs a node whose log goes nowhere: a fuzz target may not log
// through the test, and its inputs make the node warn.
func quietNode(tb testing.TB, d *db.DB) (*server.App, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	base, _ := neturl.Parse("http://" + ln.Addr().String())
	graph, _ := neturl.Parse("http://127.0.0.1:1")
	cfg := config.Config{Addr: ln.Addr().String(), DataDir: tb.TempDir(), BaseURL: base, LogFormat: "text", ShutdownTimeout: 5 * time.Second,
		WhatsAppGraphURL: graph, WhatsAppAPIVersion: "v23.0", SecretKey: make([]byte, 32)}
	app, err := server.Assemble(cfg, d, slog.New(slog.DiscardHandler), server.Options{PublicRate: -1, JobPoll: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, server.Listeners{HTTP: ln}) }()
	tb.Cleanup(func() { cancel(); <-done; app.Close() })
	return app, base.String()
}
