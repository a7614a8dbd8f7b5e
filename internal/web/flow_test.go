package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type conv struct {
	ID         int64    `json:"id"`
	Status     string   `json:"status"`
	AssigneeID *int64   `json:"assignee_id"`
	Tags       []string `json:"tags"`
	Unread     bool     `json:"unread"`
}

type msg struct {
	ID     int64  `json:"id"`
	Text   string `json:"text"`
	Status string `json:"status"`
	From   string `json:"from"`
}

type frame struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func dialWS(t *testing.T, srv *testrig.Server, c *testrig.Client, since int64) *websocket.Conn {
	t.Helper()
	u := strings.Replace(srv.URL, "http://", "ws://", 1) + "/api/v1/ws"
	if since >= 0 {
		u += "?since=" + strconv.FormatInt(since, 10)
	}
	h := http.Header{"Authorization": {"Bearer " + c.Token}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

func read(t *testing.T, ws *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read websocket: %v", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// readUntil reads frames until one of type typ arrives.
func readUntil(t *testing.T, ws *websocket.Conn, typ string) frame {
	t.Helper()
	for {
		if f := read(t, ws); f.Type == typ {
			return f
		}
	}
}

// TestVisitorToAgentAndBack is the first complete path: a visitor writes,
// the agent sees it live, replies, and the reply reaches the visitor.
func TestVisitorToAgentAndBack(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Website", agent.UserID)
		api := agent.WithToken()
		ws := dialWS(t, srv, api, -1)
		hello := read(t, ws)
		if hello.Type != "hello" {
			t.Fatalf("first frame %+v, want hello", hello)
		}

		v := srv.NewVisitor(in.Token, map[string]string{"name": "Ada"})
		v.Say("Hello, I need help")
		created := readUntil(t, ws, "message.created")
		if !strings.Contains(string(created.Data), "Hello, I need help") {
			t.Fatalf("event data %s", created.Data)
		}

		var list page[conv]
		api.Do("GET", "/api/v1/conversations?assignee=none&status=open", nil).Expect(200).Decode(&list)
		if len(list.Items) != 1 || !list.Items[0].Unread {
			t.Fatalf("unassigned list: %+v", list.Items)
		}
		cid := list.Items[0].ID
		path := "/api/v1/conversations/" + strconv.FormatInt(cid, 10)

		var reply msg
		api.Do("POST", path+"/messages", map[string]any{"text": "Hi Ada!", "idempotency_key": "r1"}).Expect(201).Decode(&reply)
		api.Do("POST", path+"/messages", map[string]any{"text": "Hi Ada!", "idempotency_key": "r1"}).Expect(200)

		// The outbox releases it to the visitor.
		deadline := time.Now().Add(5 * time.Second)
		for {
			var msgs page[msg]
			v.Do("GET", "/public/v1/messages", nil).Expect(200).Decode(&msgs)
			if len(msgs.Items) == 2 && msgs.Items[0].Text == "Hi Ada!" && msgs.Items[0].From == "business" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("reply never reached the visitor: %+v", msgs.Items)
			}
			time.Sleep(20 * time.Millisecond)
		}
		v.Do("POST", "/public/v1/seen", map[string]any{"up_to": reply.ID, "read": true}).Expect(204)
		var m struct {
			Status string `json:"status"`
		}
		var msgs page[json.RawMessage]
		api.Do("GET", path+"/messages", nil).Expect(200).Decode(&msgs)
		json.Unmarshal(msgs.Items[0], &m)
		if m.Status != "read" {
			t.Fatalf("reply status %s, want read", m.Status)
		}

		api.Do("POST", path+"/close", nil).Expect(200)
		api.Do("POST", path+"/close", nil).Expect(409)
		api.Do("POST", path+"/reopen", nil).Expect(200)

		// A client that reconnects with since= misses nothing.
		last := readUntil(t, ws, "message.created").Seq
		ws.CloseNow()
		v.Say("Are you still there?")
		ws2 := dialWS(t, srv, api, last)
		if f := read(t, ws2); f.Type != "hello" {
			t.Fatalf("resume: first frame %+v", f)
		}
		seen := false
		for !seen {
			f := read(t, ws2)
			if f.Seq <= last {
				t.Fatalf("replayed seq %d <= since %d", f.Seq, last)
			}
			seen = f.Type == "message.created" && strings.Contains(string(f.Data), "still there")
		}
	})
}
