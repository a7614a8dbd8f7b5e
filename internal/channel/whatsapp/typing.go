package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
)

// ---- Typing indicator ----

// TypingEvery is how often the customer's phone is told that the business
// is typing, per conversation: WhatsApp shows the indicator for 25 s (or
// until the reply comes), so one every 25 s keeps it up while the agent
// types.
const TypingEvery = 25 * time.Second

// typingTimeout bounds the call to Graph: the agent's request waits for
// it.
const typingTimeout = 5 * time.Second

// typingRequest is Graph's typing indicator: a read mark of the
// customer's latest message, with the indicator.
type typingRequest struct {
	MessagingProduct string `json:"messaging_product"`
	Status           string `json:"status"`
	MessageID        string `json:"message_id"`
	TypingIndicator  struct {
		Type string `json:"type"`
	} `json:"typing_indicator"`
}

// Typing shows "typing…" on the customer's phone (and, as Graph does with
// it, marks their latest message read). It is best effort: not a job, not
// retried, at most once per conversation every TypingEvery on this node,
// and a failure is only logged — a lost typing indicator does not matter.
// Conversations of other channels are ignored.
func (s *Service) Typing(ctx context.Context, c conversation.Conversation) {
	n, err := s.number(ctx, c.InboxID)
	if err != nil {
		return // not WhatsApp
	}
	if !s.typing.Allow(c.ID) {
		return
	}
	wamid, err := s.conv.LatestChannelIDFromCustomer(ctx, c.ID)
	if err != nil {
		s.logger.Warn("whatsapp: typing indicator", "conversation", c.ID, "err", err)
		return
	}
	if wamid == "" {
		return // the business wrote first: nothing to answer yet
	}
	ctx, cancel := context.WithTimeout(ctx, typingTimeout)
	defer cancel()
	if err := s.graph.Typing(ctx, n.AccessToken, n.PhoneNumberID, wamid); err != nil {
		s.logger.Info("whatsapp: typing indicator not shown", "conversation", c.ID, "err", err)
	}
}

// Typing shows the typing indicator to the customer who sent messageID.
func (g *Graph) Typing(ctx context.Context, token, phoneNumberID, messageID string) error {
	req := typingRequest{MessagingProduct: "whatsapp", Status: "read", MessageID: messageID}
	req.TypingIndicator.Type = "text"
	body, _ := json.Marshal(req)
	var out struct {
		Success bool `json:"success"`
	}
	return g.do(ctx, token, http.MethodPost, g.url(phoneNumberID+"/messages", nil), "application/json", bytes.NewReader(body), &out)
}
