package httpx

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/text"
	"github.com/switchboardhq/switchboard/internal/user"
)

// SessionCookie holds the browser session token; deviceCookie the token
// that says the browser signed in to its account before (auth.RememberDevice).
const (
	SessionCookie = "sb_session"
	deviceCookie  = "sb_device"
)

// Sessions signs browsers in and out (the session, device and sign-in
// challenge cookies) and tells who a request comes from.
type Sessions struct {
	auth    *auth.Service
	factors *auth.Factors
	avail   *availability.Service
	logger  *slog.Logger
	// secure makes the cookies Secure (the base URL is https);
	// trustProxy takes the client address from X-Forwarded-For.
	secure, trustProxy bool
}

// NewSessions makes the sessions: cookies Secure when secure (the base
// URL is https), the client address from X-Forwarded-For when trustProxy.
func NewSessions(as *auth.Service, factors *auth.Factors, avail *availability.Service, logger *slog.Logger, secure, trustProxy bool) *Sessions {
	return &Sessions{auth: as, factors: factors, avail: avail, logger: logger, secure: secure, trustProxy: trustProxy}
}

// Authenticate identifies the request's user from the bearer token or the
// session cookie; no credentials at all is the anonymous actor with
// auth.ErrUnauthenticated.
func (s *Sessions) Authenticate(r *http.Request) (policy.Actor, error) {
	return authenticate(s.auth, r)
}

// authenticate is Sessions.Authenticate for those that need no more of
// the sessions than the auth service.
func authenticate(as *auth.Service, r *http.Request) (policy.Actor, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return policy.Actor{}, auth.ErrUnauthenticated
		}
		if strings.HasPrefix(token, "sbv_") {
			return policy.Actor{}, auth.ErrUnauthenticated // a web chat visitor, not a user
		}
		return as.Identify(r.Context(), token, false)
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return policy.Actor{}, auth.ErrUnauthenticated
	}
	return as.Identify(r.Context(), c.Value, true)
}

// ClientIP is the address the request came from.
func (s *Sessions) ClientIP(r *http.Request) string {
	if s.trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			// Stored with sessions and throttles: made storable, bounded.
			return text.Cut(text.Clean(strings.TrimSpace(parts[len(parts)-1])), 64)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Start signs the user in on this browser. An agent who signs in
// is Away until they choose Available.
func (s *Sessions) Start(w http.ResponseWriter, r *http.Request, userID int64) error {
	token, err := s.auth.CreateSession(r.Context(), userID, r.UserAgent(), s.ClientIP(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(auth.SessionLifetime / time.Second)})
	// Signing out keeps it: the browser stays known to the account.
	device, err := s.auth.RememberDevice(r.Context(), userID, s.DeviceToken(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: device, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(auth.DeviceLifetime / time.Second)})
	if err := s.avail.SignedIn(r.Context(), userID); err != nil {
		s.logger.Warn("sign-in status", "err", err, "user", userID)
	}
	return nil
}

// DeviceToken is the browser's device cookie, "" for none.
func (s *Sessions) DeviceToken(r *http.Request) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// End signs this browser out; an agent signed out everywhere is
// Unavailable.
func (s *Sessions) End(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		ses, serr := s.auth.SessionOf(r.Context(), c.Value)
		if err := s.auth.EndSession(r.Context(), c.Value); err != nil {
			return err
		}
		if serr == nil {
			if err := s.avail.SignedOut(r.Context(), ses.UserID); err != nil {
				s.logger.Warn("sign-out status", "err", err, "user", ses.UserID)
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}

// challengeCookie holds a sign-in that waits for its second factor.
const challengeCookie = "sb_login"

// SecondStep starts the second step of u's sign-in when it needs one: a
// code goes out and the browser keeps the challenge in a cookie. It
// returns the challenge (no Method when the password was enough).
func (s *Sessions) SecondStep(w http.ResponseWriter, r *http.Request, u user.User) (auth.Challenge, error) {
	m, err := s.factors.LoginMethod(r.Context(), u)
	if err != nil || m == "" {
		return auth.Challenge{}, err
	}
	ch, err := s.factors.StartLogin(r.Context(), u, m, s.ClientIP(r))
	if err != nil {
		return auth.Challenge{}, err
	}
	http.SetCookie(w, &http.Cookie{Name: challengeCookie, Value: ch.Token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(auth.ChallengeTTL / time.Second)})
	return ch, nil
}

// Challenge returns the browser's sign-in challenge token.
func Challenge(r *http.Request) string {
	if c, err := r.Cookie(challengeCookie); err == nil {
		return c.Value
	}
	return ""
}

func (s *Sessions) ClearChallenge(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: challengeCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// FinishLogin checks the code of the browser's challenge and starts the
// session.
func (s *Sessions) FinishLogin(w http.ResponseWriter, r *http.Request, code string) (int64, error) {
	id, err := s.factors.FinishLogin(r.Context(), Challenge(r), code)
	if err != nil {
		return 0, err
	}
	s.ClearChallenge(w)
	return id, s.Start(w, r, id)
}

// Current is the id of the session of r's cookie, 0 for none (an
// API token).
func (s *Sessions) Current(r *http.Request) int64 {
	if r.Header.Get("Authorization") != "" {
		return 0
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return 0
	}
	ses, err := s.auth.SessionOf(r.Context(), c.Value)
	if err != nil {
		return 0
	}
	return ses.ID
}

// Credential is the session or API token r authenticates with.
func (s *Sessions) Credential(r *http.Request) auth.Credential {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		t, err := s.auth.TokenOf(r.Context(), token)
		if err != nil {
			return auth.Credential{}
		}
		return auth.Credential{TokenID: t.ID}
	}
	return auth.Credential{SessionID: s.Current(r)}
}

// SessionInfo is a signed-in browser as its owner sees it.
type SessionInfo struct {
	auth.Session
	Device  string `json:"device"`
	Current bool   `json:"current"`
}

func (s *Sessions) List(r *http.Request, userID int64) ([]SessionInfo, error) {
	ses, err := s.auth.Sessions(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	cur := s.Current(r)
	out := make([]SessionInfo, len(ses))
	for i, x := range ses {
		out[i] = SessionInfo{Session: x, Device: auth.Device(x.UserAgent), Current: x.ID == cur}
	}
	return out, nil
}
