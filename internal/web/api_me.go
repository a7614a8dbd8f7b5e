package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// challengeCookie holds a sign-in that waits for its second factor.
const challengeCookie = "sb_login"

// loginResponse is the answer to a sign-in: the user, or that a code is
// needed first (otp_required, and by which method) and no session yet.
type loginResponse struct {
	*user.User
	OTPRequired bool        `json:"otp_required,omitempty"`
	Method      auth.Method `json:"method,omitempty"`
}

// meResponse is the signed-in user with what only they see.
type meResponse struct {
	user.User
	// StatusSince is when the status began (null before the first one).
	StatusSince *time.Time       `json:"status_since"`
	Preferences user.Preferences `json:"preferences"`
	// TwoFactor is the method of two-factor authentication, "" for off.
	TwoFactor auth.Method `json:"two_factor"`
	// Teams and Inboxes are the teams and inboxes the user is a member
	// of, ordered by name: with the role, the summary of their profile.
	Teams   []membership `json:"teams"`
	Inboxes []membership `json:"inboxes"`
	// EmailChange is the new address an admin asked for, waiting for its
	// confirmation (null when none).
	EmailChange *string `json:"email_change"`
}

// membership names a team or an inbox someone belongs to.
type membership struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func (s *Server) me(r *http.Request, id int64) (meResponse, error) {
	ctx := r.Context()
	u, err := s.Users.Get(ctx, id)
	if err != nil {
		return meResponse{}, err
	}
	m := meResponse{User: u}
	if m.Preferences, err = s.Users.Preferences(ctx, id); err != nil {
		return m, err
	}
	if m.TwoFactor, err = s.Factors.Method(ctx, id); err != nil {
		return m, err
	}
	c, err := s.Availability.Current(ctx, id)
	if err != nil {
		return m, err
	}
	if !c.Since.IsZero() {
		m.StatusSince = &c.Since
	}
	if m.Teams, m.Inboxes, err = s.memberships(ctx, u); err != nil {
		return m, err
	}
	switch ch, err := s.EmailChanges.Pending(ctx, id); {
	case err == nil:
		m.EmailChange = &ch.Email
	case !errors.Is(err, emailchange.ErrNotFound):
		return m, err
	}
	return m, nil
}

// memberships are the teams and the inboxes u is a member of.
func (s *Server) memberships(ctx context.Context, u user.User) (teams, inboxes []membership, err error) {
	ts, err := s.Teams.Of(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	teams = make([]membership, len(ts))
	for i, t := range ts {
		teams[i] = membership{ID: t.ID, Name: t.Name}
	}
	ins, err := s.Inboxes.Of(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	inboxes = make([]membership, len(ins))
	for i, in := range ins {
		inboxes[i] = membership{ID: in.ID, Name: in.Name}
	}
	return teams, inboxes, nil
}

// secondStep starts the second step of u's sign-in when it needs one: a
// code goes out and the browser keeps the challenge in a cookie. It
// returns the challenge (no Method when the password was enough).
func (s *Server) secondStep(w http.ResponseWriter, r *http.Request, u user.User) (auth.Challenge, error) {
	m, err := s.Factors.LoginMethod(r.Context(), u)
	if err != nil || m == "" {
		return auth.Challenge{}, err
	}
	ch, err := s.Factors.StartLogin(r.Context(), u, m, s.clientIP(r))
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

func (s *Server) clearChallenge(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: challengeCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

type codeRequest struct {
	Code string `json:"code"`
}

// finishLogin checks the code of the browser's challenge and starts the
// session.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, code string) (int64, error) {
	id, err := s.Factors.FinishLogin(r.Context(), challenge(r), code)
	if err != nil {
		return 0, err
	}
	s.clearChallenge(w)
	return id, s.startSession(w, r, id)
}

func (s *Server) apiLoginCode(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req codeRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	id, err := s.finishLogin(w, r, req.Code)
	if err != nil {
		return err
	}
	u, err := s.Users.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) apiLoginResend(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := s.Factors.ResendLogin(r.Context(), challenge(r), s.clientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) languageCodes() []string {
	var out []string
	for _, l := range s.Catalog.Languages() {
		out = append(out, l.Code)
	}
	return out
}

func (s *Server) apiUpdateMe(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var p user.ProfilePatch
	if err := decode(w, r, &p); err != nil {
		return err
	}
	if _, err := s.Users.UpdateProfile(r.Context(), a.UserID, p, s.languageCodes()); err != nil {
		return err
	}
	s.ui.forgetNames()
	return s.apiMe(w, r, a)
}

type statusRequest struct {
	Status user.Status `json:"status"`
}

func (s *Server) apiSetStatus(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req statusRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.Availability.Set(r.Context(), a.UserID, req.Status)
	if err != nil {
		return err
	}
	s.ui.forgetNames()
	writeJSON(w, http.StatusOK, c)
	return nil
}

// currentSession is the id of the session of r's cookie, 0 for none (an
// API token).
func (s *Server) currentSession(r *http.Request) int64 {
	if r.Header.Get("Authorization") != "" {
		return 0
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return 0
	}
	ses, err := s.Auth.SessionOf(r.Context(), c.Value)
	if err != nil {
		return 0
	}
	return ses.ID
}

// currentCredential is the session or API token r authenticates with.
func (s *Server) currentCredential(r *http.Request) auth.Credential {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		t, err := s.Auth.TokenOf(r.Context(), token)
		if err != nil {
			return auth.Credential{}
		}
		return auth.Credential{TokenID: t.ID}
	}
	return auth.Credential{SessionID: s.currentSession(r)}
}

func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var p auth.PasswordChange
	if err := decode(w, r, &p); err != nil {
		return err
	}
	out, err := s.Auth.ChangePassword(r.Context(), a.UserID, s.currentCredential(r), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// readAvatar reads the multipart field "file" of an avatar upload.
func readAvatar(w http.ResponseWriter, r *http.Request, field string) ([]byte, string, string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, avatar.MaxBytes+64<<10)
	f, h, err := r.FormFile(field)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, "", "", &problem.Error{Kind: problem.KindTooLarge, Message: "The image is larger than 5 MB.",
				Fields: map[string]string{"avatar": "The image is larger than 5 MB: choose a smaller one."}}
		}
		return nil, "", "", problem.Invalid("avatar", "Choose an image file.")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, avatar.MaxBytes+1))
	if err != nil {
		return nil, "", "", problem.Invalid("avatar", "The file could not be read: try again.")
	}
	return data, h.Filename, h.Header.Get("Content-Type"), nil
}

func (s *Server) apiSetAvatar(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	data, name, ctype, err := readAvatar(w, r, "file")
	if err != nil {
		return err
	}
	if _, err := s.Avatars.Set(r.Context(), a.UserID, data, name, ctype); err != nil {
		return err
	}
	s.ui.forgetNames()
	return s.apiMe(w, r, a)
}

func (s *Server) apiDeleteAvatar(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if _, err := s.Avatars.Delete(r.Context(), a.UserID); err != nil {
		return err
	}
	s.ui.forgetNames()
	return s.apiMe(w, r, a)
}

// sessionInfo is a signed-in browser as its owner sees it.
type sessionInfo struct {
	auth.Session
	Device  string `json:"device"`
	Current bool   `json:"current"`
}

func (s *Server) sessionInfos(r *http.Request, userID int64) ([]sessionInfo, error) {
	ses, err := s.Auth.Sessions(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	cur := s.currentSession(r)
	out := make([]sessionInfo, len(ses))
	for i, x := range ses {
		out[i] = sessionInfo{Session: x, Device: auth.Device(x.UserAgent), Current: x.ID == cur}
	}
	return out, nil
}

func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	out, err := s.sessionInfos(r, a.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiRevokeSession(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Session")
	}
	if err := s.Auth.RevokeSession(r.Context(), a.UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// avatar serves a user's picture to whoever is signed in (agents see each
// other's); versioned URLs are cached for good.
func (u *ui) avatar(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return avatar.ErrNone
	}
	img, err := u.s.Avatars.Get(r.Context(), id)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(img)))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	w.Write(img)
	return nil
}
