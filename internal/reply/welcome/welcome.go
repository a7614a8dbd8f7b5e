// Package welcome keeps agents' personal welcome messages and sends them.
//
// An agent adds welcome messages (the reply package's Message: a text, a
// file with its caption, buttons, a list or a link button), each attached
// to one or more of the WhatsApp numbers they work; a number takes one of
// the agent's welcome messages. A switch turns each on, and only while it
// is off may it be edited or deleted (409 otherwise).
//
// It is sent when a conversation is open, was started by the customer and
// is assigned to the agent: the shared event consumer "personal_welcome"
// reads conversation.created and conversation.updated, and posts the
// agent's enabled welcome message for the conversation's inbox through
// conversation.PostAuto (by Switchboard, kind personal_welcome), once per
// conversation and agent: a welcome_sends row keyed by both, written in
// the send's transaction, makes a second trigger (an event handled again,
// a transfer back to the same agent) a no-op.
package welcome

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// Kind is the automatic kind of the messages sent (messages.auto_kind).
const Kind = "personal_welcome"

// Welcome is one of an agent's welcome messages.
type Welcome struct {
	ID      int64 `json:"id"`
	Enabled bool  `json:"enabled"`
	// InboxIDs are the WhatsApp numbers (inboxes) it is sent on.
	InboxIDs []int64       `json:"inbox_ids"`
	Message  reply.Message `json:"message"`
	// Attachment describes the file the message keeps, when it has one.
	Attachment *attachment.Attachment `json:"attachment,omitempty"`
	CreatedAt  time.Time              `json:"created_at"`
	UpdatedAt  time.Time              `json:"updated_at"`
}

// New is what it takes to add a welcome message; it is off unless
// Enabled says otherwise.
type New struct {
	Enabled  bool          `json:"enabled"`
	InboxIDs []int64       `json:"inbox_ids"`
	Message  reply.Message `json:"message"`
}

// Patch changes a welcome message; nil fields stay. InboxIDs and Message
// change only while the message is off (Enabled false before the patch).
type Patch struct {
	Enabled  *bool          `json:"enabled,omitempty"`
	InboxIDs *[]int64       `json:"inbox_ids,omitempty"`
	Message  *reply.Message `json:"message,omitempty"`
}

// ErrNotFound is a welcome message that does not exist or is someone
// else's.
var ErrNotFound = problem.NotFound("Welcome message")

// The refusals of a welcome message that is on.
var (
	ErrOnEdit   = problem.Conflict("This welcome message is on: turn it off to edit it.")
	ErrOnDelete = problem.Conflict("This welcome message is on: turn it off to delete it.")
)

// MaxPerAgent is how many welcome messages an agent may have.
const MaxPerAgent = 50

// Store keeps welcome messages and sends them.
type Store struct {
	db     *db.DB
	log    *event.Log
	conv   *conversation.Service
	logger *slog.Logger
}

// NewStore returns the store; conv posts what is sent.
func NewStore(d *db.DB, log *event.Log, conv *conversation.Service, logger *slog.Logger) *Store {
	return &Store{db: d, log: log, conv: conv, logger: logger}
}

// holder names a welcome message as the holder of its file.
func holder(id int64) string { return "welcome:" + strconv.FormatInt(id, 10) }

// Number is a WhatsApp number an agent works, as the form offers it.
type Number struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// WelcomeID is the agent's welcome message attached to it (0: none).
	WelcomeID int64 `json:"welcome_id"`
}

// Numbers returns the WhatsApp numbers userID works (is a member of, not
// archived), by name, with the welcome message of theirs each has.
func (s *Store) Numbers(ctx context.Context, userID int64) ([]Number, error) {
	return numbers(ctx, s.db, userID)
}

func numbers(ctx context.Context, q db.Querier, userID int64) ([]Number, error) {
	rows, err := q.Query(ctx, `SELECT i.id, i.name, COALESCE(wi.welcome_message_id, 0) FROM inboxes i
		JOIN inbox_members m ON m.inbox_id = i.id AND m.user_id = $1
		LEFT JOIN welcome_message_inboxes wi ON wi.inbox_id = i.id AND wi.user_id = $1
		WHERE i.type = 'whatsapp' AND i.archived_at IS NULL ORDER BY lower(i.name), i.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("welcome: numbers: %w", err)
	}
	defer rows.Close()
	out := []Number{}
	for rows.Next() {
		var n Number
		if err := rows.Scan(&n.ID, &n.Name, &n.WelcomeID); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// checkNumbers checks the numbers of welcome message id (0: a new one) of
// userID, in tx: at least one, each a WhatsApp number they work and
// without another of their welcome messages. It returns them without
// repeats, in the order given.
func checkNumbers(ctx context.Context, tx *db.Tx, userID, id int64, ids []int64) ([]int64, error) {
	var out []int64
	for _, i := range ids {
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, problem.Invalid("inbox_ids", "Choose at least one WhatsApp number.")
	}
	ns, err := numbers(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	var taken []string
	for _, i := range out {
		k := slices.IndexFunc(ns, func(n Number) bool { return n.ID == i })
		switch {
		case k < 0:
			return nil, problem.Invalid("inbox_ids", "Choose among the WhatsApp numbers you work: %d is not one of them.", i)
		case ns[k].WelcomeID != 0 && ns[k].WelcomeID != id:
			taken = append(taken, ns[k].Name)
		}
	}
	if len(taken) > 0 {
		return nil, problem.Invalid("inbox_ids", "%s already has another of your welcome messages: a number takes only one.", strings.Join(taken, ", "))
	}
	return out, nil
}

// Create adds a welcome message of a's. A file the message keeps must be
// a's own upload, not yet sent.
func (s *Store) Create(ctx context.Context, a policy.Actor, n New) (Welcome, error) {
	if err := n.Message.Check(ctx, s.db, "message"); err != nil {
		return Welcome{}, err
	}
	w := Welcome{Enabled: n.Enabled, Message: n.Message, CreatedAt: db.Now()}
	w.UpdatedAt = w.CreatedAt
	body, err := json.Marshal(w.Message)
	if err != nil {
		return Welcome{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		w.Attachment = nil
		var count int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM welcome_messages WHERE user_id = $1`, a.UserID).Scan(&count); err != nil {
			return err
		}
		if count >= MaxPerAgent {
			return problem.Conflict("You have %d welcome messages, the most there may be: delete one first.", MaxPerAgent)
		}
		ids, err := checkNumbers(ctx, tx, a.UserID, 0, n.InboxIDs)
		if err != nil {
			return err
		}
		w.InboxIDs = ids
		if err := tx.QueryRow(ctx, `INSERT INTO welcome_messages (user_id, enabled, message, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id`,
			a.UserID, w.Enabled, string(body), w.CreatedAt).Scan(&w.ID); err != nil {
			return fmt.Errorf("welcome: create: %w", err)
		}
		if err := attach(ctx, tx, a.UserID, w.ID, ids); err != nil {
			return err
		}
		return hold(ctx, tx, a, &w)
	})
	return w, err
}

// attach sets the numbers of welcome message id.
func attach(ctx context.Context, tx *db.Tx, userID, id int64, ids []int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM welcome_message_inboxes WHERE welcome_message_id = $1`, id); err != nil {
		return fmt.Errorf("welcome: numbers: %w", err)
	}
	for _, i := range ids {
		_, err := tx.Exec(ctx, `INSERT INTO welcome_message_inboxes (welcome_message_id, user_id, inbox_id) VALUES ($1, $2, $3)`, id, userID, i)
		if errors.Is(db.MapErr(err), db.ErrConflict) {
			// Another of the agent's welcome messages took the number
			// meanwhile (checkNumbers read before it committed).
			return problem.Invalid("inbox_ids", "One of these numbers already has another of your welcome messages: a number takes only one.")
		} else if err != nil {
			return fmt.Errorf("welcome: numbers: %w", err)
		}
	}
	return nil
}

// hold keeps the file of w's message for w (see reply.Keep): an upload
// of a's not yet sent, or the one w kept already.
func hold(ctx context.Context, tx *db.Tx, a policy.Actor, w *Welcome) error {
	at, err := reply.Keep(ctx, tx, w.Message, attachment.Uploader("user", a.UserID), holder(w.ID), "message")
	w.Attachment = at
	return err
}

// Update changes a welcome message of a's. Its numbers and content change
// only while it is off (ErrOnEdit otherwise); the switch always may.
func (s *Store) Update(ctx context.Context, a policy.Actor, id int64, p Patch) (Welcome, error) {
	if p.Message != nil {
		if err := p.Message.Check(ctx, s.db, "message"); err != nil {
			return Welcome{}, err
		}
	}
	var w Welcome
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := get(ctx, tx, a.UserID, id)
		if err != nil {
			return err
		}
		w = cur
		edit := p.Message != nil || p.InboxIDs != nil
		if edit && w.Enabled {
			return ErrOnEdit
		}
		if p.InboxIDs != nil {
			if w.InboxIDs, err = checkNumbers(ctx, tx, a.UserID, id, *p.InboxIDs); err != nil {
				return err
			}
		}
		if p.Message != nil {
			w.Message = *p.Message
		}
		if p.Enabled != nil {
			w.Enabled = *p.Enabled
		}
		w.UpdatedAt = db.Now()
		body, err := json.Marshal(w.Message)
		if err != nil {
			return err
		}
		// An edit is written only if the message is still off (another
		// request may have turned it on since it was read).
		res, err := tx.Exec(ctx, `UPDATE welcome_messages SET enabled = $3, message = $4, updated_at = $5
			WHERE id = $1 AND user_id = $2 AND (enabled = FALSE OR $6 = FALSE)`, id, a.UserID, w.Enabled, string(body), w.UpdatedAt, edit)
		if err != nil {
			return fmt.Errorf("welcome: update: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrOnEdit
		}
		if p.InboxIDs != nil {
			if err := attach(ctx, tx, a.UserID, id, w.InboxIDs); err != nil {
				return err
			}
		}
		return hold(ctx, tx, a, &w)
	})
	if err != nil {
		return Welcome{}, err
	}
	return w, nil
}

// Delete removes a welcome message of a's that is off (ErrOnDelete
// otherwise); its file is let go.
func (s *Store) Delete(ctx context.Context, a policy.Actor, id int64) error {
	return s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM welcome_messages WHERE id = $1 AND user_id = $2 AND enabled = FALSE`, id, a.UserID)
		if err != nil {
			return fmt.Errorf("welcome: delete: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := get(ctx, tx, a.UserID, id); err != nil {
				return err
			}
			return ErrOnDelete
		}
		return reply.Release(ctx, tx, holder(id))
	})
}

// Get returns a welcome message of userID's.
func (s *Store) Get(ctx context.Context, userID, id int64) (Welcome, error) {
	return get(ctx, s.db, userID, id)
}

func get(ctx context.Context, q db.Querier, userID, id int64) (Welcome, error) {
	ws, err := query(ctx, q, `WHERE w.user_id = $1 AND w.id = $2`, userID, id)
	if err != nil {
		return Welcome{}, err
	}
	if len(ws) == 0 {
		return Welcome{}, ErrNotFound
	}
	return ws[0], nil
}

// List returns userID's welcome messages, oldest first.
func (s *Store) List(ctx context.Context, userID int64) ([]Welcome, error) {
	return query(ctx, s.db, `WHERE w.user_id = $1`, userID)
}

// query reads welcome messages, their numbers and the files they keep.
func query(ctx context.Context, q db.Querier, where string, args ...any) ([]Welcome, error) {
	rows, err := q.Query(ctx, `SELECT w.id, w.enabled, w.message, w.created_at, w.updated_at FROM welcome_messages w `+where+` ORDER BY w.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("welcome: list: %w", err)
	}
	out := []Welcome{}
	var ids, files []int64
	for rows.Next() {
		var w Welcome
		var body string
		if err := rows.Scan(&w.ID, &w.Enabled, &body, &w.CreatedAt, &w.UpdatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &w.Message); err != nil {
			rows.Close()
			return nil, fmt.Errorf("welcome: message %d: %w", w.ID, err)
		}
		w.InboxIDs = []int64{}
		ids = append(ids, w.ID)
		if w.Message.AttachmentID != 0 {
			files = append(files, w.Message.AttachmentID)
		}
		out = append(out, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	nrows, err := q.Query(ctx, `SELECT welcome_message_id, inbox_id FROM welcome_message_inboxes WHERE welcome_message_id IN (`+db.IDList(ids)+`) ORDER BY inbox_id`)
	if err != nil {
		return nil, fmt.Errorf("welcome: list numbers: %w", err)
	}
	for nrows.Next() {
		var wid, iid int64
		if err := nrows.Scan(&wid, &iid); err != nil {
			nrows.Close()
			return nil, err
		}
		if k := slices.Index(ids, wid); k >= 0 {
			out[k].InboxIDs = append(out[k].InboxIDs, iid)
		}
	}
	nrows.Close()
	if err := nrows.Err(); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return out, nil
	}
	frows, err := q.Query(ctx, `SELECT id, kind, filename, content_type, size, sha256, created_at FROM attachments WHERE id IN (`+db.IDList(files)+`)`)
	if err != nil {
		return nil, fmt.Errorf("welcome: files: %w", err)
	}
	kept := map[int64]attachment.Attachment{}
	for frows.Next() {
		var a attachment.Attachment
		if err := frows.Scan(&a.ID, &a.Kind, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.CreatedAt); err != nil {
			frows.Close()
			return nil, err
		}
		kept[a.ID] = a
	}
	frows.Close()
	if err := frows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if a, ok := kept[out[i].Message.AttachmentID]; ok {
			out[i].Attachment = &a
		}
	}
	return out, nil
}
