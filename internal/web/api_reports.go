package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/report"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// reportsAPI serves the supervisors' reports.
type reportsAPI struct {
	avail   *availability.Service
	reports *report.Service
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

// reportQuery reads the satisfaction reports' filters.
func reportQuery(r *http.Request) (report.Filter, error) {
	q := r.URL.Query()
	return report.Query{From: q.Get("from"), To: q.Get("to"), Inbox: q.Get("inbox"), Agent: q.Get("agent"),
		Team: q.Get("team"), Group: q.Get("group")}.Filter(db.Now())
}

func (s *reportsAPI) apiCSAT(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	f, err := reportQuery(r)
	if err != nil {
		return err
	}
	rep, err := s.reports.CSAT(r.Context(), f, report.MaxComments)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}

func (s *reportsAPI) apiResponseTimes(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	f, err := reportQuery(r)
	if err != nil {
		return err
	}
	rep, err := s.reports.ResponseTimes(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}
