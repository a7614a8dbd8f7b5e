package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func ingest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sbbench ingest", flag.ContinueOnError)
	u, pid := addTargetFlags(fs)
	credsPath := fs.String("creds", "bench-creds.json", "credentials file written by seed")
	nVisitors := fs.Int("visitors", 1000, "web chat visitors (the server limits each to 5 messages/s)")
	rate := fs.Float64("rate", 0, "messages per second offered (open loop); 0 = flat out")
	conc := fs.Int("c", 64, "concurrent requests when flat out (workers in open-loop mode: 8x this)")
	dur := fs.Duration("duration", 15*time.Second, "measured time per run")
	warm := fs.Duration("warmup", 3*time.Second, "load before each measured run")
	runs := fs.Int("runs", 3, "measured runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds, err := readCreds(*credsPath)
	if err != nil {
		return err
	}
	admin, err := creds.firstOf("admin")
	if err != nil {
		return err
	}
	workers := *conc
	if *rate > 0 {
		workers = *conc * 8
	}
	t := newTarget(*u, *pid, workers)

	// Visitors: sessions started through the public API, spread over inboxes.
	visitors := make([]string, *nVisitors)
	var next atomic.Int64
	var wg sync.WaitGroup
	var startErr error
	var errOnce sync.Once
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(visitors) {
					return
				}
				in := creds.Inboxes[i%len(creds.Inboxes)]
				var out struct {
					Token string `json:"token"`
				}
				if _, err := t.do(ctx, "POST", "/public/v1/inboxes/"+in.Token+"/sessions", "", map[string]string{"name": "Visitor " + strconv.Itoa(i)}, &out); err != nil {
					errOnce.Do(func() { startErr = err })
					return
				}
				visitors[i] = out.Token
			}
		}()
	}
	wg.Wait()
	if startErr != nil {
		return fmt.Errorf("start visitor sessions (is SWITCHBOARD_PUBLIC_RATE_LIMIT=0 set on the server?): %w", startErr)
	}

	// The agent's WebSocket: events are matched to sends by their text.
	var pending sync.Map // text -> time the send was due
	var recMu sync.Mutex
	var wsLat durations
	var recording atomic.Bool
	closeWS, err := agentEvents(ctx, t, admin.Token, func(typ string, data eventData, at time.Time) {
		if typ != "message.created" {
			return
		}
		if v, ok := pending.LoadAndDelete(data.Text); ok && recording.Load() {
			recMu.Lock()
			wsLat = append(wsLat, at.Sub(v.(time.Time)))
			recMu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	defer closeWS()

	runID := strconv.FormatUint(rand.Uint64()%1e9, 36)
	var seq atomic.Int64
	var postLat durations
	var posted, failed atomic.Int64
	var firstErr atomic.Value
	send := func(due time.Time) {
		i := seq.Add(1)
		tok := visitors[int(i)%len(visitors)]
		text := "sbbench " + runID + " " + strconv.FormatInt(i, 10)
		pending.Store(text, due)
		_, err := t.do(ctx, "POST", "/public/v1/messages", tok, map[string]string{"id": text, "text": text}, nil)
		d := time.Since(due)
		if err != nil {
			pending.Delete(text)
			if ctx.Err() == nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
			return
		}
		if recording.Load() {
			posted.Add(1)
			recMu.Lock()
			postLat = append(postLat, d)
			recMu.Unlock()
		}
	}
	load := func(d time.Duration) { offer(ctx, *rate, workers, d, send) }

	mode := "flat out, " + strconv.Itoa(workers) + " concurrent"
	if *rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f/s", *rate)
	}
	fmt.Printf("ingest: %s, %d visitors, %s per run, engine %s, server pid %d\n", mode, len(visitors), *dur, creds.Engine, t.pid)
	var mps, p50s, p99s, ws99s, ws50s, stmts, rsss []float64
	for run := 1; run <= *runs && ctx.Err() == nil; run++ {
		load(*warm)
		time.Sleep(200 * time.Millisecond)
		m0, err := t.scrape(ctx)
		if err != nil {
			return err
		}
		recMu.Lock()
		postLat, wsLat = postLat[:0], wsLat[:0]
		recMu.Unlock()
		posted.Store(0)
		failed.Store(0)
		recording.Store(true)
		start := time.Now()
		load(*dur)
		elapsed := time.Since(start)
		// Let the last events arrive.
		awaitPending(&pending, 2*time.Second)
		recording.Store(false)
		m1, err := t.scrape(ctx)
		if err != nil {
			return err
		}
		lost := countPending(&pending)
		pending.Clear()
		ingested := m1.sum("switchboard_messages_ingested_total") - m0.sum("switchboard_messages_ingested_total")
		st := m1.sum("switchboard_db_statements_total") - m0.sum("switchboard_db_statements_total")
		rss, hwm, rerr := t.rssKB()
		if rerr != nil {
			rss = int64(m1.sum("process_resident_memory_bytes") / 1024)
		}
		recMu.Lock()
		pl, wl := postLat, wsLat
		recMu.Unlock()
		rate := float64(posted.Load()) / elapsed.Seconds()
		fmt.Printf("run %d: %.0f msg/s (server counted %.0f)  POST p50 %s p99 %s  POST->WS p50 %s p99 %s (%d events, %d missing)  %.2f statements/msg  RSS %.1f MB (peak %.1f)  errors %d",
			run, rate, ingested/elapsed.Seconds(), ms(pl.pct(50)), ms(pl.pct(99)), ms(wl.pct(50)), ms(wl.pct(99)), len(wl), lost,
			st/ingested, float64(rss)/1024, float64(hwm)/1024, failed.Load())
		if e := firstErr.Swap(""); e != nil && e != "" {
			fmt.Printf(" (first: %s)", e)
		}
		fmt.Println()
		mps, p50s, p99s = append(mps, rate), append(p50s, float64(pl.pct(50))/1e6), append(p99s, float64(pl.pct(99))/1e6)
		ws50s, ws99s = append(ws50s, float64(wl.pct(50))/1e6), append(ws99s, float64(wl.pct(99))/1e6)
		stmts, rsss = append(stmts, st/ingested), append(rsss, float64(rss)/1024)
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	fmt.Printf("median of %d: %.0f msg/s  POST p50 %.2fms p99 %.2fms  POST->WS p50 %.2fms p99 %.2fms  %.2f statements/msg  RSS %.1f MB\n",
		len(mps), median(mps), median(p50s), median(p99s), median(ws50s), median(ws99s), median(stmts), median(rsss))
	return nil
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
