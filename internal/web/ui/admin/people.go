package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/switchboardhq/switchboard/internal/account"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
	"github.com/switchboardhq/switchboard/internal/web/ui"
)

// People are the admin pages of people: users, invitations, teams,
// security, changes of address, password resets.
type People struct {
	Accounts     *account.Service
	Catalog      *i18n.Catalog
	EmailChanges *emailchange.Service
	Factors      *auth.Factors
	Inboxes      *inbox.Store
	Invites      *invite.Service
	Langs        *httpx.Languages
	MailToLog    bool
	Names        *httpx.NameCache
	Resets       *auth.Resets
	Shown        ui.Shown
	Teams        *team.Store
	Pages        *ui.Renderer
	Users        *user.Store
}

// Admin pages of people: invitations, teams, the security setting and
// an inbox's automatic assignment.

// ---- Invitations ----

type invitationRow struct {
	invite.Invitation
	RoleName string
	Inboxes  []string
	By       string
}

type invitationsView struct {
	Rows     []invitationRow
	Roles    []ui.RoleChoice
	Inboxes  []inbox.Inbox
	Chosen   []int64 // inboxes ticked on the form
	Notice   string
	Required bool
	// Logged is the invitation just sent when its mail went to the log.
	Logged *shownInvitation
}

func (u *People) renderInvitations(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, v invitationsView, d ui.PageData) error {
	list, err := u.Invites.List(r.Context())
	if err != nil {
		return err
	}
	n, err := u.Names.Fresh(r.Context())
	if err != nil {
		return err
	}
	for _, inv := range list {
		row := invitationRow{Invitation: inv, RoleName: ui.RoleName(inv.Role), By: n.User(inv.InvitedBy)}
		for _, id := range inv.InboxIDs {
			row.Inboxes = append(row.Inboxes, n.Inbox(id))
		}
		v.Rows = append(v.Rows, row)
	}
	if v.Inboxes, err = u.Inboxes.List(r.Context(), a); err != nil {
		return err
	}
	v.Roles = ui.RoleChoices
	if v.Chosen == nil {
		v.Chosen = []int64{}
	}
	if d.Form == nil {
		d.Form = map[string]string{"role": string(policy.Service)}
	}
	d.Title, d.Actor, d.Data = "Invitations", a, v
	return u.Pages.Render(w, r, status, "admin_invitations", d)
}

var invitationNotices = map[string]string{
	"sent":    "Invitation sent.",
	"resent":  "Invitation sent again, with a new link; the previous link no longer works.",
	"revoked": "Invitation revoked: its link no longer works.",
	"logged":  "No mail server is configured: the invitation mail went to the server log.",
}

func (u *People) AdminInvitations(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v := invitationsView{Notice: invitationNotices[r.URL.Query().Get("done")]}
	var shown shownInvitation
	if ok, err := u.Shown.Take(r, a, ui.FlashInvitation, &shown); err != nil {
		return err
	} else if ok {
		v.Logged = &shown
		w.Header().Set("Cache-Control", "no-store")
	}
	return u.renderInvitations(w, r, a, http.StatusOK, v, ui.PageData{})
}

func (u *People) Invite(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{"email": r.PostForm.Get("email"), "role": r.PostForm.Get("role")}
	ids := formIDs(r, "inbox_ids", fields)
	me, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	var inv invite.Invitation
	err = fields.Err()
	if err == nil {
		inv, err = u.Invites.Create(r.Context(), invite.NewInvitation{Email: form["email"], Role: policy.Role(form["role"]), InboxIDs: ids}, me)
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		if fields["role"] != "" {
			fields["role"] = "Choose a role."
		}
		return u.renderInvitations(w, r, a, http.StatusUnprocessableEntity, invitationsView{Chosen: ids}, ui.PageData{Fields: fields, Form: form})
	} else if err != nil {
		return err
	}
	return u.invitationSent(w, r, a, inv, "sent")
}

// invitationSent redirects to the list saying the invitation was sent.
// Without a mail server the mail went to the server log: the admin who
// sent it is then given its link to pass on, on the next page only.
func (u *People) invitationSent(w http.ResponseWriter, r *http.Request, a policy.Actor, inv invite.Invitation, done string) error {
	if !u.MailToLog {
		http.Redirect(w, r, "/admin/invitations?done="+done, http.StatusSeeOther)
		return nil
	}
	return u.Shown.Redirect(w, r, a, ui.FlashInvitation, shownInvitation{Email: inv.Email, Link: inv.Link}, "/admin/invitations?done=logged")
}

// shownInvitation is an invitation link kept for the page after sending
// it, when no mail server is configured.
type shownInvitation struct {
	Email string `json:"email"`
	Link  string `json:"link"`
}

func (u *People) ResendInvitation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return invite.ErrNotFound
	}
	me, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	inv, err := u.Invites.Resend(r.Context(), id, me)
	if err != nil {
		if p, ok := problem.As(err); ok && p.Kind == problem.KindConflict {
			return u.renderInvitations(w, r, a, http.StatusConflict, invitationsView{}, ui.PageData{Error: p.Message})
		}
		return err
	}
	return u.invitationSent(w, r, a, inv, "resent")
}

func (u *People) RevokeInvitation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return invite.ErrNotFound
	}
	if err := u.Invites.Revoke(r.Context(), id); err != nil {
		if p, ok := problem.As(err); ok && p.Kind == problem.KindConflict {
			return u.renderInvitations(w, r, a, http.StatusConflict, invitationsView{}, ui.PageData{Error: p.Message})
		}
		return err
	}
	http.Redirect(w, r, "/admin/invitations?done=revoked", http.StatusSeeOther)
	return nil
}

// SaveSecurity turns on or off the requirement of two-factor
// authentication for everyone (on the users page).
func (u *People) SaveSecurity(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	if err := u.Factors.SetRequired(r.Context(), r.PostForm.Get("require_two_factor") != ""); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/users?security=1", http.StatusSeeOther)
	return nil
}

// ---- Teams ----

type teamRow struct {
	team.Team
	Members []string
}

type teamsView struct {
	Rows  []teamRow
	Team  team.Team // the team being edited (ID 0 on the list)
	Users []user.User
	// Chosen are the members ticked on the form.
	Chosen []int64
	Notice string
}

func (u *People) renderTeams(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, v teamsView, d ui.PageData) error {
	ts, err := u.Teams.List(r.Context())
	if err != nil {
		return err
	}
	n, err := u.Names.Fresh(r.Context())
	if err != nil {
		return err
	}
	for _, t := range ts {
		row := teamRow{Team: t}
		for _, id := range t.MemberIDs {
			row.Members = append(row.Members, n.User(&id))
		}
		v.Rows = append(v.Rows, row)
	}
	if v.Users, err = u.Users.List(r.Context()); err != nil {
		return err
	}
	if v.Chosen == nil {
		v.Chosen = []int64{}
	}
	if d.Form == nil {
		d.Form = map[string]string{}
	}
	page, title := "admin_teams", "Teams"
	if v.Team.ID != 0 {
		page, title = "admin_team", v.Team.Name
	}
	d.Title, d.Actor, d.Data = title, a, v
	return u.Pages.Render(w, r, status, page, d)
}

func (u *People) AdminTeams(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v := teamsView{}
	switch r.URL.Query().Get("done") {
	case "created":
		v.Notice = "Team created."
	case "deleted":
		v.Notice = "Team deleted."
	}
	return u.renderTeams(w, r, a, http.StatusOK, v, ui.PageData{})
}

func (u *People) CreateTeam(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{"name": r.PostForm.Get("name")}
	ids := formIDs(r, "member_ids", fields)
	err = fields.Err()
	if err == nil {
		_, err = u.Teams.Create(r.Context(), team.NewTeam{Name: form["name"], MemberIDs: ids})
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.renderTeams(w, r, a, http.StatusUnprocessableEntity, teamsView{Chosen: ids}, ui.PageData{Fields: fields, Form: form})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/teams?done=created", http.StatusSeeOther)
	return nil
}

func (u *People) adminTeam(r *http.Request) (team.Team, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return team.Team{}, team.ErrNotFound
	}
	return u.Teams.Get(r.Context(), id)
}

func (u *People) EditTeam(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	t, err := u.adminTeam(r)
	if err != nil {
		return err
	}
	v := teamsView{Team: t, Chosen: t.MemberIDs}
	if r.URL.Query().Get("saved") == "1" {
		v.Notice = "Saved."
	}
	return u.renderTeams(w, r, a, http.StatusOK, v, ui.PageData{Form: map[string]string{"name": t.Name}})
}

func (u *People) UpdateTeam(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	t, err := u.adminTeam(r)
	if err != nil {
		return err
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{"name": r.PostForm.Get("name")}
	ids := formIDs(r, "member_ids", fields)
	err = fields.Err()
	if err == nil {
		_, err = u.Teams.Update(r.Context(), t.ID, team.Patch{Name: new(form["name"]), MemberIDs: &ids})
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.renderTeams(w, r, a, http.StatusUnprocessableEntity, teamsView{Team: t, Chosen: ids}, ui.PageData{Fields: fields, Form: form})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/teams/"+strconv.FormatInt(t.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

func (u *People) DeleteTeam(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	t, err := u.adminTeam(r)
	if err != nil {
		return err
	}
	if err := u.Teams.Delete(r.Context(), t.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/teams?done=deleted", http.StatusSeeOther)
	return nil
}

// ---- An inbox's automatic assignment ----

// ---- A user's email address ----

// emailNotices say what became of a change of address (?email=…).
var emailNotices = map[string]string{
	"sent":      "A confirmation link is on its way to the new address. The address changes when the link is opened and confirmed.",
	"cancelled": "The change of address is cancelled: its link no longer works.",
}

// RequestEmailChange mails a confirmation link to the new address of the
// user of the path (on the user's page).
func (u *People) RequestEmailChange(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	me, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	if err = fields.Err(); err == nil {
		_, err = u.EmailChanges.Request(r.Context(), usr.ID, emailchange.Request{Email: email}, me)
	}
	if p, ok := problem.As(err); ok && len(p.Fields) > 0 {
		f := userForm{User: usr, Email: usr.Email, FirstName: usr.FirstName, LastName: usr.LastName, Role: usr.Role, Inboxes: usr.InboxIDs, NewEmail: email}
		return u.renderUserForm(w, r, a, http.StatusUnprocessableEntity, f, p.Fields)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(usr.ID, 10)+"?email=sent", http.StatusSeeOther)
	return nil
}

func (u *People) CancelEmailChange(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	if err := u.EmailChanges.Cancel(r.Context(), usr.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(usr.ID, 10)+"?email=cancelled", http.StatusSeeOther)
	return nil
}

// SendReset mails the user of the path a reset link (from their admin
// page).
func (u *People) SendReset(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	by, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	if err := u.Resets.Send(r.Context(), usr.ID, by); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/users/%d?done=reset", usr.ID), http.StatusSeeOther)
	return nil
}

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

func (u *People) AdminUsers(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	us, err := u.Users.List(r.Context())
	if err != nil {
		return err
	}
	n, err := u.Names.Fresh(r.Context())
	if err != nil {
		return err
	}
	p := usersPage{Users: make([]userRow, len(us)), SecuritySaved: r.URL.Query().Get("security") == "1"}
	if p.RequireTwoFactor, err = u.Factors.Required(r.Context()); err != nil {
		return err
	}
	created, _ := strconv.ParseInt(r.URL.Query().Get("created"), 10, 64)
	for i, x := range us {
		p.Users[i] = userRow{User: x, RoleName: ui.RoleName(x.Role)}
		for _, id := range x.InboxIDs {
			p.Users[i].Inboxes = append(p.Users[i].Inboxes, n.Inbox(id))
		}
		if x.ID == created {
			p.Created = x.Name
		}
	}
	return u.Pages.Render(w, r, http.StatusOK, "admin_users", ui.PageData{Title: "Users", Actor: a, Data: p})
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
	Roles     []ui.RoleChoice
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

func (u *People) renderUserForm(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, f userForm, fields map[string]string) error {
	ins, err := u.Inboxes.List(r.Context(), a)
	if err != nil {
		return err
	}
	f.All, f.Roles = ins, ui.RoleChoices
	f.Self = f.User.ID == a.UserID
	title := "New user"
	if f.User.ID != 0 {
		title = f.User.Name
		switch c, err := u.EmailChanges.Pending(r.Context(), f.User.ID); {
		case err == nil:
			f.EmailChange = &c
		case !errors.Is(err, emailchange.ErrNotFound):
			return err
		}
	}
	return u.Pages.Render(w, r, status, "admin_user", ui.PageData{Title: title, Actor: a, Fields: fields, Data: f})
}

func (u *People) NewUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.renderUserForm(w, r, a, http.StatusOK, userForm{Role: policy.Service, Inboxes: []int64{}}, nil)
}

func (u *People) CreateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	f := userForm{Email: r.PostForm.Get("email"), FirstName: r.PostForm.Get("first_name"), LastName: r.PostForm.Get("last_name"),
		Role: policy.Role(r.PostForm.Get("role")), Inboxes: formIDs(r, "inbox_ids", fields)}
	var nu user.User
	err = fields.Err()
	if err == nil {
		nu, err = u.Users.Create(r.Context(), user.NewUser{Email: f.Email, FirstName: f.FirstName, LastName: f.LastName, Role: f.Role,
			Password: r.PostForm.Get("password"), InboxIDs: f.Inboxes})
	}
	if p, ok := problem.As(err); ok && p.Fields["first_name"] == "" && p.Fields["name"] != "" {
		// The form has the name in parts: no whole name was given.
		p.Fields["first_name"] = "Enter a first name."
		delete(p.Fields, "name")
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.renderUserForm(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/users?created="+strconv.FormatInt(nu.ID, 10), http.StatusSeeOther)
	return nil
}

func (u *People) adminUser(r *http.Request) (user.User, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return user.User{}, problem.NotFound("User")
	}
	usr, err := u.Users.Get(r.Context(), id)
	if err != nil {
		return usr, problem.NotFound("User")
	}
	return usr, nil
}

func (u *People) EditUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
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
		f.Notice = u.Catalog.Tf(u.Langs.Of(r, a), "Deactivated: signed out everywhere, %d API tokens revoked, %d open conversations returned to routing.", revoked, released)
	case "reset":
		f.Notice = u.Catalog.Tf(u.Langs.Of(r, a), "A link to choose a new password was mailed to %s. It works once, for an hour.", usr.Email)
	case "reactivated":
		f.Notice = u.Catalog.T(u.Langs.Of(r, a), "Reactivated: they can sign in again with their password.")
	}
	return u.renderUserForm(w, r, a, http.StatusOK, f, nil)
}

func (u *People) UpdateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	fields, err := httpx.ReadForm(r)
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
		_, err = u.Users.Update(r.Context(), usr.ID, user.Patch{FirstName: &f.FirstName, LastName: &f.LastName, Role: &f.Role, InboxIDs: &f.Inboxes})
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.renderUserForm(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	u.Names.Forget()
	// Someone who removed their own admin role can no longer see this page.
	if usr.ID == a.UserID && f.Role != policy.Admin {
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(usr.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

// DeactivateUser deactivates the user of the path (see account.Deactivate).
func (u *People) DeactivateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	out, err := u.Accounts.Deactivate(r.Context(), usr.ID, a.UserID)
	if p, ok := problem.As(err); ok && p.Kind == problem.KindConflict {
		f := userForm{User: usr, Email: usr.Email, FirstName: usr.FirstName, LastName: usr.LastName, Role: usr.Role, Inboxes: usr.InboxIDs}
		return u.renderUserForm(w, r, a, http.StatusConflict, f, map[string]string{"form": p.Message})
	} else if err != nil {
		return err
	}
	u.Names.Forget()
	http.Redirect(w, r, fmt.Sprintf("/admin/users/%d?done=deactivated&released=%d&revoked=%d", usr.ID, out.ConversationsReleased, out.APITokensRevoked), http.StatusSeeOther)
	return nil
}

// ReactivateUser lets the user of the path sign in again.
func (u *People) ReactivateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	if _, err := u.Accounts.Reactivate(r.Context(), usr.ID); err != nil {
		if p, ok := problem.As(err); !ok || p.Kind != problem.KindConflict {
			return err
		}
	}
	u.Names.Forget()
	http.Redirect(w, r, fmt.Sprintf("/admin/users/%d?done=reactivated", usr.ID), http.StatusSeeOther)
	return nil
}
