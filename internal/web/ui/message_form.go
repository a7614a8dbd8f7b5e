package ui

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// MessageForm is the one form of the stored message model (reply.Message)
// that every page preparing messages in advance uses (welcome messages,
// canned responses, number automation): the template "message-form"
// (templates/_message_form.html) draws it, ReadMessage reads what it
// posts, message_form.js makes it work (each instance on its own, so that
// several sit in one <form>). Its kinds are text, media (a file and its
// caption), and the three interactive ones: buttons, list and link.
//
// Every input is named under Prefix, which is also the field under which
// reply.Message.Check reports (Check(ctx, q, prefix)): with the prefix
// "welcome.message" the inputs are welcome.message.kind, .text,
// .attachment_id (a file app.js uploads to /api/v1/attachments, or the one
// the message keeps), .header_text, .footer, .button.0–2, .list_button,
// .section_title, .row.0–9, .row_description.0–9, .display_text and .url,
// and a problem of "welcome.message.interactive.buttons.0.title" shows
// under the first button. The text has a bar for *bold*, _italic_,
// ~strike~, emoji and the variables, and a preview fills the variables
// with Sample.
type MessageForm struct {
	Prefix string
	Kind   string
	Text   string
	// AttachmentID and File are the file chosen: the one the message
	// keeps, or an upload of the poster's.
	AttachmentID int64
	File         *attachment.Attachment
	Header       string
	Footer       string
	Buttons      []FormChoice
	ListButton   string
	SectionTitle string
	Rows         []FormChoice
	DisplayText  string
	URL          string
	// Fields are the problems of the last post, by field (the page's:
	// other forms' too); Field picks this one's.
	Fields map[string]string
	// Sample fills the preview's variables.
	Sample reply.Vars
}

// FormChoice is a button or a row of the form, with its problems.
type FormChoice struct {
	Index       int
	Title       string
	Description string
	TitleError  string
	DescError   string
}

// The form's kinds.
const (
	formText    = "text"
	formMedia   = "media"
	formButtons = "buttons"
	formList    = "list"
	formLink    = "link"
)

// Variables are the message variables the form offers.
func (f *MessageForm) Variables() []string { return reply.Variables }

// Name is the name of one of the form's inputs ("text", "button.0").
func (f *MessageForm) Name(input string) string {
	if f.Prefix == "" {
		return input
	}
	return f.Prefix + "." + input
}

// ID is an element id of the form's, unique on the page.
func (f *MessageForm) ID(what string) string {
	p := strings.NewReplacer(".", "-", " ", "-").Replace(f.Prefix)
	if p == "" {
		p = "message"
	}
	return "mf-" + p + "-" + what
}

// Field is the problem of a field of the message (named as under
// Message.Check: "text", "interactive.url"), or "".
func (f *MessageForm) Field(name string) string { return f.Fields[f.Name(name)] }

// Is reports whether the form's kind is one of kinds.
func (f *MessageForm) Is(kinds ...string) bool { return slices.Contains(kinds, f.Kind) }

// Interactive reports whether the form's kind is buttons, a list or a
// link.
func (f *MessageForm) Interactive() bool { return f.Is(formButtons, formList, formLink) }

// layout fills the buttons and rows (empty ones up to Meta's counts).
func (f *MessageForm) layout() {
	for len(f.Buttons) < whatsapp.MaxButtons {
		f.Buttons = append(f.Buttons, FormChoice{})
	}
	for len(f.Rows) < whatsapp.MaxRows {
		f.Rows = append(f.Rows, FormChoice{})
	}
	for i := range f.Buttons {
		f.Buttons[i].Index = i
	}
	for i := range f.Rows {
		f.Rows[i].Index = i
	}
}

// NewMessageForm is the form, under prefix, filled with a stored message
// and the file it keeps (nil: none).
func NewMessageForm(prefix string, m reply.Message, file *attachment.Attachment) *MessageForm {
	f := &MessageForm{Prefix: prefix, Kind: string(m.Kind), Text: m.Text, AttachmentID: m.AttachmentID, File: file}
	if file == nil {
		f.AttachmentID = 0
	}
	if in := m.Interactive; in != nil {
		if in.Header != nil && in.Header.Type == "text" {
			f.Header = in.Header.Text
		}
		f.Footer = in.Footer
		switch in.Type {
		case whatsapp.InteractiveButtons:
			f.Kind = formButtons
			for _, b := range in.Buttons {
				f.Buttons = append(f.Buttons, FormChoice{Title: b.Title})
			}
		case whatsapp.InteractiveList:
			f.Kind, f.ListButton = formList, in.ListButton
			for _, s := range in.Sections {
				if f.SectionTitle == "" {
					f.SectionTitle = s.Title
				}
				for _, r := range s.Rows {
					f.Rows = append(f.Rows, FormChoice{Title: r.Title, Description: r.Description})
				}
			}
		case whatsapp.InteractiveLink:
			f.Kind, f.DisplayText, f.URL = formLink, in.DisplayText, in.URL
		}
	}
	if f.Kind == "" {
		f.Kind = formText
	}
	f.layout()
	return f
}

// Files finds the files a message form may name, for ReadMessage: the
// user's own uploads, and the files kept (the ones the messages being
// edited keep, whoever uploaded them).
func Files(ctx context.Context, q db.Querier, userID int64, kept ...int64) func(id int64) *attachment.Attachment {
	return func(id int64) *attachment.Attachment {
		ref, err := attachment.Get(ctx, q, id)
		if err != nil || (ref.Uploader != attachment.Uploader("user", userID) && !slices.Contains(kept, id)) {
			return nil
		}
		return &ref.Attachment
	}
}

// ReadMessage reads the message form under prefix of a post (form values
// already checked by httpx.ReadForm): the message to check (with
// Check(ctx, q, prefix)) and save, the form to show again (SetProblems
// puts the problems on its inputs), and the problems of the form itself,
// keyed under prefix. files finds the file the form names (see Files;
// one it does not find is dropped); with buttons or a link the file is
// the header, which then has no text.
func ReadMessage(v url.Values, prefix string, files func(id int64) *attachment.Attachment) (reply.Message, *MessageForm, problem.Fields) {
	mf := &MessageForm{Prefix: prefix}
	get := func(k string) string { return strings.ReplaceAll(v.Get(mf.Name(k)), "\r\n", "\n") }
	mf.Kind, mf.Text, mf.Header, mf.Footer = get("kind"), get("text"), get("header_text"), get("footer")
	mf.ListButton, mf.SectionTitle, mf.DisplayText, mf.URL = get("list_button"), get("section_title"), get("display_text"), strings.TrimSpace(get("url"))
	for i := range whatsapp.MaxButtons {
		mf.Buttons = append(mf.Buttons, FormChoice{Title: get("button." + strconv.Itoa(i))})
	}
	for i := range whatsapp.MaxRows {
		k := strconv.Itoa(i)
		mf.Rows = append(mf.Rows, FormChoice{Title: get("row." + k), Description: get("row_description." + k)})
	}
	mf.layout()
	fields := problem.Fields{}
	if id, _ := strconv.ParseInt(get("attachment_id"), 10, 64); id > 0 && files != nil {
		if mf.File = files(id); mf.File != nil {
			mf.AttachmentID = id
		}
	}
	m := reply.Message{Kind: reply.Kind(mf.Kind), Text: mf.Text}
	if mf.Is(formMedia, formButtons, formLink) {
		m.AttachmentID = mf.AttachmentID
	}
	var header *whatsapp.Header
	switch h := strings.TrimSpace(mf.Header); {
	case m.AttachmentID != 0 && mf.Is(formButtons, formLink):
		header = &whatsapp.Header{Type: string(mf.File.Kind)}
		if h != "" {
			fields.Add(mf.Name("interactive.header.text"), "A header is a text or the file, not both: remove one of them.")
		}
	case h != "":
		header = &whatsapp.Header{Type: "text", Text: h}
	}
	switch mf.Kind {
	case formButtons:
		in := &whatsapp.Interactive{Type: whatsapp.InteractiveButtons, Header: header, Footer: mf.Footer}
		for _, b := range mf.Buttons {
			if t := strings.TrimSpace(b.Title); t != "" {
				in.Buttons = append(in.Buttons, whatsapp.Button{Title: t})
			}
		}
		m.Kind, m.Interactive = reply.Interactive, in
	case formList:
		in := &whatsapp.Interactive{Type: whatsapp.InteractiveList, Header: header, Footer: mf.Footer, ListButton: mf.ListButton}
		sec := whatsapp.Section{Title: strings.TrimSpace(mf.SectionTitle)}
		for _, r := range mf.Rows {
			if t := strings.TrimSpace(r.Title); t != "" {
				sec.Rows = append(sec.Rows, whatsapp.Row{Title: t, Description: r.Description})
			}
		}
		if len(sec.Rows) > 0 {
			in.Sections = []whatsapp.Section{sec}
		}
		m.Kind, m.Interactive = reply.Interactive, in
	case formLink:
		m.Kind, m.Interactive = reply.Interactive, &whatsapp.Interactive{Type: whatsapp.InteractiveLink, Header: header, Footer: mf.Footer,
			DisplayText: mf.DisplayText, URL: mf.URL}
	}
	return m, mf, fields
}

// SetProblems shows the problems of a refused post on the form's inputs
// (fields: the page's problems; those of other forms are left alone).
func (f *MessageForm) SetProblems(fields map[string]string) {
	f.Fields = fields
	k := 0
	for i, b := range f.Buttons {
		if strings.TrimSpace(b.Title) == "" {
			continue
		}
		p := "interactive.buttons." + strconv.Itoa(k)
		f.Buttons[i].TitleError = cmpOr(f.Field(p+".title"), f.Field(p+".id"))
		k++
	}
	k = 0
	for i, r := range f.Rows {
		if strings.TrimSpace(r.Title) == "" {
			continue
		}
		p := "interactive.sections.0.rows." + strconv.Itoa(k)
		f.Rows[i].TitleError = cmpOr(f.Field(p+".title"), f.Field(p+".id"))
		f.Rows[i].DescError = f.Field(p + ".description")
		k++
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Limits are Meta's, which the form's inputs count against.
func (f *MessageForm) Limits() map[string]int {
	return map[string]int{"text": whatsapp.MaxTextMessage, "caption": whatsapp.MaxCaption, "body": whatsapp.MaxBody, "list_body": whatsapp.MaxListBody,
		"header": whatsapp.MaxHeaderText, "footer": whatsapp.MaxFooter, "button": whatsapp.MaxButtonTitle, "list_button": whatsapp.MaxListButton,
		"section": whatsapp.MaxSectionTitle, "row": whatsapp.MaxRowTitle, "row_description": whatsapp.MaxRowDescription, "display_text": whatsapp.MaxDisplayText}
}

// emojis are the emoji the form's menu offers (any other can be typed).
var emojis = []string{"😀", "😊", "🙂", "😉", "😍", "🤗", "🙏", "👍", "👋", "👏", "🎉", "✨", "❤️", "✅", "⭐", "🔥",
	"📦", "🚚", "🛒", "💳", "📞", "📧", "🕒", "📍", "ℹ️", "❓", "⚠️", "🎁"}

func messageFormFuncs() map[string]any {
	return map[string]any{
		"emojis": func() []string { return emojis },
		// waFormat shows a text as WhatsApp does (*bold*, _italic_, …),
		// everything else escaped.
		"waFormat": reply.FormatHTML,
		"join":     strings.Join,
	}
}
