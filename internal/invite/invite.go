// Package invite brings people in: an admin invites an email address with
// a role and inbox memberships; the invitee gets a single-use link, valid
// 7 days, where they choose their name and password and are signed in.
// There is no other way to register. The link's token is stored hashed;
// sending the invitation again makes a new link (the old one stops
// working); an admin may revoke an invitation before it is used.
package invite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Lifetime is how long an invitation link works.
const Lifetime = 7 * 24 * time.Hour

// State is where an invitation stands.
type State string

// The states.
const (
	Pending  State = "pending"
	Expired  State = "expired"
	Accepted State = "accepted"
	Revoked  State = "revoked"
)

// Invitation is an invitation to join.
type Invitation struct {
	ID         int64       `json:"id"`
	Email      string      `json:"email"`
	Role       policy.Role `json:"role"`
	InboxIDs   []int64     `json:"inbox_ids"`
	InvitedBy  *int64      `json:"invited_by"`
	State      State       `json:"state"`
	CreatedAt  time.Time   `json:"created_at"`
	SentAt     time.Time   `json:"sent_at"`
	ExpiresAt  time.Time   `json:"expires_at"`
	AcceptedAt *time.Time  `json:"accepted_at"`
	UserID     *int64      `json:"user_id"`
	RevokedAt  *time.Time  `json:"revoked_at"`
	// Link is the invitation's single-use address. Only Create and Resend
	// know it (the token is stored hashed); it is never in the API's
	// answers, which would let an admin accept an invitation as someone
	// else.
	Link string `json:"-"`
}

// NewInvitation is what an admin fills in.
type NewInvitation struct {
	Email    string      `json:"email"`
	Role     policy.Role `json:"role"`
	InboxIDs []int64     `json:"inbox_ids"`
}

// Service runs invitations.
type Service struct {
	db   *db.DB
	mail *mail.Outbox
	cat  *i18n.Catalog
	base *url.URL
	hash func(string) (string, error)
}

// New returns the service. Links point at base; mails go through out,
// worded by cat; hash hashes the passwords invitees choose.
func New(d *db.DB, out *mail.Outbox, cat *i18n.Catalog, base *url.URL, hash func(string) (string, error)) *Service {
	return &Service{db: d, mail: out, cat: cat, base: base, hash: hash}
}

// Link is the address of an invitation with token.
func (s *Service) Link(token string) string {
	return s.base.String() + "/invitations/" + token
}

// roleLabel names a role in a mail (English; translated).
func roleLabel(r policy.Role) string {
	switch r {
	case policy.Admin:
		return "Admin"
	case policy.InboxManager:
		return "Inbox manager"
	case policy.Service:
		return "Service"
	case policy.Sales:
		return "Sales"
	}
	return string(r)
}

// queueMail words the invitation in the inviter's language and queues it.
func (s *Service) queueMail(ctx context.Context, tx *db.Tx, to string, role policy.Role, token string, expires time.Time, inviter user.User) error {
	lang := inviter.Language
	who := inviter.Name
	return s.mail.Queue(ctx, tx, mail.Message{
		To:      to,
		Subject: s.cat.Tf(lang, "%s invites you to Switchboard", who),
		Text: s.cat.Tf(lang, "%s has invited you to join Switchboard as %s.", who, s.cat.T(lang, roleLabel(role))) + "\n\n" +
			s.cat.Tf(lang, "Open this link to choose your name and password. It works once, until %s (UTC):", expires.UTC().Format("2006-01-02 15:04")) + "\n" +
			s.Link(token) + "\n\n" +
			s.cat.T(lang, "If you did not expect this invitation, ignore this mail."),
	})
}

// Create invites n.Email. A pending invitation of the same address is
// replaced (its link stops working).
func (s *Service) Create(ctx context.Context, n NewInvitation, inviter user.User) (Invitation, error) {
	f := problem.Fields{}
	n.Email = user.NormalizeEmail(n.Email)
	if m := user.ValidateEmail(n.Email); m != "" {
		f.Add("email", "%s", m)
	}
	if !n.Role.Valid() {
		f.Add("role", "Choose one of admin, inbox_manager, service, sales.")
	}
	if err := f.Err(); err != nil {
		return Invitation{}, err
	}
	if n.InboxIDs == nil {
		n.InboxIDs = []int64{}
	}
	token, hash := secret.NewToken("sbi_")
	now := db.Now()
	inv := Invitation{Email: n.Email, Role: n.Role, InboxIDs: dedup(n.InboxIDs), InvitedBy: &inviter.ID, State: Pending,
		CreatedAt: now, SentAt: now, ExpiresAt: now.Add(Lifetime)}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)`, n.Email).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return problem.Invalid("email", "Someone with this email address already has an account.")
		}
		for _, id := range inv.InboxIDs {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inboxes WHERE id = $1)`, id).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return problem.Invalid("inbox_ids", "Inbox %d does not exist.", id)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE invitations SET revoked_at = $2 WHERE email = $1 AND accepted_at IS NULL AND revoked_at IS NULL`, n.Email, now); err != nil {
			return err
		}
		ids, _ := json.Marshal(inv.InboxIDs)
		err := tx.QueryRow(ctx, `INSERT INTO invitations (email, role, inbox_ids, token_hash, invited_by, created_at, sent_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id`, inv.Email, inv.Role, string(ids), hash, inviter.ID, now, inv.ExpiresAt).Scan(&inv.ID)
		if err != nil {
			return fmt.Errorf("invite: create: %w", err)
		}
		return s.queueMail(ctx, tx, inv.Email, inv.Role, token, inv.ExpiresAt, inviter)
	})
	if err == nil {
		inv.Link = s.Link(token)
	}
	return inv, err
}

func dedup(ids []int64) []int64 {
	out := []int64{}
	for _, id := range ids {
		if !containsID(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

const columns = `id, email, role, inbox_ids, invited_by, created_at, sent_at, expires_at, accepted_at, user_id, revoked_at`

func scan(row interface{ Scan(...any) error }, now time.Time) (Invitation, error) {
	var inv Invitation
	var ids string
	err := row.Scan(&inv.ID, &inv.Email, &inv.Role, &ids, &inv.InvitedBy, &inv.CreatedAt, &inv.SentAt, &inv.ExpiresAt, &inv.AcceptedAt, &inv.UserID, &inv.RevokedAt)
	if err != nil {
		return inv, err
	}
	if err := json.Unmarshal([]byte(ids), &inv.InboxIDs); err != nil || inv.InboxIDs == nil {
		inv.InboxIDs = []int64{}
	}
	switch {
	case inv.AcceptedAt != nil:
		inv.State = Accepted
	case inv.RevokedAt != nil:
		inv.State = Revoked
	case !now.Before(inv.ExpiresAt):
		inv.State = Expired
	default:
		inv.State = Pending
	}
	return inv, nil
}

// List returns the invitations, newest first (the last 500).
func (s *Service) List(ctx context.Context) ([]Invitation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM invitations ORDER BY id DESC LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("invite: list: %w", err)
	}
	defer rows.Close()
	now := db.Now()
	out := []Invitation{}
	for rows.Next() {
		inv, err := scan(rows, now)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// ErrNotFound is an invitation that does not exist.
var ErrNotFound = problem.NotFound("Invitation")

// Get returns one invitation.
func (s *Service) Get(ctx context.Context, id int64) (Invitation, error) {
	inv, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM invitations WHERE id = $1`, id), db.Now())
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return inv, ErrNotFound
	}
	return inv, err
}

// Resend sends an invitation again with a new link, valid 7 days from
// now; the previous link stops working. Used and revoked invitations
// cannot be sent again.
func (s *Service) Resend(ctx context.Context, id int64, inviter user.User) (Invitation, error) {
	token, hash := secret.NewToken("sbi_")
	var inv Invitation
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := db.Now()
		var err error
		inv, err = scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM invitations WHERE id = $1`, id), now)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		switch inv.State {
		case Accepted:
			return problem.Conflict("This invitation has been accepted already.")
		case Revoked:
			return problem.Conflict("This invitation was revoked: invite the address again.")
		}
		inv.SentAt, inv.ExpiresAt, inv.State = now, now.Add(Lifetime), Pending
		res, err := tx.Exec(ctx, `UPDATE invitations SET token_hash = $2, sent_at = $3, expires_at = $4 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL`,
			id, hash, now, inv.ExpiresAt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return problem.Conflict("This invitation changed meanwhile: reload the page.")
		}
		return s.queueMail(ctx, tx, inv.Email, inv.Role, token, inv.ExpiresAt, inviter)
	})
	if err == nil {
		inv.Link = s.Link(token)
	}
	return inv, err
}

// Revoke withdraws an invitation: its link stops working.
func (s *Service) Revoke(ctx context.Context, id int64) error {
	res, err := s.db.Exec(ctx, `UPDATE invitations SET revoked_at = $2 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL`, id, db.Now())
	if err != nil {
		return fmt.Errorf("invite: revoke: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		inv, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		if inv.State == Accepted {
			return problem.Conflict("This invitation has been accepted already: the person has an account.")
		}
	}
	return nil // revoking twice is fine
}

// Open returns the invitation of a link, or says plainly why the link
// does not work.
func (s *Service) Open(ctx context.Context, token string) (Invitation, error) {
	if !strings.HasPrefix(token, "sbi_") || len(token) > 100 {
		return Invitation{}, errBadLink
	}
	inv, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM invitations WHERE token_hash = $1`, secret.HashToken(token)), db.Now())
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return inv, errBadLink
	} else if err != nil {
		return inv, err
	}
	return inv, stateErr(inv)
}

var errBadLink = problem.New(problem.KindNotFound, "This invitation link does not work: check that you opened the whole link from the mail. If you were sent a newer invitation, use that one.")

func stateErr(inv Invitation) error {
	switch inv.State {
	case Accepted:
		return problem.Conflict("This invitation has already been used. Sign in with your email address and password.")
	case Revoked:
		return problem.Conflict("This invitation was withdrawn. Ask an administrator to invite you again.")
	case Expired:
		return problem.Conflict("This invitation expired on %s (UTC). Ask an administrator to send it again.", inv.ExpiresAt.UTC().Format("2006-01-02 15:04"))
	}
	return nil
}

// Acceptance is what the invitee fills in.
type Acceptance struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Repeat   string `json:"repeat_password"`
	Language string `json:"language"`
}

// Accept creates the invitee's account with the invitation's role and
// inboxes, once: a link used twice (even at the same time) makes one
// account. The contacts pending on the invitee's address become theirs
// in the same transaction (contact.ClaimPending), when their role may
// own contacts.
func (s *Service) Accept(ctx context.Context, token string, a Acceptance) (user.User, error) {
	inv, err := s.Open(ctx, token)
	if err != nil {
		return user.User{}, err
	}
	n := user.NewUser{Email: inv.Email, Name: a.Name, Role: inv.Role, Password: a.Password, InboxIDs: inv.InboxIDs, Language: a.Language}
	verr := n.Validate()
	f := problem.Fields{}
	if p, ok := problem.As(verr); ok {
		for k, v := range p.Fields {
			f.Add(k, "%s", v)
		}
	} else if verr != nil {
		return user.User{}, verr
	}
	if a.Repeat != a.Password && f["password"] == "" {
		f.Add("repeat_password", "The two passwords are not the same.")
	}
	if err := f.Err(); err != nil {
		return user.User{}, err
	}
	hash, err := s.hash(n.Password)
	if err != nil {
		return user.User{}, err
	}
	var u user.User
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		now := db.Now()
		res, err := tx.Exec(ctx, `UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND token_hash = $3
			AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, inv.ID, now, secret.HashToken(token))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return problem.Conflict("This invitation has already been used. Sign in with your email address and password.")
		}
		// Inboxes deleted since the invitation are left out.
		var ids []int64
		for _, id := range n.InboxIDs {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inboxes WHERE id = $1)`, id).Scan(&ok); err != nil {
				return err
			}
			if ok {
				ids = append(ids, id)
			}
		}
		n.InboxIDs = ids
		if u, err = user.Insert(ctx, tx, n, hash); err != nil {
			return err
		}
		// The contacts pending on the address are the new agent's.
		if policy.MayOwnContacts(u.Role) {
			if _, err := contact.ClaimPending(ctx, tx, u.Email, u.ID); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE invitations SET user_id = $2 WHERE id = $1`, inv.ID, u.ID)
		return err
	})
	if p, ok := problem.As(err); ok && p.Fields["email"] != "" {
		return user.User{}, problem.Conflict("An account with this email address exists already. Sign in with your email address and password.")
	}
	return u, err
}
