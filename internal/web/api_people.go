package web

import (
	"errors"
	"net/http"

	"github.com/switchboardhq/switchboard/internal/account"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// peopleAPI manages users, invitations, teams and the installation's
// security settings.
type peopleAPI struct {
	accounts     *account.Service
	emailChanges *emailchange.Service
	factors      *auth.Factors
	invites      *invite.Service
	resets       *auth.Resets
	teams        *team.Store
	users        *user.Store
}

func (s *peopleAPI) apiUsers(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	us, err := s.users.List(r.Context())
	if err != nil {
		return err
	}
	if us == nil {
		us = []user.User{}
	}
	httpx.WriteJSON(w, http.StatusOK, us)
	return nil
}

func (s *peopleAPI) apiCreateUser(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var n user.NewUser
	if err := httpx.Decode(w, r, &n); err != nil {
		return err
	}
	u, err := s.users.Create(r.Context(), n)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, u)
	return nil
}

func (s *peopleAPI) apiUpdateUser(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("User")
	}
	var p user.Patch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	u, err := s.users.Update(r.Context(), id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

// userPath returns the user of the path.
func (s *peopleAPI) userPath(r *http.Request) (user.User, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return user.User{}, problem.NotFound("User")
	}
	u, err := s.users.Get(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		return u, problem.NotFound("User")
	}
	return u, err
}

func (s *peopleAPI) apiRequestEmailChange(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	var req emailchange.Request
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	by, err := s.users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	c, err := s.emailChanges.Request(r.Context(), u.ID, req, by)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, c)
	return nil
}

func (s *peopleAPI) apiEmailChange(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	c, err := s.emailChanges.Pending(r.Context(), u.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *peopleAPI) apiCancelEmailChange(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	if err := s.emailChanges.Cancel(r.Context(), u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *peopleAPI) apiDeactivateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	out, err := s.accounts.Deactivate(r.Context(), u.ID, a.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *peopleAPI) apiReactivateUser(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	if u, err = s.accounts.Reactivate(r.Context(), u.ID); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (s *peopleAPI) apiSendReset(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	by, err := s.users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	if err := s.resets.Send(r.Context(), u.ID, by); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
