package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
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

	m := newMeasure(t, os.Stdout, *rate, workers, *warm, *dur, *runs)
	m.rss = true
	// The agent's WebSocket: events are matched to sends by their text.
	closeWS, err := agentEvents(ctx, t, admin.Token, func(typ string, data eventData, at time.Time) {
		if typ == "message.created" {
			m.event(data.Text, at)
		}
	})
	if err != nil {
		return err
	}
	defer closeWS()

	runID := strconv.FormatUint(rand.Uint64()%1e9, 36)
	var seq atomic.Int64
	send := func(due time.Time) {
		i := seq.Add(1)
		tok := visitors[int(i)%len(visitors)]
		text := "sbbench " + runID + " " + strconv.FormatInt(i, 10)
		m.expect(text, due)
		if _, err := t.do(ctx, "POST", "/public/v1/messages", tok, map[string]string{"id": text, "text": text}, nil); err != nil {
			m.fail(ctx, err, text)
			return
		}
		m.sent(1, due)
	}
	fmt.Printf("ingest: %s, %d visitors, %s per run, engine %s, server pid %d\n", m.mode("msg/s"), len(visitors), *dur, creds.Engine, t.pid)
	return m.run(ctx, 1, send)
}
