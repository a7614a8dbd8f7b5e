package web

import (
	"context"
	"errors"
	"io"
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
	langs        *languages
	names        *nameCache
	sessions     *sessions
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
	if m.Teams, m.Inboxes, err = memberships(ctx, s.teams, s.inboxes, u); err != nil {
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

// memberships are the teams and the inboxes u is a member of.
func memberships(ctx context.Context, teamStore *team.Store, inboxStore *inbox.Store, u user.User) (teams, inboxes []membership, err error) {
	ts, err := teamStore.Of(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	teams = make([]membership, len(ts))
	for i, t := range ts {
		teams[i] = membership{ID: t.ID, Name: t.Name}
	}
	ins, err := inboxStore.Of(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	inboxes = make([]membership, len(ins))
	for i, in := range ins {
		inboxes[i] = membership{ID: in.ID, Name: in.Name}
	}
	return teams, inboxes, nil
}

type codeRequest struct {
	Code string `json:"code"`
}

func (s *authAPI) apiLoginCode(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req codeRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	id, err := s.sessions.finishLogin(w, r, req.Code)
	if err != nil {
		return err
	}
	u, err := s.users.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *authAPI) apiLoginResend(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := s.factors.ResendLogin(r.Context(), challenge(r), s.sessions.clientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *meAPI) apiUpdateMe(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var p user.ProfilePatch
	if err := decode(w, r, &p); err != nil {
		return err
	}
	if _, err := s.users.UpdateProfile(r.Context(), a.UserID, p, s.langs.codes()); err != nil {
		return err
	}
	s.names.forget()
	return s.apiMe(w, r, a)
}

type statusRequest struct {
	Status user.Status `json:"status"`
}

func (s *meAPI) apiSetStatus(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req statusRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.avail.Set(r.Context(), a.UserID, req.Status)
	if err != nil {
		return err
	}
	s.names.forget()
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *meAPI) apiChangePassword(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var p auth.PasswordChange
	if err := decode(w, r, &p); err != nil {
		return err
	}
	out, err := s.auth.ChangePassword(r.Context(), a.UserID, s.sessions.credential(r), p)
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

func (s *meAPI) apiSetAvatar(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	data, name, ctype, err := readAvatar(w, r, "file")
	if err != nil {
		return err
	}
	if _, err := s.avatars.Set(r.Context(), a.UserID, data, name, ctype); err != nil {
		return err
	}
	s.names.forget()
	return s.apiMe(w, r, a)
}

func (s *meAPI) apiDeleteAvatar(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if _, err := s.avatars.Delete(r.Context(), a.UserID); err != nil {
		return err
	}
	s.names.forget()
	return s.apiMe(w, r, a)
}

func (s *meAPI) apiSessions(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	out, err := s.sessions.list(r, a.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *meAPI) apiRevokeSession(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Session")
	}
	if err := s.auth.RevokeSession(r.Context(), a.UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
