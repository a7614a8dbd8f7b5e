package event

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// TestConsumerLease: only the node holding a shared consumer's lease
// moves its cursor; a lease that ran out is taken over, and the node that
// had it can move nothing any more.
func TestConsumerLease(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		log := NewLog(d, NewLocal(), slog.New(slog.DiscardHandler))
		on := func(node string) *consumer {
			c := NewConsumers(log, ConsumerConfig{Node: node, Lease: time.Minute}, slog.New(slog.DiscardHandler))
			c.Add(Consumer{Name: "drains", Handle: func(context.Context, []Event) error { return nil }})
			return c.list[0]
		}
		a, b := on("a"), on("b")
		if err := a.register(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.register(ctx); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if held, cursor, err := a.acquire(ctx, now); err != nil || !held || cursor != 0 {
			t.Fatalf("a takes the free lease: %v %d %v", held, cursor, err)
		}
		if held, _, err := b.acquire(ctx, now.Add(59*time.Second)); err != nil || held {
			t.Fatalf("b took a's lease: %v %v", held, err)
		}
		if err := b.advance(ctx, 0, 5, now); !errors.Is(err, errLostLease) {
			t.Fatalf("b moved a's cursor: %v", err)
		}
		if err := a.advance(ctx, 0, 5, now); err != nil {
			t.Fatalf("a moves its cursor: %v", err)
		}
		if err := a.advance(ctx, 0, 7, now); !errors.Is(err, errLostLease) {
			t.Fatalf("a moved the cursor from where it no longer is: %v", err)
		}
		// a stops renewing (paused, cut off): a minute later b takes over.
		later := now.Add(61 * time.Second)
		held, cursor, err := b.acquire(ctx, later)
		if err != nil || !held || cursor != 5 {
			t.Fatalf("b takes the lease that ran out: %v %d %v", held, cursor, err)
		}
		if err := a.advance(ctx, 5, 9, later); !errors.Is(err, errLostLease) {
			t.Fatalf("a moved the cursor after losing its lease: %v", err)
		}
		if err := a.renew(ctx, later); !errors.Is(err, errLostLease) {
			t.Fatalf("a renewed b's lease: %v", err)
		}
		if err := b.advance(ctx, 5, 9, later); err != nil {
			t.Fatal(err)
		}
		// Given up, it is free at once.
		if err := b.release(ctx); err != nil {
			t.Fatal(err)
		}
		if held, cursor, err := a.acquire(ctx, later); err != nil || !held || cursor != 9 {
			t.Fatalf("a takes the released lease: %v %d %v", held, cursor, err)
		}
	})
}
