package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// inboxesAPI manages inboxes and their automatic assignment.
type inboxesAPI struct {
	avail    *availability.Service
	baseURL  *url.URL
	convs    *conversation.Service
	inboxes  *inbox.Store
	webchat  *webchat.Service
	whatsapp *whatsapp.Service
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

func (s *inboxesAPI) apiInboxes(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ins, err := s.inboxes.List(r.Context(), a)
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
	httpx.WriteJSON(w, http.StatusOK, out)
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

func (s *inboxesAPI) apiCreateInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var n newInboxRequest
	if err := httpx.Decode(w, r, &n); err != nil {
		return err
	}
	in, secret, err := s.inboxes.Create(r.Context(), inbox.NewInbox{Type: n.Type, Name: n.Name,
		Settings: channelSettings(n.Webchat, n.WhatsApp), MemberIDs: n.MemberIDs})
	if err != nil {
		return err
	}
	v, err := showInbox(in)
	if err != nil {
		return err
	}
	out := createdInbox{apiInbox: v, Snippet: httpx.WidgetSnippet(s.baseURL, in)}
	switch in.Type {
	case whatsapp.Type:
		out.WebhookURL, out.VerifyToken = httpx.WhatsAppWebhookURL(s.baseURL), secret
	default:
		out.Secret = secret
	}
	httpx.WriteJSON(w, http.StatusCreated, out)
	return nil
}

// visibleInbox returns an inbox the actor works in.
func visibleInbox(r *http.Request, inboxes *inbox.Store, a policy.Actor) (inbox.Inbox, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return inbox.Inbox{}, problem.NotFound("Inbox")
	}
	in, err := inboxes.Get(r.Context(), id)
	if err != nil {
		return in, err
	}
	if a.Role != policy.Admin && a.Role != policy.InboxManager && !slices.Contains(a.Inboxes, id) {
		return inbox.Inbox{}, problem.NotFound("Inbox")
	}
	return in, nil
}

func (s *inboxesAPI) apiInbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := visibleInbox(r, s.inboxes, a)
	if err != nil {
		return err
	}
	v, err := showInbox(in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *inboxesAPI) apiUpdateInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	var p inboxPatch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	in, _, err := s.inboxes.Update(r.Context(), id, inbox.Patch{Name: p.Name, Settings: channelSettings(p.Webchat, p.WhatsApp), MemberIDs: p.MemberIDs})
	if err != nil {
		return err
	}
	v, err := showInbox(in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *inboxesAPI) apiRotateSecret(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	secret, err := s.webchat.RotateSecret(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, secretResponse{Secret: secret})
	return nil
}

func (s *inboxesAPI) apiArchiveInbox(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	in, err := s.inboxes.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if _, err := httpx.ArchiveInbox(r, s.convs, s.whatsapp, in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *inboxesAPI) apiAssignment(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	if _, err := s.inboxes.Get(r.Context(), id); err != nil {
		return err
	}
	as, err := s.avail.Assignment(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, as)
	return nil
}

func (s *inboxesAPI) apiSetAssignment(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	var req availability.Assignment
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if err := s.avail.SetAssignment(r.Context(), id, req); err != nil {
		return err
	}
	return s.apiAssignment(w, r, a)
}
