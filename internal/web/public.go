package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/metrics"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// publicAPI is the web chat widget's API (and its script).
type publicAPI struct {
	avatars      *avatar.Store
	catalog      *i18n.Catalog
	clientIP     func(*http.Request) string
	convs        *conversation.Service
	db           *db.DB
	files        *attachment.Store
	hub          *realtime.Hub
	life         *lifecycle
	limits       *limiters
	links        *links
	metrics      *metrics.Metrics
	names        *httpx.NameCache
	now          func() time.Time
	webchat      *webchat.Service
	widgetScript []byte
	widgetHash   string
	widgetKeys   []string
}

// The web chat widget's API. Visitors authenticate with the session token
// the widget keeps, in the Authorization header (Bearer sbv_…) and never
// in a URL: what a browser loads by URL (files, avatars, the event stream)
// carries a capability of its own instead (links.go). Every request is
// rate-limited per IP; sends also per visitor.

// visitorSendRate bounds one visitor's messages.
const (
	visitorSendRate  = 5
	visitorSendBurst = 20
)

// publicInbox is what the widget needs to draw itself.
type publicInbox struct {
	Name            string `json:"name"`
	Greeting        string `json:"greeting"`
	Color           string `json:"color"`
	RequireIdentity bool   `json:"require_identity"`
	// PreChatForm: ask the visitor's name and email before the first
	// message (a session needs both).
	PreChatForm bool `json:"pre_chat_form"`
	// Language is the language the widget speaks, the best match for
	// ?lang= (the site's); Words are the widget's words in it, keyed by
	// the English (none for English).
	Language string            `json:"language"`
	Words    map[string]string `json:"words,omitempty"`
}

type publicSession struct {
	Token string `json:"token"`
}

// publicMessage is a message as the customer sees it: no agent ids, no
// internal state.
type publicMessage struct {
	ID          int64              `json:"id"`
	From        string             `json:"from"` // "visitor" or "business"
	Type        string             `json:"type"`
	Text        string             `json:"text"`
	Attachments []publicAttachment `json:"attachments"`
	Status      string             `json:"status"`
	ClientID    string             `json:"client_id,omitempty"`
	CreatedAt   time.Time          `json:"created_at"`

	// Agent is the public name of the agent who wrote a reply ("" when
	// they chose to show none); AgentAvatar links to their picture, when
	// they show a name and have one.
	Agent       string `json:"agent,omitempty"`
	AgentAvatar string `json:"agent_avatar,omitempty"`

	// Interactive are the reply buttons, the list or the link button of
	// a business's message (its header, body and footer with them; a
	// file header is the message's attachment). A tap on a button or a
	// row is sent back as a message with reply {message_id, id}.
	Interactive *whatsapp.Interactive `json:"interactive,omitempty"`
}

type publicAttachment struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// URL downloads the file, without the session token, until
	// URLExpiresAt; the messages the widget is given carry fresh ones.
	URL          string    `json:"url"`
	URLExpiresAt time.Time `json:"url_expires_at"`
}

// publicPage is a page of the visitor's conversation.
type publicPage struct {
	Items      []publicMessage `json:"items"`
	NextCursor string          `json:"next_cursor"`
	// Closed says the conversation was closed: the visitor's next message
	// starts a new one.
	Closed bool `json:"closed"`
}

// publicStatus is the state of the visitor's conversation, sent on the
// event stream when it changes.
type publicStatus struct {
	// Closed: the agent closed the conversation; the visitor's next
	// message starts a new one.
	Closed bool `json:"closed"`
}

// publicTypingEvent says, on the event stream, that the business is
// writing a reply.
type publicTypingEvent struct {
	// Agent is the public name of who types ("" when they show none).
	Agent string `json:"agent,omitempty"`
}

// publicTyping is an agent's typing as the visitor sees it.
func (s *publicAPI) publicTyping(ctx context.Context, t conversation.Typing) publicTypingEvent {
	var p publicTypingEvent
	if n, err := s.names.Get(ctx, []int64{t.UserID}, nil); err == nil {
		p.Agent = n.Public[t.UserID]
	}
	return p
}

// publicTicket opens the visitor's event stream (EventSource cannot send
// the token in a header).
type publicTicket struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

type seenRequest struct {
	// UpTo is the newest reply the widget has received or shown.
	UpTo int64 `json:"up_to"`
	Read bool  `json:"read"`
}

// publicFile is an attachment as the visitor is given it, with a fresh
// link.
func (s *publicAPI) publicFile(a attachment.Attachment) publicAttachment {
	l := s.links.attachment(a.ID)
	return publicAttachment{ID: a.ID, Kind: string(a.Kind), Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, URL: l.URL, URLExpiresAt: l.Expires}
}

func (s *publicAPI) toPublic(m *conversation.Message) publicMessage {
	p := publicMessage{ID: m.ID, From: "business", Type: string(m.Type), Text: m.Text, Status: string(m.Status), CreatedAt: m.CreatedAt,
		Attachments: make([]publicAttachment, len(m.Attachments))}
	if m.Direction == conversation.Inbound {
		p.From = "visitor"
		if m.ChannelMessageID != nil {
			_, p.ClientID, _ = strings.Cut(*m.ChannelMessageID, ":")
		}
	} else {
		p.Interactive = webchat.Interactive(m)
	}
	for i, a := range m.Attachments {
		p.Attachments[i] = s.publicFile(a)
	}
	return p
}

// publicOf is a message as the visitor sees it, with the public name of
// the agent who wrote it and, with the name, their picture (an agent who
// shows no name shows no face).
func (s *publicAPI) publicOf(ctx context.Context, m *conversation.Message) publicMessage {
	p := s.toPublic(m)
	if m.SenderType == conversation.SenderAgent && m.SenderID != nil {
		if n, err := s.names.Get(ctx, []int64{*m.SenderID}, nil); err == nil {
			p.Agent = n.Public[*m.SenderID]
			if p.Agent != "" {
				p.AgentAvatar = s.links.avatar(avatarVersion(n.Avatars[*m.SenderID]))
			}
		}
	}
	return p
}

// avatarVersion is the version in an avatar's address (user.AvatarURL).
func avatarVersion(address string) string {
	u, err := url.Parse(address)
	if err != nil {
		return ""
	}
	return u.Query().Get("v")
}

// publicGuard applies CORS and the per-IP limit to a widget request.
func (s *publicAPI) publicGuard(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	if o := r.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
	}
	if ok, wait := s.limits.allow("ip:" + s.clientIP(r)); !ok {
		return problem.RateLimited(wait)
	}
	if r.URL.Query().Has("token") {
		return errTokenInURL
	}
	return nil
}

// errTokenInURL refuses a session token given in the address, where logs
// and shared links would keep it.
var errTokenInURL = problem.New(problem.KindUnauthorized, "The session token goes in the Authorization header, never in the address.")

// checkOrigin refuses a browser request from a site the inbox does not allow.
func checkOrigin(r *http.Request, in webchat.Site) error {
	o := r.Header.Get("Origin")
	if o == "" || len(in.Settings.AllowedOrigins) == 0 || slices.Contains(in.Settings.AllowedOrigins, o) {
		return nil
	}
	return problem.Forbidden("This chat is not enabled on %s.", o)
}

func (s *publicAPI) publicPreflight(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept-Language, Last-Event-ID")
	h.Set("Access-Control-Max-Age", "86400")
	h.Add("Vary", "Origin")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// visitor authenticates the widget's request.
func (s *publicAPI) visitor(w http.ResponseWriter, r *http.Request) (webchat.Visitor, webchat.Site, error) {
	if err := s.publicGuard(w, r); err != nil {
		return webchat.Visitor{}, webchat.Site{}, err
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	v, err := s.webchat.Visitor(r.Context(), token)
	if err != nil {
		return v, webchat.Site{}, err
	}
	return s.visitorInbox(r, v)
}

// visitorInbox loads the visitor's inbox and checks the request's origin
// against it.
func (s *publicAPI) visitorInbox(r *http.Request, v webchat.Visitor) (webchat.Visitor, webchat.Site, error) {
	in, err := s.webchat.InboxByID(r.Context(), v.InboxID)
	if err != nil {
		return v, in, err
	}
	return v, in, checkOrigin(r, in)
}

func (s *publicAPI) publicInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := s.publicGuard(w, r); err != nil {
		return err
	}
	in, err := s.webchat.Inbox(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	if err := checkOrigin(r, in); err != nil {
		return err
	}
	lang := s.catalog.Match(r.URL.Query().Get("lang"))
	httpx.WriteJSON(w, http.StatusOK, publicInbox{Name: in.Name, Greeting: in.Settings.Greeting, Color: in.Settings.Color, RequireIdentity: in.Settings.RequireIdentity,
		PreChatForm: in.Settings.PreChatForm, Language: lang, Words: s.widgetWords(lang)})
	return nil
}

// widgetWords are the widget's words (its t("…") strings) in lang; nil
// for English.
func (s *publicAPI) widgetWords(lang string) map[string]string {
	if lang == i18n.Default {
		return nil
	}
	words := make(map[string]string, len(s.widgetKeys))
	for _, k := range s.widgetKeys {
		words[k] = s.catalog.T(lang, k)
	}
	return words
}

func (s *publicAPI) publicStart(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := s.publicGuard(w, r); err != nil {
		return err
	}
	var st webchat.Start
	if r.ContentLength != 0 {
		if err := httpx.Decode(w, r, &st); err != nil {
			return err
		}
	}
	in, err := s.webchat.Inbox(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	if err := checkOrigin(r, in); err != nil {
		return err
	}
	sess, err := s.webchat.StartSession(r.Context(), in.Token, st)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, publicSession{Token: sess.Token})
	return nil
}

func (s *publicAPI) publicMessages(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v, _, err := s.visitor(w, r)
	if err != nil {
		return err
	}
	o, err := messageOptions(r)
	if err != nil {
		return err
	}
	page, cur, err := s.webchat.Messages(r.Context(), v, o.Before, o.Limit)
	if err != nil {
		return err
	}
	out := publicPage{Items: make([]publicMessage, len(page.Items)), NextCursor: page.NextCursor, Closed: cur.Closed}
	for i := range page.Items {
		out.Items[i] = s.publicOf(r.Context(), &page.Items[i])
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *publicAPI) publicSend(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v, _, err := s.visitor(w, r)
	if err != nil {
		return err
	}
	if ok, wait := s.limits.allowAt("visitor:"+strconv.FormatInt(v.ID, 10), visitorSendRate, visitorSendBurst); !ok {
		return problem.RateLimited(wait)
	}
	var m webchat.Send
	if err := httpx.Decode(w, r, &m); err != nil {
		return err
	}
	rc, err := s.webchat.Receive(r.Context(), v, m)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !rc.Duplicate {
		status = http.StatusCreated
		s.metrics.MessagesIngested.WithLabelValues(string(webchat.Type)).Inc()
	}
	httpx.WriteJSON(w, status, s.toPublic(&rc.Message))
	return nil
}

func (s *publicAPI) publicUpload(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v, _, err := s.visitor(w, r)
	if err != nil {
		return err
	}
	if ok, wait := s.limits.allowAt("visitor:"+strconv.FormatInt(v.ID, 10), visitorSendRate, visitorSendBurst); !ok {
		return problem.RateLimited(wait)
	}
	a, err := readUpload(w, r, s.files, attachment.From{Uploader: v.Uploader(), ClientIP: s.clientIP(r)})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, s.publicFile(a))
	return nil
}

// publicDownload serves an attachment to whoever has its link (the
// capability in the query), or to the visitor whose conversation has it
// (the Authorization header).
func (s *publicAPI) publicDownload(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Attachment")
	}
	if r.URL.Query().Has("sig") {
		if err := s.publicGuard(w, r); err != nil {
			return err
		}
		if err := s.links.checkAttachment(r, id); err != nil {
			return err
		}
		ref, err := attachment.Get(r.Context(), s.db, id)
		if err != nil {
			return err
		}
		// Whoever has the link may keep the file until the link expires.
		exp, _ := strconv.ParseInt(r.URL.Query().Get("expires"), 10, 64)
		w.Header().Set("Cache-Control", "private, max-age="+strconv.FormatInt(max(0, exp-s.now().Unix()), 10))
		return serveAttachment(w, r, s.files, ref.Attachment)
	}
	_, ref, err := s.visitorFile(w, r, id)
	if err != nil {
		return err
	}
	return serveAttachment(w, r, s.files, ref.Attachment)
}

// visitorFile finds an attachment the visitor of the request may see:
// one they uploaded, or one of a message of their conversation that they
// see.
func (s *publicAPI) visitorFile(w http.ResponseWriter, r *http.Request, id int64) (webchat.Visitor, attachment.Ref, error) {
	v, _, err := s.visitor(w, r)
	if err != nil {
		return v, attachment.Ref{}, err
	}
	ref, err := attachment.Get(r.Context(), s.db, id)
	if err != nil {
		return v, ref, err
	}
	if ref.MessageID == 0 {
		if ref.Uploader != v.Uploader() {
			return v, ref, problem.NotFound("Attachment")
		}
	} else {
		m, err := s.convs.LoadMessage(r.Context(), ref.MessageID)
		if err != nil || !s.webchat.Owns(r.Context(), v, m.ConversationID) || !webchat.VisibleToCustomer(&m) {
			return v, ref, problem.NotFound("Attachment")
		}
	}
	return v, ref, nil
}

// publicFileLink gives the visitor a fresh link to one of their files
// (one whose link expired while the widget was open).
func (s *publicAPI) publicFileLink(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Attachment")
	}
	_, ref, err := s.visitorFile(w, r, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.publicFile(ref.Attachment))
	return nil
}

// publicAvatar serves the picture of an agent who shows their name to
// customers, by the signed link their replies carry; nothing else of the
// agent comes with it.
func (s *publicAPI) publicAvatar(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := s.publicGuard(w, r); err != nil {
		return err
	}
	version := r.PathValue("version")
	if err := s.links.checkAvatar(r, version); err != nil {
		return err
	}
	img, err := s.avatars.Shown(r.Context(), version)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(img)))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// A version is the picture's hash: it never changes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(img)
	return nil
}

func (s *publicAPI) publicSeen(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v, _, err := s.visitor(w, r)
	if err != nil {
		return err
	}
	var req seenRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if req.UpTo <= 0 {
		return problem.Invalid("up_to", "Give the id of the newest message received.")
	}
	if err := s.webchat.Seen(r.Context(), v, req.UpTo, req.Read); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// publicTypingSignal tells the agents that the visitor is writing. The
// answer is the same whether the signal went or was throttled.
func (s *publicAPI) publicTypingSignal(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v, _, err := s.visitor(w, r)
	if err != nil {
		return err
	}
	if err := s.webchat.Typing(r.Context(), v); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// publicStreamTicket gives the widget a ticket to open its event stream
// with (EventSource cannot send the token in a header).
func (s *publicAPI) publicStreamTicket(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v, _, err := s.visitor(w, r)
	if err != nil {
		return err
	}
	t, exp := s.links.ticket(v.ID)
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, publicTicket{Ticket: t, ExpiresAt: exp})
	return nil
}

// streamVisitor authenticates an event stream: by a ticket in the query
// (the widget's EventSource), or by the token in the Authorization header
// (other clients).
func (s *publicAPI) streamVisitor(w http.ResponseWriter, r *http.Request) (webchat.Visitor, error) {
	ticket := r.URL.Query().Get("ticket")
	if ticket == "" {
		v, _, err := s.visitor(w, r)
		return v, err
	}
	if err := s.publicGuard(w, r); err != nil {
		return webchat.Visitor{}, err
	}
	id, err := s.links.checkTicket(ticket)
	if err != nil {
		return webchat.Visitor{}, err
	}
	v, err := s.webchat.VisitorByID(r.Context(), id)
	if err != nil {
		return v, err
	}
	v, _, err = s.visitorInbox(r, v)
	return v, err
}

// publicStream is the visitor's server-sent event stream: their messages
// and the business's replies, each with the event sequence as its id so
// that EventSource's automatic reconnect (Last-Event-ID) resumes without
// a gap.
func (s *publicAPI) publicStream(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v, err := s.streamVisitor(w, r)
	if err != nil {
		return err
	}
	since, err := streamSince(r)
	if err != nil {
		return err
	}
	// A visitor who has not written yet has no contact: the stream waits
	// for their first message, whose event carries the contact it made,
	// and follows that contact from then on. (Live events reach the filter
	// in order; a replay runs beside them, so a stream that finds the
	// first message in its replay ends after it, and the browser
	// reconnects as the visitor with their contact.)
	var contactID atomic.Int64
	contactID.Store(v.ContactID)
	filter := func(e *event.Event) bool {
		if e.Ref.InboxID != v.InboxID {
			return false
		}
		switch e.Type {
		case event.MessageCreated, event.MessageUpdated:
			if !e.Public {
				return false
			}
		case event.Typing:
			// The agent's typing (the customer's own is not public).
			return e.Public && e.ContactID != 0 && e.ContactID == contactID.Load()
		case event.ConversationUpdated:
			// Only the status is passed on (closed or not).
			return e.ContactID != 0 && e.ContactID == contactID.Load()
		default:
			return false
		}
		if c := contactID.Load(); c != 0 {
			return e.ContactID == c
		}
		if webchat.IsFirstMessage(v, e) {
			contactID.CompareAndSwap(0, e.ContactID)
			return true
		}
		return false
	}
	// current is the visitor's latest conversation, the one the widget
	// shows: typing and status events of older ones are not passed on.
	// closed is what the widget knows of it: on a new stream what the
	// history it loads says; on a stream that resumes it is not known, so
	// the first change of the conversation is passed on whatever it is.
	// After that only changes of closed go (every message changes its
	// conversation).
	var current int64
	var closed *bool
	if v.ContactID == 0 {
		closed = new(bool) // no conversation yet
	} else if c, ok, err := s.webchat.CurrentConversation(r.Context(), v); err != nil {
		return err
	} else if ok {
		current = c.ID
		if since < 0 {
			closed = &c.Closed
		}
	}
	sub, replay, at, err := s.hub.Subscribe(r.Context(), since, filter)
	resync := err == realtime.ErrResync
	if resync {
		sub, _, at, err = s.hub.Subscribe(r.Context(), -1, filter)
	}
	if err != nil {
		return err
	}
	defer sub.Close()
	s.life.conns.Add(1)
	defer s.life.conns.Done()
	s.metrics.StreamClients.Inc()
	defer s.metrics.StreamClients.Dec()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	// write sends an event; a signal goes without an id (it is not in the
	// log), so the browser's Last-Event-ID stays on the last one that is.
	write := func(id int64, typ string, data any) error {
		b, _ := json.Marshal(data)
		if id > 0 {
			if _, err := fmt.Fprintf(w, "id: %d\n", id); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if resync {
		if err := write(at, "resync", map[string]int64{"seq": at}); err != nil {
			return nil
		}
	} else if since < 0 {
		if err := write(at, "hello", map[string]int64{"seq": at}); err != nil {
			return nil
		}
	}
	status := func(id int64, c bool) error {
		if closed != nil && *closed == c {
			return nil
		}
		closed = &c
		return write(id, "status", publicStatus{Closed: c})
	}
	sendEvent := func(e event.Event) error {
		switch e.Type {
		case event.Typing:
			var t conversation.Typing
			if json.Unmarshal(e.Data, &t) != nil || t.ConversationID != current {
				return nil
			}
			return write(0, "typing", s.publicTyping(r.Context(), t))
		case event.ConversationUpdated:
			var c conversation.Conversation
			if json.Unmarshal(e.Data, &c) != nil || c.ID < current {
				return nil
			}
			if c.ID > current {
				current = c.ID
			}
			return status(e.Seq, c.Status == conversation.Closed)
		}
		var m conversation.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return nil
		}
		if m.ConversationID > current {
			// A message after a close began a new conversation.
			if current != 0 {
				if err := status(0, false); err != nil {
					return err
				}
			}
			current = m.ConversationID
		}
		return write(e.Seq, "message", s.publicOf(r.Context(), &m))
	}
	for _, e := range replay {
		if err := sendEvent(e); err != nil {
			return nil
		}
	}
	if v.ContactID == 0 && len(replay) > 0 {
		return nil // the first message was in the replay: reconnect
	}
	heartbeat := time.NewTicker(25 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case <-s.life.closing:
			return nil
		case <-r.Context().Done():
			return nil
		case <-sub.Done():
			return nil // the browser reconnects with Last-Event-ID
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case e := <-sub.C():
			if err := sendEvent(*e); err != nil {
				return nil
			}
			s.metrics.EventsDelivered.Inc()
		}
	}
}

// streamSince is where a visitor's event stream resumes. EventSource
// reconnects by itself to the URL it was opened with (and so with the
// ?since= of that time), adding Last-Event-ID with the last event it
// received: the header is newer, so it wins.
func streamSince(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("since")
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

// widgetJS serves the embeddable chat widget.
func (s *publicAPI) widgetJS(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("ETag", `"`+s.widgetHash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(s.widgetScript))
	return nil
}
