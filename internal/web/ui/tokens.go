package ui

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// tokensPage lists the user's API tokens; Created is a token just made,
// with its secret, shown this once.
type tokensPage struct {
	Tokens  []auth.APIToken
	Created *httpx.CreatedToken
	Revoked bool
}

func (u *PrefsPages) renderTokens(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, p tokensPage, d PageData) error {
	ts, err := u.Auth.Tokens(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	p.Tokens = ts
	d.Title, d.Actor, d.Data = "API tokens", a, p
	return u.Pages.Render(w, r, status, "settings_tokens", d)
}

func (u *PrefsPages) Tokens(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	p := tokensPage{Revoked: r.URL.Query().Get("revoked") == "1"}
	var made httpx.CreatedToken
	if ok, err := u.Shown.Take(r, a, FlashToken, &made); err != nil {
		return err
	} else if ok {
		// The secret is shown this once: a reload shows the list only.
		p.Created = &made
		w.Header().Set("Cache-Control", "no-store")
	}
	return u.renderTokens(w, r, a, http.StatusOK, p, PageData{})
}

func (u *PrefsPages) CreateToken(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	var t auth.APIToken
	var secret string
	if err = fields.Err(); err == nil {
		t, secret, err = u.Auth.CreateToken(r.Context(), a.UserID, name)
	}
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		return u.renderTokens(w, r, a, http.StatusUnprocessableEntity, tokensPage{}, PageData{Fields: p.Fields, Form: map[string]string{"name": name}})
	} else if err != nil {
		return err
	}
	return u.Shown.Redirect(w, r, a, FlashToken, httpx.CreatedToken{APIToken: t, Token: secret}, "/settings/tokens")
}

func (u *PrefsPages) RevokeToken(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Token")
	}
	if err := u.Auth.RevokeToken(r.Context(), a.UserID, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/settings/tokens?revoked=1", http.StatusSeeOther)
	return nil
}
