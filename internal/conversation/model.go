// Package conversation is the core of the workspace: conversations between
// a contact and the business on one inbox, and their messages. It owns the
// use cases that span contacts, conversations, messages and events (a
// customer's message arriving, an agent's reply, assignment, close), so
// they live in one visible place, each in one transaction that also writes
// the events agents must see.
package conversation

import (
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// Status of a conversation.
type Status string

// The statuses.
const (
	Open   Status = "open"
	Closed Status = "closed"
)

// StartedBy says who wrote first.
type StartedBy string

// Who may start a conversation.
const (
	ByCustomer StartedBy = "customer"
	ByAgent    StartedBy = "agent"
)

// Conversation is a thread between a contact and the business on an inbox.
type Conversation struct {
	ID                    int64      `json:"id"`
	InboxID               int64      `json:"inbox_id"`
	ContactID             int64      `json:"contact_id"`
	Contact               Party      `json:"contact"`
	Status                Status     `json:"status"`
	AssigneeID            *int64     `json:"assignee_id"`
	OwnerID               *int64     `json:"owner_id"`
	StartedBy             StartedBy  `json:"started_by"`
	Tags                  []string   `json:"tags"`
	LastMessageID         int64      `json:"last_message_id"`
	LastMessagePreview    string     `json:"last_message_preview"`
	LastActivityAt        time.Time  `json:"last_activity_at"`
	LastCustomerMessageAt *time.Time `json:"last_customer_message_at"`
	LastAgentMessageAt    *time.Time `json:"last_agent_message_at"`
	ClosedAt              *time.Time `json:"closed_at"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
	// Queue is set while the conversation waits in its inbox's queue.
	Queue *Queue `json:"queue,omitempty"`
	// BotID is the bot that holds the conversation (it then has no
	// assignee); see internal/bot.
	BotID *int64 `json:"bot_id"`
	// ReplyWindowEndsAt is when the channel stops accepting free-form
	// replies (WhatsApp's 24-hour customer-service window): set on single
	// reads of conversations whose channel has such a window; null when
	// the customer never wrote.
	ReplyWindowEndsAt *time.Time `json:"reply_window_ends_at,omitempty"`
	// Unread is true when the customer wrote since the viewer last read
	// the conversation (a colleague's reply does not make it unread); it
	// is set for lists and single reads, not in events.
	Unread bool `json:"unread"`

	// lastCustomerMessageID is the customer's last message, which Unread
	// compares with the viewer's read mark.
	lastCustomerMessageID int64
	// awaiting is true while the customer has only opened the chat (see
	// Pending).
	awaiting bool
}

// unreadBy reports whether the customer wrote after lastRead, the last
// message a viewer has seen (nil: none).
func (c *Conversation) unreadBy(lastRead *int64) bool {
	return c.lastCustomerMessageID > deref(lastRead)
}

// Party is the contact as shown beside a conversation.
type Party struct {
	Name  string  `json:"name"`
	Phone *string `json:"phone"`
	Email *string `json:"email"`
}

// ref returns what visibility depends on.
func (c *Conversation) ref() policy.Ref {
	return policy.Ref{InboxID: c.InboxID, AssigneeID: deref(c.AssigneeID), OwnerID: deref(c.OwnerID)}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Direction of a message.
type Direction string

// The directions.
const (
	Inbound  Direction = "inbound"  // from the customer
	Outbound Direction = "outbound" // to the customer
)

// SenderType says who wrote a message.
type SenderType string

// The senders.
const (
	SenderContact SenderType = "contact"
	SenderAgent   SenderType = "agent"
	SenderBot     SenderType = "bot"
	SenderSystem  SenderType = "system"
)

// MessageType is the kind of content.
type MessageType string

// The message types channels carry.
const (
	TypeText        MessageType = "text"
	TypeImage       MessageType = "image"
	TypeVideo       MessageType = "video"
	TypeAudio       MessageType = "audio"
	TypeDocument    MessageType = "document"
	TypeSticker     MessageType = "sticker"
	TypeLocation    MessageType = "location"
	TypeContacts    MessageType = "contacts"
	TypeInteractive MessageType = "interactive"
	TypeTemplate    MessageType = "template"
	TypeReaction    MessageType = "reaction"
	TypeUnsupported MessageType = "unsupported"
	TypeSystem      MessageType = "system"
)

// Delivery is where a message is on its way to its reader.
type Delivery string

// The delivery statuses. Outbound messages go pending → sent → delivered →
// read (→ played, for a voice message the customer listened to), or to
// failed; inbound messages are received.
const (
	Pending   Delivery = "pending"
	Sent      Delivery = "sent"
	Delivered Delivery = "delivered"
	Read      Delivery = "read"
	Played    Delivery = "played"
	Failed    Delivery = "failed"
	Received  Delivery = "received"
)

// rank orders the outbound statuses; a status never moves to a lower rank.
func (d Delivery) rank() int {
	switch d {
	case Pending:
		return 0
	case Sent:
		return 1
	case Failed:
		return 2 // a send that failed after Meta took it; delivered/read win over it
	case Delivered:
		return 3
	case Read:
		return 4
	case Played:
		return 5
	}
	return -1
}

// Message is one message of a conversation.
type Message struct {
	ID               int64                   `json:"id"`
	ConversationID   int64                   `json:"conversation_id"`
	InboxID          int64                   `json:"inbox_id"`
	Direction        Direction               `json:"direction"`
	SenderType       SenderType              `json:"sender_type"`
	SenderID         *int64                  `json:"sender_id"`
	Type             MessageType             `json:"type"`
	Text             string                  `json:"text"`
	Content          json.RawMessage         `json:"content,omitempty"`
	Attachments      []attachment.Attachment `json:"attachments"`
	Status           Delivery                `json:"status"`
	Error            *MessageError           `json:"error"`
	ChannelMessageID *string                 `json:"channel_message_id"`
	IdempotencyKey   *string                 `json:"idempotency_key,omitempty"`
	ReplyToID        *int64                  `json:"reply_to_id"`
	// AutoKind says what sent a message Switchboard sent by itself
	// (welcome, unassigned, queue, reminder, csat, …); empty for people's.
	AutoKind  string     `json:"auto_kind,omitempty"`
	Reactions []Reaction `json:"reactions,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// BotID is the bot that sent it (SenderBot).
	BotID *int64 `json:"bot_id,omitempty"`
}

// MessageError says why a message failed: the channel's code, its title
// and its details.
type MessageError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
}

// Reactor says who reacted to a message.
type Reactor string

// The two sides of a conversation.
const (
	ByContact  Reactor = "contact"
	ByBusiness Reactor = "business"
)

// Reaction is an emoji one side put on a message.
type Reaction struct {
	By    Reactor   `json:"by"`
	Emoji string    `json:"emoji"`
	At    time.Time `json:"at"`
}

// MaxTextLength is the longest message text, in characters.
const MaxTextLength = 4096

// preview shortens text for the conversation list. A notice without
// text (a WhatsApp customer opening the chat) has none: the list keeps
// the preview it had (see keepPreview), and shows that the customer
// opened the chat when there was none.
func preview(m *Message) string {
	t := m.Text
	if t == "" {
		switch {
		case m.Type == TypeSystem:
			return ""
		case len(m.Attachments) > 0:
			t = "📎 " + m.Attachments[0].Filename
		default:
			t = string(m.Type)
		}
	}
	r := []rune(t)
	if len(r) > 140 {
		return string(r[:139]) + "…"
	}
	return t
}

// keepPreview is the preview of a conversation whose preview was prev
// after message m: m's, unless m has none to show.
func keepPreview(prev string, m *Message) string {
	if p := preview(m); p != "" {
		return p
	}
	return prev
}
