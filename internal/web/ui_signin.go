package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// codePage is the second step of signing in.
type codePage struct {
	Method auth.Method
	// Sent says a new code went out (after "Send a new code").
	Sent bool
	// Recent says no new code went out: one sent moments ago still works.
	Recent bool
}

func (u *ui) renderCode(w http.ResponseWriter, r *http.Request, status int, d pageData, sent bool) error {
	if d.Form == nil {
		d.Form = map[string]string{}
	}
	if d.Form["next"] == "" {
		d.Form["next"] = keepNext(r.URL.Query().Get("next"))
	}
	m, err := u.s.Factors.ChallengeMethod(r.Context(), challenge(r))
	if err != nil {
		// Expired or unknown: back to the password.
		http.Redirect(w, r, "/login?next="+urlQueryEscape(safeNext(d.Form["next"])), http.StatusSeeOther)
		return nil
	}
	d.Title, d.Data = "Enter your code", codePage{Method: m, Sent: sent, Recent: r.URL.Query().Get("recent") == "1"}
	return u.render(w, r, status, "login_code", d)
}

func (u *ui) loginCodePage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if !a.Anonymous() {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return u.renderCode(w, r, http.StatusOK, pageData{}, false)
}

func (u *ui) loginCode(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := parseForm(r); err != nil {
		return err
	}
	next := keepNext(r.PostForm.Get("next"))
	_, err := u.s.finishLogin(w, r, r.PostForm.Get("code"))
	if p, ok := problem.As(err); ok && p.Kind == problem.KindUnauthorized {
		return u.render(w, r, http.StatusUnauthorized, "login", pageData{Title: "Sign in", Error: p.Message, Form: map[string]string{"next": next}})
	}
	if fields, ok := mergeFields(problem.Fields{}, err); ok {
		return u.renderCode(w, r, http.StatusUnprocessableEntity, pageData{Fields: fields, Form: map[string]string{"next": next}}, false)
	} else if p, ok := problem.As(err); ok {
		return u.renderCode(w, r, statusOf429(p), pageData{Error: p.Message, Form: map[string]string{"next": next}}, false)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

func statusOf429(p *problem.Error) int {
	status, _, _ := classify(p, "")
	return status
}

func (u *ui) loginCodeResend(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := parseForm(r); err != nil {
		return err
	}
	next := keepNext(r.PostForm.Get("next"))
	err := u.s.Factors.ResendLogin(r.Context(), challenge(r), u.s.clientIP(r))
	if p, ok := problem.As(err); ok && p.Kind == problem.KindUnauthorized {
		return u.render(w, r, http.StatusUnauthorized, "login", pageData{Title: "Sign in", Error: p.Message, Form: map[string]string{"next": next}})
	} else if ok {
		return u.renderCode(w, r, statusOf429(p), pageData{Error: p.Message, Form: map[string]string{"next": next}}, false)
	} else if err != nil {
		return err
	}
	return u.renderCode(w, r, http.StatusOK, pageData{Form: map[string]string{"next": next}}, true)
}

// invitationView is the page of an invitation link.
type invitationView struct {
	Token     string
	Email     string
	Languages []i18n.Language
	Lang      string
	Problem   string // why the link does not work
}

func (u *ui) invitationPage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	token := r.PathValue("token")
	inv, err := u.s.Invites.Open(r.Context(), token)
	v := invitationView{Token: token, Email: inv.Email, Languages: u.s.Catalog.Languages(), Lang: u.lang(r, policy.Actor{})}
	if p, ok := problem.As(err); ok && (p.Kind == problem.KindNotFound || p.Kind == problem.KindConflict) {
		v.Problem = p.Message
		status, _, _ := classify(p, "")
		return u.render(w, r, status, "invitation", pageData{Title: "Invitation", Data: v})
	} else if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "invitation", pageData{Title: "Join Switchboard", Data: v, Form: map[string]string{"language": v.Lang}})
}

func (u *ui) acceptInvitation(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	token := r.PathValue("token")
	form := map[string]string{"name": r.PostForm.Get("name"), "language": r.PostForm.Get("language")}
	lang := form["language"]
	if !u.s.Catalog.Supported(lang) {
		lang = i18n.Default
	}
	var usr user.User
	if err = fields.Err(); err == nil {
		usr, err = u.s.Invites.Accept(r.Context(), token, invite.Acceptance{Name: form["name"], Password: r.PostForm.Get("password"),
			Repeat: r.PostForm.Get("repeat_password"), Language: lang})
	}
	v := invitationView{Token: token, Languages: u.s.Catalog.Languages(), Lang: lang}
	if p, ok := problem.As(err); ok {
		if inv, oerr := u.s.Invites.Open(r.Context(), token); oerr == nil {
			v.Email = inv.Email
		}
		switch p.Kind {
		case problem.KindInvalid:
			return u.render(w, r, http.StatusUnprocessableEntity, "invitation", pageData{Title: "Join Switchboard", Data: v, Fields: p.Fields, Form: form})
		case problem.KindNotFound, problem.KindConflict:
			v.Problem = p.Message
			status, _, _ := classify(p, "")
			return u.render(w, r, status, "invitation", pageData{Title: "Invitation", Data: v})
		}
		return err
	} else if err != nil {
		return err
	}
	if err := u.s.startSession(w, r, usr.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/preferences?welcome=1", http.StatusSeeOther)
	return nil
}
