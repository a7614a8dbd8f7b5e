// Package inbox keeps the channels customers write to: one inbox per web
// chat site or WhatsApp number (and, later, per phone line), each with the
// agents who are members of it. Channel secrets (a web chat identity
// secret, a WhatsApp access token, app secret and verify token) are sealed
// with the secret box and never returned.
package inbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
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

// Type is the kind of channel.
type Type string

// The channel types.
const (
	Webchat  Type = "webchat"
	WhatsApp Type = "whatsapp"
)

// Inbox is a channel customers write to.
type Inbox struct {
	ID   int64  `json:"id"`
	Type Type   `json:"type"`
	Name string `json:"name"`
	// Token identifies a web chat inbox in the widget snippet; it is public.
	Token     string            `json:"token,omitempty"`
	Webchat   *WebchatSettings  `json:"webchat,omitempty"`
	WhatsApp  *WhatsAppSettings `json:"whatsapp,omitempty"`
	MemberIDs []int64           `json:"member_ids"`
	CreatedAt time.Time         `json:"created_at"`
	// ArchivedAt is when the inbox was archived (nil while it works): it
	// receives nothing more, and its conversations are read-only.
	ArchivedAt *time.Time `json:"archived_at"`
}

// WebchatSettings configure a web chat widget.
type WebchatSettings struct {
	// RequireIdentity refuses visitors whose identifier is not signed with
	// the inbox secret (HMAC-SHA256).
	RequireIdentity bool `json:"require_identity"`
	// Greeting is shown at the top of the chat.
	Greeting string `json:"greeting"`
	// Color is the widget's accent colour, #rrggbb.
	Color string `json:"color"`
	// AllowedOrigins are the sites that may embed the widget; empty means any.
	AllowedOrigins []string `json:"allowed_origins"`
}

// settings is what the settings column holds.
type settings struct {
	Webchat  *WebchatSettings  `json:"webchat,omitempty"`
	WhatsApp *WhatsAppSettings `json:"whatsapp,omitempty"`
}

// secrets is what the (encrypted) secrets column holds.
type secrets struct {
	Webchat  string           `json:"webchat,omitempty"`
	WhatsApp *whatsappSecrets `json:"whatsapp,omitempty"`
}

// Store reads and writes inboxes.
type Store struct {
	db  *db.DB
	log *event.Log
	box *secret.Box
}

// NewStore returns a store sealing secrets with box.
func NewStore(d *db.DB, log *event.Log, box *secret.Box) *Store {
	return &Store{db: d, log: log, box: box}
}

// NewInbox is what it takes to create an inbox.
type NewInbox struct {
	Type      Type             `json:"type"`
	Name      string           `json:"name"`
	Webchat   *WebchatSettings `json:"webchat,omitempty"`
	WhatsApp  *WhatsAppConfig  `json:"whatsapp,omitempty"`
	MemberIDs []int64          `json:"member_ids,omitempty"`
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func validName(f problem.Fields, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		f.Add("name", "Enter a name.")
	case utf8.RuneCountInString(name) > 100:
		f.Add("name", "A name has at most 100 characters.")
	}
}

func (w *WebchatSettings) validate(f problem.Fields) {
	if utf8.RuneCountInString(w.Greeting) > 500 {
		f.Add("webchat.greeting", "A greeting has at most 500 characters.")
	}
	if w.Color == "" {
		w.Color = "#2563eb"
	} else if !colorRE.MatchString(w.Color) {
		f.Add("webchat.color", "Use a colour like #2563eb.")
	}
	if len(w.AllowedOrigins) > 20 {
		f.Add("webchat.allowed_origins", "List at most 20 sites.")
	}
	for i, o := range w.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			f.Add("webchat.allowed_origins", "Origin %d is not a site like https://www.example.com.", i+1)
			continue
		}
		w.AllowedOrigins[i] = u.Scheme + "://" + u.Host
	}
	if w.AllowedOrigins == nil {
		w.AllowedOrigins = []string{}
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Create adds an inbox. It also returns what is shown this once: a web
// chat inbox's identity secret, or the verify token made up for a
// WhatsApp number that came without one.
func (s *Store) Create(ctx context.Context, n NewInbox) (Inbox, string, error) {
	f := problem.Fields{}
	n.Name = strings.TrimSpace(n.Name)
	validName(f, n.Name)
	switch n.Type {
	case Webchat:
		if n.Webchat == nil {
			n.Webchat = &WebchatSettings{}
		}
		n.Webchat.validate(f)
	case WhatsApp:
		if n.WhatsApp == nil {
			f.Add("whatsapp", "Give the number's phone_number_id, waba_id, display_phone_number, access_token and app_secret.")
		}
	default:
		f.Add("type", "Choose the inbox type: webchat or whatsapp.")
	}
	if n.Type != Webchat && n.Webchat != nil {
		f.Add("webchat", "Only web chat inboxes have web chat settings.")
	}
	if n.Type != WhatsApp && n.WhatsApp != nil {
		f.Add("whatsapp", "Only WhatsApp inboxes have WhatsApp settings.")
	}
	madeToken := false
	if n.Type == WhatsApp && n.WhatsApp != nil {
		madeToken = n.WhatsApp.validate(f)
	}
	if err := f.Err(); err != nil {
		return Inbox{}, "", err
	}
	in := Inbox{Type: n.Type, Name: n.Name, Webchat: n.Webchat, CreatedAt: db.Now()}
	var plain string
	var sec secrets
	switch n.Type {
	case Webchat:
		in.Token = randomToken(12)
		plain = randomToken(32)
		sec.Webchat = plain
	case WhatsApp:
		in.WhatsApp = n.WhatsApp.settings()
		sec.WhatsApp = &whatsappSecrets{AccessToken: n.WhatsApp.AccessToken, AppSecret: n.WhatsApp.AppSecret, VerifyToken: n.WhatsApp.VerifyToken}
		if madeToken {
			plain = n.WhatsApp.VerifyToken
		}
	}
	var token *string
	if in.Token != "" {
		token = &in.Token
	}
	sealed, err := s.seal(sec)
	if err != nil {
		return Inbox{}, "", err
	}
	set, _ := json.Marshal(settings{Webchat: in.Webchat, WhatsApp: in.WhatsApp})
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO inboxes (type, name, public_token, settings, secrets, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, in.Type, in.Name, token, string(set), sealed, in.CreatedAt).Scan(&in.ID)
		if err != nil {
			return fmt.Errorf("inbox: create: %w", err)
		}
		if in.WhatsApp != nil {
			if err := writeNumber(ctx, tx.Tx, in.ID, in.WhatsApp, sec.WhatsApp.VerifyToken); err != nil {
				return err
			}
		}
		if in.MemberIDs, err = memberships.Set(ctx, tx.Tx, in.ID, n.MemberIDs); err != nil {
			return err
		}
		tx.Emit(changed(in))
		return nil
	})
	return in, plain, err
}

func changed(in Inbox) event.Event {
	return event.New(event.InboxChanged, in)
}

func (s *Store) seal(sec secrets) (string, error) {
	b, err := json.Marshal(sec)
	if err != nil {
		return "", err
	}
	return s.box.Seal(string(b))
}

// memberships are the users of each inbox.
var memberships = user.Members{Table: "inbox_members", Group: "inbox_id"}

const columns = `id, type, name, COALESCE(public_token, ''), settings, created_at, archived_at`

func scan(row interface{ Scan(...any) error }) (Inbox, error) {
	var in Inbox
	var set string
	if err := row.Scan(&in.ID, &in.Type, &in.Name, &in.Token, &set, &in.CreatedAt, &in.ArchivedAt); err != nil {
		return in, err
	}
	var st settings
	if err := json.Unmarshal([]byte(set), &st); err != nil {
		return in, fmt.Errorf("inbox %d: settings: %w", in.ID, err)
	}
	in.Webchat, in.WhatsApp = st.Webchat, st.WhatsApp
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

// ByToken returns the web chat inbox with the public token.
func (s *Store) ByToken(ctx context.Context, token string) (Inbox, error) {
	in, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM inboxes WHERE public_token = $1`, token))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return in, problem.NotFound("Inbox")
	}
	return in, err
}

// WebchatSecret returns the identity secret of a web chat inbox.
func (s *Store) WebchatSecret(ctx context.Context, id int64) (string, error) {
	sec, err := s.sealedSecrets(ctx, id)
	return sec.Webchat, err
}

// sealedSecrets reads and opens an inbox's secrets.
func (s *Store) sealedSecrets(ctx context.Context, id int64) (secrets, error) {
	var sealed string
	if err := s.db.QueryRow(ctx, `SELECT secrets FROM inboxes WHERE id = $1`, id).Scan(&sealed); err != nil {
		return secrets{}, db.MapErr(err)
	}
	sec, err := s.open(sealed)
	if err != nil {
		return sec, fmt.Errorf("inbox %d: %w", id, err)
	}
	return sec, nil
}

// RotateWebchatSecret replaces a web chat inbox's identity secret and
// returns the new one (shown once).
func (s *Store) RotateWebchatSecret(ctx context.Context, id int64) (string, error) {
	in, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if in.Type != Webchat {
		return "", problem.Conflict("Only web chat inboxes have an identity secret.")
	}
	plain := randomToken(32)
	sealed, err := s.seal(secrets{Webchat: plain})
	if err != nil {
		return "", err
	}
	_, err = s.db.Exec(ctx, `UPDATE inboxes SET secrets = $2, updated_at = $3 WHERE id = $1`, id, sealed, db.Now())
	return plain, err
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
	Name      *string          `json:"name,omitempty"`
	Webchat   *WebchatSettings `json:"webchat,omitempty"`
	WhatsApp  *WhatsAppPatch   `json:"whatsapp,omitempty"`
	MemberIDs *[]int64         `json:"member_ids,omitempty"`
}

// Update applies p to inbox id and returns the changed member ids (so the
// caller can refresh what it caches about them).
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
	if p.Webchat != nil {
		if in.Type != Webchat {
			f.Add("webchat", "Only web chat inboxes have web chat settings.")
		} else {
			p.Webchat.validate(f)
			in.Webchat = p.Webchat
		}
	}
	var sec secrets
	if p.WhatsApp != nil {
		if in.Type != WhatsApp || in.WhatsApp == nil {
			f.Add("whatsapp", "Only WhatsApp inboxes have WhatsApp settings.")
		} else {
			if sec, err = s.sealedSecrets(ctx, id); err != nil {
				return in, nil, err
			}
			if sec.WhatsApp == nil {
				sec.WhatsApp = &whatsappSecrets{}
			}
			w := *in.WhatsApp
			p.WhatsApp.apply(f, &w, sec.WhatsApp)
			in.WhatsApp = &w
		}
	}
	if err := f.Err(); err != nil {
		return in, nil, err
	}
	before := in.MemberIDs
	set, _ := json.Marshal(settings{Webchat: in.Webchat, WhatsApp: in.WhatsApp})
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE inboxes SET name = $2, settings = $3, updated_at = $4 WHERE id = $1`, id, in.Name, string(set), db.Now())
		if err != nil {
			return fmt.Errorf("inbox: update: %w", err)
		}
		if p.WhatsApp != nil {
			if p.WhatsApp.changesSecrets() {
				sealed, err := s.seal(sec)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE inboxes SET secrets = $2 WHERE id = $1`, id, sealed); err != nil {
					return fmt.Errorf("inbox: update secrets: %w", err)
				}
			}
			if err := writeNumber(ctx, tx.Tx, id, in.WhatsApp, sec.WhatsApp.VerifyToken); err != nil {
				return err
			}
		}
		if p.MemberIDs != nil {
			if in.MemberIDs, err = memberships.Set(ctx, tx.Tx, id, *p.MemberIDs); err != nil {
				return err
			}
			for _, uid := range symmetricDiff(before, in.MemberIDs) {
				ids, err := user.Inboxes(ctx, tx, uid)
				if err != nil {
					return err
				}
				e := event.New(event.MembershipChanged, map[string]any{"inbox_ids": ids})
				e.UserID = uid
				tx.Emit(e)
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
