package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// cannedAPI serves canned responses: the company presets (admins make
// them) and each agent's own.
type cannedAPI struct {
	canned *reply.CannedStore
}

func (s *cannedAPI) apiList(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	q := r.URL.Query()
	list, err := s.canned.List(r.Context(), a, reply.CannedFilter{Q: q.Get("q"), Scope: q.Get("scope")})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (s *cannedAPI) apiCreate(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var n reply.NewCanned
	if err := httpx.Decode(w, r, &n); err != nil {
		return err
	}
	c, err := s.canned.Create(r.Context(), a, n)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, c)
	return nil
}

func (s *cannedAPI) apiUpdate(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return reply.ErrCannedNotFound
	}
	var p reply.CannedPatch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	c, err := s.canned.Update(r.Context(), a, id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *cannedAPI) apiDelete(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return reply.ErrCannedNotFound
	}
	if err := s.canned.Delete(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
