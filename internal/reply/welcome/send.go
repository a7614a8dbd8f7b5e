package welcome

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// Consumer is the shared event consumer that sends welcome messages: it
// reads conversations as their events carry them, and sends for those
// that are open, started by the customer and assigned to an agent who
// has a welcome message on for the inbox and has not sent it there yet.
func (s *Store) Consumer() event.Consumer {
	return event.Consumer{Name: "personal_welcome", Scope: event.Shared,
		Types: []string{event.ConversationCreated, event.ConversationUpdated}, Handle: s.handle}
}

// convState is what a conversation event says that matters here.
type convState struct {
	ID         int64                  `json:"id"`
	InboxID    int64                  `json:"inbox_id"`
	Status     conversation.Status    `json:"status"`
	AssigneeID *int64                 `json:"assignee_id"`
	StartedBy  conversation.StartedBy `json:"started_by"`
}

// due reports whether the conversation, as the event says, may get its
// assignee's welcome message.
func (c *convState) due() bool {
	return c.Status == conversation.Open && c.StartedBy == conversation.ByCustomer && c.AssigneeID != nil && *c.AssigneeID != 0
}

// pair is a conversation and the agent it is assigned to.
type pair struct{ conv, user int64 }

func (s *Store) handle(ctx context.Context, events []event.Event) error {
	// The latest state of each conversation in the batch.
	latest := map[int64]convState{}
	var order []int64
	for _, e := range events {
		var c convState
		if err := json.Unmarshal(e.Data, &c); err != nil || c.ID == 0 {
			continue
		}
		if _, ok := latest[c.ID]; !ok {
			order = append(order, c.ID)
		}
		latest[c.ID] = c
	}
	var users []int64
	for _, id := range order {
		if c := latest[id]; c.due() {
			users = append(users, *c.AssigneeID)
		}
	}
	if len(users) == 0 {
		return nil
	}
	// One read for the batch: which of those agents have a welcome on for
	// which inboxes, and which of the conversations had theirs.
	on := map[pair]bool{} // (inbox, user)
	rows, err := s.db.Query(ctx, `SELECT wi.inbox_id, wi.user_id FROM welcome_message_inboxes wi
		JOIN welcome_messages w ON w.id = wi.welcome_message_id WHERE w.enabled = TRUE AND wi.user_id IN (`+db.IDList(users)+`)`)
	if err != nil {
		return fmt.Errorf("welcome: due: %w", err)
	}
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.conv, &p.user); err != nil {
			rows.Close()
			return err
		}
		on[p] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var todo []pair
	var convs []int64
	for _, id := range order {
		c := latest[id]
		if c.due() && on[pair{c.InboxID, *c.AssigneeID}] {
			todo = append(todo, pair{c.ID, *c.AssigneeID})
			convs = append(convs, c.ID)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	sent := map[pair]bool{}
	rows, err = s.db.Query(ctx, `SELECT conversation_id, user_id FROM welcome_sends WHERE conversation_id IN (`+db.IDList(convs)+`)`)
	if err != nil {
		return fmt.Errorf("welcome: sent: %w", err)
	}
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.conv, &p.user); err != nil {
			rows.Close()
			return err
		}
		sent[p] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range todo {
		if sent[p] {
			continue
		}
		if err := s.Send(ctx, p.conv, p.user); err != nil {
			return err
		}
	}
	return nil
}

// Send sends userID's welcome message in conversation convID if it is
// due: the conversation, read in the transaction, is open, started by the
// customer and assigned to userID, who has a welcome message on for its
// inbox and has not sent one in it. It does nothing otherwise, so it may
// run any number of times. A send the channel refuses (WhatsApp's window
// closed) is recorded as done without a message, and logged.
func (s *Store) Send(ctx context.Context, convID, userID int64) error {
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		return s.send(ctx, tx, convID, userID, true)
	})
	var p *problem.Error
	if errors.As(err, &p) {
		s.logger.Info("welcome: not sent", "conversation", convID, "user", userID, "reason", p.Message)
		return s.log.Write(ctx, func(tx *event.Tx) error {
			return s.send(ctx, tx, convID, userID, false)
		})
	}
	return err
}

// send writes the welcome_sends row of (convID, userID) when the welcome
// is due and, with post, posts the message.
func (s *Store) send(ctx context.Context, tx *event.Tx, convID, userID int64, post bool) error {
	c, err := conversation.Load(ctx, tx, convID)
	if errors.Is(err, conversation.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if c.Status != conversation.Open || c.StartedBy != conversation.ByCustomer || c.AssigneeID == nil || *c.AssigneeID != userID {
		return nil
	}
	var wid int64
	var body, publicName, inboxName string
	err = tx.QueryRow(ctx, `SELECT w.id, w.message, u.public_name, i.name FROM welcome_message_inboxes wi
		JOIN welcome_messages w ON w.id = wi.welcome_message_id
		JOIN users u ON u.id = wi.user_id
		JOIN inboxes i ON i.id = wi.inbox_id
		WHERE wi.user_id = $1 AND wi.inbox_id = $2 AND w.enabled = TRUE`, userID, c.InboxID).Scan(&wid, &body, &publicName, &inboxName)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("welcome: send: %w", err)
	}
	res, err := tx.Exec(ctx, `INSERT INTO welcome_sends (conversation_id, user_id, welcome_message_id, sent_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (conversation_id, user_id) DO NOTHING`, convID, userID, wid, db.Now())
	if err != nil {
		return fmt.Errorf("welcome: send: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 || !post {
		return nil // sent already (or refused: recorded)
	}
	m, err := reply.Unmarshal(body)
	if err != nil {
		return fmt.Errorf("welcome: message %d: %w", wid, err)
	}
	m = m.Fill(reply.Vars{ContactName: c.Contact.Name, AgentPublicName: publicName, InboxName: inboxName})
	o, err := m.Prepare(ctx, tx.Tx, conversation.AutoUploader)
	if err != nil {
		return err
	}
	msg, err := s.conv.PostAuto(ctx, tx, &c, conversation.Author{Type: conversation.SenderSystem, Kind: Kind}, o)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE welcome_sends SET message_id = $3 WHERE conversation_id = $1 AND user_id = $2`, convID, userID, msg.ID)
	return err
}
