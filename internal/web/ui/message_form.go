package ui

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
)

// MessageForm is the form of the stored message model (reply.Message)
// that every feature preparing messages in advance shares (welcome
// messages, canned responses, number automation): the template
// "message-form" (templates/_message_form.html) draws it, ReadMessageForm
// reads what it posts. Its kinds are text, media (a file and its
// caption), and the three interactive ones: buttons, list and link.
//
// Its inputs: kind; text (with a bar for *bold*, _italic_, ~strike~,
// emoji and the variables, and a preview that fills them); attachment_id
// (a file uploaded by app.js to /api/v1/attachments, or the one the
// message keeps); header_text and footer; button.0–2; list_button,
// section_title, row.0–9 and row_description.0–9; display_text and url.
// Field problems come keyed as reply.Message.Check gives them under
// Prefix ("message.text", "message.interactive.buttons.0.title").
type MessageForm struct {
	Prefix string
	Kind   string
	Text   string
	// File is the file chosen: the one the message keeps, or an upload.
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
	// Fields are the problems of the last post, by field.
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

// Field is the problem of a field of the message (name as under
// Message.Check: "text", "interactive.url"), or "".
func (f *MessageForm) Field(name string) string {
	return f.Fields[f.prefix()+name]
}

func (f *MessageForm) prefix() string {
	if f.Prefix == "" {
		return ""
	}
	return f.Prefix + "."
}

// Is reports whether the form's kind is one of kinds.
func (f *MessageForm) Is(kinds ...string) bool {
	for _, k := range kinds {
		if f.Kind == k {
			return true
		}
	}
	return false
}

// Interactive reports whether the form's kind is buttons, a list or a
// link.
func (f *MessageForm) Interactive() bool { return f.Is(formButtons, formList, formLink) }

// layout fills the buttons and rows (empty ones up to Meta's counts) with
// their problems.
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

// choiceErrors puts the problems of the buttons and rows posted (at the
// positions in the message: at) on the form's inputs.
func (f *MessageForm) choiceErrors(buttonAt, rowAt []int) {
	for k, i := range buttonAt {
		f.Buttons[i].TitleError = f.Field("interactive.buttons." + strconv.Itoa(k) + ".title")
		if f.Buttons[i].TitleError == "" {
			f.Buttons[i].TitleError = f.Field("interactive.buttons." + strconv.Itoa(k) + ".id")
		}
	}
	for k, i := range rowAt {
		p := "interactive.sections.0.rows." + strconv.Itoa(k)
		f.Rows[i].TitleError = f.Field(p + ".title")
		if f.Rows[i].TitleError == "" {
			f.Rows[i].TitleError = f.Field(p + ".id")
		}
		f.Rows[i].DescError = f.Field(p + ".description")
	}
}

// MessageFormOf is the form filled with a stored message and the file it
// keeps.
func MessageFormOf(m reply.Message, file *attachment.Attachment) *MessageForm {
	f := &MessageForm{Prefix: "message", Kind: string(m.Kind), Text: m.Text, AttachmentID: m.AttachmentID, File: file}
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

// ReadMessageForm reads the message form of a post (form values already
// checked by httpx.ReadForm): the message to check and save, and the form
// to show again with the problems it may get (SetProblems). file finds
// the file the form names (the poster's upload or the one the message
// keeps; nil: none of theirs); with buttons or a link it is the header,
// which then has no text (a problem in f otherwise).
func ReadMessageForm(v url.Values, file func(id int64) *attachment.Attachment, f problem.Fields) (reply.Message, *MessageForm) {
	get := func(k string) string { return strings.ReplaceAll(v.Get(k), "\r\n", "\n") }
	mf := &MessageForm{Prefix: "message", Kind: v.Get("kind"), Text: get("text"), Header: get("header_text"), Footer: get("footer"),
		ListButton: get("list_button"), SectionTitle: get("section_title"), DisplayText: get("display_text"), URL: strings.TrimSpace(get("url"))}
	mf.AttachmentID, _ = strconv.ParseInt(v.Get("attachment_id"), 10, 64)
	for i := range whatsapp.MaxButtons {
		mf.Buttons = append(mf.Buttons, FormChoice{Title: get("button." + strconv.Itoa(i))})
	}
	for i := range whatsapp.MaxRows {
		k := strconv.Itoa(i)
		mf.Rows = append(mf.Rows, FormChoice{Title: get("row." + k), Description: get("row_description." + k)})
	}
	mf.layout()
	if mf.AttachmentID != 0 {
		if mf.File = file(mf.AttachmentID); mf.File == nil {
			mf.AttachmentID = 0
		}
	}
	m := reply.Message{Kind: reply.Kind(mf.Kind), Text: mf.Text}
	if mf.Is(formMedia, formButtons, formList, formLink) {
		m.AttachmentID = mf.AttachmentID
	}
	var header *whatsapp.Header
	switch h := strings.TrimSpace(mf.Header); {
	case m.AttachmentID != 0 && mf.Is(formButtons, formLink):
		header = &whatsapp.Header{Type: string(mf.File.Kind)}
		if h != "" {
			f.Add("message.interactive.header.text", "A header is a text or the file, not both: remove one of them.")
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
	return m, mf
}

// SetProblems shows the problems of a refused message on the form's
// inputs.
func (f *MessageForm) SetProblems(fields map[string]string) {
	f.Fields = fields
	var buttonAt, rowAt []int
	for i, b := range f.Buttons {
		if strings.TrimSpace(b.Title) != "" {
			buttonAt = append(buttonAt, i)
		}
	}
	for i, r := range f.Rows {
		if strings.TrimSpace(r.Title) != "" {
			rowAt = append(rowAt, i)
		}
	}
	f.choiceErrors(buttonAt, rowAt)
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
	}
}
