package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// roleChoice describes a role on the user form.
type roleChoice struct {
	Role policy.Role
	Name string
	Help string
}

var roleChoices = []roleChoice{
	{policy.Admin, "Admin", "Everything, including inboxes and users."},
	{policy.InboxManager, "Inbox manager", "Every conversation of every inbox; no settings."},
	{policy.Service, "Service", "Conversations of the inboxes they are a member of."},
	{policy.Sales, "Sales", "Conversations assigned to them or whose contact they own."},
}

func roleName(r policy.Role) string {
	for _, c := range roleChoices {
		if c.Role == r {
			return c.Name
		}
	}
	return string(r)
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

func (u *ui) adminInboxes(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ins, err := u.s.Inboxes.List(r.Context(), a)
	if err != nil {
		return err
	}
	n, err := u.freshNames(r.Context())
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
	d := pageData{Title: "Inboxes", Actor: a, Data: rows, Form: map[string]string{}}
	if r.URL.Query().Get("welcome") == "admin" { // the first admin, just set up
		d.Notice = notices["admin"]
	}
	if q := r.URL.Query(); q.Get("done") == "archived" {
		closed, _ := strconv.Atoi(q.Get("closed"))
		d.Form["done"] = u.s.Catalog.Tf(u.lang(r, a), "Inbox archived: %d open conversations were closed.", closed)
	}
	return u.render(w, r, http.StatusOK, "admin_inboxes", d)
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

func (u *ui) inboxForm(r *http.Request, f *inboxForm) error {
	us, err := u.s.Users.List(r.Context())
	f.Users = us
	return err
}

func (u *ui) renderInboxForm(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, f inboxForm, fields map[string]string) error {
	if err := u.inboxForm(r, &f); err != nil {
		return err
	}
	title := "New web chat inbox"
	if f.Inbox.ID != 0 {
		title = f.Inbox.Name
		f.Snippet = u.s.snippet(f.Inbox)
	}
	return u.render(w, r, status, "admin_inbox", pageData{Title: title, Actor: a, Fields: fields, Data: f})
}

func (u *ui) newInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
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

// mergeFields adds the fields of a refused change to the form's own.
func mergeFields(fields problem.Fields, err error) (problem.Fields, bool) {
	p, ok := problem.As(err)
	if !ok || p.Kind != problem.KindInvalid {
		return fields, false
	}
	for k, v := range p.Fields {
		fields.Add(k, "%s", v)
	}
	if len(fields) == 0 {
		fields.Add("form", "%s", p.Message)
	}
	return fields, true
}

// createdInboxPage shows what is shown once: the snippet and the secret.
type createdInboxPage struct {
	Inbox   inbox.Inbox
	Secret  string
	Snippet string
	Rotated bool
}

func (u *ui) createInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	var f inboxForm
	settings := readInboxForm(r, &f, fields)
	var in inbox.Inbox
	var secret string
	err = fields.Err()
	if err == nil {
		in, secret, err = u.s.Inboxes.Create(r.Context(), inbox.NewInbox{Type: webchat.Type, Name: f.Name,
			Settings: map[inbox.Type]any{webchat.Type: settings}, MemberIDs: f.Members})
	}
	if fields, ok := mergeFields(fields, err); ok {
		return u.renderInboxForm(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	u.forgetNames()
	return u.redirectShown(w, r, a, flashInboxSecret, shownSecret{Secret: secret}, inboxPath(in.ID)+"/created")
}

// shownSecret is the identity secret kept for the page after creating an
// inbox or replacing its secret.
type shownSecret struct {
	Secret  string `json:"secret"`
	Rotated bool   `json:"rotated"`
}

func inboxPath(id int64) string { return "/admin/inboxes/" + strconv.FormatInt(id, 10) }

// createdInbox shows, once, the identity secret of an inbox just created
// (with its snippet) or just given a new secret. Reloaded, it goes to the
// inbox's page: the secret is not shown again, and nothing is created.
func (u *ui) createdInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	var v shownSecret
	if ok, err := u.takeShown(r, a, flashInboxSecret, &v); err != nil {
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
	return u.render(w, r, http.StatusOK, "admin_inbox_secret", pageData{Title: title, Actor: a,
		Data: createdInboxPage{Inbox: in, Secret: v.Secret, Snippet: u.s.snippet(in), Rotated: v.Rotated}})
}

// adminInbox loads the inbox of the path.
func (u *ui) adminInbox(r *http.Request) (inbox.Inbox, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return inbox.Inbox{}, problem.NotFound("Inbox")
	}
	return u.s.Inboxes.Get(r.Context(), id)
}

func (u *ui) editInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
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

func (u *ui) updateInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	if in.Type == whatsapp.Type {
		return u.updateWhatsApp(w, r, a, in)
	}
	fields, err := readForm(r)
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
		_, _, err = u.s.Inboxes.Update(r.Context(), in.ID, p)
	}
	if fields, ok := mergeFields(fields, err); ok {
		return u.renderInboxForm(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	u.forgetNames()
	http.Redirect(w, r, "/admin/inboxes/"+strconv.FormatInt(in.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

func (u *ui) rotateInboxSecret(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	secret, err := u.s.Webchat.RotateSecret(r.Context(), in.ID)
	if err != nil {
		return err
	}
	return u.redirectShown(w, r, a, flashInboxSecret, shownSecret{Secret: secret, Rotated: true}, inboxPath(in.ID)+"/created")
}

// ---- Users ----

// userRow is a user in the admin list.
type userRow struct {
	user.User
	RoleName string
	Inboxes  []string
}

type usersPage struct {
	Users   []userRow
	Created string
	// RequireTwoFactor is the security setting (see ui_people_admin.go).
	RequireTwoFactor bool
	SecuritySaved    bool
}

func (u *ui) adminUsers(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	us, err := u.s.Users.List(r.Context())
	if err != nil {
		return err
	}
	n, err := u.freshNames(r.Context())
	if err != nil {
		return err
	}
	p := usersPage{Users: make([]userRow, len(us)), SecuritySaved: r.URL.Query().Get("security") == "1"}
	if p.RequireTwoFactor, err = u.s.Factors.Required(r.Context()); err != nil {
		return err
	}
	created, _ := strconv.ParseInt(r.URL.Query().Get("created"), 10, 64)
	for i, x := range us {
		p.Users[i] = userRow{User: x, RoleName: roleName(x.Role)}
		for _, id := range x.InboxIDs {
			p.Users[i].Inboxes = append(p.Users[i].Inboxes, n.Inbox(id))
		}
		if x.ID == created {
			p.Created = x.Name
		}
	}
	return u.render(w, r, http.StatusOK, "admin_users", pageData{Title: "Users", Actor: a, Data: p})
}

// userForm is the create and edit form of a user, and on the edit page
// the change of their address.
type userForm struct {
	User      user.User // ID 0 when new
	Email     string
	FirstName string
	LastName  string
	Role      policy.Role
	Inboxes   []int64
	Roles     []roleChoice
	All       []inbox.Inbox
	Saved     bool
	Self      bool
	// EmailChange is the change of address waiting for confirmation.
	EmailChange *emailchange.Change
	// EmailNotice says what became of a change of address.
	EmailNotice string
	// NewEmail is the address on the change form.
	NewEmail string
	// Notice says what deactivating or reactivating did (translated).
	Notice string
}

func (u *ui) renderUserForm(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, f userForm, fields map[string]string) error {
	ins, err := u.s.Inboxes.List(r.Context(), a)
	if err != nil {
		return err
	}
	f.All, f.Roles = ins, roleChoices
	f.Self = f.User.ID == a.UserID
	title := "New user"
	if f.User.ID != 0 {
		title = f.User.Name
		switch c, err := u.s.EmailChanges.Pending(r.Context(), f.User.ID); {
		case err == nil:
			f.EmailChange = &c
		case !errors.Is(err, emailchange.ErrNotFound):
			return err
		}
	}
	return u.render(w, r, status, "admin_user", pageData{Title: title, Actor: a, Fields: fields, Data: f})
}

func (u *ui) newUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.renderUserForm(w, r, a, http.StatusOK, userForm{Role: policy.Service, Inboxes: []int64{}}, nil)
}

func (u *ui) createUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	f := userForm{Email: r.PostForm.Get("email"), FirstName: r.PostForm.Get("first_name"), LastName: r.PostForm.Get("last_name"),
		Role: policy.Role(r.PostForm.Get("role")), Inboxes: formIDs(r, "inbox_ids", fields)}
	var nu user.User
	err = fields.Err()
	if err == nil {
		nu, err = u.s.Users.Create(r.Context(), user.NewUser{Email: f.Email, FirstName: f.FirstName, LastName: f.LastName, Role: f.Role,
			Password: r.PostForm.Get("password"), InboxIDs: f.Inboxes})
	}
	if p, ok := problem.As(err); ok && p.Fields["first_name"] == "" && p.Fields["name"] != "" {
		// The form has the name in parts: no whole name was given.
		p.Fields["first_name"] = "Enter a first name."
		delete(p.Fields, "name")
	}
	if fields, ok := mergeFields(fields, err); ok {
		return u.renderUserForm(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/users?created="+strconv.FormatInt(nu.ID, 10), http.StatusSeeOther)
	return nil
}

func (u *ui) adminUser(r *http.Request) (user.User, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return user.User{}, problem.NotFound("User")
	}
	usr, err := u.s.Users.Get(r.Context(), id)
	if err != nil {
		return usr, problem.NotFound("User")
	}
	return usr, nil
}

func (u *ui) editUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	f := userForm{User: usr, Email: usr.Email, FirstName: usr.FirstName, LastName: usr.LastName, Role: usr.Role, Inboxes: usr.InboxIDs,
		Saved: r.URL.Query().Get("saved") == "1", EmailNotice: emailNotices[r.URL.Query().Get("email")]}
	q := r.URL.Query()
	switch q.Get("done") {
	case "deactivated":
		released, _ := strconv.Atoi(q.Get("released"))
		revoked, _ := strconv.Atoi(q.Get("revoked"))
		f.Notice = u.s.Catalog.Tf(u.lang(r, a), "Deactivated: signed out everywhere, %d API tokens revoked, %d open conversations returned to routing.", revoked, released)
	case "reset":
		f.Notice = u.s.Catalog.Tf(u.lang(r, a), "A link to choose a new password was mailed to %s. It works once, for an hour.", usr.Email)
	case "reactivated":
		f.Notice = u.s.Catalog.T(u.lang(r, a), "Reactivated: they can sign in again with their password.")
	}
	return u.renderUserForm(w, r, a, http.StatusOK, f, nil)
}

func (u *ui) updateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	f := userForm{User: usr, Email: usr.Email, FirstName: r.PostForm.Get("first_name"), LastName: r.PostForm.Get("last_name"),
		Role: policy.Role(r.PostForm.Get("role")), Inboxes: formIDs(r, "inbox_ids", fields)}
	if !f.Role.Valid() {
		fields.Add("role", "Choose a role.")
	}
	err = fields.Err()
	if err == nil {
		_, err = u.s.Users.Update(r.Context(), usr.ID, user.Patch{FirstName: &f.FirstName, LastName: &f.LastName, Role: &f.Role, InboxIDs: &f.Inboxes})
	}
	if fields, ok := mergeFields(fields, err); ok {
		return u.renderUserForm(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	u.forgetNames()
	// Someone who removed their own admin role can no longer see this page.
	if usr.ID == a.UserID && f.Role != policy.Admin {
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(usr.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

// deactivateUser deactivates the user of the path (see account.Deactivate).
func (u *ui) deactivateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	out, err := u.s.Accounts.Deactivate(r.Context(), usr.ID, a.UserID)
	if p, ok := problem.As(err); ok && p.Kind == problem.KindConflict {
		f := userForm{User: usr, Email: usr.Email, FirstName: usr.FirstName, LastName: usr.LastName, Role: usr.Role, Inboxes: usr.InboxIDs}
		return u.renderUserForm(w, r, a, http.StatusConflict, f, map[string]string{"form": p.Message})
	} else if err != nil {
		return err
	}
	u.forgetNames()
	http.Redirect(w, r, fmt.Sprintf("/admin/users/%d?done=deactivated&released=%d&revoked=%d", usr.ID, out.ConversationsReleased, out.APITokensRevoked), http.StatusSeeOther)
	return nil
}

// reactivateUser lets the user of the path sign in again.
func (u *ui) reactivateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	if _, err := u.s.Accounts.Reactivate(r.Context(), usr.ID); err != nil {
		if p, ok := problem.As(err); !ok || p.Kind != problem.KindConflict {
			return err
		}
	}
	u.forgetNames()
	http.Redirect(w, r, fmt.Sprintf("/admin/users/%d?done=reactivated", usr.ID), http.StatusSeeOther)
	return nil
}

// archiveInbox archives the inbox of the path (see
// conversation.ArchiveInbox).
func (u *ui) archiveInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	closed, err := u.s.archiveInbox(r, in)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/inboxes?done=archived&closed=%d", closed), http.StatusSeeOther)
	return nil
}
