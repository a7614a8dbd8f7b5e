package conversation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/tag"
	"github.com/switchboardhq/switchboard/internal/user"
)

// SendJob is the outbox job that hands an outbound message to its channel.
const SendJob = "message.send"

// SendPayload is the payload of a SendJob.
type SendPayload struct {
	MessageID int64 `json:"message_id"`
}

// Service runs the conversation use cases.
type Service struct {
	db     *db.DB
	log    *event.Log
	queue  *job.Queue
	limits attachment.Limits

	// What channels add (see channel.go); set before serving, read-only
	// after.
	sendChecks  []SendCheck
	readHooks   []ReadHook
	replyWindow ReplyWindow
	// assigner is routing: it places conversations and hears of capacity
	// freed (see autoassign.go).
	assigner Assigner
	// auto is what Switchboard does by itself (see auto.go); nil: nothing.
	auto Automation
	// typing throttles the typing indicators (see typing.go).
	typing *realtime.Throttle[typingKey]
}

// NewService returns the conversation service; routing places the
// conversations that need an agent (nil: they stay unassigned).
func NewService(d *db.DB, log *event.Log, queue *job.Queue, limits attachment.Limits, routing Assigner) *Service {
	return &Service{db: d, log: log, queue: queue, limits: limits, assigner: routing, typing: realtime.NewThrottle[typingKey](TypingEvery, nil)}
}

// Incoming is a customer's message as a channel delivers it.
type Incoming struct {
	InboxID int64
	// The sender: a known contact (ContactID), or an identity on the inbox
	// (ExternalID, with what the channel knows of them in Profile).
	ContactID  int64
	ExternalID string
	Profile    contact.Profile
	// ChannelMessageID is the channel's id for the message; a message
	// delivered twice is stored once.
	ChannelMessageID string
	Type             MessageType
	Text             string
	Content          json.RawMessage
	// AttachmentIDs are uploads by Uploader to attach.
	AttachmentIDs []int64
	Uploader      string
	// AltExternalIDs are other identities of the sender on the inbox (a
	// WhatsApp user's phone-based id beside their business-scoped id):
	// a contact known by any of them is the sender, and the identities
	// it lacks are linked to it.
	AltExternalIDs []string
	// ReplyToChannelID is the channel's id of the message this one
	// answers; the message is linked to it when it is stored.
	ReplyToChannelID string
	// Opened is a customer opening the chat without writing (WhatsApp's
	// request_welcome): the conversation it opens waits for their first
	// message before it is routed or listed (see Conversation.Pending).
	Opened bool
	// Choice is the id of the button or list row the customer chose, for
	// an answer to an interactive message.
	Choice string
	// Then, when set, runs in the transaction that stores a new message
	// (not a redelivery), after it: a channel's own records commit with
	// the message or not at all.
	Then func(ctx context.Context, tx *event.Tx, r *Receipt) error
}

// Receipt is the outcome of Receive.
type Receipt struct {
	Message      Message
	Conversation Conversation
	// Duplicate is true when the message had already been stored.
	Duplicate bool
	// NewConversation is true when this message opened a conversation.
	NewConversation bool
}

// validText checks a message text.
func validText(text string, required bool) error {
	switch {
	case !utf8.ValidString(text):
		return problem.Invalid("text", "The text is not valid UTF-8.")
	case required && strings.TrimSpace(text) == "":
		return problem.Invalid("text", "Write a message.")
	case utf8.RuneCountInString(text) > MaxTextLength:
		return problem.Invalid("text", "A message has at most %d characters.", MaxTextLength)
	}
	return nil
}

// Receive stores a customer's message: it finds or creates the contact,
// finds the contact's open conversation on the inbox or opens a new one
// (a message after close starts a new conversation), and stores the
// message, all in one transaction with its events.
func (s *Service) Receive(ctx context.Context, in Incoming) (Receipt, error) {
	if in.ChannelMessageID == "" {
		return Receipt{}, problem.Invalid("id", "A message needs an id.")
	}
	if in.Type == "" {
		in.Type = TypeText
	}
	if err := validText(in.Text, in.Type == TypeText && len(in.AttachmentIDs) == 0); err != nil {
		return Receipt{}, err
	}
	var out Receipt
	write := s.log.Write
	if s.opensOnPostgres(ctx, in) {
		write = s.log.WriteAlone
	}
	// Two first messages of a new contact may race (on PostgreSQL): the
	// loser hits a unique index and, on retry, finds what the winner made.
	err := retryConflict(func() error {
		out = Receipt{}
		return write(ctx, func(tx *event.Tx) error { return s.receive(ctx, tx, in, &out) })
	})
	if errors.Is(err, errDuplicate) {
		return s.duplicate(ctx, in)
	}
	return out, err
}

// opensOnPostgres reports, on PostgreSQL with routing, whether in is
// likely to open a conversation (its customer has none open on the inbox,
// as a read outside the transaction sees it). Routing then locks the
// inbox's assignment row, which every new conversation of the inbox
// locks: in a batch, that lock would cross the other calls' locks and
// deadlock batches side by side (see Hot rows in the db package), so such
// a message is received in a transaction of its own. A wrong guess costs
// nothing but that: the transaction decides.
func (s *Service) opensOnPostgres(ctx context.Context, in Incoming) bool {
	if s.assigner == nil || s.db.Dialect() != db.Postgres {
		return false
	}
	var open bool
	var err error
	if in.ContactID != 0 {
		err = s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM conversations WHERE inbox_id = $1 AND contact_id = $2 AND status = 'open')`,
			in.InboxID, in.ContactID).Scan(&open)
	} else {
		err = s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contact_identities i
			JOIN conversations c ON c.inbox_id = i.inbox_id AND c.contact_id = i.contact_id AND c.status = 'open'
			WHERE i.inbox_id = $1 AND i.external_id = $2)`, in.InboxID, in.ExternalID).Scan(&open)
	}
	return err == nil && !open
}

// errDuplicate undoes a transaction whose message turned out to be stored
// already; Receive then answers with the stored one.
var errDuplicate = errors.New("conversation: message already stored")

// duplicate answers a message delivered again with what was stored the
// first time.
func (s *Service) duplicate(ctx context.Context, in Incoming) (Receipt, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT id FROM messages WHERE inbox_id = $1 AND channel_message_id = $2`, in.InboxID, in.ChannelMessageID).Scan(&id)
	if err != nil {
		return Receipt{}, fmt.Errorf("conversation: receive: duplicate: %w", db.MapErr(err))
	}
	out := Receipt{Duplicate: true}
	if out.Message, err = loadMessage(ctx, s.db, id); err != nil {
		return Receipt{}, err
	}
	out.Conversation, err = load(ctx, s.db, out.Message.ConversationID)
	return out, err
}

func retryConflict(fn func() error) error {
	var err error
	for range 3 {
		if err = fn(); !errors.Is(err, db.ErrConflict) {
			return err
		}
	}
	return err
}

// receive stores an inbound message. The common case, a known contact
// writing in an open conversation, costs four statements before the event
// log's: the open conversation (with its contact and tags), the message
// (whose unique index also catches a redelivery), and the conversation's
// update. A redelivered message ends the transaction with errDuplicate.
func (s *Service) receive(ctx context.Context, tx *event.Tx, in Incoming, out *Receipt) error {
	// An archived inbox has no open conversation (archiving closes them,
	// and none is reopened or created there): only createConversation
	// needs to look.
	var c Conversation
	var created bool
	var err error
	if in.ContactID != 0 {
		c, err = findOpen(ctx, tx.Tx, in.InboxID, in.ContactID)
		if errors.Is(err, ErrNotFound) {
			ct := contact.Contact{ID: in.ContactID}
			err = tx.QueryRow(ctx, `SELECT name, phone, email, owner_id FROM contacts WHERE id = $1`, in.ContactID).Scan(&ct.Name, &ct.Phone, &ct.Email, &ct.OwnerID)
			if err != nil {
				return fmt.Errorf("conversation: receive: contact: %w", db.MapErr(err))
			}
			if c, err = s.claim(ctx, tx, &in, ct.ID); err == nil && c.ID == 0 {
				c, err = createConversation(ctx, tx.Tx, in.InboxID, ct, ByCustomer)
				created = true
			}
		}
	} else {
		ids := append([]string{in.ExternalID}, in.AltExternalIDs...)
		c, err = openOf(ctx, tx.Tx, in.InboxID, ids, in.Profile)
		if errors.Is(err, ErrNotFound) {
			var ct contact.Contact
			if len(in.AltExternalIDs) > 0 {
				ct, _, err = contact.FindOrCreateAny(ctx, tx.Tx, in.InboxID, ids, in.Profile)
			} else {
				ct, _, err = contact.FindOrCreate(ctx, tx.Tx, in.InboxID, in.ExternalID, in.Profile)
			}
			if err != nil {
				return err
			}
			if c, err = s.claim(ctx, tx, &in, ct.ID); err == nil && c.ID == 0 {
				c, created, err = openConversation(ctx, tx.Tx, in.InboxID, ct, ByCustomer)
			}
		}
	}
	if err != nil {
		return err
	}
	// What this message starts: the customer's first words (in a new
	// conversation, or one they had only opened), a turn waiting for an
	// answer (the first message after a person's reply).
	arrival := Arrival{Opened: in.Opened, Answer: c.Status == Closed, Choice: in.Choice}
	if !in.Opened {
		arrival.FirstMessage = created || c.awaiting
		lastIn, lastOut := c.LastCustomerMessageAt, c.LastAgentMessageAt
		arrival.NewTurn = c.Status == Open && (c.lastCustomerMessageID == 0 || lastIn == nil || (lastOut != nil && lastOut.After(*lastIn)))
	}
	now := db.Now()
	m := Message{ConversationID: c.ID, InboxID: in.InboxID, Direction: Inbound, SenderType: SenderContact, Type: in.Type,
		Text: in.Text, Content: in.Content, Status: Received, ChannelMessageID: &in.ChannelMessageID, CreatedAt: now, UpdatedAt: now}
	if in.ReplyToChannelID != "" {
		if m.ReplyToID, err = messageByChannelID(ctx, tx.Tx, in.InboxID, in.ReplyToChannelID); err != nil {
			return err
		}
	}
	if tx.Dialect() == db.Postgres && len(in.AttachmentIDs) == 0 && m.ReplyToID == nil && !in.Opened {
		if err := insertInboundPostgres(ctx, tx.Tx, &m, &c); err != nil {
			return err // errDuplicate for a redelivery
		}
	} else {
		if err := insertMessage(ctx, tx.Tx, &m); err != nil {
			return err // errDuplicate for a redelivery
		}
		if len(in.AttachmentIDs) > 0 {
			if m.Attachments, err = attachment.Link(ctx, tx.Tx, m.ID, in.Uploader, in.AttachmentIDs, s.limits); err != nil {
				return err
			}
		}
		c.LastMessageID, c.LastMessagePreview, c.LastActivityAt, c.UpdatedAt = m.ID, keepPreview(c.LastMessagePreview, &m), now, now
		if in.Opened {
			// Not the customer's words: the conversation stays pending.
			c.awaiting = c.awaiting || created
			_, err = tx.Exec(ctx, `UPDATE conversations SET last_message_id = $2, last_activity_at = $3, updated_at = $3, awaiting_customer = $4
				WHERE id = $1`, c.ID, m.ID, now, c.awaiting)
		} else {
			c.LastCustomerMessageAt, c.lastCustomerMessageID, c.awaiting = &now, m.ID, false
			_, err = tx.Exec(ctx, `UPDATE conversations SET last_message_id = $2, last_customer_message_id = $2, last_message_preview = $3,
				last_activity_at = $4, last_customer_message_at = $4, first_customer_message_at = COALESCE(first_customer_message_at, $4),
				awaiting_customer = FALSE, updated_at = $4 WHERE id = $1`, c.ID, m.ID, c.LastMessagePreview, now)
		}
		if err != nil {
			return fmt.Errorf("conversation: receive: %w", err)
		}
	}
	// The assignee before this message (none for a new conversation);
	// a new conversation may be assigned automatically.
	prev := deref(c.AssigneeID)
	if arrival.FirstMessage && c.AssigneeID == nil {
		if err := s.autoAssign(ctx, tx, &c); err != nil {
			return err
		}
	}
	out.Message, out.Conversation, out.NewConversation = m, c, created
	if in.Then != nil {
		if err := in.Then(ctx, tx, out); err != nil {
			return err
		}
		m, c = out.Message, out.Conversation
	}
	// After the channel's records (WhatsApp's window opens with them).
	if s.auto != nil {
		if err := s.auto.Received(ctx, tx, &c, &m, arrival); err != nil {
			return err
		}
		out.Conversation = c
	}
	if c.Pending() {
		return nil // not shown until the customer writes
	}
	typ := event.ConversationUpdated
	if arrival.FirstMessage {
		typ = event.ConversationCreated
	}
	emitConversation(tx, typ, &c, prev)
	emitMessage(tx, event.MessageCreated, &m, &c, true)
	return nil
}

// claim asks automation whether a customer's message that would open a
// conversation answers one of the contact's closed ones (a survey), and
// returns that conversation (ID 0: none).
func (s *Service) claim(ctx context.Context, tx *event.Tx, in *Incoming, contactID int64) (Conversation, error) {
	if s.auto == nil || in.Opened {
		return Conversation{}, nil
	}
	id, err := s.auto.Claim(ctx, tx, in.InboxID, contactID, in)
	if err != nil || id == 0 {
		return Conversation{}, err
	}
	return load(ctx, tx.Tx, id)
}

// findOpen returns the contact's open conversation on the inbox, with its
// contact and tags, or ErrNotFound.
func findOpen(ctx context.Context, tx *db.Tx, inboxID, contactID int64) (Conversation, error) {
	c, err := scanConv(tx.QueryRow(ctx, `SELECT `+withTagsInWrite(tx.Dialect())+` FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
		WHERE c.inbox_id = $1 AND c.contact_id = $2 AND c.status = 'open'`, inboxID, contactID))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return c, ErrNotFound
	} else if err != nil {
		return c, fmt.Errorf("conversation: find open: %w", err)
	}
	return c, nil
}

// openOf is the open conversation on the inbox of the contact that every
// one of externalIDs already names, when that contact has nothing for
// the profile to fill in (contact.FindOrCreateAny would change nothing):
// the usual message, a customer writing again, in one query instead of
// two. Otherwise ErrNotFound, and the message takes the long way.
func openOf(ctx context.Context, tx *db.Tx, inboxID int64, externalIDs []string, p contact.Profile) (Conversation, error) {
	var ids []string
	for _, id := range externalIDs {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return Conversation{}, ErrNotFound
	}
	args := append(make([]any, 0, len(ids)+1), inboxID)
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = "$" + strconv.Itoa(i+2)
	}
	rows, err := tx.Query(ctx, `SELECT `+withTagsInWrite(tx.Dialect())+` FROM contact_identities i
		JOIN conversations c ON c.inbox_id = i.inbox_id AND c.contact_id = i.contact_id AND c.status = 'open'
		JOIN contacts ct ON ct.id = i.contact_id
		WHERE i.inbox_id = $1 AND i.external_id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation: find open: %w", err)
	}
	defer rows.Close()
	var c Conversation
	n := 0
	for rows.Next() {
		got, err := scanConv(rows)
		if err != nil {
			return Conversation{}, fmt.Errorf("conversation: find open: %w", err)
		}
		if n > 0 && got.ID != c.ID {
			return Conversation{}, ErrNotFound // the identities name different customers
		}
		c = got
		n++
	}
	if err := rows.Err(); err != nil {
		return Conversation{}, fmt.Errorf("conversation: find open: %w", err)
	}
	if n != len(ids) || (c.Contact.Name == "" && p.Name != "") || (c.Contact.Phone == nil && p.Phone != "") {
		return Conversation{}, ErrNotFound
	}
	return c, nil
}

// insertInboundPostgres stores an inbound message without attachments and
// moves its conversation on in one statement (a data-modifying CTE, which
// SQLite lacks): on PostgreSQL every statement is a round trip. A message
// stored before inserts nothing, updates nothing and is errDuplicate.
func insertInboundPostgres(ctx context.Context, tx *db.Tx, m *Message, c *Conversation) error {
	err := tx.QueryRow(ctx, `WITH m AS (
			INSERT INTO messages (conversation_id, inbox_id, direction, sender_type, type, text, content, status, channel_message_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
			ON CONFLICT (inbox_id, channel_message_id) DO NOTHING RETURNING id)
		UPDATE conversations SET last_message_id = m.id, last_customer_message_id = m.id,
			last_message_preview = CASE WHEN $11 = '' THEN conversations.last_message_preview ELSE $11 END,
			last_activity_at = $10, last_customer_message_at = $10, first_customer_message_at = COALESCE(conversations.first_customer_message_at, $10),
			awaiting_customer = FALSE, updated_at = $10
		FROM m WHERE conversations.id = $1 RETURNING m.id`,
		m.ConversationID, m.InboxID, m.Direction, m.SenderType, m.Type, m.Text, string(m.Content), m.Status, m.ChannelMessageID, m.CreatedAt,
		preview(m)).Scan(&m.ID)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return errDuplicate
	} else if err != nil {
		return fmt.Errorf("conversation: receive: %w", err)
	}
	m.Attachments = []attachment.Attachment{}
	now := m.CreatedAt
	c.LastMessageID, c.LastMessagePreview, c.LastActivityAt, c.LastCustomerMessageAt, c.UpdatedAt = m.ID, keepPreview(c.LastMessagePreview, m), now, &now, now
	c.lastCustomerMessageID, c.awaiting = m.ID, false
	return nil
}

// openConversation returns the contact's open conversation on the inbox,
// opening one when there is none.
func openConversation(ctx context.Context, tx *db.Tx, inboxID int64, ct contact.Contact, by StartedBy) (Conversation, bool, error) {
	c, err := findOpen(ctx, tx, inboxID, ct.ID)
	if !errors.Is(err, ErrNotFound) {
		return c, false, err
	}
	c, err = createConversation(ctx, tx, inboxID, ct, by)
	return c, err == nil, err
}

// createConversation opens a conversation for the contact on the inbox.
func createConversation(ctx context.Context, tx *db.Tx, inboxID int64, ct contact.Contact, by StartedBy) (Conversation, error) {
	if err := archived(ctx, tx, inboxID); err != nil && !errors.Is(err, db.ErrNotFound) {
		return Conversation{}, err
	}
	now := db.Now()
	c := Conversation{InboxID: inboxID, ContactID: ct.ID, Contact: Party{Name: ct.Name, Phone: ct.Phone, Email: ct.Email}, Status: Open,
		OwnerID: ct.OwnerID, StartedBy: by, Tags: []string{}, LastActivityAt: now, CreatedAt: now, UpdatedAt: now}
	err := tx.QueryRow(ctx, `INSERT INTO conversations (inbox_id, contact_id, status, owner_id, started_by, last_activity_at, created_at, updated_at)
		VALUES ($1, $2, 'open', $3, $4, $5, $5, $5) RETURNING id`, inboxID, ct.ID, ct.OwnerID, by, now).Scan(&c.ID)
	if err != nil {
		return c, fmt.Errorf("conversation: open: %w", err)
	}
	return c, nil
}

func insertMessage(ctx context.Context, tx *db.Tx, m *Message) error {
	var content string
	if len(m.Content) > 0 {
		content = string(m.Content)
	}
	var code, msg string
	if m.Error != nil {
		code, msg = m.Error.Code, m.Error.Message
	}
	q := `INSERT INTO messages (conversation_id, inbox_id, direction, sender_type, sender_id, type, text, content, status,
		error_code, error_message, channel_message_id, idempotency_key, reply_to_id, created_at, updated_at, auto_kind)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16) RETURNING id`
	if m.ChannelMessageID != nil {
		// A channel's message stored before is a redelivery, not an error.
		q = `INSERT INTO messages (conversation_id, inbox_id, direction, sender_type, sender_id, type, text, content, status,
		error_code, error_message, channel_message_id, idempotency_key, reply_to_id, created_at, updated_at, auto_kind)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16)
		ON CONFLICT (inbox_id, channel_message_id) DO NOTHING RETURNING id`
	}
	err := tx.QueryRow(ctx, q, m.ConversationID, m.InboxID, m.Direction, m.SenderType, m.SenderID, m.Type, m.Text, content, m.Status,
		code, msg, m.ChannelMessageID, m.IdempotencyKey, m.ReplyToID, m.CreatedAt, nullString(m.AutoKind)).Scan(&m.ID)
	if m.ChannelMessageID != nil && errors.Is(db.MapErr(err), db.ErrNotFound) {
		return errDuplicate
	}
	if err != nil {
		return fmt.Errorf("conversation: insert message: %w", err)
	}
	if m.Attachments == nil {
		m.Attachments = []attachment.Attachment{}
	}
	return nil
}

func emitConversation(tx *event.Tx, typ string, c *Conversation, prevAssignee int64) {
	e := event.New(typ, c)
	e.ConversationID, e.ContactID, e.Ref, e.PrevAssigneeID = c.ID, c.ContactID, c.ref(), prevAssignee
	tx.Emit(e)
}

func emitMessage(tx *event.Tx, typ string, m *Message, c *Conversation, public bool) {
	e := event.New(typ, m)
	e.ConversationID, e.ContactID, e.Ref, e.Public = c.ID, c.ContactID, c.ref(), public
	tx.Emit(e)
}

// Outgoing is an agent's reply.
type Outgoing struct {
	Text string `json:"text"`
	// IdempotencyKey makes a retried send (a double click, a client retry)
	// return the first message instead of sending again.
	IdempotencyKey string  `json:"idempotency_key"`
	AttachmentIDs  []int64 `json:"attachments"`
	// Type and Content carry a channel's own kinds of message (WhatsApp
	// buttons, lists, templates, reactions), set by that channel's API;
	// Text is then what the message says, for lists and search. Plain
	// sends are text with files.
	Type    MessageType     `json:"-"`
	Content json.RawMessage `json:"-"`
}

// Send stores an agent's reply as pending and enqueues it in the outbox,
// in one transaction. Replying to an unassigned conversation assigns it to
// the sender. With an idempotency key already used by the sender it
// returns the first message and created=false. The channel's send checks
// (see CheckSends) may refuse it or set when it goes.
func (s *Service) Send(ctx context.Context, a policy.Actor, convID int64, o Outgoing) (Message, bool, error) {
	m, _, created, err := s.post(ctx, a, o, convID, func(tx *event.Tx) (Conversation, bool, error) {
		c, err := s.visible(ctx, tx.Tx, a, convID)
		if err != nil {
			return c, false, err
		}
		if c.Status != Open {
			return c, false, problem.Conflict("This conversation is closed: reopen it to reply.")
		}
		return c, false, nil
	})
	return m, created, err
}

// post stores an agent's message in the conversation that locate finds
// (or opens, reporting so), in one transaction with its job and events.
func (s *Service) post(ctx context.Context, a policy.Actor, o Outgoing, convID int64, locate func(tx *event.Tx) (Conversation, bool, error)) (Message, Conversation, bool, error) {
	f := problem.Fields{}
	if err := validText(o.Text, len(o.AttachmentIDs) == 0 && (o.Type == "" || o.Type == TypeText)); err != nil {
		p, _ := problem.As(err)
		f.Add("text", "%s", p.Fields["text"])
	}
	if utf8.RuneCountInString(o.IdempotencyKey) > 100 {
		f.Add("idempotency_key", "An idempotency key has at most 100 characters.")
	}
	if len(o.AttachmentIDs) > s.limits.PerMessage {
		f.Add("attachments", "At most %d attachments per message.", s.limits.PerMessage)
	}
	if err := f.Err(); err != nil {
		return Message{}, Conversation{}, false, err
	}
	var m Message
	var c Conversation
	created := false
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		if o.IdempotencyKey != "" {
			var id int64
			err := tx.QueryRow(ctx, `SELECT id FROM messages WHERE sender_id = $1 AND idempotency_key = $2`, a.UserID, o.IdempotencyKey).Scan(&id)
			if err == nil {
				if m, err = loadMessage(ctx, tx, id); err != nil {
					return err
				}
				if convID != 0 && m.ConversationID != convID {
					return problem.Conflict("This idempotency key was already used for another conversation.")
				}
				c, err = load(ctx, tx, m.ConversationID)
				return err
			} else if !errors.Is(db.MapErr(err), db.ErrNotFound) {
				return err
			}
		}
		var opened bool
		var err error
		if c, opened, err = locate(tx); err != nil {
			return err
		}
		now := db.Now()
		sender := a.UserID
		m = Message{ConversationID: c.ID, InboxID: c.InboxID, Direction: Outbound, SenderType: SenderAgent, SenderID: &sender,
			Type: TypeText, Text: o.Text, Content: o.Content, Status: Pending, CreatedAt: now, UpdatedAt: now}
		if o.Type != "" {
			m.Type = o.Type
		}
		if o.IdempotencyKey != "" {
			m.IdempotencyKey = &o.IdempotencyKey
		}
		runAt, err := s.storeOutbound(ctx, tx, &c, &m, o, attachment.Uploader("user", a.UserID))
		if err != nil {
			return err
		}
		prev := deref(c.AssigneeID)
		if c.AssigneeID == nil && c.BotID == nil {
			// The reply takes the conversation (unless a bot holds it,
			// which keeps it until it is handed off): shown before the
			// reply.
			c.AssigneeID = &sender
			if err := record(ctx, tx.Tx, &c, a.UserID, Activity{Kind: ActAssigned, AssigneeID: &sender}); err != nil {
				return err
			}
		}
		c.LastMessageID, c.LastMessagePreview, c.LastActivityAt, c.LastAgentMessageAt, c.UpdatedAt = m.ID, keepPreview(c.LastMessagePreview, &m), now, &now, now
		_, err = tx.Exec(ctx, `UPDATE conversations SET last_message_id = $2, last_message_preview = $3, last_activity_at = $4,
			last_agent_message_at = $4, first_response_at = COALESCE(first_response_at, $4), updated_at = $4, assignee_id = $5 WHERE id = $1`,
			c.ID, m.ID, c.LastMessagePreview, now, c.AssigneeID)
		if err != nil {
			return fmt.Errorf("conversation: send: %w", err)
		}
		if s.auto != nil {
			if err := s.auto.Answered(ctx, tx, &c, &m); err != nil {
				return err
			}
		}
		if err := markRead(ctx, tx.Tx, a.UserID, c.ID, m.ID); err != nil {
			return err
		}
		if err := s.enqueueSend(ctx, tx, m.ID, runAt); err != nil {
			return err
		}
		typ := event.ConversationUpdated
		if opened {
			typ = event.ConversationCreated
		}
		emitConversation(tx, typ, &c, prev)
		emitMessage(tx, event.MessageCreated, &m, &c, false)
		created = true
		return nil
	})
	if errors.Is(err, db.ErrConflict) && o.IdempotencyKey != "" {
		// A concurrent retry with the same key won: answer with its message.
		return s.post(ctx, a, o, convID, locate)
	}
	return m, c, created, err
}

// storeOutbound stores m, an outbound message of c, with the files
// uploader gave it (o's), and runs the channel's send checks, which may
// refuse it; it returns when the send job should run (zero: now).
// Agents' replies and the messages Switchboard sends share it.
func (s *Service) storeOutbound(ctx context.Context, tx *event.Tx, c *Conversation, m *Message, o Outgoing, uploader string) (time.Time, error) {
	if err := insertMessage(ctx, tx.Tx, m); err != nil {
		return time.Time{}, err
	}
	if len(o.AttachmentIDs) > 0 {
		var err error
		if m.Attachments, err = attachment.Link(ctx, tx.Tx, m.ID, uploader, o.AttachmentIDs, s.limits); err != nil {
			return time.Time{}, err
		}
		if o.Type == "" {
			m.Type = MessageType(m.Attachments[0].Kind)
			if _, err := tx.Exec(ctx, `UPDATE messages SET type = $2 WHERE id = $1`, m.ID, m.Type); err != nil {
				return time.Time{}, err
			}
		}
	}
	var runAt time.Time
	for _, check := range s.sendChecks {
		at, err := check(ctx, tx, c, m)
		if err != nil {
			return time.Time{}, err
		}
		if at.After(runAt) {
			runAt = at
		}
	}
	return runAt, nil
}

// enqueueSend puts a stored outbound message in the outbox.
func (s *Service) enqueueSend(ctx context.Context, tx *event.Tx, messageID int64, runAt time.Time) error {
	_, err := s.queue.Enqueue(ctx, tx.Tx, SendJob, SendPayload{MessageID: messageID}, job.Options{MaxAttempts: 12, RunAt: runAt})
	return err
}

// visible loads a conversation in tx and checks the actor may see it.
func (s *Service) visible(ctx context.Context, tx *db.Tx, a policy.Actor, id int64) (Conversation, error) {
	c, err := load(ctx, tx, id)
	if err != nil {
		return c, err
	}
	if !policy.ConversationScope(a).Allows(c.ref()) {
		return Conversation{}, ErrNotFound
	}
	return c, nil
}

func markRead(ctx context.Context, tx *db.Tx, userID, convID, messageID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO conversation_reads (user_id, conversation_id, last_read_message_id) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_message_id = excluded.last_read_message_id
		WHERE conversation_reads.last_read_message_id < excluded.last_read_message_id`, userID, convID, messageID)
	return err
}

// MarkRead records that the actor has seen the conversation up to its
// last message, then tells the channel (see OnRead).
func (s *Service) MarkRead(ctx context.Context, a policy.Actor, id int64) error {
	var c Conversation
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		if c, err = s.visible(ctx, tx, a, id); err != nil {
			return err
		}
		return markRead(ctx, tx, a.UserID, id, c.LastMessageID)
	})
	if err != nil {
		return err
	}
	for _, h := range s.readHooks {
		h(ctx, a, c)
	}
	return nil
}

// change loads a visible conversation in a transaction, lets fn change
// it, and writes the conversation.updated event.
func (s *Service) change(ctx context.Context, a policy.Actor, id int64, fn func(tx *event.Tx, c *Conversation) error) (Conversation, error) {
	var c Conversation
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		if c, err = s.visible(ctx, tx.Tx, a, id); err != nil {
			return err
		}
		prev := deref(c.AssigneeID)
		if err := fn(tx, &c); err != nil {
			return err
		}
		emitConversation(tx, event.ConversationUpdated, &c, prev)
		return nil
	})
	return c, err
}

// Close closes an open conversation.
func (s *Service) Close(ctx context.Context, a policy.Actor, id int64) (Conversation, error) {
	return s.change(ctx, a, id, func(tx *event.Tx, c *Conversation) error {
		if c.Status == Closed {
			return problem.Conflict("This conversation is already closed.")
		}
		return s.closeIn(ctx, tx, c, a.UserID, "")
	})
}

// Reopen opens a closed conversation again, unless the contact has since
// started another one on the same inbox.
func (s *Service) Reopen(ctx context.Context, a policy.Actor, id int64) (Conversation, error) {
	c, err := s.change(ctx, a, id, func(tx *event.Tx, c *Conversation) error {
		if c.Status == Open {
			return problem.Conflict("This conversation is already open.")
		}
		if err := archived(ctx, tx.Tx, c.InboxID); err != nil {
			return err
		}
		now := db.Now()
		c.Status, c.ClosedAt, c.UpdatedAt = Open, nil, now
		if _, err := tx.Exec(ctx, `UPDATE conversations SET status = 'open', closed_at = NULL, updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		return record(ctx, tx.Tx, c, a.UserID, Activity{Kind: ActReopened})
	})
	if errors.Is(err, db.ErrConflict) {
		return c, problem.Conflict("This contact already has an open conversation in this inbox: continue there.")
	}
	return c, err
}

// Assign gives the conversation to assigneeID (nil to unassign). The
// assignee must be allowed to work the conversation's inbox.
func (s *Service) Assign(ctx context.Context, a policy.Actor, id int64, assigneeID *int64) (Conversation, error) {
	return s.change(ctx, a, id, func(tx *event.Tx, c *Conversation) error {
		if assigneeID != nil {
			var role policy.Role
			err := tx.QueryRow(ctx, `SELECT role FROM users WHERE id = $1 AND deactivated_at IS NULL`, *assigneeID).Scan(&role)
			if errors.Is(db.MapErr(err), db.ErrNotFound) {
				return problem.Invalid("assignee_id", "There is no agent with id %d.", *assigneeID)
			} else if err != nil {
				return err
			}
			inboxes, err := user.Inboxes(ctx, tx, *assigneeID)
			if err != nil {
				return err
			}
			if !policy.MayBeAssigned(role, inboxes, c.InboxID) {
				return problem.Invalid("assignee_id", "This agent is not a member of the conversation's inbox.")
			}
		}
		prev := c.AssigneeID
		if assigneeID == nil {
			if err := Unassign(ctx, tx.Tx, c, a.UserID); err != nil {
				return err
			}
		} else if err := AssignTo(ctx, tx.Tx, c, *assigneeID, a.UserID); err != nil {
			return err
		}
		if prev == nil || deref(prev) == deref(assigneeID) || c.Status != Open {
			return nil
		}
		return s.freed(ctx, tx, c.InboxID)
	})
}

// Tag adds tags to and removes tags from a conversation.
func (s *Service) Tag(ctx context.Context, a policy.Actor, id int64, add, remove []string) (Conversation, error) {
	add, msg := tag.NormalizeAll(add)
	if msg != "" {
		return Conversation{}, problem.Invalid("tag", "%s", msg)
	}
	remove, msg = tag.NormalizeAll(remove)
	if msg != "" {
		return Conversation{}, problem.Invalid("tag", "%s", msg)
	}
	return s.change(ctx, a, id, func(tx *event.Tx, c *Conversation) error {
		for _, t := range remove {
			res, err := tx.Exec(ctx, `DELETE FROM conversation_tags WHERE conversation_id = $1 AND tag = $2`, id, t)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				if err := record(ctx, tx.Tx, c, a.UserID, Activity{Kind: ActUntagged, Tag: t}); err != nil {
					return err
				}
			}
		}
		for _, t := range add {
			res, err := tx.Exec(ctx, `INSERT INTO conversation_tags (conversation_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, t)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				if err := record(ctx, tx.Tx, c, a.UserID, Activity{Kind: ActTagged, Tag: t}); err != nil {
					return err
				}
			}
		}
		c.Tags = []string{}
		if err := fillTags(ctx, tx, []*Conversation{c}); err != nil {
			return err
		}
		if len(c.Tags) > tag.MaxPerItem {
			return problem.Invalid("tag", "A conversation has at most %d tags.", tag.MaxPerItem)
		}
		now := db.Now()
		c.UpdatedAt = now
		_, err := tx.Exec(ctx, `UPDATE conversations SET updated_at = $2 WHERE id = $1`, id, now)
		return err
	})
}

// Agent is someone a conversation may be assigned to.
type Agent struct {
	ID   int64       `json:"id"`
	Name string      `json:"name"`
	Role policy.Role `json:"role"`
}

// Assignees lists who may be assigned the conversation: members of its
// inbox, and admins and inbox managers.
func (s *Service) Assignees(ctx context.Context, a policy.Actor, id int64) ([]Agent, error) {
	c, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, name, role FROM users u
		WHERE deactivated_at IS NULL AND (role IN ('admin', 'inbox_manager') OR EXISTS (SELECT 1 FROM inbox_members m WHERE m.user_id = u.id AND m.inbox_id = $1))
		ORDER BY lower(name), id`, c.InboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Agent{}
	for rows.Next() {
		var ag Agent
		if err := rows.Scan(&ag.ID, &ag.Name, &ag.Role); err != nil {
			return nil, err
		}
		out = append(out, ag)
	}
	return out, rows.Err()
}

// Owners lists who may own contacts (policy.MayOwnContacts, an account
// that is not deactivated), by name.
func (s *Service) Owners(ctx context.Context) ([]Agent, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, role FROM users WHERE deactivated_at IS NULL ORDER BY lower(name), id`)
	if err != nil {
		return nil, fmt.Errorf("conversation: owners: %w", err)
	}
	defer rows.Close()
	out := []Agent{}
	for rows.Next() {
		var ag Agent
		if err := rows.Scan(&ag.ID, &ag.Name, &ag.Role); err != nil {
			return nil, err
		}
		if policy.MayOwnContacts(ag.Role) {
			out = append(out, ag)
		}
	}
	return out, rows.Err()
}

// UpdateContact edits a contact the actor may see. Giving the contact
// another owner is for those policy.MayChangeOwner allows (admins, service
// agents, and sales agents handing over their own customers), and the new
// owner must be an agent (policy.MayOwnContacts). The contact's open
// conversations that the previous owner was working (or that waited for
// them in the queue) move to the new owner where the new owner may be
// assigned them, as an assignment would check (policy.MayBeAssigned), and
// go through routing elsewhere; the others stay with their assignee.
func (s *Service) UpdateContact(ctx context.Context, a policy.Actor, id int64, p contact.Patch) (contact.Contact, error) {
	scope := policy.ConversationScope(a)
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		// The contact's row is locked first, so that the owner checked is
		// the owner replaced.
		if err := contact.Lock(ctx, tx.Tx, id); err != nil {
			return err
		}
		ct, err := contact.Get(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if err := contact.ResolveOwner(ctx, tx.Tx, &p); err != nil {
			return err
		}
		if p.SameOwner(ct) {
			p.OwnerID, p.OwnerEmail = nil, nil // the owner it has: nothing changes hands
		}
		if p.OwnerID != nil && !policy.MayChangeOwner(a, deref(ct.OwnerID)) {
			return problem.Forbidden("You may change the owner only of customers you own.")
		}
		if err := p.Validate(ctx, tx); err != nil {
			return err
		}
		prevOwner, err := contact.Apply(ctx, tx.Tx, id, p)
		if err != nil {
			return err
		}
		return s.contactChanged(ctx, tx, a, id, p, prevOwner)
	})
	if err != nil {
		return contact.Contact{}, err
	}
	return contact.Get(ctx, s.db, policy.Scope{Kind: policy.ScopeAll}, id)
}

// SetOwner gives a contact the actor may see the owner r names (an agent
// by id or by email, a pending owner by an address with no account yet,
// or nobody), under UpdateContact's rules.
func (s *Service) SetOwner(ctx context.Context, a policy.Actor, id int64, r contact.OwnerRef) (contact.Contact, error) {
	p, err := r.Patch()
	if err != nil {
		return contact.Contact{}, err
	}
	return s.UpdateContact(ctx, a, id, p)
}

// contactChanged brings the conversations of contact id up to date with
// patch p, written in tx, whose previous owner was prevOwner: they show
// the contact and carry its owner, and the open ones that the previous
// owner was working move to the new owner where the new owner may be
// assigned them. Whoever sees them is told.
func (s *Service) contactChanged(ctx context.Context, tx *event.Tx, a policy.Actor, id int64, p contact.Patch, prevOwner int64) error {
	// Who the new owner may be assigned: their role and inboxes.
	var ownerRole policy.Role
	var ownerInboxes []int64
	if p.OwnerID != nil && *p.OwnerID != 0 {
		if err := tx.QueryRow(ctx, `SELECT role FROM users WHERE id = $1`, *p.OwnerID).Scan(&ownerRole); err != nil {
			return fmt.Errorf("conversation: update contact: owner: %w", err)
		}
		var err error
		if ownerInboxes, err = user.Inboxes(ctx, tx, *p.OwnerID); err != nil {
			return err
		}
	}
	if p.OwnerID == nil && p.Name == nil && p.Phone == nil && p.Email == nil {
		return nil
	}
	// Conversations show the contact and carry its owner: update them
	// and tell whoever sees them.
	rows, err := tx.Query(ctx, `SELECT id FROM conversations WHERE contact_id = $1 AND (status = 'open' OR owner_id IS NOT NULL)`, id)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var cid int64
		if err := rows.Scan(&cid); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, cid)
	}
	rows.Close()
	now := db.Now()
	for _, cid := range ids {
		c, err := load(ctx, tx, cid)
		if err != nil {
			return err
		}
		prev := deref(c.AssigneeID)
		if p.OwnerID != nil {
			var owner *int64
			if *p.OwnerID != 0 {
				owner = p.OwnerID
			}
			c.OwnerID = owner
			if _, err := tx.Exec(ctx, `UPDATE conversations SET owner_id = $2, updated_at = $3 WHERE id = $1`, cid, c.OwnerID, now); err != nil {
				return err
			}
			// What the previous owner was working, or was waited for in
			// the queue, follows the owner where they may be assigned
			// it, and goes through routing elsewhere.
			working := prevOwner != 0 && prev == prevOwner
			waited := prevOwner != 0 && c.Queue != nil && deref(c.Queue.WaitingFor) == prevOwner
			if c.Status == Open && owner != nil && (working || waited) {
				if policy.MayBeAssigned(ownerRole, ownerInboxes, c.InboxID) {
					if err := AssignTo(ctx, tx.Tx, &c, *owner, a.UserID); err != nil {
						return err
					}
				} else {
					if err := Unassign(ctx, tx.Tx, &c, a.UserID); err != nil {
						return err
					}
					if err := s.autoAssign(ctx, tx, &c); err != nil {
						return err
					}
				}
				if working {
					if err := s.freed(ctx, tx, c.InboxID); err != nil {
						return err
					}
				}
			}
		}
		emitConversation(tx, event.ConversationUpdated, &c, prev)
	}
	return nil
}

// Contact returns a contact the actor may see.
func (s *Service) Contact(ctx context.Context, a policy.Actor, id int64) (contact.Contact, error) {
	return contact.Get(ctx, s.db, policy.ConversationScope(a), id)
}

// Contacts lists the contacts the actor may see.
func (s *Service) Contacts(ctx context.Context, a policy.Actor, o contact.ListOptions) ([]contact.Contact, error) {
	return contact.List(ctx, s.db, policy.ConversationScope(a), o)
}

// Message returns a message of a conversation the actor may see.
func (s *Service) Message(ctx context.Context, a policy.Actor, id int64) (Message, error) {
	m, err := loadMessage(ctx, s.db, id)
	if err != nil {
		return m, err
	}
	if _, err := s.Get(ctx, a, m.ConversationID); err != nil {
		return Message{}, problem.NotFound("Message")
	}
	return m, nil
}

// LoadMessage returns a message without checking who asks (for the outbox
// and for channels).
func (s *Service) LoadMessage(ctx context.Context, id int64) (Message, error) {
	return loadMessage(ctx, s.db, id)
}

// SetDelivery moves an outbound message to status d, never backwards
// (statuses can arrive out of order), and tells agents and, once the
// message has left (sent or later), the customer. A channel id the
// message lacks is recorded even when the status stays (a "delivered"
// that overtook the outbox's "sent"). It reports whether anything
// changed.
func (s *Service) SetDelivery(ctx context.Context, id int64, d Delivery, channelID string, e *MessageError) (bool, error) {
	changed := false
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		changed, err = setDelivery(ctx, tx, id, d, channelID, e)
		return err
	})
	return changed, err
}

// setDelivery decides from the message as it is read, then updates it
// only if it is still that way (compare and set): on PostgreSQL a status
// committed meanwhile by another transaction makes the update miss, and
// the decision is taken again on what that one wrote.
func setDelivery(ctx context.Context, tx *event.Tx, id int64, d Delivery, channelID string, e *MessageError) (bool, error) {
	for range 5 {
		m, err := loadMessage(ctx, tx, id)
		if err != nil {
			return false, err
		}
		if m.Direction != Outbound {
			return false, nil
		}
		to, te := d, e
		learnID := channelID != "" && m.ChannelMessageID == nil
		if to.rank() <= m.Status.rank() {
			if !learnID {
				return false, nil
			}
			// Keep the status; learn the id.
			to, te = m.Status, m.Error
		}
		prevStatus, prevID := m.Status, m.ChannelMessageID
		m.Status, m.UpdatedAt = to, db.Now()
		if channelID != "" && m.ChannelMessageID == nil {
			m.ChannelMessageID = &channelID
		}
		m.Error = te
		var code, msg, details string
		if te != nil {
			code, msg, details = te.Code, te.Message, te.Details
		}
		res, err := tx.Exec(ctx, `UPDATE messages SET status = $2, channel_message_id = COALESCE(channel_message_id, $3),
			error_code = $4, error_message = $5, error_details = $6, updated_at = $7
			WHERE id = $1 AND status = $8 AND (channel_message_id = $9 OR (channel_message_id IS NULL AND $10))`,
			id, to, nullString(channelID), code, msg, details, m.UpdatedAt, prevStatus, derefString(prevID), prevID == nil)
		if err != nil {
			return false, fmt.Errorf("conversation: set delivery: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // changed meanwhile: decide again
		}
		c, err := load(ctx, tx, m.ConversationID)
		if err != nil {
			return false, err
		}
		emitMessage(tx, event.MessageUpdated, &m, &c, to != Failed && to != Pending)
		return true, nil
	}
	return false, fmt.Errorf("conversation: set delivery of message %d: it keeps changing", id)
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ImportContacts imports a contacts file read by contact.ReadCSV, for
// an admin (policy.ImportContacts): a dry run checks it against the
// database and reports what it would do; the real run writes every row
// or nothing, in one transaction, and the conversations of the contacts
// it changes follow them as after UpdateContact (their owner, the open
// ones the previous owner was working).
func (s *Service) ImportContacts(ctx context.Context, a policy.Actor, im *contact.Import, dryRun bool) (contact.ImportReport, error) {
	if !policy.Allow(a, policy.ImportContacts) {
		return contact.ImportReport{}, problem.Forbidden("Only admins import contacts.")
	}
	if dryRun {
		if err := im.Check(ctx, s.db); err != nil {
			return contact.ImportReport{}, err
		}
		r := im.Report()
		r.DryRun = true
		return r, nil
	}
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		changed, err := im.Apply(ctx, tx.Tx)
		if err != nil {
			return err
		}
		// Only the contacts with conversations have anything to follow.
		byID := make(map[int64]contact.Changed, len(changed))
		ids := make([]int64, 0, len(changed))
		for _, c := range changed {
			byID[c.ID] = c
			ids = append(ids, c.ID)
		}
		for i := 0; i < len(ids); i += 500 {
			with, err := db.IDs(ctx, tx, `SELECT DISTINCT contact_id FROM conversations WHERE contact_id IN (`+db.IDList(ids[i:min(i+500, len(ids))])+`) ORDER BY contact_id`)
			if err != nil {
				return err
			}
			for _, id := range with {
				c := byID[id]
				if err := s.contactChanged(ctx, tx, a, id, c.Patch, c.PrevOwner); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return im.Report(), err
	}
	return im.Report(), nil
}

// ExportContacts writes the contacts the actor may see that o keeps to w
// as CSV (contact.Export).
func (s *Service) ExportContacts(ctx context.Context, a policy.Actor, o contact.ListOptions, w io.Writer) error {
	return contact.Export(ctx, s.db, policy.ConversationScope(a), o, w)
}
