package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// Settings are a number's automation (product document 002, Number's
// settings > Automation): each a switch and what it sends.
type Settings struct {
	Welcome    Welcome   `json:"welcome"`
	Unassigned Switch    `json:"unassigned"`
	Queue      Switch    `json:"queue"`
	Reminder   Reminder  `json:"reminder"`
	AutoClose  AutoClose `json:"auto_close"`
	CSAT       CSAT      `json:"csat"`
}

// Switch is an automatic message: on or off, and the message.
type Switch struct {
	Enabled bool          `json:"enabled"`
	Message reply.Message `json:"message"`
}

// Welcome greets a customer who opens the chat.
type Welcome struct {
	Switch
	// OnFirstMessage also greets a customer whose first message opens a
	// conversation, when no welcome went out to them in the last day
	// (Meta's trigger is unreliable).
	OnFirstMessage bool `json:"on_first_message"`
}

// Reminder tells a customer whom no agent answered within AfterMinutes.
type Reminder struct {
	Switch
	AfterMinutes int `json:"after_minutes"`
}

// AutoClose closes an agent-served conversation whose customer has not
// replied for AfterMinutes.
type AutoClose struct {
	Enabled      bool `json:"enabled"`
	AfterMinutes int  `json:"after_minutes"`
}

// CSAT is the satisfaction survey sent when a person's conversation
// closes. The scale is fixed (five levels); the text and the label of the
// button that opens it are the inbox's.
type CSAT struct {
	Enabled bool   `json:"enabled"`
	Text    string `json:"text"`
	Button  string `json:"button"`
	// Thanks answers a rating and invites a comment.
	Thanks string `json:"thanks"`
}

// The limits of the settings.
const (
	MinAutoClose    = 1
	MaxAutoClose    = 72 * 60
	MinReminder     = 1
	MaxReminder     = 24 * 60
	DefaultClose    = 24 * 60
	DefaultReminder = 10
	// CommentWindow is how long after a rating the customer's next message
	// is taken as its comment.
	CommentWindow = 30 * time.Minute
	// SurveyWindow is how long a survey waits for its rating.
	SurveyWindow = 24 * time.Hour
	// WelcomeEvery is the least time between two welcomes to one customer.
	WelcomeEvery = 24 * time.Hour
)

// Defaults are the settings of an inbox nobody configured: everything
// off, with messages ready to switch on.
func Defaults() Settings {
	text := func(s string) reply.Message { return reply.Message{Kind: reply.Text, Text: s} }
	return Settings{
		Welcome:    Welcome{Switch: Switch{Message: text("Hi {{contact.name}}, welcome to {{inbox.name}}! How can we help?")}, OnFirstMessage: true},
		Unassigned: Switch{Message: text("Thanks for your message. All our agents are busy right now; we will answer as soon as we can.")},
		Queue:      Switch{Message: text("You are number {{queue.position}} in the queue. Expected wait: {{queue.estimated_wait}}.")},
		Reminder:   Reminder{Switch: Switch{Message: text("Thanks for waiting, {{contact.name}}: an agent will be with you shortly.")}, AfterMinutes: DefaultReminder},
		AutoClose:  AutoClose{AfterMinutes: DefaultClose},
		CSAT: CSAT{Text: "How would you rate the help you got?", Button: "Rate us",
			Thanks: "Thank you for your rating! If you want to tell us more, just write it here."},
	}
}

// check validates s, with a problem per field.
func (s *Settings) check(ctx context.Context, q db.Querier) error {
	f := problem.Fields{}
	for _, m := range s.messages() {
		if err := m.msg.Check(ctx, q, m.key+".message"); err != nil {
			p, ok := problem.As(err)
			if !ok {
				return err
			}
			for k, v := range p.Fields {
				f.Add(k, "%s", v)
			}
		}
	}
	if n := s.Reminder.AfterMinutes; n < MinReminder || n > MaxReminder {
		f.Add("reminder.after_minutes", "The waiting time is 1 minute to 24 hours (1 to %d minutes).", MaxReminder)
	}
	if n := s.AutoClose.AfterMinutes; n < MinAutoClose || n > MaxAutoClose {
		f.Add("auto_close.after_minutes", "Auto-close takes 1 minute to 72 hours (1 to %d minutes).", MaxAutoClose)
	}
	c := &s.CSAT
	c.Text, c.Button, c.Thanks = strings.TrimSpace(c.Text), strings.TrimSpace(c.Button), strings.TrimSpace(c.Thanks)
	switch n := len([]rune(c.Text)); {
	case n == 0:
		f.Add("csat.text", "Write the survey's question.")
	case n > surveyTextMax:
		f.Add("csat.text", "The survey's text has at most %d characters (this one has %d).", surveyTextMax, n)
	}
	switch n := len([]rune(c.Button)); {
	case n == 0:
		f.Add("csat.button", "Write the label of the button that opens the survey.")
	case n > surveyButtonMax:
		f.Add("csat.button", "The button's label has at most %d characters (this one has %d).", surveyButtonMax, n)
	}
	if n := len([]rune(c.Thanks)); n > surveyTextMax {
		f.Add("csat.thanks", "The thanks has at most %d characters (this one has %d).", surveyTextMax, n)
	}
	return f.Err()
}

// FieldMessages lists the messages of check kept as formats, for the
// translations' completeness test.
func FieldMessages() []string {
	return []string{
		"The waiting time is 1 minute to 24 hours (1 to %d minutes).",
		"Auto-close takes 1 minute to 72 hours (1 to %d minutes).",
		"Write the survey's question.",
		"The survey's text has at most %d characters (this one has %d).",
		"Write the label of the button that opens the survey.",
		"The button's label has at most %d characters (this one has %d).",
		"The thanks has at most %d characters (this one has %d).",
	}
}

// Settings returns an inbox's automation (the defaults until it is set).
func (s *Service) Settings(ctx context.Context, inboxID int64) (Settings, error) {
	if err := inboxExists(ctx, s.db, inboxID); err != nil {
		return Settings{}, err
	}
	return s.settings(ctx, s.db, inboxID)
}

// settings reads an inbox's automation in q.
func (s *Service) settings(ctx context.Context, q db.Querier, inboxID int64) (Settings, error) {
	st := Defaults()
	var raw string
	err := q.QueryRow(ctx, `SELECT settings FROM automation_settings WHERE inbox_id = $1`, inboxID).Scan(&raw)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return st, nil
	} else if err != nil {
		return st, fmt.Errorf("automation: settings: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, fmt.Errorf("automation: settings of inbox %d: %w", inboxID, err)
	}
	return st, nil
}

// SetSettings checks and saves an inbox's automation, whole, for the
// admin a. The messages' files are kept for the inbox (reply.Keep): a new
// one must be an upload of a's not yet sent. The welcome switch of a
// WhatsApp number is pushed to Meta (with its ice breakers) after the
// commit.
func (s *Service) SetSettings(ctx context.Context, a policy.Actor, inboxID int64, st Settings) (Settings, error) {
	if err := inboxExists(ctx, s.db, inboxID); err != nil {
		return Settings{}, err
	}
	if err := st.check(ctx, s.db); err != nil {
		return Settings{}, err
	}
	prev, err := s.settings(ctx, s.db, inboxID)
	if err != nil {
		return Settings{}, err
	}
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		for _, m := range st.messages() {
			holder := "automation:" + strconv.FormatInt(inboxID, 10) + ":" + m.key
			if _, err := reply.Keep(ctx, tx.Tx, *m.msg, attachment.Uploader("user", a.UserID), holder, m.key+".message"); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO automation_settings (inbox_id, settings, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (inbox_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
			inboxID, mustJSON(st), db.Now()); err != nil {
			return fmt.Errorf("automation: save: %w", err)
		}
		e := event.New(Changed, map[string]int64{"inbox_id": inboxID})
		tx.Emit(e)
		return nil
	})
	if err != nil {
		return Settings{}, err
	}
	s.cache.forget(inboxID)
	if s.welcomeSwitch != nil && prev.Welcome.Enabled != st.Welcome.Enabled {
		if err := s.welcomeSwitch(ctx, inboxID, st.Welcome.Enabled); err != nil {
			s.logger.Warn("automation: welcome switch not pushed", "inbox", inboxID, "err", err)
		}
	}
	return st, nil
}

// messages are the settings' automatic messages, by the key of their
// fields.
func (s *Settings) messages() []struct {
	key string
	msg *reply.Message
} {
	return []struct {
		key string
		msg *reply.Message
	}{{"welcome", &s.Welcome.Message}, {"unassigned", &s.Unassigned.Message}, {"queue", &s.Queue.Message}, {"reminder", &s.Reminder.Message}}
}

// Check checks settings as SetSettings would, without saving them, so
// that a form shows every problem at once.
func (s *Service) Check(ctx context.Context, st *Settings) error {
	return st.check(ctx, s.db)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func inboxExists(ctx context.Context, q db.Querier, inboxID int64) error {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM inboxes WHERE id = $1`, inboxID).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return problem.NotFound("Inbox")
	}
	return err
}
