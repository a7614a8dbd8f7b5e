package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoProc runs "switchboard demo" until the test ends.
func demoProc(t *testing.T, dir, addr string, extra ...string) (*exec.Cmd, *lockedWriter, chan struct{}) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"demo", "-addr", addr, "-data-dir", dir}, extra...)...)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1")
	out := &lockedWriter{w: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Agent inbox") {
		select {
		case <-done:
			t.Fatalf("demo exited: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo not ready: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cmd, out, done
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.(*bytes.Buffer).String()
}

// TestDemo runs the demo command: a customer writes from the simulator,
// the agent sees the conversation and answers with reply buttons, the
// simulator shows them delivered, the customer taps one and the agent
// gets the tap; a restart finds the same inbox and administrator.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := filepath.Join(t.TempDir(), "data-demo")
	addr := freeAddr(t)
	base := "http://" + addr
	cmd, out, done := demoProc(t, dir, addr)
	for _, want := range []string{base + "/inbox", base + "/simulator", "admin@demo.test"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not print %s:\n%s", want, out)
		}
	}
	var sec demoSecrets
	b, err := os.ReadFile(filepath.Join(dir, demoFile))
	if err != nil || json.Unmarshal(b, &sec) != nil {
		t.Fatalf("demo.json: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, demoFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("demo.json mode %v", fi.Mode())
	}

	// The customer, through the simulator's API (what its page calls).
	customer := map[string]any{"name": "Ann Lee", "phone": "+16505551234"}
	sim := func(path string, body map[string]any) map[string]any {
		t.Helper()
		body["number"] = sec.PhoneNumberID
		body["customer"] = customer
		st, b, err := post(http.DefaultClient, base+path, "", body)
		if err != nil || st >= 300 {
			t.Fatalf("%s: %d %s %v", path, st, b, err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	open := sim("/simulator/api/open", map[string]any{})
	if open["welcome_requested"] != true {
		t.Errorf("open: %v", open)
	}
	// The ice breakers pushed through Switchboard reached the fake.
	resp, err := http.Get(base + "/simulator/api/numbers")
	if err != nil {
		t.Fatal(err)
	}
	nb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(nb), "Where is my order?") {
		t.Errorf("numbers: %s", nb)
	}
	sim("/simulator/api/send", map[string]any{"message": map[string]any{"type": "text", "text": "Where is my order?"}})

	// The agent.
	jar := &cookieJar{}
	agent := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if st, b, err := post(agent, base+"/api/v1/auth/login", "", map[string]string{"email": sec.AdminEmail, "password": sec.AdminPassword}); err != nil || st != 200 {
		t.Fatalf("login: %d %s %v", st, b, err)
	}
	getJSON := func(path string, v any) {
		t.Helper()
		resp, err := agent.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
	}
	type msg struct {
		ID        int64           `json:"id"`
		Direction string          `json:"direction"`
		Type      string          `json:"type"`
		Text      string          `json:"text"`
		Status    string          `json:"status"`
		Content   json.RawMessage `json:"content"`
	}
	var convID int64
	var seen any
	defer func() {
		if t.Failed() {
			t.Logf("conversations: %+v\n%s", seen, out)
		}
	}()
	waitFor(t, "the conversation", func() bool {
		var p struct {
			Items []struct {
				ID      int64  `json:"id"`
				Preview string `json:"last_message_preview"`
			} `json:"items"`
		}
		getJSON("/api/v1/conversations", &p)
		seen = p
		if len(p.Items) != 1 {
			return false
		}
		// The "opened the chat" event and the text travel as two webhooks,
		// in any order.
		convID = p.Items[0].ID
		var ms struct {
			Items []msg `json:"items"`
		}
		getJSON(fmt.Sprintf("/api/v1/conversations/%d/messages", convID), &ms)
		for _, m := range ms.Items {
			if m.Direction == "inbound" && m.Text == "Where is my order?" {
				return true
			}
		}
		return false
	})
	st, b2, err := post(agent, base+fmt.Sprintf("/api/v1/conversations/%d/whatsapp/messages", convID), "", map[string]any{
		"type": "interactive", "idempotency_key": "demo-1",
		"interactive": map[string]any{"type": "button", "body": "Delivery or pickup?", "buttons": []any{
			map[string]any{"id": "delivery", "title": "Delivery"}, map[string]any{"id": "pickup", "title": "Pickup"}}},
	})
	if err != nil || st != 201 {
		t.Fatalf("reply: %d %s %v", st, b2, err)
	}

	// The simulator shows the buttons delivered; the customer taps one.
	var wamid string
	waitFor(t, "the buttons on the phone", func() bool {
		q := url.Values{"number": {sec.PhoneNumberID}, "customer": {`{"name":"Ann Lee","phone":"+16505551234"}`}}
		resp, err := http.Get(base + "/simulator/api/chat?" + q.Encode())
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var chat struct {
			Messages []struct {
				ID           string `json:"id"`
				FromBusiness bool   `json:"from_business"`
				Type         string `json:"type"`
				Status       string `json:"status"`
			} `json:"messages"`
		}
		json.NewDecoder(resp.Body).Decode(&chat)
		for _, m := range chat.Messages {
			if m.FromBusiness && m.Type == "interactive" && m.Status == "delivered" {
				wamid = m.ID
				return true
			}
		}
		return false
	})
	sim("/simulator/api/send", map[string]any{"message": map[string]any{"type": "button_reply", "context": wamid, "id": "pickup", "title": "Pickup"}})
	waitFor(t, "the tap in the conversation", func() bool {
		var p struct {
			Items []msg `json:"items"`
		}
		getJSON(fmt.Sprintf("/api/v1/conversations/%d/messages", convID), &p)
		for _, m := range p.Items {
			if m.Direction == "inbound" && strings.Contains(string(m.Content), `"pickup"`) {
				return true
			}
		}
		return false
	})

	// A graceful stop, and a restart that finds what the first run made.
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the demo did not stop on SIGTERM:\n%s", out)
	}
	_, out2, _ := demoProc(t, dir, addr)
	if !strings.Contains(out2.String(), sec.AdminPassword) {
		t.Errorf("restart:\n%s", out2)
	}
	jar2 := &cookieJar{}
	agent = &http.Client{Jar: jar2, Timeout: 10 * time.Second}
	if st, b, err := post(agent, base+"/api/v1/auth/login", "", map[string]string{"email": sec.AdminEmail, "password": sec.AdminPassword}); err != nil || st != 200 {
		t.Fatalf("login after restart: %d %s %v", st, b, err)
	}
	var inboxes []struct {
		Type string `json:"type"`
	}
	getJSON("/api/v1/inboxes", &inboxes)
	if len(inboxes) != 1 || inboxes[0].Type != "whatsapp" {
		t.Errorf("inboxes after restart: %+v", inboxes)
	}
}

// TestDemoFreshRefusesOtherDirectories: -fresh deletes only a demo's
// data directory.
func TestDemoFreshRefusesOtherDirectories(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "switchboard.db"), []byte("precious"), 0o600)
	cmd := exec.Command(os.Args[0], "demo", "-fresh", "-data-dir", dir, "-addr", freeAddr(t))
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not a demo directory") {
		t.Errorf("err=%v out=%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "switchboard.db")); string(b) != "precious" {
		t.Error("the directory was touched")
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
