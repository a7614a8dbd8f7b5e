package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
)

// LookupResult is what a phone number finds on a WhatsApp inbox.
type LookupResult struct {
	// Phone is the number in E.164.
	Phone         string                      `json:"phone"`
	Contacts      []FoundContact              `json:"contacts"`
	Conversations []conversation.Conversation `json:"conversations"`
}

// FoundContact is a contact a lookup found, as the caller may see it:
// everyone who works the inbox gets what a conversation shows of its
// contact; those who may read contacts get the rest of it too (inbox
// managers see conversations, not contacts).
type FoundContact struct {
	ID    int64   `json:"id"`
	Name  string  `json:"name"`
	Phone *string `json:"phone"`
	Email *string `json:"email"`
	// Only for those who may read contacts (omitempty marks its fields
	// optional in the OpenAPI document; encoding/json leaves a nil
	// embedded pointer out).
	*contactRecord `json:",omitempty"`
}

// found returns c as a lookup by a shows it.
func found(a policy.Actor, c contact.Contact) FoundContact {
	f := FoundContact{ID: c.ID, Name: c.Name, Phone: c.Phone, Email: c.Email}
	if policy.Allow(a, policy.ReadContacts) {
		f.contactRecord = &contactRecord{OwnerID: c.OwnerID, Tags: c.Tags, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	}
	return f
}

// LookupPhone finds the contacts with a phone number and their conversations
// on an inbox, as the actor may see them.
func LookupPhone(ctx context.Context, convs *conversation.Service, a policy.Actor, inboxID int64, number string) (LookupResult, error) {
	e164, msg := phone.Normalize(number, phone.Possible)
	if msg != "" {
		return LookupResult{}, problem.Invalid("phone", "%s", msg)
	}
	out := LookupResult{Phone: e164, Contacts: []FoundContact{}, Conversations: []conversation.Conversation{}}
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

// SyncProblem is a synchronisation Graph refused, as the admin reads it.
func SyncProblem(err error) error {
	var se *whatsapp.SyncError
	if !errors.As(err, &se) {
		return err
	}
	if se.Retry {
		return &problem.Error{Kind: problem.KindUnavailable, Message: "WhatsApp could not be asked for the templates: " + se.Message}
	}
	return problem.Conflict("WhatsApp refused to list the templates: %s", se.Message)
}

// WhatsAppWebhookURL is the callback URL of WhatsApp numbers, for Meta's app
// dashboard.
func WhatsAppWebhookURL(base *url.URL) string { return base.String() + "/webhooks/whatsapp" }

// Membership names a team or an inbox someone belongs to.
type Membership struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Memberships are the teams and the inboxes u is a member of.
func Memberships(ctx context.Context, teamStore *team.Store, inboxStore *inbox.Store, u user.User) (teams, inboxes []Membership, err error) {
	ts, err := teamStore.Of(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	teams = make([]Membership, len(ts))
	for i, t := range ts {
		teams[i] = Membership{ID: t.ID, Name: t.Name}
	}
	ins, err := inboxStore.Of(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	inboxes = make([]Membership, len(ins))
	for i, in := range ins {
		inboxes[i] = Membership{ID: in.ID, Name: in.Name}
	}
	return teams, inboxes, nil
}

// ReadAvatar reads the multipart field "file" of an avatar upload.
func ReadAvatar(w http.ResponseWriter, r *http.Request, field string) ([]byte, string, string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, avatar.MaxBytes+64<<10)
	f, h, err := r.FormFile(field)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, "", "", &problem.Error{Kind: problem.KindTooLarge, Message: "The image is larger than 5 MB.",
				Fields: map[string]string{"avatar": "The image is larger than 5 MB: choose a smaller one."}}
		}
		return nil, "", "", problem.Invalid("avatar", "Choose an image file.")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, avatar.MaxBytes+1))
	if err != nil {
		return nil, "", "", problem.Invalid("avatar", "The file could not be read: try again.")
	}
	return data, h.Filename, h.Header.Get("Content-Type"), nil
}

// WidgetSnippet is the HTML a site embeds to show the widget.
func WidgetSnippet(base *url.URL, in inbox.Inbox) string {
	if in.Type != webchat.Type {
		return ""
	}
	return `<script src="` + base.String() + `/widget.js" data-inbox="` + in.Token + `" async></script>`
}

// ArchiveInbox archives in and tells the channels at once on this node.
func ArchiveInbox(r *http.Request, convs *conversation.Service, wa *whatsapp.Service, in inbox.Inbox) (int, error) {
	closed, err := convs.ArchiveInbox(r.Context(), in.ID)
	if err != nil {
		return 0, err
	}
	if in.Type == whatsapp.Type {
		wa.Forget()
	}
	return closed, nil
}

type CreatedToken struct {
	auth.APIToken
	// Token is the secret; it is not shown again.
	Token string `json:"token"`
}

// contactRecord is the part of a contact that conversations do not show.
type contactRecord struct {
	OwnerID   *int64    `json:"owner_id"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
