// Package webchat is the web chat channel: visitors of a site chat through
// the embeddable widget. A visitor gets a secret token at the start (kept by
// the widget across page reloads); a site may vouch for who the visitor is
// by passing an identifier with its HMAC-SHA256 under the inbox secret, so
// the same person is one contact on every device.
//
// An inbox may ask for the visitor's name and email first (the pre-chat
// form: Settings.PreChatForm); a session then needs both.
//
// Starting a session costs one row: the visitor's contact is made with
// their first message (a verified person who wrote before, on any device,
// is their contact from the start). Sessions whose visitor never wrote are
// pruned after a day (PruneSilent); the widget starts a new one when such
// a visitor comes back.
package webchat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Visitor is a person chatting through the widget.
type Visitor struct {
	ID      int64
	InboxID int64
	// ContactID is 0 until the visitor's first message finds or makes
	// their contact.
	ContactID  int64
	Identifier string // the site's id for the person, when verified

	// external and profile are what the contact is made with.
	external string
	profile  contact.Profile
}

// Uploader names the visitor as the owner of files they upload.
func (v Visitor) Uploader() string { return attachment.Uploader("visitor", v.ID) }

// Service runs the channel.
type Service struct {
	db      *db.DB
	inboxes *inbox.Store
	conv    *conversation.Service

	mu sync.Mutex // guards visitors and inboxCache
	// visitors caches visitors who have a contact (a visitor without one
	// is read each time, so that every node sees their first message).
	visitors   map[string]cachedVisitor
	inboxCache map[string]cachedInbox
}

type cachedVisitor struct {
	v       Visitor
	expires time.Time
}

// New returns the web chat channel.
func New(d *db.DB, inboxes *inbox.Store, conv *conversation.Service) *Service {
	return &Service{db: d, inboxes: inboxes, conv: conv, visitors: map[string]cachedVisitor{}, inboxCache: map[string]cachedInbox{}}
}

// ErrUnknownVisitor is returned for a token that is not a visitor's.
var ErrUnknownVisitor = &problem.Error{Kind: problem.KindUnauthorized, Message: "This chat session has ended; reload the page to start a new one."}

// Start is what the widget sends to begin a session.
type Start struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// Identifier is the site's id for a signed-in user; IdentifierHash is
	// hex(HMAC-SHA256(inbox secret, Identifier)), computed by the site's
	// server.
	Identifier     string `json:"identifier,omitempty"`
	IdentifierHash string `json:"identifier_hash,omitempty"`
}

// Session is a started visitor session.
type Session struct {
	Token     string  `json:"token"`
	Visitor   Visitor `json:"-"`
	Inbox     Site    `json:"-"`
	ContactID int64   `json:"-"`
}

// Inbox returns the web chat inbox with the public token.
func (s *Service) Inbox(ctx context.Context, token string) (Site, error) {
	in, err := s.inboxes.ByToken(ctx, token)
	if err != nil {
		return Site{}, err
	}
	if in.Type != Type {
		return Site{}, problem.NotFound("Inbox")
	}
	return siteOf(in)
}

// ErrArchived refuses a new chat on an archived inbox.
var ErrArchived = problem.Conflict("This chat is closed: messages are no longer taken here.")

// Sign computes the identifier hash a site sends with a verified identity.
func Sign(secret, identifier string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(identifier))
	return hex.EncodeToString(m.Sum(nil))
}

// StartSession begins a visitor session on the inbox with the public token.
func (s *Service) StartSession(ctx context.Context, inboxToken string, st Start) (Session, error) {
	in, err := s.Inbox(ctx, inboxToken)
	if err != nil {
		return Session{}, err
	}
	if in.ArchivedAt != nil {
		return Session{}, ErrArchived
	}
	f := problem.Fields{}
	st.Name = strings.TrimSpace(st.Name)
	st.Email = strings.TrimSpace(st.Email)
	switch {
	case utf8.RuneCountInString(st.Name) > 100 || !utf8.ValidString(st.Name):
		f.Add("name", "A name has at most 100 characters.")
	case st.Name == "" && in.Settings.PreChatForm:
		f.Add("name", "Enter your name.")
	}
	switch {
	case st.Email != "":
		st.Email = user.NormalizeEmail(st.Email)
		if m := user.ValidateEmail(st.Email); m != "" {
			f.Add("email", "%s", m)
		}
	case in.Settings.PreChatForm:
		f.Add("email", "Enter your email address.")
	}
	if len(st.Identifier) > 200 {
		f.Add("identifier", "An identifier has at most 200 characters.")
	}
	if err := f.Err(); err != nil {
		return Session{}, err
	}
	var external string
	switch {
	case st.Identifier != "":
		secret, err := s.Secret(ctx, in.ID)
		if err != nil {
			return Session{}, err
		}
		want := Sign(secret, st.Identifier)
		if !hmac.Equal([]byte(want), []byte(strings.ToLower(st.IdentifierHash))) {
			return Session{}, problem.Forbidden("The identity could not be verified: identifier_hash must be the HMAC-SHA256 of identifier under the inbox secret.")
		}
		external = "user:" + st.Identifier
	case in.Settings.RequireIdentity:
		return Session{}, problem.Forbidden("This chat only accepts verified visitors: the site must pass identifier and identifier_hash.")
	default:
		external = "visitor:" + randomString(16)
	}
	token := "sbv_" + randomString(32)
	sess := Session{Token: token, Inbox: in}
	profile := contact.Profile{Name: st.Name, Email: st.Email}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		var ident, email *string
		var cid *int64
		if st.Identifier != "" {
			ident = &st.Identifier
			// A verified person who wrote before is their contact already:
			// this device shows what they wrote on another.
			c, ok, err := contact.Find(ctx, tx, in.ID, external, profile)
			if err != nil {
				return err
			}
			if ok {
				cid = &c.ID
			}
		}
		if st.Email != "" {
			email = &st.Email
		}
		sess.Visitor = Visitor{InboxID: in.ID, ContactID: deref(cid), Identifier: st.Identifier, external: external, profile: profile}
		return tx.QueryRow(ctx, `INSERT INTO webchat_visitors (inbox_id, contact_id, token_hash, identifier, external_id, name, email, created_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`, in.ID, cid, hashToken(token), ident, external, st.Name, email, db.Now()).Scan(&sess.Visitor.ID)
	})
	sess.ContactID = sess.Visitor.ContactID
	return sess, err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// Visitor returns the visitor with a session token.
func (s *Service) Visitor(ctx context.Context, token string) (Visitor, error) {
	if !strings.HasPrefix(token, "sbv_") || len(token) > 100 {
		return Visitor{}, ErrUnknownVisitor
	}
	h := hashToken(token)
	s.mu.Lock()
	c, ok := s.visitors[h]
	s.mu.Unlock()
	if ok && time.Now().Before(c.expires) {
		return c.v, nil
	}
	v, err := s.readVisitor(ctx, `token_hash = $1`, h)
	if err != nil || v.ContactID == 0 {
		return v, err
	}
	s.mu.Lock()
	if len(s.visitors) > 200_000 {
		clear(s.visitors)
	}
	s.visitors[h] = cachedVisitor{v: v, expires: time.Now().Add(time.Minute)}
	s.mu.Unlock()
	return v, nil
}

// VisitorByID returns the visitor with the id (whose event stream ticket
// was checked), read from the database.
func (s *Service) VisitorByID(ctx context.Context, id int64) (Visitor, error) {
	return s.readVisitor(ctx, `id = $1`, id)
}

// readVisitor reads the visitor whose row matches where.
func (s *Service) readVisitor(ctx context.Context, where string, arg any) (Visitor, error) {
	var v Visitor
	var cid *int64
	var ident, email *string
	err := s.db.QueryRow(ctx, `SELECT id, inbox_id, contact_id, identifier, external_id, name, email FROM webchat_visitors WHERE `+where, arg).
		Scan(&v.ID, &v.InboxID, &cid, &ident, &v.external, &v.profile.Name, &email)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return v, ErrUnknownVisitor
	} else if err != nil {
		return v, fmt.Errorf("webchat: visitor: %w", err)
	}
	v.ContactID, v.Identifier, v.profile.Email = deref(cid), deref(ident), deref(email)
	return v, nil
}

// Send is a visitor's message.
type Send struct {
	// ID is the widget's own id for the message (a UUID); sending the same
	// id again (a retry) stores the message once.
	ID            string  `json:"id"`
	Text          string  `json:"text"`
	AttachmentIDs []int64 `json:"attachments,omitempty"`
	// Reply is a tap on a reply button or a list row of a business's
	// message, sent instead of a text: the message says the choice's
	// title.
	Reply *Choice `json:"reply,omitempty"`
}

// Receive stores a visitor's message.
func (s *Service) Receive(ctx context.Context, v Visitor, m Send) (conversation.Receipt, error) {
	switch {
	case m.ID == "":
		return conversation.Receipt{}, problem.Invalid("id", "Give each message a unique id (a UUID), so a retry is not stored twice.")
	case len(m.ID) > 64:
		return conversation.Receipt{}, problem.Invalid("id", "A message id has at most 64 characters.")
	}
	in := conversation.Incoming{
		InboxID:   v.InboxID,
		ContactID: v.ContactID,
		// Namespaced by visitor, so one visitor's ids cannot collide with
		// (or claim) another's.
		ChannelMessageID: ChannelMessageID(v, m.ID),
		Type:             conversation.TypeText,
		Text:             m.Text,
		AttachmentIDs:    m.AttachmentIDs,
		Uploader:         v.Uploader(),
	}
	if m.Reply != nil {
		if m.Text != "" || len(m.AttachmentIDs) > 0 {
			return conversation.Receipt{}, problem.Invalid("reply", "A choice is sent alone, without a text or files.")
		}
		r, err := s.choose(ctx, v, *m.Reply)
		if err != nil {
			return conversation.Receipt{}, err
		}
		in.Type, in.Text, in.Content = conversation.TypeInteractive, r.Title, replyContent(r, db.Now())
		in.ReplyToChannelID, in.Choice = channelID(m.Reply.MessageID), r.ID
	}
	if v.ContactID == 0 {
		// The first message finds or makes the contact, and the session
		// keeps it; a session pruned meanwhile takes everything back.
		in.ExternalID, in.Profile = v.external, v.profile
		in.Then = func(ctx context.Context, tx *event.Tx, r *conversation.Receipt) error {
			res, err := tx.Exec(ctx, `UPDATE webchat_visitors SET contact_id = $2 WHERE id = $1 AND (contact_id IS NULL OR contact_id = $2)`,
				v.ID, r.Conversation.ContactID)
			if err != nil {
				return fmt.Errorf("webchat: first message: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrUnknownVisitor
			}
			return nil
		}
	}
	return s.conv.Receive(ctx, in)
}

// ChannelMessageID is the channel id of the visitor's message with the
// widget's id.
func ChannelMessageID(v Visitor, id string) string {
	return "v" + strconv.FormatInt(v.ID, 10) + ":" + id
}

// IsFirstMessage reports whether an event is the visitor's first message
// (for an event stream opened before it: its contact is the event's).
func IsFirstMessage(v Visitor, e *event.Event) bool {
	if e.Type != event.MessageCreated || !e.Public || e.Ref.InboxID != v.InboxID || e.ContactID == 0 {
		return false
	}
	// Quick to refuse the messages of others, then certain.
	prefix := ChannelMessageID(v, "")
	if !bytes.Contains(e.Data, []byte(`"channel_message_id":"`+prefix)) {
		return false
	}
	var m struct {
		Direction        conversation.Direction `json:"direction"`
		ChannelMessageID string                 `json:"channel_message_id"`
	}
	return json.Unmarshal(e.Data, &m) == nil && m.Direction == conversation.Inbound && strings.HasPrefix(m.ChannelMessageID, prefix)
}

// PruneSilent removes the sessions started before before whose visitor
// never wrote (they have no contact, and nothing else refers to them), a
// batch at a time, and returns how many went.
func (s *Service) PruneSilent(ctx context.Context, before time.Time) (int64, error) {
	const batch = 10_000
	var total int64
	for {
		res, err := s.db.Exec(ctx, `DELETE FROM webchat_visitors WHERE id IN (
			SELECT id FROM webchat_visitors WHERE contact_id IS NULL AND created_at < $1 LIMIT $2)`, before, batch)
		if err != nil {
			return total, fmt.Errorf("webchat: prune: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// Sessions counts the visitor sessions, and those whose visitor never
// wrote.
func (s *Service) Sessions(ctx context.Context) (all, silent int64, err error) {
	err = s.db.QueryRow(ctx, `SELECT COUNT(*), COUNT(*) - COUNT(contact_id) FROM webchat_visitors`).Scan(&all, &silent)
	return all, silent, err
}

// Current is the visitor's latest conversation on the inbox: the one the
// widget shows.
type Current struct {
	ID     int64
	Closed bool
}

// CurrentConversation returns the visitor's latest conversation on the
// inbox, or ok=false when they have not written yet.
func (s *Service) CurrentConversation(ctx context.Context, v Visitor) (Current, bool, error) {
	if v.ContactID == 0 {
		return Current{}, false, nil
	}
	var c Current
	var status conversation.Status
	err := s.db.QueryRow(ctx, `SELECT id, status FROM conversations WHERE contact_id = $1 AND inbox_id = $2 ORDER BY id DESC LIMIT 1`, v.ContactID, v.InboxID).Scan(&c.ID, &status)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return Current{}, false, nil
	} else if err != nil {
		return Current{}, false, fmt.Errorf("webchat: current conversation: %w", err)
	}
	c.Closed = status == conversation.Closed
	return c, true, nil
}

// VisibleToCustomer reports whether the customer sees a message: their own,
// and replies once they have left the outbox.
func VisibleToCustomer(m *conversation.Message) bool {
	if m.Direction == conversation.Inbound {
		return true
	}
	switch m.Status {
	case conversation.Sent, conversation.Delivered, conversation.Read:
		return true
	}
	return false
}

// Messages returns a page of the visitor's current conversation, newest
// first, and the conversation.
func (s *Service) Messages(ctx context.Context, v Visitor, before int64, limit int) (conversation.Page[conversation.Message], Current, error) {
	c, ok, err := s.CurrentConversation(ctx, v)
	if err != nil || !ok {
		return conversation.Page[conversation.Message]{Items: []conversation.Message{}}, c, err
	}
	p, err := s.conv.History(ctx, c.ID, conversation.MessageOptions{Before: before, Limit: limit, Visible: VisibleToCustomer})
	return p, c, err
}

// Typing tells the agents who may see the visitor's conversation that the
// visitor is writing (nothing before their first message: there is no
// conversation to show it in). Signals are throttled per conversation.
func (s *Service) Typing(ctx context.Context, v Visitor) error {
	c, ok, err := s.CurrentConversation(ctx, v)
	if err != nil || !ok {
		return err
	}
	_, err = s.conv.CustomerTyping(ctx, c.ID)
	return err
}

// Seen records that the visitor's widget received (read=false) or showed
// (read=true) the agent replies up to message id upTo.
func (s *Service) Seen(ctx context.Context, v Visitor, upTo int64, read bool) error {
	c, ok, err := s.CurrentConversation(ctx, v)
	if err != nil || !ok {
		return err
	}
	rows, err := s.db.Query(ctx, `SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'outbound' AND id <= $2
		AND status IN ('sent', 'delivered') ORDER BY id DESC LIMIT 100`, c.ID, upTo)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var mid int64
		if err := rows.Scan(&mid); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, mid)
	}
	rows.Close()
	status := conversation.Delivered
	if read {
		status = conversation.Read
	}
	for _, mid := range ids {
		if _, err := s.conv.SetDelivery(ctx, mid, status, "", nil); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Deliver hands an agent's reply to the visitor. The widget picks it up
// from its event stream (or its next page load), so the message is sent
// the moment it is released from the outbox.
func (s *Service) Deliver(_ context.Context, _ inbox.Inbox, m conversation.Message) (string, error) {
	return channelID(m.ID), nil
}

// Owns reports whether a conversation is the visitor's.
func (s *Service) Owns(ctx context.Context, v Visitor, conversationID int64) bool {
	if v.ContactID == 0 {
		return false
	}
	var one int
	err := s.db.QueryRow(ctx, `SELECT 1 FROM conversations WHERE id = $1 AND contact_id = $2 AND inbox_id = $3`, conversationID, v.ContactID, v.InboxID).Scan(&one)
	return err == nil
}

// InboxByID returns a web chat inbox, cached briefly: every widget request
// needs its settings.
func (s *Service) InboxByID(ctx context.Context, id int64) (Site, error) {
	key := "inbox:" + strconv.FormatInt(id, 10)
	s.mu.Lock()
	c, ok := s.inboxCache[key]
	s.mu.Unlock()
	if ok && time.Now().Before(c.expires) {
		return c.in, nil
	}
	in, err := s.inboxes.Get(ctx, id)
	if err != nil {
		return Site{}, err
	}
	site, err := siteOf(in)
	if err != nil {
		return site, err
	}
	s.mu.Lock()
	s.inboxCache[key] = cachedInbox{in: site, expires: time.Now().Add(5 * time.Second)}
	s.mu.Unlock()
	return site, nil
}

type cachedInbox struct {
	in      Site
	expires time.Time
}
