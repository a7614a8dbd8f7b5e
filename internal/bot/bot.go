// Package bot keeps bots, the assignees that are not people, and the
// hand-off of their conversations to a human.
//
// An inbox may have one active bot, which takes the inbox's new
// conversations before routing does: Service wraps routing as the
// conversation core's Assigner, so a conversation a customer opens is
// held by the bot (conversations.bot_id, no assignee) instead of being
// routed. A bot holds it until it hands it off (the menu's option, the
// external bot's POST …/handoff, an agent's "Transfer to human", or by
// itself when its deliveries keep failing), which runs routing (or gives
// it to a team), or until the conversation closes: when the flow ends, or
// after ten minutes of customer silence (a durable timer, bot.silence:<conv>,
// compared at fire time with the customer's last message, so no write per
// message moves it). A conversation only a bot handled has no assignee
// when it closes, so it never gets a satisfaction survey.
//
// Two kinds: a menu bot answers from its menu (a greeting with buttons or
// a list; each option answers with a stored message, hands off to a team
// or to the inbox's routing, or closes the conversation); an external bot
// gets each customer message of its conversations posted to its URL by a
// durable job (bot.deliver:<message>), signed with HMAC-SHA256 under its
// secret, and answers through the API with its bearer token (sbb_…),
// which may only post messages to and hand off the conversations it
// holds. Customer messages reach bots through a shared event consumer over
// message.created; each message a bot takes in is recorded (bot_turns) in
// the transaction that answers it or queues its delivery, so a message
// handled twice is answered once.
//
// While a bot holds a conversation it keeps answering even when an agent
// writes (an agent's reply does not take the conversation from it); the
// workspace shows a banner with "Transfer to human".
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// Kind is the kind of a bot.
type Kind string

// The kinds.
const (
	// Menu is the built-in bot that answers from its menu.
	Menu Kind = "menu"
	// External is a bot elsewhere, reached over HTTP.
	External Kind = "external"
)

// Bot is a bot as the API shows it (never its token or signing secret).
type Bot struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// InboxID is the inbox whose new conversations the bot takes first
	// (null: none).
	InboxID *int64 `json:"inbox_id"`
	// Active bots take conversations; an inactive one takes none.
	Active bool `json:"active"`
	// Menu is a menu bot's menu.
	Menu *MenuConfig `json:"menu,omitempty"`
	// URL is where an external bot gets customer messages.
	URL string `json:"url,omitempty"`
	// HandoffAfterS is how long an external bot's deliveries may fail
	// before it hands its conversation to routing by itself.
	HandoffAfterS int `json:"handoff_after_s"`
	// FailingSince is when its deliveries began to fail (null while they
	// succeed).
	FailingSince *time.Time `json:"failing_since"`
	// Open is how many open conversations it holds.
	Open      int       `json:"open_conversations"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Action is what a menu option does.
type Action string

// The actions of a menu option.
const (
	// Reply answers with the option's message; the menu stays.
	Reply Action = "reply"
	// HandOff hands the conversation to a team, or to the inbox's
	// routing, after the option's message if it has one.
	HandOff Action = "handoff"
	// Close ends the flow: the conversation closes, after the option's
	// message if it has one.
	Close Action = "close"
)

// MenuConfig is a menu bot's menu: the greeting, sent with the options as
// buttons (up to three) or as a list (up to ten), and what each option does.
type MenuConfig struct {
	// Greeting is the interactive message that opens the menu: its text
	// (the body), and optionally a header (a text, or the message's image,
	// video or document) and a footer. Its buttons or list are the
	// options', filled in when the menu is saved.
	Greeting reply.Message `json:"greeting"`
	// ListButton is the label of the button that opens the list, when
	// there are more than three options ("Options" when empty).
	ListButton string   `json:"list_button,omitempty"`
	Options    []Option `json:"options"`
}

// Option is a choice of the menu.
type Option struct {
	// ID is the option's button or row id, given when the menu is saved
	// (o1, o2, … in order).
	ID     string `json:"id"`
	Title  string `json:"title"`
	Action Action `json:"action"`
	// Message is the answer: required to reply, optional before a
	// hand-off or a close.
	Message *reply.Message `json:"message,omitempty"`
	// TeamID is the team a hand-off goes to (null: the inbox's routing).
	TeamID *int64 `json:"team_id,omitempty"`
}

// MaxOptions is the most options a menu has (a WhatsApp list's rows).
const MaxOptions = 10

// DefaultHandoffAfter is how long an external bot's deliveries fail before
// it hands off, unless set otherwise.
const DefaultHandoffAfter = 5 * time.Minute

// Silence is how long a bot waits for its customer before it closes the
// conversation.
const Silence = 10 * time.Minute

// Message is the interactive message that opens the menu: the greeting
// with the options as reply buttons (three or fewer) or a list.
func (m *MenuConfig) Message() reply.Message {
	g := m.Greeting
	in := whatsappInteractive(m)
	if g.Interactive != nil {
		in.Header, in.Footer = g.Interactive.Header, g.Interactive.Footer
		if in.Type == whatsapp.InteractiveList && in.Header != nil && in.Header.Type != "text" {
			in.Header = nil // a list's header is text only (the check says so)
		}
	}
	g.Kind, g.Interactive = reply.Interactive, in
	return g
}

// NewBot is what it takes to create a bot.
type NewBot struct {
	Name    string      `json:"name"`
	Kind    Kind        `json:"kind"`
	InboxID *int64      `json:"inbox_id"`
	Active  *bool       `json:"active"`
	Menu    *MenuConfig `json:"menu"`
	URL     string      `json:"url"`
	// HandoffAfterS defaults to 300 (five minutes).
	HandoffAfterS int `json:"handoff_after_s"`
}

// Patch changes a bot; nil fields stay. RotateToken and RotateSecret make
// an external bot a new token or signing secret, shown once in the answer.
type Patch struct {
	Name          *string     `json:"name"`
	InboxID       *int64      `json:"inbox_id"`
	NoInbox       bool        `json:"no_inbox"`
	Active        *bool       `json:"active"`
	Menu          *MenuConfig `json:"menu"`
	URL           *string     `json:"url"`
	HandoffAfterS *int        `json:"handoff_after_s"`
	RotateToken   bool        `json:"rotate_token"`
	RotateSecret  bool        `json:"rotate_secret"`
}

// Created is a bot just created or changed, with the credentials made for
// it: shown this once, never again.
type Created struct {
	Bot
	// Token is an external bot's bearer token for the API.
	Token string `json:"token,omitempty"`
	// SigningSecret signs what Switchboard posts to an external bot.
	SigningSecret string `json:"signing_secret,omitempty"`
}

// ErrNotFound is a bot that does not exist.
var ErrNotFound = problem.NotFound("Bot")

const columns = `b.id, b.name, b.kind, b.inbox_id, b.active, b.menu, b.url, b.handoff_after_s, b.failing_since, b.created_at, b.updated_at,
	(SELECT COUNT(*) FROM conversations c WHERE c.bot_id = b.id AND c.status = 'open')`

func scan(row interface{ Scan(...any) error }) (Bot, error) {
	var b Bot
	var menu string
	err := row.Scan(&b.ID, &b.Name, &b.Kind, &b.InboxID, &b.Active, &menu, &b.URL, &b.HandoffAfterS, &b.FailingSince,
		&b.CreatedAt, &b.UpdatedAt, &b.Open)
	if err != nil {
		return b, err
	}
	if b.Kind == Menu {
		b.Menu = &MenuConfig{}
		if err := json.Unmarshal([]byte(menu), b.Menu); err != nil {
			return b, fmt.Errorf("bot %d: menu: %w", b.ID, err)
		}
	}
	return b, nil
}

// get reads bot id in q.
func get(ctx context.Context, q db.Querier, id int64) (Bot, error) {
	b, err := scan(q.QueryRow(ctx, `SELECT `+columns+` FROM bots b WHERE b.id = $1`, id))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return b, ErrNotFound
	}
	return b, err
}

// settings are a bot's settings as they are checked and stored.
type settings struct {
	name          string
	kind          Kind
	inboxID       *int64
	active        bool
	menu          *MenuConfig
	url           string
	handoffAfterS int
}

// MinHandoffAfterS and MaxHandoffAfterS bound HandoffAfterS.
const (
	MinHandoffAfterS = 30
	MaxHandoffAfterS = 24 * 60 * 60
)

// check validates s (in q, for the inbox and teams) with a problem per
// field, and gives the menu's options their ids.
func (s *settings) check(ctx context.Context, q db.Querier) error {
	f := problem.Fields{}
	s.name = strings.TrimSpace(s.name)
	switch {
	case s.name == "":
		f.Add("name", "Enter a name.")
	case utf8.RuneCountInString(s.name) > 100:
		f.Add("name", "A name has at most 100 characters.")
	}
	if s.inboxID != nil {
		var archived *time.Time
		err := q.QueryRow(ctx, `SELECT archived_at FROM inboxes WHERE id = $1`, *s.inboxID).Scan(&archived)
		switch {
		case errors.Is(db.MapErr(err), db.ErrNotFound):
			f.Add("inbox_id", "There is no inbox with id %d.", *s.inboxID)
		case err != nil:
			return err
		case archived != nil:
			f.Add("inbox_id", "This inbox is archived: choose another.")
		}
	}
	if s.handoffAfterS < MinHandoffAfterS || s.handoffAfterS > MaxHandoffAfterS {
		f.Add("handoff_after_s", "Hand off after %d seconds to %d hours.", MinHandoffAfterS, MaxHandoffAfterS/3600)
	}
	switch s.kind {
	case Menu:
		s.url = ""
		if s.menu == nil {
			f.Add("menu.greeting.text", "Write the greeting.")
			break
		}
		if err := s.menu.check(ctx, q, f); err != nil {
			return err
		}
	case External:
		s.menu = nil
		s.url = strings.TrimSpace(s.url)
		if u, err := url.Parse(s.url); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.Add("url", "Enter the address that gets the messages, like https://bot.example.com/switchboard.")
		} else if len(s.url) > 2000 {
			f.Add("url", "The address has at most 2000 characters.")
		}
	default:
		f.Add("kind", "Choose menu or external.")
	}
	return f.Err()
}

// check validates a menu into f: the greeting and its options as WhatsApp
// takes them, each option's action, message and team.
func (m *MenuConfig) check(ctx context.Context, q db.Querier, f problem.Fields) error {
	m.Greeting.Text = strings.TrimSpace(m.Greeting.Text)
	m.ListButton = strings.TrimSpace(m.ListButton)
	switch n := len(m.Options); {
	case n == 0:
		f.Add("menu.options", "Add at least one option.")
	case n > MaxOptions:
		f.Add("menu.options", "A menu has at most %d options.", MaxOptions)
	}
	for i := range m.Options {
		o := &m.Options[i]
		o.ID = fmt.Sprintf("o%d", i+1)
		o.Title = strings.TrimSpace(o.Title)
		field := fmt.Sprintf("menu.options.%d", i)
		switch o.Action {
		case Reply, HandOff, Close:
		default:
			f.Add(field+".action", "Choose reply, handoff or close.")
		}
		if o.Message != nil && o.Message.IsZero() {
			o.Message = nil
		}
		if o.Message == nil && o.Action == Reply {
			f.Add(field+".message.text", "Write the answer.")
		}
		if o.Message != nil {
			if o.Message.Kind == "" {
				o.Message.Kind = reply.Text
			}
			if err := o.Message.Check(ctx, q, field+".message"); err != nil {
				p, ok := problem.As(err)
				if !ok {
					return err
				}
				for k, v := range p.Fields {
					f.Add(k, "%s", v)
				}
			}
		}
		if o.Action != HandOff {
			o.TeamID = nil
		}
		if o.TeamID != nil {
			var ok bool
			if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)`, *o.TeamID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				f.Add(field+".team_id", "There is no team with id %d.", *o.TeamID)
			}
		}
	}
	if len(m.Options) == 0 || len(m.Options) > MaxOptions {
		if m.Greeting.Text == "" {
			f.Add("menu.greeting.text", "Write the greeting.")
		}
		return nil
	}
	// The greeting as WhatsApp takes it, kept with its buttons or list:
	// its fields named after the menu's.
	g := m.Message()
	if err := g.Check(ctx, q, ""); err != nil {
		p, ok := problem.As(err)
		if !ok {
			return err
		}
		for k, v := range p.Fields {
			f.Add(menuField(k), "%s", v)
		}
		return nil
	}
	m.Greeting = g
	return nil
}

// menuField names a field of the greeting's interactive message after
// the menu field it comes from.
func menuField(k string) string {
	switch {
	case k == "text", k == "attachment_id", k == "interactive.header.type", k == "interactive.header.text", k == "interactive.footer":
		return "menu.greeting." + k
	case k == "interactive.list_button":
		return "menu.list_button"
	case strings.HasPrefix(k, "interactive.buttons."):
		i, _, _ := strings.Cut(strings.TrimPrefix(k, "interactive.buttons."), ".")
		return "menu.options." + i + ".title"
	case strings.HasPrefix(k, "interactive.sections.0.rows."):
		i, _, _ := strings.Cut(strings.TrimPrefix(k, "interactive.sections.0.rows."), ".")
		return "menu.options." + i + ".title"
	}
	return "menu.options"
}

func marshalMenu(m *MenuConfig) string {
	if m == nil {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}
