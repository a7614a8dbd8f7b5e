package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// readRaw reads one WebSocket frame as it came.
func readRaw(t *testing.T, ws *websocket.Conn) map[string]json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read websocket: %v", err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// readSkip reads frames until one is not of the types given.
func readSkip(t *testing.T, ws *websocket.Conn, types ...string) map[string]json.RawMessage {
	t.Helper()
	for {
		f := readRaw(t, ws)
		if !slices.Contains(types, frameType(f)) {
			return f
		}
	}
}

func frameType(f map[string]json.RawMessage) string {
	var s string
	json.Unmarshal(f["type"], &s)
	return s
}

// TestTyping: the visitor's typing reaches the agents who see the
// conversation as a signal without a sequence, the agent's typing reaches
// the visitor's stream without an event id (it is not in the log), each
// side at most once every 3 s, and nothing is stored.
func TestTyping(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		clk := newClock()
		srv := testrig.Start(t, d, testrig.Options{Options: server.Options{Clock: clk.Now}})
		agent := srv.NewUser("agent@example.com", policy.Service)
		agent.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Sam"}).Expect(http.StatusOK)
		outsider := srv.NewUser("outsider@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		elsewhere, _ := srv.NewWebchatInbox("Elsewhere", outsider.UserID)
		api, other := agent.WithToken(), outsider.WithToken()

		v := srv.NewVisitor(in.Token, nil)
		bystander := srv.NewVisitor(in.Token, nil)
		// Before the first message there is no conversation to type in.
		v.Do("POST", "/public/v1/typing", nil).Expect(http.StatusNoContent)
		v.Say("Hello")
		bystander.Say("Me too")
		var list agentList
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		var convID int64
		for _, c := range list.Items {
			var ms agentList
			agent.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", c.ID), nil).Expect(http.StatusOK).Decode(&ms)
			if ms.Items[0].Text == "Hello" {
				convID = c.ID
			}
		}
		events := countRows(t, d, "events")

		ws := dialWS(t, srv, api, -1)
		wsOther := dialWS(t, srv, other, -1)
		readUntil(t, ws, "hello")
		readUntil(t, wsOther, "hello")
		s := openStream(t, srv, v.Token, "", "")
		if e := s.next(t); e.Type != "hello" {
			t.Fatalf("stream began with %+v", e)
		}
		sb := openStream(t, srv, bystander.Token, "", "")
		sb.next(t)

		// The visitor types, twice at once: one signal, then the message.
		v.Do("POST", "/public/v1/typing", nil).Expect(http.StatusNoContent)
		v.Do("POST", "/public/v1/typing", nil).Expect(http.StatusNoContent)
		f := readRaw(t, ws)
		var typing struct {
			ConversationID int64  `json:"conversation_id"`
			From           string `json:"from"`
		}
		json.Unmarshal(f["data"], &typing)
		if _, hasSeq := f["seq"]; frameType(f) != "typing" || hasSeq || typing.ConversationID != convID || typing.From != "customer" {
			t.Fatalf("frame %s %s", f["type"], f["data"])
		}
		v.Say("Are you there?")
		if f := readSkip(t, ws, "conversation.updated"); frameType(f) != "message.created" {
			t.Fatalf("after one typing signal: %s %s", f["type"], f["data"])
		}
		// Three seconds later it may come again.
		clk.Advance(3 * time.Second)
		v.Do("POST", "/public/v1/typing", nil).Expect(http.StatusNoContent)
		if f := readSkip(t, ws, "conversation.updated"); frameType(f) != "typing" {
			t.Fatalf("after 3 s: %s", f["type"])
		}
		// The visitor's own stream does not echo it.
		if e := s.skip(t, "status"); e.Type != "message" {
			t.Fatalf("visitor's stream: %+v", e)
		}

		// The agent types: the visitor sees it, without an id, with the
		// agent's public name; once per 3 s.
		path := fmt.Sprintf("/api/v1/conversations/%d/typing", convID)
		api.Do("POST", path, nil).Expect(http.StatusNoContent)
		api.Do("POST", path, nil).Expect(http.StatusNoContent)
		e := s.skip(t, "status")
		if e.Type != "typing" || e.ID != 0 || e.Data != `{"agent":"Sam"}` {
			t.Fatalf("stream event %+v", e)
		}
		api.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", convID), map[string]string{"text": "Yes!"}).Expect(http.StatusCreated)
		if m := s.skip(t, "status").message(t); m.Text != "Yes!" {
			t.Fatalf("after one typing signal: %+v", m)
		}
		// Other visitors and agents who do not see the conversation get
		// nothing: the next thing they get is their own.
		bystander.Say("Anyone?")
		if e := sb.skip(t, "status"); e.Type != "message" || e.message(t).Text != "Anyone?" {
			t.Fatalf("bystander's stream: %+v", e)
		}
		srv.NewVisitor(elsewhere.Token, nil).Say("For the outsider")
		for {
			f := readRaw(t, wsOther)
			if frameType(f) == "typing" {
				t.Fatalf("an agent who does not see the conversation got %s", f["data"])
			}
			if frameType(f) == "message.created" {
				break
			}
		}

		// Agents who may not work the conversation cannot say they type.
		other.Do("POST", path, nil).Expect(http.StatusNotFound)
		// Nothing of it was stored.
		var typed int
		if err := d.QueryRow(t.Context(), `SELECT COUNT(*) FROM events WHERE type = 'typing'`).Scan(&typed); err != nil || typed != 0 {
			t.Fatalf("%d typing events stored (%v)", typed, err)
		}
		if n := countRows(t, d, "events"); n <= events {
			t.Fatalf("events %d, %d before", n, events)
		}
	})
}

// skip reads events until one is not of the types given.
func (s *sseStream) skip(t *testing.T, types ...string) sseEvent {
	t.Helper()
	for {
		e := s.next(t)
		if !slices.Contains(types, e.Type) {
			return e
		}
	}
}

// TestPublicClosed: the visitor learns that the agent closed the
// conversation (history and stream), and that their next message began a
// new one.
func TestPublicClosed(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", agent.UserID)
		v := srv.NewVisitor(in.Token, nil)
		v.Say("Thanks, that is all")
		var list agentList
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		convID := list.Items[0].ID
		closed := func() bool {
			var p struct {
				Closed bool `json:"closed"`
			}
			v.Do("GET", "/public/v1/messages", nil).Expect(http.StatusOK).Decode(&p)
			return p.Closed
		}
		if closed() {
			t.Fatal("closed before the agent closed it")
		}
		s := openStream(t, srv, v.Token, "", "")
		hello := s.next(t)

		// Other changes of the conversation say nothing: the next event
		// is the close.
		agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/tags", convID), map[string]string{"tag": "vip"}).Expect(http.StatusOK)
		agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID), nil).Expect(http.StatusOK)
		e := s.next(t)
		if e.Type != "status" || e.Data != `{"closed":true}` || e.ID <= hello.ID {
			t.Fatalf("after close: %+v", e)
		}
		if !closed() {
			t.Fatal("the history does not say closed")
		}
		// A stream resuming from before the close is told too.
		s2 := openStream(t, srv, v.Token, "", fmt.Sprint(hello.ID))
		for e := s2.next(t); e.Data != `{"closed":true}`; e = s2.next(t) {
		}
		s2.stop()

		// The visitor writes again: a new conversation, open.
		v.Say("One more thing")
		if e := s.next(t); e.Type != "status" || e.Data != `{"closed":false}` || e.ID != 0 {
			t.Fatalf("after writing again: %+v", e)
		}
		if m := s.next(t).message(t); m.Text != "One more thing" {
			t.Fatalf("message %+v", m)
		}
		if closed() {
			t.Fatal("the new conversation shows closed")
		}

		// Closed and reopened by the agent: both are said.
		agent.Do("GET", "/api/v1/conversations?status=open", nil).Expect(http.StatusOK).Decode(&list)
		second := list.Items[0].ID
		agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", second), nil).Expect(http.StatusOK)
		agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/reopen", second), nil).Expect(http.StatusOK)
		for _, want := range []string{`{"closed":true}`, `{"closed":false}`} {
			if e := s.next(t); e.Type != "status" || e.Data != want {
				t.Fatalf("event %+v, want status %s", e, want)
			}
		}
	})
}
