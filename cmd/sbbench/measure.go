package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// measure runs a load of inbound messages in measured runs and reports
// each run and the medians: each run offers load for a warm-up first,
// then for its duration while it records the latency of each send (its
// POST) and of the agent's message event the send causes (through the
// agent's WebSocket), and reads the server's counters before and after.
type measure struct {
	t        *target
	out      io.Writer
	rate     float64 // sends per second offered; 0 is flat out
	workers  int
	warmup   time.Duration
	duration time.Duration
	runs     int
	wsLabel  string        // what the event latency is called: "POST->WS"
	rss      bool          // report the server's memory
	settle   time.Duration // pause between the warm-up and the run
	lastWait time.Duration // how long the last events of a run are awaited

	pending   sync.Map // key of an awaited event -> when its send was due
	recording atomic.Bool
	posted    atomic.Int64 // messages of the sends recorded
	failed    atomic.Int64

	mu       sync.Mutex // guards postLat, wsLat and firstErr
	postLat  durations
	wsLat    durations
	firstErr string // of the run
}

// newMeasure returns a runner of measured runs against t; rate, workers,
// warmup, duration and runs are the command's flags.
func newMeasure(t *target, out io.Writer, rate float64, workers int, warmup, duration time.Duration, runs int) *measure {
	return &measure{t: t, out: out, rate: rate, workers: workers, warmup: warmup, duration: duration, runs: runs,
		wsLabel: "POST->WS", settle: 200 * time.Millisecond, lastWait: 2 * time.Second}
}

// mode describes the offered load.
func (m *measure) mode(unit string) string {
	if m.rate > 0 {
		return fmt.Sprintf("open loop at %.0f %s", m.rate, unit)
	}
	return fmt.Sprintf("flat out, %d concurrent", m.workers)
}

// expect notes that a message event with key is awaited for a send that
// was due at due. Call it before the send.
func (m *measure) expect(key string, due time.Time) { m.pending.Store(key, due) }

// event is called with the key of each message event the agent receives.
func (m *measure) event(key string, at time.Time) {
	if v, ok := m.pending.LoadAndDelete(key); ok && m.recording.Load() {
		m.mu.Lock()
		m.wsLat = append(m.wsLat, at.Sub(v.(time.Time)))
		m.mu.Unlock()
	}
}

// sent records a send of n messages that was due at due.
func (m *measure) sent(n int, due time.Time) {
	d := time.Since(due)
	if m.recording.Load() {
		m.posted.Add(int64(n))
		m.mu.Lock()
		m.postLat = append(m.postLat, d)
		m.mu.Unlock()
	}
}

// fail records a failed send; its awaited events (keys) no longer come.
// A send cut short by the end of ctx is not a failure.
func (m *measure) fail(ctx context.Context, err error, keys ...string) {
	for _, k := range keys {
		m.pending.Delete(k)
	}
	if ctx.Err() != nil {
		return
	}
	m.failed.Add(1)
	m.mu.Lock()
	if m.firstErr == "" {
		m.firstErr = err.Error()
	}
	m.mu.Unlock()
}

// figures are one run's results.
type figures struct {
	rate, p50, p99, ws50, ws99, statements, rssMB float64
}

// run offers the load of send, called with the time each send is due,
// for each run, and prints each run and the medians. A send carries
// perSend messages: open loop, rate/perSend sends a second are offered.
func (m *measure) run(ctx context.Context, perSend int, send func(due time.Time)) error {
	offered := m.rate / float64(perSend)
	var all []figures
	for n := 1; n <= m.runs && ctx.Err() == nil; n++ {
		offer(ctx, offered, m.workers, m.warmup, send)
		time.Sleep(m.settle)
		m0, err := m.t.scrape(ctx)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.postLat, m.wsLat, m.firstErr = m.postLat[:0], m.wsLat[:0], ""
		m.mu.Unlock()
		m.posted.Store(0)
		m.failed.Store(0)
		m.recording.Store(true)
		start := time.Now()
		offer(ctx, offered, m.workers, m.duration, send)
		elapsed := time.Since(start)
		awaitPending(&m.pending, m.lastWait)
		m.recording.Store(false)
		m1, err := m.t.scrape(ctx)
		if err != nil {
			return err
		}
		lost := countPending(&m.pending)
		m.pending.Clear()
		all = append(all, m.report(n, elapsed, m0, m1, lost))
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	pick := func(f func(figures) float64) float64 {
		xs := make([]float64, len(all))
		for i, x := range all {
			xs[i] = f(x)
		}
		return median(xs)
	}
	fmt.Fprintf(m.out, "median of %d: %.0f msg/s  POST p50 %.2fms p99 %.2fms  %s p50 %.2fms p99 %.2fms  %.2f statements/msg",
		len(all), pick(func(x figures) float64 { return x.rate }), pick(func(x figures) float64 { return x.p50 }),
		pick(func(x figures) float64 { return x.p99 }), m.wsLabel, pick(func(x figures) float64 { return x.ws50 }),
		pick(func(x figures) float64 { return x.ws99 }), pick(func(x figures) float64 { return x.statements }))
	if m.rss {
		fmt.Fprintf(m.out, "  RSS %.1f MB", pick(func(x figures) float64 { return x.rssMB }))
	}
	fmt.Fprintln(m.out)
	return nil
}

// report prints run n, measured for elapsed between the scrapes m0 and
// m1 with lost events that never came, and returns its figures.
func (m *measure) report(n int, elapsed time.Duration, m0, m1 metrics, lost int) figures {
	ingested := m1.sum("switchboard_messages_ingested_total") - m0.sum("switchboard_messages_ingested_total")
	st := m1.sum("switchboard_db_statements_total") - m0.sum("switchboard_db_statements_total")
	m.mu.Lock()
	pl, wl, firstErr := m.postLat, m.wsLat, m.firstErr
	m.mu.Unlock()
	f := figures{
		rate: float64(m.posted.Load()) / elapsed.Seconds(),
		p50:  float64(pl.pct(50)) / 1e6, p99: float64(pl.pct(99)) / 1e6,
		ws50: float64(wl.pct(50)) / 1e6, ws99: float64(wl.pct(99)) / 1e6,
		statements: st / max(ingested, 1),
	}
	fmt.Fprintf(m.out, "run %d: %.0f msg/s (server counted %.0f)  POST p50 %s p99 %s  %s p50 %s p99 %s (%d events, %d missing)  %.2f statements/msg",
		n, f.rate, ingested/elapsed.Seconds(), ms(pl.pct(50)), ms(pl.pct(99)), m.wsLabel, ms(wl.pct(50)), ms(wl.pct(99)), len(wl), lost, f.statements)
	if m.rss {
		rss, hwm, err := m.t.rssKB()
		if err != nil {
			rss = int64(m1.sum("process_resident_memory_bytes") / 1024)
		}
		f.rssMB = float64(rss) / 1024
		fmt.Fprintf(m.out, "  RSS %.1f MB (peak %.1f)", f.rssMB, float64(hwm)/1024)
	}
	fmt.Fprintf(m.out, "  errors %d", m.failed.Load())
	if firstErr != "" {
		fmt.Fprintf(m.out, " (first: %s)", firstErr)
	}
	fmt.Fprintln(m.out)
	return f
}

// awaitPending lets the last events arrive: it returns when m is empty or
// after d.
func awaitPending(m *sync.Map, d time.Duration) {
	for end := time.Now().Add(d); countPending(m) > 0 && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
}

func countPending(m *sync.Map) int {
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}
