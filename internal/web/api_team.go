package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
)

// The admin API of people: invitations, teams, security settings,
// automatic assignment, and the time in status report.

func (s *Server) apiInvitations(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	list, err := s.Invites.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) apiInvite(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var n invite.NewInvitation
	if err := decode(w, r, &n); err != nil {
		return err
	}
	me, err := s.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	inv, err := s.Invites.Create(r.Context(), n, me)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, inv)
	return nil
}

func (s *Server) apiResendInvitation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return invite.ErrNotFound
	}
	me, err := s.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	inv, err := s.Invites.Resend(r.Context(), id, me)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inv)
	return nil
}

func (s *Server) apiRevokeInvitation(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return invite.ErrNotFound
	}
	if err := s.Invites.Revoke(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiTeams(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	ts, err := s.Teams.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ts)
	return nil
}

func (s *Server) apiCreateTeam(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var n team.NewTeam
	if err := decode(w, r, &n); err != nil {
		return err
	}
	t, err := s.Teams.Create(r.Context(), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (s *Server) apiUpdateTeam(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return team.ErrNotFound
	}
	var p team.Patch
	if err := decode(w, r, &p); err != nil {
		return err
	}
	t, err := s.Teams.Update(r.Context(), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) apiDeleteTeam(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return team.ErrNotFound
	}
	if err := s.Teams.Delete(r.Context(), id); err != nil {
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

func (s *Server) apiSecurity(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	on, err := s.Factors.Required(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, securitySettings{RequireTwoFactor: on})
	return nil
}

func (s *Server) apiSetSecurity(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req securitySettings
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Factors.SetRequired(r.Context(), req.RequireTwoFactor); err != nil {
		return err
	}
	return s.apiSecurity(w, r, a)
}

func (s *Server) apiAssignment(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	if _, err := s.Inboxes.Get(r.Context(), id); err != nil {
		return err
	}
	as, err := s.Availability.Assignment(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

func (s *Server) apiSetAssignment(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	var req availability.Assignment
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Availability.SetAssignment(r.Context(), id, req); err != nil {
		return err
	}
	return s.apiAssignment(w, r, a)
}

func (s *Server) apiTimeInStatus(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	q := r.URL.Query()
	from, to, err := availability.ParseRange(q.Get("from"), q.Get("to"), db.Now())
	if err != nil {
		return err
	}
	group := availability.Group(q.Get("group"))
	if group == "" {
		group = availability.ByAgent
	}
	rep, err := s.Availability.TimeInStatus(r.Context(), from, to, group)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
