package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/text"
)

// sessionCookie holds the browser session token; deviceCookie the token
// that says the browser signed in to its account before (auth.RememberDevice).
const (
	sessionCookie = "sb_session"
	deviceCookie  = "sb_device"
)

var errForbidden = problem.Forbidden("Your role does not allow this.")

// authenticate identifies the request's user from the bearer token or the
// session cookie; no credentials at all is the anonymous actor with
// auth.ErrUnauthenticated.
func (s *Server) authenticate(r *http.Request) (policy.Actor, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return policy.Actor{}, auth.ErrUnauthenticated
		}
		if strings.HasPrefix(token, "sbv_") {
			return policy.Actor{}, auth.ErrUnauthenticated // a web chat visitor, not a user
		}
		return s.Auth.Identify(r.Context(), token, false)
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return policy.Actor{}, auth.ErrUnauthenticated
	}
	return s.Auth.Identify(r.Context(), c.Value, true)
}

// clientIP is the address the request came from.
func (s *Server) clientIP(r *http.Request) string {
	if s.TrustProxy {
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

// startSession signs the user in on this browser. An agent who signs in
// is Away until they choose Available.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID int64) error {
	token, err := s.Auth.CreateSession(r.Context(), userID, r.UserAgent(), s.clientIP(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(auth.SessionLifetime / time.Second)})
	// Signing out keeps it: the browser stays known to the account.
	device, err := s.Auth.RememberDevice(r.Context(), userID, s.deviceToken(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: device, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(auth.DeviceLifetime / time.Second)})
	if err := s.Availability.SignedIn(r.Context(), userID); err != nil {
		s.logger.Warn("sign-in status", "err", err, "user", userID)
	}
	return nil
}

// deviceToken is the browser's device cookie, "" for none.
func (s *Server) deviceToken(r *http.Request) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// endSession signs this browser out; an agent signed out everywhere is
// Unavailable.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ses, serr := s.Auth.SessionOf(r.Context(), c.Value)
		if err := s.Auth.EndSession(r.Context(), c.Value); err != nil {
			return err
		}
		if serr == nil {
			if err := s.Availability.SignedOut(r.Context(), ses.UserID); err != nil {
				s.logger.Warn("sign-out status", "err", err, "user", ses.UserID)
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	f := problem.Fields{}
	if req.Email == "" {
		f.Add("email", "Enter your email address.")
	}
	if req.Password == "" {
		f.Add("password", "Enter your password.")
	}
	if err := f.Err(); err != nil {
		return err
	}
	u, err := s.Auth.Login(r.Context(), req.Email, req.Password, s.clientIP(r), s.deviceToken(r))
	if err != nil {
		return err
	}
	if ch, err := s.secondStep(w, r, u); err != nil || ch.Method != "" {
		if err == nil {
			writeJSON(w, http.StatusOK, loginResponse{OTPRequired: true, Method: ch.Method})
		}
		return err
	}
	if err := s.startSession(w, r, u.ID); err != nil {
		return err
	}
	if u, err = s.Users.Get(r.Context(), u.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loginResponse{User: &u})
	return nil
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := s.endSession(w, r); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	m, err := s.me(r, a.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

type tokenRequest struct {
	Name string `json:"name"`
}

type createdToken struct {
	auth.APIToken
	// Token is the secret; it is not shown again.
	Token string `json:"token"`
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ts, err := s.Auth.Tokens(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ts)
	return nil
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req tokenRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	t, secret, err := s.Auth.CreateToken(r.Context(), a.UserID, req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createdToken{APIToken: t, Token: secret})
	return nil
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Token")
	}
	if err := s.Auth.RevokeToken(r.Context(), a.UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ policy.Actor) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
	return nil
}

// readyz answers 200 when the database answers and its schema is the
// binary's, 503 otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.DB.Ping(ctx)
	if err == nil {
		err = s.DB.CheckSchema(ctx)
	}
	select {
	case <-s.closing:
		err = errors.New("shutting down")
	default:
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if s.MetricsElsewhere {
		s.notFound().ServeHTTP(w, r)
		return nil
	}
	s.serveMetrics(w, r)
	return nil
}

// MetricsHandler serves /metrics and nothing else, for a listener of its
// own (config.Config.MetricsAddr).
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	return mux
}

// serveMetrics writes the metrics to a caller with the metrics token (when
// one is configured).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.MetricsToken != "" && !bearerIs(r, s.MetricsToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		http.Error(w, "The metrics need their bearer token.", http.StatusUnauthorized)
		return
	}
	promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// bearerIs reports whether r carries "Authorization: Bearer want". The
// comparison is of SHA-256 digests in constant time, so that neither the
// token's bytes nor its length show in how long a refusal takes.
func bearerIs(r *http.Request, want string) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
