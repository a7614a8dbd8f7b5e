package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Admin pages of people: invitations, teams, the security setting and
// an inbox's automatic assignment.

// freshNames are the names of people and inboxes read anew: the admin
// pages list what may have changed a moment ago.
func (u *ui) freshNames(ctx context.Context) (*names, error) {
	u.forgetNames()
	return u.names(ctx, nil, nil)
}

// ---- Invitations ----

type invitationRow struct {
	invite.Invitation
	RoleName string
	Inboxes  []string
	By       string
}

type invitationsView struct {
	Rows     []invitationRow
	Roles    []roleChoice
	Inboxes  []inbox.Inbox
	Chosen   []int64 // inboxes ticked on the form
	Notice   string
	Required bool
	// Logged is the invitation just sent when its mail went to the log.
	Logged *shownInvitation
}

func (u *ui) renderInvitations(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, v invitationsView, d pageData) error {
	list, err := u.s.Invites.List(r.Context())
	if err != nil {
		return err
	}
	n, err := u.freshNames(r.Context())
	if err != nil {
		return err
	}
	for _, inv := range list {
		row := invitationRow{Invitation: inv, RoleName: roleName(inv.Role), By: n.User(inv.InvitedBy)}
		for _, id := range inv.InboxIDs {
			row.Inboxes = append(row.Inboxes, n.Inbox(id))
		}
		v.Rows = append(v.Rows, row)
	}
	if v.Inboxes, err = u.s.Inboxes.List(r.Context(), a); err != nil {
		return err
	}
	v.Roles = roleChoices
	if v.Chosen == nil {
		v.Chosen = []int64{}
	}
	if d.Form == nil {
		d.Form = map[string]string{"role": string(policy.Service)}
	}
	d.Title, d.Actor, d.Data = "Invitations", a, v
	return u.render(w, r, status, "admin_invitations", d)
}

var invitationNotices = map[string]string{
	"sent":    "Invitation sent.",
	"resent":  "Invitation sent again, with a new link; the previous link no longer works.",
	"revoked": "Invitation revoked: its link no longer works.",
	"logged":  "No mail server is configured: the invitation mail went to the server log.",
}

func (u *ui) adminInvitations(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v := invitationsView{Notice: invitationNotices[r.URL.Query().Get("done")]}
	var shown shownInvitation
	if ok, err := u.takeShown(r, a, flashInvitation, &shown); err != nil {
		return err
	} else if ok {
		v.Logged = &shown
		w.Header().Set("Cache-Control", "no-store")
	}
	return u.renderInvitations(w, r, a, http.StatusOK, v, pageData{})
}

func (u *ui) invite(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{"email": r.PostForm.Get("email"), "role": r.PostForm.Get("role")}
	ids := formIDs(r, "inbox_ids", fields)
	me, err := u.s.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	var inv invite.Invitation
	err = fields.Err()
	if err == nil {
		inv, err = u.s.Invites.Create(r.Context(), invite.NewInvitation{Email: form["email"], Role: policy.Role(form["role"]), InboxIDs: ids}, me)
	}
	if fields, ok := mergeFields(fields, err); ok {
		if fields["role"] != "" {
			fields["role"] = "Choose a role."
		}
		return u.renderInvitations(w, r, a, http.StatusUnprocessableEntity, invitationsView{Chosen: ids}, pageData{Fields: fields, Form: form})
	} else if err != nil {
		return err
	}
	return u.invitationSent(w, r, a, inv, "sent")
}

// invitationSent redirects to the list saying the invitation was sent.
// Without a mail server the mail went to the server log: the admin who
// sent it is then given its link to pass on, on the next page only.
func (u *ui) invitationSent(w http.ResponseWriter, r *http.Request, a policy.Actor, inv invite.Invitation, done string) error {
	if !u.s.MailToLog {
		http.Redirect(w, r, "/admin/invitations?done="+done, http.StatusSeeOther)
		return nil
	}
	return u.redirectShown(w, r, a, flashInvitation, shownInvitation{Email: inv.Email, Link: inv.Link}, "/admin/invitations?done=logged")
}

// shownInvitation is an invitation link kept for the page after sending
// it, when no mail server is configured.
type shownInvitation struct {
	Email string `json:"email"`
	Link  string `json:"link"`
}

func (u *ui) resendInvitation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return invite.ErrNotFound
	}
	me, err := u.s.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	inv, err := u.s.Invites.Resend(r.Context(), id, me)
	if err != nil {
		if p, ok := problem.As(err); ok && p.Kind == problem.KindConflict {
			return u.renderInvitations(w, r, a, http.StatusConflict, invitationsView{}, pageData{Error: p.Message})
		}
		return err
	}
	return u.invitationSent(w, r, a, inv, "resent")
}

func (u *ui) revokeInvitation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return invite.ErrNotFound
	}
	if err := u.s.Invites.Revoke(r.Context(), id); err != nil {
		if p, ok := problem.As(err); ok && p.Kind == problem.KindConflict {
			return u.renderInvitations(w, r, a, http.StatusConflict, invitationsView{}, pageData{Error: p.Message})
		}
		return err
	}
	http.Redirect(w, r, "/admin/invitations?done=revoked", http.StatusSeeOther)
	return nil
}

// saveSecurity turns on or off the requirement of two-factor
// authentication for everyone (on the users page).
func (u *ui) saveSecurity(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if err := u.s.Factors.SetRequired(r.Context(), r.PostForm.Get("require_two_factor") != ""); err != nil {
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

func (u *ui) renderTeams(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, v teamsView, d pageData) error {
	ts, err := u.s.Teams.List(r.Context())
	if err != nil {
		return err
	}
	n, err := u.freshNames(r.Context())
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
	if v.Users, err = u.s.Users.List(r.Context()); err != nil {
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
	return u.render(w, r, status, page, d)
}

func (u *ui) adminTeams(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v := teamsView{}
	switch r.URL.Query().Get("done") {
	case "created":
		v.Notice = "Team created."
	case "deleted":
		v.Notice = "Team deleted."
	}
	return u.renderTeams(w, r, a, http.StatusOK, v, pageData{})
}

func (u *ui) createTeam(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{"name": r.PostForm.Get("name")}
	ids := formIDs(r, "member_ids", fields)
	err = fields.Err()
	if err == nil {
		_, err = u.s.Teams.Create(r.Context(), team.NewTeam{Name: form["name"], MemberIDs: ids})
	}
	if fields, ok := mergeFields(fields, err); ok {
		return u.renderTeams(w, r, a, http.StatusUnprocessableEntity, teamsView{Chosen: ids}, pageData{Fields: fields, Form: form})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/teams?done=created", http.StatusSeeOther)
	return nil
}

func (u *ui) adminTeam(r *http.Request) (team.Team, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return team.Team{}, team.ErrNotFound
	}
	return u.s.Teams.Get(r.Context(), id)
}

func (u *ui) editTeam(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	t, err := u.adminTeam(r)
	if err != nil {
		return err
	}
	v := teamsView{Team: t, Chosen: t.MemberIDs}
	if r.URL.Query().Get("saved") == "1" {
		v.Notice = "Saved."
	}
	return u.renderTeams(w, r, a, http.StatusOK, v, pageData{Form: map[string]string{"name": t.Name}})
}

func (u *ui) updateTeam(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	t, err := u.adminTeam(r)
	if err != nil {
		return err
	}
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	form := map[string]string{"name": r.PostForm.Get("name")}
	ids := formIDs(r, "member_ids", fields)
	err = fields.Err()
	if err == nil {
		_, err = u.s.Teams.Update(r.Context(), t.ID, team.Patch{Name: new(form["name"]), MemberIDs: &ids})
	}
	if fields, ok := mergeFields(fields, err); ok {
		return u.renderTeams(w, r, a, http.StatusUnprocessableEntity, teamsView{Team: t, Chosen: ids}, pageData{Fields: fields, Form: form})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/teams/"+strconv.FormatInt(t.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

func (u *ui) deleteTeam(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	t, err := u.adminTeam(r)
	if err != nil {
		return err
	}
	if err := u.s.Teams.Delete(r.Context(), t.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/teams?done=deleted", http.StatusSeeOther)
	return nil
}

// ---- An inbox's automatic assignment ----

type assignmentView struct {
	Inbox      inbox.Inbox
	Assignment availability.Assignment
	Members    []user.User
	Saved      bool
}

func (u *ui) assignmentPage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	v := assignmentView{Inbox: in, Saved: r.URL.Query().Get("saved") == "1"}
	if v.Assignment, err = u.s.Availability.Assignment(r.Context(), in.ID); err != nil {
		return err
	}
	us, err := u.s.Users.List(r.Context())
	if err != nil {
		return err
	}
	for _, x := range us {
		for _, id := range in.MemberIDs {
			if id == x.ID {
				v.Members = append(v.Members, x)
			}
		}
	}
	return u.render(w, r, http.StatusOK, "admin_assignment", pageData{Title: "Automatic assignment", Actor: a, Data: v})
}

func (u *ui) saveAssignment(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	in, err := u.adminInbox(r)
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	if err := u.s.Availability.SetAssignment(r.Context(), in.ID, availability.Assignment{AutoAssign: r.PostForm.Get("auto_assign") != ""}); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/inboxes/"+strconv.FormatInt(in.ID, 10)+"/assignment?saved=1", http.StatusSeeOther)
	return nil
}

// ---- A user's email address ----

// emailNotices say what became of a change of address (?email=…).
var emailNotices = map[string]string{
	"sent":      "A confirmation link is on its way to the new address. The address changes when the link is opened and confirmed.",
	"cancelled": "The change of address is cancelled: its link no longer works.",
}

// requestEmailChange mails a confirmation link to the new address of the
// user of the path (on the user's page).
func (u *ui) requestEmailChange(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	me, err := u.s.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	if err = fields.Err(); err == nil {
		_, err = u.s.EmailChanges.Request(r.Context(), usr.ID, emailchange.Request{Email: email}, me)
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

func (u *ui) cancelEmailChange(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	usr, err := u.adminUser(r)
	if err != nil {
		return err
	}
	if err := u.s.EmailChanges.Cancel(r.Context(), usr.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(usr.ID, 10)+"?email=cancelled", http.StatusSeeOther)
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

// emailChangePage shows the change of a link, to be confirmed with a
// button: opening the link alone changes nothing, because mail scanners
// open links too.
func (u *ui) emailChangePage(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	token := r.PathValue("token")
	o, err := u.s.EmailChanges.Open(r.Context(), token)
	return u.renderEmailChange(w, r, emailChangeView{Token: token, Change: o}, err)
}

func (u *ui) confirmEmailChange(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	token := r.PathValue("token")
	usr, err := u.s.EmailChanges.Confirm(r.Context(), token)
	if err == nil {
		u.s.Auth.Forget(usr.ID)
		u.forgetNames()
	}
	return u.renderEmailChange(w, r, emailChangeView{Token: token, Done: usr.Email}, err)
}

// renderEmailChange shows v, or why the link does not work.
func (u *ui) renderEmailChange(w http.ResponseWriter, r *http.Request, v emailChangeView, err error) error {
	if p, ok := problem.As(err); ok && (p.Kind == problem.KindNotFound || p.Kind == problem.KindConflict) {
		v.Problem = p.Message
		status, _, _ := classify(p, "")
		return u.render(w, r, status, "email_change", pageData{Title: "Email address", Data: v})
	} else if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "email_change", pageData{Title: "Email address", Data: v})
}
