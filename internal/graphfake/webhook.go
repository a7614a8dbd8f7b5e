package graphfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Delivery is one webhook POST body and every attempt to deliver it.
type Delivery struct {
	ID  int64
	URL string
	// Body is exactly what was signed and sent.
	Body []byte
	// Signature is the X-Hub-Signature-256 header value.
	Signature string
	Created   time.Time
	Attempts  []DeliveryAttempt
	// Acked: the receiver answered 200. Dropped: the fake gave up (the
	// retry window passed, or the fake closed first).
	Acked   bool
	Dropped bool
}

// DeliveryAttempt is one POST of a delivery.
type DeliveryAttempt struct {
	At       time.Time
	Status   int    // HTTP status; 0 when the request failed
	Err      string // transport error or timeout
	Duration time.Duration
}

// Sign returns the X-Hub-Signature-256 value for body: "sha256=" and the
// lowercase hex HMAC-SHA256 of the raw bytes with the app secret.
func Sign(body []byte, appSecret string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func signSHA1(body []byte, appSecret string) string {
	m := hmac.New(sha1.New, []byte(appSecret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// delivery is a Delivery in the emitter's hands.
type delivery struct {
	Delivery
	secret    string
	onAck     func() // run once, after the first 200
	duplicate bool   // a redelivery the fake made on its own
}

// emitter posts webhooks with Meta's retry behaviour: every non-200
// answer, transport error or timeout is retried with backoff until the
// receiver answers 200 or the retry window closes.
type emitter struct {
	f      *Fake
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex // guards the fields below
	cond *sync.Cond // signalled when ready grows, on resume and close
	// ready are deliveries due for an attempt, oldest first.
	ready   []*delivery
	all     []*delivery
	pending int           // neither acked nor dropped
	idle    chan struct{} // closed while pending == 0
	paused  bool
	closed  bool
	nextID  int64
	workers sync.WaitGroup
}

func newEmitter(f *Fake) *emitter {
	client := f.opt.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout: f.opt.WebhookTimeout,
			// Meta does not follow redirects to deliver a webhook.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	e := &emitter{f: f, client: client, idle: make(chan struct{})}
	close(e.idle)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.cond = sync.NewCond(&e.mu)
	for range f.opt.WebhookConcurrency {
		e.workers.Add(1)
		go e.work()
	}
	return e
}

func (e *emitter) close() {
	e.mu.Lock()
	e.closed = true
	for _, d := range e.all {
		if !d.Acked && !d.Dropped {
			d.Dropped = true
		}
	}
	if e.pending > 0 {
		e.pending = 0
		close(e.idle)
	}
	e.cond.Broadcast()
	e.mu.Unlock()
	e.cancel()
	e.workers.Wait()
}

// post queues a body for the url, signed with secret (or with a wrong
// secret when badSignature).
func (e *emitter) post(url, secret string, body []byte, badSignature bool, onAck func()) *delivery {
	signWith := secret
	if badSignature {
		signWith = secret + "-wrong"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.postLocked(url, signWith, body, onAck)
}

// postLocked queues a body signed with secret. e.mu is held.
func (e *emitter) postLocked(url, signWith string, body []byte, onAck func()) *delivery {
	e.nextID++
	d := &delivery{Delivery: Delivery{ID: e.nextID, URL: url, Body: body, Signature: Sign(body, signWith), Created: e.f.now()}, secret: signWith, onAck: onAck}
	e.all = append(e.all, d)
	if e.closed {
		d.Dropped = true
		return d
	}
	if e.pending == 0 {
		e.idle = make(chan struct{})
	}
	e.pending++
	e.ready = append(e.ready, d)
	e.cond.Signal()
	return d
}

func (e *emitter) work() {
	defer e.workers.Done()
	for {
		e.mu.Lock()
		for !e.closed && (e.paused || len(e.ready) == 0) {
			e.cond.Wait()
		}
		if e.closed {
			e.mu.Unlock()
			return
		}
		d := e.ready[0]
		e.ready[0] = nil
		e.ready = e.ready[1:]
		e.mu.Unlock()
		e.attempt(d)
	}
}

func (e *emitter) attempt(d *delivery) {
	began := e.f.now()
	start := time.Now()
	status, err := e.send(d)
	dup := status == http.StatusOK && !d.duplicate && e.f.duplicate()
	a := DeliveryAttempt{At: began, Status: status, Duration: time.Since(start)}
	if err != nil {
		a.Err = err.Error()
	}
	e.mu.Lock()
	if d.Dropped { // closed meanwhile
		e.mu.Unlock()
		return
	}
	d.Attempts = append(d.Attempts, a)
	if status == http.StatusOK {
		d.Acked = true
		if dup { // queued before this one settles, so WaitWebhooks waits for it
			e.postLocked(d.URL, d.secret, d.Body, nil).duplicate = true
		}
		e.done()
		ack := d.onAck
		e.mu.Unlock()
		if ack != nil {
			ack()
		}
		return
	}
	r := e.f.opt.Retry
	n := len(d.Attempts)
	wait := r.First
	for i := 1; i < n && wait < r.Max; i++ {
		wait *= 2
	}
	wait = min(wait, r.Max)
	if (r.MaxAttempts > 0 && n >= r.MaxAttempts) || (r.GiveUp > 0 && e.f.now().Add(wait).Sub(d.Created) > r.GiveUp) {
		d.Dropped = true
		e.done()
		e.mu.Unlock()
		e.f.logger.Warn("graphfake: webhook dropped", "delivery", d.ID, "attempts", n)
		return
	}
	e.mu.Unlock()
	e.f.after(wait, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.closed && !d.Dropped {
			e.ready = append(e.ready, d)
			e.cond.Signal()
		}
	})
}

// done counts a delivery settled. e.mu is held.
func (e *emitter) done() {
	e.pending--
	if e.pending == 0 {
		close(e.idle)
	}
}

func (e *emitter) send(d *delivery) (int, error) {
	if d.URL == "" {
		return 0, fmt.Errorf("no webhook URL configured")
	}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", d.Signature)
	req.Header.Set("X-Hub-Signature", signSHA1(d.Body, d.secret))
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (e *emitter) setPaused(p bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.paused = p
	e.cond.Broadcast()
}

func (e *emitter) wait(ctx context.Context) error {
	e.mu.Lock()
	idle := e.idle
	e.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		e.mu.Lock()
		n := e.pending
		e.mu.Unlock()
		return fmt.Errorf("graphfake: %d webhook deliveries not acknowledged: %w", n, ctx.Err())
	}
}

// PauseWebhooks holds every webhook (new ones and retries) until
// ResumeWebhooks; POSTs already in flight finish.
func (f *Fake) PauseWebhooks() { f.em.setPaused(true) }

// ResumeWebhooks sends what PauseWebhooks held.
func (f *Fake) ResumeWebhooks() { f.em.setPaused(false) }

// WaitWebhooks waits until every webhook made so far is acknowledged (or
// given up), or ctx ends.
func (f *Fake) WaitWebhooks(ctx context.Context) error { return f.em.wait(ctx) }

// Pending returns how many webhooks are not acknowledged yet.
func (f *Fake) Pending() int {
	f.em.mu.Lock()
	defer f.em.mu.Unlock()
	return f.em.pending
}

// Deliveries returns every webhook the fake made, oldest first.
func (f *Fake) Deliveries() []Delivery {
	e := f.em
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Delivery, len(e.all))
	for i, d := range e.all {
		out[i] = d.Delivery
		out[i].Attempts = slices.Clone(d.Attempts)
	}
	return out
}

// Redeliver posts an earlier delivery's exact body again, as Meta does
// now and then: the receiver must not store its content twice.
func (f *Fake) Redeliver(id int64) error {
	e := f.em
	e.mu.Lock()
	var d *delivery
	for _, x := range e.all {
		if x.ID == id {
			d = x
		}
	}
	e.mu.Unlock()
	if d == nil {
		return fmt.Errorf("graphfake: no delivery %d", id)
	}
	e.post(d.URL, d.secret, d.Body, false, nil)
	return nil
}

// SetDuplicateRate makes the fake post a fraction (0..1) of the
// acknowledged webhooks a second time, as Meta now and then does.
func (f *Fake) SetDuplicateRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dupRate = rate
}

// duplicate decides whether to redeliver an acknowledged webhook.
func (f *Fake) duplicate() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dupRate > 0 && f.rng.Float64() < f.dupRate
}

// PostRaw signs and posts any body to a number's webhook, for payloads
// the builders do not make.
func (f *Fake) PostRaw(pnid string, body []byte) (int64, error) {
	f.mu.Lock()
	n, ok := f.numbers[pnid]
	if !ok {
		f.mu.Unlock()
		return 0, fmt.Errorf("graphfake: no number %s", pnid)
	}
	url, secret := f.target(n)
	f.mu.Unlock()
	return f.em.post(url, secret, body, false, nil).ID, nil
}

// target returns where a number's webhooks go and how they are signed.
// f.mu is held.
func (f *Fake) target(n *number) (string, string) {
	url, secret := n.WebhookURL, n.AppSecret
	if url == "" {
		url = f.opt.WebhookURL
	}
	if secret == "" {
		secret = f.opt.AppSecret
	}
	return url, secret
}

// wabaTarget is where an account's template webhooks go: its first
// number's target. f.mu is held.
func (f *Fake) wabaTarget(wabaID string) (string, string) {
	var first *number
	for _, n := range f.numbers {
		if n.WABAID == wabaID && (first == nil || n.ID < first.ID) {
			first = n
		}
	}
	if first == nil {
		return f.opt.WebhookURL, f.opt.AppSecret
	}
	return f.target(first)
}

// VerifyWebhook performs Meta's subscription handshake against a number's
// webhook URL: GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…,
// and checks that the answer is 200 with exactly the challenge.
func (f *Fake) VerifyWebhook(ctx context.Context, pnid string) error {
	f.mu.Lock()
	n, ok := f.numbers[pnid]
	if !ok {
		f.mu.Unlock()
		return fmt.Errorf("graphfake: no number %s", pnid)
	}
	target, _ := f.target(n)
	token := n.VerifyToken
	challenge := strconv.FormatInt(1e9+f.rng.Int64N(9e9), 10)
	f.mu.Unlock()
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.challenge", challenge)
	q.Set("hub.verify_token", token)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "facebookplatform/1.0 (+http://developers.facebook.com)")
	resp, err := f.em.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("graphfake: verification answered %d", resp.StatusCode)
	}
	if string(body) != challenge {
		return fmt.Errorf("graphfake: verification answered %q, want the challenge %q", body, challenge)
	}
	return nil
}
