package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// The test binary doubles as the switchboard binary: with
// SWITCHBOARD_TEST_MAIN=1 it runs main, so these tests can start, kill and
// restart real server processes.
func TestMain(m *testing.M) {
	if os.Getenv("SWITCHBOARD_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	dbtest.Main(m)
}

// proc is a server process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // how it exited, once done is closed
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// command runs the binary with args and env, waiting for it.
func command(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("switchboard %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// start runs the server and waits until it answers /readyz.
func start(t *testing.T, env []string, addr string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1", "SWITCHBOARD_ADDR="+addr), env...)
	p := &proc{cmd: cmd, url: "http://" + addr, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("server exited early: %v\n%s", p.err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v\n%s", err, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func post(client *http.Client, url, token string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// setup creates an admin and a web chat inbox and returns the inbox token.
func setup(t *testing.T, env []string, p *proc) string {
	t.Helper()
	command(t, env, "long enough password\n", "user", "create", "--email", "admin@example.com", "--name", "Admin", "--role", "admin", "--password-stdin")
	jar := &cookieJar{}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if st, b, err := post(c, p.url+"/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "long enough password"}); err != nil || st != 200 {
		t.Fatalf("login: %d %s %v", st, b, err)
	}
	st, b, err := post(c, p.url+"/api/v1/inboxes", "", map[string]any{"type": "webchat", "name": "Site"})
	if err != nil || st != 201 {
		t.Fatalf("create inbox: %d %s %v", st, b, err)
	}
	var in struct {
		Token string `json:"token"`
	}
	json.Unmarshal(b, &in)
	return in.Token
}

// cookieJar keeps every cookie for one host; enough for these tests.
type cookieJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
}

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cookies = append(j.cookies, cs...)
}

func (j *cookieJar) Cookies(_ *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cookies
}

// engines runs fn against a SQLite data directory and a PostgreSQL database.
func engines(t *testing.T, fn func(t *testing.T, env []string, open func() *db.DB)) {
	// The two engines run side by side: each has its own server process,
	// address and data, and most of their time is spent waiting (pacing,
	// restarts), not computing.
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		fn(t, []string{"SWITCHBOARD_DATA_DIR=" + dir}, func() *db.DB {
			d, err := db.Open(context.Background(), "", dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		u := dbtest.PostgresURL(t)
		fn(t, []string{"SWITCHBOARD_DATA_DIR=" + t.TempDir(), "SWITCHBOARD_DATABASE_URL=" + u}, func() *db.DB {
			d, err := db.Open(context.Background(), u, "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
}

// TestKillNine sends visitor messages while the server is killed with
// SIGKILL, restarts it, retries what was not acknowledged with the same
// ids, and checks every message is stored exactly once.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	engines(t, func(t *testing.T, env []string, open func() *db.DB) {
		env = append(env, "SWITCHBOARD_PUBLIC_RATE_LIMIT=0")
		addr := freeAddr(t)
		p := start(t, env, addr)
		token := setup(t, env, p)
		client := &http.Client{Timeout: 5 * time.Second}

		// Few messages per visitor, many visitors: the per-visitor send limit
		// (burst 20) is not what this test is about.
		const visitors, perVisitor = 40, 15
		type vis struct{ token string }
		vs := make([]vis, visitors)
		for i := range vs {
			st, b, err := post(client, p.url+"/public/v1/inboxes/"+token+"/sessions", "", map[string]string{"name": fmt.Sprint("V", i)})
			if err != nil || st != 201 {
				t.Fatalf("session: %d %s %v", st, b, err)
			}
			var s struct {
				Token string `json:"token"`
			}
			json.Unmarshal(b, &s)
			vs[i].token = s.Token
		}
		var acked sync.Map // id → true
		var sent atomic.Int64
		var wg sync.WaitGroup
		killed := make(chan struct{})
		for i := range vs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range perVisitor {
					id := fmt.Sprintf("v%d-m%d", i, n)
					st, _, err := post(client, p.url+"/public/v1/messages", vs[i].token, map[string]string{"id": id, "text": "message " + id})
					if err == nil && (st == 201 || st == 200) {
						acked.Store(id, true)
					}
					if sent.Add(1) == visitors*perVisitor/3 {
						p.cmd.Process.Signal(syscall.SIGKILL)
						close(killed)
					}
					select {
					case <-killed:
						if err != nil {
							return
						}
					default:
					}
				}
			}()
		}
		wg.Wait()
		<-p.done
		var ackedBefore int
		acked.Range(func(_, _ any) bool { ackedBefore++; return true })
		if ackedBefore == 0 {
			t.Fatal("nothing was acknowledged before the kill")
		}

		// What was acknowledged survived.
		d := open()
		var stored int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM messages`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		t.Logf("killed after %d sends: %d acknowledged, %d stored", visitors*perVisitor/3, ackedBefore, stored)
		if stored < ackedBefore {
			t.Fatalf("after kill -9: %d messages stored, %d were acknowledged", stored, ackedBefore)
		}

		// Restart and send everything again with the same ids: the server
		// stores each message once.
		p = start(t, env, addr)
		for i := range vs {
			for n := range perVisitor {
				id := fmt.Sprintf("v%d-m%d", i, n)
				st, b, err := post(client, p.url+"/public/v1/messages", vs[i].token, map[string]string{"id": id, "text": "message " + id})
				if err != nil || (st != 201 && st != 200) {
					t.Fatalf("resend %s: %d %s %v", id, st, b, err)
				}
				if _, ok := acked.Load(id); ok && st != 200 {
					t.Errorf("acknowledged message %s was not found on resend (status %d)", id, st)
				}
			}
		}
		rows, err := d.Query(context.Background(), `SELECT channel_message_id, COUNT(*) FROM messages GROUP BY channel_message_id HAVING COUNT(*) > 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var n int
			rows.Scan(&id, &n)
			t.Errorf("message %s stored %d times", id, n)
		}
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM messages`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != visitors*perVisitor {
			t.Fatalf("%d messages stored, want %d", stored, visitors*perVisitor)
		}
	})
}

// TestGracefulStop sends SIGTERM to a server with an open WebSocket: the
// socket gets a close frame and the process exits 0 within 10 s.
func TestGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	env := []string{"SWITCHBOARD_DATA_DIR=" + dir}
	p := start(t, env, freeAddr(t))
	setup(t, env, p)
	jar := &cookieJar{}
	c := &http.Client{Jar: jar}
	post(c, p.url+"/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "long enough password"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	for _, ck := range jar.cookies {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	h.Set("Origin", p.url)
	ws, _, err := websocket.Dial(ctx, strings.Replace(p.url, "http", "ws", 1)+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil { // hello
		t.Fatal(err)
	}
	began := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	_, _, err = ws.Read(context.Background())
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("websocket ended with %v, want a going-away close frame", err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit: %v\n%s", p.err, p.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGTERM")
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("stopped after %v", d)
	}
}

// TestCommands covers migrate, version, bad configuration and backup.
func TestCommands(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SWITCHBOARD_DATA_DIR=" + dir}
	if out := command(t, env, "", "migrate"); !strings.Contains(out, "applied") {
		t.Errorf("migrate: %s", out)
	}
	if out := command(t, env, "", "version"); !strings.HasPrefix(out, "switchboard ") {
		t.Errorf("version: %s", out)
	}
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1", "SWITCHBOARD_LOG_FORMAT=yaml")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SWITCHBOARD_LOG_FORMAT") || strings.Count(strings.TrimSpace(string(out)), "\n") > 0 {
		t.Errorf("bad config: err=%v out=%q, want one clear line and a non-zero exit", err, out)
	}

	// A backup taken while the server runs opens and holds the data.
	p := start(t, env, freeAddr(t))
	setup(t, env, p)
	file := filepath.Join(t.TempDir(), "backup.db")
	command(t, env, "", "backup", file)
	bk, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	var n int
	if err := bk.QueryRow(`SELECT COUNT(*) FROM inboxes`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("backup has %d inboxes (%v)", n, err)
	}

	// The server refuses a database newer than itself.
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	d, err := db.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	d.Exec(context.Background(), `INSERT INTO schema_migrations (version, applied_at) VALUES (999, $1)`, db.Now())
	d.Close()
	cmd = exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1", "SWITCHBOARD_ADDR="+freeAddr(t), "SWITCHBOARD_DATA_DIR="+dir)
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "newer than this binary") {
		t.Errorf("newer schema: err=%v out=%s", err, out)
	}
}
