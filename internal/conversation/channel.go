package conversation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// What channels with rules of their own (WhatsApp's window, its message
// kinds, its read receipts) add to the use cases. Hooks are registered
// while the node is assembled, before it serves.

// SendCheck inspects an agent's message inside Send's transaction, after
// the message and its attachments are stored: it returns a problem to
// refuse the message (nothing is kept), and may say when the send job
// should run (zero: now). It may write its own records in tx.
type SendCheck func(ctx context.Context, tx *event.Tx, c *Conversation, m *Message) (time.Time, error)

// ReadHook is told when an agent has seen a conversation (after MarkRead
// committed); it must not block.
type ReadHook func(ctx context.Context, a policy.Actor, c Conversation)

// ReplyWindow says until when a conversation accepts free-form replies,
// nil when it has no limit (or the customer never wrote).
type ReplyWindow func(ctx context.Context, c *Conversation) (*time.Time, error)

// CheckSends adds a check of agents' messages.
func (s *Service) CheckSends(c SendCheck) { s.sendChecks = append(s.sendChecks, c) }

// OnRead adds a hook told when an agent has seen a conversation.
func (s *Service) OnRead(h ReadHook) { s.readHooks = append(s.readHooks, h) }

// SetReplyWindow sets how conversations' reply windows are found.
func (s *Service) SetReplyWindow(w ReplyWindow) { s.replyWindow = w }

// messageByChannelID finds the message a channel knows by its id on the
// inbox; nil when there is none.
func messageByChannelID(ctx context.Context, q db.Querier, inboxID int64, channelID string) (*int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM messages WHERE inbox_id = $1 AND channel_message_id = $2`, inboxID, channelID).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("conversation: message by channel id: %w", err)
	}
	return &id, nil
}

// FindByChannelID returns the id of the message a channel knows by
// channelID on the inbox, or a not-found problem.
func (s *Service) FindByChannelID(ctx context.Context, inboxID int64, channelID string) (int64, error) {
	id, err := messageByChannelID(ctx, s.db, inboxID, channelID)
	if err != nil {
		return 0, err
	}
	if id == nil {
		return 0, problem.NotFound("Message")
	}
	return *id, nil
}

// SetDeliveryByChannelID moves the message a channel knows by channelID
// on the inbox (or, when it is not known by that id yet, the outbound
// message fallbackID of that inbox, which then learns it) to status d, as
// SetDelivery does. found is false when neither names a message.
func (s *Service) SetDeliveryByChannelID(ctx context.Context, inboxID int64, channelID string, fallbackID int64, d Delivery, e *MessageError) (found, changed bool, err error) {
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		id, err := messageByChannelID(ctx, tx, inboxID, channelID)
		if err != nil {
			return err
		}
		if id == nil && fallbackID > 0 {
			var ok int
			err := tx.QueryRow(ctx, `SELECT 1 FROM messages WHERE id = $1 AND inbox_id = $2 AND direction = 'outbound'
				AND (channel_message_id IS NULL OR channel_message_id = $3)`, fallbackID, inboxID, channelID).Scan(&ok)
			if err == nil {
				id = &fallbackID
			} else if !errors.Is(db.MapErr(err), db.ErrNotFound) {
				return err
			}
		}
		if id == nil {
			return nil
		}
		found = true
		changed, err = setDelivery(ctx, tx, *id, d, channelID, e)
		return err
	})
	return found, changed, err
}

// Amend lets a channel complete a message after it was stored (inbound
// media fetched, a reply's details): fn changes m (its text, type and
// content; it may link attachments in tx), which is written and shown
// again to whoever sees it.
func (s *Service) Amend(ctx context.Context, id int64, fn func(tx *event.Tx, m *Message) error) (Message, error) {
	var m Message
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		if m, err = loadMessage(ctx, tx, id); err != nil {
			return err
		}
		if err := fn(tx, &m); err != nil {
			return err
		}
		if err := validText(m.Text, false); err != nil {
			return err
		}
		m.UpdatedAt = db.Now()
		if _, err := tx.Exec(ctx, `UPDATE messages SET type = $2, text = $3, content = $4, updated_at = $5 WHERE id = $1`,
			id, m.Type, m.Text, string(m.Content), m.UpdatedAt); err != nil {
			return fmt.Errorf("conversation: amend: %w", err)
		}
		c, err := load(ctx, tx, m.ConversationID)
		if err != nil {
			return err
		}
		if c.LastMessageID == m.ID {
			if p := keepPreview(c.LastMessagePreview, &m); p != c.LastMessagePreview {
				c.LastMessagePreview = p
				if _, err := tx.Exec(ctx, `UPDATE conversations SET last_message_preview = $2 WHERE id = $1`, c.ID, p); err != nil {
					return err
				}
				emitConversation(tx, event.ConversationUpdated, &c, 0)
			}
		}
		emitMessage(tx, event.MessageUpdated, &m, &c, m.Direction == Inbound || m.Status.rank() >= Sent.rank())
		return nil
	})
	return m, err
}

// React puts one side's reaction on a message, replaces it, or removes it
// (an empty emoji). Reactions arrive out of order: one older than the
// side's current reaction is ignored. It reports whether the message
// changed; the message is shown again to whoever sees it.
func (s *Service) React(ctx context.Context, messageID int64, by Reactor, emoji string, at time.Time) (bool, error) {
	changed := false
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		changed, err = react(ctx, tx, messageID, by, emoji, at)
		return err
	})
	return changed, err
}

func react(ctx context.Context, tx *event.Tx, messageID int64, by Reactor, emoji string, at time.Time) (bool, error) {
	at = db.Time(at)
	var cur string
	var curAt time.Time
	err := tx.QueryRow(ctx, `SELECT emoji, reacted_at FROM message_reactions WHERE message_id = $1 AND reactor = $2`, messageID, by).Scan(&cur, &curAt)
	exists := err == nil
	if err != nil && !errors.Is(db.MapErr(err), db.ErrNotFound) {
		return false, fmt.Errorf("conversation: react: %w", err)
	}
	if exists && at.Before(curAt) {
		return false, nil // an older reaction, overtaken
	}
	// The condition holds under the row's lock: a newer reaction
	// committed meanwhile is not overwritten.
	res, err := tx.Exec(ctx, `INSERT INTO message_reactions (message_id, reactor, emoji, reacted_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (message_id, reactor) DO UPDATE SET emoji = excluded.emoji, reacted_at = excluded.reacted_at
		WHERE message_reactions.reacted_at <= excluded.reacted_at`,
		messageID, by, emoji, at)
	if err != nil {
		return false, fmt.Errorf("conversation: react: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 || cur == emoji {
		return false, nil
	}
	m, err := loadMessage(ctx, tx, messageID)
	if err != nil {
		return false, err
	}
	c, err := load(ctx, tx, m.ConversationID)
	if err != nil {
		return false, err
	}
	emitMessage(tx, event.MessageUpdated, &m, &c, true)
	return true, nil
}

// ReactInTx is React inside a transaction of the caller's (a send check
// recording the business's reaction with the message that carries it).
func ReactInTx(ctx context.Context, tx *event.Tx, messageID int64, by Reactor, emoji string, at time.Time) (bool, error) {
	return react(ctx, tx, messageID, by, emoji, at)
}

// reactionsOf returns the reactions of messages, by message, without the
// removed ones.
func reactionsOf(ctx context.Context, q db.Querier, ids []int64) (map[int64][]Reaction, error) {
	out := map[int64][]Reaction{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT message_id, reactor, emoji, reacted_at FROM message_reactions
		WHERE message_id IN (`+db.IDList(ids)+`) AND emoji <> '' ORDER BY message_id, reactor`)
	if err != nil {
		return nil, fmt.Errorf("conversation: reactions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var r Reaction
		if err := rows.Scan(&id, &r.By, &r.Emoji, &r.At); err != nil {
			return nil, err
		}
		out[id] = append(out[id], r)
	}
	return out, rows.Err()
}

// NewConversation is an agent writing first to a customer on an inbox:
// the customer's identities there (as Receive takes them), and the first
// message.
type NewConversation struct {
	InboxID        int64
	ExternalID     string
	AltExternalIDs []string
	Profile        contact.Profile
	Message        Outgoing
	// Then runs in the transaction once the contact is known (a channel's
	// records of them).
	Then func(ctx context.Context, tx *event.Tx, ct contact.Contact) error
}

// Start sends a first message to a customer. The customer's open
// conversation on the inbox is used when there is one the agent may see;
// otherwise a conversation is opened, started by the agent and assigned
// to them. created reports whether the message was stored now (not an
// idempotent repeat).
func (s *Service) Start(ctx context.Context, a policy.Actor, n NewConversation) (Message, Conversation, bool, error) {
	if !policy.MayBeAssigned(a.Role, a.Inboxes, n.InboxID) {
		return Message{}, Conversation{}, false, problem.Forbidden("You are not a member of this inbox.")
	}
	var m Message
	var c Conversation
	var created bool
	err := retryConflict(func() error {
		var err error
		m, c, created, err = s.post(ctx, a, n.Message, 0, func(tx *event.Tx) (Conversation, bool, error) {
			if err := archived(ctx, tx.Tx, n.InboxID); err != nil {
				return Conversation{}, false, err
			}
			ct, _, err := contact.FindOrCreateAny(ctx, tx.Tx, n.InboxID, append([]string{n.ExternalID}, n.AltExternalIDs...), n.Profile)
			if err != nil {
				return Conversation{}, false, err
			}
			if n.Then != nil {
				if err := n.Then(ctx, tx, ct); err != nil {
					return Conversation{}, false, err
				}
			}
			c, err := findOpen(ctx, tx.Tx, n.InboxID, ct.ID)
			switch {
			case err == nil:
				if !policy.ConversationScope(a).Allows(c.ref()) {
					return c, false, problem.Conflict("This customer already has an open conversation in this inbox, handled by someone else.")
				}
				return c, false, nil
			case errors.Is(err, ErrNotFound):
				c, err = createConversation(ctx, tx.Tx, n.InboxID, ct, ByAgent)
				return c, err == nil, err
			}
			return c, false, err
		})
		return err
	})
	return m, c, created, err
}

// ContactOf returns the contact of a conversation (a channel's recipient),
// or ErrNotFound.
func (s *Service) ContactOf(ctx context.Context, conversationID int64) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT contact_id FROM conversations WHERE id = $1`, conversationID).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, ErrNotFound
	} else if err != nil {
		return 0, fmt.Errorf("conversation: contact of %d: %w", conversationID, err)
	}
	return id, nil
}

// ContactOfMessage returns the contact whose conversation holds a message,
// or a not-found problem.
func (s *Service) ContactOfMessage(ctx context.Context, messageID int64) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT c.contact_id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1`, messageID).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, problem.NotFound("Message")
	} else if err != nil {
		return 0, fmt.Errorf("conversation: contact of message %d: %w", messageID, err)
	}
	return id, nil
}

// LatestFromCustomer returns the id of a conversation's latest message
// from the customer that its channel knows by an id (system messages left
// out), 0 when there is none: what a channel marks read.
func (s *Service) LatestFromCustomer(ctx context.Context, conversationID int64) (int64, error) {
	id, _, err := s.latestFromCustomer(ctx, conversationID)
	return id, err
}

// LatestChannelIDFromCustomer returns the channel's id of that same
// message ("" when the customer has not written): what a channel's
// typing indicator answers.
func (s *Service) LatestChannelIDFromCustomer(ctx context.Context, conversationID int64) (string, error) {
	_, channelID, err := s.latestFromCustomer(ctx, conversationID)
	return channelID, err
}

func (s *Service) latestFromCustomer(ctx context.Context, conversationID int64) (id int64, channelID string, err error) {
	err = s.db.QueryRow(ctx, `SELECT id, channel_message_id FROM messages WHERE conversation_id = $1 AND direction = 'inbound'
		AND channel_message_id IS NOT NULL AND type <> 'system' ORDER BY id DESC LIMIT 1`, conversationID).Scan(&id, &channelID)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, "", nil
	} else if err != nil {
		return 0, "", fmt.Errorf("conversation: latest from the customer in %d: %w", conversationID, err)
	}
	return id, channelID, nil
}
