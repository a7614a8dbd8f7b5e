package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

func api(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sbbench api", flag.ContinueOnError)
	u, pid := addTargetFlags(fs)
	credsPath := fs.String("creds", "bench-creds.json", "credentials file written by seed")
	path := fs.String("path", "/api/v1/me", "path to GET")
	role := fs.String("role", "admin", "whose token to use")
	conc := fs.Int("c", 32, "concurrent requests")
	dur := fs.Duration("duration", 10*time.Second, "measured time per run")
	warm := fs.Duration("warmup", 2*time.Second, "load before each run")
	runs := fs.Int("runs", 3, "measured runs")
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
	t := newTarget(*u, *pid, *conc)
	fmt.Printf("api: GET %s as %s, %d concurrent, %s per run (%s)\n", *path, *role, *conc, *dur, creds.Engine)
	var rates, p50s, p99s []float64
	for run := 1; run <= *runs && ctx.Err() == nil; run++ {
		var mu sync.Mutex
		var lat durations
		var ok, failed atomic.Int64
		var firstErr atomic.Value
		load := func(d time.Duration, rec bool) time.Duration {
			start := time.Now()
			deadline := start.Add(d)
			var wg sync.WaitGroup
			for range *conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					local := make(durations, 0, 4096)
					for ctx.Err() == nil && time.Now().Before(deadline) {
						s := time.Now()
						_, err := t.do(ctx, "GET", *path, usr.Token, nil, nil)
						if !rec {
							continue
						}
						if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
							continue
						}
						ok.Add(1)
						local = append(local, time.Since(s))
					}
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			return time.Since(start)
		}
		load(*warm, false)
		el := load(*dur, true)
		r := float64(ok.Load()) / el.Seconds()
		fmt.Printf("run %d: %.0f req/s  p50 %s  p99 %s  errors %d", run, r, ms(lat.pct(50)), ms(lat.pct(99)), failed.Load())
		if e := firstErr.Load(); e != nil {
			fmt.Printf(" (first: %s)", e)
		}
		fmt.Println()
		rates, p50s, p99s = append(rates, r), append(p50s, float64(lat.pct(50))/1e6), append(p99s, float64(lat.pct(99))/1e6)
	}
	fmt.Printf("median of %d: %.0f req/s  p50 %.2fms  p99 %.2fms\n", len(rates), median(rates), median(p50s), median(p99s))
	return nil
}
