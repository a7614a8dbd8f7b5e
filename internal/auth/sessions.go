package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

// SessionOf returns the live session of a browser's token.
func (s *Service) SessionOf(ctx context.Context, token string) (Session, error) {
	if !strings.HasPrefix(token, sessionPrefix) {
		return Session{}, ErrUnauthenticated
	}
	var ses Session
	err := s.db.QueryRow(ctx, `SELECT id, user_id, user_agent, ip, created_at, last_seen_at FROM sessions WHERE token_hash = $1 AND expires_at > $2`,
		secret.HashToken(token), db.Now()).Scan(&ses.ID, &ses.UserID, &ses.UserAgent, &ses.IP, &ses.CreatedAt, &ses.LastSeenAt)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return Session{}, ErrUnauthenticated
	}
	return ses, err
}

// Sessions lists userID's live browser sessions, the most recently used
// first.
func (s *Service) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	rows, err := s.db.Query(ctx, `SELECT id, user_id, user_agent, ip, created_at, last_seen_at FROM sessions
		WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, id DESC`, userID, db.Now())
	if err != nil {
		return nil, fmt.Errorf("auth: sessions: %w", err)
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		var ses Session
		if err := rows.Scan(&ses.ID, &ses.UserID, &ses.UserAgent, &ses.IP, &ses.CreatedAt, &ses.LastSeenAt); err != nil {
			return nil, err
		}
		out = append(out, ses)
	}
	return out, rows.Err()
}

// RevokeSession ends one of userID's sessions.
func (s *Service) RevokeSession(ctx context.Context, userID, id int64) error {
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return fmt.Errorf("auth: revoke session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.NotFound("Session")
		}
		tx.Emit(sessionsEnded(userID, []int64{id}))
		return nil
	})
	if err != nil {
		return err
	}
	s.forgetTokens(func(c cachedToken) bool { return c.sessionID != 0 && c.sessionID == id })
	return nil
}

// endOtherSessions ends every session of userID but keep (0 for none) in
// tx, and tells; the caller forgets the cached tokens after the commit.
func endOtherSessions(ctx context.Context, tx *event.Tx, userID, keep int64) error {
	rows, err := tx.Query(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`, userID, keep)
	if err != nil {
		return err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) > 0 {
		tx.Emit(sessionsEnded(userID, ids))
	}
	return nil
}

// forgetTokens drops cached sessions and API tokens that match, so that
// this node refuses them at once (other nodes within the cache period).
func (s *Service) forgetTokens(match func(cachedToken) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.tokens {
		if match(c) {
			delete(s.tokens, k)
		}
	}
}

// PasswordChange is the form to change one's password.
type PasswordChange struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
	// Repeat must equal New; API clients may leave it out.
	Repeat *string `json:"repeat_password,omitempty"`
	// KeepAPITokens keeps the user's API tokens working. Without it a new
	// password revokes them all, but the one making the change.
	KeepAPITokens bool `json:"keep_api_tokens,omitempty"`
}

// Credential is what a request authenticated with: a browser session or
// an API token (the other id is 0).
type Credential struct {
	SessionID int64
	TokenID   int64
}

// PasswordChanged says what a new password did to the user's API tokens.
type PasswordChanged struct {
	// APITokensRevoked is how many API tokens stopped working.
	APITokensRevoked int `json:"api_tokens_revoked"`
	// APITokensKept is how many still work: all of them when the user
	// kept them, else the one that made the change (if one did).
	APITokensKept int `json:"api_tokens_kept"`
}

// ChangePassword checks the current password and sets a new one. Every
// other session of the user ends, and so does every API token unless
// p.KeepAPITokens; by, the session or token making the change, stays.
func (s *Service) ChangePassword(ctx context.Context, userID int64, by Credential, p PasswordChange) (PasswordChanged, error) {
	f := problem.Fields{}
	if p.Current == "" {
		f.Add("current_password", "Enter your current password.")
	}
	if m := user.ValidatePassword(p.New); m != "" {
		f.Add("new_password", "%s", m)
	} else if p.New == p.Current {
		f.Add("new_password", "Choose a password different from the current one.")
	}
	if p.Repeat != nil && *p.Repeat != p.New {
		f.Add("repeat_password", "The two new passwords are not the same.")
	}
	if err := f.Err(); err != nil {
		return PasswordChanged{}, err
	}
	key := fmt.Sprintf("password:user:%d", userID)
	if wait, err := s.blocked(ctx, []string{key, key}); err != nil {
		return PasswordChanged{}, err
	} else if wait > 0 {
		return PasswordChanged{}, problem.RateLimited(wait)
	}
	hash, err := s.users.PasswordHash(ctx, userID)
	if err != nil {
		return PasswordChanged{}, err
	}
	ok, err := CheckPassword(hash, p.Current)
	if err != nil {
		return PasswordChanged{}, err
	}
	if !ok {
		if err := s.recordFailure(ctx, []string{key}); err != nil {
			return PasswordChanged{}, err
		}
		return PasswordChanged{}, problem.Invalid("current_password", "This is not your current password.")
	}
	newHash, err := HashPassword(p.New)
	if err != nil {
		return PasswordChanged{}, err
	}
	var out PasswordChanged
	err = s.log.Write(ctx, func(tx *event.Tx) error {
		if err := user.SetPasswordHash(ctx, tx.Tx, userID, newHash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM login_attempts WHERE key = $1`, key); err != nil {
			return err
		}
		out, err = newPassword(ctx, tx, userID, by, p.KeepAPITokens)
		return err
	})
	if err != nil {
		return PasswordChanged{}, fmt.Errorf("auth: change password: %w", err)
	}
	s.forgetTokens(func(c cachedToken) bool {
		if c.userID != userID {
			return false
		}
		if c.sessionID != 0 {
			return c.sessionID != by.SessionID
		}
		return !p.KeepAPITokens && c.tokenID != by.TokenID
	})
	return out, nil
}

// newPassword is what every new password of an existing user brings, in
// the transaction that stores it: the user's other sessions end, and their
// API tokens are revoked unless keepTokens (by stays either way); the
// events tell every node's cache. The caller forgets this node's cached
// credentials after the commit.
func newPassword(ctx context.Context, tx *event.Tx, userID int64, by Credential, keepTokens bool) (PasswordChanged, error) {
	var out PasswordChanged
	if err := endOtherSessions(ctx, tx, userID, by.SessionID); err != nil {
		return out, err
	}
	if !keepTokens {
		ids, err := db.IDs(ctx, tx.Tx, `UPDATE api_tokens SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2 RETURNING id`,
			userID, by.TokenID, db.Now())
		if err != nil {
			return out, err
		}
		for _, id := range ids {
			e := event.New(TokenRevoked, map[string]int64{"token_id": id})
			e.UserID = userID
			tx.Emit(e)
		}
		out.APITokensRevoked = len(ids)
	}
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL`, userID).Scan(&out.APITokensKept)
	return out, err
}

// Device describes a browser from its User-Agent, for people: "Firefox
// on Windows".
func Device(ua string) string {
	browser := ""
	switch {
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "OPR/"):
		browser = "Opera"
	case strings.Contains(ua, "Firefox/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	case strings.HasPrefix(ua, "curl/"):
		browser = "curl"
	case strings.HasPrefix(ua, "Go-http-client"):
		browser = "Go program"
	}
	os := ""
	switch {
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		os = "iOS"
	case strings.Contains(ua, "Android"):
		os = "Android"
	case strings.Contains(ua, "Windows"):
		os = "Windows"
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		os = "macOS"
	case strings.Contains(ua, "CrOS"):
		os = "ChromeOS"
	case strings.Contains(ua, "Linux"):
		os = "Linux"
	}
	switch {
	case browser != "" && os != "":
		return browser + " on " + os
	case browser != "":
		return browser
	case os != "":
		return os
	case ua == "":
		return "Unknown device"
	}
	if len(ua) > 40 {
		ua = ua[:40] + "…"
	}
	return ua
}
