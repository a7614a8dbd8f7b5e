package graphfake_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/graphfake"
)

const secret = "app-secret"

// receiver is a webhook endpoint that checks signatures and keeps what it
// acknowledged; answer decides each response (200 when nil).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	bad    int
	answer func(n int, body []byte) int
	calls  int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.calls++
		if !hmac.Equal([]byte(r.Header.Get("X-Hub-Signature-256")), []byte(graphfake.Sign(body, secret))) {
			rc.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		status := 200
		if rc.answer != nil {
			status = rc.answer(rc.calls, body)
		}
		if status == 200 {
			rc.bodies = append(rc.bodies, body)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
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
	fake *graphfake.Server
	num  graphfake.Number
	rc   *receiver
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
	opt.WebhookURL, opt.AppSecret = rc.srv.URL, secret
	fake := graphfake.NewServer(opt)
	t.Cleanup(fake.Close)
	num := fake.AddNumber(graphfake.Number{Phone: "15550783881", VerifiedName: "Lucky Shrub", VerifyToken: "vt"})
	return &env{fake: fake, num: num, rc: rc}
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
	req, _ := http.NewRequest(method, e.fake.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
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
	e.wait(t)
	time.Sleep(100 * time.Millisecond)
	e.wait(t)
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
}
