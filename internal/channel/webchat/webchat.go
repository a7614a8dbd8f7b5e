// Package webchat is the web chat channel: visitors of a site chat through
// the embeddable widget. A visitor gets a secret token at the start (kept by
// the widget across page reloads); a site may vouch for who the visitor is
// by passing an identifier with its HMAC-SHA256 under the inbox secret, so
// the same person is one contact on every device.
package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Visitor is a person chatting through the widget.
type Visitor struct {
	ID         int64
	InboxID    int64
	ContactID  int64
	Identifier string // the site's id for the person, when verified
}

// Uploader names the visitor as the owner of files they upload.
func (v Visitor) Uploader() string { return attachment.Uploader("visitor", v.ID) }

// Service runs the channel.
type Service struct {
	db      *db.DB
	inboxes *inbox.Store
	conv    *conversation.Service

	mu         sync.Mutex // guards visitors and inboxCache
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
	f := problem.Fields{}
	st.Name = strings.TrimSpace(st.Name)
	if utf8.RuneCountInString(st.Name) > 100 || !utf8.ValidString(st.Name) {
		f.Add("name", "A name has at most 100 characters.")
	}
	if st.Email != "" {
		st.Email = user.NormalizeEmail(st.Email)
		if m := user.ValidateEmail(st.Email); m != "" {
			f.Add("email", "%s", m)
		}
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
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		c, _, err := contact.FindOrCreate(ctx, tx, in.ID, external, contact.Profile{Name: st.Name, Email: st.Email})
		if err != nil {
			return err
		}
		now := db.Now()
		var ident *string
		if st.Identifier != "" {
			ident = &st.Identifier
		}
		sess.Visitor = Visitor{InboxID: in.ID, ContactID: c.ID, Identifier: st.Identifier}
		return tx.QueryRow(ctx, `INSERT INTO webchat_visitors (inbox_id, contact_id, token_hash, identifier, created_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, in.ID, c.ID, hashToken(token), ident, now).Scan(&sess.Visitor.ID)
	})
	sess.ContactID = sess.Visitor.ContactID
	return sess, err
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
	var v Visitor
	var ident *string
	err := s.db.QueryRow(ctx, `SELECT id, inbox_id, contact_id, identifier FROM webchat_visitors WHERE token_hash = $1`, h).
		Scan(&v.ID, &v.InboxID, &v.ContactID, &ident)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return v, ErrUnknownVisitor
	} else if err != nil {
		return v, fmt.Errorf("webchat: visitor: %w", err)
	}
	if ident != nil {
		v.Identifier = *ident
	}
	s.mu.Lock()
	if len(s.visitors) > 200_000 {
		clear(s.visitors)
	}
	s.visitors[h] = cachedVisitor{v: v, expires: time.Now().Add(time.Minute)}
	s.mu.Unlock()
	return v, nil
}

// Send is a visitor's message.
type Send struct {
	// ID is the widget's own id for the message (a UUID); sending the same
	// id again (a retry) stores the message once.
	ID            string  `json:"id"`
	Text          string  `json:"text"`
	AttachmentIDs []int64 `json:"attachments,omitempty"`
}

// Receive stores a visitor's message.
func (s *Service) Receive(ctx context.Context, v Visitor, m Send) (conversation.Receipt, error) {
	switch {
	case m.ID == "":
		return conversation.Receipt{}, problem.Invalid("id", "Give each message a unique id (a UUID), so a retry is not stored twice.")
	case len(m.ID) > 64:
		return conversation.Receipt{}, problem.Invalid("id", "A message id has at most 64 characters.")
	}
	typ := conversation.TypeText
	return s.conv.Receive(ctx, conversation.Incoming{
		InboxID:   v.InboxID,
		ContactID: v.ContactID,
		// Namespaced by visitor, so one visitor's ids cannot collide with
		// (or claim) another's.
		ChannelMessageID: "v" + strconv.FormatInt(v.ID, 10) + ":" + m.ID,
		Type:             typ,
		Text:             m.Text,
		AttachmentIDs:    m.AttachmentIDs,
		Uploader:         v.Uploader(),
	})
}

// CurrentConversation returns the visitor's latest conversation on the
// inbox, or ok=false when they have not written yet.
func (s *Service) CurrentConversation(ctx context.Context, v Visitor) (int64, bool, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT id FROM conversations WHERE contact_id = $1 AND inbox_id = $2 ORDER BY id DESC LIMIT 1`, v.ContactID, v.InboxID).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, false, nil
	}
	return id, err == nil, err
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

// Messages returns a page of the visitor's current conversation, newest first.
func (s *Service) Messages(ctx context.Context, v Visitor, before int64, limit int) (conversation.Page[conversation.Message], error) {
	id, ok, err := s.CurrentConversation(ctx, v)
	if err != nil || !ok {
		return conversation.Page[conversation.Message]{Items: []conversation.Message{}}, err
	}
	return s.conv.History(ctx, id, conversation.MessageOptions{Before: before, Limit: limit, Visible: VisibleToCustomer})
}

// Seen records that the visitor's widget received (read=false) or showed
// (read=true) the agent replies up to message id upTo.
func (s *Service) Seen(ctx context.Context, v Visitor, upTo int64, read bool) error {
	id, ok, err := s.CurrentConversation(ctx, v)
	if err != nil || !ok {
		return err
	}
	rows, err := s.db.Query(ctx, `SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'outbound' AND id <= $2
		AND status IN ('sent', 'delivered') ORDER BY id DESC LIMIT 100`, id, upTo)
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
	return "wc:" + strconv.FormatInt(m.ID, 10), nil
}

// Owns reports whether a conversation is the visitor's.
func (s *Service) Owns(ctx context.Context, v Visitor, conversationID int64) bool {
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
