package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// The admin API of people: invitations, teams, security settings,
// automatic assignment, and the time in status report.

func (s *peopleAPI) apiInvitations(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	list, err := s.invites.List(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (s *peopleAPI) apiInvite(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var n invite.NewInvitation
	if err := httpx.Decode(w, r, &n); err != nil {
		return err
	}
	me, err := s.users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	inv, err := s.invites.Create(r.Context(), n, me)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, inv)
	return nil
}

func (s *peopleAPI) apiResendInvitation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return invite.ErrNotFound
	}
	me, err := s.users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	inv, err := s.invites.Resend(r.Context(), id, me)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, inv)
	return nil
}

func (s *peopleAPI) apiRevokeInvitation(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return invite.ErrNotFound
	}
	if err := s.invites.Revoke(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *peopleAPI) apiTeams(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	ts, err := s.teams.List(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ts)
	return nil
}

func (s *peopleAPI) apiCreateTeam(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var n team.NewTeam
	if err := httpx.Decode(w, r, &n); err != nil {
		return err
	}
	t, err := s.teams.Create(r.Context(), n)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (s *peopleAPI) apiUpdateTeam(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return team.ErrNotFound
	}
	var p team.Patch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	t, err := s.teams.Update(r.Context(), id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (s *peopleAPI) apiDeleteTeam(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return team.ErrNotFound
	}
	if err := s.teams.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// securitySettings are the installation's security settings.
type securitySettings struct {
	// RequireTwoFactor makes every sign-in need a second factor (email
	// codes for users who chose no method).
	RequireTwoFactor bool `json:"require_two_factor"`
}

func (s *peopleAPI) apiSecurity(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	on, err := s.factors.Required(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, securitySettings{RequireTwoFactor: on})
	return nil
}

func (s *peopleAPI) apiSetSecurity(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req securitySettings
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if err := s.factors.SetRequired(r.Context(), req.RequireTwoFactor); err != nil {
		return err
	}
	return s.apiSecurity(w, r, a)
}
