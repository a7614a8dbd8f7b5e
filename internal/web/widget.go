package web

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
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

// demoPage is what the demo template shows.
type demoPage struct {
	Inbox webchat.Site
	// Snippet is the tag a site puts in its pages.
	Snippet string
	// Identifier and IdentifierHash vouch for a signed-in user on an inbox
	// that only accepts verified visitors; Name goes with them.
	Identifier, IdentifierHash, Name string
	// Lang is the page's language (?lang=), which the widget speaks.
	Lang string
}

// widgetDemo is a pretend company site with the widget on it, to play the
// customer. It loads /widget.js from this origin, so it works under the
// workspace's strict Content-Security-Policy (the widget's styles are a
// constructed stylesheet, which the policy does not block).
func (s *Server) widgetDemo(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.Webchat.Inbox(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	d := demoPage{
		Inbox:   in,
		Snippet: `<script src="` + s.BaseURL.String() + `/widget.js" data-inbox="` + in.Token + `" async></script>`,
		Lang:    "en",
	}
	if l := r.URL.Query().Get("lang"); s.Catalog.Supported(l) {
		d.Lang = l
	}
	// An inbox that requires identity shows the widget only to verified
	// visitors: vouch for a signed-in user as a demo visitor of their own
	// (never for anonymous readers of this public page).
	if in.Settings.RequireIdentity && !a.Anonymous() {
		secret, err := s.Webchat.Secret(r.Context(), in.ID)
		if err != nil {
			return err
		}
		d.Identifier = "switchboard-demo-" + strconv.FormatInt(a.UserID, 10)
		d.IdentifierHash = webchat.Sign(secret, d.Identifier)
		if u, err := s.Users.Get(r.Context(), a.UserID); err == nil {
			d.Name = u.Name + " (demo)"
		}
	}
	return s.ui.render(w, r, http.StatusOK, "demo", pageData{Title: in.Name, Actor: a, Data: d})
}
