package simulator_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/simulator"
)

const secret = "app-secret"

// business stands in for Switchboard: it checks signatures and keeps the
// messages of the webhooks it gets.
type business struct {
	mu       sync.Mutex
	messages []map[string]any
	contacts []map[string]any
}

func (b *business) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !hmac.Equal([]byte(r.Header.Get("X-Hub-Signature-256")), []byte(graphfake.Sign(body, secret))) {
		w.WriteHeader(401)
		return
	}
	var p struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Contacts []map[string]any `json:"contacts"`
					Messages []map[string]any `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	json.Unmarshal(body, &p)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			b.messages = append(b.messages, c.Value.Messages...)
			b.contacts = append(b.contacts, c.Value.Contacts...)
		}
	}
}

func (b *business) last(t *testing.T, fake *graphfake.Fake) (map[string]any, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fake.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.messages) == 0 {
		t.Fatal("no message reached the business")
	}
	var c map[string]any
	if len(b.contacts) > 0 {
		c = b.contacts[len(b.contacts)-1]
	}
	return b.messages[len(b.messages)-1], c
}

type env struct {
	fake *graphfake.Fake
	num  graphfake.Number
	srv  *httptest.Server
	biz  *business
}

func setup(t *testing.T) *env {
	biz := &business{}
	hook := httptest.NewServer(biz)
	t.Cleanup(hook.Close)
	fake := graphfake.New(graphfake.Options{WebhookURL: hook.URL, AppSecret: secret, Retry: graphfake.FastRetry, Seed: 1})
	t.Cleanup(fake.Close)
	num := fake.AddNumber(graphfake.Number{VerifiedName: "Lucky Shrub", Phone: "15550783881"})
	sim, err := simulator.New(fake, simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/simulator", sim)
	mux.Handle("/simulator/", sim)
	mux.Handle("/", fake)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	fake.SetBaseURL(srv.URL)
	return &env{fake: fake, num: num, srv: srv, biz: biz}
}

var ann = map[string]any{"name": "Ann Lee", "phone": "+1 650 555 1234"}

func (e *env) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(e.srv.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestPage(t *testing.T) {
	e := setup(t)
	resp, err := http.Get(e.srv.URL + "/simulator")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%d %s", resp.StatusCode, csp)
	}
	page := string(body)
	for _, want := range []string{"Lucky Shrub (&#43;1 555-078-3881)", `src="/simulator/static/sim.js?v=`, `id="sim-strings"`, `"typing…"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
		t.Error("inline script or style")
	}
	for _, f := range []string{"sim.js", "sim.css"} {
		resp, _ := http.Get(e.srv.URL + "/simulator/static/" + f)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", f, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

func TestChat(t *testing.T) {
	e := setup(t)
	e.fake.SetAutomation(e.num.ID, graphfake.Automation{EnableWelcomeMessage: true, Prompts: []string{"Where is my order?"}})

	// Opening an empty chat is the "opened the chat" event.
	st, out := e.post(t, "/simulator/api/open", map[string]any{"number": e.num.ID, "customer": ann})
	if st != 200 || out["welcome_requested"] != true {
		t.Fatalf("open: %d %v", st, out)
	}
	m, c := e.biz.last(t, e.fake)
	if m["type"] != "request_welcome" || m["from"] != "16505551234" || c["profile"].(map[string]any)["name"] != "Ann Lee" {
		t.Errorf("welcome: %v %v", m, c)
	}

	// The page follows the chat from the fake.
	events := e.stream(t, ann)

	st, out = e.post(t, "/simulator/api/send", map[string]any{"number": e.num.ID, "customer": ann, "message": map[string]any{"type": "text", "text": "Where is my order?"}})
	if st != 200 {
		t.Fatalf("send: %d %v", st, out)
	}
	m, _ = e.biz.last(t, e.fake)
	if m["type"] != "text" || m["text"].(map[string]any)["body"] != "Where is my order?" || m["id"] != out["id"] {
		t.Errorf("text: %v", m)
	}
	events.want(t, "message", func(ev graphfake.Event) bool { return ev.Message.ID == out["id"] })

	// A second open sends nothing: the chat is not empty.
	if _, out := e.post(t, "/simulator/api/open", map[string]any{"number": e.num.ID, "customer": ann}); out["welcome_requested"] != false {
		t.Errorf("second open: %v", out)
	}

	// The business answers with a list; the page sees it and picks a row.
	req := `{"messaging_product":"whatsapp","to":"16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"Which order?"},"action":{"button":"Orders","sections":[{"title":"Recent","rows":[{"id":"o-1","title":"Order 1","description":"Shipped"}]}]}}}`
	wamid := graph(t, e, req)
	events.want(t, "message", func(ev graphfake.Event) bool { return ev.Message.ID == wamid && ev.Message.FromBusiness })
	events.want(t, "status", func(ev graphfake.Event) bool { return ev.Message.ID == wamid && ev.Message.Status == "delivered" })
	st, out = e.post(t, "/simulator/api/send", map[string]any{"number": e.num.ID, "customer": ann,
		"message": map[string]any{"type": "list_reply", "context": wamid, "id": "o-1", "title": "Order 1", "description": "Shipped"}})
	if st != 200 {
		t.Fatalf("list reply: %d %v", st, out)
	}
	m, _ = e.biz.last(t, e.fake)
	if m["context"].(map[string]any)["id"] != wamid || m["interactive"].(map[string]any)["list_reply"].(map[string]any)["id"] != "o-1" {
		t.Errorf("list reply: %v", m)
	}

	// Reading turns the business's message read.
	if st, _ := e.post(t, "/simulator/api/read", map[string]any{"number": e.num.ID, "customer": ann}); st != 204 {
		t.Errorf("read: %d", st)
	}
	events.want(t, "status", func(ev graphfake.Event) bool { return ev.Message.ID == wamid && ev.Message.Status == "read" })

	// The chat as the page loads it.
	q := url.Values{"number": {e.num.ID}, "customer": {`{"name":"Ann Lee","phone":"+16505551234"}`}}
	resp, _ := http.Get(e.srv.URL + "/simulator/api/chat?" + q.Encode())
	var chat struct {
		Messages []graphfake.ChatMessage `json:"messages"`
	}
	json.NewDecoder(resp.Body).Decode(&chat)
	resp.Body.Close()
	if len(chat.Messages) != 4 || chat.Messages[1].Status != "delivered" || chat.Messages[2].Status != "read" {
		t.Errorf("chat: %+v", chat.Messages)
	}
}

func TestPhotoAndUsername(t *testing.T) {
	e := setup(t)
	hidden := map[string]any{"name": "Sheena", "hide_phone": true, "username": "realsheena"}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("number", e.num.ID)
	b, _ := json.Marshal(hidden)
	mw.WriteField("customer", string(b))
	mw.WriteField("caption", "the box")
	fw, _ := mw.CreateFormFile("file", "box.png")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	fw.Write(png)
	mw.Close()
	resp, err := http.Post(e.srv.URL+"/simulator/api/media", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("media: %d", resp.StatusCode)
	}
	m, c := e.biz.last(t, e.fake)
	img := m["image"].(map[string]any)
	if m["type"] != "image" || img["caption"] != "the box" || img["mime_type"] != "image/png" || m["from"] != nil || m["from_user_id"] == nil {
		t.Errorf("image: %v", m)
	}
	if c["wa_id"] != nil || c["profile"].(map[string]any)["username"] != "@realsheena" {
		t.Errorf("contact: %v", c)
	}
	resp, _ = http.Get(e.srv.URL + "/simulator/media/" + img["id"].(string))
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, png) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("media bytes: %q %s", got, resp.Header.Get("Content-Type"))
	}
}

func TestRefusals(t *testing.T) {
	e := setup(t)
	for _, c := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"no number", map[string]any{"customer": ann, "message": map[string]any{"type": "text", "text": "x"}}, "business number"},
		{"bad phone", map[string]any{"number": e.num.ID, "customer": map[string]any{"name": "A", "phone": "12"}, "message": map[string]any{"type": "text", "text": "x"}}, "international format"},
		{"no name", map[string]any{"number": e.num.ID, "customer": map[string]any{"phone": "+16505551234"}, "message": map[string]any{"type": "text", "text": "x"}}, "name"},
		{"bad username", map[string]any{"number": e.num.ID, "customer": map[string]any{"name": "A", "hide_phone": true, "username": "a b"}, "message": map[string]any{"type": "text", "text": "x"}}, "username"},
		{"empty text", map[string]any{"number": e.num.ID, "customer": ann, "message": map[string]any{"type": "text", "text": "  "}}, "Write a message"},
		{"tap on nothing", map[string]any{"number": e.num.ID, "customer": ann, "message": map[string]any{"type": "button_reply", "context": "wamid.x", "id": "a", "title": "A"}}, "not in this chat"},
	} {
		st, out := e.post(t, "/simulator/api/send", c.body)
		if st != 422 || !strings.Contains(out["error"].(string), c.want) {
			t.Errorf("%s: %d %v", c.name, st, out)
		}
	}
	// Cross-site posts are refused.
	req, _ := http.NewRequest("POST", e.srv.URL+"/simulator/api/send", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-site: %d", resp.StatusCode)
	}
}

// graph sends a message as the business and returns its wamid.
func graph(t *testing.T, e *env, body string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/v23.0/"+e.num.ID+"/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.num.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Messages []struct{ ID string } `json:"messages"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 || len(out.Messages) == 0 {
		t.Fatalf("graph send: %d", resp.StatusCode)
	}
	return out.Messages[0].ID
}

// events reads the page's event stream.
type events struct {
	ch chan sse
}

type sse struct {
	kind string
	ev   graphfake.Event
}

func (e *env) stream(t *testing.T, customer map[string]any) *events {
	b, _ := json.Marshal(customer)
	q := url.Values{"number": {e.num.ID}, "customer": {string(b)}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/simulator/api/events?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header)
	}
	out := &events{ch: make(chan sse, 100)}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var kind string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				kind = line[7:]
			case strings.HasPrefix(line, "data: "):
				var ev graphfake.Event
				json.Unmarshal([]byte(line[6:]), &ev)
				out.ch <- sse{kind, ev}
			}
		}
	}()
	return out
}

func (s *events) want(t *testing.T, kind string, match func(graphfake.Event) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-s.ch:
			if e.kind == kind && e.ev.Message != nil && match(e.ev) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s event came", kind)
		}
	}
}
