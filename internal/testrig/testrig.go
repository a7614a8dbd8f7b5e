// Package testrig runs a whole Switchboard node for tests (on SQLite or
// PostgreSQL, over real HTTP on loopback) and gives them clients: agents
// signed in with a session cookie or an API token, and web chat visitors.
package testrig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Password is every test user's password.
const Password = "correct horse battery"

// Server is a running node.
type Server struct {
	URL string
	// MetricsURL is the base URL of the metrics listener, when the
	// configuration has one (config.Config.MetricsAddr; "127.0.0.1:0"
	// picks a free port).
	MetricsURL string
	App        *server.App
	t          testing.TB
	stop       func()
	log        *testWriter
}

// Errors returns the lines the node has logged at level ERROR so far:
// a request refused for bad input must not add one.
func (s *Server) Errors() []string {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return slices.Clone(s.log.errors)
}

// Stop shuts the node down gracefully now (it is stopped at the end of
// the test otherwise): for tests of what survives a restart.
func (s *Server) Stop() { s.stop() }

// Options tune Start.
type Options struct {
	server.Options
	// Config changes the configuration before the node is assembled.
	Config func(*config.Config)
}

// Start runs a node on d (already migrated) until the test ends.
func Start(t testing.TB, d *db.DB, opts ...Options) *Server {
	t.Helper()
	var opt Options
	if len(opts) > 0 {
		opt = opts[0]
	}
	if opt.PublicRate == 0 {
		opt.PublicRate = -1 // tests send faster than a visitor would
	}
	if opt.JobPoll == 0 {
		opt.JobPoll = 50 * time.Millisecond
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("http://" + ln.Addr().String())
	// Tests never reach Meta: WhatsApp's Graph API is a closed local port
	// unless a test points it at its fake.
	noGraph, _ := url.Parse("http://127.0.0.1:1")
	cfg := config.Config{Addr: ln.Addr().String(), DataDir: t.TempDir(), BaseURL: base, LogFormat: "text", ShutdownTimeout: 5 * time.Second,
		WhatsAppGraphURL: noGraph, WhatsAppAPIVersion: "v23.0"}
	if opt.Config != nil {
		opt.Config(&cfg)
	}
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := server.Assemble(cfg, d, logger, opt.Options)
	if err != nil {
		t.Fatal(err)
	}
	ls := server.Listeners{HTTP: ln}
	metricsURL := ""
	if cfg.MetricsAddr != "" {
		if ls.Metrics, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			t.Fatal(err)
		}
		metricsURL = "http://" + ls.Metrics.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, ls) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("server stopped with %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("server did not stop within 15s")
			}
			app.Close()
		})
	}
	t.Cleanup(stop)
	return &Server{URL: base.String(), MetricsURL: metricsURL, App: app, t: t, stop: stop, log: w}
}

// testWriter sends the node's warnings and errors to the test log until
// the test ends, and keeps the errors.
type testWriter struct {
	t      testing.TB
	mu     sync.Mutex // guards done and errors
	done   bool
	errors []string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte("level=ERROR")) {
		w.errors = append(w.errors, strings.TrimRight(string(p), "\n"))
	}
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// Client calls the API as one user (or anonymously).
type Client struct {
	Base   string
	HTTP   *http.Client
	Token  string // bearer token, when not using the cookie
	UserID int64
	t      testing.TB
}

// Anonymous returns a client with an empty cookie jar.
func (s *Server) Anonymous() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{Base: s.URL, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second}, t: s.t}
}

// NewUser creates a user with role and memberships and returns a client
// signed in as them with a session cookie.
func (s *Server) NewUser(email string, role policy.Role, inboxIDs ...int64) *Client {
	s.t.Helper()
	u, err := s.App.Users.Create(context.Background(), user.NewUser{Email: email, Name: nameOf(email), Role: role, Password: Password, InboxIDs: inboxIDs})
	if err != nil {
		s.t.Fatalf("create user %s: %v", email, err)
	}
	c := s.Anonymous()
	c.UserID = u.ID
	c.Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": Password}).Expect(http.StatusOK)
	return c
}

func nameOf(email string) string {
	n, _, _ := strings.Cut(email, "@")
	return strings.ToUpper(n[:1]) + n[1:]
}

// WithToken returns a client of the same user that authenticates with a
// new personal API token instead of the cookie.
func (c *Client) WithToken() *Client {
	c.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	c.Do("POST", "/api/v1/tokens", map[string]string{"name": "test"}).Expect(http.StatusCreated).Decode(&out)
	return &Client{Base: c.Base, HTTP: &http.Client{Timeout: 30 * time.Second}, Token: out.Token, UserID: c.UserID, t: c.t}
}

// NewWebchatInbox creates a web chat inbox with members and returns it
// with its identity secret.
func (s *Server) NewWebchatInbox(name string, members ...int64) (inbox.Inbox, string) {
	s.t.Helper()
	in, secret, err := s.App.Inboxes.Create(context.Background(), inbox.NewInbox{Type: webchat.Type, Name: name, MemberIDs: members})
	if err != nil {
		s.t.Fatalf("create inbox: %v", err)
	}
	return in, secret
}

// Response is an answer with its body read.
type Response struct {
	*http.Response
	Body []byte
	t    testing.TB
	req  string
}

// Do sends a request; body is JSON-encoded unless it is a []byte or an
// io.Reader (sent as is).
func (c *Client) Do(method, path string, body any, headers ...string) *Response {
	c.t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		r, ctype = bytes.NewReader(b), "application/json"
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.Base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &Response{Response: resp, Body: data, t: c.t, req: method + " " + path}
}

// Expect fails the test unless the status is want.
func (r *Response) Expect(want int) *Response {
	r.t.Helper()
	if r.StatusCode != want {
		r.t.Fatalf("%s: status %d, want %d; body: %s", r.req, r.StatusCode, want, r.Body)
	}
	return r
}

// Decode unmarshals the body into v.
func (r *Response) Decode(v any) *Response {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("%s: decode %s: %v", r.req, r.Body, err)
	}
	return r
}

// Error is the API's error body.
type Error struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

// Err decodes the error body.
func (r *Response) Err() Error {
	r.t.Helper()
	var e struct {
		Error Error `json:"error"`
	}
	r.Decode(&e)
	return e.Error
}

// Visitor is a web chat visitor using the public API.
type Visitor struct {
	*Client
	n int
}

// NewVisitor starts a visitor session on a web chat inbox.
func (s *Server) NewVisitor(inboxToken string, start any) *Visitor {
	s.t.Helper()
	c := s.Anonymous()
	if start == nil {
		start = map[string]string{}
	}
	var out struct {
		Token string `json:"token"`
	}
	c.Do("POST", "/public/v1/inboxes/"+inboxToken+"/sessions", start).Expect(http.StatusCreated).Decode(&out)
	c.Token = out.Token
	return &Visitor{Client: c}
}

// Say sends a message with a fresh id and returns the stored message id.
func (v *Visitor) Say(text string) int64 {
	v.t.Helper()
	v.n++
	var m struct {
		ID int64 `json:"id"`
	}
	v.Do("POST", "/public/v1/messages", map[string]any{"id": fmt.Sprintf("m-%d-%d", time.Now().UnixNano(), v.n), "text": text}).Expect(http.StatusCreated).Decode(&m)
	return m.ID
}
