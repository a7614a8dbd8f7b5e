// Package auth signs people in and recognises them on each request: argon2id
// passwords, login throttling shared by every node, browser sessions and
// personal API tokens. Session and API tokens are random secrets stored as
// SHA-256 hashes (a fast hash is right for 256-bit random secrets; argon2
// is for passwords) and cached briefly in memory so that authenticated
// requests do not each cost a database round trip. The cache follows the
// event log (Invalidation): a change of a user's role, memberships or
// language, or the end of a session or token, is forgotten by every node
// as its event arrives.
package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/text"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Token prefixes tell a session from an API token at a glance (and let
// secret scanners recognise a leaked API token).
const (
	sessionPrefix = "sbs_"
	tokenPrefix   = "sbt_"
	// BotTokenPrefix starts a bot's bearer token (see internal/bot).
	BotTokenPrefix = "sbb_"
)

// BotTokens identifies the bot behind a bot token (internal/bot).
type BotTokens func(ctx context.Context, token string) (policy.Actor, error)

// SetBotTokens makes bearer tokens with BotTokenPrefix identify bots
// through fn. Set it before serving.
func (s *Service) SetBotTokens(fn BotTokens) { s.bots = fn }

// SessionLifetime is how long a browser session lasts without use.
const SessionLifetime = 30 * 24 * time.Hour

// cacheTTL bounds how long a revoked token or a changed role may still be
// honoured should a node miss the change's event (events reach every node
// within moments; the node that made the change forgets at once).
const cacheTTL = 5 * time.Second

// Events of the auth service. They go to the user's own tabs, and tell
// every node's cache.
const (
	// SessionsEnded: browser sessions of the user ended (signed out,
	// revoked, or by a change of password); data {"session_ids": […]}.
	SessionsEnded = "auth.sessions_ended"
	// TokenRevoked: one of the user's API tokens was revoked; data
	// {"token_id": id}.
	TokenRevoked = "auth.token_revoked"
)

// ErrUnauthenticated means no valid credentials were presented.
var ErrUnauthenticated = &problem.Error{Kind: problem.KindUnauthorized, Message: "Sign in first."}

// ErrDeactivated is the answer to the right password of a deactivated
// account.
var ErrDeactivated = &problem.Error{Kind: problem.KindUnauthorized, Message: "This account has been deactivated. Ask an admin to reactivate it."}

// Service signs people in and identifies requests.
type Service struct {
	db    *db.DB
	log   *event.Log
	users *user.Store
	now   func() time.Time // login throttling and device cookies (tests move it)

	bots BotTokens // bots' tokens (nil: none)

	mu     sync.Mutex // guards tokens and actors
	tokens map[string]cachedToken
	actors map[int64]cachedActor
}

type cachedToken struct {
	userID    int64
	sessionID int64 // 0 for API tokens
	tokenID   int64 // 0 for sessions
	expires   time.Time
}

type cachedActor struct {
	actor   policy.Actor
	lang    string
	expires time.Time
}

// New returns the auth service.
func New(d *db.DB, log *event.Log, users *user.Store) *Service {
	return &Service{db: d, log: log, users: users, now: db.Now, tokens: map[string]cachedToken{}, actors: map[int64]cachedActor{}}
}

// Login checks an email and password, with throttling, and returns the
// user. device is the browser's device cookie ("" for none): when it is a
// live device of this account the sign-in is throttled by that device's
// own counter (see devices.go); otherwise by the account's and the
// address's.
func (s *Service) Login(ctx context.Context, email, password, ip, device string) (user.User, error) {
	dev, err := s.deviceOf(ctx, device, email)
	if err != nil {
		return user.User{}, err
	}
	keys := []string{"email:" + user.NormalizeEmail(email), "ip:" + ip}
	if dev != 0 {
		keys = []string{deviceKey(dev), deviceKey(dev)}
	}
	if wait, err := s.blocked(ctx, keys); err != nil {
		return user.User{}, err
	} else if wait > 0 {
		return user.User{}, problem.RateLimited(wait)
	}
	u, hash, err := s.users.Credentials(ctx, email)
	if errors.Is(err, db.ErrNotFound) {
		CheckPassword(dummyHash, password)
	} else if err != nil {
		return user.User{}, err
	}
	ok := false
	if hash != "" {
		if ok, err = CheckPassword(hash, password); err != nil {
			return user.User{}, err
		}
	}
	if !ok {
		if dev != 0 {
			err = s.deviceFailure(ctx, dev)
		} else {
			err = s.recordFailure(ctx, keys)
		}
		if err != nil {
			return user.User{}, err
		}
		return user.User{}, &problem.Error{Kind: problem.KindUnauthorized, Message: "The email or password is not right."}
	}
	if !u.Active() {
		return user.User{}, ErrDeactivated
	}
	// A known device's success forgives its own failures only: the
	// account's count is of other people's guesses.
	if _, err := s.db.Exec(ctx, `DELETE FROM login_attempts WHERE key = $1`, keys[0]); err != nil {
		return user.User{}, err
	}
	return u, nil
}

// Throttling: an account (or a device) gets 5 free failures, an IP 20;
// after that each failure doubles the wait, from 1 s up to 15 min.
const maxLoginDelay = 15 * time.Minute

func freeFailures(key string) int {
	if strings.HasPrefix(key, "ip:") {
		return 20
	}
	return 5
}

// LoginDelay is the wait after the given number of failures of key.
func LoginDelay(key string, failures int) time.Duration {
	over := failures - freeFailures(key)
	if over <= 0 {
		return 0
	}
	d := time.Second
	for i := 1; i < over && d < maxLoginDelay; i++ {
		d *= 2
	}
	return min(d, maxLoginDelay)
}

func (s *Service) blocked(ctx context.Context, keys []string) (time.Duration, error) {
	// Not MAX(): SQLite returns an aggregate of a DATETIME column as text.
	var until time.Time
	err := s.db.QueryRow(ctx, `SELECT blocked_until FROM login_attempts WHERE key IN ($1, $2) ORDER BY blocked_until DESC LIMIT 1`, keys[0], keys[1]).Scan(&until)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("auth: login throttle: %w", err)
	}
	return max(until.Sub(s.now()), 0), nil
}

// recordFailure counts one failure on every key.
func (s *Service) recordFailure(ctx context.Context, keys []string) error {
	return s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := s.failure(ctx, tx, keys)
		return err
	})
}

// failure counts one failure on every key (once each) in tx and returns
// the failures of the first. Each row is locked before it is read (on
// PostgreSQL the upsert locks it), so failures on several nodes at once
// all count.
func (s *Service) failure(ctx context.Context, tx *db.Tx, keys []string) (int, error) {
	now := s.now()
	var first int
	for i, key := range keys {
		if i > 0 && key == keys[i-1] {
			continue
		}
		var failures int
		var updated time.Time
		err := tx.QueryRow(ctx, `INSERT INTO login_attempts (key, failures, blocked_until, updated_at) VALUES ($1, 0, $2, $2)
			ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING failures, updated_at`, key, now).Scan(&failures, &updated)
		if err != nil {
			return 0, err
		}
		if now.Sub(updated) > 24*time.Hour {
			failures = 0 // a day without failures forgives
		}
		failures++
		if i == 0 {
			first = failures
		}
		if _, err := tx.Exec(ctx, `UPDATE login_attempts SET failures = $2, blocked_until = $3, updated_at = $4 WHERE key = $1`,
			key, failures, now.Add(LoginDelay(key, failures)), now); err != nil {
			return 0, err
		}
	}
	return first, nil
}

// Session is a browser session.
type Session struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"-"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// CreateSession starts a session for userID and returns its secret token.
func (s *Service) CreateSession(ctx context.Context, userID int64, userAgent, ip string) (string, error) {
	token, hash := secret.NewToken(sessionPrefix)
	now := db.Now()
	// The browser's User-Agent is not to refuse: made storable (bytes that
	// are not UTF-8 would make PostgreSQL refuse the row) and bounded.
	userAgent = text.Cut(text.Clean(userAgent), 300)
	// Never for a deactivated account, whichever way in (a second step
	// of signing in begun before the account was deactivated).
	res, err := s.db.Exec(ctx, `INSERT INTO sessions (user_id, token_hash, user_agent, ip, created_at, last_seen_at, expires_at)
		SELECT id, $2, $3, $4, $5, $5, $6 FROM users WHERE id = $1 AND deactivated_at IS NULL`, userID, hash, userAgent, ip, now, now.Add(SessionLifetime))
	if err != nil {
		return "", fmt.Errorf("auth: create session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", ErrDeactivated
	}
	return token, nil
}

// EndSession deletes the session with token.
func (s *Service) EndSession(ctx context.Context, token string) error {
	hash := secret.HashToken(token)
	s.mu.Lock()
	delete(s.tokens, hash)
	s.mu.Unlock()
	return s.log.Write(ctx, func(tx *event.Tx) error {
		var id, userID int64
		err := tx.QueryRow(ctx, `DELETE FROM sessions WHERE token_hash = $1 RETURNING id, user_id`, hash).Scan(&id, &userID)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("auth: end session: %w", err)
		}
		tx.Emit(sessionsEnded(userID, []int64{id}))
		return nil
	})
}

func sessionsEnded(userID int64, ids []int64) event.Event {
	e := event.New(SessionsEnded, map[string][]int64{"session_ids": ids})
	e.UserID = userID
	return e
}

// APIToken is a personal API token (its secret is shown once, at creation).
type APIToken struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// CreateToken makes an API token for userID and returns it with its secret.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string) (APIToken, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "API token"
	}
	if len([]rune(name)) > 100 {
		return APIToken{}, "", problem.Invalid("name", "A token name has at most 100 characters.")
	}
	token, hash := secret.NewToken(tokenPrefix)
	t := APIToken{Name: name, CreatedAt: db.Now()}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			userID, t.Name, hash, t.CreatedAt).Scan(&t.ID)
	})
	if err != nil {
		return APIToken{}, "", fmt.Errorf("auth: create token: %w", err)
	}
	return t, token, nil
}

// Tokens lists userID's live API tokens.
func (s *Service) Tokens(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		var t APIToken
		if err := rows.Scan(&t.ID, &t.Name, &t.CreatedAt, &t.LastUsedAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenOf returns the live API token with secret token.
func (s *Service) TokenOf(ctx context.Context, token string) (APIToken, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return APIToken{}, ErrUnauthenticated
	}
	var t APIToken
	err := s.db.QueryRow(ctx, `SELECT id, name, created_at, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`,
		secret.HashToken(token)).Scan(&t.ID, &t.Name, &t.CreatedAt, &t.LastUsedAt)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return APIToken{}, ErrUnauthenticated
	}
	return t, err
}

// RevokeToken revokes userID's token id.
func (s *Service) RevokeToken(ctx context.Context, userID, id int64) error {
	var hash string
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING token_hash`,
			id, userID, db.Now()).Scan(&hash)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return problem.NotFound("Token")
		} else if err != nil {
			return fmt.Errorf("auth: revoke token: %w", err)
		}
		e := event.New(TokenRevoked, map[string]int64{"token_id": id})
		e.UserID = userID
		tx.Emit(e)
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.tokens, hash)
	s.mu.Unlock()
	return nil
}

// Identify returns the actor behind a session or API token. fromCookie
// says which kind is expected: a session token is not accepted as a
// bearer token or the other way round.
func (s *Service) Identify(ctx context.Context, token string, fromCookie bool) (policy.Actor, error) {
	if !fromCookie && s.bots != nil && strings.HasPrefix(token, BotTokenPrefix) {
		if len(token) > 100 {
			return policy.Actor{}, ErrUnauthenticated
		}
		return s.bots(ctx, token)
	}
	want := tokenPrefix
	if fromCookie {
		want = sessionPrefix
	}
	if !strings.HasPrefix(token, want) || len(token) > 100 {
		return policy.Actor{}, ErrUnauthenticated
	}
	hash := secret.HashToken(token)
	now := time.Now()
	s.mu.Lock()
	c, ok := s.tokens[hash]
	s.mu.Unlock()
	if !ok || now.After(c.expires) {
		var err error
		if c, err = s.lookup(ctx, hash, fromCookie); err != nil {
			return policy.Actor{}, err
		}
		s.mu.Lock()
		if len(s.tokens) > 100_000 {
			clear(s.tokens)
		}
		s.tokens[hash] = c
		s.mu.Unlock()
	}
	return s.actor(ctx, c.userID)
}

// lookup reads a token from the database and refreshes its last use.
func (s *Service) lookup(ctx context.Context, hash string, session bool) (cachedToken, error) {
	var c cachedToken
	var stored string
	var err error
	now := db.Now()
	if session {
		var expires time.Time
		err = s.db.QueryRow(ctx, `SELECT id, user_id, token_hash, expires_at FROM sessions WHERE token_hash = $1`, hash).
			Scan(&c.sessionID, &c.userID, &stored, &expires)
		if err == nil && now.After(expires) {
			return c, ErrUnauthenticated
		}
		if err == nil {
			// Sliding expiry, written at most once per cache period.
			_, err = s.db.Exec(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1`, c.sessionID, now, now.Add(SessionLifetime))
		}
	} else {
		err = s.db.QueryRow(ctx, `SELECT id, user_id, token_hash FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, hash).
			Scan(&c.tokenID, &c.userID, &stored)
		if err == nil {
			_, err = s.db.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1`, hash, now)
		}
	}
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return c, ErrUnauthenticated
	}
	if err != nil {
		return c, fmt.Errorf("auth: look up token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(hash)) != 1 {
		return c, ErrUnauthenticated
	}
	c.expires = time.Now().Add(cacheTTL)
	return c, nil
}

// actor returns the user's role and memberships, cached briefly.
func (s *Service) actor(ctx context.Context, userID int64) (policy.Actor, error) {
	c, err := s.cached(ctx, userID)
	return c.actor, err
}

// Language returns the interface language of userID (cached like the
// actor: a change shows at once on the node that made it).
func (s *Service) Language(ctx context.Context, userID int64) (string, error) {
	c, err := s.cached(ctx, userID)
	return c.lang, err
}

func (s *Service) cached(ctx context.Context, userID int64) (cachedActor, error) {
	now := time.Now()
	s.mu.Lock()
	c, ok := s.actors[userID]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c, nil
	}
	u, err := s.users.Get(ctx, userID)
	if errors.Is(err, db.ErrNotFound) {
		return cachedActor{}, ErrUnauthenticated
	}
	if err != nil {
		return cachedActor{}, err
	}
	if !u.Active() {
		// Its sessions and tokens are gone too; this refuses what another
		// node still has cached, within the cache period.
		return cachedActor{}, ErrUnauthenticated
	}
	c = cachedActor{actor: policy.Actor{UserID: u.ID, Role: u.Role, Inboxes: u.InboxIDs}, lang: u.Language, expires: now.Add(cacheTTL)}
	s.mu.Lock()
	if len(s.actors) > 100_000 {
		clear(s.actors)
	}
	s.actors[userID] = c
	s.mu.Unlock()
	return c, nil
}

// Forget drops what is cached about userID (after a change of role,
// memberships or language), so this node sees the change at once.
func (s *Service) Forget(userID int64) {
	s.mu.Lock()
	delete(s.actors, userID)
	s.mu.Unlock()
}

// Invalidation is the consumer that keeps this node's cache true to the
// event log: it forgets a user whose role, memberships or language
// changed, and the sessions and tokens that ended.
func (s *Service) Invalidation() event.Consumer {
	return event.Consumer{
		Name:   "auth.cache",
		Scope:  event.PerNode,
		Types:  []string{event.MembershipChanged, user.ProfileChanged, SessionsEnded, TokenRevoked},
		Handle: s.invalidate,
	}
}

func (s *Service) invalidate(_ context.Context, events []event.Event) error {
	for _, e := range events {
		switch e.Type {
		case SessionsEnded:
			var d struct {
				SessionIDs []int64 `json:"session_ids"`
			}
			if err := json.Unmarshal(e.Data, &d); err != nil {
				return fmt.Errorf("auth: %s %d: %w", e.Type, e.Seq, err)
			}
			s.forgetTokens(func(c cachedToken) bool { return c.sessionID != 0 && slices.Contains(d.SessionIDs, c.sessionID) })
		case TokenRevoked:
			var d struct {
				TokenID int64 `json:"token_id"`
			}
			if err := json.Unmarshal(e.Data, &d); err != nil {
				return fmt.Errorf("auth: %s %d: %w", e.Type, e.Seq, err)
			}
			s.forgetTokens(func(c cachedToken) bool { return c.tokenID != 0 && c.tokenID == d.TokenID })
		default:
			s.Forget(e.UserID)
		}
	}
	return nil
}

// SignOutEverywhere ends every session of userID and revokes their API
// tokens in tx (deactivating the account), and reports how many tokens
// were revoked. Once tx commits this node forgets them at once; other
// nodes within the cache period.
func (s *Service) SignOutEverywhere(ctx context.Context, tx *db.Tx, userID int64) (int, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return 0, fmt.Errorf("auth: sign out everywhere: %w", err)
	}
	res, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, userID, db.Now())
	if err != nil {
		return 0, fmt.Errorf("auth: sign out everywhere: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("auth: sign out everywhere: %w", err)
	}
	tx.OnCommit(func() {
		s.forgetTokens(func(c cachedToken) bool { return c.userID == userID })
		s.Forget(userID)
	})
	return int(n), nil
}
