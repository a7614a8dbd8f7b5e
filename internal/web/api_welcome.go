package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/reply/welcome"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// welcomeAPI is an agent's personal welcome messages:
// /api/v1/me/welcome-messages.
type welcomeAPI struct {
	welcome *welcome.Store
}

// welcomeList is the agent's welcome messages and the WhatsApp numbers
// they may attach them to.
type welcomeList struct {
	Items   []welcome.Welcome `json:"items"`
	Numbers []welcome.Number  `json:"numbers"`
}

func (s *welcomeAPI) apiList(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	items, err := s.welcome.List(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	numbers, err := s.welcome.Numbers(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, welcomeList{Items: items, Numbers: numbers})
	return nil
}

func (s *welcomeAPI) apiCreate(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var n welcome.New
	if err := httpx.Decode(w, r, &n); err != nil {
		return err
	}
	m, err := s.welcome.Create(r.Context(), a, n)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, m)
	return nil
}

func (s *welcomeAPI) apiUpdate(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return welcome.ErrNotFound
	}
	var p welcome.Patch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	m, err := s.welcome.Update(r.Context(), a, id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, m)
	return nil
}

func (s *welcomeAPI) apiDelete(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return welcome.ErrNotFound
	}
	if err := s.welcome.Delete(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
