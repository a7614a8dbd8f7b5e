package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// tokensPage lists the user's API tokens; Created is a token just made,
// with its secret, shown this once.
type tokensPage struct {
	Tokens  []auth.APIToken
	Created *createdToken
	Revoked bool
}

func (u *prefsPages) renderTokens(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, p tokensPage, d pageData) error {
	ts, err := u.auth.Tokens(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	p.Tokens = ts
	d.Title, d.Actor, d.Data = "API tokens", a, p
	return u.tpl.render(w, r, status, "settings_tokens", d)
}

func (u *prefsPages) tokens(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	p := tokensPage{Revoked: r.URL.Query().Get("revoked") == "1"}
	var made createdToken
	if ok, err := u.shown.take(r, a, flashToken, &made); err != nil {
		return err
	} else if ok {
		// The secret is shown this once: a reload shows the list only.
		p.Created = &made
		w.Header().Set("Cache-Control", "no-store")
	}
	return u.renderTokens(w, r, a, http.StatusOK, p, pageData{})
}

func (u *prefsPages) createToken(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	var t auth.APIToken
	var secret string
	if err = fields.Err(); err == nil {
		t, secret, err = u.auth.CreateToken(r.Context(), a.UserID, name)
	}
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		return u.renderTokens(w, r, a, http.StatusUnprocessableEntity, tokensPage{}, pageData{Fields: p.Fields, Form: map[string]string{"name": name}})
	} else if err != nil {
		return err
	}
	return u.shown.redirect(w, r, a, flashToken, createdToken{APIToken: t, Token: secret}, "/settings/tokens")
}

func (u *prefsPages) revokeToken(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Token")
	}
	if err := u.auth.RevokeToken(r.Context(), a.UserID, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/settings/tokens?revoked=1", http.StatusSeeOther)
	return nil
}
