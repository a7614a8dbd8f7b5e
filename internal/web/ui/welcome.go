package ui

import (
	"net/http"
	"strconv"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/reply/welcome"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// WelcomePages are the Welcome messages tab of the preferences: an
// agent's personal welcome messages, each for some of the WhatsApp
// numbers they work, with its switch; edited and deleted only while off.
type WelcomePages struct {
	Prefs   *PrefsPages
	Welcome *welcome.Store
	DB      *db.DB
}

// welcomeView is what the tab shows.
type welcomeView struct {
	Items   []welcomeItem
	Numbers []welcome.Number
	// The form: the message edited (ID 0 for a new one), its numbers and
	// its content.
	ID      int64
	Enabled bool
	Chosen  []int64
	Form    *MessageForm
}

// welcomeItem is a welcome message in the list.
type welcomeItem struct {
	W       welcome.Welcome
	Numbers []string
	// Gone are its numbers the agent no longer works (it is not sent
	// there).
	Gone []string
	Form *MessageForm
}

// numberName is the name of a number among those the agent works ("":
// not one of them).
func numberName(ns []welcome.Number, id int64) string {
	for _, n := range ns {
		if n.ID == id {
			return n.Name
		}
	}
	return ""
}

// Notices of the tab (?saved=…).
var welcomeNotices = map[string]string{
	"added":   "Your welcome message is added. Turn it on to send it.",
	"saved":   "Your welcome message is saved.",
	"on":      "Your welcome message is on.",
	"off":     "Your welcome message is off.",
	"deleted": "Your welcome message is deleted.",
}

func (u *WelcomePages) page(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, tab string, v *welcomeView, d PageData) error {
	ctx := r.Context()
	var err error
	if v.Numbers == nil {
		if v.Numbers, err = u.Welcome.Numbers(ctx, a.UserID); err != nil {
			return err
		}
	}
	if v.Form != nil {
		v.Form.Sample = u.sample(r, a, v.Numbers)
	}
	pv := prefsView{Welcome: v, Notice: welcomeNotices[r.URL.Query().Get("saved")]}
	return u.Prefs.prefsPage(w, r, a, status, tab, pv, d)
}

// sample fills the preview's variables: a made-up customer, the agent's
// public name, their first number.
func (u *WelcomePages) sample(r *http.Request, a policy.Actor, ns []welcome.Number) reply.Vars {
	v := reply.Vars{ContactName: "Alex Smith"}
	if me, err := u.Prefs.Users.Get(r.Context(), a.UserID); err == nil {
		v.AgentPublicName = me.PublicName
	}
	if len(ns) > 0 {
		v.InboxName = ns[0].Name
	}
	return v
}

// List shows the agent's welcome messages.
func (u *WelcomePages) List(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.list(w, r, a, http.StatusOK, "")
}

func (u *WelcomePages) list(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, problemMsg string) error {
	ws, err := u.Welcome.List(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	v := &welcomeView{}
	if v.Numbers, err = u.Welcome.Numbers(r.Context(), a.UserID); err != nil {
		return err
	}
	var all []int64
	for _, x := range ws {
		all = append(all, x.InboxIDs...)
	}
	names, err := u.Prefs.Names.Get(r.Context(), nil, all)
	if err != nil {
		return err
	}
	for _, x := range ws {
		it := welcomeItem{W: x, Form: NewMessageForm("message", x.Message, x.Attachment)}
		for _, id := range x.InboxIDs {
			// A number the agent no longer works keeps its name, and says so.
			if n := numberName(v.Numbers, id); n != "" {
				it.Numbers = append(it.Numbers, n)
			} else {
				it.Gone = append(it.Gone, names.Inbox(id))
			}
		}
		v.Items = append(v.Items, it)
	}
	return u.page(w, r, a, status, "welcome", v, PageData{Error: problemMsg})
}

// New shows the form of a new welcome message.
func (u *WelcomePages) New(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.page(w, r, a, http.StatusOK, "welcome_form", &welcomeView{Form: NewMessageForm("message", reply.Message{Kind: reply.Text}, nil)}, PageData{})
}

// Edit shows the form of a welcome message (read-only while it is on).
func (u *WelcomePages) Edit(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return welcome.ErrNotFound
	}
	x, err := u.Welcome.Get(r.Context(), a.UserID, id)
	if err != nil {
		return err
	}
	v := &welcomeView{ID: x.ID, Enabled: x.Enabled, Chosen: x.InboxIDs, Form: NewMessageForm("message", x.Message, x.Attachment)}
	return u.page(w, r, a, http.StatusOK, "welcome_form", v, PageData{})
}

// readWelcome reads the form: the numbers chosen and the message (whose
// file may be the one the welcome message keeps: kept).
func (u *WelcomePages) readWelcome(r *http.Request, a policy.Actor, kept int64) (problem.Fields, []int64, reply.Message, *MessageForm, error) {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return nil, nil, reply.Message{}, nil, err
	}
	var ids []int64
	for _, s := range r.PostForm["inbox_ids"] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	m, f, problems := ReadMessage(r.PostForm, "message", Files(r.Context(), u.DB, a.UserID, kept))
	for k, v := range problems {
		fields.Add(k, "%s", v)
	}
	return fields, ids, m, f, nil
}

// refused shows the form again with the problems of err.
func (u *WelcomePages) refused(w http.ResponseWriter, r *http.Request, a policy.Actor, v *welcomeView, err error) error {
	p, ok := problem.As(err)
	if !ok {
		return err
	}
	status, _, _ := httpx.Classify(p, "")
	d := PageData{}
	if len(p.Fields) > 0 {
		d.Fields = p.Fields
		v.Form.SetProblems(p.Fields)
	} else {
		d.Error = p.Message
	}
	return u.page(w, r, a, status, "welcome_form", v, d)
}

// Create adds a welcome message from the form.
func (u *WelcomePages) Create(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, ids, m, f, err := u.readWelcome(r, a, 0)
	if err != nil {
		return err
	}
	v := &welcomeView{Chosen: ids, Form: f}
	if err := fields.Err(); err != nil {
		return u.refused(w, r, a, v, err)
	}
	if _, err := u.Welcome.Create(r.Context(), a, welcome.New{InboxIDs: ids, Message: m}); err != nil {
		return u.refused(w, r, a, v, err)
	}
	http.Redirect(w, r, "/preferences/welcome-messages?saved=added", http.StatusSeeOther)
	return nil
}

// Save changes a welcome message that is off from the form.
func (u *WelcomePages) Save(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return welcome.ErrNotFound
	}
	cur, err := u.Welcome.Get(r.Context(), a.UserID, id)
	if err != nil {
		return err
	}
	fields, ids, m, f, err := u.readWelcome(r, a, cur.Message.AttachmentID)
	if err != nil {
		return err
	}
	v := &welcomeView{ID: id, Chosen: ids, Form: f}
	if err := fields.Err(); err != nil {
		return u.refused(w, r, a, v, err)
	}
	if _, err := u.Welcome.Update(r.Context(), a, id, welcome.Patch{InboxIDs: &ids, Message: &m}); err != nil {
		if x, gerr := u.Welcome.Get(r.Context(), a.UserID, id); gerr == nil {
			v.Enabled = x.Enabled
		}
		return u.refused(w, r, a, v, err)
	}
	http.Redirect(w, r, "/preferences/welcome-messages?saved=saved", http.StatusSeeOther)
	return nil
}

// Switch turns a welcome message on or off (enabled=1 or not).
func (u *WelcomePages) Switch(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return welcome.ErrNotFound
	}
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	on := r.PostForm.Get("enabled") == "1"
	if _, err := u.Welcome.Update(r.Context(), a, id, welcome.Patch{Enabled: &on}); err != nil {
		if p, ok := problem.As(err); ok && p.Kind != problem.KindNotFound {
			status, _, _ := httpx.Classify(p, "")
			return u.list(w, r, a, status, p.Message)
		}
		return err
	}
	saved := "off"
	if on {
		saved = "on"
	}
	http.Redirect(w, r, "/preferences/welcome-messages?saved="+saved, http.StatusSeeOther)
	return nil
}

// Delete removes a welcome message that is off.
func (u *WelcomePages) Delete(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return welcome.ErrNotFound
	}
	if err := u.Welcome.Delete(r.Context(), a, id); err != nil {
		if p, ok := problem.As(err); ok && p.Kind != problem.KindNotFound {
			status, _, _ := httpx.Classify(p, "")
			return u.list(w, r, a, status, p.Message)
		}
		return err
	}
	http.Redirect(w, r, "/preferences/welcome-messages?saved=deleted", http.StatusSeeOther)
	return nil
}
