package graphfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// In is a message a customer sends, built with Text, Image, Place,
// ButtonReply, … and refined with ReplyTo, Forwarded, FromAd.
type In struct {
	msg       Message
	media     *upload
	replyTo   string
	forwarded int // 1 forwarded, 2 frequently forwarded
	product   *ReferredProduct
	newPhone  string // ChangedNumber
}

type upload struct {
	data     []byte
	mime     string
	filename string
}

// Text is a text message (ice-breaker taps and /commands arrive as text
// too).
func Text(body string) In { return In{msg: Message{Type: "text", Text: &TextBody{Body: body}}} }

func mediaIn(kind string, data []byte, mime, caption, filename string) In {
	if mime == "" {
		mime = http.DetectContentType(data)
	}
	node := &MediaNode{Caption: caption, Filename: filename, MimeType: mime}
	in := In{msg: Message{Type: kind}, media: &upload{data: data, mime: mime, filename: filename}}
	switch kind {
	case "image":
		in.msg.Image = node
	case "video":
		in.msg.Video = node
	case "audio":
		in.msg.Audio = node
	case "document":
		in.msg.Document = node
	case "sticker":
		in.msg.Sticker = node
	}
	return in
}

// Image is a photo with an optional caption; data becomes real media the
// business can download with its token. An empty mime is sniffed.
func Image(data []byte, mime, caption string) In { return mediaIn("image", data, mime, caption, "") }

// Video is a video with an optional caption.
func Video(data []byte, mime, caption string) In { return mediaIn("video", data, mime, caption, "") }

// Audio is an audio file; voice marks a voice note.
func Audio(data []byte, mime string, voice bool) In {
	in := mediaIn("audio", data, mime, "", "")
	in.msg.Audio.Voice = &voice
	return in
}

// Document is a file with its name and an optional caption.
func Document(data []byte, mime, filename, caption string) In {
	return mediaIn("document", data, mime, caption, filename)
}

// Sticker is a WebP sticker.
func Sticker(data []byte, animated bool) In {
	in := mediaIn("sticker", data, "image/webp", "", "")
	in.msg.Sticker.Animated = &animated
	return in
}

// Place is a shared location.
func Place(lat, lon float64, name, address string) In {
	return In{msg: Message{Type: "location", Location: &Location{Latitude: lat, Longitude: lon, Name: name, Address: address}}}
}

// ContactCards shares contact cards.
func ContactCards(cards ...SharedContact) In {
	return In{msg: Message{Type: "contacts", Contacts: cards}}
}

// ButtonReply is a tap on reply button id/title of the business message
// messageID.
func ButtonReply(messageID, id, title string) In {
	return In{replyTo: messageID, msg: Message{Type: "interactive", Interactive: &InteractiveReply{Type: "button_reply", ButtonReply: &ReplyChoice{ID: id, Title: title}}}}
}

// ListReply is a pick of row id of the list message messageID.
func ListReply(messageID, id, title, description string) In {
	return In{replyTo: messageID, msg: Message{Type: "interactive", Interactive: &InteractiveReply{Type: "list_reply", ListReply: &ReplyChoice{ID: id, Title: title, Description: description}}}}
}

// QuickReply is a tap on a template's quick-reply button: payload is what
// the send set for the button (or its label), text the label.
func QuickReply(messageID, payload, text string) In {
	return In{replyTo: messageID, msg: Message{Type: "button", Button: &TemplateButtonTap{Payload: payload, Text: text}}}
}

// React puts an emoji on a message; an empty emoji removes the reaction.
func React(messageID, emoji string) In {
	return In{msg: Message{Type: "reaction", Reaction: &Reaction{MessageID: messageID, Emoji: emoji}}}
}

// RequestWelcome is the "opened the chat" event of a user who has no
// chat with the business yet.
func RequestWelcome() In { return In{msg: Message{Type: "request_welcome"}} }

// UnsupportedType is a message this API version cannot represent (a
// poll, an edit, …): kind names it, e.g. "poll_creation" or "edit".
func UnsupportedType(kind string) In {
	return In{msg: Message{Type: "unsupported", Unsupported: &UnsupportedMessage{Type: kind},
		Errors: []WebhookError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
			ErrorData: &WebhookErrData{Details: "Message type is currently not supported."}}}}}
}

// ChangedNumber is the system message of a user who moved to newPhone:
// the customer's phone changes and the webhook carries no contacts.
func ChangedNumber(newPhone string) In {
	return In{newPhone: digitsOnly(newPhone), msg: Message{Type: "system"}}
}

// ReplyTo quotes a message (context.id).
func (in In) ReplyTo(messageID string) In { in.replyTo = messageID; return in }

// Forwarded marks the message forwarded (frequently: five times or more).
func (in In) Forwarded(frequently bool) In {
	in.forwarded = 1
	if frequently {
		in.forwarded = 2
	}
	return in
}

// FromAd adds a click-to-WhatsApp referral.
func (in In) FromAd(r Referral) In { in.msg.Referral = &r; return in }

// AboutProduct adds a product enquiry to the context.
func (in In) AboutProduct(catalogID, retailerID string) In {
	in.product = &ReferredProduct{CatalogID: catalogID, ProductRetailerID: retailerID}
	return in
}

// Type is the message type.
func (in In) Type() string { return in.msg.Type }

// Batch collects webhook content to post as one delivery: an entry per
// business account, a change per number and customer, many messages per
// change, as Meta batches under load. A batch goes to the webhook of the
// first number it names.
type Batch struct {
	f       *Fake
	payload Payload
	values  map[threadKey]*MessagesValue
	pnid    string
	acks    []string // customer messages delivered when acknowledged
	badSig  bool
}

// Batch starts an empty batch.
func (f *Fake) Batch() *Batch {
	return &Batch{f: f, payload: Payload{Object: "whatsapp_business_account"}, values: map[threadKey]*MessagesValue{}}
}

// BadSignature signs the batch with a wrong secret.
func (b *Batch) BadSignature() *Batch { b.badSig = true; return b }

// Len returns how many messages, statuses and errors the batch holds.
func (b *Batch) Len() int {
	n := 0
	for _, v := range b.values {
		n += len(v.Messages) + len(v.Statuses) + len(v.Errors)
	}
	return n
}

// Inbound adds a customer's message and returns its wamid.
func (b *Batch) Inbound(pnid string, from Customer, in In) (string, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.numbers[pnid]
	if !ok {
		return "", fmt.Errorf("graphfake: no number %s", pnid)
	}
	c := f.customer(from)
	now := f.now()
	m := in.msg
	user := c.Phone
	if user == "" {
		user = c.UserID
	}
	m.ID = f.wamid(user, false)
	m.Timestamp = unix(now)
	m.From, m.FromUserID, m.FromParentUserID = c.Phone, c.UserID, c.ParentUserID
	if in.replyTo != "" {
		target, ok := f.messages[in.replyTo]
		if !ok || target.PhoneNumberID != pnid {
			return "", fmt.Errorf("graphfake: no message %s in the chats of %s", in.replyTo, pnid)
		}
		m.Context = &Context{From: n.Phone, ID: in.replyTo}
	}
	if in.forwarded > 0 || in.product != nil {
		if m.Context == nil {
			m.Context = &Context{}
		}
		m.Context.Forwarded = in.forwarded == 1
		m.Context.FrequentlyForwarded = in.forwarded == 2
		m.Context.ReferredProduct = in.product
	}
	switch m.Type {
	case "reaction":
		if _, ok := f.messages[m.Reaction.MessageID]; !ok {
			return "", fmt.Errorf("graphfake: reaction to unknown message %s", m.Reaction.MessageID)
		}
	case "interactive", "button":
		if m.Context == nil {
			return "", fmt.Errorf("graphfake: a %s reply needs the message it answers", m.Type)
		}
	case "system":
		old := c.Phone
		m.System = &System{Body: fmt.Sprintf("User %s changed from %s to %s", c.Name, old, in.newPhone), WaID: in.newPhone, NewWaID: in.newPhone, Type: "user_changed_number"}
		m.FromUserID, m.FromParentUserID = "", ""
		if old != "" {
			delete(f.byPhone, old)
		}
		c.Phone = in.newPhone
		f.byPhone[in.newPhone] = c
	}
	if in.media != nil {
		obj := f.storeMedia(pnid, in.media.data, in.media.mime, in.media.filename)
		node := mediaNodeOf(&m)
		node.ID, node.SHA256 = obj.id, obj.sha256
		if !f.opt.OmitInboundMediaURL {
			node.URL = f.mediaURL(obj, "")
		}
	}
	body, _ := json.Marshal(m)
	t := f.threadOf(pnid, c)
	cm := &ChatMessage{ID: m.ID, PhoneNumberID: pnid, Customer: c.UserID, Type: m.Type, Status: "sent", Timestamp: now, Body: body}
	t.messages = append(t.messages, cm)
	f.messages[m.ID] = cm
	if m.Type != "system" {
		t.lastInbound = now
	}
	f.publish(Event{Kind: EventMessage, PhoneNumberID: pnid, Customer: c.UserID, Message: cm})

	var v *MessagesValue
	if m.Type == "system" {
		// System messages travel without contacts: a change of their own.
		v = b.value(n, "system:"+m.ID)
	} else {
		v = b.value(n, c.UserID)
		if len(v.Contacts) == 0 {
			v.Contacts = []Contact{contactOf(c, true)}
		}
	}
	v.Messages = append(v.Messages, m)
	b.acks = append(b.acks, m.ID)
	return m.ID, nil
}

// Errors adds value-level errors (a problem not tied to one message).
func (b *Batch) Errors(pnid string, errs ...WebhookError) error {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.numbers[pnid]
	if !ok {
		return fmt.Errorf("graphfake: no number %s", pnid)
	}
	v := b.value(n, "errors")
	v.Errors = append(v.Errors, errs...)
	return nil
}

// value returns the change of a number for a key (a customer), adding it
// to the payload. f.mu is held.
func (b *Batch) value(n *number, key string) *MessagesValue {
	k := threadKey{n.ID, key}
	if v, ok := b.values[k]; ok {
		return v
	}
	if b.pnid == "" {
		b.pnid = n.ID
	}
	v := &MessagesValue{MessagingProduct: "whatsapp", Metadata: Metadata{DisplayPhoneNumber: n.Phone, PhoneNumberID: n.ID}}
	b.values[k] = v
	b.change(n.WABAID, 0, Change{Value: v, Field: "messages"})
	return v
}

// change appends a change to the entry of an account. f.mu is held.
func (b *Batch) change(wabaID string, at int64, c Change) {
	for i := range b.payload.Entry {
		if b.payload.Entry[i].ID == wabaID {
			b.payload.Entry[i].Changes = append(b.payload.Entry[i].Changes, c)
			return
		}
	}
	b.payload.Entry = append(b.payload.Entry, Entry{ID: wabaID, Time: at, Changes: []Change{c}})
}

// Post queues the batch as one signed webhook and returns its delivery
// id. An empty batch posts nothing (id 0).
func (b *Batch) Post() (int64, error) {
	f := b.f
	f.mu.Lock()
	if len(b.payload.Entry) == 0 {
		f.mu.Unlock()
		return 0, nil
	}
	var url, secret string
	if n, ok := f.numbers[b.pnid]; ok {
		url, secret = f.target(n)
	} else {
		url, secret = f.wabaTarget(b.payload.Entry[0].ID)
	}
	body, err := MetaJSON(b.payload)
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	acks := b.acks
	var onAck func()
	if len(acks) > 0 {
		onAck = func() { f.customerDelivered(acks) }
	}
	return f.em.post(url, secret, body, b.badSig, onAck).ID, nil
}

// Body returns the batch as a webhook body, for a client that signs and
// posts it itself (the load generator) rather than through Post.
func (b *Batch) Body() ([]byte, error) {
	b.f.mu.Lock()
	defer b.f.mu.Unlock()
	return MetaJSON(b.payload)
}

// Inbound posts one customer message as its own webhook and returns its
// wamid.
func (f *Fake) Inbound(pnid string, from Customer, in In) (string, error) {
	b := f.Batch()
	id, err := b.Inbound(pnid, from, in)
	if err != nil {
		return "", err
	}
	_, err = b.Post()
	return id, err
}

// InboundErrors posts value-level errors for a number (e.g. 130429 when
// inbound traffic exceeds the throughput).
func (f *Fake) InboundErrors(pnid string, errs ...WebhookError) error {
	b := f.Batch()
	if err := b.Errors(pnid, errs...); err != nil {
		return err
	}
	_, err := b.Post()
	return err
}

// customerDelivered marks customer messages delivered (two ticks) once
// the business acknowledged the webhook that carried them.
func (f *Fake) customerDelivered(ids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		m, ok := f.messages[id]
		if !ok {
			continue
		}
		m.acks++
		if m.Status == "sent" {
			m.Status = "delivered"
			f.publish(Event{Kind: EventStatus, PhoneNumberID: m.PhoneNumberID, Customer: m.Customer, Message: m})
		}
	}
}

// contactOf is the contacts[] block of a customer; withUsername is false
// on "sent" statuses.
func contactOf(c *Customer, withUsername bool) Contact {
	ct := Contact{Profile: Profile{Name: c.Name}, WaID: c.Phone, UserID: c.UserID, ParentUserID: c.ParentUserID}
	if withUsername {
		ct.Profile.Username = c.Username
	}
	return ct
}

func mediaNodeOf(m *Message) *MediaNode {
	switch m.Type {
	case "image":
		return m.Image
	case "video":
		return m.Video
	case "audio":
		return m.Audio
	case "document":
		return m.Document
	case "sticker":
		return m.Sticker
	}
	return nil
}

// lastInboundAt returns when the customer last wrote to the number. f.mu
// is held.
func (f *Fake) lastInboundAt(pnid, user string) time.Time {
	if t := f.threads[threadKey{pnid, user}]; t != nil {
		return t.lastInbound
	}
	return time.Time{}
}
