package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	us, err := s.Users.List(r.Context())
	if err != nil {
		return err
	}
	if us == nil {
		us = []user.User{}
	}
	writeJSON(w, http.StatusOK, us)
	return nil
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var n user.NewUser
	if err := decode(w, r, &n); err != nil {
		return err
	}
	u, err := s.Users.Create(r.Context(), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) apiUpdateUser(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("User")
	}
	var p user.Patch
	if err := decode(w, r, &p); err != nil {
		return err
	}
	u, err := s.Users.Update(r.Context(), id, p)
	if err != nil {
		return err
	}
	s.Auth.Forget(id)
	writeJSON(w, http.StatusOK, u)
	return nil
}

// userPath returns the user of the path.
func (s *Server) userPath(r *http.Request) (user.User, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return user.User{}, problem.NotFound("User")
	}
	u, err := s.Users.Get(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		return u, problem.NotFound("User")
	}
	return u, err
}

func (s *Server) apiRequestEmailChange(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	var req emailchange.Request
	if err := decode(w, r, &req); err != nil {
		return err
	}
	by, err := s.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	c, err := s.EmailChanges.Request(r.Context(), u.ID, req, by)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) apiEmailChange(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	c, err := s.EmailChanges.Pending(r.Context(), u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) apiCancelEmailChange(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	if err := s.EmailChanges.Cancel(r.Context(), u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiInboxes(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ins, err := s.Inboxes.List(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ins)
	return nil
}

// createdInbox is a new inbox with what is shown only once.
type createdInbox struct {
	inbox.Inbox
	// Secret signs verified visitor identities (web chat); not shown again.
	Secret string `json:"secret,omitempty"`
	// Snippet is the HTML to paste into the site (web chat).
	Snippet string `json:"snippet,omitempty"`
	// WebhookURL is the callback URL to enter in Meta's app dashboard
	// (WhatsApp), with the verify token.
	WebhookURL string `json:"webhook_url,omitempty"`
	// VerifyToken is the verify token Switchboard made up when none was
	// given (WhatsApp); not shown again.
	VerifyToken string `json:"verify_token,omitempty"`
}

type secretResponse struct {
	Secret string `json:"secret"`
}

// snippet is the HTML a site embeds to show the widget.
func (s *Server) snippet(in inbox.Inbox) string {
	if in.Type != inbox.Webchat {
		return ""
	}
	return `<script src="` + s.BaseURL.String() + `/widget.js" data-inbox="` + in.Token + `" async></script>`
}

func (s *Server) apiCreateInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var n inbox.NewInbox
	if err := decode(w, r, &n); err != nil {
		return err
	}
	in, secret, err := s.Inboxes.Create(r.Context(), n)
	if err != nil {
		return err
	}
	for _, id := range in.MemberIDs {
		s.Auth.Forget(id)
	}
	if in.Type == inbox.WhatsApp {
		s.WhatsApp.Changed(r.Context(), in.ID)
	}
	out := createdInbox{Inbox: in, Snippet: s.snippet(in)}
	switch in.Type {
	case inbox.WhatsApp:
		out.WebhookURL, out.VerifyToken = s.webhookURL(), secret
	default:
		out.Secret = secret
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// visibleInbox returns an inbox the actor works in.
func (s *Server) visibleInbox(r *http.Request, a policy.Actor) (inbox.Inbox, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return inbox.Inbox{}, problem.NotFound("Inbox")
	}
	in, err := s.Inboxes.Get(r.Context(), id)
	if err != nil {
		return in, err
	}
	if a.Role != policy.Admin && a.Role != policy.InboxManager && !slices.Contains(a.Inboxes, id) {
		return inbox.Inbox{}, problem.NotFound("Inbox")
	}
	return in, nil
}

func (s *Server) apiInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.visibleInbox(r, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

func (s *Server) apiUpdateInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	var p inbox.Patch
	if err := decode(w, r, &p); err != nil {
		return err
	}
	in, changed, err := s.Inboxes.Update(r.Context(), id, p)
	if err != nil {
		return err
	}
	if p.WhatsApp != nil {
		s.WhatsApp.Changed(r.Context(), in.ID)
	}
	for _, uid := range changed {
		s.Auth.Forget(uid)
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

func (s *Server) apiRotateSecret(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	secret, err := s.Inboxes.RotateWebchatSecret(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, secretResponse{Secret: secret})
	return nil
}

func (s *Server) apiDeactivateUser(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	out, err := s.Accounts.Deactivate(r.Context(), u.ID, a.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiReactivateUser(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	u, err := s.userPath(r)
	if err != nil {
		return err
	}
	if u, err = s.Accounts.Reactivate(r.Context(), u.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// archiveInbox archives in and tells the channels at once on this node.
func (s *Server) archiveInbox(r *http.Request, in inbox.Inbox) (int, error) {
	closed, err := s.Conversations.ArchiveInbox(r.Context(), in.ID)
	if err != nil {
		return 0, err
	}
	if in.Type == inbox.WhatsApp {
		s.WhatsApp.Changed(r.Context(), in.ID)
	}
	return closed, nil
}

func (s *Server) apiArchiveInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	in, err := s.Inboxes.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if _, err := s.archiveInbox(r, in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
