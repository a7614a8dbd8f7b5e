package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/internal/graphfake"
)

// waBench is what the WhatsApp commands share: the server, an admin's
// token, and the Graph API fake the server was started against
// (SWITCHBOARD_WHATSAPP_GRAPH_URL=http://<graph-addr>).
type waBench struct {
	t     *target
	admin CredUser
	fake  *graphfake.Fake
	stop  func()
}

func addWhatsAppFlags(fs *flag.FlagSet) *string {
	return fs.String("graph-addr", "127.0.0.1:18090", "where the Graph API fake listens: start the server with SWITCHBOARD_WHATSAPP_GRAPH_URL=http://<this>")
}

func newWABench(t *target, credsPath, graphAddr string, opt graphfake.Options) (*waBench, error) {
	creds, err := readCreds(credsPath)
	if err != nil {
		return nil, err
	}
	admin, err := creds.firstOf("admin")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", graphAddr)
	if err != nil {
		return nil, fmt.Errorf("graph fake: %w", err)
	}
	opt.BaseURL = "http://" + graphAddr
	opt.Seed = rand.Uint64()
	fake := graphfake.New(opt)
	srv := &http.Server{Handler: fake}
	go srv.Serve(ln)
	return &waBench{t: t, admin: admin, fake: fake, stop: func() { srv.Close(); fake.Close() }}, nil
}

// number is a WhatsApp number connected to the server for the run.
type number struct {
	graphfake.Number
	inboxID int64
}

// connect adds n numbers to the fake and connects each as a WhatsApp
// inbox limited to mps messages per second.
func (b *waBench) connect(ctx context.Context, n, mps int) ([]number, error) {
	out := make([]number, n)
	for i := range out {
		num := b.fake.AddNumber(graphfake.Number{VerifiedName: "Bench " + strconv.Itoa(i), AppSecret: "bench-secret-" + strconv.Itoa(i), WebhookURL: b.t.url + "/webhooks/whatsapp"})
		var in struct {
			ID int64 `json:"id"`
		}
		_, err := b.t.do(ctx, "POST", "/api/v1/inboxes", b.admin.Token, map[string]any{"type": "whatsapp", "name": "WhatsApp bench " + num.ID,
			"whatsapp": map[string]any{"phone_number_id": num.ID, "waba_id": num.WABAID, "display_phone_number": "+" + num.Phone,
				"access_token": num.Token, "app_secret": num.AppSecret, "messages_per_second": mps}}, &in)
		if err != nil {
			return nil, err
		}
		out[i] = number{num, in.ID}
	}
	return out, nil
}

// post signs body with the number's app secret and posts it to the
// webhook endpoint.
func (b *waBench) post(ctx context.Context, n *number, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", b.t.url+"/webhooks/whatsapp", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", graphfake.Sign(body, n.AppSecret))
	resp, err := b.t.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook: %d %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// benchImage is a small PNG customers send.
var benchImage = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}()

// mixed is the mix of an inbound message: mostly text, with images
// (downloaded from the fake with the token), locations, list replies and
// reactions. It reports whether the message creates a message event
// (a reaction changes the message it reacts to instead).
func mixed(r *rand.Rand, i int64, last string, textOnly bool) (graphfake.In, bool) {
	x := r.IntN(100)
	if textOnly {
		x = 0
	}
	switch {
	case x < 70 || last == "":
		return graphfake.Text("sbbench text " + strconv.FormatInt(i, 10)), true
	case x < 80:
		return graphfake.Image(benchImage, "image/png", "photo "+strconv.FormatInt(i, 10)), true
	case x < 88:
		return graphfake.Place(40.4168, -3.7038, "Puerta del Sol", "Madrid"), true
	case x < 95:
		return graphfake.ListReply(last, "row-1", "Express", "Tomorrow"), true
	default:
		return graphfake.React(last, "👍"), false
	}
}

func webhookCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sbbench webhook", flag.ContinueOnError)
	u, pid := addTargetFlags(fs)
	graphAddr := addWhatsAppFlags(fs)
	credsPath := fs.String("creds", "bench-creds.json", "credentials file written by seed (its admin connects the numbers)")
	numbers := fs.Int("numbers", 4, "WhatsApp numbers connected for the run")
	customers := fs.Int("customers", 2000, "customers writing")
	batch := fs.Int("batch", 1, "messages per webhook POST")
	textOnly := fs.Bool("text", false, "text messages only (default: mixed types, 10% images)")
	rate := fs.Float64("rate", 0, "messages per second offered (open loop); 0 = flat out")
	conc := fs.Int("c", 32, "concurrent POSTs when flat out (workers in open-loop mode: 8x this)")
	dur := fs.Duration("duration", 10*time.Second, "measured time per run")
	warm := fs.Duration("warmup", 3*time.Second, "load before each measured run")
	runs := fs.Int("runs", 3, "measured runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *batch < 1 {
		return errors.New("-batch must be at least 1")
	}
	workers := *conc
	if *rate > 0 {
		workers = *conc * 8
	}
	t := newTarget(*u, *pid, workers)
	b, err := newWABench(t, *credsPath, *graphAddr, graphfake.Options{})
	if err != nil {
		return err
	}
	defer b.stop()
	nums, err := b.connect(ctx, *numbers, 80)
	if err != nil {
		return err
	}
	people := make([]graphfake.Customer, *customers)
	lastOf := make([]atomic.Value, *customers**numbers) // customer and number -> their last wamid
	for i := range people {
		people[i] = graphfake.Customer{Name: "Customer " + strconv.Itoa(i), Phone: "1555" + fmt.Sprintf("%07d", rand.IntN(1e7))}
	}

	m := newMeasure(t, os.Stdout, *rate, workers, *warm, *dur, *runs)
	m.wsLabel = "webhook->WS"
	// The agent's WebSocket: message events matched to sends by wamid.
	closeWS, err := agentEvents(ctx, t, b.admin.Token, func(typ string, data eventData, at time.Time) {
		if typ == "message.created" {
			m.event(data.ChannelMessageID, at)
		}
	})
	if err != nil {
		return err
	}
	defer closeWS()

	var seq atomic.Int64
	send := func(due time.Time) {
		r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		ni := r.IntN(len(nums))
		n := &nums[ni]
		bt := b.fake.Batch()
		var ids []string
		for range *batch {
			i := seq.Add(1)
			c := r.IntN(len(people))
			chat := &lastOf[c*len(nums)+ni]
			last, _ := chat.Load().(string)
			in, event := mixed(r, i, last, *textOnly)
			id, err := bt.Inbound(n.ID, people[c], in)
			if err != nil {
				m.fail(ctx, err)
				return
			}
			chat.Store(id)
			if event {
				ids = append(ids, id)
			}
		}
		body, err := bt.Body()
		if err != nil {
			m.fail(ctx, err)
			return
		}
		for _, id := range ids {
			m.expect(id, due)
		}
		if err := b.post(ctx, n, body); err != nil {
			m.fail(ctx, err, ids...)
			return
		}
		m.sent(*batch, due)
	}
	fmt.Printf("webhook: %s, batches of %d, %d numbers, %d customers, %s per run, server pid %d\n", m.mode("messages/s"), *batch, len(nums), len(people), *dur, t.pid)
	return m.run(ctx, *batch, send)
}

func outboxCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sbbench outbox", flag.ContinueOnError)
	u, pid := addTargetFlags(fs)
	graphAddr := addWhatsAppFlags(fs)
	credsPath := fs.String("creds", "bench-creds.json", "credentials file written by seed (its admin connects the numbers and sends)")
	numbers := fs.Int("numbers", 20, "WhatsApp numbers connected for the run")
	mps := fs.Int("mps", 80, "each number's configured messages per second")
	customers := fs.Int("customers", 60, "customers per number (Meta allows a burst of 45 messages per customer, then one per 6 s)")
	dur := fs.Duration("duration", 20*time.Second, "sends queued: numbers x mps x duration")
	conc := fs.Int("c", 32, "concurrent send requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t := newTarget(*u, *pid, *conc)
	// The fake enforces the rate the server was told: a send above it is
	// answered 130429 and counted as a violation.
	b, err := newWABench(t, *credsPath, *graphAddr, graphfake.Options{Throughput: float64(*mps), PairRate: graphfake.MetaPairRate})
	if err != nil {
		return err
	}
	defer b.stop()
	nums, err := b.connect(ctx, *numbers, *mps)
	if err != nil {
		return err
	}

	// Each customer writes first, which opens the 24-hour window.
	fmt.Printf("outbox: %d numbers at %d messages/s each, %d customers each\n", len(nums), *mps, *customers)
	for i := range nums {
		bt := b.fake.Batch()
		for c := range *customers {
			if _, err := bt.Inbound(nums[i].ID, graphfake.Customer{Name: "Customer " + strconv.Itoa(c), Phone: fmt.Sprintf("1555%03d%04d", i, c)}, graphfake.Text("hello")); err != nil {
				return err
			}
		}
		body, err := bt.Body()
		if err != nil {
			return err
		}
		if err := b.post(ctx, &nums[i], body); err != nil {
			return err
		}
	}
	var convs []int64
	for _, n := range nums {
		var page struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		for cursor := ""; ; cursor = page.NextCursor {
			if _, err := t.do(ctx, "GET", "/api/v1/conversations?limit=100&inbox_id="+strconv.FormatInt(n.inboxID, 10)+"&cursor="+cursor, b.admin.Token, nil, &page); err != nil {
				return err
			}
			for _, c := range page.Items {
				convs = append(convs, c.ID)
			}
			if page.NextCursor == "" {
				break
			}
		}
	}
	total := int(float64(len(nums)**mps) * dur.Seconds())
	fmt.Printf("%d conversations; queueing %d sends\n", len(convs), total)

	// Queue the sends as agents would, through the API.
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range *conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				c := convs[int(i)%len(convs)]
				_, err := t.do(ctx, "POST", "/api/v1/conversations/"+strconv.FormatInt(c, 10)+"/messages", b.admin.Token,
					map[string]any{"text": "Your order " + strconv.FormatInt(i, 10) + " is on its way."}, nil)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	queued := time.Since(start)
	fmt.Printf("queued in %s (%.0f requests/s), %d refused", queued.Round(time.Millisecond), float64(total)/queued.Seconds(), failed.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Printf(" (first: %s)", e)
	}
	fmt.Println()

	// Wait for the fake to have accepted them all.
	want := total - int(failed.Load())
	for ctx.Err() == nil {
		n := 0
		for _, a := range b.fake.Attempts() {
			if a.Code == 0 && !a.Read {
				n++
			}
		}
		if n >= want || time.Since(start) > dur.Abs()*4+time.Minute {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	report := outboxReport(b.fake.Attempts())
	report.violations = len(b.fake.Violations())
	fmt.Println(report)
	return nil
}

type outboxFigures struct {
	accepted, refused, violations int
	first, last                   time.Time
	// busiest is the most sends of one number in any one-second window.
	busiest int
	steady  float64 // messages/s across numbers, first to last
}

func (f outboxFigures) String() string {
	return fmt.Sprintf("accepted %d (refused by the fake %d, limit violations %d) in %s: %.0f messages/s across numbers; busiest second of one number: %d",
		f.accepted, f.refused, f.violations, f.last.Sub(f.first).Round(time.Millisecond), f.steady, f.busiest)
}

// outboxReport counts the sends the fake took, per number and per
// sliding second.
func outboxReport(attempts []graphfake.Attempt) outboxFigures {
	var f outboxFigures
	per := map[string][]time.Time{}
	for _, a := range attempts {
		if a.Read {
			continue
		}
		if a.Code != 0 {
			f.refused++
			continue
		}
		f.accepted++
		per[a.PhoneNumberID] = append(per[a.PhoneNumberID], a.At)
		if f.first.IsZero() || a.At.Before(f.first) {
			f.first = a.At
		}
		if a.At.After(f.last) {
			f.last = a.At
		}
	}
	for _, ts := range per {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		lo := 0
		for hi := range ts {
			for ts[hi].Sub(ts[lo]) >= time.Second {
				lo++
			}
			f.busiest = max(f.busiest, hi-lo+1)
		}
	}
	if d := f.last.Sub(f.first).Seconds(); d > 0 {
		f.steady = float64(f.accepted) / d
	}
	return f
}
