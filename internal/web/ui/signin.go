package ui

import (
	"fmt"
	"net/http"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// SigninPages are the pages of signing in: first run, sign-in and its second
// step, password resets, invitations and changes of address.
type SigninPages struct {
	Auth         *auth.Service
	Catalog      *i18n.Catalog
	EmailChanges *emailchange.Service
	Factors      *auth.Factors
	Invites      *invite.Service
	Langs        *httpx.Languages
	Names        *httpx.NameCache
	Resets       *auth.Resets
	Sessions     *httpx.Sessions
	Pages        *Renderer
	Users        *user.Store
}

// codePage is the second step of signing in.
type codePage struct {
	Method auth.Method
	// Sent says a new code went out (after "Send a new code").
	Sent bool
	// Recent says no new code went out: one sent moments ago still works.
	Recent bool
}

func (u *SigninPages) renderCode(w http.ResponseWriter, r *http.Request, status int, d PageData, sent bool) error {
	if d.Form == nil {
		d.Form = map[string]string{}
	}
	if d.Form["next"] == "" {
		d.Form["next"] = keepNext(r.URL.Query().Get("next"))
	}
	m, err := u.Factors.ChallengeMethod(r.Context(), httpx.Challenge(r))
	if err != nil {
		// Expired or unknown: back to the password.
		http.Redirect(w, r, "/login?next="+urlQueryEscape(safeNext(d.Form["next"])), http.StatusSeeOther)
		return nil
	}
	d.Title, d.Data = "Enter your code", codePage{Method: m, Sent: sent, Recent: r.URL.Query().Get("recent") == "1"}
	return u.Pages.Render(w, r, status, "login_code", d)
}

func (u *SigninPages) LoginCodePage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if !a.Anonymous() {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return u.renderCode(w, r, http.StatusOK, PageData{}, false)
}

func (u *SigninPages) LoginCode(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	next := keepNext(r.PostForm.Get("next"))
	_, err := u.Sessions.FinishLogin(w, r, r.PostForm.Get("code"))
	if p, ok := problem.As(err); ok && p.Kind == problem.KindUnauthorized {
		return u.Pages.Render(w, r, http.StatusUnauthorized, "login", PageData{Title: "Sign in", Error: p.Message, Form: map[string]string{"next": next}})
	}
	if fields, ok := MergeFields(problem.Fields{}, err); ok {
		return u.renderCode(w, r, http.StatusUnprocessableEntity, PageData{Fields: fields, Form: map[string]string{"next": next}}, false)
	} else if p, ok := problem.As(err); ok {
		return u.renderCode(w, r, statusOf429(p), PageData{Error: p.Message, Form: map[string]string{"next": next}}, false)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

func statusOf429(p *problem.Error) int {
	status, _, _ := httpx.Classify(p, "")
	return status
}

func (u *SigninPages) LoginCodeResend(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	next := keepNext(r.PostForm.Get("next"))
	err := u.Factors.ResendLogin(r.Context(), httpx.Challenge(r), u.Sessions.ClientIP(r))
	if p, ok := problem.As(err); ok && p.Kind == problem.KindUnauthorized {
		return u.Pages.Render(w, r, http.StatusUnauthorized, "login", PageData{Title: "Sign in", Error: p.Message, Form: map[string]string{"next": next}})
	} else if ok {
		return u.renderCode(w, r, statusOf429(p), PageData{Error: p.Message, Form: map[string]string{"next": next}}, false)
	} else if err != nil {
		return err
	}
	return u.renderCode(w, r, http.StatusOK, PageData{Form: map[string]string{"next": next}}, true)
}

// invitationView is the page of an invitation link.
type invitationView struct {
	Token     string
	Email     string
	Languages []i18n.Language
	Lang      string
	Problem   string // why the link does not work
}

func (u *SigninPages) InvitationPage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	token := r.PathValue("token")
	inv, err := u.Invites.Open(r.Context(), token)
	v := invitationView{Token: token, Email: inv.Email, Languages: u.Catalog.Languages(), Lang: u.Langs.Of(r, policy.Actor{})}
	if p, ok := problem.As(err); ok && (p.Kind == problem.KindNotFound || p.Kind == problem.KindConflict) {
		v.Problem = p.Message
		status, _, _ := httpx.Classify(p, "")
		return u.Pages.Render(w, r, status, "invitation", PageData{Title: "Invitation", Data: v})
	} else if err != nil {
		return err
	}
	return u.Pages.Render(w, r, http.StatusOK, "invitation", PageData{Title: "Join Switchboard", Data: v, Form: map[string]string{"language": v.Lang}})
}

func (u *SigninPages) AcceptInvitation(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	token := r.PathValue("token")
	form := map[string]string{"name": r.PostForm.Get("name"), "language": r.PostForm.Get("language")}
	lang := form["language"]
	if !u.Catalog.Supported(lang) {
		lang = i18n.Default
	}
	var usr user.User
	if err = fields.Err(); err == nil {
		usr, err = u.Invites.Accept(r.Context(), token, invite.Acceptance{Name: form["name"], Password: r.PostForm.Get("password"),
			Repeat: r.PostForm.Get("repeat_password"), Language: lang})
	}
	v := invitationView{Token: token, Languages: u.Catalog.Languages(), Lang: lang}
	if p, ok := problem.As(err); ok {
		if inv, oerr := u.Invites.Open(r.Context(), token); oerr == nil {
			v.Email = inv.Email
		}
		switch p.Kind {
		case problem.KindInvalid:
			return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "invitation", PageData{Title: "Join Switchboard", Data: v, Fields: p.Fields, Form: form})
		case problem.KindNotFound, problem.KindConflict:
			v.Problem = p.Message
			status, _, _ := httpx.Classify(p, "")
			return u.Pages.Render(w, r, status, "invitation", PageData{Title: "Invitation", Data: v})
		}
		return err
	} else if err != nil {
		return err
	}
	if err := u.Sessions.Start(w, r, usr.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/preferences?welcome=1", http.StatusSeeOther)
	return nil
}

// Home sends people where they belong: setup, login, or the inbox.
func (u *SigninPages) Home(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	n, err := u.Users.Count(r.Context())
	if err != nil {
		return err
	}
	switch {
	case n == 0:
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
	case a.Anonymous():
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	}
	return nil
}

// SetupPage creates the first admin; it exists only while there are no users.
func (u *SigninPages) SetupPage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	n, err := u.Users.Count(r.Context())
	if err != nil {
		return err
	}
	if n > 0 {
		return problem.NotFound("Page")
	}
	return u.Pages.Render(w, r, http.StatusOK, "setup", PageData{Title: "Set up Switchboard", Form: map[string]string{}})
}

func (u *SigninPages) Setup(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	n, err := u.Users.Count(r.Context())
	if err != nil {
		return err
	}
	if n > 0 {
		return problem.NotFound("Page")
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{"name": r.PostForm.Get("name"), "email": r.PostForm.Get("email")}
	var nu user.User
	if err = fields.Err(); err == nil {
		nu, err = u.Users.Create(r.Context(), user.NewUser{Email: form["email"], Name: form["name"], Role: policy.Admin, Password: r.PostForm.Get("password")})
	}
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "setup", PageData{Title: "Set up Switchboard", Fields: p.Fields, Form: form})
	} else if err != nil {
		return err
	}
	if err := u.Sessions.Start(w, r, nu.ID); err != nil {
		return err
	}
	// The inboxes come first; the page also says the new admin is Away
	// and how to become Available.
	http.Redirect(w, r, "/admin/inboxes?welcome=admin", http.StatusSeeOther)
	return nil
}

func (u *SigninPages) LoginPage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if !a.Anonymous() {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	if n, err := u.Users.Count(r.Context()); err == nil && n == 0 {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return nil
	}
	return u.Pages.Render(w, r, http.StatusOK, "login", PageData{Title: "Sign in", Form: map[string]string{"next": keepNext(r.URL.Query().Get("next"))},
		Data: loginView{Reset: r.URL.Query().Get("reset") == "1"}})
}

// loginView is the sign-in page; Reset after choosing a new password.
type loginView struct{ Reset bool }

func (u *SigninPages) Login(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{"email": r.PostForm.Get("email"), "next": keepNext(r.PostForm.Get("next"))}
	var usr user.User
	if err = fields.Err(); err == nil {
		usr, err = u.Auth.Login(r.Context(), form["email"], r.PostForm.Get("password"), u.Sessions.ClientIP(r), u.Sessions.DeviceToken(r))
	}
	if p, ok := problem.As(err); ok {
		status, detail, _ := httpx.Classify(p, "")
		if p.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(p.RetryAfter.Seconds())))
		}
		return u.Pages.Render(w, r, status, "login", PageData{Title: "Sign in", Error: summary(detail), Form: form})
	} else if err != nil {
		return err
	}
	ch, err := u.Sessions.SecondStep(w, r, usr)
	if p, ok := problem.As(err); ok {
		status, detail, _ := httpx.Classify(p, "")
		return u.Pages.Render(w, r, status, "login", PageData{Title: "Sign in", Error: detail.Message, Form: form})
	} else if err != nil {
		return err
	}
	if ch.Method != "" {
		recent := ""
		if ch.Wait > 0 {
			recent = "&recent=1" // no new code yet: the last one still works
		}
		http.Redirect(w, r, "/login/code?next="+urlQueryEscape(safeNext(form["next"]))+recent, http.StatusSeeOther)
		return nil
	}
	if err := u.Sessions.Start(w, r, usr.ID); err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(form["next"]), http.StatusSeeOther)
	return nil
}

func (u *SigninPages) Logout(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := u.Sessions.End(w, r); err != nil {
		return err
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// forgotView is the page of "Forgot password?"; Sent after asking.
type forgotView struct{ Sent bool }

// ForgotPage asks for the address to send a reset link to.
func (u *SigninPages) ForgotPage(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	d := PageData{Title: "Forgot password?", Form: map[string]string{"email": ""}, Data: forgotView{Sent: r.URL.Query().Get("sent") == "1"}}
	return u.Pages.Render(w, r, http.StatusOK, "forgot_password", d)
}

func (u *SigninPages) Forgot(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	err := u.Resets.Request(r.Context(), email, u.Sessions.ClientIP(r))
	if p, ok := problem.As(err); ok {
		status, _, _ := httpx.Classify(p, "")
		d := PageData{Title: "Forgot password?", Form: map[string]string{"email": email}, Fields: p.Fields, Data: forgotView{}}
		if len(p.Fields) == 0 {
			d.Error = p.Message
		}
		return u.Pages.Render(w, r, status, "forgot_password", d)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/login/forgot?sent=1", http.StatusSeeOther)
	return nil
}

func (u *SigninPages) ResetPage(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	token := r.PathValue("token")
	v := resetView{Token: token}
	usr, err := u.Resets.Open(r.Context(), token)
	status := http.StatusOK
	if p, ok := problem.As(err); ok {
		v.Problem, status = p.Message, http.StatusNotFound
	} else if err != nil {
		return err
	} else {
		v.Email = usr.Email
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	return u.Pages.Render(w, r, status, "password_reset", PageData{Title: "Choose a new password", Data: v})
}

func (u *SigninPages) ConfirmReset(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	token := r.PathValue("token")
	repeat := r.PostForm.Get("repeat_password")
	_, err := u.Resets.Confirm(r.Context(), auth.NewPassword{Token: token, Password: r.PostForm.Get("password"), Repeat: &repeat})
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		usr, _ := u.Resets.Open(r.Context(), token)
		return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "password_reset", PageData{Title: "Choose a new password", Fields: p.Fields,
			Data: resetView{Token: token, Email: usr.Email}})
	} else if ok {
		return u.Pages.Render(w, r, http.StatusNotFound, "password_reset", PageData{Title: "Choose a new password", Data: resetView{Token: token, Problem: p.Message}})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/login?reset=1", http.StatusSeeOther)
	return nil
}

// emailChangeView is the page of a confirmation link.
type emailChangeView struct {
	Token   string
	Change  emailchange.Opened
	Problem string
	// Done is the address after the change.
	Done string
}

// EmailChangePage shows the change of a link, to be confirmed with a
// button: opening the link alone changes nothing, because mail scanners
// open links too.
func (u *SigninPages) EmailChangePage(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	token := r.PathValue("token")
	o, err := u.EmailChanges.Open(r.Context(), token)
	return u.renderEmailChange(w, r, emailChangeView{Token: token, Change: o}, err)
}

func (u *SigninPages) ConfirmEmailChange(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	token := r.PathValue("token")
	usr, err := u.EmailChanges.Confirm(r.Context(), token)
	if err == nil {
		u.Auth.Forget(usr.ID)
		u.Names.Forget()
	}
	return u.renderEmailChange(w, r, emailChangeView{Token: token, Done: usr.Email}, err)
}

// renderEmailChange shows v, or why the link does not work.
func (u *SigninPages) renderEmailChange(w http.ResponseWriter, r *http.Request, v emailChangeView, err error) error {
	if p, ok := problem.As(err); ok && (p.Kind == problem.KindNotFound || p.Kind == problem.KindConflict) {
		v.Problem = p.Message
		status, _, _ := httpx.Classify(p, "")
		return u.Pages.Render(w, r, status, "email_change", PageData{Title: "Email address", Data: v})
	} else if err != nil {
		return err
	}
	return u.Pages.Render(w, r, http.StatusOK, "email_change", PageData{Title: "Email address", Data: v})
}

// resetView is the page of a reset link.
type resetView struct {
	Token   string
	Email   string
	Problem string
}
