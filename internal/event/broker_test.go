package event_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/switchboardhq/switchboard/internal/event"
)

// TestNATSSubscribe: a subscription on a live connection delivers what is
// published; one on a closed connection is an error, so that a node that
// cannot subscribe does not start.
func TestNATSSubscribe(t *testing.T) {
	t.Parallel()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	t.Cleanup(ns.Shutdown)
	logger := slog.New(slog.DiscardHandler)

	b, err := event.DialNATS(ns.ClientURL(), logger)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []event.Event, 1)
	unsub, err := b.Subscribe(func(es []event.Event) { got <- es })
	if err != nil {
		t.Fatalf("Subscribe on a live connection: %v", err)
	}
	if err := b.Publish(context.Background(), []event.Event{{Seq: 7, Type: event.MessageCreated, Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case es := <-got:
		if len(es) != 1 || es[0].Seq != 7 {
			t.Fatalf("received %+v", es)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
	}
	unsub()
	b.Close()

	unsub, err = b.Subscribe(func([]event.Event) {})
	if err == nil || unsub != nil {
		t.Fatalf("Subscribe on a closed connection = %v, %v; want an error", unsub != nil, err)
	}
}

func TestLocalSubscribe(t *testing.T) {
	t.Parallel()
	b := event.NewLocal()
	var got []event.Event
	unsub, err := b.Subscribe(func(es []event.Event) { got = append(got, es...) })
	if err != nil {
		t.Fatal(err)
	}
	b.Publish(context.Background(), []event.Event{{Seq: 1}})
	unsub()
	b.Publish(context.Background(), []event.Event{{Seq: 2}})
	if len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("received %+v; want the event published while subscribed", got)
	}
}
