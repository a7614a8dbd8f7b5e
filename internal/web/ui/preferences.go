package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// PrefsPages are a user's own pages: profile, avatar, phone, security,
// notifications, settings, status and API tokens.
type PrefsPages struct {
	Auth         *auth.Service
	Availability *availability.Service
	Avatars      *avatar.Store
	Catalog      *i18n.Catalog
	EmailChanges *emailchange.Service
	Factors      *auth.Factors
	Inboxes      *inbox.Store
	Langs        *httpx.Languages
	Names        *httpx.NameCache
	Sessions     *httpx.Sessions
	Shown        Shown
	Teams        *team.Store
	Pages        *Renderer
	Users        *user.Store
}

// "Your preferences": the Profile, Security, Notifications and Settings
// tabs, the mobile number's verification, and the status menu.

// prefsView is what the preference pages show.
type prefsView struct {
	Tab       string
	Me        user.User
	Languages []i18n.Language
	// Notice is a message of success ("Saved.").
	Notice string
	// Profile: the summary of the role, teams and inboxes, and the new
	// address an admin asked for, waiting for its confirmation.
	PendingPhone *auth.PhoneChange
	Teams        []httpx.Membership
	Inboxes      []httpx.Membership
	EmailChange  *emailchange.Change
	// Security
	Method        auth.Method
	Required      bool
	Change        *auth.Change
	RecoveryLeft  int
	RecoveryCodes []string
	Sessions      []httpx.SessionInfo
	SMSReady      bool
	// Notifications and settings
	Prefs user.Preferences
	// Welcome messages (welcome.go)
	Welcome *welcomeView
}

// Notices are the success messages a redirect asks for (?saved=…).
var Notices = map[string]string{
	"1":        "Saved.",
	"avatar":   "Your picture is saved.",
	"noavatar": "Your picture is deleted.",
	"phone":    "Your mobile number is verified and saved.",
	"password": "Your password is changed. Your other sessions have been signed out.",
	"session":  "That browser is signed out.",
	"2fa":      "Two-factor authentication is updated.",
	"welcome":  "Welcome! Check your profile, then set your status to Available to get conversations.",
	"admin":    "Your administrator account is ready. You are Away for now: new conversations are given automatically only to Available agents. To become Available, open the status menu under your name, top right, and choose Available.",
}

func (u *PrefsPages) prefsPage(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, tab string, v prefsView, d PageData) error {
	ctx := r.Context()
	me, err := u.Users.Get(ctx, a.UserID)
	if err != nil {
		return err
	}
	v.Tab, v.Me, v.Languages = tab, me, u.Catalog.Languages()
	if v.Notice == "" {
		if k := r.URL.Query().Get("saved"); k == "password" {
			v.Notice = passwordNotice(r.URL.Query())
		} else if k != "" {
			v.Notice = Notices[k]
		} else if r.URL.Query().Get("welcome") == "1" {
			v.Notice = Notices["welcome"]
		}
	}
	if v.Prefs.Notifications == nil {
		if v.Prefs, err = u.Users.Preferences(ctx, a.UserID); err != nil {
			return err
		}
	}
	switch tab {
	case "profile", "phone":
		if v.PendingPhone, err = u.Factors.PendingPhone(ctx, me); err != nil {
			return err
		}
		if v.Teams, v.Inboxes, err = httpx.Memberships(ctx, u.Teams, u.Inboxes, me); err != nil {
			return err
		}
		switch c, err := u.EmailChanges.Pending(ctx, me.ID); {
		case err == nil:
			v.EmailChange = &c
		case !errors.Is(err, emailchange.ErrNotFound):
			return err
		}
	case "security":
		if v.Method, err = u.Factors.Method(ctx, a.UserID); err != nil {
			return err
		}
		if v.Required, err = u.Factors.Required(ctx); err != nil {
			return err
		}
		if v.Change, err = u.Factors.PendingChange(ctx, me); err != nil {
			return err
		}
		if v.RecoveryLeft, err = u.Factors.RecoveryCodesLeft(ctx, a.UserID); err != nil {
			return err
		}
		if v.Sessions, err = u.Sessions.List(r, a.UserID); err != nil {
			return err
		}
		v.SMSReady = me.Mobile != ""
	}
	titles := map[string]string{"profile": "Profile", "phone": "Mobile number", "security": "Security", "notifications": "Notifications", "settings": "Settings",
		"welcome": "Welcome messages", "welcome_form": "Welcome message"}
	d.Title, d.Actor, d.Data, d.User = titles[tab], a, v, &me
	if d.Form == nil {
		d.Form = map[string]string{}
	}
	return u.Pages.Render(w, r, status, "preferences_"+tab, d)
}

// problemPage renders a tab again after a refused form: field messages
// next to their fields, anything else at the top.
func (u *PrefsPages) problemPage(w http.ResponseWriter, r *http.Request, a policy.Actor, tab string, v prefsView, form map[string]string, err error) error {
	p, ok := problem.As(err)
	if !ok {
		return err
	}
	status, _, _ := httpx.Classify(p, "")
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter.Seconds())))
	}
	d := PageData{Form: form}
	if len(p.Fields) > 0 {
		d.Fields = p.Fields
	} else {
		d.Error = p.Message
	}
	return u.prefsPage(w, r, a, status, tab, v, d)
}

func (u *PrefsPages) redirectSaved(w http.ResponseWriter, r *http.Request, path, what string) error {
	http.Redirect(w, r, path+"?saved="+what, http.StatusSeeOther)
	return nil
}

// ---- Profile ----

func (u *PrefsPages) Profile(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	me, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	return u.prefsPage(w, r, a, http.StatusOK, "profile", prefsView{}, PageData{Form: profileForm(me)})
}

// profileFields are the fields of the profile form.
var profileFields = []string{"first_name", "last_name", "location", "public_name", "language", "landline"}

// profileForm is the profile form filled in with me.
func profileForm(me user.User) map[string]string {
	return map[string]string{"first_name": me.FirstName, "last_name": me.LastName, "location": me.Location,
		"public_name": me.PublicName, "language": me.Language, "landline": me.Landline}
}

func (u *PrefsPages) SaveProfile(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{}
	for _, k := range profileFields {
		form[k] = r.PostForm.Get(k)
	}
	patch := user.ProfilePatch{FirstName: new(form["first_name"]), LastName: new(form["last_name"]),
		Location: new(form["location"]), PublicName: new(form["public_name"]), Language: new(form["language"]), Landline: new(form["landline"])}
	if len(fields) > 0 {
		user.CheckProfile(fields, patch, u.Langs.Codes())
		err = fields.Err()
	} else {
		_, err = u.Users.UpdateProfile(r.Context(), a.UserID, patch, u.Langs.Codes())
	}
	if err != nil {
		return u.problemPage(w, r, a, "profile", prefsView{}, form, err)
	}
	u.Names.Forget()
	return u.redirectSaved(w, r, "/preferences", "1")
}

func (u *PrefsPages) UploadAvatar(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	data, name, ctype, err := httpx.ReadAvatar(w, r, "avatar")
	if err == nil {
		_, err = u.Avatars.Set(r.Context(), a.UserID, data, name, ctype)
	}
	if err != nil {
		me, gerr := u.Users.Get(r.Context(), a.UserID)
		if gerr != nil {
			return gerr
		}
		return u.problemPage(w, r, a, "profile", prefsView{}, profileForm(me), err)
	}
	u.Names.Forget()
	return u.redirectSaved(w, r, "/preferences", "avatar")
}

func (u *PrefsPages) DeleteAvatar(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if _, err := u.Avatars.Delete(r.Context(), a.UserID); err != nil {
		return err
	}
	u.Names.Forget()
	return u.redirectSaved(w, r, "/preferences", "noavatar")
}

// ---- The mobile number ----

func (u *PrefsPages) PhonePage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.prefsPage(w, r, a, http.StatusOK, "phone", prefsView{}, PageData{})
}

func (u *PrefsPages) me(r *http.Request, a policy.Actor) (user.User, error) {
	return u.Users.Get(r.Context(), a.UserID)
}

func (u *PrefsPages) StartPhone(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	me, err := u.me(r, a)
	if err != nil {
		return err
	}
	form := map[string]string{"mobile": r.PostForm.Get("mobile")}
	if r.PostForm.Get("remove") != "" {
		form["mobile"] = ""
	}
	if err := u.Factors.StartPhone(r.Context(), me, form["mobile"], u.Sessions.ClientIP(r)); err != nil {
		return u.problemPage(w, r, a, "phone", prefsView{}, form, err)
	}
	http.Redirect(w, r, "/preferences/phone", http.StatusSeeOther)
	return nil
}

func (u *PrefsPages) VerifyPhone(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	me, err := u.me(r, a)
	if err != nil {
		return err
	}
	done, err := u.Factors.VerifyPhone(r.Context(), me, r.PostForm.Get("code"), u.Sessions.ClientIP(r))
	if err != nil {
		return u.problemPage(w, r, a, "phone", prefsView{}, nil, err)
	}
	if done {
		return u.redirectSaved(w, r, "/preferences", "phone")
	}
	http.Redirect(w, r, "/preferences/phone", http.StatusSeeOther)
	return nil
}

func (u *PrefsPages) ResendPhone(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	me, err := u.me(r, a)
	if err != nil {
		return err
	}
	if err := u.Factors.ResendPhone(r.Context(), me, u.Sessions.ClientIP(r)); err != nil {
		return u.problemPage(w, r, a, "phone", prefsView{}, nil, err)
	}
	return u.prefsPage(w, r, a, http.StatusOK, "phone", prefsView{Notice: "A new code is on its way."}, PageData{})
}

func (u *PrefsPages) CancelPhone(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := u.Factors.CancelPhone(r.Context(), a.UserID); err != nil {
		return err
	}
	http.Redirect(w, r, "/preferences", http.StatusSeeOther)
	return nil
}

// ---- Security ----

func (u *PrefsPages) Security(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.prefsPage(w, r, a, http.StatusOK, "security", prefsView{}, PageData{})
}

func (u *PrefsPages) ChangePassword(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	repeat := r.PostForm.Get("repeat_password")
	keep := r.PostForm.Get("keep_api_tokens") != ""
	out, err := u.Auth.ChangePassword(r.Context(), a.UserID, auth.Credential{SessionID: u.Sessions.Current(r)}, auth.PasswordChange{
		Current: r.PostForm.Get("current_password"), New: r.PostForm.Get("new_password"), Repeat: &repeat, KeepAPITokens: keep})
	if err != nil {
		form := map[string]string{}
		if keep {
			form["keep_api_tokens"] = "1"
		}
		return u.problemPage(w, r, a, "security", prefsView{}, form, err)
	}
	q := url.Values{"saved": {"password"}, "revoked": {strconv.Itoa(out.APITokensRevoked)}, "kept": {strconv.Itoa(out.APITokensKept)}}
	http.Redirect(w, r, "/preferences/security?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// passwordNotice is the message after a password change: the sessions
// signed out and what became of the API tokens (counts from the query).
func passwordNotice(q url.Values) string {
	revoked, _ := strconv.Atoi(q.Get("revoked"))
	kept, _ := strconv.Atoi(q.Get("kept"))
	switch {
	case revoked == 1 && kept == 0:
		return "Your password is changed. Your other sessions have been signed out and your API token was revoked: programs that used it need a new one."
	case revoked > 1 && kept == 0:
		return fmt.Sprintf("Your password is changed. Your other sessions have been signed out and your %d API tokens were revoked: programs that used them need new ones.", revoked)
	case revoked > 0:
		return fmt.Sprintf("Your password is changed. Your other sessions have been signed out, %d API tokens were revoked and %d kept.", revoked, kept)
	case kept == 1:
		return "Your password is changed. Your other sessions have been signed out; your API token was kept."
	case kept > 1:
		return fmt.Sprintf("Your password is changed. Your other sessions have been signed out; your %d API tokens were kept.", kept)
	}
	return Notices["password"]
}

func (u *PrefsPages) RevokeSession(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Session")
	}
	if err := u.Auth.RevokeSession(r.Context(), a.UserID, id); err != nil {
		return err
	}
	if id == u.Sessions.Current(r) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return u.redirectSaved(w, r, "/preferences/security", "session")
}

func (u *PrefsPages) StartTwoFactor(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	me, err := u.me(r, a)
	if err != nil {
		return err
	}
	target := auth.Method(r.PostForm.Get("method"))
	if r.PostForm.Get("off") != "" {
		target = ""
	} else if !target.Valid() {
		return u.problemPage(w, r, a, "security", prefsView{}, nil, problem.Invalid("method", "Choose a method from the list."))
	}
	if err := u.Factors.StartChange(r.Context(), me, target, u.Sessions.ClientIP(r)); err != nil {
		return u.problemPage(w, r, a, "security", prefsView{}, map[string]string{"method": string(target)}, err)
	}
	http.Redirect(w, r, "/preferences/security#two-factor", http.StatusSeeOther)
	return nil
}

func (u *PrefsPages) VerifyTwoFactor(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	me, err := u.me(r, a)
	if err != nil {
		return err
	}
	out, err := u.Factors.VerifyChange(r.Context(), me, r.PostForm.Get("code"), u.Sessions.ClientIP(r))
	if err != nil {
		return u.problemPage(w, r, a, "security", prefsView{}, nil, err)
	}
	if len(out.RecoveryCodes) > 0 {
		// Shown this once.
		return u.prefsPage(w, r, a, http.StatusOK, "security", prefsView{RecoveryCodes: out.RecoveryCodes, Notice: Notices["2fa"]}, PageData{})
	}
	if out.Done {
		return u.redirectSaved(w, r, "/preferences/security", "2fa")
	}
	http.Redirect(w, r, "/preferences/security#two-factor", http.StatusSeeOther)
	return nil
}

func (u *PrefsPages) ResendTwoFactor(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	me, err := u.me(r, a)
	if err != nil {
		return err
	}
	if err := u.Factors.ResendChange(r.Context(), me, u.Sessions.ClientIP(r)); err != nil {
		return u.problemPage(w, r, a, "security", prefsView{}, nil, err)
	}
	return u.prefsPage(w, r, a, http.StatusOK, "security", prefsView{Notice: "A new code is on its way."}, PageData{})
}

func (u *PrefsPages) CancelTwoFactor(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := u.Factors.CancelChange(r.Context(), a.UserID); err != nil {
		return err
	}
	http.Redirect(w, r, "/preferences/security", http.StatusSeeOther)
	return nil
}

// ---- Notifications and settings ----

func (u *PrefsPages) Notifications(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.prefsPage(w, r, a, http.StatusOK, "notifications", prefsView{}, PageData{})
}

// readAlerts reads the notifications form: per trigger T the fields T.on,
// T.sound, T.sound_when, T.repeat and T.popup.
func readAlerts(form url.Values) map[user.Trigger]user.Alert {
	out := map[user.Trigger]user.Alert{}
	for _, t := range user.Triggers {
		k := string(t) + "."
		out[t] = user.Alert{On: form.Get(k+"on") != "", Sound: form.Get(k + "sound"), SoundWhen: form.Get(k + "sound_when"),
			Repeat: form.Get(k + "repeat"), Popup: form.Get(k+"popup") != ""}
	}
	return out
}

func (u *PrefsPages) SaveNotifications(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	alerts := readAlerts(r.PostForm)
	_, err := u.Users.UpdateProfile(r.Context(), a.UserID, user.ProfilePatch{Notifications: alerts}, u.Langs.Codes())
	if err != nil {
		// Show what was chosen, with the messages beside it.
		return u.problemPage(w, r, a, "notifications", prefsView{Prefs: user.Preferences{Notifications: alerts}}, nil, err)
	}
	return u.redirectSaved(w, r, "/preferences/notifications", "1")
}

func (u *PrefsPages) Settings(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.prefsPage(w, r, a, http.StatusOK, "settings", prefsView{}, PageData{})
}

func (u *PrefsPages) SaveSettings(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	on := r.PostForm.Get("capitalize_first") != ""
	if _, err := u.Users.UpdateProfile(r.Context(), a.UserID, user.ProfilePatch{CapitalizeFirst: &on}, u.Langs.Codes()); err != nil {
		return err
	}
	return u.redirectSaved(w, r, "/preferences/settings", "1")
}

// ---- The status menu ----

// SetStatus changes the status from the menu under the avatar: htmx
// gets 204 (the page follows the status.changed event), a plain form
// goes back where it came from.
func (u *PrefsPages) SetStatus(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	if _, err := u.Availability.Set(r.Context(), a.UserID, user.Status(r.PostForm.Get("status"))); err != nil {
		return err
	}
	u.Names.Forget()
	if IsHTMX(r) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	back := "/inbox"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Path != "" && (ref.Host == "" || ref.Host == r.Host) {
		back = ref.EscapedPath()
		if ref.RawQuery != "" {
			back += "?" + ref.RawQuery
		}
	}
	if !policy.Allow(a, policy.ReadConversations) && strings.HasPrefix(back, "/inbox") {
		back = "/preferences"
	}
	http.Redirect(w, r, safeNext(back), http.StatusSeeOther)
	return nil
}

// Avatar serves a user's picture to whoever is signed in (agents see each
// other's); versioned URLs are cached for good.
func (u *PrefsPages) Avatar(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return avatar.ErrNone
	}
	img, err := u.Avatars.Get(r.Context(), id)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(img)))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	w.Write(img)
	return nil
}
