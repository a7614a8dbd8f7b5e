package auth

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

// Password resets: a single-use link, valid ResetLifetime, mailed to the
// account's address, where its owner chooses a new password. People ask
// for one from the sign-in page ("Forgot password?"), or an admin sends
// one. The old password works until the new one is set; setting it is a
// new password like any other (newPassword): every session ends and every
// API token is revoked.
//
// Asking answers the same whether the address has an account or not, and
// does the same work (a rate-limit write, and a mail queued or not), so
// the answer tells nobody who has an account. Requests are limited per
// address and per IP in rows, so the limits hold across nodes.

// ResetLifetime is how long a password reset link works.
const ResetLifetime = time.Hour

// Reset request limits per hour.
const (
	resetsPerAddress = 3
	resetsPerIP      = 20
)

// Resets sends and honours password reset links.
type Resets struct {
	auth *Service
	mail *mail.Outbox
	cat  *i18n.Catalog
	base *url.URL
	// Now is the clock (db.Now unless a test sets it).
	Now func() time.Time
}

// NewResets returns the password resets of a; links point at base, mails
// go through out, worded by cat.
func NewResets(a *Service, out *mail.Outbox, cat *i18n.Catalog, base *url.URL) *Resets {
	return &Resets{auth: a, mail: out, cat: cat, base: base, Now: db.Now}
}

// ResetLink is the address of a reset link with token.
func (r *Resets) ResetLink(token string) string { return r.base.String() + "/password-reset/" + token }

// Request mails a reset link to email if it is the address of an active
// account. It answers nil whether or not it is; only too many requests
// for the address or from ip (429) are refused, the same for both.
func (r *Resets) Request(ctx context.Context, email, ip string) error {
	email = user.NormalizeEmail(email)
	if m := user.ValidateEmail(email); m != "" {
		return problem.Invalid("email", "%s", m)
	}
	now := r.Now()
	return r.auth.db.Write(ctx, func(tx *db.Tx) error {
		for _, k := range []struct {
			key   string
			limit int
		}{{"email:" + email, resetsPerAddress}, {"ip:" + ip, resetsPerIP}} {
			if err := countRequest(ctx, tx, k.key, k.limit, now); err != nil {
				return err
			}
		}
		var id int64
		var lang string
		err := tx.QueryRow(ctx, `SELECT id, language FROM users WHERE email = $1 AND deactivated_at IS NULL`, email).Scan(&id, &lang)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return nil // the same answer: nothing tells that there is no account
		} else if err != nil {
			return err
		}
		return r.issue(ctx, tx, id, email, lang, nil, now)
	})
}

// countRequest counts one request on key in the hour's window, refusing
// it over limit. The upsert locks the row on PostgreSQL, so requests on
// several nodes at once all count.
func countRequest(ctx context.Context, tx *db.Tx, key string, limit int, now time.Time) error {
	var n int
	var start time.Time
	err := tx.QueryRow(ctx, `INSERT INTO password_reset_requests (key, requests, window_start) VALUES ($1, 0, $2)
		ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING requests, window_start`, key, now).Scan(&n, &start)
	if err != nil {
		return fmt.Errorf("auth: reset limit: %w", err)
	}
	if now.Sub(start) >= time.Hour {
		n, start = 0, now
	}
	if n >= limit {
		return problem.RateLimited(start.Add(time.Hour).Sub(now))
	}
	_, err = tx.Exec(ctx, `UPDATE password_reset_requests SET requests = $2, window_start = $3 WHERE key = $1`, key, n+1, start)
	return err
}

// Send mails user id a reset link on an admin's behalf (by). A
// deactivated account gets none (409).
func (r *Resets) Send(ctx context.Context, id int64, by user.User) error {
	now := r.Now()
	return r.auth.db.Write(ctx, func(tx *db.Tx) error {
		var email, lang string
		var off *time.Time
		err := tx.QueryRow(ctx, `SELECT email, language, deactivated_at FROM users WHERE id = $1`, id).Scan(&email, &lang, &off)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return problem.NotFound("User")
		} else if err != nil {
			return err
		}
		if off != nil {
			return problem.Conflict("This account is deactivated: reactivate it first.")
		}
		return r.issue(ctx, tx, id, email, lang, &by, now)
	})
}

// issue makes a new link for user id (the previous ones stop working) and
// queues its mail in tx.
func (r *Resets) issue(ctx context.Context, tx *db.Tx, id int64, email, lang string, by *user.User, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM password_resets WHERE user_id = $1 OR expires_at <= $2`, id, now); err != nil {
		return fmt.Errorf("auth: reset: %w", err)
	}
	token, hash := secret.NewToken("sbr_")
	var byID *int64
	intro := r.cat.T(lang, "Someone, hopefully you, asked to reset your Switchboard password.")
	if by != nil {
		byID = &by.ID
		intro = r.cat.Tf(lang, "%s has sent you a link to choose a new Switchboard password.", by.Name)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO password_resets (token_hash, user_id, requested_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hash, id, byID, now, now.Add(ResetLifetime)); err != nil {
		return fmt.Errorf("auth: reset: %w", err)
	}
	return r.mail.Queue(ctx, tx, mail.Message{To: email,
		Subject: r.cat.T(lang, "Choose a new Switchboard password"),
		Text: intro + "\n\n" +
			r.cat.T(lang, "Open this link to choose a new password. It works once, for an hour:") + "\n" + r.ResetLink(token) + "\n\n" +
			r.cat.T(lang, "Your present password works until you choose a new one. If you did not ask for this, ignore this mail.")})
}

// ErrResetLink is a reset link that does not work (used, replaced,
// expired or never made).
var ErrResetLink = &problem.Error{Kind: problem.KindNotFound, Message: "This link does not work any more: it was used, replaced by a newer one, or is over an hour old. Ask for a new one."}

// Open returns the account of a reset link that works.
func (r *Resets) Open(ctx context.Context, token string) (user.User, error) {
	if !strings.HasPrefix(token, "sbr_") || len(token) > 100 {
		return user.User{}, ErrResetLink
	}
	var id int64
	err := r.auth.db.QueryRow(ctx, `SELECT p.user_id FROM password_resets p JOIN users u ON u.id = p.user_id
		WHERE p.token_hash = $1 AND p.expires_at > $2 AND u.deactivated_at IS NULL`, secret.HashToken(token), r.Now()).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return user.User{}, ErrResetLink
	} else if err != nil {
		return user.User{}, err
	}
	return r.auth.users.Get(ctx, id)
}

// NewPassword is the form of a reset link.
type NewPassword struct {
	Token    string `json:"token"`
	Password string `json:"password"`
	// Repeat must equal Password; API clients may leave it out.
	Repeat *string `json:"repeat_password,omitempty"`
}

// Confirm sets the new password of a reset link, once: the link stops
// working, every session of the account ends and every API token is
// revoked.
func (r *Resets) Confirm(ctx context.Context, p NewPassword) (user.User, error) {
	u, err := r.Open(ctx, p.Token)
	if err != nil {
		return user.User{}, err
	}
	f := problem.Fields{}
	if m := user.ValidatePassword(p.Password); m != "" {
		f.Add("password", "%s", m)
	}
	if p.Repeat != nil && *p.Repeat != p.Password {
		f.Add("repeat_password", "The two passwords are not the same.")
	}
	if err := f.Err(); err != nil {
		return user.User{}, err
	}
	hash, err := HashPassword(p.Password)
	if err != nil {
		return user.User{}, err
	}
	err = r.auth.log.Write(ctx, func(tx *event.Tx) error {
		// Used once, even by two requests at the same time.
		res, err := tx.Exec(ctx, `DELETE FROM password_resets WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3`,
			secret.HashToken(p.Token), u.ID, r.Now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrResetLink
		}
		if err := user.SetPasswordHash(ctx, tx.Tx, u.ID, hash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM login_attempts WHERE key = $1`, "email:"+u.Email); err != nil {
			return err
		}
		_, err = newPassword(ctx, tx, u.ID, Credential{}, false)
		return err
	})
	if err != nil {
		return user.User{}, fmt.Errorf("auth: reset password: %w", err)
	}
	r.auth.forgetTokens(func(c cachedToken) bool { return c.userID == u.ID })
	return u, nil
}
