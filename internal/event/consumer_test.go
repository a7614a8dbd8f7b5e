package event_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
)

var quiet = slog.New(slog.DiscardHandler)

// node is one node's event log and consumers, on a database shared with
// other nodes; its broker reaches its own consumers only.
type node struct {
	t         *testing.T
	broker    *event.Local
	log       *event.Log
	consumers *event.Consumers
	stop      func()
}

func newNode(t *testing.T, d *db.DB, name string) *node {
	n := &node{t: t, broker: event.NewLocal()}
	n.log = event.NewLog(d, n.broker, quiet)
	n.consumers = event.NewConsumers(n.log, event.ConsumerConfig{Node: name, Poll: 20 * time.Millisecond, BaseBackoff: 5 * time.Millisecond}, quiet)
	n.broker.Subscribe(n.consumers.Receive)
	return n
}

// run runs the node's consumers until stop or the end of the test.
func (n *node) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.consumers.Run(ctx); close(done) }()
	var once sync.Once
	n.stop = func() { once.Do(func() { cancel(); <-done }) }
	n.t.Cleanup(n.stop)
}

// emit writes one transaction with count events of type typ.
func (n *node) emit(typ string, count int) {
	n.t.Helper()
	err := n.log.Write(context.Background(), func(tx *event.Tx) error {
		for i := range count {
			tx.Emit(event.New(typ, i))
		}
		return nil
	})
	if err != nil {
		n.t.Fatal(err)
	}
}

// handled records what a consumer was given, and by which node.
type handled struct {
	mu    sync.Mutex
	seqs  []int64
	nodes map[string]int
	// fail, when set, is asked about each call: an error fails it.
	fail func(events []event.Event) error
}

func (h *handled) handler(node string) event.Handler {
	return func(ctx context.Context, events []event.Event) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.fail != nil {
			if err := h.fail(events); err != nil {
				return err
			}
		}
		if h.nodes == nil {
			h.nodes = map[string]int{}
		}
		for _, e := range events {
			h.seqs = append(h.seqs, e.Seq)
			h.nodes[node]++
		}
		return nil
	}
}

func (h *handled) got() ([]int64, map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	nodes := map[string]int{}
	for k, v := range h.nodes {
		nodes[k] = v
	}
	return slices.Clone(h.seqs), nodes
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func cursorOf(t *testing.T, d *db.DB, name string) int64 {
	t.Helper()
	var seq int64
	if err := d.QueryRow(context.Background(), `SELECT seq FROM event_consumers WHERE name = $1`, name).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

// waitRegistered waits for n shared consumers to have their rows (a new
// one starts at the log's end when it registers).
func waitRegistered(t *testing.T, d *db.DB, n int) {
	t.Helper()
	waitFor(t, "the consumers to register", func() bool {
		var c int
		d.QueryRow(context.Background(), `SELECT COUNT(*) FROM event_consumers`).Scan(&c)
		return c == n
	})
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// TestSharedConsumerResumes: a shared consumer's cursor is stored, so a
// node started after a restart handles what was written while none ran,
// and nothing again; a consumer new to the installation starts at the
// log's end.
func TestSharedConsumerResumes(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		before := newNode(t, d, "before")
		var h1 handled
		before.consumers.Add(event.Consumer{Name: "drains", Handle: h1.handler("before")})
		before.run()
		waitRegistered(t, d, 1)
		before.emit("thing.changed", 3)
		waitFor(t, "three events", func() bool { s, _ := h1.got(); return len(s) == 3 })
		waitFor(t, "the cursor to be stored", func() bool { return cursorOf(t, d, "drains") == 3 })
		before.stop()

		// Written while no node runs.
		before.emit("thing.changed", 3)

		after := newNode(t, d, "after")
		var h2, late handled
		after.consumers.Add(event.Consumer{Name: "drains", Handle: h2.handler("after")})
		after.consumers.Add(event.Consumer{Name: "late", Handle: late.handler("after")})
		after.run()
		waitRegistered(t, d, 2)
		waitFor(t, "the events written meanwhile", func() bool { s, _ := h2.got(); return len(s) == 3 })
		after.emit("thing.changed", 1)
		waitFor(t, "the next event", func() bool { s, _ := late.got(); return len(s) == 1 })
		waitFor(t, "the next event", func() bool { s, _ := h2.got(); return len(s) == 4 })
		if s, _ := h1.got(); !slices.Equal(s, seqRange(1, 3)) {
			t.Errorf("before the restart: %v", s)
		}
		if s, _ := h2.got(); !slices.Equal(s, seqRange(4, 7)) {
			t.Errorf("after the restart: %v, want 4…7", s)
		}
		if s, _ := late.got(); !slices.Equal(s, []int64{7}) {
			t.Errorf("a new consumer got %v, want what came after it (7)", s)
		}
	})
}

// TestSharedConsumerOneNodeAtATime: two nodes run the same consumer;
// one of them holds it and handles everything, once; when it stops, the
// other takes over where it was.
func TestSharedConsumerOneNodeAtATime(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		a, b := newNode(t, d, "a"), newNode(t, d, "b")
		var h handled
		a.consumers.Add(event.Consumer{Name: "routing", Handle: h.handler("a")})
		b.consumers.Add(event.Consumer{Name: "routing", Handle: h.handler("b")})
		a.run()
		b.run()
		waitRegistered(t, d, 1)
		for i := range 20 {
			n := a
			if i%2 == 1 {
				n = b // both nodes write, and both are woken
			}
			n.emit("thing.changed", 3)
		}
		waitFor(t, "every event", func() bool { return cursorOf(t, d, "routing") == 60 })
		seqs, nodes := h.got()
		slices.Sort(seqs)
		if !slices.Equal(seqs, seqRange(1, 60)) {
			t.Fatalf("handled %v, want 1…60 once each", seqs)
		}
		if len(nodes) != 1 {
			t.Fatalf("both nodes handled events: %v", nodes)
		}
		holder, other := a, b
		if nodes["b"] > 0 {
			holder, other = b, a
		}
		holder.stop()
		other.emit("thing.changed", 2)
		waitFor(t, "the other node to take over", func() bool { return cursorOf(t, d, "routing") == 62 })
		seqs, _ = h.got()
		if !slices.Equal(seqs[len(seqs)-2:], []int64{61, 62}) || len(seqs) != 62 {
			t.Errorf("after the takeover: %v", seqs[55:])
		}
	})
}

// TestSharedConsumerRetries: a handler that fails gets the same events
// again, and the cursor does not move past them until it succeeds.
func TestSharedConsumerRetries(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		n := newNode(t, d, "a")
		failures := 0
		h := handled{fail: func(events []event.Event) error {
			if events[0].Type == "thing.fragile" && failures < 2 {
				failures++
				return errors.New("the far end is down")
			}
			return nil
		}}
		n.consumers.Add(event.Consumer{Name: "integration", Types: []string{"thing.fragile", "thing.changed"}, Handle: h.handler("a")})
		n.run()
		waitRegistered(t, d, 1)
		n.emit("thing.fragile", 1)
		n.emit("thing.ignored", 1)
		n.emit("thing.changed", 1)
		waitFor(t, "the events", func() bool { s, _ := h.got(); return len(s) >= 2 })
		waitFor(t, "the cursor past them", func() bool { return cursorOf(t, d, "integration") == 3 })
		if s, _ := h.got(); !slices.Equal(s, []int64{1, 3}) || failures != 2 {
			t.Errorf("handled %v after %d failures; want 1 and 3 (2 is of a type not asked for) after 2", s, failures)
		}
	})
}

// TestPerNodeConsumer: a per-node consumer handles this node's events
// before the write that made them returns, and reads from the log the
// events of a node whose broker does not reach it; each once.
func TestPerNodeConsumer(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		here, there := newNode(t, d, "here"), newNode(t, d, "there")
		var h handled
		here.consumers.Add(event.Consumer{Name: "cache", Scope: event.PerNode, Types: []string{"thing.changed"}, Handle: h.handler("here")})

		// Before Run, what is delivered is handled already.
		here.emit("thing.changed", 1)
		if s, _ := h.got(); !slices.Equal(s, []int64{1}) {
			t.Fatalf("before Run: %v", s)
		}
		if err := here.consumers.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		here.run()
		h.mu.Lock()
		h.seqs = nil
		h.mu.Unlock()
		last, _ := here.log.Last(context.Background())

		here.emit("thing.changed", 2)
		if s, _ := h.got(); !slices.Equal(s, []int64{last + 1, last + 2}) {
			t.Fatalf("this node's write was not handled when it returned: %v", s)
		}
		here.emit("thing.other", 1)
		there.emit("thing.changed", 1) // another node's: read from the log
		waitFor(t, "the other node's event", func() bool { s, _ := h.got(); return slices.Contains(s, last+4) })
		here.emit("thing.changed", 1)
		if s, _ := h.got(); !slices.Equal(s, []int64{last + 1, last + 2, last + 4, last + 5}) {
			t.Errorf("handled %v, want %v once each", s, []int64{last + 1, last + 2, last + 4, last + 5})
		}
	})
}

// TestSharedConsumerOfSomeTypes: a shared consumer of one type is given
// only events of that type, in order, among many others; its stored
// cursor follows what it handled, and past a long run of other events it
// moves to the log's end without a handler call.
func TestSharedConsumerOfSomeTypes(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		n := newNode(t, d, "only")
		var h handled
		n.consumers.Add(event.Consumer{Name: "members", Scope: event.Shared, Types: []string{"member.changed"}, Handle: h.handler("only")})
		n.run()
		waitRegistered(t, d, 1)
		n.emit("message.created", 5) // 1…5
		n.emit("member.changed", 1)  // 6
		n.emit("message.created", 5) // 7…11
		n.emit("member.changed", 2)  // 12, 13
		waitFor(t, "the three member events", func() bool { s, _ := h.got(); return len(s) == 3 })
		waitFor(t, "the cursor to follow them", func() bool { return cursorOf(t, d, "members") == 13 })
		// A long run of other events: the cursor catches up with the log
		// once it is far enough behind, with nothing handled.
		n.emit("message.created", 1500) // 14…1513
		waitFor(t, "the cursor past the other events", func() bool { return cursorOf(t, d, "members") == 1513 })
		n.emit("member.changed", 1) // 1514
		waitFor(t, "the next member event", func() bool { s, _ := h.got(); return len(s) == 4 })
		if s, _ := h.got(); !slices.Equal(s, []int64{6, 12, 13, 1514}) {
			t.Errorf("handled %v, want 6 12 13 1514", s)
		}
	})
}
