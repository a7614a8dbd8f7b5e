// Package inbox keeps the channels customers write to: one inbox per web
// chat site or WhatsApp number (and, later, per phone line), each with the
// agents who are members of it.
//
// The store knows no channel's settings. Each channel's package describes
// its kind of inbox with a Channel, handed to NewStore when the node is
// assembled: the channel checks the settings an admin gives, splits them
// into public ones (shown with the inbox) and secret ones (sealed with the
// secret box, never shown), and may keep rows of its own in the
// transaction that writes the inbox (an index of its ids). Adding a
// channel adds a Channel, not code here.
package inbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Type is the kind of channel an inbox is; each channel's package names
// its own ("webchat", "whatsapp").
type Type string

// Inbox is a channel customers write to.
type Inbox struct {
	ID   int64  `json:"id"`
	Type Type   `json:"type"`
	Name string `json:"name"`
	// Token identifies the inbox in a public snippet (web chat); it is
	// public.
	Token string `json:"token,omitempty"`
	// Settings are the channel's public settings (JSON, as the channel
	// wrote them); the channel's package reads them.
	Settings  json.RawMessage `json:"-"`
	MemberIDs []int64         `json:"member_ids"`
	CreatedAt time.Time       `json:"created_at"`
	// ArchivedAt is when the inbox was archived (nil while it works): it
	// receives nothing more, and its conversations are read-only.
	ArchivedAt *time.Time `json:"archived_at"`
}

// Settings are a channel's settings of one inbox, as JSON the channel
// defines.
type Settings struct {
	// Public are shown with the inbox.
	Public json.RawMessage
	// Secret are sealed with the secret box; only the channel reads them
	// (Store.Secret, Store.ListWithSecrets).
	Secret json.RawMessage
}

// Channel is a kind of inbox as its package describes it to the store.
type Channel struct {
	// Type names the channel.
	Type Type
	// PublicToken gives each inbox of the channel a random public token
	// (a web chat snippet names its inbox by it).
	PublicToken bool
	// Misplaced is the message for settings of this channel given to an
	// inbox of another type.
	Misplaced string
	// Check validates the settings of a new inbox (cur is nil, given is
	// nil when none came) or a change to an inbox's (cur holds the stored
	// settings, secrets opened), adding what is wrong to f. It returns the
	// settings to store and what is shown this once ("" for nothing: a
	// secret made up for the admin).
	Check func(cur *Settings, given json.RawMessage, f problem.Fields) (next Settings, shown string)
	// Written, when set, runs in the transaction that creates an inbox of
	// the channel or changes its settings: the channel keeps its own rows
	// there. A *problem.Error it returns is the admin's to fix.
	Written func(ctx context.Context, tx *event.Tx, inboxID int64, s Settings) error
}

// stored is what the settings column holds, and (sealed) the secrets
// column: each channel's JSON under its type.
type stored map[Type]json.RawMessage

// Store reads and writes inboxes.
type Store struct {
	db       *db.DB
	log      *event.Log
	box      *secret.Box
	channels map[Type]Channel
}

// NewStore returns a store of inboxes of the given channels, sealing
// their secrets with box.
func NewStore(d *db.DB, log *event.Log, box *secret.Box, channels ...Channel) *Store {
	s := &Store{db: d, log: log, box: box, channels: map[Type]Channel{}}
	for _, ch := range channels {
		if ch.Type == "" || ch.Check == nil {
			panic("inbox: a channel needs a type and a check")
		}
		s.channels[ch.Type] = ch
	}
	return s
}

// NewInbox is what it takes to create an inbox.
type NewInbox struct {
	Type Type
	Name string
	// Settings are the channel's settings, under its type: a value of the
	// type its package defines, or its JSON. Settings of another type are
	// refused.
	Settings  map[Type]any
	MemberIDs []int64
}

func validName(f problem.Fields, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		f.Add("name", "Enter a name.")
	case utf8.RuneCountInString(name) > 100:
		f.Add("name", "A name has at most 100 characters.")
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// given returns the settings of typ among all, as JSON (nil when none),
// after refusing those of another type.
func (s *Store) given(f problem.Fields, typ Type, all map[Type]any) (json.RawMessage, error) {
	var own json.RawMessage
	for t, v := range all {
		if v == nil {
			continue
		}
		if t != typ {
			if ch, ok := s.channels[t]; ok && ch.Misplaced != "" {
				f.Add(string(t), "%s", ch.Misplaced)
			} else {
				f.Add(string(t), "Settings of another kind of inbox cannot be given here.")
			}
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("inbox: %s settings: %w", t, err)
		}
		if !bytes.Equal(b, []byte("null")) {
			own = b
		}
	}
	return own, nil
}

// types lists the registered channels, for a message.
func (s *Store) types() string {
	var out []string
	for t := range s.channels {
		out = append(out, string(t))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Create adds an inbox. It also returns what is shown this once (a web
// chat inbox's identity secret, the verify token made up for a WhatsApp
// number that came without one).
func (s *Store) Create(ctx context.Context, n NewInbox) (Inbox, string, error) {
	f := problem.Fields{}
	n.Name = strings.TrimSpace(n.Name)
	validName(f, n.Name)
	ch, known := s.channels[n.Type]
	if !known {
		f.Add("type", "Choose one of the inbox types: %s.", s.types())
	}
	given, err := s.given(f, n.Type, n.Settings)
	if err != nil {
		return Inbox{}, "", err
	}
	var set Settings
	var shown string
	if known {
		set, shown = ch.Check(nil, given, f)
	}
	if err := f.Err(); err != nil {
		return Inbox{}, "", err
	}
	in := Inbox{Type: n.Type, Name: n.Name, Settings: orEmpty(set.Public), CreatedAt: db.Now()}
	var token *string
	if ch.PublicToken {
		in.Token = randomToken(12)
		token = &in.Token
	}
	sealed, err := s.seal(stored{n.Type: set.Secret})
	if err != nil {
		return Inbox{}, "", err
	}
	public, err := json.Marshal(stored{n.Type: in.Settings})
	if err != nil {
		return Inbox{}, "", err
	}
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO inboxes (type, name, public_token, settings, secrets, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, in.Type, in.Name, token, string(public), sealed, in.CreatedAt).Scan(&in.ID)
		if err != nil {
			return fmt.Errorf("inbox: create: %w", err)
		}
		if ch.Written != nil {
			if err := ch.Written(ctx, tx, in.ID, set); err != nil {
				return err
			}
		}
		if in.MemberIDs, err = memberships.Set(ctx, tx.Tx, in.ID, n.MemberIDs); err != nil {
			return err
		}
		if err := membershipChanged(ctx, tx, in.MemberIDs); err != nil {
			return err
		}
		tx.Emit(changed(in))
		return nil
	})
	return in, shown, err
}

// orEmpty is a channel's public settings, {} for none.
func orEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}

func changed(in Inbox) event.Event {
	return event.New(event.InboxChanged, in)
}

// membershipChanged tells each user whose memberships changed, with the
// inboxes they are now a member of (their open tabs see other
// conversations, and what this node caches about them is stale).
func membershipChanged(ctx context.Context, tx *event.Tx, userIDs []int64) error {
	for _, uid := range userIDs {
		ids, err := user.Inboxes(ctx, tx, uid)
		if err != nil {
			return err
		}
		e := event.New(event.MembershipChanged, map[string]any{"inbox_ids": ids})
		e.UserID = uid
		tx.Emit(e)
	}
	return nil
}

func (s *Store) seal(st stored) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	return s.box.Seal(string(b))
}

// memberships are the users of each inbox.
var memberships = user.Members{Table: "inbox_members", Group: "inbox_id"}

func (s *Store) open(sealed string) (stored, error) {
	st := stored{}
	if sealed == "" {
		return st, nil
	}
	plain, err := s.box.Open(sealed)
	if err != nil {
		return st, err
	}
	err = json.Unmarshal([]byte(plain), &st)
	return st, err
}

const columns = `id, type, name, COALESCE(public_token, ''), settings, created_at, archived_at`

func scan(row interface{ Scan(...any) error }) (Inbox, error) {
	var in Inbox
	var set string
	if err := row.Scan(&in.ID, &in.Type, &in.Name, &in.Token, &set, &in.CreatedAt, &in.ArchivedAt); err != nil {
		return in, err
	}
	var st stored
	if err := json.Unmarshal([]byte(set), &st); err != nil {
		return in, fmt.Errorf("inbox %d: settings: %w", in.ID, err)
	}
	in.Settings = orEmpty(st[in.Type])
	in.MemberIDs = []int64{}
	return in, nil
}

// Get returns an inbox with its members.
func (s *Store) Get(ctx context.Context, id int64) (Inbox, error) {
	in, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM inboxes WHERE id = $1`, id))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return in, problem.NotFound("Inbox")
	} else if err != nil {
		return in, fmt.Errorf("inbox: get: %w", err)
	}
	in.MemberIDs, err = members(ctx, s.db, id)
	return in, err
}

// ByToken returns the inbox with the public token.
func (s *Store) ByToken(ctx context.Context, token string) (Inbox, error) {
	in, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM inboxes WHERE public_token = $1`, token))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return in, problem.NotFound("Inbox")
	}
	return in, err
}

// Secret returns the secret settings of an inbox (JSON, as its channel
// wrote them); db.ErrNotFound when there is no such inbox.
func (s *Store) Secret(ctx context.Context, id int64) (json.RawMessage, error) {
	var typ Type
	var sealed string
	if err := s.db.QueryRow(ctx, `SELECT type, secrets FROM inboxes WHERE id = $1`, id).Scan(&typ, &sealed); err != nil {
		return nil, db.MapErr(err)
	}
	st, err := s.open(sealed)
	if err != nil {
		return nil, fmt.Errorf("inbox %d: %w", id, err)
	}
	return st[typ], nil
}

// SetSecret replaces the secret settings of inbox id, which must be of
// type typ (a conflict otherwise).
func (s *Store) SetSecret(ctx context.Context, id int64, typ Type, secret json.RawMessage) error {
	sealed, err := s.seal(stored{typ: secret})
	if err != nil {
		return err
	}
	res, err := s.db.Exec(ctx, `UPDATE inboxes SET secrets = $3, updated_at = $4 WHERE id = $1 AND type = $2`, id, typ, sealed, db.Now())
	if err != nil {
		return fmt.Errorf("inbox: set secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("inbox %d of type %s: %w", id, typ, db.ErrNotFound)
	}
	return nil
}

// WithSecret is an inbox with its secret settings opened.
type WithSecret struct {
	Inbox
	Secret json.RawMessage
}

// ListWithSecrets returns every inbox of a type with its secret settings
// (without members), by id: a channel keeps them to route what arrives
// and to call its provider.
func (s *Store) ListWithSecrets(ctx context.Context, typ Type) ([]WithSecret, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+`, secrets FROM inboxes WHERE type = $1 ORDER BY id`, typ)
	if err != nil {
		return nil, fmt.Errorf("inbox: list %s: %w", typ, err)
	}
	defer rows.Close()
	var out []WithSecret
	for rows.Next() {
		var w WithSecret
		var set, sealed string
		if err := rows.Scan(&w.ID, &w.Type, &w.Name, &w.Token, &set, &w.CreatedAt, &w.ArchivedAt, &sealed); err != nil {
			return nil, fmt.Errorf("inbox: list %s: %w", typ, err)
		}
		var st stored
		if err := json.Unmarshal([]byte(set), &st); err != nil {
			return nil, fmt.Errorf("inbox %d: settings: %w", w.ID, err)
		}
		w.Settings, w.MemberIDs = orEmpty(st[typ]), []int64{}
		sec, err := s.open(sealed)
		if err != nil {
			return nil, fmt.Errorf("inbox %d: %w", w.ID, err)
		}
		w.Secret = sec[typ]
		out = append(out, w)
	}
	return out, rows.Err()
}

// List returns the inboxes an actor works in: all of them for admins and
// inbox managers, their own for everyone else.
func (s *Store) List(ctx context.Context, a policy.Actor) ([]Inbox, error) {
	if a.Role == policy.Admin || a.Role == policy.InboxManager {
		return s.list(ctx, ``)
	}
	return s.Of(ctx, a.UserID)
}

// Of returns the inboxes userID is a member of, by name.
func (s *Store) Of(ctx context.Context, userID int64) ([]Inbox, error) {
	return s.list(ctx, `WHERE id IN (SELECT inbox_id FROM inbox_members WHERE user_id = $1)`, userID)
}

func (s *Store) list(ctx context.Context, where string, args ...any) ([]Inbox, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM inboxes `+where+` ORDER BY lower(name), id`, args...)
	if err != nil {
		return nil, fmt.Errorf("inbox: list: %w", err)
	}
	defer rows.Close()
	out := []Inbox{}
	for rows.Next() {
		in, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	all, err := allMembers(ctx, s.db)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if m := all[out[i].ID]; m != nil {
			out[i].MemberIDs = m
		}
	}
	return out, nil
}

func members(ctx context.Context, q db.Querier, inboxID int64) ([]int64, error) {
	return db.IDs(ctx, q, `SELECT user_id FROM inbox_members WHERE inbox_id = $1 ORDER BY user_id`, inboxID)
}

func allMembers(ctx context.Context, q db.Querier) (map[int64][]int64, error) {
	rows, err := q.Query(ctx, `SELECT inbox_id, user_id FROM inbox_members ORDER BY inbox_id, user_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]int64{}
	for rows.Next() {
		var i, u int64
		if err := rows.Scan(&i, &u); err != nil {
			return nil, err
		}
		out[i] = append(out[i], u)
	}
	return out, rows.Err()
}

// Patch changes some of an inbox's settings; nil fields stay as they are.
type Patch struct {
	Name *string
	// Settings change the channel's settings, under its type (as in
	// NewInbox: a value of the type the channel's package defines for a
	// change, or its JSON); none leaves them as they are.
	Settings  map[Type]any
	MemberIDs *[]int64
}

// Update applies p to inbox id and returns the changed member ids.
func (s *Store) Update(ctx context.Context, id int64, p Patch) (Inbox, []int64, error) {
	in, err := s.Get(ctx, id)
	if err != nil {
		return in, nil, err
	}
	f := problem.Fields{}
	if p.Name != nil {
		*p.Name = strings.TrimSpace(*p.Name)
		validName(f, *p.Name)
		in.Name = *p.Name
	}
	given, err := s.given(f, in.Type, p.Settings)
	if err != nil {
		return in, nil, err
	}
	var set *Settings
	var resealed bool
	ch := s.channels[in.Type]
	if given != nil {
		if ch.Check == nil {
			return in, nil, problem.Conflict("This kind of inbox cannot be changed on this server.")
		}
		secret, err := s.Secret(ctx, id)
		if err != nil {
			return in, nil, err
		}
		cur := Settings{Public: in.Settings, Secret: secret}
		next, _ := ch.Check(&cur, given, f)
		next.Public = orEmpty(next.Public)
		set, resealed = &next, !bytes.Equal(next.Secret, secret)
		in.Settings = next.Public
	}
	if err := f.Err(); err != nil {
		return in, nil, err
	}
	before := in.MemberIDs
	public, err := json.Marshal(stored{in.Type: in.Settings})
	if err != nil {
		return in, nil, err
	}
	var sealed string
	if resealed {
		if sealed, err = s.seal(stored{in.Type: set.Secret}); err != nil {
			return in, nil, err
		}
	}
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE inboxes SET name = $2, settings = $3, updated_at = $4 WHERE id = $1`, id, in.Name, string(public), db.Now())
		if err != nil {
			return fmt.Errorf("inbox: update: %w", err)
		}
		if resealed {
			if _, err := tx.Exec(ctx, `UPDATE inboxes SET secrets = $2 WHERE id = $1`, id, sealed); err != nil {
				return fmt.Errorf("inbox: update secrets: %w", err)
			}
		}
		if set != nil && ch.Written != nil {
			if err := ch.Written(ctx, tx, id, *set); err != nil {
				return err
			}
		}
		if p.MemberIDs != nil {
			if in.MemberIDs, err = memberships.Set(ctx, tx.Tx, id, *p.MemberIDs); err != nil {
				return err
			}
			if err := membershipChanged(ctx, tx, symmetricDiff(before, in.MemberIDs)); err != nil {
				return err
			}
		}
		tx.Emit(changed(in))
		return nil
	})
	return in, symmetricDiff(before, in.MemberIDs), err
}

func symmetricDiff(a, b []int64) []int64 {
	var out []int64
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}
