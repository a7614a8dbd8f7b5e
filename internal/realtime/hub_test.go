package realtime

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboardhq/switchboard/internal/event"
)

// memLog is an event log in memory.
type memLog struct {
	mu     sync.Mutex
	events []event.Event // seq 1..n; events[i].Seq == first+i
	first  int64
}

func (l *memLog) add(n int) []event.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event.Event
	for range n {
		e := event.Event{Seq: l.first + int64(len(l.events)), Type: "t", ConversationID: 1}
		l.events = append(l.events, e)
		out = append(out, e)
	}
	return out
}

func (l *memLog) Last(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first + int64(len(l.events)) - 1, nil
}

func (l *memLog) First(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first, nil
}

func (l *memLog) Range(_ context.Context, after, upto int64, limit int) ([]event.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event.Event
	for _, e := range l.events {
		if e.Seq > after && e.Seq <= upto && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func newHub(t *testing.T, l *memLog, cfg Config) *Hub {
	t.Helper()
	if l.first == 0 {
		l.first = 1
	}
	h := NewHub(l, cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func all(*event.Event) bool { return true }

// collect reads n events from s, failing after a timeout.
func collect(t *testing.T, s *Subscription, n int) []int64 {
	t.Helper()
	var seqs []int64
	timeout := time.After(5 * time.Second)
	for len(seqs) < n {
		select {
		case e := <-s.C():
			seqs = append(seqs, e.Seq)
		case <-timeout:
			t.Fatalf("got %v, want %d events", seqs, n)
		}
	}
	return seqs
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// delivered returns the events s has been given so far, once everything
// in the bubble has settled.
func delivered(s *Subscription) []int64 {
	var seqs []int64
	c := s.C()
	for {
		synctest.Wait()
		select {
		case e := <-c:
			seqs = append(seqs, e.Seq)
		default:
			return seqs
		}
	}
}

func TestOutOfOrderArrivalIsDeliveredInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &memLog{}
		h := newHub(t, l, Config{GapWait: time.Hour, Poll: time.Hour})
		s, _, _, err := h.Subscribe(context.Background(), -1, all)
		if err != nil {
			t.Fatal(err)
		}
		es := l.add(3)
		h.Receive([]event.Event{es[2]})
		if got := delivered(s); len(got) != 0 {
			t.Fatalf("delivered %v before the events before it", got)
		}
		h.Receive([]event.Event{es[0]})
		h.Receive([]event.Event{es[1], es[1]}) // a duplicate too
		if got := delivered(s); !slices.Equal(got, []int64{1, 2, 3}) {
			t.Fatalf("delivered %v", got)
		}
	})
}

func TestGapIsFilledFromTheLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &memLog{}
		const wait = 10 * time.Millisecond
		h := newHub(t, l, Config{GapWait: wait, Poll: time.Hour})
		s, _, _, _ := h.Subscribe(context.Background(), -1, all)
		es := l.add(4)
		// Event 2 and 3 were lost by the broker.
		h.Receive([]event.Event{es[0]})
		h.Receive([]event.Event{es[3]})
		if got := delivered(s); !slices.Equal(got, []int64{1}) {
			t.Fatalf("delivered %v at once, want [1]", got)
		}
		// The hub gives the broker GapWait to bring them, then reads them.
		time.Sleep(wait - time.Nanosecond)
		if got := delivered(s); len(got) != 0 {
			t.Fatalf("delivered %v before the gap wait was over", got)
		}
		time.Sleep(time.Nanosecond)
		if got := delivered(s); !slices.Equal(got, []int64{2, 3, 4}) {
			t.Fatalf("delivered %v after the gap wait, want [2 3 4]", got)
		}
	})
}

func TestLostPublishIsFoundByPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &memLog{}
		const poll = 10 * time.Millisecond
		h := newHub(t, l, Config{GapWait: time.Hour, Poll: poll})
		s, _, _, _ := h.Subscribe(context.Background(), -1, all)
		l.add(5) // nothing published at all
		if got := delivered(s); len(got) != 0 {
			t.Fatalf("delivered %v before polling", got)
		}
		time.Sleep(poll)
		if got := delivered(s); !slices.Equal(got, seqRange(1, 5)) {
			t.Fatalf("delivered %v after a poll", got)
		}
	})
}

// TestResumeHasNoGapAndNoDuplicate subscribes with since while events keep
// arriving, many times over, under the race detector.
func TestResumeHasNoGapAndNoDuplicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &memLog{}
		h := newHub(t, l, Config{GapWait: 5 * time.Millisecond, Poll: 5 * time.Millisecond, MaxReplay: 100000})
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				h.Receive(l.add(3))
				time.Sleep(100 * time.Microsecond) // the bubble's clock
			}
		})
		for range 50 {
			since := h.Position() / 2
			s, replay, at, err := h.Subscribe(context.Background(), since, all)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, e := range replay {
				got = append(got, e.Seq)
			}
			live := collect(t, s, 10)
			got = append(got, live...)
			if !slices.Equal(got, seqRange(since+1, since+int64(len(got)))) {
				t.Fatalf("since %d (at %d): got %v", since, at, got)
			}
			s.Close()
		}
		close(stop)
		wg.Wait()
	})
}

func TestTooOldPositionAsksForResync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &memLog{first: 100} // 1..99 were pruned
		l.add(10)
		h := newHub(t, l, Config{GapWait: time.Hour, Poll: time.Hour})
		if _, _, _, err := h.Subscribe(context.Background(), 50, all); err != ErrResync {
			t.Fatalf("Subscribe(50) = %v, want ErrResync", err)
		}
		if _, replay, _, err := h.Subscribe(context.Background(), 99, all); err != nil || len(replay) != 10 {
			t.Fatalf("Subscribe(99) = %d events, %v", len(replay), err)
		}
	})
}

func TestSlowSubscriberIsDroppedOthersAreNot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &memLog{}
		h := newHub(t, l, Config{GapWait: time.Hour, Poll: time.Hour, Buffer: 4})
		slow, _, _, _ := h.Subscribe(context.Background(), -1, all)
		fast, _, _, _ := h.Subscribe(context.Background(), -1, all)
		odd, _, _, _ := h.Subscribe(context.Background(), -1, func(e *event.Event) bool { return e.Seq%2 == 1 })
		for _, e := range l.add(10) {
			h.Receive([]event.Event{e})
			// The fast subscriber keeps up; the filtered one gets odd events only.
			if got := collect(t, fast, 1); got[0] != e.Seq {
				t.Fatalf("fast subscriber got %v, want %d", got, e.Seq)
			}
			if e.Seq%2 == 1 {
				if got := collect(t, odd, 1); got[0] != e.Seq {
					t.Fatalf("filtered subscriber got %v, want %d", got, e.Seq)
				}
			}
		}
		synctest.Wait()
		select {
		case e := <-odd.C():
			t.Fatalf("filtered subscriber got even event %d", e.Seq)
		default:
		}
		select {
		case <-slow.Done():
			if slow.Err() != ErrSlow {
				t.Fatalf("slow subscriber dropped with %v", slow.Err())
			}
		default:
			t.Fatal("slow subscriber was not dropped")
		}
		select {
		case <-fast.Done():
			t.Fatal("fast subscriber was dropped")
		default:
		}
	})
}

// TestSignalsPassWithoutASequence: a signal (an event without a sequence)
// reaches the subscribers at once, even while sequenced events wait for a
// gap to fill, goes only where filters take it, moves no position and is
// never replayed.
func TestSignalsPassWithoutASequence(t *testing.T) {
	l := &memLog{}
	h := newHub(t, l, Config{GapWait: time.Hour, Poll: time.Hour})
	mine := func(e *event.Event) bool { return e.ConversationID == 1 }
	s, _, _, _ := h.Subscribe(context.Background(), -1, mine)
	other, _, _, _ := h.Subscribe(context.Background(), -1, func(e *event.Event) bool { return e.ConversationID == 2 })
	es := l.add(2)
	h.Receive([]event.Event{es[1]}) // waits for event 1
	h.Receive([]event.Event{{Type: event.Typing, ConversationID: 1}})
	select {
	case e := <-s.C():
		if e.Type != event.Typing || !e.Ephemeral() {
			t.Fatalf("first delivered %+v, want the signal", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the signal waited")
	}
	if p := h.Position(); p != 0 {
		t.Fatalf("position %d after a signal", p)
	}
	h.Receive([]event.Event{es[0]})
	if got := collect(t, s, 2); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("then delivered %v", got)
	}
	// The other subscriber's filter did not take it: the next thing it
	// gets is a signal of its own.
	h.Receive([]event.Event{{Type: event.Typing, ConversationID: 2}})
	if e := <-other.C(); e.ConversationID != 2 || e.Type != event.Typing {
		t.Fatalf("other got %+v", e)
	}
	// Resuming replays the log only.
	_, replay, _, err := h.Subscribe(context.Background(), 0, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range replay {
		if e.Ephemeral() {
			t.Fatalf("replayed a signal: %+v", e)
		}
	}
}
