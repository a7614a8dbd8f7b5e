package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// authAPI signs people in and out through the API, with their personal API
// tokens and password resets.
type authAPI struct {
	auth     *auth.Service
	factors  *auth.Factors
	resets   *auth.Resets
	sessions *httpx.Sessions
	users    *user.Store
}

var errForbidden = problem.Forbidden("Your role does not allow this.")

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *authAPI) apiLogin(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req loginRequest
	if err := httpx.Decode(w, r, &req); err != nil {
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
	u, err := s.auth.Login(r.Context(), req.Email, req.Password, s.sessions.ClientIP(r), s.sessions.DeviceToken(r))
	if err != nil {
		return err
	}
	if ch, err := s.sessions.SecondStep(w, r, u); err != nil || ch.Method != "" {
		if err == nil {
			httpx.WriteJSON(w, http.StatusOK, loginResponse{OTPRequired: true, Method: ch.Method})
		}
		return err
	}
	if err := s.sessions.Start(w, r, u.ID); err != nil {
		return err
	}
	if u, err = s.users.Get(r.Context(), u.ID); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, loginResponse{User: &u})
	return nil
}

func (s *authAPI) apiLogout(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := s.sessions.End(w, r); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *meAPI) apiMe(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	m, err := s.me(r, a.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, m)
	return nil
}

type tokenRequest struct {
	Name string `json:"name"`
}

func (s *authAPI) apiTokens(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ts, err := s.auth.Tokens(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ts)
	return nil
}

func (s *authAPI) apiCreateToken(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req tokenRequest
	if r.ContentLength != 0 {
		if err := httpx.Decode(w, r, &req); err != nil {
			return err
		}
	}
	t, secret, err := s.auth.CreateToken(r.Context(), a.UserID, req.Name)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, httpx.CreatedToken{APIToken: t, Token: secret})
	return nil
}

func (s *authAPI) apiRevokeToken(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Token")
	}
	if err := s.auth.RevokeToken(r.Context(), a.UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type resetRequest struct {
	Email string `json:"email"`
}

func (s *authAPI) apiRequestReset(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req resetRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if err := s.resets.Request(r.Context(), req.Email, s.sessions.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *authAPI) apiConfirmReset(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var req auth.NewPassword
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if _, err := s.resets.Confirm(r.Context(), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
