package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/automation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// automationAPI serves a number's automation settings.
type automationAPI struct {
	automation *automation.Service
}

func (s *automationAPI) apiAutomation(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	st, err := s.automation.Settings(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (s *automationAPI) apiSetAutomation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	// Fields left out keep their values: the body is read over the
	// current settings.
	st, err := s.automation.Settings(r.Context(), id)
	if err != nil {
		return err
	}
	if err := httpx.Decode(w, r, &st); err != nil {
		return err
	}
	if st, err = s.automation.SetSettings(r.Context(), a, id, st); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, st)
	return nil
}
