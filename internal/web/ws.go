package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/realtime"
)

// wsFrame is what the agent WebSocket sends: events, plus "hello" (the
// position the connection starts at) and "resync" (the position asked for
// is too old: reload, then continue from seq).
type wsFrame struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// sinceParam reads ?since= (or Last-Event-ID); -1 when absent.
func sinceParam(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		v = r.Header.Get("Last-Event-ID")
	}
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, problem.Invalid("since", "Use the seq of the last event you received.")
	}
	return n, nil
}

// apiWebSocket streams the events the user may see. It replays what came
// after ?since=, then goes live; membership changes take effect at once.
func (s *Server) apiWebSocket(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	since, err := sinceParam(r)
	if err != nil {
		return err
	}
	// The hub calls filter from its own goroutine; a membership or role
	// change swaps the view atomically.
	type view struct {
		scope policy.Scope
		role  policy.Role
	}
	var current atomic.Pointer[view]
	current.Store(&view{scope: policy.ConversationScope(a), role: a.Role})
	filter := func(e *event.Event) bool { v := current.Load(); return e.VisibleTo(v.scope, v.role) }
	sub, replay, at, err := s.Hub.Subscribe(r.Context(), since, filter)
	resync := errors.Is(err, realtime.ErrResync)
	if resync {
		sub, _, at, err = s.Hub.Subscribe(r.Context(), -1, filter)
	}
	if err != nil {
		return err
	}
	defer sub.Close()

	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{s.BaseURL.Host}})
	if err != nil {
		return nil // Accept has answered
	}
	s.conns.Add(1)
	defer s.conns.Done()
	s.Metrics.WebSocketClients.Inc()
	defer s.Metrics.WebSocketClients.Dec()
	conn.SetReadLimit(4096)
	// Nothing is read from agents; CloseRead handles pings and the close
	// handshake and cancels ctx when the client goes away.
	ctx := conn.CloseRead(context.WithoutCancel(r.Context()))

	send := func(f wsFrame) error {
		b, _ := json.Marshal(f)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	first := wsFrame{Seq: since, Type: "hello"}
	if since < 0 {
		first.Seq = at
	}
	if resync {
		first = wsFrame{Seq: at, Type: "resync"}
	}
	if err := send(first); err != nil {
		return nil
	}
	for _, e := range replay {
		if err := send(wsFrame{Seq: e.Seq, Type: e.Type, Data: e.Data}); err != nil {
			return nil
		}
	}
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-s.closing:
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return nil
		case <-ctx.Done():
			return nil
		case <-sub.Done():
			// Too slow: the client reconnects with ?since= and catches up.
			conn.Close(websocket.StatusTryAgainLater, "fell behind; reconnect with since")
			return nil
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return nil
			}
		case e := <-sub.C():
			if e.Type == event.MembershipChanged && e.UserID == a.UserID {
				s.Auth.Forget(a.UserID)
				if u, err := s.Users.Get(ctx, a.UserID); err == nil {
					na := policy.Actor{UserID: u.ID, Role: u.Role, Inboxes: u.InboxIDs}
					current.Store(&view{scope: policy.ConversationScope(na), role: na.Role})
				}
			}
			if err := send(wsFrame{Seq: e.Seq, Type: e.Type, Data: e.Data}); err != nil {
				return nil
			}
			s.Metrics.EventsDelivered.Inc()
		}
	}
}
