// Package emailchange moves a user's sign-in address to another one. An
// admin asks for the change; the new address is sent a single-use link,
// valid 7 days, and the change is made when the link is confirmed, so that
// nobody is left signing in with an address they cannot read. Until then
// the user signs in with the present address. Once the change is made the
// old address is told. A user has one change waiting at most: asking again
// replaces it (the earlier link stops working), and an admin may cancel
// it. The link's token is stored hashed.
package emailchange

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Lifetime is how long a confirmation link works.
const Lifetime = 7 * 24 * time.Hour

// tokenPrefix starts every confirmation token.
const tokenPrefix = "sbe_"

// Change is a change of address that waits for its confirmation.
type Change struct {
	UserID int64 `json:"user_id"`
	// Email is the new address.
	Email string `json:"email"`
	// RequestedBy is the admin who asked for it (null once they are gone).
	RequestedBy *int64    `json:"requested_by"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Request is what an admin asks for.
type Request struct {
	// Email is the new address; a confirmation link is mailed to it.
	Email string `json:"email"`
}

// ErrNotFound is a user without a change waiting.
var ErrNotFound = problem.NotFound("Email change")

var errBadLink = problem.New(problem.KindNotFound, "This link does not work: check that you opened the whole link from the mail. If the change was asked for again, use the newest mail; an administrator may also have cancelled it.")

// Service runs changes of address.
type Service struct {
	db   *db.DB
	log  *event.Log
	mail *mail.Outbox
	cat  *i18n.Catalog
	base *url.URL
	now  func() time.Time
}

// New returns the service. Links point at base; mails go through out,
// worded by cat in the language of the user whose address changes.
func New(d *db.DB, log *event.Log, out *mail.Outbox, cat *i18n.Catalog, base *url.URL) *Service {
	return &Service{db: d, log: log, mail: out, cat: cat, base: base, now: time.Now}
}

// Link is the confirmation address of token.
func (s *Service) Link(token string) string { return s.base.String() + "/email-change/" + token }

// Request asks to change userID's address to r.Email on behalf of by, and
// mails the confirmation link to the new address. A change already waiting
// is replaced.
func (s *Service) Request(ctx context.Context, userID int64, r Request, by user.User) (Change, error) {
	email := user.NormalizeEmail(r.Email)
	if m := user.ValidateEmail(email); m != "" {
		return Change{}, problem.Invalid("email", "%s", m)
	}
	token, hash := secret.NewToken(tokenPrefix)
	now := db.Time(s.now())
	c := Change{UserID: userID, Email: email, RequestedBy: &by.ID, CreatedAt: now, ExpiresAt: now.Add(Lifetime)}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var current, name, lang string
		err := tx.QueryRow(ctx, `SELECT email, name, language FROM users WHERE id = $1`, userID).Scan(&current, &name, &lang)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return problem.NotFound("User")
		} else if err != nil {
			return fmt.Errorf("emailchange: request: %w", err)
		}
		if email == current {
			return problem.Invalid("email", "This is the address already.")
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)`, email).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return problem.Invalid("email", "Another account has this email address.")
		}
		_, err = tx.Exec(ctx, `INSERT INTO email_changes (user_id, email, token_hash, requested_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, token_hash = excluded.token_hash,
				requested_by = excluded.requested_by, created_at = excluded.created_at, expires_at = excluded.expires_at`,
			userID, email, hash, by.ID, now, c.ExpiresAt)
		if err != nil {
			return fmt.Errorf("emailchange: request: %w", err)
		}
		return s.mail.Queue(ctx, tx, mail.Message{
			To:      email,
			Subject: s.cat.T(lang, "Confirm your new email address for Switchboard"),
			Text: s.cat.Tf(lang, "%s asked to change the email address you sign in to Switchboard with, as %s, to this one: %s.", by.Name, name, email) + "\n\n" +
				s.cat.Tf(lang, "Open this link to confirm the change. It works once, until %s (UTC):", c.ExpiresAt.UTC().Format("2006-01-02 15:04")) + "\n" +
				s.Link(token) + "\n\n" +
				s.cat.T(lang, "Until then you sign in with your present address. If you did not expect this mail, ignore it: nothing changes."),
		})
	})
	return c, err
}

const columns = `user_id, email, requested_by, created_at, expires_at`

func scan(row interface{ Scan(...any) error }) (Change, error) {
	var c Change
	err := row.Scan(&c.UserID, &c.Email, &c.RequestedBy, &c.CreatedAt, &c.ExpiresAt)
	return c, err
}

// Pending returns the change waiting for userID's confirmation; one whose
// link expired is no longer waiting.
func (s *Service) Pending(ctx context.Context, userID int64) (Change, error) {
	c, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM email_changes WHERE user_id = $1 AND expires_at > $2`, userID, db.Time(s.now())))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return c, ErrNotFound
	} else if err != nil {
		return c, fmt.Errorf("emailchange: pending: %w", err)
	}
	return c, nil
}

// Cancel withdraws userID's change, if any: its link stops working.
func (s *Service) Cancel(ctx context.Context, userID int64) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM email_changes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("emailchange: cancel: %w", err)
	}
	return nil
}

// Opened is a change as its link shows it: the change, and the user's
// present address and name.
type Opened struct {
	Change
	Current string
	Name    string
}

// Open returns the change of a link, or says plainly why the link does not
// work.
func (s *Service) Open(ctx context.Context, token string) (Opened, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 100 {
		return Opened{}, errBadLink
	}
	var o Opened
	err := s.db.QueryRow(ctx, `SELECT c.user_id, c.email, c.requested_by, c.created_at, c.expires_at, u.email, u.name
		FROM email_changes c JOIN users u ON u.id = c.user_id WHERE c.token_hash = $1`, secret.HashToken(token)).
		Scan(&o.UserID, &o.Email, &o.RequestedBy, &o.CreatedAt, &o.ExpiresAt, &o.Current, &o.Name)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return o, errBadLink
	} else if err != nil {
		return o, fmt.Errorf("emailchange: open: %w", err)
	}
	return o, s.expired(o.Change)
}

func (s *Service) expired(c Change) error {
	if s.now().Before(c.ExpiresAt) {
		return nil
	}
	return problem.Conflict("This link expired on %s (UTC). Ask an administrator to change the address again.", c.ExpiresAt.UTC().Format("2006-01-02 15:04"))
}

// Confirm makes the change of a link, once, and tells the old address.
// It returns the user as they are now.
func (s *Service) Confirm(ctx context.Context, token string) (user.User, error) {
	o, err := s.Open(ctx, token)
	if err != nil {
		return user.User{}, err
	}
	var u user.User
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		// Taking the row makes a link used twice, even at once, change the
		// address once.
		res, err := tx.Exec(ctx, `DELETE FROM email_changes WHERE token_hash = $1`, secret.HashToken(token))
		if err != nil {
			return fmt.Errorf("emailchange: confirm: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errBadLink
		}
		if u, err = user.SetEmail(ctx, tx, o.UserID, o.Email); err != nil {
			return err
		}
		return s.mail.Queue(ctx, tx.Tx, mail.Message{
			To:      o.Current,
			Subject: s.cat.T(u.Language, "Your Switchboard email address was changed"),
			Text: s.cat.Tf(u.Language, "The email address you sign in to Switchboard with is now %s; this address (%s) no longer signs you in.", o.Email, o.Current) + "\n\n" +
				s.cat.T(u.Language, "If you did not expect this, tell an administrator at once."),
		})
	})
	if err != nil {
		return user.User{}, err
	}
	return u, nil
}
