package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// startNATS runs a NATS server in the test process.
func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

// TestScaleOut runs two nodes on one PostgreSQL database with events
// between them over NATS: an agent connected to one node sees, live and in
// order, what visitors write through the other, and a reply sent through
// either node is delivered once.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	url := dbtest.PostgresURL(t)
	natsURL := startNATS(t)
	openNode := func() *testrig.Server {
		d, err := db.Open(context.Background(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) { c.NATSURL = natsURL; c.SecretKey = make([]byte, 32) }})
	}
	a, b := openNode(), openNode()

	agentA := a.NewUser("agent@example.com", policy.Admin)
	in, _ := a.NewWebchatInbox("Site", agentA.UserID)
	// The same agent, signed in on node B.
	agentB := b.Anonymous()
	agentB.Do("POST", "/api/v1/auth/login", map[string]string{"email": "agent@example.com", "password": testrig.Password}).Expect(200)
	tokenB := agentB.WithToken()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(b.URL, "http", "ws", 1)+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tokenB.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var hello struct {
		Seq  int64  `json:"seq"`
		Type string `json:"type"`
	}
	_, raw, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &hello)

	// Visitors write through node A, concurrently.
	const n = 30
	done := make(chan struct{})
	say := func(node *testrig.Server, name string) {
		for v := range 3 {
			visitor := node.NewVisitor(in.Token, nil)
			for i := range n / 3 {
				visitor.Say(fmt.Sprintf("through %s: visitor %d, message %d", name, v, i))
			}
		}
	}
	go func() { defer close(done); say(a, "A") }()
	say(b, "B")
	<-done

	// Node B's socket delivers every message.created, in sequence order
	// without gaps.
	last := hello.Seq
	got := 0
	for got < 2*n {
		_, raw, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", got, err)
		}
		var f struct {
			Seq  int64  `json:"seq"`
			Type string `json:"type"`
		}
		json.Unmarshal(raw, &f)
		if f.Seq != last+1 {
			t.Fatalf("seq %d after %d: a gap or a reordering", f.Seq, last)
		}
		last = f.Seq
		if f.Type == "message.created" {
			got++
		}
	}

	// A reply through node B is sent once, by whichever node's runner
	// claims it.
	var list struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	tokenB.Do("GET", "/api/v1/conversations?limit=1", nil).Expect(200).Decode(&list)
	cid := list.Items[0].ID
	var m struct {
		ID int64 `json:"id"`
	}
	tokenB.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", cid), map[string]string{"text": "hello from B"}).Expect(201).Decode(&m)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var status string
		if err := a.App.DB.QueryRow(ctx, `SELECT status FROM messages WHERE id = $1`, m.ID).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply still %s", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The send's job row goes in its own transaction once the handler
	// has recorded "sent": wait for it, then no job may be left (none
	// failed, none claimed twice).
	deadline = time.Now().Add(10 * time.Second)
	for {
		var jobs int
		var kinds string
		rows, err := a.App.DB.Query(ctx, `SELECT kind, attempts, last_error FROM jobs`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var kind, lastErr string
			var attempts int
			rows.Scan(&kind, &attempts, &lastErr)
			jobs++
			kinds += fmt.Sprintf(" %s (attempts %d, %q)", kind, attempts, lastErr)
		}
		rows.Close()
		if jobs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs left after the send:%s", jobs, kinds)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A visitor typing through node A shows on node B's socket: a signal
	// between the nodes, not stored, without a sequence.
	typist := a.NewVisitor(in.Token, nil)
	typist.Say("a question is coming")
	typist.Do("POST", "/public/v1/typing", nil).Expect(204)
	for {
		_, raw, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the typing signal: %v", err)
		}
		var f map[string]json.RawMessage
		json.Unmarshal(raw, &f)
		if string(f["type"]) == `"typing"` {
			if _, ok := f["seq"]; ok || !strings.Contains(string(f["data"]), `"from":"customer"`) {
				t.Fatalf("typing frame %s", raw)
			}
			break
		}
	}
}
