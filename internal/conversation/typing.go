package conversation

import (
	"context"
	"time"

	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/realtime"
)

// Typing indicators are signals (event.Log.Signal): never stored, handed
// by every node's hub to whoever watches the conversation at that moment.
// Each side of a conversation sends at most one every TypingEvery (on
// this node); the screens showing them let one go after a few seconds
// without another.

// TypingEvery is how often each side of a conversation may say it is
// typing.
const TypingEvery = 3 * time.Second

// Who types.
const (
	TypingCustomer = "customer"
	TypingAgent    = "agent"
)

// Typing is the data of an event.Typing signal.
type Typing struct {
	ConversationID int64 `json:"conversation_id"`
	// From is TypingCustomer or TypingAgent.
	From string `json:"from"`
	// UserID is the agent who types.
	UserID int64 `json:"user_id,omitempty"`
}

type typingKey struct {
	conversation int64
	from         string
}

// SetClock sets the clock of the typing throttles (tests); set before
// serving.
func (s *Service) SetClock(now func() time.Time) {
	s.typing = realtime.NewThrottle[typingKey](TypingEvery, now)
}

// AgentTyping tells whoever watches conversation id (the customer on the
// web chat, other agents) that agent a is writing to it. It returns the
// conversation, and whether the signal went (false while the last one is
// younger than TypingEvery).
func (s *Service) AgentTyping(ctx context.Context, a policy.Actor, id int64) (Conversation, bool, error) {
	c, err := load(ctx, s.db, id)
	if err != nil {
		return Conversation{}, false, err
	}
	if !policy.ConversationScope(a).Allows(c.ref()) {
		return Conversation{}, false, ErrNotFound
	}
	if !s.typing.Allow(typingKey{c.ID, TypingAgent}) {
		return c, false, nil
	}
	e := event.New(event.Typing, Typing{ConversationID: c.ID, From: TypingAgent, UserID: a.UserID})
	e.ConversationID, e.ContactID, e.Ref, e.Public = c.ID, c.ContactID, c.ref(), true
	return c, true, s.log.Signal(ctx, e)
}

// CustomerTyping tells the agents who may see conversation id that the
// customer is writing to it, and reports whether the signal went.
func (s *Service) CustomerTyping(ctx context.Context, id int64) (bool, error) {
	if !s.typing.Allow(typingKey{id, TypingCustomer}) {
		return false, nil
	}
	c, err := load(ctx, s.db, id)
	if err != nil {
		return false, err
	}
	e := event.New(event.Typing, Typing{ConversationID: c.ID, From: TypingCustomer})
	e.ConversationID, e.ContactID, e.Ref = c.ID, c.ContactID, c.ref()
	return true, s.log.Signal(ctx, e)
}
