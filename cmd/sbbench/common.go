package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

const usage = `usage: sbbench <command> [flags]

commands:
  seed     seed a database (-db, -data-dir, -conversations, -messages, -out)
  ingest   visitors POST messages; agent WebSocket latency (-url, -creds, -rate, -duration)
  list     inbox list latency per view and role (-url, -creds, -n)
  api      token-authenticated requests per second (-url, -creds, -path, -c)
  ws       idle agent WebSockets and server memory per connection (-url, -creds, -n)
  rss      print the server's resident memory (-url or -pid)
  webhook  signed WhatsApp webhooks, mixed types (-creds, -batch, -rate, -graph-addr)
  outbox   WhatsApp sends across numbers against the Graph fake (-creds, -numbers, -mps)

"sbbench <command> -h" lists a command's flags.
`

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "seed":
		return seed(ctx, args)
	case "ingest":
		return ingest(ctx, args)
	case "list":
		return list(ctx, args)
	case "api":
		return api(ctx, args)
	case "ws":
		return wsIdle(ctx, args)
	case "rss":
		return rssCmd(ctx, args)
	case "webhook":
		return webhookCmd(ctx, args)
	case "outbox":
		return outboxCmd(ctx, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// Creds is the file seed writes and the other commands read.
type Creds struct {
	Engine        string      `json:"engine"`
	Conversations int         `json:"conversations"`
	Messages      int         `json:"messages"`
	Password      string      `json:"password"`
	Users         []CredUser  `json:"users"`
	Inboxes       []CredInbox `json:"inboxes"`
}

// CredUser is a seeded user with an API token.
type CredUser struct {
	ID      int64   `json:"id"`
	Email   string  `json:"email"`
	Role    string  `json:"role"`
	Token   string  `json:"token"`
	Inboxes []int64 `json:"inboxes"`
}

// CredInbox is a seeded web chat inbox.
type CredInbox struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

func readCreds(path string) (*Creds, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Creds
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// firstOf returns the first seeded user of a role.
func (c *Creds) firstOf(role string) (CredUser, error) {
	for _, u := range c.Users {
		if u.Role == role {
			return u, nil
		}
	}
	return CredUser{}, fmt.Errorf("no %s user in the credentials file", role)
}

// target is the server under test.
type target struct {
	url  string
	pid  int
	http *http.Client
}

func addTargetFlags(fs *flag.FlagSet) (*string, *int) {
	u := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	pid := fs.Int("pid", 0, "server process id for RSS (default: the process listening on the URL's port)")
	return u, pid
}

func newTarget(u string, pid, conns int) *target {
	tr := &http.Transport{
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	t := &target{url: strings.TrimSuffix(u, "/"), pid: pid, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	if t.pid == 0 {
		if _, port, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(t.url, "http://"), "https://")); err == nil {
			t.pid, _ = pidListeningOn(port)
		}
	}
	return t
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
func (t *target) do(ctx context.Context, method, path, token string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.url+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

// metrics is one scrape of /metrics: series (name plus labels) to value.
type metrics map[string]float64

func (t *target) scrape(ctx context.Context) (metrics, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", t.url+"/metrics", nil)
	resp, err := t.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds every series of a metric whose labels contain all of match.
func (m metrics) sum(name string, match ...string) float64 {
	var s float64
	for k, v := range m {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, want := range match {
			if !strings.Contains(k, want) {
				ok = false
				break
			}
		}
		if ok {
			s += v
		}
	}
	return s
}

// histQuantile estimates quantile q of the requests between two scrapes
// of a histogram, interpolating linearly inside a bucket the way
// Prometheus's histogram_quantile does.
func histQuantile(before, after metrics, name string, q float64, match ...string) float64 {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for k, v := range after {
		if !strings.HasPrefix(k, name+"_bucket{") {
			continue
		}
		ok := true
		for _, want := range match {
			if !strings.Contains(k, want) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		i := strings.Index(k, `le="`)
		if i < 0 {
			continue
		}
		les := k[i+4:]
		les = les[:strings.IndexByte(les, '"')]
		le, err := strconv.ParseFloat(les, 64)
		if err != nil {
			continue
		}
		bs = append(bs, bucket{le, v - before[k]})
	}
	if len(bs) == 0 {
		return math.NaN()
	}
	// Several label sets (codes) may share a bucket bound: merge them.
	slices.SortFunc(bs, func(a, b bucket) int { return cmpFloat(a.le, b.le) })
	merged := bs[:0]
	for _, b := range bs {
		if n := len(merged); n > 0 && merged[n-1].le == b.le {
			merged[n-1].n += b.n
			continue
		}
		merged = append(merged, b)
	}
	total := merged[len(merged)-1].n
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	prevLE, prevN := 0.0, 0.0
	for _, b := range merged {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				return prevLE
			}
			if b.n == prevN {
				return b.le
			}
			return prevLE + (b.le-prevLE)*(rank-prevN)/(b.n-prevN)
		}
		prevLE, prevN = b.le, b.n
	}
	return prevLE
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rssKB reads the server's resident set size (VmRSS) and peak (VmHWM).
func (t *target) rssKB() (rss, hwm int64, err error) {
	if t.pid == 0 {
		return 0, 0, errors.New("no server pid: pass -pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", t.pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		case "VmHWM:":
			hwm, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return rss, hwm, nil
}

// pidListeningOn finds the process with a listening TCP socket on port.
func pidListeningOn(port string) (int, error) {
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0, err
	}
	want := fmt.Sprintf(":%04X", p)
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" || !strings.HasSuffix(fs[1], want) {
				continue
			}
			inodes["socket:["+fs[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %s", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, proc := range procs {
		fds, _ := os.ReadDir(proc + "/fd")
		for _, fd := range fds {
			if l, err := os.Readlink(proc + "/fd/" + fd.Name()); err == nil && inodes[l] {
				return strconv.Atoi(filepath.Base(proc))
			}
		}
	}
	return 0, fmt.Errorf("no process found for the socket on port %s", port)
}

func rssCmd(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("sbbench rss", flag.ContinueOnError)
	u, pid := addTargetFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	t := newTarget(*u, *pid, 1)
	rss, hwm, err := t.rssKB()
	if err != nil {
		return err
	}
	fmt.Printf("pid %d  VmRSS %.1f MB  VmHWM %.1f MB\n", t.pid, float64(rss)/1024, float64(hwm)/1024)
	return nil
}

// durations is a sample of latencies.
type durations []time.Duration

func (d durations) pct(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// offer calls send for d: flat out from workers goroutines when rate is
// 0, else open loop at rate per second (send gets the time each call was
// due, so latency counts the time spent waiting for a worker).
func offer(ctx context.Context, rate float64, workers int, d time.Duration, send func(due time.Time)) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	if rate <= 0 {
		for range workers {
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(deadline) {
					send(time.Now())
				}
			})
		}
		wg.Wait()
		return
	}
	jobs := make(chan time.Time, 1<<16)
	for range workers {
		wg.Go(func() {
			for due := range jobs {
				send(due)
			}
		})
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.After(deadline) {
			break
		}
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		jobs <- due
	}
	close(jobs)
	wg.Wait()
}

// eventData is what the commands read of a WebSocket event's data.
type eventData struct {
	Text             string `json:"text"`
	ChannelMessageID string `json:"channel_message_id"`
}

// agentEvents opens an agent's WebSocket and calls on with each event and
// the time it arrived, until the returned function closes it.
func agentEvents(ctx context.Context, t *target, token string, on func(typ string, data eventData, at time.Time)) (func(), error) {
	wsURL := "ws" + strings.TrimPrefix(t.url, "http") + "/api/v1/ws"
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		return nil, fmt.Errorf("agent websocket: %w", err)
	}
	conn.SetReadLimit(1 << 20)
	var closing atomic.Bool
	go func() {
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				if ctx.Err() == nil && !closing.Load() {
					fmt.Println("agent websocket closed:", err)
				}
				return
			}
			now := time.Now()
			var f struct {
				Type string    `json:"type"`
				Data eventData `json:"data"`
			}
			if json.Unmarshal(b, &f) == nil {
				on(f.Type, f.Data, now)
			}
		}
	}()
	return func() { closing.Store(true); conn.CloseNow() }, nil
}
