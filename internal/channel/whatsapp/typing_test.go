package whatsapp_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
)

// testClock is a settable time.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestTypingIndicator: an agent typing in a WhatsApp conversation shows
// "typing…" on the customer's phone: Graph's read mark of their latest
// message with typing_indicator {"type":"text"}, at most once per
// conversation every 25 s however often the agent's page says so.
func TestTypingIndicator(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		clk := &testClock{now: time.Now()}
		h := newHarness(t, d, harnessOptions{whatsapp: whatsapp.Options{Clock: clk.Now}})
		eve := graphfake.Customer{Name: "Eve", Phone: "15550003333"}
		h.customerWrites(eve, "first")
		latest, err := h.fake.Inbound(h.num.ID, eve, graphfake.Text("is anyone there?"))
		if err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		c := h.conversationOf(eve.Name)
		typings := func() []graphfake.Attempt {
			var out []graphfake.Attempt
			for _, a := range h.fake.Attempts() {
				if a.Typing {
					out = append(out, a)
				}
			}
			return out
		}
		typing := fmt.Sprintf("/api/v1/conversations/%d/typing", c.ID)

		// The agent's request waits for Graph: when it is answered, the
		// indicator was asked for (or not at all).
		h.agent.Do("POST", typing, nil).Expect(204)
		ts := typings()
		if len(ts) != 1 || !ts[0].Read || ts[0].Marked != latest || ts[0].Status != 200 || ts[0].Code != 0 {
			t.Fatalf("typing indicators %+v, want one for %s accepted", ts, latest)
		}
		if !h.fake.Typing(h.num.ID, eve.Phone) {
			t.Fatal("the customer's phone shows no typing indicator")
		}
		// Again at once, and every 4 s (past the 3 s between signals):
		// nothing more reaches Graph within 25 s.
		h.agent.Do("POST", typing, nil).Expect(204)
		for range 6 {
			clk.Advance(4 * time.Second)
			h.agent.Do("POST", typing, nil).Expect(204)
		}
		if n := len(typings()); n != 1 {
			t.Fatalf("%d typing indicators within 24 s, want 1", n)
		}
		clk.Advance(4 * time.Second) // 28 s after the first
		h.agent.Do("POST", typing, nil).Expect(204)
		if n := len(typings()); n != 2 {
			t.Fatalf("%d typing indicators after 28 s, want 2", n)
		}

		// A refused indicator is only logged, not retried; the agent is
		// not bothered.
		h.fake.FailNext(graphfake.EndpointMessages, graphfake.ErrSomethingWrong())
		clk.Advance(25 * time.Second)
		before := len(h.fake.Attempts())
		h.agent.Do("POST", typing, nil).Expect(204)
		if at := h.fake.Attempts(); len(at) != before+1 || !at[before].Injected {
			t.Fatalf("calls after an error: %+v", at[before:])
		}

		// A closed conversation shows none.
		h.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", c.ID), nil).Expect(200)
		clk.Advance(25 * time.Second)
		before = len(h.fake.Attempts())
		h.agent.Do("POST", typing, nil).Expect(204)
		if n := len(h.fake.Attempts()); n != before {
			t.Fatalf("%d calls to Graph for a closed conversation", n-before)
		}
	})
}
