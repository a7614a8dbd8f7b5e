package conversation

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// ActivityKind is what happened to a conversation.
type ActivityKind string

// The activities. ActAssigned is from nobody to someone, transferred from
// someone to someone else, unassigned from someone to nobody.
const (
	ActAssigned    ActivityKind = "assigned"
	ActTransferred ActivityKind = "transferred"
	ActUnassigned  ActivityKind = "unassigned"
	ActClosed      ActivityKind = "closed"
	ActReopened    ActivityKind = "reopened"
	ActTagged      ActivityKind = "tagged"
	ActUntagged    ActivityKind = "untagged"
)

// ActorType says who made a change: an agent, or Switchboard itself
// (automatic assignment).
type ActorType string

// The actors.
const (
	ActorAgent  ActorType = "agent"
	ActorSystem ActorType = "system"
)

// Activity is a change to a conversation as its timeline shows it: who
// did what, and when. It is written in the transaction of the change.
type Activity struct {
	ID             int64        `json:"id"`
	ConversationID int64        `json:"conversation_id"`
	Kind           ActivityKind `json:"kind"`
	ActorType      ActorType    `json:"actor_type"`
	// ActorID is the agent who made the change (null for automatic ones,
	// and once that user is deleted).
	ActorID *int64 `json:"actor_id"`
	// AssigneeID is who the conversation went to (assigned,
	// transferred); PrevAssigneeID who had it (transferred, unassigned).
	AssigneeID     *int64 `json:"assignee_id,omitempty"`
	PrevAssigneeID *int64 `json:"prev_assignee_id,omitempty"`
	// Tag is the tag added or removed.
	Tag string `json:"tag,omitempty"`
	// AfterMessageID is the conversation's last message when it happened:
	// the timeline shows the activity after that message.
	AfterMessageID int64     `json:"after_message_id"`
	CreatedAt      time.Time `json:"created_at"`
	// Note says why Switchboard made the change (an automatic close).
	Note string `json:"note,omitempty"`
}

// assignment is the activity of a change of assignee from prev to next
// (nil: nobody), or false when the assignee stays.
func assignment(prev, next *int64) (Activity, bool) {
	switch p, n := deref(prev), deref(next); {
	case p == n:
		return Activity{}, false
	case p == 0:
		return Activity{Kind: ActAssigned, AssigneeID: &n}, true
	case n == 0:
		return Activity{Kind: ActUnassigned, PrevAssigneeID: &p}, true
	default:
		return Activity{Kind: ActTransferred, AssigneeID: &n, PrevAssigneeID: &p}, true
	}
}

// record writes an activity of conversation c, done by the agent actorID
// (0: by Switchboard), after c's last message.
func record(ctx context.Context, tx *db.Tx, c *Conversation, actorID int64, act Activity) error {
	act.ConversationID, act.AfterMessageID, act.CreatedAt = c.ID, c.LastMessageID, db.Now()
	act.ActorType = ActorSystem
	if actorID != 0 {
		act.ActorType, act.ActorID = ActorAgent, &actorID
	}
	_, err := tx.Exec(ctx, `INSERT INTO conversation_activities (conversation_id, kind, actor_type, actor_id, assignee_id, prev_assignee_id, tag,
		after_message_id, created_at, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		act.ConversationID, act.Kind, act.ActorType, act.ActorID, act.AssigneeID, act.PrevAssigneeID, act.Tag, act.AfterMessageID, act.CreatedAt, act.Note)
	if err != nil {
		return fmt.Errorf("conversation: record %s: %w", act.Kind, err)
	}
	return nil
}

// ActivityOptions choose a conversation's activities. The timeline asks
// for those among a page of messages (AfterMessage ≤ after_message_id <
// BeforeMessage, each bound 0 for none); live updates for those after
// the last one shown (AfterID).
type ActivityOptions struct {
	AfterMessage  int64
	BeforeMessage int64
	AfterID       int64
	// Limit is at most 500 (the default).
	Limit int
}

// Activities returns activities of a conversation the actor may see, in
// the order they happened.
func (s *Service) Activities(ctx context.Context, a policy.Actor, convID int64, o ActivityOptions) ([]Activity, error) {
	if _, err := s.Get(ctx, a, convID); err != nil {
		return nil, err
	}
	return s.activities(ctx, convID, o)
}

func (s *Service) activities(ctx context.Context, convID int64, o ActivityOptions) ([]Activity, error) {
	if o.Limit <= 0 || o.Limit > 500 {
		o.Limit = 500
	}
	var args sqlArgs
	q := `SELECT id, conversation_id, kind, actor_type, actor_id, assignee_id, prev_assignee_id, tag, after_message_id, created_at, note
		FROM conversation_activities WHERE conversation_id = ` + args.add(convID)
	if o.AfterMessage > 0 {
		q += ` AND after_message_id >= ` + args.add(o.AfterMessage)
	}
	if o.BeforeMessage > 0 {
		q += ` AND after_message_id < ` + args.add(o.BeforeMessage)
	}
	if o.AfterID > 0 {
		q += ` AND id > ` + args.add(o.AfterID)
	}
	q += ` ORDER BY after_message_id, id LIMIT ` + args.add(o.Limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("conversation: activities: %w", err)
	}
	defer rows.Close()
	out := []Activity{}
	for rows.Next() {
		var act Activity
		if err := rows.Scan(&act.ID, &act.ConversationID, &act.Kind, &act.ActorType, &act.ActorID, &act.AssigneeID, &act.PrevAssigneeID,
			&act.Tag, &act.AfterMessageID, &act.CreatedAt, &act.Note); err != nil {
			return nil, err
		}
		out = append(out, act)
	}
	return out, rows.Err()
}
