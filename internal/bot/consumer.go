package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Consumer is the bots' reaction to customer messages, outside the
// transactions that store them: each message of a conversation a bot
// holds is the menu's turn, or a delivery to the external bot.
func (s *Service) Consumer() event.Consumer {
	return event.Consumer{Name: "bots", Scope: event.Shared, Types: []string{event.MessageCreated}, Handle: s.handleMessages}
}

func (s *Service) handleMessages(ctx context.Context, events []event.Event) error {
	var msgs []conversation.Message
	convs := map[int64]bool{}
	for _, e := range events {
		var m conversation.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			s.logger.Warn("bot: message event", "seq", e.Seq, "err", err)
			continue
		}
		if m.Direction != conversation.Inbound || m.SenderType != conversation.SenderContact {
			continue
		}
		msgs = append(msgs, m)
		convs[m.ConversationID] = true
	}
	if len(msgs) == 0 {
		return nil
	}
	// One read for the batch: which of these conversations bots hold.
	ids := make([]int64, 0, len(convs))
	for id := range convs {
		ids = append(ids, id)
	}
	held, err := db.IDs(ctx, s.db, `SELECT id FROM conversations WHERE id IN (`+db.IDList(ids)+`) AND bot_id IS NOT NULL AND status = 'open'`)
	if err != nil {
		return fmt.Errorf("bot: messages: %w", err)
	}
	if len(held) == 0 {
		return nil
	}
	isHeld := map[int64]bool{}
	for _, id := range held {
		isHeld[id] = true
	}
	for i := range msgs {
		if !isHeld[msgs[i].ConversationID] {
			continue
		}
		if err := s.take(ctx, &msgs[i]); err != nil {
			if _, ok := problem.As(err); ok {
				// What the channel refuses (a closed window) is not
				// answered; the rest of the batch goes on.
				s.logger.Warn("bot: turn refused", "message", msgs[i].ID, "conversation", msgs[i].ConversationID, "err", err)
				continue
			}
			return err
		}
	}
	return nil
}

// take is a bot's turn on customer message m, in one transaction that
// records it (bot_turns), so that a message handled again is not answered
// twice.
func (s *Service) take(ctx context.Context, m *conversation.Message) error {
	return s.log.Write(ctx, func(tx *event.Tx) error {
		c, err := conversation.Load(ctx, tx, m.ConversationID)
		if err != nil {
			return err
		}
		if c.Status != conversation.Open || c.BotID == nil {
			return nil
		}
		b, err := get(ctx, tx, *c.BotID)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if !b.Active {
			return nil
		}
		res, err := tx.Exec(ctx, `INSERT INTO bot_turns (message_id, bot_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (message_id) DO NOTHING`,
			m.ID, b.ID, db.Now())
		if err != nil {
			return fmt.Errorf("bot: turn: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // taken in already
		}
		// The silence timer, set when the bot took the conversation: this
		// makes one for a conversation that has none (reopened); an
		// existing one stays, and compares with this message when it fires.
		if _, err := s.queue.Enqueue(ctx, tx.Tx, SilenceJob, silencePayload{ConversationID: c.ID},
			job.Options{RunAt: db.Now().Add(Silence), DedupKey: silenceKey(c.ID)}); err != nil {
			return err
		}
		switch b.Kind {
		case Menu:
			if m.Type == conversation.TypeReaction || m.Type == conversation.TypeSystem {
				return nil // an emoji on a message, a notice: nothing to answer
			}
			return s.answer(ctx, tx, &c, &b, m)
		case External:
			_, err := s.queue.Enqueue(ctx, tx.Tx, DeliverJob, deliverPayload{BotID: b.ID, ConversationID: c.ID, MessageID: m.ID},
				job.Options{DedupKey: deliverKey(m.ID), MaxAttempts: deliverAttempts})
			return err
		}
		return nil
	})
}

type silencePayload struct {
	ConversationID int64 `json:"conversation_id"`
}

// handleSilence closes a bot's conversation whose customer has not written
// for Silence. The timer is set once, when the bot takes the conversation;
// at fire time it compares with the customer's last message and, when the
// customer wrote since, moves to that message plus Silence (job.Later).
func (s *Service) handleSilence(ctx context.Context, j *job.Job) error {
	var p silencePayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	var due time.Time
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		due = time.Time{}
		c, err := conversation.Load(ctx, tx, p.ConversationID)
		if errors.Is(err, conversation.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if c.Status != conversation.Open || c.BotID == nil {
			return nil
		}
		last := c.CreatedAt
		if c.LastCustomerMessageAt != nil {
			last = *c.LastCustomerMessageAt
		}
		if at := last.Add(Silence); s.now().Before(at) {
			due = at
			return nil
		}
		return s.convs.CloseAuto(ctx, tx, &c, "The customer did not answer the bot for 10 minutes.")
	})
	if err != nil {
		return err
	}
	if !due.IsZero() {
		return job.Later(due)
	}
	return nil
}
