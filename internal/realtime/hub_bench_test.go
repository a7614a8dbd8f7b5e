package realtime

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// nopLog is an empty event log.
type nopLog struct{}

func (nopLog) Last(context.Context) (int64, error)  { return 0, nil }
func (nopLog) First(context.Context) (int64, error) { return 1, nil }
func (nopLog) Range(context.Context, int64, int64, int) ([]event.Event, error) {
	return nil, nil
}

// BenchmarkFanOut delivers one conversation event to n agent
// subscriptions with the filter the WebSocket uses (scopes of every kind;
// about a quarter of the agents may see the event), each drained as the
// WebSocket writer does.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h := NewHub(nopLog{}, Config{GapWait: time.Hour, Poll: time.Hour}, slog.New(slog.DiscardHandler))
			h.Start(context.Background())
			subs := make([]*Subscription, n)
			for i := range subs {
				var scope policy.Scope
				role := policy.Service
				switch i % 4 {
				case 0:
					scope, role = policy.Scope{Kind: policy.ScopeAll, UserID: int64(i)}, policy.Admin
				case 1:
					scope = policy.Scope{Kind: policy.ScopeInboxes, UserID: int64(i), Inboxes: []int64{2, 3}}
				case 2:
					scope, role = policy.Scope{Kind: policy.ScopeAssignedOrOwned, UserID: int64(i)}, policy.Sales
				case 3:
					scope = policy.Scope{Kind: policy.ScopeInboxes, UserID: int64(i), Inboxes: []int64{4}}
				}
				s, _, _, err := h.Subscribe(context.Background(), -1, func(e *event.Event) bool { return e.VisibleTo(scope, role) })
				if err != nil {
					b.Fatal(err)
				}
				subs[i] = s
			}
			var buf []*event.Event
			e := event.Event{Type: event.MessageCreated, Data: []byte(`{}`), ConversationID: 1, Ref: policy.Ref{InboxID: 1, AssigneeID: 7}}
			b.ResetTimer()
			for i := range b.N {
				e.Seq = int64(i + 1)
				h.accept(e)
				if i%100 == 99 {
					for _, s := range subs {
						buf = s.Take(buf[:0])
					}
				}
			}
		})
	}
}
