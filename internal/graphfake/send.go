package graphfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// sendRequest is a POST /{phone-number-id}/messages body (§3).
type sendRequest struct {
	MessagingProduct *string `json:"messaging_product"`
	RecipientType    string  `json:"recipient_type"`
	To               string  `json:"to"`
	Recipient        string  `json:"recipient"`
	Type             *string `json:"type"`
	Context          *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	BizOpaqueCallbackData *string `json:"biz_opaque_callback_data"`
	Status                string  `json:"status"`
	MessageID             string  `json:"message_id"`
	TypingIndicator       *struct {
		Type string `json:"type"`
	} `json:"typing_indicator"`
	Text *struct {
		Body       *string `json:"body"`
		PreviewURL bool    `json:"preview_url"`
	} `json:"text"`
	Image       *mediaRef       `json:"image"`
	Video       *mediaRef       `json:"video"`
	Audio       *mediaRef       `json:"audio"`
	Document    *mediaRef       `json:"document"`
	Sticker     *mediaRef       `json:"sticker"`
	Location    *locationSend   `json:"location"`
	Contacts    []SharedContact `json:"contacts"`
	Interactive *interactive    `json:"interactive"`
	Reaction    *struct {
		MessageID string  `json:"message_id"`
		Emoji     *string `json:"emoji"`
	} `json:"reaction"`
	Template *templateSend `json:"template"`
}

type mediaRef struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type locationSend struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Name      string   `json:"name"`
	Address   string   `json:"address"`
}

type interactive struct {
	Type   string `json:"type"`
	Header *struct {
		Type     string    `json:"type"`
		Text     string    `json:"text"`
		Image    *mediaRef `json:"image"`
		Video    *mediaRef `json:"video"`
		Document *mediaRef `json:"document"`
	} `json:"header"`
	Body *struct {
		Text string `json:"text"`
	} `json:"body"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Action *struct {
		Buttons []struct {
			Type  string `json:"type"`
			Reply struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"reply"`
		} `json:"buttons"`
		Button   string `json:"button"`
		Sections []struct {
			Title string `json:"title"`
			Rows  []struct {
				ID          string `json:"id"`
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"rows"`
		} `json:"sections"`
		Name       string `json:"name"`
		Parameters *struct {
			DisplayText string `json:"display_text"`
			URL         string `json:"url"`
		} `json:"parameters"`
	} `json:"action"`
}

type templateSend struct {
	Name     string `json:"name"`
	Language *struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	} `json:"language"`
	Components []struct {
		Type       string          `json:"type"`
		SubType    string          `json:"sub_type"`
		Index      json.RawMessage `json:"index"`
		Parameters []templateParam `json:"parameters"`
	} `json:"components"`
}

type templateParam struct {
	Type          string  `json:"type"`
	ParameterName string  `json:"parameter_name"`
	Text          *string `json:"text"`
	Payload       string  `json:"payload"`
	Currency      *struct {
		FallbackValue string `json:"fallback_value"`
		Code          string `json:"code"`
		Amount1000    int64  `json:"amount_1000"`
	} `json:"currency"`
	DateTime *struct {
		FallbackValue string `json:"fallback_value"`
	} `json:"date_time"`
	Image    *mediaRef `json:"image"`
	Video    *mediaRef `json:"video"`
	Document *mediaRef `json:"document"`
}

var bsuidRE = regexp.MustCompile(`^[A-Z]{2}\.(ENT\.)?[0-9A-Za-z]{1,128}$`)

// send answers POST /{phone-number-id}/messages: a message (validated as
// Meta does, §3 and §4) or a mark-as-read with optional typing indicator.
func (c *call) send() (any, *Error) {
	f, n := c.f, c.number
	body, err := io.ReadAll(io.LimitReader(c.r.Body, 4<<20))
	if err != nil {
		return nil, invalidParam("Could not read the request body")
	}
	var req sendRequest
	decErr := json.Unmarshal(body, &req)
	if decErr != nil && strings.HasPrefix(strings.TrimSpace(c.r.Header.Get("Content-Type")), "application/x-www-form-urlencoded") {
		if j, ok := formToJSON(body); ok {
			body, decErr = j, json.Unmarshal(j, &req)
		}
	}
	cb := ""
	if req.BizOpaqueCallbackData != nil {
		cb = *req.BizOpaqueCallbackData
	}
	attempt := Attempt{At: f.now(), PhoneNumberID: n.ID, CallbackData: cb, Read: req.Status == "read"}
	if req.Status != "" {
		attempt.Typing, attempt.Marked = req.TypingIndicator != nil, req.MessageID
	}
	f.mu.Lock()
	inject := f.injection(EndpointMessages, n.ID)
	if inject != nil && !inject.drop {
		attempt.Status, attempt.Code, attempt.Injected = inject.status(), inject.Code, true
		f.attempts = append(f.attempts, attempt)
		f.mu.Unlock()
		return nil, inject
	}
	f.mu.Unlock()
	out, e := c.sendChecked(body, &req, decErr, &attempt)
	if inject != nil { // carried out, answer lost
		f.mu.Lock()
		attempt.Status, attempt.Injected = 0, true
		if e != nil {
			attempt.Code = e.Code
		}
		f.attempts = append(f.attempts, attempt)
		f.mu.Unlock()
		return nil, inject
	}
	f.mu.Lock()
	if e != nil {
		attempt.Status, attempt.Code = e.status(), e.Code
	} else {
		attempt.Status = http.StatusOK
	}
	f.attempts = append(f.attempts, attempt)
	f.mu.Unlock()
	return out, e
}

// formToJSON turns Graph's form encoding (nested values as JSON strings)
// into a JSON object.
func formToJSON(body []byte) ([]byte, bool) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	for k, v := range vals {
		if len(v) == 0 {
			continue
		}
		s := v[0]
		if json.Valid([]byte(s)) && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) {
			m[k] = json.RawMessage(s)
		} else {
			m[k], _ = json.Marshal(s)
		}
	}
	b, err := json.Marshal(m)
	return b, err == nil
}

func (c *call) sendChecked(body []byte, req *sendRequest, decErr error, attempt *Attempt) (any, *Error) {
	f, n := c.f, c.number
	if req.MessagingProduct == nil {
		return nil, requiredParam("messaging_product")
	}
	if decErr != nil {
		return nil, invalidParam("Invalid parameter")
	}
	if !strings.EqualFold(*req.MessagingProduct, "whatsapp") {
		return nil, invalidParam("Param messaging_product must be one of {WHATSAPP} - got %q.", *req.MessagingProduct)
	}
	if req.Status != "" {
		return c.markRead(req)
	}
	if req.RecipientType != "" && req.RecipientType != "individual" {
		return nil, invalidParam("Param recipient_type must be one of {INDIVIDUAL} - got %q.", req.RecipientType)
	}
	typ := "text"
	if req.Type != nil {
		typ = *req.Type
	}
	if req.BizOpaqueCallbackData != nil && utf8.RuneCountInString(*req.BizOpaqueCallbackData) > 512 {
		return nil, invalidParam("Param biz_opaque_callback_data must be at most 512 chars long.")
	}

	// The recipient: "to" wins over "recipient"; a BSUID must be known.
	f.mu.Lock()
	var cust *Customer
	input, byBSUID := req.To, false
	switch {
	case req.To != "" || (req.Recipient != "" && !bsuidRE.MatchString(req.Recipient)):
		if input == "" {
			input = req.Recipient
		}
		d := digitsOnly(input)
		if len(d) < 7 || len(d) > 15 || strings.ContainsAny(input, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			f.mu.Unlock()
			return nil, notValid("The phone number %q is not a valid WhatsApp phone number.", input)
		}
		if d == n.Phone {
			f.mu.Unlock()
			return nil, oauth(400, 131021, "Recipient cannot be sender", "Sender and recipient phone number is the same.")
		}
		cust = f.customer(Customer{Phone: d})
	case req.Recipient != "":
		input, byBSUID = req.Recipient, true
		cust = f.customers[req.Recipient]
		if cust == nil {
			for _, x := range f.customers {
				if x.ParentUserID == req.Recipient {
					cust = x
				}
			}
		}
		if cust == nil {
			f.mu.Unlock()
			return nil, objectMissing(http.MethodPost, req.Recipient)
		}
	default:
		f.mu.Unlock()
		return nil, requiredParam("to")
	}
	f.mu.Unlock()

	if e := c.validate(typ, req); e != nil {
		return nil, e
	}
	if req.Context != nil && req.Context.MessageID == "" {
		return nil, requiredParam("context['message_id']")
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if byBSUID && typ == "template" {
		// Authentication templates with one-tap, zero-tap or copy-code
		// buttons need a phone number.
		if t := f.findTemplate(n.WABAID, req.Template); t != nil && t.Category == "AUTHENTICATION" {
			return nil, oauth(400, 131062, "Business-scoped User ID (BSUID) recipients are not supported for this message",
				"Authentication templates require a phone number recipient.")
		}
	}
	var tmpl *Template
	category := "service"
	if typ == "template" {
		t, e := f.checkTemplateSend(n.WABAID, req.Template)
		if e != nil {
			return nil, e
		}
		tmpl = cloneTemplate(t)
		category = strings.ToLower(t.Category)
	}
	if typ != "template" {
		if e := f.checkMedia(n.ID, typ, req); e != nil {
			return nil, e
		}
	}
	now := f.now()
	inWindow := f.opt.IgnoreWindow || now.Sub(f.lastInboundAt(n.ID, cust.UserID)) < 24*time.Hour
	var fail *WebhookError
	if !inWindow && typ != "template" {
		if f.opt.SyncWindowErrors {
			return nil, ErrReengagement()
		}
		e := FailureError(131047)
		fail = &e
	}
	if e := f.limit(n.ID, cust.UserID); e != nil {
		return nil, e
	}
	if fail == nil && cust.Phone != "" && f.undeliver[cust.Phone] {
		e := FailureError(131026)
		fail = &e
	}
	if fail == nil && typ == "reaction" {
		target, ok := f.messages[req.Reaction.MessageID]
		if !ok || target.PhoneNumberID != n.ID || target.Customer != cust.UserID || target.Type == "reaction" || now.Sub(target.Timestamp) > 30*24*time.Hour {
			e := FailureError(131009)
			fail = &e
		}
	}

	user := cust.Phone
	if user == "" {
		user = cust.UserID
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) != nil {
		compact.Reset()
		compact.Write(body)
	}
	m := &ChatMessage{
		ID: f.wamid(user, true), PhoneNumberID: n.ID, Customer: cust.UserID, FromBusiness: true, Type: typ,
		Status: "accepted", Timestamp: now, Body: compact.Bytes(), Template: tmpl, Recipient: input,
		version: c.major, category: category, byBSUID: byBSUID,
	}
	if req.BizOpaqueCallbackData != nil {
		m.CallbackData = *req.BizOpaqueCallbackData
		f.accepted[m.CallbackData]++
	}
	if !inWindow && category == "utility" {
		m.category = "utility"
	}
	t := f.threadOf(n.ID, cust)
	t.messages = append(t.messages, m)
	if !t.typingUntil.IsZero() {
		t.typingUntil = time.Time{}
		f.publish(Event{Kind: EventTyping, PhoneNumberID: n.ID, Customer: cust.UserID})
	}
	f.messages[m.ID] = m
	f.sent = append(f.sent, m)
	attempt.MessageID = m.ID
	f.publish(Event{Kind: EventMessage, PhoneNumberID: n.ID, Customer: cust.UserID, Message: m})
	f.schedule(m, fail)

	contact := object{{"input", input}}
	if byBSUID && cust.Phone == "" {
		contact = append(contact, field{"user_id", cust.UserID})
	} else {
		contact = append(contact, field{"wa_id", cust.Phone})
	}
	return object{
		{"messaging_product", "whatsapp"},
		{"contacts", []object{contact}},
		{"messages", []object{{{"id", m.ID}, {"message_status", "accepted"}}}},
	}, nil
}

// findTemplate finds the template a send names. f.mu is held.
func (f *Fake) findTemplate(wabaID string, ts *templateSend) *Template {
	if ts == nil || ts.Language == nil {
		return nil
	}
	for _, t := range f.templates {
		if t.WABAID == wabaID && t.Name == ts.Name && t.Language == ts.Language.Code {
			return t
		}
	}
	return nil
}

// markRead answers {"status":"read","message_id":…}: the customer's
// message (and the earlier ones) turn read, and typing_indicator shows
// "typing…" for up to 25 s.
func (c *call) markRead(req *sendRequest) (any, *Error) {
	f, n := c.f, c.number
	if req.Status != "read" {
		return nil, invalidParam("Param status must be one of {READ} - got %q.", req.Status)
	}
	if req.MessageID == "" {
		return nil, requiredParam("message_id")
	}
	if req.TypingIndicator != nil && req.TypingIndicator.Type != "text" {
		return nil, invalidParam("Param typing_indicator['type'] must be one of {TEXT} - got %q.", req.TypingIndicator.Type)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.messages[req.MessageID]
	if !ok || m.PhoneNumberID != n.ID {
		return nil, objectMissing(http.MethodPost, req.MessageID)
	}
	if m.FromBusiness {
		return nil, invalidParamDetails("Message %s was sent by the business; only received messages can be marked as read.", req.MessageID)
	}
	t := f.threads[threadKey{n.ID, m.Customer}]
	for _, x := range t.messages {
		if !x.FromBusiness && x.Status != "read" && !x.Timestamp.After(m.Timestamp) {
			x.Status = "read"
			f.publish(Event{Kind: EventStatus, PhoneNumberID: n.ID, Customer: m.Customer, Message: x})
		}
	}
	if req.TypingIndicator != nil {
		until := f.now().Add(25 * time.Second)
		t.typingUntil = until
		f.publish(Event{Kind: EventTyping, PhoneNumberID: n.ID, Customer: m.Customer, Typing: true})
		user := m.Customer
		f.afterLocked(25*time.Second, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if t.typingUntil.Equal(until) {
				t.typingUntil = time.Time{}
				f.publish(Event{Kind: EventTyping, PhoneNumberID: n.ID, Customer: user})
			}
		})
	}
	return object{{"success", true}}, nil
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// validate checks a message's body against Meta's rules for its type.
func (c *call) validate(typ string, req *sendRequest) *Error {
	switch typ {
	case "text":
		if req.Text == nil {
			return requiredParam("text")
		}
		if req.Text.Body == nil || *req.Text.Body == "" {
			return requiredParam("text['body']")
		}
		if runes(*req.Text.Body) > 4096 {
			return invalidParam("Param text['body'] must be at most 4096 characters long.")
		}
	case "image", "video", "audio", "document", "sticker":
		ref := map[string]*mediaRef{"image": req.Image, "video": req.Video, "audio": req.Audio, "document": req.Document, "sticker": req.Sticker}[typ]
		if ref == nil {
			return requiredParam(typ)
		}
		if e := checkRef(typ, ref); e != nil {
			return e
		}
		if ref.Caption != "" && (typ == "audio" || typ == "sticker") {
			return notValid("%s messages do not take a caption.", typ)
		}
		if runes(ref.Caption) > 1024 {
			return invalidParam("Param %s['caption'] must be at most 1024 characters long.", typ)
		}
		if ref.Filename != "" && typ != "document" {
			return notValid("Only documents take a filename.")
		}
	case "location":
		l := req.Location
		if l == nil {
			return requiredParam("location")
		}
		if l.Latitude == nil {
			return requiredParam("location['latitude']")
		}
		if l.Longitude == nil {
			return requiredParam("location['longitude']")
		}
		if *l.Latitude < -90 || *l.Latitude > 90 || *l.Longitude < -180 || *l.Longitude > 180 {
			return notValid("Latitude must be between -90 and 90 and longitude between -180 and 180.")
		}
	case "contacts":
		if len(req.Contacts) == 0 {
			return requiredParam("contacts")
		}
		for i, ct := range req.Contacts {
			if ct.Name.FormattedName == "" {
				return requiredParam(fmt.Sprintf("contacts[%d]['name']['formatted_name']", i))
			}
		}
	case "interactive":
		return validateInteractive(req.Interactive)
	case "reaction":
		if req.Reaction == nil {
			return requiredParam("reaction")
		}
		if req.Reaction.MessageID == "" {
			return requiredParam("reaction['message_id']")
		}
		if req.Reaction.Emoji == nil {
			return requiredParam("reaction['emoji']")
		}
		if e := *req.Reaction.Emoji; e != "" && (runes(e) > 10 || !hasEmoji(e)) {
			return notValid("Reaction emoji %q is not a valid emoji.", e)
		}
	case "template":
		if req.Template == nil {
			return requiredParam("template")
		}
	default:
		return oauth(400, 131051, "Unsupported message type", fmt.Sprintf("Message type %s is not currently supported.", typ))
	}
	return nil
}

func checkRef(name string, ref *mediaRef) *Error {
	switch {
	case ref.ID == "" && ref.Link == "":
		return missingParam("%s: one of id or link is required.", name)
	case ref.ID != "" && ref.Link != "":
		return notValid("%s: send either an id or a link, not both.", name)
	case ref.Link != "" && !httpURL(ref.Link):
		return notValid("%s: link %q is not a valid http(s) URL.", name, ref.Link)
	}
	return nil
}

// checkMedia checks that media ids a message uses are this number's and
// of the right kind. f.mu is held.
func (f *Fake) checkMedia(pnid, typ string, req *sendRequest) *Error {
	check := func(kind string, ref *mediaRef) *Error {
		if ref == nil || ref.ID == "" {
			return nil
		}
		o, ok := f.media[ref.ID]
		if !ok || o.deleted || o.pnid != pnid {
			return notValid("Invalid media id: %s.", ref.ID)
		}
		got, _ := kindOf(o.mime)
		// Any supported file may go as a document.
		if got != kind && !(kind == "document" && got != "") {
			return notValid("Media %s is %s, which cannot be sent as %s.", ref.ID, o.mime, kind)
		}
		return nil
	}
	switch typ {
	case "image":
		return check("image", req.Image)
	case "video":
		return check("video", req.Video)
	case "audio":
		return check("audio", req.Audio)
	case "document":
		return check("document", req.Document)
	case "sticker":
		return check("sticker", req.Sticker)
	case "interactive":
		if h := req.Interactive.Header; h != nil {
			for kind, ref := range map[string]*mediaRef{"image": h.Image, "video": h.Video, "document": h.Document} {
				if e := check(kind, ref); e != nil {
					return e
				}
			}
		}
	}
	return nil
}

func validateInteractive(in *interactive) *Error {
	if in == nil {
		return requiredParam("interactive")
	}
	if in.Type == "" {
		return requiredParam("interactive['type']")
	}
	bodyMax := 1024
	switch in.Type {
	case "button", "cta_url":
	case "list":
		bodyMax = 4096
	case "location_request_message", "contact_request", "flow", "product", "product_list", "address_message", "call_permission_request":
		// Accepted as they are; the fake checks only what all share.
	default:
		return invalidParam("Param interactive['type'] must be one of {BUTTON, LIST, CTA_URL, PRODUCT, PRODUCT_LIST, FLOW, LOCATION_REQUEST_MESSAGE, CONTACT_REQUEST, ADDRESS_MESSAGE} - got %q.", in.Type)
	}
	if in.Body == nil || in.Body.Text == "" {
		if in.Type != "product" && in.Type != "product_list" {
			return requiredParam("interactive['body']['text']")
		}
	} else if runes(in.Body.Text) > bodyMax {
		return notValid("Body text length invalid. Min length: 1, Max length: %d", bodyMax)
	}
	if in.Footer != nil && runes(in.Footer.Text) > 60 {
		return notValid("Footer text length invalid. Min length: 1, Max length: 60")
	}
	if h := in.Header; h != nil {
		switch h.Type {
		case "text":
			if h.Text == "" || runes(h.Text) > 60 {
				return notValid("Header text length invalid. Min length: 1, Max length: 60")
			}
		case "image", "video", "document":
			if in.Type == "list" {
				return notValid("Header type %s is not supported for list messages; use a text header.", h.Type)
			}
			ref := map[string]*mediaRef{"image": h.Image, "video": h.Video, "document": h.Document}[h.Type]
			if ref == nil {
				return requiredParam(fmt.Sprintf("interactive['header']['%s']", h.Type))
			}
			if e := checkRef("header "+h.Type, ref); e != nil {
				return e
			}
		default:
			return invalidParam("Param interactive['header']['type'] must be one of {TEXT, IMAGE, VIDEO, DOCUMENT} - got %q.", h.Type)
		}
	}
	a := in.Action
	switch in.Type {
	case "button":
		if a == nil || len(a.Buttons) == 0 {
			return requiredParam("interactive['action']['buttons']")
		}
		if len(a.Buttons) > 3 {
			return notValid("Buttons count invalid. Min count: 1, Max count: 3")
		}
		ids, titles := map[string]bool{}, map[string]bool{}
		for _, b := range a.Buttons {
			if b.Type != "reply" {
				return invalidParam("Param interactive['action']['buttons'][]['type'] must be one of {REPLY} - got %q.", b.Type)
			}
			if n := runes(b.Reply.Title); n < 1 || n > 20 {
				return notValid("Button title length invalid. Min length: 1, Max length: 20")
			}
			if n := runes(b.Reply.ID); n < 1 || n > 256 {
				return notValid("Button id length invalid. Min length: 1, Max length: 256")
			}
			if ids[b.Reply.ID] {
				return notValid("Duplicate button id: %s", b.Reply.ID)
			}
			if titles[b.Reply.Title] {
				return notValid("Duplicate button title: %s", b.Reply.Title)
			}
			ids[b.Reply.ID], titles[b.Reply.Title] = true, true
		}
	case "list":
		if a == nil {
			return requiredParam("interactive['action']")
		}
		if n := runes(a.Button); n < 1 || n > 20 {
			return notValid("Button title length invalid. Min length: 1, Max length: 20")
		}
		if len(a.Sections) == 0 || len(a.Sections) > 10 {
			return notValid("Sections count invalid. Min count: 1, Max count: 10")
		}
		rows := 0
		ids := map[string]bool{}
		for _, s := range a.Sections {
			if runes(s.Title) > 24 {
				return notValid("Section title length invalid. Min length: 1, Max length: 24")
			}
			if s.Title == "" && len(a.Sections) > 1 {
				return requiredParam("interactive['action']['sections'][]['title']")
			}
			if len(s.Rows) == 0 {
				return notValid("Rows count invalid. Min count: 1, Max count: 10")
			}
			for _, r := range s.Rows {
				rows++
				if n := runes(r.ID); n < 1 || n > 200 {
					return notValid("Row id length invalid. Min length: 1, Max length: 200")
				}
				if n := runes(r.Title); n < 1 || n > 24 {
					return notValid("Row title length invalid. Min length: 1, Max length: 24")
				}
				if runes(r.Description) > 72 {
					return notValid("Row description length invalid. Min length: 1, Max length: 72")
				}
				if ids[r.ID] {
					return notValid("Duplicate row id: %s", r.ID)
				}
				ids[r.ID] = true
			}
		}
		if rows > 10 {
			return notValid("Total row count exceed max allowed count: 10")
		}
	case "cta_url":
		if a == nil || a.Parameters == nil {
			return requiredParam("interactive['action']['parameters']")
		}
		if a.Name != "cta_url" {
			return invalidParam("Param interactive['action']['name'] must be one of {CTA_URL} - got %q.", a.Name)
		}
		if n := runes(a.Parameters.DisplayText); n < 1 || n > 20 {
			return notValid("Display text length invalid. Min length: 1, Max length: 20")
		}
		if !httpURL(a.Parameters.URL) {
			return notValid("Invalid URL: %q", a.Parameters.URL)
		}
	}
	return nil
}
