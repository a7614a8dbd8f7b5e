package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// reportsAPI serves the supervisors' reports.
type reportsAPI struct {
	avail *availability.Service
}

func (s *reportsAPI) apiTimeInStatus(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	q := r.URL.Query()
	from, to, err := availability.ParseRange(q.Get("from"), q.Get("to"), db.Now())
	if err != nil {
		return err
	}
	group := availability.Group(q.Get("group"))
	if group == "" {
		group = availability.ByAgent
	}
	rep, err := s.avail.TimeInStatus(r.Context(), from, to, group)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}
