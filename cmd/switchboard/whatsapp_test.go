package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/graphfake"
)

// These tests run real server processes (see TestKillNine) against the
// WhatsApp Graph API fake in the test process: webhooks go to the server
// over HTTP, signed; the server calls the fake's Graph endpoints over HTTP.

const waSecret = "whatsapp-app-secret"

// setupWhatsApp creates an administrator and a WhatsApp inbox for num
// through the REST API and returns a signed-in client and the inbox id.
func setupWhatsApp(t *testing.T, env []string, p *proc, num graphfake.Number) (*http.Client, int64) {
	t.Helper()
	command(t, env, "long enough password\n", "user", "create", "--email", "admin@example.com", "--name", "Admin", "--role", "admin", "--password-stdin")
	c := login(t, p)
	st, b, err := post(c, p.url+"/api/v1/inboxes", "", map[string]any{"type": "whatsapp", "name": "WhatsApp", "whatsapp": map[string]any{
		"phone_number_id": num.ID, "waba_id": num.WABAID, "display_phone_number": num.Phone,
		"access_token": num.Token, "app_secret": waSecret, "verify_token": num.VerifyToken,
	}})
	if err != nil || st != 201 {
		t.Fatalf("create inbox: %d %s %v", st, b, err)
	}
	var in struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal(b, &in)
	return c, in.ID
}

func login(t *testing.T, p *proc) *http.Client {
	t.Helper()
	c := &http.Client{Jar: &cookieJar{}, Timeout: 10 * time.Second}
	if st, b, err := post(c, p.url+"/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "long enough password"}); err != nil || st != 200 {
		t.Fatalf("login: %d %s %v", st, b, err)
	}
	return c
}

// inboundIDs returns the WhatsApp ids of the messages a delivery carried.
func inboundIDs(body []byte) []string {
	var p graphfake.Payload
	json.Unmarshal(body, &p)
	var ids []string
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			v, _ := c.Value.(map[string]any)
			ms, _ := v["messages"].([]any)
			for _, m := range ms {
				ids = append(ids, m.(map[string]any)["id"].(string))
			}
		}
	}
	return ids
}

// storedInbound counts the inbound messages of an inbox by WhatsApp id.
func storedInbound(t *testing.T, d *db.DB, inboxID int64) map[string]int {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT channel_message_id, COUNT(*) FROM messages
		WHERE inbox_id = $1 AND direction = 'inbound' AND channel_message_id IS NOT NULL GROUP BY channel_message_id`, inboxID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

// TestWhatsAppWebhookKillNine: 10,000 customer messages arrive as signed
// webhooks from the fake while the server is killed with SIGKILL. What
// the server acknowledged survives; after a restart the fake redelivers
// what was not acknowledged, and every message is stored exactly once.
func TestWhatsAppWebhookKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes and sends 10,000 webhooks")
	}
	engines(t, func(t *testing.T, env []string, open func() *db.DB) {
		addr := freeAddr(t)
		fake := graphfake.NewServer(graphfake.Options{Seed: 11, WebhookConcurrency: 32, WebhookTimeout: 10 * time.Second,
			Retry: graphfake.Retry{First: 20 * time.Millisecond, Max: 400 * time.Millisecond, GiveUp: 15 * time.Minute}})
		defer fake.Close()
		// Meta redelivers now and then even what was acknowledged.
		fake.SetDuplicateRate(0.02)
		num := fake.AddNumber(graphfake.Number{AppSecret: waSecret, WebhookURL: "http://" + addr + "/webhooks/whatsapp", VerifyToken: "verify-me"})
		env = append(env, "SWITCHBOARD_WHATSAPP_GRAPH_URL="+fake.URL)
		p := start(t, env, addr)
		_, inboxID := setupWhatsApp(t, env, p, num)
		if err := fake.VerifyWebhook(context.Background(), num.ID); err != nil {
			t.Fatalf("handshake: %v", err)
		}

		// 100 customers write 100 messages each; one webhook per message,
		// 32 in flight at a time.
		const customers, each = 100, 100
		const total = customers * each
		all := make(map[string]bool, total)
		for i := range each {
			for c := range customers {
				id, err := fake.Inbound(num.ID, graphfake.Customer{Name: fmt.Sprint("Customer ", c), Phone: fmt.Sprint(16505500000 + c)},
					graphfake.Text(fmt.Sprintf("message %d of customer %d", i, c)))
				if err != nil {
					t.Fatal(err)
				}
				all[id] = true
			}
		}
		deadline := time.Now().Add(2 * time.Minute)
		for fake.Pending() > total*2/3 {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d acknowledged after 2 minutes", total-fake.Pending(), total)
			}
			time.Sleep(5 * time.Millisecond)
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done

		// Every message of an acknowledged delivery was committed first.
		acked := map[string]bool{}
		for _, d := range fake.Deliveries() {
			if d.Acked {
				for _, id := range inboundIDs(d.Body) {
					acked[id] = true
				}
			}
		}
		d := open()
		stored := storedInbound(t, d, inboxID)
		t.Logf("killed with %d of %d acknowledged (%d stored, the rest was in flight or waiting)", len(acked), total, len(stored))
		for id := range acked {
			if stored[id] != 1 {
				t.Fatalf("acknowledged message %s is stored %d times after kill -9", id, stored[id])
			}
		}
		if len(acked) == total {
			t.Fatal("the burst was over before the kill")
		}

		// Restart: the fake keeps redelivering what was not acknowledged.
		p = start(t, env, addr)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := fake.WaitWebhooks(ctx); err != nil {
			t.Fatal(err)
		}
		retried := 0
		answers := map[int]int{} // HTTP status (0: no answer) → attempts
		for _, dl := range fake.Deliveries() {
			if !dl.Acked {
				t.Fatalf("delivery %d was given up", dl.ID)
			}
			if len(dl.Attempts) > 1 {
				retried++
			}
			for _, a := range dl.Attempts {
				answers[a.Status]++
			}
		}
		t.Logf("%d deliveries needed more than one attempt; attempts by answer (0: none): %v", retried, answers)
		stored = storedInbound(t, d, inboxID)
		if len(stored) != total {
			t.Errorf("%d messages stored, want %d", len(stored), total)
		}
		for id, n := range stored {
			if n != 1 {
				t.Errorf("message %s stored %d times", id, n)
			}
			if !all[id] {
				t.Errorf("stored message %s was never sent", id)
			}
		}
		// One conversation per customer.
		var convs int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM conversations WHERE inbox_id = $1`, inboxID).Scan(&convs); err != nil {
			t.Fatal(err)
		}
		if convs != customers {
			t.Errorf("%d conversations, want %d", convs, customers)
		}
	})
}

// TestWhatsAppSendsExactlyOnce: the fake answers 20 % of the sends with
// 5xx or 429 (with Retry-After), at random, and the server is killed with
// SIGKILL while it works through 300 replies. Every reply reaches the fake
// exactly once (counted by Switchboard's id in biz_opaque_callback_data),
// none is lost, and the number's throughput and pair rate are respected.
func TestWhatsAppSendsExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	engines(t, func(t *testing.T, env []string, open func() *db.DB) {
		addr := freeAddr(t)
		fake := graphfake.NewServer(graphfake.Options{Seed: 12, Retry: graphfake.FastRetry,
			Throughput: 80, PairRate: graphfake.MetaPairRate})
		defer fake.Close()
		num := fake.AddNumber(graphfake.Number{AppSecret: waSecret, WebhookURL: "http://" + addr + "/webhooks/whatsapp"})
		env = append(env, "SWITCHBOARD_WHATSAPP_GRAPH_URL="+fake.URL)
		p := start(t, env, addr)
		agent, inboxID := setupWhatsApp(t, env, p, num)

		// 50 customers write first (opening their 24-hour windows).
		const customers, replies = 50, 6
		for c := range customers {
			if _, err := fake.Inbound(num.ID, graphfake.Customer{Name: fmt.Sprint("Customer ", c), Phone: fmt.Sprint(16505600000 + c)}, graphfake.Text("hello")); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := fake.WaitWebhooks(ctx); err != nil {
			t.Fatal(err)
		}
		var convs []int64
		rows, err := open().Query(context.Background(), `SELECT id FROM conversations WHERE inbox_id = $1 ORDER BY id`, inboxID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			convs = append(convs, id)
		}
		rows.Close()
		if len(convs) != customers {
			t.Fatalf("%d conversations", len(convs))
		}

		// 5xx and 429 with Retry-After: 1 (and no usage header, whose
		// "minutes to regain access" would rightly stop the number longer
		// than this test waits).
		appLimit := graphfake.ErrAppRateLimit(time.Second)
		appLimit.Usage = 0
		fake.SetErrorRate(graphfake.EndpointMessages, 0.2, graphfake.ErrUnknown(), graphfake.ErrUnavailable(),
			graphfake.ErrThroughput(http.StatusTooManyRequests, time.Second), appLimit)

		// The agent sends 300 replies, 6 per conversation, all at once. A
		// 5xx answer is retried with the same idempotency key, as any
		// client would; the test says how many there were.
		var mu sync.Mutex
		var ids []int64
		var retried5xx int
		var wg sync.WaitGroup
		for _, conv := range convs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range replies {
					var st int
					var b []byte
					var err error
					for try := 0; try < 5; try++ {
						st, b, err = post(agent, fmt.Sprintf("%s/api/v1/conversations/%d/whatsapp/messages", p.url, conv), "", map[string]any{
							"type": "text", "text": fmt.Sprintf("reply %d", r), "idempotency_key": fmt.Sprintf("c%d-r%d", conv, r)})
						if err != nil || st < 500 {
							break
						}
						mu.Lock()
						retried5xx++
						mu.Unlock()
					}
					if err != nil || (st != 201 && st != 200) {
						t.Errorf("reply: %d %s %v\n%s", st, b, err, p.stderr)
						return
					}
					var m struct {
						ID int64 `json:"id"`
					}
					json.Unmarshal(b, &m)
					mu.Lock()
					ids = append(ids, m.ID)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		total := len(ids)
		if retried5xx > 0 {
			t.Logf("the server answered %d sends with 5xx (retried with their idempotency keys); its log:\n%s", retried5xx, p.stderr)
		}

		// Kill the server while the outbox works through them.
		deadline := time.Now().Add(time.Minute)
		for len(fake.Sent()) < total/3 {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d sent after a minute", len(fake.Sent()), total)
			}
			time.Sleep(5 * time.Millisecond)
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		sentBefore := len(fake.Sent())
		p = start(t, env, addr)

		// Every reply reaches the fake once, and Switchboard says so.
		d := open()
		deadline = time.Now().Add(3 * time.Minute)
		for {
			missing := 0
			for _, id := range ids {
				if fake.Accepted(strconv.FormatInt(id, 10)) == 0 {
					missing++
				}
			}
			var pending int
			d.QueryRow(context.Background(), `SELECT COUNT(*) FROM messages WHERE inbox_id = $1 AND direction = 'outbound' AND status IN ('pending', 'failed')`, inboxID).Scan(&pending)
			if missing == 0 && pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 3 minutes: %d replies never reached the fake, %d not sent in Switchboard", missing, pending)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if dup := fake.Duplicates(); len(dup) != 0 {
			t.Errorf("sent more than once: %v", dup)
		}
		if v := fake.Violations(); len(v) != 0 {
			t.Errorf("limits exceeded: %+v", v)
		}
		attempts := fake.Attempts()
		injected := 0
		for _, a := range attempts {
			if a.Injected {
				injected++
			}
		}
		if injected == 0 {
			t.Error("no error was injected")
		}
		if len(fake.Sent()) != total {
			t.Errorf("the fake accepted %d messages, want %d", len(fake.Sent()), total)
		}
		t.Logf("%d replies: %d accepted before the kill, %d calls in all, %d answered with an injected error", total, sentBefore, len(attempts), injected)
	})
}
