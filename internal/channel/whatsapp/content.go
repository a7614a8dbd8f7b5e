package whatsapp

import (
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
)

// Content is what a WhatsApp message carries beyond its text, as it is
// stored in the message's content: the media it came with, a location,
// shared contact cards, the button or row a customer tapped, what an
// agent sent (buttons, a list, a link button, a template, a reaction),
// and what Meta said about it.
type Content struct {
	// Kind is Meta's message type: text, image, …, button,
	// request_welcome, or an outbound interactive, template or reaction.
	Kind string `json:"wa_type"`
	// Timestamp is when WhatsApp says the customer sent it.
	Timestamp *time.Time `json:"timestamp,omitempty"`

	Media       *Media       `json:"media,omitempty"`
	Location    *Location    `json:"location,omitempty"`
	Contacts    []Card       `json:"contacts,omitempty"`
	Reply       *Reply       `json:"reply,omitempty"`
	Interactive *Interactive `json:"interactive,omitempty"`
	Template    *TemplateUse `json:"template,omitempty"`
	Reaction    *Reaction    `json:"reaction,omitempty"`
	System      *System      `json:"system,omitempty"`
	// Unsupported is the kind of message Meta could not pass on (a poll,
	// an edit…).
	Unsupported string  `json:"unsupported,omitempty"`
	Errors      []Error `json:"errors,omitempty"`
	// Raw is the message as Meta sent it, kept for kinds Switchboard
	// does not show.
	Raw json.RawMessage `json:"raw,omitempty"`

	Forwarded           bool      `json:"forwarded,omitempty"`
	FrequentlyForwarded bool      `json:"frequently_forwarded,omitempty"`
	Referral            *Referral `json:"referral,omitempty"`
}

// Media is an image, video, voice note, audio file, document or sticker.
// Inbound media is fetched from Meta at once; State says how that went.
type Media struct {
	ID       string `json:"id,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"` // base64, as Meta gives it
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
	// State is pending (being fetched), stored (attached to the message)
	// or failed (Error says why).
	State string `json:"state,omitempty"`
	Error string `json:"error,omitempty"`
}

// The media states.
const (
	MediaPending = "pending"
	MediaStored  = "stored"
	MediaFailed  = "failed"
)

// Location is a shared place.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// Card is a shared contact card.
type Card struct {
	Name         string      `json:"name"`
	Organization string      `json:"organization,omitempty"`
	Phones       []CardValue `json:"phones,omitempty"`
	Emails       []CardValue `json:"emails,omitempty"`
	URLs         []CardValue `json:"urls,omitempty"`
	Birthday     string      `json:"birthday,omitempty"`
}

// CardValue is one phone, email or URL of a card.
type CardValue struct {
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
}

// Reply is a customer's tap on a reply button, a list row or a template's
// quick-reply button.
type Reply struct {
	// Kind is button_reply, list_reply, template_button or another
	// interactive type (nfm_reply…).
	Kind        string `json:"kind"`
	ID          string `json:"id,omitempty"` // the button's or row's id; a template button's payload
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Response is the raw answer of types Switchboard does not show
	// (a WhatsApp Flow's response_json).
	Response string `json:"response,omitempty"`
}

// Reaction is an emoji on a message; an empty emoji removes it.
type Reaction struct {
	// MessageID is the reacted-to message in Switchboard.
	MessageID int64 `json:"message_id,omitempty"`
	// ChannelMessageID is its WhatsApp id.
	ChannelMessageID string `json:"channel_message_id,omitempty"`
	Emoji            string `json:"emoji"`
}

// System is a notice from WhatsApp about the customer (a changed number).
type System struct {
	Type    string `json:"type,omitempty"`
	Body    string `json:"body,omitempty"`
	WaID    string `json:"wa_id,omitempty"`
	NewWaID string `json:"new_wa_id,omitempty"`
	UserID  string `json:"user_id,omitempty"`
}

// Error is an error Meta reports in a webhook.
type Error struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// Referral is the ad or post a customer came from (click to WhatsApp).
type Referral struct {
	SourceURL  string `json:"source_url,omitempty"`
	SourceType string `json:"source_type,omitempty"`
	Headline   string `json:"headline,omitempty"`
	Body       string `json:"body,omitempty"`
}

// DecodeContent reads a WhatsApp message's content; ok is false for
// messages without one.
func DecodeContent(m *conversation.Message) (Content, bool) {
	var c Content
	if len(m.Content) == 0 || json.Unmarshal(m.Content, &c) != nil || c.Kind == "" {
		return Content{}, false
	}
	return c, true
}

func (c *Content) raw() json.RawMessage {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // only plain values
	}
	return b
}
