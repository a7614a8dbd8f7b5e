package web

import (
	"bytes"
	"net/http"
	"time"

	"github.com/switchboardhq/switchboard/internal/policy"
)

// widgetJS serves the embeddable chat widget.
func (s *Server) widgetJS(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	a := s.ui.assets["widget.js"]
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("ETag", `"`+a.hash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	return nil
}

// widgetDemo is a page with the widget on it, to play the customer.
func (s *Server) widgetDemo(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	in, err := s.Webchat.Inbox(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	return s.ui.render(w, r, http.StatusOK, "demo", pageData{Title: in.Name + " demo", Data: map[string]any{"Inbox": in, "Base": s.BaseURL.String()}})
}
