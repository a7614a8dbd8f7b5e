package web

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
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

// apiInbox is an inbox as the API shows it: its channel's settings under
// the channel's type, never its secrets.
type apiInbox struct {
	ID   int64      `json:"id"`
	Type inbox.Type `json:"type"`
	Name string     `json:"name"`
	// Token identifies a web chat inbox in the widget snippet; it is public.
	Token     string             `json:"token,omitempty"`
	Webchat   *webchat.Settings  `json:"webchat,omitempty"`
	WhatsApp  *whatsapp.Settings `json:"whatsapp,omitempty"`
	MemberIDs []int64            `json:"member_ids"`
	CreatedAt time.Time          `json:"created_at"`
	// ArchivedAt is when the inbox was archived (null while it works): it
	// receives nothing more, and its conversations are read-only.
	ArchivedAt *time.Time `json:"archived_at"`
}

// showInbox is the API form of an inbox.
func showInbox(in inbox.Inbox) (apiInbox, error) {
	out := apiInbox{ID: in.ID, Type: in.Type, Name: in.Name, Token: in.Token, MemberIDs: in.MemberIDs, CreatedAt: in.CreatedAt, ArchivedAt: in.ArchivedAt}
	switch in.Type {
	case webchat.Type:
		set, err := webchat.SettingsOf(in)
		if err != nil {
			return out, err
		}
		out.Webchat = &set
	case whatsapp.Type:
		set, err := whatsapp.SettingsOf(in)
		if err != nil {
			return out, err
		}
		out.WhatsApp = &set
	}
	return out, nil
}

// newInboxRequest is what it takes to create an inbox: the settings of
// its channel under the channel's type.
type newInboxRequest struct {
	Type      inbox.Type        `json:"type"`
	Name      string            `json:"name"`
	Webchat   *webchat.Settings `json:"webchat,omitempty"`
	WhatsApp  *whatsapp.Config  `json:"whatsapp,omitempty"`
	MemberIDs []int64           `json:"member_ids,omitempty"`
}

// inboxPatch changes some of an inbox's settings; nil fields stay as they
// are.
type inboxPatch struct {
	Name      *string           `json:"name,omitempty"`
	Webchat   *webchat.Settings `json:"webchat,omitempty"`
	WhatsApp  *whatsapp.Patch   `json:"whatsapp,omitempty"`
	MemberIDs *[]int64          `json:"member_ids,omitempty"`
}

// channelSettings are the settings given for each channel, leaving out
// those not given.
func channelSettings(wc *webchat.Settings, wa any) map[inbox.Type]any {
	out := map[inbox.Type]any{}
	if wc != nil {
		out[webchat.Type] = wc
	}
	switch v := wa.(type) {
	case *whatsapp.Config:
		if v != nil {
			out[whatsapp.Type] = v
		}
	case *whatsapp.Patch:
		if v != nil {
			out[whatsapp.Type] = v
		}
	}
	return out
}

func (s *Server) apiInboxes(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ins, err := s.Inboxes.List(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]apiInbox, 0, len(ins))
	for _, in := range ins {
		v, err := showInbox(in)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createdInbox is a new inbox with what is shown only once.
type createdInbox struct {
	apiInbox
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
	if in.Type != webchat.Type {
		return ""
	}
	return `<script src="` + s.BaseURL.String() + `/widget.js" data-inbox="` + in.Token + `" async></script>`
}

func (s *Server) apiCreateInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var n newInboxRequest
	if err := decode(w, r, &n); err != nil {
		return err
	}
	in, secret, err := s.Inboxes.Create(r.Context(), inbox.NewInbox{Type: n.Type, Name: n.Name,
		Settings: channelSettings(n.Webchat, n.WhatsApp), MemberIDs: n.MemberIDs})
	if err != nil {
		return err
	}
	v, err := showInbox(in)
	if err != nil {
		return err
	}
	out := createdInbox{apiInbox: v, Snippet: s.snippet(in)}
	switch in.Type {
	case whatsapp.Type:
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
	v, err := showInbox(in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) apiUpdateInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	var p inboxPatch
	if err := decode(w, r, &p); err != nil {
		return err
	}
	in, _, err := s.Inboxes.Update(r.Context(), id, inbox.Patch{Name: p.Name, Settings: channelSettings(p.Webchat, p.WhatsApp), MemberIDs: p.MemberIDs})
	if err != nil {
		return err
	}
	v, err := showInbox(in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) apiRotateSecret(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	secret, err := s.Webchat.RotateSecret(r.Context(), id)
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
	if in.Type == whatsapp.Type {
		s.WhatsApp.Forget()
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
