package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
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
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, created, err := s.whatsapp.Start(r.Context(), a, in.ID, req.Phone, req.Message)
	if err != nil {
		return err
	}
	writeSent(w, created, res)
	return nil
}

// lookupResult is what a phone number finds on a WhatsApp inbox.
type lookupResult struct {
	// Phone is the number in E.164.
	Phone         string                      `json:"phone"`
	Contacts      []foundContact              `json:"contacts"`
	Conversations []conversation.Conversation `json:"conversations"`
}

// foundContact is a contact a lookup found, as the caller may see it:
// everyone who works the inbox gets what a conversation shows of its
// contact; those who may read contacts get the rest of it too (inbox
// managers see conversations, not contacts).
type foundContact struct {
	ID    int64   `json:"id"`
	Name  string  `json:"name"`
	Phone *string `json:"phone"`
	Email *string `json:"email"`
	// Only for those who may read contacts (omitempty marks its fields
	// optional in the OpenAPI document; encoding/json leaves a nil
	// embedded pointer out).
	*contactRecord `json:",omitempty"`
}

// contactRecord is the part of a contact that conversations do not show.
type contactRecord struct {
	OwnerID   *int64    `json:"owner_id"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// found returns c as a lookup by a shows it.
func found(a policy.Actor, c contact.Contact) foundContact {
	f := foundContact{ID: c.ID, Name: c.Name, Phone: c.Phone, Email: c.Email}
	if policy.Allow(a, policy.ReadContacts) {
		f.contactRecord = &contactRecord{OwnerID: c.OwnerID, Tags: c.Tags, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	}
	return f
}

// lookup finds the contacts with a phone number and their conversations
// on an inbox, as the actor may see them.
func lookupPhone(ctx context.Context, convs *conversation.Service, a policy.Actor, inboxID int64, number string) (lookupResult, error) {
	e164, msg := phone.Normalize(number, phone.Possible)
	if msg != "" {
		return lookupResult{}, problem.Invalid("phone", "%s", msg)
	}
	out := lookupResult{Phone: e164, Contacts: []foundContact{}, Conversations: []conversation.Conversation{}}
	cs, err := convs.Contacts(ctx, a, contact.ListOptions{Query: e164, Limit: 20})
	if err != nil {
		return out, err
	}
	for _, c := range cs {
		if c.Phone == nil || *c.Phone != e164 {
			continue
		}
		out.Contacts = append(out.Contacts, found(a, c))
		page, err := convs.List(ctx, a, conversation.ListOptions{ContactID: c.ID, InboxID: inboxID, Limit: 20})
		if err != nil {
			return out, err
		}
		out.Conversations = append(out.Conversations, page.Items...)
	}
	return out, nil
}

func (s *whatsappAPI) apiWhatsAppLookup(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := s.whatsappInbox(r, a)
	if err != nil {
		return err
	}
	res, err := lookupPhone(r.Context(), s.convs, a, in.ID, r.URL.Query().Get("phone"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
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
	writeJSON(w, http.StatusOK, ts)
	return nil
}

// syncProblem is a synchronisation Graph refused, as the admin reads it.
func syncProblem(err error) error {
	var se *whatsapp.SyncError
	if !errors.As(err, &se) {
		return err
	}
	if se.Retry {
		return &problem.Error{Kind: problem.KindUnavailable, Message: "WhatsApp could not be asked for the templates: " + se.Message}
	}
	return problem.Conflict("WhatsApp refused to list the templates: %s", se.Message)
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
		return syncProblem(err)
	}
	writeJSON(w, http.StatusOK, res)
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
	writeJSON(w, http.StatusOK, whatsappState{State: st, WebhookURL: whatsappWebhookURL(s.baseURL)})
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
	writeJSON(w, http.StatusOK, c)
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
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Prompts == nil {
		return problem.Invalid("prompts", "Give the list of ice breakers (an empty list removes them).")
	}
	st, err := s.whatsapp.SetIceBreakers(r.Context(), in.ID, req.Prompts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, whatsappState{State: st, WebhookURL: whatsappWebhookURL(s.baseURL)})
	return nil
}

// whatsappWebhookURL is the callback URL of WhatsApp numbers, for Meta's app
// dashboard.
func whatsappWebhookURL(base *url.URL) string { return base.String() + "/webhooks/whatsapp" }
