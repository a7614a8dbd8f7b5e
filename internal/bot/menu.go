package bot

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// defaultListButton labels the list of a menu with more than three
// options when the menu gives no label.
const defaultListButton = "Options"

// whatsappInteractive is the greeting's interactive part: the options as
// reply buttons, or as the rows of a list when there are more than three.
func whatsappInteractive(m *MenuConfig) *whatsapp.Interactive {
	if len(m.Options) <= whatsapp.MaxButtons {
		in := &whatsapp.Interactive{Type: whatsapp.InteractiveButtons}
		for _, o := range m.Options {
			in.Buttons = append(in.Buttons, whatsapp.Button{ID: o.ID, Title: o.Title})
		}
		return in
	}
	label := m.ListButton
	if label == "" {
		label = defaultListButton
	}
	sec := whatsapp.Section{}
	for _, o := range m.Options {
		sec.Rows = append(sec.Rows, whatsapp.Row{ID: o.ID, Title: o.Title})
	}
	return &whatsapp.Interactive{Type: whatsapp.InteractiveList, ListButton: label, Sections: []whatsapp.Section{sec}}
}

// choice is the option a customer's message picks: the button or row they
// tapped (its id), else the option whose title or number they wrote; nil
// when it picks none.
func (m *MenuConfig) choice(msg *conversation.Message) *Option {
	if id := tapped(msg); id != "" {
		for i := range m.Options {
			if m.Options[i].ID == id {
				return &m.Options[i]
			}
		}
	}
	t := strings.TrimSpace(msg.Text)
	if t == "" {
		return nil
	}
	for i := range m.Options {
		if strings.EqualFold(t, m.Options[i].Title) || t == strconv.Itoa(i+1) {
			return &m.Options[i]
		}
	}
	return nil
}

// tapped is the id of the button or list row a customer's message answers
// (WhatsApp's button_reply and list_reply, or a channel's choice), "" for
// none.
func tapped(msg *conversation.Message) string {
	if len(msg.Content) == 0 {
		return ""
	}
	var c struct {
		Reply *struct {
			ID string `json:"id"`
		} `json:"reply"`
		Choice string `json:"choice"`
	}
	if json.Unmarshal(msg.Content, &c) != nil {
		return ""
	}
	if c.Reply != nil && c.Reply.ID != "" {
		return c.Reply.ID
	}
	return c.Choice
}

// answer is a menu bot's turn on a customer's message m in c, in tx: the
// chosen option's message and action, or the greeting again when m picks
// no option (the customer's first message gets the greeting).
func (s *Service) answer(ctx context.Context, tx *event.Tx, c *conversation.Conversation, b *Bot, m *conversation.Message) error {
	menu := b.Menu
	if menu == nil || len(menu.Options) == 0 {
		return s.handoff(ctx, tx, c, nil)
	}
	o := menu.choice(m)
	if o == nil {
		return s.post(ctx, tx, c, b, menu.Message())
	}
	if o.Message != nil {
		if err := s.post(ctx, tx, c, b, *o.Message); err != nil {
			return err
		}
	}
	switch o.Action {
	case HandOff:
		return s.handoff(ctx, tx, c, o.TeamID)
	case Close:
		return s.convs.CloseAuto(ctx, tx, c, "The bot's flow ended.")
	}
	return nil
}

// post sends prepared message r in c as bot b, its variables filled.
func (s *Service) post(ctx context.Context, tx *event.Tx, c *conversation.Conversation, b *Bot, r reply.Message) error {
	var inboxName string
	if err := tx.QueryRow(ctx, `SELECT name FROM inboxes WHERE id = $1`, c.InboxID).Scan(&inboxName); err != nil {
		return err
	}
	r = r.Fill(reply.Vars{ContactName: c.Contact.Name, InboxName: inboxName})
	o, err := r.Prepare(ctx, tx.Tx, conversation.AutoUploader)
	if err != nil {
		return err
	}
	_, err = s.convs.PostAuto(ctx, tx, c, conversation.Author{Type: conversation.SenderBot, ID: b.ID, Kind: AutoKind}, o)
	return err
}

// AutoKind is the auto_kind of the messages bots send.
const AutoKind = "bot"
