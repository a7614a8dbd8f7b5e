package web

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

// sessionCookie holds the browser session token; deviceCookie the token
// that says the browser signed in to its account before (auth.RememberDevice).
const (
	sessionCookie = "sb_session"
	deviceCookie  = "sb_device"
)

// sessions signs browsers in and out (the session, device and sign-in
// challenge cookies) and tells who a request comes from.
type sessions struct {
	auth    *auth.Service
	factors *auth.Factors
	avail   *availability.Service
	logger  *slog.Logger
	// secure makes the cookies Secure (the base URL is https);
	// trustProxy takes the client address from X-Forwarded-For.
	secure, trustProxy bool
}

// authenticate identifies the request's user from the bearer token or the
// session cookie; no credentials at all is the anonymous actor with
// auth.ErrUnauthenticated.
func (s *sessions) authenticate(r *http.Request) (policy.Actor, error) {
	return authenticate(s.auth, r)
}

// authenticate is sessions.authenticate for those that need no more of
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
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return policy.Actor{}, auth.ErrUnauthenticated
	}
	return as.Identify(r.Context(), c.Value, true)
}

// clientIP is the address the request came from.
func (s *sessions) clientIP(r *http.Request) string {
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

// start signs the user in on this browser. An agent who signs in
// is Away until they choose Available.
func (s *sessions) start(w http.ResponseWriter, r *http.Request, userID int64) error {
	token, err := s.auth.CreateSession(r.Context(), userID, r.UserAgent(), s.clientIP(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(auth.SessionLifetime / time.Second)})
	// Signing out keeps it: the browser stays known to the account.
	device, err := s.auth.RememberDevice(r.Context(), userID, s.deviceToken(r))
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

// deviceToken is the browser's device cookie, "" for none.
func (s *sessions) deviceToken(r *http.Request) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// end signs this browser out; an agent signed out everywhere is
// Unavailable.
func (s *sessions) end(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
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
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}

// challengeCookie holds a sign-in that waits for its second factor.
const challengeCookie = "sb_login"

// secondStep starts the second step of u's sign-in when it needs one: a
// code goes out and the browser keeps the challenge in a cookie. It
// returns the challenge (no Method when the password was enough).
func (s *sessions) secondStep(w http.ResponseWriter, r *http.Request, u user.User) (auth.Challenge, error) {
	m, err := s.factors.LoginMethod(r.Context(), u)
	if err != nil || m == "" {
		return auth.Challenge{}, err
	}
	ch, err := s.factors.StartLogin(r.Context(), u, m, s.clientIP(r))
	if err != nil {
		return auth.Challenge{}, err
	}
	http.SetCookie(w, &http.Cookie{Name: challengeCookie, Value: ch.Token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(auth.ChallengeTTL / time.Second)})
	return ch, nil
}

// challenge returns the browser's sign-in challenge token.
func challenge(r *http.Request) string {
	if c, err := r.Cookie(challengeCookie); err == nil {
		return c.Value
	}
	return ""
}

func (s *sessions) clearChallenge(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: challengeCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// finishLogin checks the code of the browser's challenge and starts the
// session.
func (s *sessions) finishLogin(w http.ResponseWriter, r *http.Request, code string) (int64, error) {
	id, err := s.factors.FinishLogin(r.Context(), challenge(r), code)
	if err != nil {
		return 0, err
	}
	s.clearChallenge(w)
	return id, s.start(w, r, id)
}

// current is the id of the session of r's cookie, 0 for none (an
// API token).
func (s *sessions) current(r *http.Request) int64 {
	if r.Header.Get("Authorization") != "" {
		return 0
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return 0
	}
	ses, err := s.auth.SessionOf(r.Context(), c.Value)
	if err != nil {
		return 0
	}
	return ses.ID
}

// credential is the session or API token r authenticates with.
func (s *sessions) credential(r *http.Request) auth.Credential {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		t, err := s.auth.TokenOf(r.Context(), token)
		if err != nil {
			return auth.Credential{}
		}
		return auth.Credential{TokenID: t.ID}
	}
	return auth.Credential{SessionID: s.current(r)}
}

// sessionInfo is a signed-in browser as its owner sees it.
type sessionInfo struct {
	auth.Session
	Device  string `json:"device"`
	Current bool   `json:"current"`
}

func (s *sessions) list(r *http.Request, userID int64) ([]sessionInfo, error) {
	ses, err := s.auth.Sessions(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	cur := s.current(r)
	out := make([]sessionInfo, len(ses))
	for i, x := range ses {
		out[i] = sessionInfo{Session: x, Device: auth.Device(x.UserAgent), Current: x.ID == cur}
	}
	return out, nil
}
