package graphfake

// The webhook payloads, field for field and in the order Meta writes them
// (whatsapp-cloud-api.md §2). Timestamps are strings of Unix seconds;
// entry[].time is a number.

// Payload is the body of one webhook POST.
type Payload struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is one WhatsApp Business Account's share of a payload.
type Entry struct {
	ID      string   `json:"id"`
	Time    int64    `json:"time,omitempty"`
	Changes []Change `json:"changes"`
}

// Change is one subscribed field's update; Value is *MessagesValue for the
// "messages" field and *TemplateStatusValue for templates.
type Change struct {
	Value any    `json:"value"`
	Field string `json:"field"`
}

// MessagesValue is the value of a "messages" change: inbound messages
// with their senders, statuses of outbound messages, or errors.
type MessagesValue struct {
	MessagingProduct string         `json:"messaging_product"`
	Metadata         Metadata       `json:"metadata"`
	Contacts         []Contact      `json:"contacts,omitempty"`
	Messages         []Message      `json:"messages,omitempty"`
	Statuses         []Status       `json:"statuses,omitempty"`
	Errors           []WebhookError `json:"errors,omitempty"`
}

// Metadata names the business number a change is about.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is a WhatsApp user's profile as webhooks carry it. WaID is
// absent for a user whose phone number is withheld (§2.9).
type Contact struct {
	Profile      Profile `json:"profile"`
	WaID         string  `json:"wa_id,omitempty"`
	UserID       string  `json:"user_id,omitempty"`
	ParentUserID string  `json:"parent_user_id,omitempty"`
}

// Profile is a user's display name and, if they adopted one, username.
type Profile struct {
	Name     string `json:"name"`
	Username string `json:"username,omitempty"`
}

// Message is an inbound message; the body is in the field named after
// Type.
type Message struct {
	Context          *Context            `json:"context,omitempty"`
	From             string              `json:"from,omitempty"`
	FromUserID       string              `json:"from_user_id,omitempty"`
	FromParentUserID string              `json:"from_parent_user_id,omitempty"`
	ID               string              `json:"id"`
	Timestamp        string              `json:"timestamp"`
	Errors           []WebhookError      `json:"errors,omitempty"`
	Type             string              `json:"type"`
	Text             *TextBody           `json:"text,omitempty"`
	Image            *MediaNode          `json:"image,omitempty"`
	Video            *MediaNode          `json:"video,omitempty"`
	Audio            *MediaNode          `json:"audio,omitempty"`
	Document         *MediaNode          `json:"document,omitempty"`
	Sticker          *MediaNode          `json:"sticker,omitempty"`
	Location         *Location           `json:"location,omitempty"`
	Contacts         []SharedContact     `json:"contacts,omitempty"`
	Interactive      *InteractiveReply   `json:"interactive,omitempty"`
	Button           *TemplateButtonTap  `json:"button,omitempty"`
	Reaction         *Reaction           `json:"reaction,omitempty"`
	System           *System             `json:"system,omitempty"`
	Unsupported      *UnsupportedMessage `json:"unsupported,omitempty"`
	Referral         *Referral           `json:"referral,omitempty"`
}

// Context is what a message answers or how it was forwarded.
type Context struct {
	From                string           `json:"from,omitempty"`
	ID                  string           `json:"id,omitempty"`
	Forwarded           bool             `json:"forwarded,omitempty"`
	FrequentlyForwarded bool             `json:"frequently_forwarded,omitempty"`
	ReferredProduct     *ReferredProduct `json:"referred_product,omitempty"`
}

// ReferredProduct is the catalog item a message asks about.
type ReferredProduct struct {
	CatalogID         string `json:"catalog_id"`
	ProductRetailerID string `json:"product_retailer_id"`
}

// TextBody is a text message's body.
type TextBody struct {
	Body string `json:"body"`
}

// MediaNode describes an inbound file. Voice is present on every audio
// node and Animated on every sticker node.
type MediaNode struct {
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	ID       string `json:"id"`
	URL      string `json:"url,omitempty"`
	Voice    *bool  `json:"voice,omitempty"`
	Animated *bool  `json:"animated,omitempty"`
}

// Location is a shared place.
type Location struct {
	Address   string  `json:"address,omitempty"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// SharedContact is a contact card, inbound and outbound alike.
type SharedContact struct {
	Addresses []ContactAddress `json:"addresses,omitempty"`
	Birthday  string           `json:"birthday,omitempty"`
	Emails    []ContactEmail   `json:"emails,omitempty"`
	Name      ContactName      `json:"name"`
	Org       *ContactOrg      `json:"org,omitempty"`
	Phones    []ContactPhone   `json:"phones,omitempty"`
	URLs      []ContactURL     `json:"urls,omitempty"`
}

// ContactAddress is an address on a contact card.
type ContactAddress struct {
	City        string `json:"city,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	State       string `json:"state,omitempty"`
	Street      string `json:"street,omitempty"`
	Type        string `json:"type,omitempty"`
	Zip         string `json:"zip,omitempty"`
}

// ContactEmail is an email on a contact card.
type ContactEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactName is the name on a contact card; FormattedName is required.
type ContactName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

// ContactOrg is the organisation on a contact card.
type ContactOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// ContactPhone is a phone number on a contact card.
type ContactPhone struct {
	Phone string `json:"phone,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactURL is a web address on a contact card.
type ContactURL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

// InteractiveReply is a tap on a reply button or a list row.
type InteractiveReply struct {
	Type        string       `json:"type"`
	ButtonReply *ReplyChoice `json:"button_reply,omitempty"`
	ListReply   *ReplyChoice `json:"list_reply,omitempty"`
}

// ReplyChoice is the button or row the user picked.
type ReplyChoice struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// TemplateButtonTap is a tap on a template's quick-reply button.
type TemplateButtonTap struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// Reaction is an emoji on a message; no Emoji means it was removed.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji,omitempty"`
}

// System is a change on the user's side (a new number or BSUID).
type System struct {
	Body     string `json:"body"`
	WaID     string `json:"wa_id,omitempty"`
	NewWaID  string `json:"new_wa_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	Type     string `json:"type"`
	Identity string `json:"identity,omitempty"`
}

// UnsupportedMessage names what this API version cannot represent.
type UnsupportedMessage struct {
	Type string `json:"type"`
}

// Referral says the user came from an ad or a post.
type Referral struct {
	SourceURL      string          `json:"source_url"`
	SourceID       string          `json:"source_id,omitempty"`
	SourceType     string          `json:"source_type"`
	Body           string          `json:"body,omitempty"`
	Headline       string          `json:"headline,omitempty"`
	MediaType      string          `json:"media_type,omitempty"`
	ImageURL       string          `json:"image_url,omitempty"`
	VideoURL       string          `json:"video_url,omitempty"`
	ThumbnailURL   string          `json:"thumbnail_url,omitempty"`
	CtwaClid       string          `json:"ctwa_clid,omitempty"`
	WelcomeMessage *WelcomeMessage `json:"welcome_message,omitempty"`
}

// WelcomeMessage is the greeting an ad pre-filled.
type WelcomeMessage struct {
	Text string `json:"text"`
}

// Status is a step in an outbound message's life.
type Status struct {
	ID                    string         `json:"id"`
	Status                string         `json:"status"`
	Timestamp             string         `json:"timestamp"`
	RecipientID           string         `json:"recipient_id,omitempty"`
	RecipientUserID       string         `json:"recipient_user_id,omitempty"`
	BizOpaqueCallbackData string         `json:"biz_opaque_callback_data,omitempty"`
	Conversation          *Conversation  `json:"conversation,omitempty"`
	Pricing               *Pricing       `json:"pricing,omitempty"`
	Errors                []WebhookError `json:"errors,omitempty"`
}

// Conversation is the billing conversation of a status (up to v23.0).
type Conversation struct {
	ID                  string `json:"id"`
	ExpirationTimestamp string `json:"expiration_timestamp,omitempty"`
	Origin              Origin `json:"origin"`
}

// Origin is what opened a billing conversation.
type Origin struct {
	Type string `json:"type"`
}

// Pricing is how a message is billed.
type Pricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Type         string `json:"type"`
	Category     string `json:"category"`
}

// WebhookError is an error as webhooks carry it (a different shape from
// the Graph error envelope).
type WebhookError struct {
	Code      int             `json:"code"`
	Title     string          `json:"title"`
	Message   string          `json:"message"`
	ErrorData *WebhookErrData `json:"error_data,omitempty"`
	Href      string          `json:"href,omitempty"`
}

// WebhookErrData carries an error's details.
type WebhookErrData struct {
	Details string `json:"details"`
}

// TemplateStatusValue is the value of a message_template_status_update
// change. Reason is null when the template is deleted.
type TemplateStatusValue struct {
	Event                   string         `json:"event"`
	MessageTemplateID       int64          `json:"message_template_id"`
	MessageTemplateName     string         `json:"message_template_name"`
	MessageTemplateLanguage string         `json:"message_template_language"`
	Reason                  *string        `json:"reason"`
	MessageTemplateCategory string         `json:"message_template_category,omitempty"`
	RejectionInfo           *RejectionInfo `json:"rejection_info,omitempty"`
	OtherInfo               *OtherInfo     `json:"other_info,omitempty"`
	DisableInfo             *DisableInfo   `json:"disable_info,omitempty"`
}

// RejectionInfo explains an INVALID_FORMAT rejection.
type RejectionInfo struct {
	Reason         string `json:"reason"`
	Recommendation string `json:"recommendation"`
}

// OtherInfo explains a pause or a disable.
type OtherInfo struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

// DisableInfo says when a template was disabled.
type DisableInfo struct {
	DisableDate string `json:"disable_date"`
}

const errorCodesHref = "/documentation/business-messaging/whatsapp/support/error-codes"

// webhookError builds the webhook-side error object for a code.
func webhookError(code int, title, details string) WebhookError {
	e := WebhookError{Code: code, Title: title, Message: title, Href: errorCodesHref}
	if details != "" {
		e.ErrorData = &WebhookErrData{Details: details}
	}
	return e
}
