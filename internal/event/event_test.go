package event_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// recorder is a broker that keeps what was published.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) Publish(_ context.Context, events []event.Event) error {
	r.mu.Lock()
	r.events = append(r.events, events...)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Subscribe(func([]event.Event)) (func(), error) { return func() {}, nil }

// TestSequenceWithoutGaps writes events from many goroutines at once, some
// transactions failing: the log must hold 1..N without a gap, each
// committed transaction's events consecutive, and exactly the committed
// events published.
func TestSequenceWithoutGaps(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := &recorder{}
		log := event.NewLog(d, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
		boom := errors.New("boom")
		const writers, each = 16, 30
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := log.Write(ctx, func(tx *event.Tx) error {
						tx.Emit(event.New(event.InboxChanged, map[string]int{"w": w, "i": i, "part": 1}))
						tx.Emit(event.New(event.InboxChanged, map[string]int{"w": w, "i": i, "part": 2}))
						if i%4 == 3 {
							return boom
						}
						return nil
					})
					if (err != nil) != (i%4 == 3) {
						t.Errorf("writer %d write %d: %v", w, i, err)
					}
				}
			}()
		}
		wg.Wait()
		committed := writers * (each - each/4) * 2
		last, err := log.Last(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if last != int64(committed) {
			t.Fatalf("last seq %d, want %d", last, committed)
		}
		got, err := log.Range(ctx, 0, last, committed+10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != committed {
			t.Fatalf("%d events in the log, want %d", len(got), committed)
		}
		for i, e := range got {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
			// The two events of a transaction are adjacent: part 1, part 2.
			if i%2 == 1 && (!strings.Contains(string(got[i-1].Data), `"part":1`) ||
				strings.Replace(string(e.Data), `"part":2`, `"part":1`, 1) != string(got[i-1].Data)) {
				t.Fatalf("events %d and %d are not one transaction's: %s %s", i, i+1, got[i-1].Data, e.Data)
			}
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.events) != committed {
			t.Fatalf("%d events published, want %d", len(rec.events), committed)
		}
		seen := map[int64]bool{}
		for _, e := range rec.events {
			if seen[e.Seq] || e.Seq < 1 || e.Seq > last {
				t.Fatalf("published seq %d twice or out of range", e.Seq)
			}
			seen[e.Seq] = true
		}
	})
}
