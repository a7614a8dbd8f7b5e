package webchat

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// The widget shows the kinds of message agents, automations and bots
// prepare (the reply package's model): text, a file with its caption, and
// interactive messages (reply buttons, a list, a link button). They are
// stored as WhatsApp stores them (whatsapp.Content with its Interactive),
// and a visitor's tap on a reply button or a list row comes back stored
// as WhatsApp stores a customer's (whatsapp.Reply, kind button_reply or
// list_reply, linked to the message it answers), so the code that reads
// one channel's answers reads the other's.

// Choice is a visitor's tap on a reply button or a list row of one of the
// business's messages.
type Choice struct {
	// MessageID is the business's message with the button or the list.
	MessageID int64 `json:"message_id"`
	// ID is the button's or the row's id.
	ID string `json:"id"`
}

// Interactive returns the buttons, list or link button of a message, or
// nil when it has none.
func Interactive(m *conversation.Message) *whatsapp.Interactive {
	if m.Type != conversation.TypeInteractive {
		return nil
	}
	c, ok := whatsapp.DecodeContent(m)
	if !ok || c.Interactive == nil {
		return nil
	}
	return c.Interactive
}

// Reply returns a visitor's (or a WhatsApp customer's) choice stored in a
// message, or nil.
func Reply(m *conversation.Message) *whatsapp.Reply {
	c, ok := whatsapp.DecodeContent(m)
	if !ok {
		return nil
	}
	return c.Reply
}

// choose finds what the visitor tapped: the message must be one the
// visitor was shown in a conversation of theirs, and the choice one of
// its buttons or rows. The title is the message's, not the visitor's.
func (s *Service) choose(ctx context.Context, v Visitor, ch Choice) (whatsapp.Reply, error) {
	refused := problem.Invalid("reply.message_id", "That message has no choice to answer.")
	if ch.MessageID <= 0 {
		return whatsapp.Reply{}, refused
	}
	m, err := s.conv.LoadMessage(ctx, ch.MessageID)
	if err != nil {
		if _, ok := problem.As(err); ok {
			return whatsapp.Reply{}, refused
		}
		return whatsapp.Reply{}, err
	}
	if m.InboxID != v.InboxID || m.Direction != conversation.Outbound || !VisibleToCustomer(&m) || !s.Owns(ctx, v, m.ConversationID) {
		return whatsapp.Reply{}, refused
	}
	in := Interactive(&m)
	if in == nil {
		return whatsapp.Reply{}, refused
	}
	switch in.Type {
	case whatsapp.InteractiveButtons:
		for _, b := range in.Buttons {
			if b.ID == ch.ID {
				return whatsapp.Reply{Kind: "button_reply", ID: b.ID, Title: b.Title}, nil
			}
		}
	case whatsapp.InteractiveList:
		for _, sec := range in.Sections {
			for _, r := range sec.Rows {
				if r.ID == ch.ID {
					return whatsapp.Reply{Kind: "list_reply", ID: r.ID, Title: r.Title, Description: r.Description}, nil
				}
			}
		}
	default:
		return whatsapp.Reply{}, refused
	}
	return whatsapp.Reply{}, problem.Invalid("reply.id", "That choice is not one of the message's.")
}

// replyContent is how a visitor's choice is stored.
func replyContent(r whatsapp.Reply, at time.Time) json.RawMessage {
	b, err := json.Marshal(whatsapp.Content{Kind: "interactive", Timestamp: &at, Reply: &r})
	if err != nil {
		panic(err) // only plain values
	}
	return b
}

// CheckSend is the conversation service's check of what is sent on a web
// chat inbox: the kinds the widget shows, within the limits every channel
// shares (Meta's, so that a message prepared once goes anywhere).
func (s *Service) CheckSend(ctx context.Context, _ *event.Tx, c *conversation.Conversation, m *conversation.Message) (time.Time, error) {
	if _, err := s.InboxByID(ctx, c.InboxID); err != nil {
		if _, ok := problem.As(err); ok {
			return time.Time{}, nil // not a web chat inbox
		}
		return time.Time{}, err
	}
	switch m.Type {
	case conversation.TypeText, conversation.TypeImage, conversation.TypeVideo, conversation.TypeAudio, conversation.TypeDocument:
		return time.Time{}, nil
	case conversation.TypeInteractive:
		in := Interactive(m)
		if in == nil {
			return time.Time{}, problem.Invalid("interactive", "Give the buttons, the list or the link button.")
		}
		var media *attachment.Attachment
		if len(m.Attachments) > 0 {
			media = &m.Attachments[0]
		}
		if err := in.Validate(media); err != nil {
			return time.Time{}, err
		}
		return time.Time{}, nil
	}
	return time.Time{}, problem.Invalid("type", "Web chat messages are text, files, buttons, lists or link buttons.")
}

// channelID is the channel id web chat gives a business's message (Deliver).
func channelID(messageID int64) string { return "wc:" + strconv.FormatInt(messageID, 10) }
