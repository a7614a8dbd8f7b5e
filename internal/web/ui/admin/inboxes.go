// Package admin is the administrators' pages of the agent workspace:
// inboxes (WhatsApp numbers among them) and their automatic assignment
// (Inboxes), users, invitations, teams, security settings and changes of
// address (People). They render through the workspace's ui.Renderer, with
// its templates; package web builds them and registers their routes.
package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
	"github.com/switchboardhq/switchboard/internal/web/ui"
)

// Inboxes are the admin pages of inboxes (WhatsApp numbers among them)
// and their automatic assignment.
type Inboxes struct {
	BaseURL  *url.URL
	Catalog  *i18n.Catalog
	Convs    *conversation.Service
	Inboxes  *inbox.Store
	Langs    *httpx.Languages
	Names    *httpx.NameCache
	Shown    ui.Shown
	Pages    *ui.Renderer
	Routing  *routing.Service
	Users    *user.Store
	Webchat  *webchat.Service
	WhatsApp *whatsapp.Service
}

// formIDs reads a multi-valued form field of ids; values that are not ids
// are reported in field.
func formIDs(r *http.Request, name string, f problem.Fields) []int64 {
	ids := []int64{}
	for _, v := range r.PostForm[name] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.Add(name, "Choose from the list.")
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// ---- Inboxes ----

// inboxRow is an inbox in the admin list.
type inboxRow struct {
	inbox.Inbox
	// WhatsApp is a WhatsApp inbox's number, nil for other inboxes.
	WhatsApp *whatsapp.Settings
	Members  []string
}

func (u *Inboxes) AdminInboxes(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ins, err := u.Inboxes.List(r.Context(), a)
	if err != nil {
		return err
	}
	n, err := u.Names.Fresh(r.Context())
	if err != nil {
		return err
	}
	rows := make([]inboxRow, len(ins))
	for i, in := range ins {
		rows[i] = inboxRow{Inbox: in}
		if set, err := whatsapp.SettingsOf(in); err == nil {
			rows[i].WhatsApp = &set
		}
		for _, id := range in.MemberIDs {
			rows[i].Members = append(rows[i].Members, n.User(&id))
		}
	}
	d := ui.PageData{Title: "Inboxes", Actor: a, Data: rows, Form: map[string]string{}}
	if r.URL.Query().Get("welcome") == "admin" { // the first admin, just set up
		d.Notice = ui.Notices["admin"]
	}
	if q := r.URL.Query(); q.Get("done") == "archived" {
		closed, _ := strconv.Atoi(q.Get("closed"))
		d.Form["done"] = u.Catalog.Tf(u.Langs.Of(r, a), "Inbox archived: %d open conversations were closed.", closed)
	}
	return u.Pages.Render(w, r, http.StatusOK, "admin_inboxes", d)
}

// inboxForm is the create and edit form of an inbox.
type inboxForm struct {
	Inbox           inbox.Inbox // ID 0 when new
	Name            string
	Greeting        string
	Color           string
	Origins         string
	RequireIdentity bool
	PreChatForm     bool
	Members         []int64
	Users           []user.User
	Saved           bool
	Snippet         string
}

func (u *Inboxes) inboxForm(r *http.Request, f *inboxForm) error {
	us, err := u.Users.List(r.Context())
	f.Users = us
	return err
}

func (u *Inboxes) renderInboxForm(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, f inboxForm, fields map[string]string) error {
	if err := u.inboxForm(r, &f); err != nil {
		return err
	}
	title := "New web chat inbox"
	if f.Inbox.ID != 0 {
		title = f.Inbox.Name
		f.Snippet = httpx.WidgetSnippet(u.BaseURL, f.Inbox)
	}
	return u.Pages.Render(w, r, status, "admin_inbox", ui.PageData{Title: title, Actor: a, Fields: fields, Data: f})
}

func (u *Inboxes) NewInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.renderInboxForm(w, r, a, http.StatusOK, inboxForm{Color: "#2563eb"}, nil)
}

// readInboxForm reads the posted form; settings are web chat settings.
func readInboxForm(r *http.Request, f *inboxForm, fields problem.Fields) *webchat.Settings {
	f.Name = r.PostForm.Get("name")
	f.Greeting = r.PostForm.Get("greeting")
	f.Color = strings.TrimSpace(r.PostForm.Get("color"))
	f.Origins = r.PostForm.Get("allowed_origins")
	f.RequireIdentity = r.PostForm.Get("require_identity") != ""
	f.PreChatForm = r.PostForm.Get("pre_chat_form") != ""
	f.Members = formIDs(r, "member_ids", fields)
	origins := []string{}
	for _, o := range strings.FieldsFunc(f.Origins, func(c rune) bool { return c == '\n' || c == '\r' || c == ',' || c == ' ' }) {
		origins = append(origins, o)
	}
	return &webchat.Settings{RequireIdentity: f.RequireIdentity, Greeting: strings.TrimSpace(f.Greeting), Color: f.Color, AllowedOrigins: origins,
		PreChatForm: f.PreChatForm}
}

// createdInboxPage shows what is shown once: the snippet and the secret.
type createdInboxPage struct {
	Inbox   inbox.Inbox
	Secret  string
	Snippet string
	Rotated bool
}

func (u *Inboxes) CreateInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	var f inboxForm
	settings := readInboxForm(r, &f, fields)
	var in inbox.Inbox
	var secret string
	err = fields.Err()
	if err == nil {
		in, secret, err = u.Inboxes.Create(r.Context(), inbox.NewInbox{Type: webchat.Type, Name: f.Name,
			Settings: map[inbox.Type]any{webchat.Type: settings}, MemberIDs: f.Members})
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.renderInboxForm(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	u.Names.Forget()
	return u.Shown.Redirect(w, r, a, ui.FlashInboxSecret, shownSecret{Secret: secret}, inboxPath(in.ID)+"/created")
}

// shownSecret is the identity secret kept for the page after creating an
// inbox or replacing its secret.
type shownSecret struct {
	Secret  string `json:"secret"`
	Rotated bool   `json:"rotated"`
}

func inboxPath(id int64) string { return "/admin/inboxes/" + strconv.FormatInt(id, 10) }

// CreatedInbox shows, once, the identity secret of an inbox just created
// (with its snippet) or just given a new secret. Reloaded, it goes to the
// inbox's page: the secret is not shown again, and nothing is created.
func (u *Inboxes) CreatedInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	var v shownSecret
	if ok, err := u.Shown.Take(r, a, ui.FlashInboxSecret, &v); err != nil {
		return err
	} else if !ok {
		http.Redirect(w, r, inboxPath(in.ID), http.StatusSeeOther)
		return nil
	}
	title := in.Name + " created"
	if v.Rotated {
		title = in.Name + ": new secret"
	}
	w.Header().Set("Cache-Control", "no-store")
	return u.Pages.Render(w, r, http.StatusOK, "admin_inbox_secret", ui.PageData{Title: title, Actor: a,
		Data: createdInboxPage{Inbox: in, Secret: v.Secret, Snippet: httpx.WidgetSnippet(u.BaseURL, in), Rotated: v.Rotated}})
}

// adminInbox loads the inbox of the path.
func (u *Inboxes) adminInbox(r *http.Request) (inbox.Inbox, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return inbox.Inbox{}, problem.NotFound("Inbox")
	}
	return u.Inboxes.Get(r.Context(), id)
}

func (u *Inboxes) EditInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	if in.Type == whatsapp.Type {
		return u.editWhatsApp(w, r, a, in)
	}
	f := inboxForm{Inbox: in, Name: in.Name, Members: in.MemberIDs, Saved: r.URL.Query().Get("saved") == "1"}
	if set, err := webchat.SettingsOf(in); err == nil {
		f.Greeting, f.Color, f.RequireIdentity = set.Greeting, set.Color, set.RequireIdentity
		f.PreChatForm = set.PreChatForm
		f.Origins = strings.Join(set.AllowedOrigins, "\n")
	}
	return u.renderInboxForm(w, r, a, http.StatusOK, f, nil)
}

func (u *Inboxes) UpdateInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	if in.Type == whatsapp.Type {
		return u.updateWhatsApp(w, r, a, in)
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	f := inboxForm{Inbox: in}
	settings := readInboxForm(r, &f, fields)
	p := inbox.Patch{Name: &f.Name, MemberIDs: &f.Members}
	if in.Type == webchat.Type {
		p.Settings = map[inbox.Type]any{webchat.Type: settings}
	}
	err = fields.Err()
	if err == nil {
		_, _, err = u.Inboxes.Update(r.Context(), in.ID, p)
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.renderInboxForm(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	u.Names.Forget()
	http.Redirect(w, r, "/admin/inboxes/"+strconv.FormatInt(in.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

func (u *Inboxes) RotateInboxSecret(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	secret, err := u.Webchat.RotateSecret(r.Context(), in.ID)
	if err != nil {
		return err
	}
	return u.Shown.Redirect(w, r, a, ui.FlashInboxSecret, shownSecret{Secret: secret, Rotated: true}, inboxPath(in.ID)+"/created")
}

// ---- Users ----

// ArchiveInbox archives the inbox of the path (see
// conversation.ArchiveInbox).
func (u *Inboxes) ArchiveInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	closed, err := httpx.ArchiveInbox(r, u.Convs, u.WhatsApp, in)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/inboxes?done=archived&closed=%d", closed), http.StatusSeeOther)
	return nil
}

// assignmentView is an inbox's Assignment page: its rules, its default
// reception limit and its members with their own limits.
type assignmentView struct {
	Inbox    inbox.Inbox
	Settings routing.Settings
	Rules    []routing.Rule
	Members  []memberLimit
	// ReturnOn shows the return of unanswered conversations switched on.
	ReturnOn bool
	Saved    bool
}

// memberLimit is a member of the inbox with their own limit as the form
// shows it ("" for the inbox's default).
type memberLimit struct {
	User      user.User
	Limit     string
	Effective int
}

func (u *Inboxes) assignmentView(r *http.Request, in inbox.Inbox) (assignmentView, error) {
	v := assignmentView{Inbox: in, Rules: routing.Rules}
	st, err := u.Routing.Settings(r.Context(), in.ID)
	if err != nil {
		return v, err
	}
	v.Settings, v.ReturnOn = st, st.ReturnAfterMinutes > 0
	limits, err := u.Routing.Limits(r.Context(), in.ID)
	if err != nil {
		return v, err
	}
	us, err := u.Users.List(r.Context())
	if err != nil {
		return v, err
	}
	byID := map[int64]user.User{}
	for _, x := range us {
		byID[x.ID] = x
	}
	for _, l := range limits {
		x, ok := byID[l.UserID]
		if !ok {
			continue
		}
		m := memberLimit{User: x, Effective: l.Effective}
		if l.Limit != nil {
			m.Limit = strconv.Itoa(*l.Limit)
		}
		v.Members = append(v.Members, m)
	}
	return v, nil
}

func (u *Inboxes) AssignmentPage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	v, err := u.assignmentView(r, in)
	if err != nil {
		return err
	}
	v.Saved = r.URL.Query().Get("saved") == "1"
	return u.Pages.Render(w, r, http.StatusOK, "admin_assignment", ui.PageData{Title: "Assignment", Actor: a, Data: v})
}

// formInt reads a whole number from field name of the posted form ("" is
// def); what is not one is reported in f.
func formInt(r *http.Request, name string, def int, f problem.Fields) int {
	s := strings.TrimSpace(r.PostForm.Get(name))
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f.Add(name, "Enter a whole number.")
		return def
	}
	return n
}

// SaveAssignment saves the rules, the default limit and the members' own
// limits of the form; nothing is written while a field is refused.
func (u *Inboxes) SaveAssignment(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	v, err := u.assignmentView(r, in)
	if err != nil {
		return err
	}
	on := func(name string) bool { return r.PostForm.Get(name) != "" }
	st := routing.Settings{
		Rule:     routing.Rule(r.PostForm.Get("rule")),
		Advanced: on("advanced"),
		Owner: routing.Preference{On: on("owner.on"), OnlyAvailable: on("owner.only_available"),
			WaitMinutes: formInt(r, "owner.wait_minutes", 0, fields)},
		Previous: routing.Preference{On: on("previous_agent.on"), OnlyAvailable: on("previous_agent.only_available"),
			WaitMinutes: formInt(r, "previous_agent.wait_minutes", 0, fields)},
		DefaultLimit: formInt(r, "default_limit", 0, fields),
	}
	if !slices.Contains(routing.Rules, st.Rule) {
		fields.Add("rule", "Choose one of none, available_in_turn, all_in_turn, least_busy.")
	}
	if st.DefaultLimit < 0 || st.DefaultLimit > routing.MaxLimit {
		fields.Add("default_limit", "A limit is from 0 (none) to %d.", routing.MaxLimit)
	}
	v.ReturnOn = on("return_unanswered")
	if v.ReturnOn {
		st.ReturnAfterMinutes = formInt(r, "return_unanswered_after_minutes", 0, fields)
		if st.ReturnAfterMinutes <= 0 && fields["return_unanswered_after_minutes"] == "" {
			fields.Add("return_unanswered_after_minutes", "Enter after how many minutes (1 or more).")
		}
	}
	// The members' own limits: "" is the inbox's default.
	limits := map[int64]*int{}
	for i := range v.Members {
		m := &v.Members[i]
		name := "limit." + strconv.FormatInt(m.User.ID, 10)
		m.Limit = strings.TrimSpace(r.PostForm.Get(name))
		if m.Limit == "" {
			limits[m.User.ID] = nil
			continue
		}
		n := formInt(r, name, 0, fields)
		if n < 0 || n > routing.MaxLimit {
			fields.Add(name, "A limit is from 0 (none) to %d.", routing.MaxLimit)
		}
		limits[m.User.ID] = &n
	}
	v.Settings = st
	err = fields.Err()
	if err == nil {
		_, err = u.Routing.SetSettings(r.Context(), in.ID, routing.Patch{Rule: &st.Rule, Advanced: &st.Advanced, Owner: &st.Owner,
			Previous: &st.Previous, DefaultLimit: &st.DefaultLimit, ReturnAfterMinutes: &st.ReturnAfterMinutes})
	}
	if err == nil {
		for _, m := range v.Members {
			if err = u.limit(r, in.ID, m.User.ID, limits[m.User.ID]); err != nil {
				break
			}
		}
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "admin_assignment", ui.PageData{Title: "Assignment", Actor: a, Fields: fields, Data: v})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, inboxPath(in.ID)+"/assignment?saved=1", http.StatusSeeOther)
	return nil
}

// limit sets a member's own limit, answering its problem under the
// member's field; a member who left meanwhile is skipped.
func (u *Inboxes) limit(r *http.Request, inboxID, userID int64, l *int) error {
	_, err := u.Routing.SetLimit(r.Context(), inboxID, userID, l)
	if p, ok := problem.As(err); ok {
		switch p.Kind {
		case problem.KindNotFound:
			return nil
		case problem.KindInvalid:
			msg := p.Fields["limit"]
			if msg == "" {
				msg = p.Message
			}
			return problem.Invalid("limit."+strconv.FormatInt(userID, 10), "%s", msg)
		}
	}
	return err
}
