package automation

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
)

// handleReminder sends a turn's reminder when no person answered in
// time. It may run twice (a node that died after its commit): the second
// run finds the turn reminded.
func (s *Service) handleReminder(ctx context.Context, j *job.Job) error {
	var p convPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	return s.fire(ctx, j, p.ConversationID, func(ctx context.Context, tx *event.Tx, c *conversation.Conversation, st Settings) (time.Time, error) {
		rs := reminderState{Open: c.Status == conversation.Open && !c.Pending() && c.BotID == nil, Enabled: st.Reminder.Enabled,
			Wait: time.Duration(st.Reminder.AfterMinutes) * time.Minute}
		var err error
		if rs.TurnStart, rs.Reminded, err = turn(ctx, tx.Tx, c); err != nil || rs.TurnStart.IsZero() {
			return time.Time{}, err
		}
		send, later := reminderDue(rs, s.now())
		if !send {
			return later, nil
		}
		return time.Time{}, s.send(ctx, tx, c, KindReminder, st.Reminder.Message)
	})
}

// handleAutoClose closes an agent-served conversation whose customer did
// not reply in time, with a note in its history.
func (s *Service) handleAutoClose(ctx context.Context, j *job.Job) error {
	var p convPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	return s.fire(ctx, j, p.ConversationID, func(ctx context.Context, tx *event.Tx, c *conversation.Conversation, st Settings) (time.Time, error) {
		after := time.Duration(st.AutoClose.AfterMinutes) * time.Minute
		close, later := closeDue(closeState{Open: c.Status == conversation.Open, Served: c.AssigneeID != nil && c.BotID == nil,
			LastAgent: c.LastAgentMessageAt, LastCustomer: c.LastCustomerMessageAt, After: after, Enabled: st.AutoClose.Enabled}, s.now())
		if !close {
			return later, nil
		}
		return time.Time{}, s.conv.CloseAuto(ctx, tx, c, "The customer did not reply for "+span(after)+".")
	})
}

// fire runs a timer's decision on its conversation in one transaction,
// which also ends the timer when it has nothing more to do (job.Complete:
// what it sent and its end commit together). When what the timer sends is
// refused by the channel (the customer's window closed), the timer ends
// without it.
func (s *Service) fire(ctx context.Context, j *job.Job, convID int64, decide func(ctx context.Context, tx *event.Tx, c *conversation.Conversation, st Settings) (time.Time, error)) error {
	var later time.Time
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		later = time.Time{}
		c, err := conversation.Load(ctx, tx, convID)
		if errors.Is(err, conversation.ErrNotFound) {
			return j.Complete(ctx, tx.Tx)
		} else if err != nil {
			return err
		}
		st, err := s.of(ctx, c.InboxID)
		if err != nil {
			return err
		}
		if later, err = decide(ctx, tx, &c, st); err != nil || !later.IsZero() {
			return err
		}
		return j.Complete(ctx, tx.Tx)
	})
	if isRefusal(err) {
		s.logger.Info("automation: message not sent", "conversation", convID, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	if !later.IsZero() {
		return job.Later(later)
	}
	return nil
}

// turn is the customer's turn: when their first message since a person
// last wrote came (zero when a person answered since), and whether
// automation sent a reminder after it — one read along the conversation's
// index.
func turn(ctx context.Context, tx *db.Tx, c *conversation.Conversation) (time.Time, bool, error) {
	if c.LastCustomerMessageAt == nil || (c.LastAgentMessageAt != nil && !c.LastAgentMessageAt.Before(*c.LastCustomerMessageAt)) {
		return time.Time{}, false, nil
	}
	since := time.Unix(0, 0).UTC()
	if c.LastAgentMessageAt != nil {
		since = *c.LastAgentMessageAt
	}
	var at time.Time
	var reminders int
	err := tx.QueryRow(ctx, `SELECT t.created_at, (SELECT COUNT(*) FROM messages r WHERE r.conversation_id = $1 AND r.id > t.id AND r.auto_kind = $3)
		FROM (SELECT id, created_at FROM messages WHERE conversation_id = $1 AND sender_type = 'contact' AND type <> 'system'
			AND created_at > $2 ORDER BY id LIMIT 1) t`, c.ID, db.Time(since), KindReminder).Scan(&at, &reminders)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return time.Time{}, false, nil
	}
	return at, reminders > 0, err
}

// span says a duration in whole minutes, hours or days.
func span(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m%(24*60) == 0 && m >= 24*60:
		return plural(m/(24*60), "day")
	case m%60 == 0 && m >= 60:
		return plural(m/60, "hour")
	}
	return plural(m, "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
