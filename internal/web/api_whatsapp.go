package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// whatsappAPI serves WhatsApp numbers: their state, templates, ice breakers,
// sends and lookups by phone.
type whatsappAPI struct {
	baseURL  *url.URL
	convs    *conversation.Service
	inboxes  *inbox.Store
	whatsapp *whatsapp.Service
}

// whatsappInbox returns the WhatsApp inbox of the path that the actor
// works in.
func (s *whatsappAPI) whatsappInbox(r *http.Request, a policy.Actor) (inbox.Inbox, error) {
	in, err := visibleInbox(r, s.inboxes, a)
	if err != nil {
		return in, err
	}
	if in.Type != whatsapp.Type {
		return in, problem.NotFound("WhatsApp inbox")
	}
	return in, nil
}

func (s *whatsappAPI) apiWhatsAppSend(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return sendMessage(w, r, func(id int64, c whatsapp.Compose) (conversation.Message, bool, error) {
		return s.whatsapp.Send(r.Context(), a, id, c)
	})
}

// startRequest starts a conversation with a customer by phone number.
type startRequest struct {
	// Phone is the customer's number in international format (E.164).
	Phone string `json:"phone"`
	// Message is the first message: a template, unless the customer wrote
	// to the number in the last 24 hours.
	Message whatsapp.Compose `json:"message"`
}

func (s *whatsappAPI) apiWhatsAppStart(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.whatsappInbox(r, a)
	if err != nil {
		return err
	}
	var req startRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	res, created, err := s.whatsapp.Start(r.Context(), a, in.ID, req.Phone, req.Message)
	if err != nil {
		return err
	}
	writeSent(w, created, res)
	return nil
}

func (s *whatsappAPI) apiWhatsAppLookup(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.whatsappInbox(r, a)
	if err != nil {
		return err
	}
	res, err := httpx.LookupPhone(r.Context(), s.convs, a, in.ID, r.URL.Query().Get("phone"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (s *whatsappAPI) apiWhatsAppTemplates(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.whatsappInbox(r, a)
	if err != nil {
		return err
	}
	ts, err := s.whatsapp.Templates(r.Context(), in.ID, r.URL.Query().Get("approved") == "true")
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ts)
	return nil
}

func (s *whatsappAPI) apiWhatsAppSync(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.whatsappInbox(r, a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	res, err := s.whatsapp.SyncTemplates(ctx, in.ID)
	if err != nil {
		return httpx.SyncProblem(err)
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// whatsappState is a number's channel state with its webhook URL.
type whatsappState struct {
	whatsapp.State
	// WebhookURL is the callback URL to enter in Meta's app dashboard.
	WebhookURL string `json:"webhook_url"`
}

func (s *whatsappAPI) apiWhatsAppState(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.whatsappInbox(r, a)
	if err != nil {
		return err
	}
	st, err := s.whatsapp.State(r.Context(), in.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, whatsappState{State: st, WebhookURL: httpx.WhatsAppWebhookURL(s.baseURL)})
	return nil
}

func (s *whatsappAPI) apiWhatsAppTest(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.whatsappInbox(r, a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	c, err := s.whatsapp.TestConnection(ctx, in.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

// iceBreakersRequest sets a number's ice breakers.
type iceBreakersRequest struct {
	// Prompts are up to 4 questions of at most 80 characters, without
	// emoji; an empty list removes them.
	Prompts []string `json:"prompts"`
}

func (s *whatsappAPI) apiWhatsAppIceBreakers(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.whatsappInbox(r, a)
	if err != nil {
		return err
	}
	var req iceBreakersRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if req.Prompts == nil {
		return problem.Invalid("prompts", "Give the list of ice breakers (an empty list removes them).")
	}
	st, err := s.whatsapp.SetIceBreakers(r.Context(), in.ID, req.Prompts)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, whatsappState{State: st, WebhookURL: httpx.WhatsAppWebhookURL(s.baseURL)})
	return nil
}
