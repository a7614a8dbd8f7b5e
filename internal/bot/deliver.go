package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
)

// The headers of a delivery to an external bot.
const (
	// SignatureHeader is the hex HMAC-SHA256 of the raw body under the
	// bot's signing secret.
	SignatureHeader = "X-Switchboard-Signature"
	// TimestampHeader is when the delivery was made, in Unix seconds (the
	// body's timestamp too, which the signature covers).
	TimestampHeader = "X-Switchboard-Timestamp"
	// DeliveryHeader is the delivery's id, the same on every retry.
	DeliveryHeader = "X-Switchboard-Delivery"
)

// Delivery is what an external bot gets for each customer message of a
// conversation it holds.
type Delivery struct {
	// ID is the delivery's id, the same on every attempt: a bot that got
	// it already may ignore it.
	ID string `json:"delivery_id"`
	// Timestamp is when this attempt was made (Unix seconds).
	Timestamp int64  `json:"timestamp"`
	Event     string `json:"event"`
	BotID     int64  `json:"bot_id"`
	// Conversation is the conversation: answer it with POST
	// /api/v1/conversations/{id}/messages, hand it off with POST
	// /api/v1/conversations/{id}/handoff.
	Conversation DeliveredConversation `json:"conversation"`
	Message      conversation.Message  `json:"message"`
}

// DeliveredConversation is the conversation of a delivery.
type DeliveredConversation struct {
	ID      int64              `json:"id"`
	InboxID int64              `json:"inbox_id"`
	Contact conversation.Party `json:"contact"`
}

// Sign is the signature of body under secret: hex(HMAC-SHA256).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature under secret, in
// constant time (what an external bot does with a delivery).
func Verify(secret string, body []byte, sig string) bool {
	want, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(want, m.Sum(nil))
}

type deliverPayload struct {
	BotID          int64 `json:"bot_id"`
	ConversationID int64 `json:"conversation_id"`
	MessageID      int64 `json:"message_id"`
}

func deliverKey(messageID int64) string { return fmt.Sprintf("%s:%d", DeliverJob, messageID) }

// deliverAttempts is how many times a delivery is tried; the bot hands off
// by itself well before (HandoffAfterS).
const deliverAttempts = 50

// handleDeliver posts a customer message to the external bot that holds
// its conversation. A failure is tried again with backoff; once the bot's
// deliveries have failed for longer than its HandoffAfterS (or the job's
// attempts run out), the conversation is handed to routing.
func (s *Service) handleDeliver(ctx context.Context, j *job.Job) error {
	var p deliverPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	var sealed string
	var url string
	var active bool
	err := s.db.QueryRow(ctx, `SELECT signing_secret, url, active FROM bots WHERE id = $1 AND kind = 'external'`, p.BotID).Scan(&sealed, &url, &active)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return nil // the bot is gone (its conversations went to routing)
	} else if err != nil {
		return err
	}
	c, err := conversation.Load(ctx, s.db, p.ConversationID)
	if errors.Is(err, conversation.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if !active || c.Status != conversation.Open || c.BotID == nil || *c.BotID != p.BotID {
		return nil // handed off or closed meanwhile: nothing to deliver
	}
	m, err := s.convs.LoadMessage(ctx, p.MessageID)
	if err != nil {
		return err
	}
	key, err := s.box.Open(sealed)
	if err != nil {
		return job.Permanent(fmt.Errorf("bot %d: signing secret: %w", p.BotID, err))
	}
	now := s.now()
	d := Delivery{ID: "m" + strconv.FormatInt(m.ID, 10), Timestamp: now.Unix(), Event: event.MessageCreated, BotID: p.BotID,
		Conversation: DeliveredConversation{ID: c.ID, InboxID: c.InboxID, Contact: c.Contact}, Message: m}
	body, err := json.Marshal(d)
	if err != nil {
		return job.Permanent(err)
	}
	derr := s.send(ctx, url, key, d, body)
	if derr == nil {
		_, err := s.db.Exec(ctx, `UPDATE bots SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, p.BotID)
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err() // stopping: tried again later
	}
	return s.failed(ctx, j, p, derr)
}

// send makes one delivery.
func (s *Service) send(ctx context.Context, url, key string, d Delivery, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Bots/1")
	req.Header.Set(SignatureHeader, Sign(key, body))
	req.Header.Set(TimestampHeader, strconv.FormatInt(d.Timestamp, 10))
	req.Header.Set(DeliveryHeader, d.ID)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("bot answered %d", resp.StatusCode)
	}
	return nil
}

// failed records a failed delivery: the bot is failing since its first
// failure in a row; past its HandoffAfterS (or on the last attempt) the
// conversation goes to routing and the job ends, else it is tried again.
func (s *Service) failed(ctx context.Context, j *job.Job, p deliverPayload, derr error) error {
	now := db.Time(s.now())
	var since time.Time
	var after int
	handedOff := false
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		handedOff = false
		if err := tx.QueryRow(ctx, `UPDATE bots SET failing_since = COALESCE(failing_since, $2) WHERE id = $1
			RETURNING failing_since, handoff_after_s`, p.BotID, now).Scan(&since, &after); err != nil {
			return err
		}
		if now.Sub(since) < time.Duration(after)*time.Second && !j.Final() {
			return nil
		}
		c, err := conversation.Load(ctx, tx, p.ConversationID)
		if err != nil {
			return err
		}
		if c.Status != conversation.Open || c.BotID == nil || *c.BotID != p.BotID {
			handedOff = true
			return nil
		}
		handedOff = true
		return s.handoff(ctx, tx, &c, nil)
	})
	if err != nil {
		return err
	}
	if handedOff {
		s.logger.Warn("bot: deliveries keep failing; the conversation went to routing", "bot", p.BotID,
			"conversation", p.ConversationID, "failing_since", since, "err", derr)
		return nil
	}
	return fmt.Errorf("bot %d: delivery of message %d: %w", p.BotID, p.MessageID, derr)
}
