package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/conversation"
	textrule "github.com/switchboardhq/switchboard/internal/text" // this package has a type named text
)

// ErrMalformed is a webhook body that is not a WhatsApp delivery at all:
// not JSON, or JSON of another shape. Nothing of it is stored.
var ErrMalformed = errors.New("whatsapp: malformed webhook")

// Delivery is a webhook POST read into what Switchboard does with it. It
// is built completely before anything is written, so a body that cannot
// be read writes nothing.
type Delivery struct {
	Changes []Change `json:"changes"`
}

// Change is one change of an entry: a number's messages and statuses, or
// a template event of a business account.
type Change struct {
	Field         string `json:"field"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id,omitempty"`

	Messages  []Inbound      `json:"messages,omitempty"`
	Reactions []InReaction   `json:"reactions,omitempty"`
	Statuses  []StatusUpdate `json:"statuses,omitempty"`
	// Errors are problems of the number or the app, not of one message.
	Errors    []Error        `json:"errors,omitempty"`
	IDUpdates []IDUpdate     `json:"id_updates,omitempty"`
	Template  *TemplateEvent `json:"template,omitempty"`
	// Skipped says what was left out and why (an item without an id).
	Skipped []string `json:"skipped,omitempty"`
}

// Sender is who wrote: Meta's ids for them (either may be missing) and
// their profile.
type Sender struct {
	WaID     string `json:"wa_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
}

// Inbound is a customer's message.
type Inbound struct {
	ID        string                   `json:"id"`
	From      Sender                   `json:"from"`
	Timestamp time.Time                `json:"timestamp"`
	Type      conversation.MessageType `json:"type"`
	Text      string                   `json:"text,omitempty"`
	Content   Content                  `json:"content"`
	// ReplyTo is the WhatsApp id of the message this one answers (a
	// quoted reply, a tapped button of that message).
	ReplyTo string `json:"reply_to,omitempty"`
}

// InReaction is a customer's reaction to one of the business's messages:
// added, changed, or removed (Emoji empty).
type InReaction struct {
	ID        string    `json:"id"`
	From      Sender    `json:"from"`
	Timestamp time.Time `json:"timestamp"`
	MessageID string    `json:"message_id"`
	Emoji     string    `json:"emoji"`
}

// StatusUpdate is what happened to a message the business sent.
type StatusUpdate struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	Timestamp       time.Time `json:"timestamp"`
	RecipientID     string    `json:"recipient_id,omitempty"`
	RecipientUserID string    `json:"recipient_user_id,omitempty"`
	// Callback is biz_opaque_callback_data: Switchboard's message id.
	Callback string  `json:"callback,omitempty"`
	Errors   []Error `json:"errors,omitempty"`
}

// IDUpdate is a customer's new business-scoped user id.
type IDUpdate struct {
	WaID     string `json:"wa_id,omitempty"`
	Previous string `json:"previous"`
	Current  string `json:"current"`
}

// TemplateEvent is a change of a message template: its status, quality
// or category.
type TemplateEvent struct {
	Event      string `json:"event,omitempty"`
	TemplateID string `json:"template_id"`
	Name       string `json:"name,omitempty"`
	Language   string `json:"language,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Category   string `json:"category,omitempty"`
	Quality    string `json:"quality,omitempty"`
}

// The change fields Switchboard reads.
const (
	FieldMessages         = "messages"
	FieldTemplateStatus   = "message_template_status_update"
	FieldTemplateQuality  = "message_template_quality_update"
	FieldTemplateCategory = "template_category_update"
)

// MaxWebhookBody is the largest webhook body read: Meta's limit is 3 MB.
const MaxWebhookBody = 4 << 20

// Parse reads a webhook body. It fails (ErrMalformed) only when the body
// is not a delivery; items it cannot use are left out and named in
// Change.Skipped, and messages it cannot read are kept as unsupported.
func Parse(body []byte) (Delivery, error) {
	var p wirePayload
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return Delivery{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Delivery{}, fmt.Errorf("%w: more than one JSON value", ErrMalformed)
	}
	var d Delivery
	if p.Object != "" && p.Object != "whatsapp_business_account" {
		return d, nil // another product's webhook: nothing for WhatsApp
	}
	for _, e := range p.Entry {
		for _, ch := range e.Changes {
			c, err := parseChange(string(e.ID), ch)
			if err != nil {
				return Delivery{}, err
			}
			d.Changes = append(d.Changes, c)
		}
	}
	return d, nil
}

func parseChange(waba string, ch wireChange) (Change, error) {
	c := Change{Field: ch.Field, WABAID: clean(waba, 64)}
	if len(ch.Value) == 0 || bytes.Equal(bytes.TrimSpace(ch.Value), []byte("null")) {
		c.Skipped = append(c.Skipped, "change without a value")
		return c, nil
	}
	switch ch.Field {
	case FieldMessages:
		var v wireValue
		if err := json.Unmarshal(ch.Value, &v); err != nil {
			return c, fmt.Errorf("%w: messages value: %v", ErrMalformed, err)
		}
		c.PhoneNumberID = clean(string(v.Metadata.PhoneNumberID), 64)
		parseMessages(&c, &v)
	case FieldTemplateStatus, FieldTemplateQuality, FieldTemplateCategory:
		var v wireTemplateStatus
		if err := json.Unmarshal(ch.Value, &v); err != nil {
			return c, fmt.Errorf("%w: %s value: %v", ErrMalformed, ch.Field, err)
		}
		t := &TemplateEvent{Event: clean(v.Event, 40), TemplateID: clean(string(v.TemplateID), 64), Name: clean(v.TemplateName, 512),
			Language: clean(v.Language, 20), Category: clean(v.Category, 40), Quality: clean(v.NewQuality, 20)}
		if v.NewCategory != "" {
			t.Category = clean(v.NewCategory, 40)
		}
		if v.Reason != nil {
			t.Reason = clean(*v.Reason, 200)
		}
		if v.RejectionInfo != nil && v.RejectionInfo.Reason != "" {
			t.Reason = clean(strings.TrimSpace(v.RejectionInfo.Reason+" "+v.RejectionInfo.Recommendation), 1000)
		}
		if t.TemplateID == "" && t.Name == "" {
			c.Skipped = append(c.Skipped, "template event without a template")
		} else {
			c.Template = t
		}
	}
	return c, nil
}

func parseMessages(c *Change, v *wireValue) {
	// Profiles of the senders, by either id.
	profiles := map[string]Sender{}
	for _, ct := range v.Contacts {
		s := Sender{WaID: clean(string(ct.WaID), 64), UserID: clean(string(ct.UserID), 160), Name: clean(ct.Profile.Name, 200), Username: clean(ct.Profile.Username, 100)}
		if s.WaID != "" {
			profiles["wa:"+s.WaID] = s
		}
		if s.UserID != "" {
			profiles["u:"+s.UserID] = s
		}
	}
	sender := func(from, fromUser string) Sender {
		s, ok := profiles["u:"+fromUser]
		if !ok || fromUser == "" {
			s, ok = profiles["wa:"+from]
		}
		if !ok && len(v.Contacts) == 1 {
			s = profiles["wa:"+clean(string(v.Contacts[0].WaID), 64)]
			if s == (Sender{}) {
				s = profiles["u:"+clean(string(v.Contacts[0].UserID), 160)]
			}
		}
		if from != "" {
			s.WaID = from
		}
		if fromUser != "" {
			s.UserID = fromUser
		}
		return s
	}
	for i, raw := range v.Messages {
		var h wireHead
		if err := json.Unmarshal(raw, &h); err != nil {
			c.Skipped = append(c.Skipped, fmt.Sprintf("message %d: %v", i, err))
			continue
		}
		id, from, fromUser := clean(string(h.ID), 200), clean(string(h.From), 64), clean(string(h.FromUserID), 160)
		if id == "" || (from == "" && fromUser == "") {
			c.Skipped = append(c.Skipped, fmt.Sprintf("message %d: no id or sender", i))
			continue
		}
		s := sender(from, fromUser)
		ts := unixTime(string(h.Timestamp))
		var m wireMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			// Keep what cannot be read, so an agent sees something came.
			in := Inbound{ID: id, From: s, Timestamp: ts, Type: conversation.TypeUnsupported,
				Content: Content{Kind: clean(h.Type, 40), Unsupported: clean(h.Type, 40), Raw: compact(raw)}}
			c.Messages = append(c.Messages, in)
			continue
		}
		if m.Type == "reaction" && m.Reaction != nil {
			c.Reactions = append(c.Reactions, InReaction{ID: id, From: s, Timestamp: ts,
				MessageID: clean(string(m.Reaction.MessageID), 200), Emoji: clean(m.Reaction.Emoji, 40)})
			continue
		}
		c.Messages = append(c.Messages, inbound(id, s, ts, &m, raw))
	}
	for i, raw := range v.Statuses {
		var st wireStatus
		if err := json.Unmarshal(raw, &st); err != nil || st.ID == "" || st.Status == "" {
			c.Skipped = append(c.Skipped, fmt.Sprintf("status %d: no id or status", i))
			continue
		}
		c.Statuses = append(c.Statuses, StatusUpdate{ID: clean(string(st.ID), 200), Status: clean(st.Status, 20), Timestamp: unixTime(string(st.Timestamp)),
			RecipientID: clean(string(st.RecipientID), 64), RecipientUserID: clean(string(st.RecipientUserID), 160),
			Callback: clean(st.BizOpaque, 512), Errors: errorsOf(st.Errors)})
	}
	c.Errors = errorsOf(v.Errors)
	for _, u := range v.UserIDUpdate {
		if u.UserID.Current != "" {
			c.IDUpdates = append(c.IDUpdates, IDUpdate{WaID: clean(string(u.WaID), 64), Previous: clean(string(u.UserID.Previous), 160), Current: clean(string(u.UserID.Current), 160)})
		}
	}
}

// inbound turns one message into what is stored.
func inbound(id string, s Sender, ts time.Time, m *wireMessage, raw []byte) Inbound {
	in := Inbound{ID: id, From: s, Timestamp: ts, Content: Content{Kind: clean(m.Type, 40)}}
	if !ts.IsZero() {
		t := ts
		in.Content.Timestamp = &t
	}
	if m.Context != nil {
		in.ReplyTo = clean(string(m.Context.ID), 200)
		in.Content.Forwarded, in.Content.FrequentlyForwarded = m.Context.Forwarded, m.Context.FrequentlyForwarded
	}
	if r := m.Referral; r != nil {
		in.Content.Referral = &Referral{SourceURL: clean(r.SourceURL, 2000), SourceType: clean(r.SourceType, 20), Headline: clean(r.Headline, 500), Body: clean(r.Body, 2000)}
	}
	in.Content.Errors = errorsOf(m.Errors)
	media := func(t conversation.MessageType, w *wireMedia) {
		in.Type = t
		in.Text = clean(w.Caption, conversation.MaxTextLength)
		in.Content.Media = &Media{ID: clean(string(w.ID), 64), MimeType: clean(w.MimeType, 100), SHA256: clean(w.SHA256, 100),
			Caption: in.Text, Filename: clean(w.Filename, 200), Voice: w.Voice, Animated: w.Animated, State: MediaPending}
		if in.Content.Media.ID == "" {
			in.Content.Media.State, in.Content.Media.Error = MediaFailed, "WhatsApp sent no media id."
		}
	}
	switch {
	case m.Type == "text" && m.Text != nil:
		in.Type, in.Text = conversation.TypeText, clean(m.Text.Body, conversation.MaxTextLength)
	case m.Type == "image" && m.Image != nil:
		media(conversation.TypeImage, m.Image)
	case m.Type == "video" && m.Video != nil:
		media(conversation.TypeVideo, m.Video)
	case m.Type == "audio" && m.Audio != nil:
		media(conversation.TypeAudio, m.Audio)
	case m.Type == "document" && m.Document != nil:
		media(conversation.TypeDocument, m.Document)
	case m.Type == "sticker" && m.Sticker != nil:
		media(conversation.TypeSticker, m.Sticker)
	case m.Type == "location" && m.Location != nil:
		l := m.Location
		in.Type = conversation.TypeLocation
		in.Content.Location = &Location{Latitude: float64(l.Latitude), Longitude: float64(l.Longitude), Name: clean(l.Name, 500), Address: clean(l.Address, 1000), URL: clean(l.URL, 2000)}
		in.Text = joinNonEmpty(", ", in.Content.Location.Name, in.Content.Location.Address)
		if in.Text == "" {
			in.Text = strconv.FormatFloat(float64(l.Latitude), 'f', -1, 64) + ", " + strconv.FormatFloat(float64(l.Longitude), 'f', -1, 64)
		}
	case m.Type == "contacts" && len(m.Contacts) > 0:
		in.Type = conversation.TypeContacts
		var names []string
		for _, w := range m.Contacts[:min(len(m.Contacts), 50)] {
			card := Card{Name: clean(w.Name.FormattedName, 200), Organization: clean(w.Org.Company, 200), Birthday: clean(w.Birthday, 20)}
			if card.Name == "" {
				card.Name = clean(joinNonEmpty(" ", w.Name.FirstName, w.Name.LastName), 200)
			}
			for _, p := range w.Phones {
				card.Phones = append(card.Phones, CardValue{Value: clean(p.Phone, 50), Type: clean(p.Type, 20), WaID: clean(string(p.WaID), 64)})
			}
			for _, e := range w.Emails {
				card.Emails = append(card.Emails, CardValue{Value: clean(e.Email, 200), Type: clean(e.Type, 20)})
			}
			for _, u := range w.URLs {
				card.URLs = append(card.URLs, CardValue{Value: clean(u.URL, 2000), Type: clean(u.Type, 20)})
			}
			in.Content.Contacts = append(in.Content.Contacts, card)
			names = append(names, card.Name)
		}
		in.Text = clean(strings.Join(names, ", "), conversation.MaxTextLength)
	case m.Type == "interactive" && m.Interactive != nil:
		in.Type = conversation.TypeInteractive
		r := &Reply{Kind: clean(m.Interactive.Type, 40)}
		switch {
		case m.Interactive.ButtonReply != nil:
			r.ID, r.Title = clean(m.Interactive.ButtonReply.ID, 256), clean(m.Interactive.ButtonReply.Title, 100)
		case m.Interactive.ListReply != nil:
			r.ID, r.Title, r.Description = clean(m.Interactive.ListReply.ID, 200), clean(m.Interactive.ListReply.Title, 100), clean(m.Interactive.ListReply.Description, 200)
		case m.Interactive.NFMReply != nil:
			r.Title, r.Response = clean(m.Interactive.NFMReply.Body, 1000), clean(m.Interactive.NFMReply.ResponseJSON, 10000)
		default:
			in.Content.Raw = compact(raw)
		}
		in.Content.Reply = r
		in.Text = r.Title
	case m.Type == "button" && m.Button != nil:
		in.Type = conversation.TypeInteractive
		in.Content.Reply = &Reply{Kind: "template_button", ID: clean(m.Button.Payload, 256), Title: clean(m.Button.Text, 100)}
		in.Text = in.Content.Reply.Title
	case m.Type == "system" && m.System != nil:
		in.Type = conversation.TypeSystem
		in.Content.System = &System{Type: clean(m.System.Type, 40), Body: clean(m.System.Body, 1000), WaID: clean(string(m.System.WaID), 64),
			NewWaID: clean(string(m.System.NewWaID), 64), UserID: clean(string(m.System.UserID), 160)}
		in.Text = in.Content.System.Body
	case m.Type == "request_welcome":
		// The customer opened the chat: no content, but it opens the
		// customer-service window and may trigger a welcome message.
		in.Type = conversation.TypeSystem
	case m.Type == "unsupported":
		in.Type = conversation.TypeUnsupported
		if m.Unsupported != nil {
			in.Content.Unsupported = clean(m.Unsupported.Type, 40)
		}
	default:
		// errors (legacy), order, revoke, edit, a type added later: kept
		// as it came.
		in.Type = conversation.TypeUnsupported
		in.Content.Unsupported = clean(m.Type, 40)
		in.Content.Raw = compact(raw)
	}
	return in
}

func errorsOf(ws []wireError) []Error {
	var out []Error
	for _, w := range ws {
		out = append(out, Error{Code: int(w.Code), Title: clean(w.Title, 300), Message: clean(w.Message, 1000), Details: clean(w.ErrorData.Details, 1000)})
	}
	return out
}

// unixTime reads Meta's timestamps: unix seconds, as a string or number.
// Anything else is the zero time (the time of arrival is used).
func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// clean makes a string from Meta safe to store, never refusing it (a
// customer's message must not be lost): what the text rule refuses — NUL,
// which PostgreSQL cannot store, other control characters but tab and line
// breaks, invalid UTF-8 — becomes U+FFFD (text.Clean), and the string is
// cut to at most max characters.
func clean(s string, max int) string {
	s = textrule.Clean(s)
	if len(s) > max && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max])
	}
	return s
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// compact keeps a raw message, bounded.
func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil || b.Len() > 64<<10 {
		return nil
	}
	return json.RawMessage(b.Bytes())
}
