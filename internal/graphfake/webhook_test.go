package graphfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboardhq/switchboard/internal/graphfake"
)

// TestRetries: a webhook the receiver does not acknowledge (error, 4xx,
// timeout) is posted again, identical, until it is.
func TestRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{WebhookTimeout: 100 * time.Millisecond})
		e.rc.answer = func(n int, _ []byte) int {
			switch n {
			case 1:
				return 500
			case 2:
				return 403
			case 3:
				time.Sleep(200 * time.Millisecond) // past the timeout
				return 200
			case 4:
				return 204 // only 200 acknowledges
			}
			return 200
		}
		id, err := e.fake.Inbound(e.num.ID, graphfake.Customer{Name: "Ann", Phone: "16505551234"}, graphfake.Text("hello"))
		if err != nil {
			t.Fatal(err)
		}
		e.wait(t)
		d := e.fake.Deliveries()
		if len(d) != 1 || !d[0].Acked {
			t.Fatalf("deliveries %+v", d)
		}
		var statuses []string
		for _, a := range d[0].Attempts {
			if a.Err != "" {
				statuses = append(statuses, "timeout")
			} else {
				statuses = append(statuses, fmt.Sprint(a.Status))
			}
		}
		if fmt.Sprint(statuses) != "[500 403 timeout 204 200]" {
			t.Errorf("attempts %v", statuses)
		}
		for i := 1; i < len(d[0].Attempts); i++ {
			if gap := d[0].Attempts[i].At.Sub(d[0].Attempts[i-1].At); gap < 10*time.Millisecond {
				t.Errorf("retry %d after %v", i, gap)
			}
		}
		// The customer's phone shows two ticks once the business has it.
		m, _ := e.fake.Message(id)
		if m.Status != "delivered" {
			t.Errorf("customer's message %s", m.Status)
		}
		// The attempt that timed out was processed by the receiver all the
		// same: it has the same body twice, as with Meta, and must dedupe.
		if len(e.rc.bodies) != 2 || string(e.rc.bodies[0]) != string(e.rc.bodies[1]) {
			t.Errorf("received %d copies", len(e.rc.bodies))
		}
	})
}

// TestGiveUp: with MaxAttempts the fake stops trying.
func TestGiveUp(t *testing.T) {
	e := setup(t, graphfake.Options{Retry: graphfake.Retry{First: time.Millisecond, Max: time.Millisecond, MaxAttempts: 3}})
	e.rc.answer = func(int, []byte) int { return 500 }
	e.fake.Inbound(e.num.ID, graphfake.Customer{Phone: "16505551234"}, graphfake.Text("x"))
	e.wait(t)
	d := e.fake.Deliveries()[0]
	if !d.Dropped || d.Acked || len(d.Attempts) != 3 {
		t.Errorf("%+v", d)
	}
}

// TestDownReceiver: webhooks made while the receiver is down arrive when
// it comes back; nothing is lost and nothing is acknowledged twice.
func TestDownReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var up atomic.Bool
		var mu sync.Mutex
		got := map[string]int{}
		down := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !up.Load() {
				w.WriteHeader(503)
				return
			}
			var p graphfake.Payload
			decodeJSON(r, &p)
			mu.Lock()
			for _, e := range p.Entry {
				for _, c := range e.Changes {
					v := c.Value.(map[string]any)
					for _, m := range v["messages"].([]any) {
						got[m.(map[string]any)["id"].(string)]++
					}
				}
			}
			mu.Unlock()
		})
		fake := graphfake.New(graphfake.Options{WebhookURL: receiverURL, AppSecret: secret, Retry: graphfake.FastRetry, Seed: 5,
			HTTPClient: handlers{"receiver.test": down}.client(0)})
		defer fake.Close()
		num := fake.AddNumber(graphfake.Number{})
		var ids []string
		for i := range 200 {
			id, _ := fake.Inbound(num.ID, graphfake.Customer{Phone: fmt.Sprint(16505550000 + i%20)}, graphfake.Text(fmt.Sprint(i)))
			ids = append(ids, id)
		}
		time.Sleep(50 * time.Millisecond) // three attempts each, on the bubble's clock
		synctest.Wait()
		if fake.Pending() != 200 {
			t.Errorf("pending %d while down", fake.Pending())
		}
		up.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := fake.WaitWebhooks(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if got[id] != 1 {
				t.Errorf("%s received %d times", id, got[id])
			}
		}
	})
}

func TestPauseRedeliverBatchSignature(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{WebhookConcurrency: 1})
		ann := graphfake.Customer{Name: "Ann", Phone: "16505551234"}
		bob := graphfake.Customer{Name: "Bob", Phone: "16505550000"}
		e.fake.PauseWebhooks()
		b := e.fake.Batch()
		for i := range 3 {
			b.Inbound(e.num.ID, ann, graphfake.Text(fmt.Sprint("a", i)))
		}
		b.Inbound(e.num.ID, bob, graphfake.Text("b"))
		other := e.fake.AddNumber(graphfake.Number{WABAID: "999000999000999"})
		b.Inbound(other.ID, ann, graphfake.Text("other account"))
		if b.Len() != 5 {
			t.Errorf("len %d", b.Len())
		}
		b.Post()
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(e.rc.payloads(t)) != 0 {
			t.Fatal("delivered while paused")
		}
		e.fake.ResumeWebhooks()
		e.wait(t)
		ps := e.rc.payloads(t)
		if len(ps) != 1 {
			t.Fatalf("%d posts", len(ps))
		}
		entries := ps[0]["entry"].([]any)
		if len(entries) != 2 || len(dig(entries[0], "changes").([]any)) != 2 || len(dig(entries[0], "changes", 0, "value", "messages").([]any)) != 3 {
			t.Errorf("batch shape %v", ps[0])
		}

		// A redelivery is the same bytes again.
		d := e.fake.Deliveries()[0]
		e.fake.Redeliver(d.ID)
		e.wait(t)
		if e.rc.bodies[1] == nil || string(e.rc.bodies[1]) != string(d.Body) {
			t.Error("redelivery differs")
		}

		// A bad signature is refused by the receiver, so retried.
		bad := e.fake.Batch().BadSignature()
		bad.Inbound(e.num.ID, ann, graphfake.Text("forged"))
		id, _ := bad.Post()
		synctest.Wait() // the first attempt
		e.rc.mu.Lock()
		badCount := e.rc.bad
		e.rc.mu.Unlock()
		if badCount == 0 {
			t.Error("the receiver accepted a bad signature")
		}
		for _, x := range e.fake.Deliveries() {
			if x.ID == id && x.Acked {
				t.Error("bad signature acknowledged")
			}
		}
	})
}

func TestVerifyWebhook(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != "vt" {
			w.WriteHeader(403)
			return
		}
		w.Write([]byte(q.Get("hub.challenge")))
	}))
	defer srv.Close()
	fake := graphfake.New(graphfake.Options{WebhookURL: srv.URL})
	defer fake.Close()
	good := fake.AddNumber(graphfake.Number{VerifyToken: "vt"})
	bad := fake.AddNumber(graphfake.Number{VerifyToken: "other"})
	if err := fake.VerifyWebhook(context.Background(), good.ID); err != nil {
		t.Error(err)
	}
	if err := fake.VerifyWebhook(context.Background(), bad.ID); err == nil {
		t.Error("wrong verify token passed")
	}
}

// TestStatusOrder: the ladder can be reordered, and read can come without
// delivered.
func TestStatusOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{IgnoreWindow: true, WebhookConcurrency: 1})
		e.fake.SetStatuses(graphfake.Step{Status: "read", After: 0}, graphfake.Step{Status: "sent", After: 20 * time.Millisecond})
		_, out, _ := e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"16505551234","text":{"body":"x"}}`)
		id := dig(out, "messages", 0, "id").(string)
		e.settle(t)
		var got []string
		for _, s := range e.rc.statuses(t) {
			if s["id"] == id {
				got = append(got, s["status"].(string))
			}
		}
		if fmt.Sprint(got) != "[read sent]" {
			t.Errorf("%v", got)
		}
		if m, _ := e.fake.Message(id); m.Status != "read" {
			t.Errorf("the chat shows %s after read then sent", m.Status)
		}
	})
}

func TestSubscribe(t *testing.T) {
	e := setup(t, graphfake.Options{IgnoreWindow: true})
	ch, stop := e.fake.Subscribe()
	defer stop()
	e.fake.Inbound(e.num.ID, graphfake.Customer{Name: "Ann", Phone: "16505551234"}, graphfake.Text("x"))
	ev := <-ch
	if ev.Kind != graphfake.EventMessage || ev.Message.FromBusiness || ev.Message.Type != "text" {
		t.Errorf("%+v", ev)
	}
	e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"16505551234","text":{"body":"y"}}`)
	kinds := map[string]bool{}
	timeout := time.After(2 * time.Second)
	for !kinds["sent"] || !kinds["delivered"] {
		select {
		case ev := <-ch:
			if ev.Kind == graphfake.EventStatus && ev.Message.FromBusiness {
				kinds[ev.Message.Status] = true
			}
		case <-timeout:
			t.Fatalf("statuses seen: %v", kinds)
		}
	}
}

func decodeJSON(r *http.Request, v any) { json.NewDecoder(r.Body).Decode(v) }

// TestDuplicateRate: acknowledged webhooks come again, once.
func TestDuplicateRate(t *testing.T) {
	e := setup(t, graphfake.Options{})
	e.fake.SetDuplicateRate(1)
	for i := range 5 {
		e.fake.Inbound(e.num.ID, graphfake.Customer{Phone: "16505551234"}, graphfake.Text(fmt.Sprint(i)))
	}
	e.wait(t)
	if n := len(e.rc.payloads(t)); n != 10 {
		t.Errorf("%d webhooks received, want each of 5 twice", n)
	}
}
