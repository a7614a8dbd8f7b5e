package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMeasure runs three short measured runs against a server that counts
// the messages it is sent: each run reports what it recorded (the warm-up
// is not counted, so the rate is the server's), its errors with the first
// of them, no missing event, the server's memory; then the medians.
func TestMeasure(t *testing.T) {
	var ingested atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			fmt.Fprintf(w, "# TYPE switchboard_messages_ingested_total counter\nswitchboard_messages_ingested_total{inbox=\"1\"} %d\nswitchboard_db_statements_total %d\n",
				ingested.Load(), 3*ingested.Load())
		case "/messages":
			ingested.Add(1)
		}
	}))
	defer srv.Close()
	tg := newTarget(srv.URL, os.Getpid(), 4)
	var out bytes.Buffer
	m := newMeasure(tg, &out, 0, 2, 30*time.Millisecond, 150*time.Millisecond, 3)
	m.rss, m.settle = true, 10*time.Millisecond
	ctx := context.Background()
	var seq atomic.Int64
	send := func(due time.Time) {
		i := seq.Add(1)
		key := strconv.FormatInt(i, 10)
		m.expect(key, due)
		if i%10 == 0 {
			m.fail(ctx, errors.New("refused "+key), key)
			return
		}
		if _, err := tg.do(ctx, "POST", "/messages", "", nil, nil); err != nil {
			m.fail(ctx, err, key)
			return
		}
		m.event(key, time.Now())
		m.sent(1, due)
	}
	if err := m.run(ctx, 1, send); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("output:\n%s", out.String())
	}
	runRE := regexp.MustCompile(`^run (\d): (\d+) msg/s \(server counted (\d+)\)  POST p50 [0-9.]+ms p99 [0-9.]+ms  POST->WS p50 [0-9.]+ms p99 [0-9.]+ms \((\d+) events, 0 missing\)  3\.00 statements/msg  RSS [0-9.]+ MB \(peak [0-9.]+\)  errors (\d+) \(first: refused \d+0\)$`)
	for i, l := range lines[:3] {
		g := runRE.FindStringSubmatch(l)
		if g == nil {
			t.Errorf("run line %q", l)
			continue
		}
		if g[1] != strconv.Itoa(i+1) || g[2] != g[3] || g[4] == "0" || g[5] == "0" {
			t.Errorf("run %d: %q", i+1, l)
		}
	}
	if !regexp.MustCompile(`^median of 3: \d+ msg/s  POST p50 [0-9.]+ms p99 [0-9.]+ms  POST->WS p50 [0-9.]+ms p99 [0-9.]+ms  3\.00 statements/msg  RSS [0-9.]+ MB$`).MatchString(lines[3]) {
		t.Errorf("median line %q", lines[3])
	}
}
