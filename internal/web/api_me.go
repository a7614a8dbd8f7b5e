package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// meAPI serves the signed-in user their profile, status, password, avatar
// and sessions.
type meAPI struct {
	auth         *auth.Service
	avail        *availability.Service
	avatars      *avatar.Store
	emailChanges *emailchange.Service
	factors      *auth.Factors
	inboxes      *inbox.Store
	langs        *httpx.Languages
	names        *httpx.NameCache
	sessions     *httpx.Sessions
	teams        *team.Store
	users        *user.Store
}

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
	Teams   []httpx.Membership `json:"teams"`
	Inboxes []httpx.Membership `json:"inboxes"`
	// EmailChange is the new address an admin asked for, waiting for its
	// confirmation (null when none).
	EmailChange *string `json:"email_change"`
}

func (s *meAPI) me(r *http.Request, id int64) (meResponse, error) {
	ctx := r.Context()
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return meResponse{}, err
	}
	m := meResponse{User: u}
	if m.Preferences, err = s.users.Preferences(ctx, id); err != nil {
		return m, err
	}
	if m.TwoFactor, err = s.factors.Method(ctx, id); err != nil {
		return m, err
	}
	c, err := s.avail.Current(ctx, id)
	if err != nil {
		return m, err
	}
	if !c.Since.IsZero() {
		m.StatusSince = &c.Since
	}
	if m.Teams, m.Inboxes, err = httpx.Memberships(ctx, s.teams, s.inboxes, u); err != nil {
		return m, err
	}
	switch ch, err := s.emailChanges.Pending(ctx, id); {
	case err == nil:
		m.EmailChange = &ch.Email
	case !errors.Is(err, emailchange.ErrNotFound):
		return m, err
	}
	return m, nil
}

type codeRequest struct {
	Code string `json:"code"`
}

func (s *authAPI) apiLoginCode(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req codeRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	id, err := s.sessions.FinishLogin(w, r, req.Code)
	if err != nil {
		return err
	}
	u, err := s.users.Get(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (s *authAPI) apiLoginResend(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := s.factors.ResendLogin(r.Context(), httpx.Challenge(r), s.sessions.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *meAPI) apiUpdateMe(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var p user.ProfilePatch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	if _, err := s.users.UpdateProfile(r.Context(), a.UserID, p, s.langs.Codes()); err != nil {
		return err
	}
	s.names.Forget()
	return s.apiMe(w, r, a)
}

type statusRequest struct {
	Status user.Status `json:"status"`
}

func (s *meAPI) apiSetStatus(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req statusRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.avail.Set(r.Context(), a.UserID, req.Status)
	if err != nil {
		return err
	}
	s.names.Forget()
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *meAPI) apiChangePassword(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var p auth.PasswordChange
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	out, err := s.auth.ChangePassword(r.Context(), a.UserID, s.sessions.Credential(r), p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *meAPI) apiSetAvatar(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	data, name, ctype, err := httpx.ReadAvatar(w, r, "file")
	if err != nil {
		return err
	}
	if _, err := s.avatars.Set(r.Context(), a.UserID, data, name, ctype); err != nil {
		return err
	}
	s.names.Forget()
	return s.apiMe(w, r, a)
}

func (s *meAPI) apiDeleteAvatar(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if _, err := s.avatars.Delete(r.Context(), a.UserID); err != nil {
		return err
	}
	s.names.Forget()
	return s.apiMe(w, r, a)
}

func (s *meAPI) apiSessions(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	out, err := s.sessions.List(r, a.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *meAPI) apiRevokeSession(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Session")
	}
	if err := s.auth.RevokeSession(r.Context(), a.UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
