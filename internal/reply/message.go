// Package reply holds what the system or an agent prepares in advance to
// send: one stored message model (text, rich media, interactive) shared by
// number automation, bots, personal welcome messages and canned responses,
// its variables and its checks. Channels render and send what it prepares.
package reply

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Kind is the kind of a prepared message.
type Kind string

// The kinds, as the product documents list them each time.
const (
	Text        Kind = "text"        // text with emoji and WhatsApp's *bold* _italic_ ~strike~
	Media       Kind = "media"       // an image, a video or a document, with a caption
	Interactive Kind = "interactive" // reply buttons, a link button or a list
)

// Message is a prepared message as it is stored.
type Message struct {
	Kind Kind `json:"kind"`
	// Text is the text, a media message's caption, or an interactive
	// message's body (Interactive.Body is ignored: Text is the body).
	Text string `json:"text"`
	// AttachmentID is the file of a media message, or the header of an
	// interactive one (image, video, document). The file is uploaded once
	// and kept for the message (see Keep); every send copies its row.
	AttachmentID int64 `json:"attachment_id,omitempty"`
	// Interactive is the buttons, the link button or the list.
	Interactive *whatsapp.Interactive `json:"interactive,omitempty"`
}

// IsZero reports whether m says nothing.
func (m *Message) IsZero() bool {
	return strings.TrimSpace(m.Text) == "" && m.AttachmentID == 0 && m.Interactive == nil
}

// Check validates m with Meta's limits (the channel's own validator), so
// that a saved message never fails at send time for its shape. Problems
// are per field, each field prefixed with field and a dot ("message.text",
// "welcome.message.interactive.buttons.0.title").
func (m *Message) Check(ctx context.Context, q db.Querier, field string) error {
	f := problem.Fields{}
	name := func(s string) string {
		if field == "" {
			return s
		}
		return field + "." + s
	}
	m.Text = strings.TrimSpace(m.Text)
	var media *attachment.Attachment
	if m.AttachmentID != 0 {
		ref, err := attachment.Get(ctx, q, m.AttachmentID)
		if err != nil {
			f.Add(name("attachment_id"), "That file does not exist: upload it again.")
			return f.Err()
		}
		media = &ref.Attachment
	}
	switch m.Kind {
	case Text:
		m.AttachmentID, m.Interactive = 0, nil
		switch n := len([]rune(m.Text)); {
		case n == 0:
			f.Add(name("text"), "Write the message.")
		case n > whatsapp.MaxTextMessage:
			f.Add(name("text"), "A message has at most %d characters (this one has %d).", whatsapp.MaxTextMessage, n)
		}
	case Media:
		m.Interactive = nil
		switch {
		case media == nil:
			f.Add(name("attachment_id"), "Attach the image, video or document to send.")
		case media.Kind != attachment.Image && media.Kind != attachment.Video && media.Kind != attachment.Document:
			f.Add(name("attachment_id"), "Send an image, a video or a document (this file is %s).", string(media.Kind))
		}
		if n := len([]rune(m.Text)); n > whatsapp.MaxCaption {
			f.Add(name("text"), "A caption has at most %d characters (this one has %d).", whatsapp.MaxCaption, n)
		}
	case Interactive:
		if m.Interactive == nil {
			f.Add(name("interactive"), "Give the buttons, the list or the link button.")
			break
		}
		in := *m.Interactive
		in.Body = m.Text
		if err := in.Validate(media); err != nil {
			p, ok := problem.As(err)
			if !ok {
				return err
			}
			for k, v := range p.Fields {
				switch {
				case k == "interactive.body":
					k = "text"
				case k == "attachments":
					k = "attachment_id"
				}
				f.Add(name(k), "%s", v)
			}
		}
		in.Body = ""
		m.Interactive = &in
	default:
		f.Add(name("kind"), "Choose text, media or interactive.")
	}
	return f.Err()
}

// Vars are the values of a message's variables when it is sent.
type Vars struct {
	ContactName     string
	AgentPublicName string
	InboxName       string
	// QueuePosition is the conversation's place in the queue (0: none).
	QueuePosition int
	// QueueWait is the estimated wait (0: unknown, said as "a few
	// minutes").
	QueueWait time.Duration
}

// Variables are the names a message may use, as {{name}}.
var Variables = []string{"contact.name", "agent.public_name", "inbox.name", "queue.position", "queue.estimated_wait"}

// replacer returns what replaces each variable.
func (v Vars) replacer() *strings.Replacer {
	pos, wait := "", "a few minutes"
	if v.QueuePosition > 0 {
		pos = strconv.Itoa(v.QueuePosition)
	}
	if v.QueueWait > 0 {
		wait = Minutes(v.QueueWait)
	}
	return strings.NewReplacer(
		"{{contact.name}}", v.ContactName,
		"{{agent.public_name}}", v.AgentPublicName,
		"{{inbox.name}}", v.InboxName,
		"{{queue.position}}", pos,
		"{{queue.estimated_wait}}", wait,
	)
}

// Minutes says a wait the way the customer reads it: "1 minute", "5
// minutes", rounded up.
func Minutes(d time.Duration) string {
	n := int((d + time.Minute - 1) / time.Minute)
	if n <= 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}

// Fill returns m with its variables replaced by v's values, in every text
// the customer reads.
func (m Message) Fill(v Vars) Message {
	r := tidy{v.replacer()}
	m.Text = r.Replace(m.Text)
	if m.Interactive != nil {
		in := *m.Interactive
		in.Footer = r.Replace(in.Footer)
		if in.Header != nil {
			h := *in.Header
			h.Text = r.Replace(h.Text)
			in.Header = &h
		}
		in.DisplayText = r.Replace(in.DisplayText)
		m.Interactive = &in
	}
	return m
}

// tidy replaces variables, then mends the spacing an empty value leaves
// ("Hi {{contact.name}}, welcome" for a contact without a name: "Hi,
// welcome").
type tidy struct{ r *strings.Replacer }

var mend = strings.NewReplacer("  ", " ", " ,", ",", " .", ".", " !", "!", " ?", "?")

func (t tidy) Replace(s string) string {
	out := t.r.Replace(s)
	if out == s {
		return s
	}
	return mend.Replace(out)
}

// Prepare turns a prepared message into what the conversation service
// stores and sends: its file, if any, is copied as a new upload of
// uploader (the file itself is content-addressed and shared), for the
// conversation service to attach to the new message.
func (m Message) Prepare(ctx context.Context, tx *db.Tx, uploader string) (conversation.Outgoing, error) {
	var o conversation.Outgoing
	if m.AttachmentID != 0 {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO attachments (uploader, kind, filename, content_type, size, sha256, created_at)
			SELECT $2, kind, filename, content_type, size, sha256, $3 FROM attachments WHERE id = $1 RETURNING id`,
			m.AttachmentID, uploader, db.Now()).Scan(&id)
		if err != nil {
			return o, fmt.Errorf("reply: prepare: file %d: %w", m.AttachmentID, db.MapErr(err))
		}
		o.AttachmentIDs = []int64{id}
	}
	switch m.Kind {
	case Text, Media:
		o.Text = m.Text
	case Interactive:
		in := *m.Interactive
		in.Body = m.Text
		o.Type, o.Text = conversation.TypeInteractive, in.Summary()
		o.Content = whatsapp.InteractiveContent(&in)
	default:
		return o, fmt.Errorf("reply: prepare: unknown kind %q", m.Kind)
	}
	return o, nil
}

// Marshal returns m as stored.
func (m Message) Marshal() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// Unmarshal reads a stored message.
func Unmarshal(s string) (Message, error) {
	var m Message
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}
