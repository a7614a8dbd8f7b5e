package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/user"
)

// DemoPages is the web chat demo page.
type DemoPages struct {
	BaseURL *url.URL
	Catalog *i18n.Catalog
	Pages   *Renderer
	Users   *user.Store
	Webchat *webchat.Service
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

// WidgetDemo is a pretend company site with the widget on it, to play the
// customer. It loads /widget.js from this origin, so it works under the
// workspace's strict Content-Security-Policy (the widget's styles are a
// constructed stylesheet, which the policy does not block).
func (u *DemoPages) WidgetDemo(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.Webchat.Inbox(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	d := demoPage{
		Inbox:   in,
		Snippet: `<script src="` + u.BaseURL.String() + `/widget.js" data-inbox="` + in.Token + `" async></script>`,
		Lang:    "en",
	}
	if l := r.URL.Query().Get("lang"); u.Catalog.Supported(l) {
		d.Lang = l
	}
	// An inbox that requires identity shows the widget only to verified
	// visitors: vouch for a signed-in user as a demo visitor of their own
	// (never for anonymous readers of this public page).
	if in.Settings.RequireIdentity && !a.Anonymous() {
		secret, err := u.Webchat.Secret(r.Context(), in.ID)
		if err != nil {
			return err
		}
		d.Identifier = "switchboard-demo-" + strconv.FormatInt(a.UserID, 10)
		d.IdentifierHash = webchat.Sign(secret, d.Identifier)
		if usr, err := u.Users.Get(r.Context(), a.UserID); err == nil {
			d.Name = usr.Name + " (demo)"
		}
	}
	return u.Pages.Render(w, r, http.StatusOK, "demo", PageData{Title: in.Name, Actor: a, Data: d})
}
