package automation

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// The survey's limits: its text is an interactive message's body, its
// button the list's button.
const (
	surveyTextMax   = whatsapp.MaxBody
	surveyButtonMax = whatsapp.MaxListButton
)

// Scale is the survey's fixed five levels, best first: each a list row
// whose id carries the rating.
var Scale = []struct {
	Rating      int
	Title, Says string
}{
	{5, "⭐⭐⭐⭐⭐", "Excellent"},
	{4, "⭐⭐⭐⭐", "Good"},
	{3, "⭐⭐⭐", "Fair"},
	{2, "⭐⭐", "Poor"},
	{1, "⭐", "Very poor"},
}

// choicePrefix starts the id of a survey's row.
const choicePrefix = "csat:"

// Survey is the survey message of settings c, as the customer gets it.
func Survey(c CSAT) reply.Message {
	rows := make([]whatsapp.Row, len(Scale))
	for i, l := range Scale {
		rows[i] = whatsapp.Row{ID: choicePrefix + strconv.Itoa(l.Rating), Title: l.Title, Description: l.Says}
	}
	return reply.Message{Kind: reply.Interactive, Text: c.Text, Interactive: &whatsapp.Interactive{
		Type: whatsapp.InteractiveList, ListButton: c.Button, Sections: []whatsapp.Section{{Rows: rows}}}}
}

// survey sends c's survey, once per conversation, when the channel still
// takes a free-form message.
func (s *Service) survey(ctx context.Context, tx *event.Tx, c *conversation.Conversation, cs CSAT) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM csat_ratings WHERE conversation_id = $1`, c.ID).Scan(&n); err != nil || n > 0 {
		return err
	}
	if open, err := s.conv.ReplyOpen(ctx, c); err != nil || !open {
		return err
	}
	o, err := Survey(cs).Prepare(ctx, tx.Tx, conversation.AutoUploader)
	if err != nil {
		return err
	}
	m, err := s.conv.PostAuto(ctx, tx, c, conversation.Author{Type: conversation.SenderSystem, Kind: KindCSAT}, o)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO csat_ratings (conversation_id, inbox_id, agent_id, contact_id, message_id, sent_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.InboxID, c.AssigneeID, c.ContactID, m.ID, m.CreatedAt)
	return err
}

// rating is the level a customer's message gives: the row they chose, or
// the digit they wrote (0: none).
func rating(in *conversation.Incoming) int {
	v := strings.TrimSpace(in.Text)
	if strings.HasPrefix(in.Choice, choicePrefix) {
		v = strings.TrimPrefix(in.Choice, choicePrefix)
	} else if in.Type != conversation.TypeText {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 5 {
		return 0
	}
	return n
}

// survey row of a contact on an inbox: their latest.
type surveyRow struct {
	convID               int64
	rating               *int
	sentAt               time.Time
	ratedAt, commentedAt *time.Time
}

func latestSurvey(ctx context.Context, tx *db.Tx, inboxID, contactID int64) (surveyRow, error) {
	var r surveyRow
	err := tx.QueryRow(ctx, `SELECT conversation_id, rating, sent_at, rated_at, commented_at FROM csat_ratings
		WHERE contact_id = $1 AND inbox_id = $2 ORDER BY sent_at DESC LIMIT 1`, contactID, inboxID).
		Scan(&r.convID, &r.rating, &r.sentAt, &r.ratedAt, &r.commentedAt)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return surveyRow{}, nil
	}
	return r, err
}

// Claim keeps a customer's answer to a survey in the closed conversation
// it rates: a rating while the survey waits for one (a day), then a
// comment in the half hour after the rating.
func (s *Service) Claim(ctx context.Context, tx *event.Tx, inboxID, contactID int64, in *conversation.Incoming) (int64, error) {
	r, err := latestSurvey(ctx, tx.Tx, inboxID, contactID)
	if err != nil || r.convID == 0 {
		return 0, err
	}
	now := s.now()
	switch {
	case r.rating == nil && inWindow(&r.sentAt, SurveyWindow, now) && rating(in) > 0:
		return r.convID, nil
	case r.rating != nil && r.commentedAt == nil && inWindow(r.ratedAt, CommentWindow, now) &&
		in.Type == conversation.TypeText && strings.TrimSpace(in.Text) != "":
		return r.convID, nil
	}
	return 0, nil
}

// answer records the rating or the comment m brings to c's survey, and
// thanks the customer for a rating.
func (s *Service) answer(ctx context.Context, tx *event.Tx, c *conversation.Conversation, m *conversation.Message, choice string) error {
	r, err := latestSurvey(ctx, tx.Tx, c.InboxID, c.ContactID)
	if err != nil || r.convID != c.ID {
		return err
	}
	now := db.Now()
	if r.rating == nil {
		in := conversation.Incoming{Type: m.Type, Text: m.Text, Choice: choice}
		n := rating(&in)
		if n == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE csat_ratings SET rating = $2, rated_at = $3 WHERE conversation_id = $1 AND rating IS NULL`, c.ID, n, now); err != nil {
			return err
		}
		st, err := s.settings(ctx, tx, c.InboxID)
		if err != nil || st.CSAT.Thanks == "" {
			return err
		}
		return s.send(ctx, tx, c, KindCSATThanks, reply.Message{Kind: reply.Text, Text: st.CSAT.Thanks})
	}
	_, err = tx.Exec(ctx, `UPDATE csat_ratings SET comment = $2, commented_at = $3 WHERE conversation_id = $1 AND commented_at IS NULL`,
		c.ID, strings.TrimSpace(m.Text), now)
	return err
}
