package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// clock is a settable time for the server's links and tickets.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// replyWithFile has the agent answer the visitor's conversation with a
// file, and waits until the visitor sees the reply.
func replyWithFile(t *testing.T, agent *testrig.Client, v *testrig.Visitor, name string, content []byte) visitorMessage {
	t.Helper()
	var f visitorFileInfo
	uploadAs(t, agent, "/api/v1/attachments", name, content).Expect(http.StatusCreated).Decode(&f)
	var list agentList
	agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
	var sent struct {
		ID int64 `json:"id"`
	}
	agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", list.Items[0].ID),
		map[string]any{"text": "Here you are", "attachments": []int64{f.ID}}).Expect(http.StatusCreated).Decode(&sent)
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, m := range history(t, v) {
			if m.ID == sent.ID && m.Status == "sent" {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the reply never reached the visitor")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPublicAttachmentLinks: a file reaches the visitor as a link that
// works without the session token, for that one file, until it expires;
// a link changed in any way does not work.
func TestPublicAttachmentLinks(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		clk := newClock()
		srv := testrig.Start(t, d, testrig.Options{Options: server.Options{Clock: clk.Now}})
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		v := srv.NewVisitor(in.Token, nil)
		v.Say("Can I have the invoice?")
		pdf := []byte("%PDF-1.4\nthe invoice")
		m := replyWithFile(t, agent, v, "invoice.pdf", pdf)
		file := m.Attachments[0]
		link := relative(t, srv, file.URL)
		if strings.Contains(link, v.Token) || strings.Contains(link, "token") {
			t.Fatalf("link %q carries the session token", link)
		}
		// Good for an hour at least, at most ten minutes more.
		if left := file.URLExpiresAt.Sub(clk.Now()); left < time.Hour || left > time.Hour+10*time.Minute {
			t.Fatalf("link expires in %s", left)
		}

		// Anybody with the link gets the file, without the token.
		anon := srv.Anonymous()
		r := anon.Do("GET", link, nil).Expect(http.StatusOK)
		if !bytes.Equal(r.Body, pdf) || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("download: %v %q", r.Header, r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private, max-age=") {
			t.Errorf("Cache-Control %q", cc)
		} else if age, _ := strconv.Atoi(strings.TrimPrefix(cc, "private, max-age=")); age < 3600 || age > 4200 {
			t.Errorf("cached for %ds, beyond the link's life", age)
		}

		// For that file only: its signature opens no other.
		other := replyWithFile(t, agent, v, "other.pdf", []byte("%PDF-1.4\nanother file")).Attachments[0]
		u, _ := url.Parse(link)
		q := u.Query()
		for name, path := range map[string]string{
			"another file":   fmt.Sprintf("/public/v1/attachments/%d?%s", other.ID, u.RawQuery),
			"later expiry":   fmt.Sprintf("%s?expires=%d&sig=%s", u.Path, file.URLExpiresAt.Unix()+3600, q.Get("sig")),
			"changed sig":    fmt.Sprintf("%s?expires=%s&sig=%s", u.Path, q.Get("expires"), flip(q.Get("sig"))),
			"no sig":         fmt.Sprintf("%s?expires=%s&sig=", u.Path, q.Get("expires")),
			"no expiry":      fmt.Sprintf("%s?sig=%s", u.Path, q.Get("sig")),
			"another's link": fmt.Sprintf("%s?%s", u.Path, mustURL(t, other.URL).RawQuery),
		} {
			r := anon.Do("GET", path, nil)
			if r.StatusCode != http.StatusForbidden || r.Err().Message != "This link is not valid." {
				t.Errorf("%s: %d %s", name, r.StatusCode, r.Body)
			}
		}
		// Without a link and without the token: refused.
		anon.Do("GET", u.Path, nil).Expect(http.StatusUnauthorized)

		// A fresh link comes with the history, and on request.
		var fresh visitorFileInfo
		v.Do("GET", u.Path+"/link", nil).Expect(http.StatusOK).Decode(&fresh)
		if fresh.ID != file.ID || fresh.URL == "" {
			t.Fatalf("fresh link %+v", fresh)
		}
		srv.Anonymous().Do("GET", u.Path+"/link", nil).Expect(http.StatusUnauthorized)
		srv.NewVisitor(in.Token, nil).Do("GET", u.Path+"/link", nil).Expect(http.StatusNotFound)

		// Expired: refused, saying so.
		clk.Advance(time.Hour + 11*time.Minute)
		if r := anon.Do("GET", link, nil); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Err().Message, "expired") {
			t.Fatalf("expired link: %d %s", r.StatusCode, r.Body)
		}
		var h []visitorMessage
		for _, m := range history(t, v) {
			if len(m.Attachments) > 0 && m.Attachments[0].ID == file.ID {
				h = append(h, m)
			}
		}
		if len(h) != 1 || h[0].Attachments[0].URL == file.URL {
			t.Fatalf("history after expiry %+v: want a new link", h)
		}
		anon.Do("GET", relative(t, srv, h[0].Attachments[0].URL), nil).Expect(http.StatusOK)
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// flip changes the first character of s.
func flip(s string) string {
	if s == "" {
		return "A"
	}
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// TestPublicStreamTickets: the event stream opens with a ticket asked for
// with the token in a header; a ticket is only good for the stream, for a
// minute, and a changed one does not open it.
func TestPublicStreamTickets(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		clk := newClock()
		srv := testrig.Start(t, d, testrig.Options{Options: server.Options{Clock: clk.Now}})
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		v := srv.NewVisitor(in.Token, nil)
		v.Say("Hello")

		var tk struct {
			Ticket    string    `json:"ticket"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		r := v.Do("POST", "/public/v1/stream/tickets", nil).Expect(http.StatusCreated)
		r.Decode(&tk)
		if !strings.HasPrefix(tk.Ticket, "sbs_") || strings.Contains(tk.Ticket, v.Token) || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("ticket %+v, %v", tk, r.Header)
		}
		if left := tk.ExpiresAt.Sub(clk.Now()); left <= 0 || left > time.Minute {
			t.Fatalf("ticket good for %s", left)
		}
		srv.Anonymous().Do("POST", "/public/v1/stream/tickets", nil).Expect(http.StatusUnauthorized)

		s := openStreamAt(t, srv, "/public/v1/stream?ticket="+url.QueryEscape(tk.Ticket), "", "")
		hello := s.next(t)
		if hello.Type != "hello" {
			t.Fatalf("first event %+v", hello)
		}
		// Resuming with Last-Event-ID works with a ticket too.
		at := strconv.FormatInt(hello.ID, 10)
		s.stop()
		v.Say("Still there?")
		s = openStreamAt(t, srv, "/public/v1/stream?ticket="+url.QueryEscape(tk.Ticket), "", at)
		if m := s.skip(t, "status").message(t); m.Text != "Still there?" {
			t.Fatalf("resumed with %+v", m)
		}
		s.stop()

		// A ticket is not a session token.
		c := srv.Anonymous()
		c.Token = tk.Ticket
		c.Do("GET", "/public/v1/messages", nil).Expect(http.StatusUnauthorized)

		for name, ticket := range map[string]string{
			"changed":       tk.Ticket[:len(tk.Ticket)-1] + flip(tk.Ticket[len(tk.Ticket)-1:]),
			"other visitor": strings.Replace(tk.Ticket, "sbs_", "sbs_1", 1),
			"not a ticket":  "sbs_nonsense",
			"a token":       v.Token,
		} {
			r := srv.Anonymous().Do("GET", "/public/v1/stream?ticket="+url.QueryEscape(ticket), nil)
			if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s ticket: %d %s", name, r.StatusCode, r.Body)
			}
		}
		// After a minute it opens nothing.
		clk.Advance(time.Minute)
		if r := srv.Anonymous().Do("GET", "/public/v1/stream?ticket="+url.QueryEscape(tk.Ticket), nil); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Err().Message, "expired") {
			t.Fatalf("expired ticket: %d %s", r.StatusCode, r.Body)
		}
	})
}

// urlRE finds what looks like a URL or a path of the API in a body.
var urlRE = regexp.MustCompile(`(?:https?://|/public/v1/)\S*`)

// TestPublicNoTokenInURLs: every answer the widget gets over a whole
// conversation (history, sends, uploads, the stream, an agent's files and
// avatar) is searched for URLs; none carries the session token, and the
// token itself appears only in the answer that starts the session.
func TestPublicNoTokenInURLs(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		agent.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Sam"}).Expect(http.StatusOK)
		body, ctype := fileForm(t, "me.png", pngOf(t, 64, 64))
		agent.Do("PUT", "/api/v1/me/avatar", body, "Content-Type", ctype).Expect(http.StatusOK)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)

		var bodies []string
		keep := func(r *testrig.Response) *testrig.Response { bodies = append(bodies, string(r.Body)); return r }
		v := srv.NewVisitor(in.Token, map[string]string{"name": "Ada"})
		s := openStream(t, srv, v.Token, "", "")
		var up visitorFileInfo
		keep(uploadAs(t, v.Client, "/public/v1/attachments", "photo.png", pixelPNG).Expect(http.StatusCreated)).Decode(&up)
		keep(send(v, "m1", "Here is a photo", up.ID).Expect(http.StatusCreated))
		m := replyWithFile(t, agent, v, "invoice.pdf", []byte("%PDF-1.4\nthe invoice"))
		if m.Agent != "Sam" || m.AgentAvatar == "" {
			t.Fatalf("reply %+v: want the agent's name and avatar", m)
		}
		keep(v.Do("GET", "/public/v1/messages", nil).Expect(http.StatusOK))
		keep(v.Do("GET", fmt.Sprintf("/public/v1/attachments/%d/link", up.ID), nil).Expect(http.StatusOK))
		keep(v.Do("POST", "/public/v1/stream/tickets", nil).Expect(http.StatusCreated))
		keep(srv.Anonymous().Do("GET", "/public/v1/inboxes/"+in.Token, nil).Expect(http.StatusOK))
		for range 3 { // hello, the visitor's message, the reply
			bodies = append(bodies, s.next(t).Data)
		}

		var urls []string
		for _, b := range bodies {
			if strings.Contains(b, v.Token) {
				t.Errorf("the session token is in an answer: %s", b)
			}
			var doc any
			if err := json.Unmarshal([]byte(b), &doc); err != nil {
				t.Fatalf("answer %q: %v", b, err)
			}
			for _, str := range jsonStrings(doc) {
				urls = append(urls, urlRE.FindAllString(str, -1)...)
			}
		}
		if len(urls) < 5 {
			t.Fatalf("only %d URLs found: %q", len(urls), urls)
		}
		for _, u := range urls {
			if strings.Contains(u, "token") || strings.Contains(u, v.Token) || strings.Contains(u, "sbv_") {
				t.Errorf("URL %q carries the session token", u)
			}
			// Every link the widget is given works without the token.
			if strings.HasPrefix(u, srv.URL+"/public/v1/") {
				srv.Anonymous().Do("GET", relative(t, srv, u), nil).Expect(http.StatusOK)
			}
		}
	})
}

// jsonStrings are the strings of a decoded JSON document, keys included.
func jsonStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, jsonStrings(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(append(out, k), jsonStrings(e)...)
		}
		return out
	}
	return nil
}

// TestPublicAvatar: an agent who shows customers their name shows their
// picture too, through a signed link that serves that picture and nothing
// else; an agent who shows no name shows no picture.
func TestPublicAvatar(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		body, ctype := fileForm(t, "me.png", pngOf(t, 80, 80))
		agent.Do("PUT", "/api/v1/me/avatar", body, "Content-Type", ctype).Expect(http.StatusOK)
		v := srv.NewVisitor(in.Token, nil)
		v.Say("Hello")
		var list agentList
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		reply := func(text string) visitorMessage {
			t.Helper()
			var sent struct {
				ID int64 `json:"id"`
			}
			agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", list.Items[0].ID), map[string]string{"text": text}).Expect(http.StatusCreated).Decode(&sent)
			deadline := time.Now().Add(10 * time.Second)
			for {
				for _, m := range history(t, v) {
					if m.ID == sent.ID && m.Status == "sent" {
						return m
					}
				}
				if time.Now().After(deadline) {
					t.Fatal("the reply never reached the visitor")
				}
				time.Sleep(20 * time.Millisecond)
			}
		}

		// No public name: neither name nor picture.
		if m := reply("Hi"); m.Agent != "" || m.AgentAvatar != "" {
			t.Fatalf("reply of an agent without a public name: %+v", m)
		}
		agent.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Sam"}).Expect(http.StatusOK)
		m := reply("Sam here")
		if m.Agent != "Sam" || m.AgentAvatar == "" {
			t.Fatalf("reply %+v", m)
		}
		link := relative(t, srv, m.AgentAvatar)
		anon := srv.Anonymous()
		r := anon.Do("GET", link, nil).Expect(http.StatusOK)
		if r.Header.Get("Content-Type") != "image/jpeg" || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") ||
			!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") || !bytes.HasPrefix(r.Body, []byte{0xff, 0xd8}) {
			t.Fatalf("avatar: %v %d bytes", r.Header, len(r.Body))
		}
		// The link names the picture, not the agent.
		if strings.Contains(link, fmt.Sprint(agent.UserID)+"?") || strings.Contains(link, "/avatars/"+fmt.Sprint(agent.UserID)) {
			t.Errorf("link %s names the agent", link)
		}
		u := mustURL(t, link)
		for name, path := range map[string]string{
			"changed sig":     u.Path + "?sig=" + flip(u.Query().Get("sig")),
			"no sig":          u.Path,
			"another version": u.Path + "0?" + u.RawQuery,
		} {
			if r := anon.Do("GET", path, nil); r.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d %s", name, r.StatusCode, r.Body)
			}
		}
		// The agent stops showing a name: the picture goes with it.
		agent.Do("PATCH", "/api/v1/me", map[string]any{"public_name": ""}).Expect(http.StatusOK)
		anon.Do("GET", link, nil).Expect(http.StatusNotFound)
		if m := reply("Anonymous again"); m.AgentAvatar != "" {
			t.Fatalf("reply %+v", m)
		}
	})
}
