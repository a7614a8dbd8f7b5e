package graphfake_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboardhq/switchboard/internal/graphfake"
)

const secret = "app-secret"

// The fake, the business and the receiver of its webhooks talk through
// transports in the process, not the network, so that a test can run
// them in a synctest bubble: webhook retries, the status ladder and
// template reviews run on timers, on the bubble's clock.
const (
	graphURL    = "http://graph.test"
	receiverURL = "http://receiver.test/webhooks"
)

// handlers serves each request with the handler of its host, in process.
// A request gives up when its context ends (a client's timeout), as on a
// connection; a handler that aborts (http.ErrAbortHandler) leaves it
// without an answer, as a closed connection does.
type handlers map[string]http.Handler

func (hs handlers) RoundTrip(r *http.Request) (*http.Response, error) {
	h, ok := hs[r.URL.Host]
	if !ok {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("dial %s: no such host", r.URL.Host)
	}
	in := r.Clone(r.Context())
	in.RequestURI, in.Host, in.RemoteAddr = r.URL.RequestURI(), r.URL.Host, "192.0.2.1:40000"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	answered := make(chan bool, 1)
	go func() {
		ok := false
		defer func() {
			if p := recover(); p != nil && p != http.ErrAbortHandler {
				panic(p)
			}
			in.Body.Close()
			answered <- ok
		}()
		h.ServeHTTP(rec, in)
		ok = true
	}()
	select {
	case ok := <-answered:
		if !ok {
			return nil, errors.New("connection closed without an answer")
		}
		res := rec.Result()
		res.Request = r
		return res, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// client reaches hs, giving up on a request after timeout (10 s, the
// fake's default webhook timeout, when 0).
func (hs handlers) client(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &http.Client{Transport: hs, Timeout: timeout}
}

// receiver is a webhook endpoint that checks signatures and keeps what it
// acknowledged; answer decides each response (200 when nil).
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	bad    int
	answer func(n int, body []byte) int
	calls  int
}

func newReceiver(*testing.T) *receiver { return &receiver{} }

// client posts to the receiver at receiverURL.
func (rc *receiver) client(timeout time.Duration) *http.Client {
	return handlers{"receiver.test": rc}.client(timeout)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.calls++
	n := rc.calls
	if !hmac.Equal([]byte(r.Header.Get("X-Hub-Signature-256")), []byte(graphfake.Sign(body, secret))) {
		rc.bad++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	answer := rc.answer
	rc.mu.Unlock()
	status := 200
	if answer != nil {
		status = answer(n, body)
	}
	if status == 200 {
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, body)
		rc.mu.Unlock()
	}
	w.WriteHeader(status)
}

// payloads decodes what was acknowledged.
func (rc *receiver) payloads(t *testing.T) []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []map[string]any
	for _, b := range rc.bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("webhook body %s: %v", b, err)
		}
		out = append(out, m)
	}
	return out
}

// values returns the "messages" change values acknowledged so far.
func (rc *receiver) values(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, p := range rc.payloads(t) {
		for _, e := range p["entry"].([]any) {
			for _, c := range e.(map[string]any)["changes"].([]any) {
				out = append(out, c.(map[string]any)["value"].(map[string]any))
			}
		}
	}
	return out
}

// statuses returns "id status" of every status acknowledged.
func (rc *receiver) statuses(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, v := range rc.values(t) {
		if s, ok := v["statuses"].([]any); ok {
			for _, x := range s {
				out = append(out, x.(map[string]any))
			}
		}
	}
	return out
}

type env struct {
	fake   *graphfake.Fake
	URL    string       // the fake's base URL
	client *http.Client // the business's: it reaches the fake
	num    graphfake.Number
	rc     *receiver
}

// newEnv is the business's side of fake, whose BaseURL is base.
func newEnv(fake *graphfake.Fake, base string, num graphfake.Number, rc *receiver) *env {
	u, _ := url.Parse(base)
	return &env{fake: fake, URL: base, client: handlers{u.Host: fake}.client(0), num: num, rc: rc}
}

// newFake starts a fake whose webhooks go to rc, with opt's other
// settings, at base (graphURL when opt has none).
func newFake(t *testing.T, opt graphfake.Options, rc *receiver) (*graphfake.Fake, string) {
	t.Helper()
	if opt.BaseURL == "" {
		opt.BaseURL = graphURL
	}
	opt.WebhookURL, opt.AppSecret, opt.HTTPClient = receiverURL, secret, rc.client(opt.WebhookTimeout)
	fake := graphfake.New(opt)
	t.Cleanup(fake.Close)
	return fake, opt.BaseURL
}

func setup(t *testing.T, opt graphfake.Options) *env {
	t.Helper()
	rc := newReceiver(t)
	if opt.Retry == (graphfake.Retry{}) {
		opt.Retry = graphfake.FastRetry
	}
	if opt.Seed == 0 {
		opt.Seed = 42
	}
	fake, base := newFake(t, opt, rc)
	num := fake.AddNumber(graphfake.Number{Phone: "15550783881", VerifiedName: "Lucky Shrub", VerifyToken: "vt"})
	return newEnv(fake, base, num, rc)
}

// graph calls the fake as the business.
func (e *env) graph(t *testing.T, method, path string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	return e.graphToken(t, e.num.Token, method, path, body)
}

func (e *env) graphToken(t *testing.T, token, method, path string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	return resp.StatusCode, m, resp.Header
}

func (e *env) wait(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.fake.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
}

// settle lets the fake's timers (the status ladder, template reviews)
// run out on the bubble's clock, and waits for the webhooks they make.
func (e *env) settle(t *testing.T) {
	t.Helper()
	time.Sleep(time.Second)
	e.wait(t)
}

func errCode(m map[string]any) int {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

func errDetails(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	d, _ := e["error_data"].(map[string]any)
	s, _ := d["details"].(string)
	return s
}

func msgsPath(e *env) string { return "/v23.0/" + e.num.ID + "/messages" }

// TestConversation is the whole loop: a customer writes, the business
// answers with reply buttons, the statuses follow, the customer taps one.
func TestConversation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{})
		ann := graphfake.Customer{Name: "Ann", Phone: "16505551234"}
		in, err := e.fake.Inbound(e.num.ID, ann, graphfake.Text("Does it come in another color?"))
		if err != nil {
			t.Fatal(err)
		}
		e.wait(t)
		st, out, _ := e.graph(t, "POST", msgsPath(e), map[string]any{
			"messaging_product": "whatsapp", "to": "+1 650-555-1234", "type": "interactive",
			"biz_opaque_callback_data": "msg-1",
			"interactive": map[string]any{"type": "button", "body": map[string]any{"text": "Which one?"},
				"action": map[string]any{"buttons": []any{
					map[string]any{"type": "reply", "reply": map[string]any{"id": "red", "title": "Red"}},
					map[string]any{"type": "reply", "reply": map[string]any{"id": "blue", "title": "Blue"}},
				}}},
		})
		if st != 200 {
			t.Fatalf("send: %d %v", st, out)
		}
		contacts := out["contacts"].([]any)[0].(map[string]any)
		if contacts["input"] != "+1 650-555-1234" || contacts["wa_id"] != "16505551234" {
			t.Errorf("contacts = %v", contacts)
		}
		wamid := out["messages"].([]any)[0].(map[string]any)["id"].(string)
		if !strings.HasPrefix(wamid, "wamid.") {
			t.Errorf("id %q", wamid)
		}
		e.settle(t)
		if err := e.fake.Read(e.num.ID, ann.Phone); err != nil {
			t.Fatal(err)
		}
		e.wait(t)
		var got []string
		for _, s := range e.rc.statuses(t) {
			if s["id"] != wamid || s["biz_opaque_callback_data"] != "msg-1" {
				t.Errorf("status %v", s)
			}
			got = append(got, s["status"].(string))
		}
		if fmt.Sprint(got) != "[sent delivered read]" {
			t.Errorf("statuses %v", got)
		}
		tap, err := e.fake.Inbound(e.num.ID, ann, graphfake.ButtonReply(wamid, "blue", "Blue"))
		if err != nil {
			t.Fatal(err)
		}
		e.wait(t)
		vals := e.rc.values(t)
		last := vals[len(vals)-1]["messages"].([]any)[0].(map[string]any)
		if last["id"] != tap || last["context"].(map[string]any)["id"] != wamid || last["interactive"].(map[string]any)["button_reply"].(map[string]any)["id"] != "blue" {
			t.Errorf("tap = %v", last)
		}
		chat, _, _ := e.fake.Chat(e.num.ID, ann.Phone)
		if len(chat) != 3 || chat[0].ID != in || chat[0].Status != "delivered" || chat[1].Status != "read" {
			t.Errorf("chat = %+v", chat)
		}
		if d := e.fake.Duplicates(); len(d) != 0 || e.fake.Accepted("msg-1") != 1 {
			t.Errorf("accounting: %v %d", d, e.fake.Accepted("msg-1"))
		}
	})
}
