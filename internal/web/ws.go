package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/metrics"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/user"
)

// realtimeAPI is the agents' WebSocket.
type realtimeAPI struct {
	baseURL  *url.URL
	hub      *realtime.Hub
	life     *lifecycle
	metrics  *metrics.Metrics
	presence *availability.Presence
	users    *user.Store
}

// wsFrame is what the agent WebSocket sends: events, plus "hello" (the
// position the connection starts at) and "resync" (the position asked for
// is too old: reload, then continue from seq).
type wsFrame struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
	// Notify names the agent's notification trigger the event pulls
	// (see notifyTrigger), for the page's sounds and pop-ups.
	Notify user.Trigger `json:"notify,omitempty"`
}

// wsSignal is a signal (an event without a sequence: typing): it has no
// seq, so the client's position does not move.
type wsSignal struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
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
//
// An idle connection keeps one goroutine (the library's reader, which
// answers pings and notices the client leaving) and no buffers of its
// own: the handler returns once the connection is set up, and a writer
// goroutine runs only while there are events, a ping or a close to send.
// With thousands of agents connected that is most of the memory they cost.
func (s *realtimeAPI) apiWebSocket(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	since, err := sinceParam(r)
	if err != nil {
		return err
	}
	wc := &wsConn{s: s, userID: a.UserID}
	wc.view.Store(&wsView{scope: policy.ConversationScope(a), role: a.Role})
	sub, replay, at, err := s.hub.Subscribe(r.Context(), since, wc.visible)
	resync := errors.Is(err, realtime.ErrResync)
	if resync {
		sub, _, at, err = s.hub.Subscribe(r.Context(), -1, wc.visible)
	}
	if err != nil {
		return err
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{s.baseURL.Host}})
	if err != nil {
		sub.Close()
		return nil // Accept has answered
	}
	wc.conn, wc.sub = conn, sub
	s.life.conns.Add(1)
	s.metrics.WebSocketClients.Inc()
	if s.presence != nil {
		s.presence.Connect(a.UserID)
	}
	conn.SetReadLimit(4096)
	// Nothing is read from agents; CloseRead handles pings and the close
	// handshake and cancels ctx when the client goes away.
	wc.ctx = conn.CloseRead(context.WithoutCancel(r.Context()))

	first := wsFrame{Seq: since, Type: "hello"}
	if since < 0 {
		first.Seq = at
	}
	if resync {
		first = wsFrame{Seq: at, Type: "resync"}
	}
	if err := wc.send(first); err != nil {
		wc.finish()
		return nil
	}
	for i := range replay {
		v := wc.view.Load()
		f := wsFrame{Seq: replay[i].Seq, Type: replay[i].Type, Data: replay[i].Data, Notify: notifyTrigger(&replay[i], wc.userID, v.role)}
		if err := wc.send(f); err != nil {
			wc.finish()
			return nil
		}
	}
	// From here on the connection runs on callbacks; they do nothing until
	// it is armed, then the first kick looks at everything once.
	wc.stops = []func() bool{
		context.AfterFunc(wc.ctx, wc.kick),
		context.AfterFunc(s.life.shutdown, wc.kick),
	}
	wc.ping = time.AfterFunc(wsPingEvery, func() { wc.pingDue.Store(true); wc.kick() })
	sub.OnReady(wc.kick)
	wc.armed.Store(true)
	wc.kick()
	return nil
}

// wsPingEvery is how often an idle agent connection is pinged.
const wsPingEvery = 30 * time.Second

// wsView is what an agent may see; a membership or role change swaps it.
type wsView struct {
	scope policy.Scope
	role  policy.Role
}

// wsConn is one agent WebSocket after its handler has returned.
type wsConn struct {
	s      *realtimeAPI
	userID int64
	conn   *websocket.Conn
	sub    *realtime.Subscription
	ctx    context.Context // ends when the client goes away
	view   atomic.Pointer[wsView]
	ping   *time.Timer
	stops  []func() bool

	armed   atomic.Bool // set up: kick may start the writer
	pingDue atomic.Bool
	running atomic.Bool // a writer goroutine is running
	once    sync.Once
}

// visible is the subscription's filter; the hub calls it from its own
// goroutine.
func (wc *wsConn) visible(e *event.Event) bool {
	v := wc.view.Load()
	return e.VisibleTo(v.scope, v.role)
}

// kick starts the writer unless it is running. It never blocks: the hub
// and timers call it.
func (wc *wsConn) kick() {
	if wc.armed.Load() && wc.running.CompareAndSwap(false, true) {
		go wc.write()
	}
}

func (wc *wsConn) send(f any) error {
	b, _ := json.Marshal(f)
	wctx, cancel := context.WithTimeout(wc.ctx, 10*time.Second)
	defer cancel()
	return wc.conn.Write(wctx, websocket.MessageText, b)
}

// write sends what is waiting, then ends; it closes the connection when
// the client left, the hub dropped the subscription or the server stops.
func (wc *wsConn) write() {
	var buf []*event.Event
	for {
		switch {
		case wc.ctx.Err() != nil:
			wc.finish()
			return
		case wc.s.life.shutdown.Err() != nil:
			wc.conn.Close(websocket.StatusGoingAway, "server shutting down")
			wc.finish()
			return
		}
		select {
		case <-wc.sub.Done():
			// Too slow: the client reconnects with ?since= and catches up.
			wc.conn.Close(websocket.StatusTryAgainLater, "fell behind; reconnect with since")
			wc.finish()
			return
		default:
		}
		buf = wc.sub.Take(buf[:0])
		for _, e := range buf {
			if e.Type == event.MembershipChanged && e.UserID == wc.userID {
				if u, err := wc.s.users.Get(wc.ctx, wc.userID); err == nil {
					na := policy.Actor{UserID: u.ID, Role: u.Role, Inboxes: u.InboxIDs}
					wc.view.Store(&wsView{scope: policy.ConversationScope(na), role: na.Role})
				}
			}
			var f any = wsFrame{Seq: e.Seq, Type: e.Type, Data: e.Data, Notify: notifyTrigger(e, wc.userID, wc.view.Load().role)}
			if e.Ephemeral() {
				f = wsSignal{Type: e.Type, Data: e.Data}
			}
			if err := wc.send(f); err != nil {
				wc.finish()
				return
			}
			wc.s.metrics.EventsDelivered.Inc()
		}
		clear(buf)
		if wc.pingDue.Swap(false) {
			pctx, cancel := context.WithTimeout(wc.ctx, 10*time.Second)
			err := wc.conn.Ping(pctx)
			cancel()
			if err != nil {
				wc.finish()
				return
			}
			wc.ping.Reset(wsPingEvery)
		}
		// Stop, unless something arrived after the last look.
		wc.running.Store(false)
		if !wc.pending() || !wc.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// pending reports whether the writer has anything left to do.
func (wc *wsConn) pending() bool {
	if wc.ctx.Err() != nil || wc.s.life.shutdown.Err() != nil || wc.pingDue.Load() {
		return true
	}
	select {
	case <-wc.sub.Done():
		return true
	default:
	}
	return wc.sub.Waiting()
}

func (wc *wsConn) finish() {
	wc.once.Do(func() {
		wc.sub.Close()
		if wc.ping != nil {
			wc.ping.Stop()
		}
		for _, stop := range wc.stops {
			stop()
		}
		wc.conn.CloseNow()
		if wc.s.presence != nil {
			wc.s.presence.Disconnect(wc.userID)
		}
		wc.s.metrics.WebSocketClients.Dec()
		wc.s.life.conns.Done()
	})
}
