package conversation

import (
	"context"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Automation is what Switchboard does by itself in conversations (number
// automation: welcome messages, reminders, auto-close, surveys). Its hooks
// run in the transaction of the change that calls them, so what they
// schedule or send commits with it. It is set while the node is assembled
// (see Automate); without one nothing happens by itself.
type Automation interface {
	// Received is told of a customer's message m just stored in c (c as
	// it is after m), with what m started.
	Received(ctx context.Context, tx *event.Tx, c *Conversation, m *Message, a Arrival) error
	// Answered is told of a person's message m in c (an agent's reply).
	Answered(ctx context.Context, tx *event.Tx, c *Conversation, m *Message) error
	// Closed is told that c was just closed by actorID (0: Switchboard);
	// c.AssigneeID is whoever served it.
	Closed(ctx context.Context, tx *event.Tx, c *Conversation, actorID int64) error
	// Claim is asked, before a customer's message would open a new
	// conversation, whether it answers what Switchboard sent in one of
	// the contact's closed conversations (a satisfaction survey); it
	// returns that conversation's id, where the message is then stored
	// without opening it, or 0.
	Claim(ctx context.Context, tx *event.Tx, inboxID, contactID int64, in *Incoming) (int64, error)
}

// Arrival says what a customer's message started.
type Arrival struct {
	// Opened is a customer opening the chat, before writing anything
	// (WhatsApp's request_welcome).
	Opened bool
	// FirstMessage is the customer's first message in the conversation
	// (it opened it, or the customer had only opened the chat).
	FirstMessage bool
	// NewTurn is a customer's message after a person's reply (or the
	// first): it waits for an answer.
	NewTurn bool
	// Answer is a message stored in a closed conversation because it
	// answers what Switchboard sent there (see Automation.Claim).
	Answer bool
	// Choice is the button or row the customer chose (Incoming.Choice).
	Choice string
}

// Automate sets what Switchboard does by itself.
func (s *Service) Automate(a Automation) { s.auto = a }

// Author is who sends a message Switchboard prepares by itself.
type Author struct {
	// Type is SenderSystem (automation) or SenderBot.
	Type SenderType
	// ID is the bot's id for a bot.
	ID int64
	// Kind is what sent it (welcome, unassigned, queue, reminder,
	// autoclose, csat, personal_welcome, …), stored as the message's
	// auto_kind.
	Kind string
}

// AutoUploader is the uploader of the files of messages Switchboard
// sends by itself (see reply.Message.Prepare).
var AutoUploader = attachment.Uploader("system", 0)

// PostAuto stores a message Switchboard (or a bot) sends in c, inside the
// caller's transaction, and enqueues it in the outbox like an agent's
// reply: the channel's send checks apply (a closed WhatsApp window refuses
// it with a problem, and nothing is kept if the caller gives up). It does
// not assign the conversation, mark it read or count as a person's
// answer. A conversation whose customer has not written yet (they only
// opened the chat) gets no events: agents do not see it until they write.
func (s *Service) PostAuto(ctx context.Context, tx *event.Tx, c *Conversation, a Author, o Outgoing) (Message, error) {
	if err := validText(o.Text, len(o.AttachmentIDs) == 0 && (o.Type == "" || o.Type == TypeText)); err != nil {
		return Message{}, err
	}
	now := db.Now()
	m := Message{ConversationID: c.ID, InboxID: c.InboxID, Direction: Outbound, SenderType: a.Type,
		Type: TypeText, Text: o.Text, Content: o.Content, Status: Pending, AutoKind: a.Kind, CreatedAt: now, UpdatedAt: now}
	if o.Type != "" {
		m.Type = o.Type
	}
	runAt, err := s.storeOutbound(ctx, tx, c, &m, o, AutoUploader)
	if err != nil {
		return m, err
	}
	if a.Type == SenderBot && a.ID != 0 {
		// The bot that wrote it (sender_id is for people).
		m.BotID = &a.ID
		if _, err := tx.Exec(ctx, `UPDATE messages SET bot_id = $2 WHERE id = $1`, m.ID, a.ID); err != nil {
			return m, fmt.Errorf("conversation: post: %w", err)
		}
	}
	c.LastMessageID, c.LastMessagePreview, c.LastActivityAt, c.UpdatedAt = m.ID, keepPreview(c.LastMessagePreview, &m), now, now
	if _, err := tx.Exec(ctx, `UPDATE conversations SET last_message_id = $2, last_message_preview = $3, last_activity_at = $4,
		updated_at = $4 WHERE id = $1`, c.ID, m.ID, c.LastMessagePreview, now); err != nil {
		return m, fmt.Errorf("conversation: post: %w", err)
	}
	if err := s.enqueueSend(ctx, tx, m.ID, runAt); err != nil {
		return m, err
	}
	if !c.Pending() {
		emitConversation(tx, event.ConversationUpdated, c, deref(c.AssigneeID))
		emitMessage(tx, event.MessageCreated, &m, c, false)
	}
	return m, nil
}

// Pending reports whether c waits for its customer's first message: they
// opened the chat and wrote nothing yet. Such a conversation is not routed,
// listed or counted.
func (c *Conversation) Pending() bool {
	return c.awaiting && c.Status == Open
}

// CloseAuto closes c in tx for Switchboard (auto-close, a bot's end of
// flow), with an activity that says why (note), and tells routing and
// automation as a person's close does. It emits the conversation's event.
func (s *Service) CloseAuto(ctx context.Context, tx *event.Tx, c *Conversation, note string) error {
	if c.Status == Closed {
		return problem.Conflict("This conversation is already closed.")
	}
	prev := deref(c.AssigneeID)
	if err := s.closeIn(ctx, tx, c, 0, note); err != nil {
		return err
	}
	emitConversation(tx, event.ConversationUpdated, c, prev)
	return nil
}

// closeIn closes c in tx on behalf of actorID (0: Switchboard).
func (s *Service) closeIn(ctx context.Context, tx *event.Tx, c *Conversation, actorID int64, note string) error {
	now := db.Now()
	c.Status, c.ClosedAt, c.UpdatedAt, c.Queue = Closed, &now, now, nil
	if _, err := tx.Exec(ctx, `UPDATE conversations SET status = 'closed', closed_at = $2, updated_at = $2,
		queued_at = NULL, queue_agent_id = NULL, queue_until = NULL WHERE id = $1`, c.ID, now); err != nil {
		return err
	}
	if err := record(ctx, tx.Tx, c, actorID, Activity{Kind: ActClosed, Note: note}); err != nil {
		return err
	}
	if s.auto != nil {
		if err := s.auto.Closed(ctx, tx, c, actorID); err != nil {
			return err
		}
	}
	if c.AssigneeID == nil {
		return nil
	}
	return s.freed(ctx, tx, c.InboxID)
}

// ReplyOpen reports whether c's channel takes a free-form message now
// (WhatsApp's 24-hour window), for messages Switchboard would send by
// itself long after the customer wrote.
func (s *Service) ReplyOpen(ctx context.Context, c *Conversation) (bool, error) {
	if s.replyWindow == nil {
		return true, nil
	}
	end, err := s.replyWindow(ctx, c)
	if err != nil || end == nil {
		return err == nil, err
	}
	return end.After(db.Now()), nil
}
