package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

func wsIdle(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sbbench ws", flag.ContinueOnError)
	u, pid := addTargetFlags(fs)
	credsPath := fs.String("creds", "bench-creds.json", "credentials file written by seed")
	n := fs.Int("n", 10_000, "WebSockets to open (raise ulimit -n for both processes)")
	conc := fs.Int("c", 50, "connections opened at once")
	settle := fs.Duration("settle", 10*time.Second, "wait after the last connection before measuring")
	role := fs.String("role", "service", "whose token to use")
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds, err := readCreds(*credsPath)
	if err != nil {
		return err
	}
	usr, err := creds.firstOf(*role)
	if err != nil {
		return err
	}
	t := newTarget(*u, *pid, 1)
	m0, err := t.scrape(ctx)
	if err != nil {
		return err
	}
	rss0, _, err := t.rssKB()
	if err != nil {
		return err
	}
	fmt.Printf("ws: %d idle WebSockets as %s; server pid %d, RSS before %.1f MB, goroutines %.0f\n", *n, *role, t.pid, float64(rss0)/1024, m0.sum("go_goroutines"))
	wsURL := "ws" + strings.TrimPrefix(t.url, "http") + "/api/v1/ws"
	hdr := http.Header{"Authorization": {"Bearer " + usr.Token}}
	conns := make([]*websocket.Conn, *n)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(conns) || ctx.Err() != nil {
					return
				}
				dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				c, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: hdr})
				if err == nil {
					_, _, err = c.Read(dctx) // the hello frame
				}
				cancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				// Answer the server's pings; nothing else arrives.
				c.CloseRead(ctx)
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	opened := int64(*n) - failed.Load()
	fmt.Printf("opened %d in %s (%d failed", opened, time.Since(start).Round(time.Millisecond), failed.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Printf(": %s", e)
	}
	fmt.Println(")")
	time.Sleep(*settle)
	m1, err := t.scrape(ctx)
	if err != nil {
		return err
	}
	rss1, hwm, err := t.rssKB()
	if err != nil {
		return err
	}
	heap0, heap1 := m0.sum("go_memstats_heap_inuse_bytes"), m1.sum("go_memstats_heap_inuse_bytes")
	stack0, stack1 := m0.sum("go_memstats_stack_inuse_bytes"), m1.sum("go_memstats_stack_inuse_bytes")
	fmt.Printf("server RSS %.1f MB (peak %.1f), clients %.0f, goroutines %.0f\n", float64(rss1)/1024, float64(hwm)/1024,
		m1.sum("switchboard_websocket_clients"), m1.sum("go_goroutines"))
	if opened > 0 {
		fmt.Printf("per connection: RSS %.1f KB, Go heap in use %.1f KB, goroutine stacks %.1f KB, goroutines %.2f\n",
			float64(rss1-rss0)/float64(opened), (heap1-heap0)/1024/float64(opened), (stack1-stack0)/1024/float64(opened),
			(m1.sum("go_goroutines")-m0.sum("go_goroutines"))/float64(opened))
	}
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
	return nil
}
