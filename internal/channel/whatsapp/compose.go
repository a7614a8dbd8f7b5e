package whatsapp

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Interactive is an agent's message with buttons: up to three reply
// buttons, a list of up to ten rows, or a button that opens a link. Its
// limits are Meta's (whatsapp-cloud-api.md §3.6–3.8), checked before
// sending.
type Interactive struct {
	// Type is button (reply buttons), list or cta_url.
	Type   string  `json:"type"`
	Header *Header `json:"header,omitempty"`
	Body   string  `json:"body"`
	Footer string  `json:"footer,omitempty"`
	// Buttons are the reply buttons (type button).
	Buttons []Button `json:"buttons,omitempty"`
	// ListButton opens the list (type list); Sections hold its rows.
	ListButton string    `json:"list_button,omitempty"`
	Sections   []Section `json:"sections,omitempty"`
	// DisplayText and URL are the link button (type cta_url).
	DisplayText string `json:"display_text,omitempty"`
	URL         string `json:"url,omitempty"`
}

// Header is shown above an interactive message's body: a text, or the
// message's attachment (an image, a video or a document).
type Header struct {
	// Type is text, image, video or document.
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
}

// Button is a reply button; the customer's tap comes back with its id.
type Button struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Section groups rows of a list.
type Section struct {
	Title string `json:"title,omitempty"`
	Rows  []Row  `json:"rows"`
}

// Row is a choice in a list.
type Row struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// The interactive message types.
const (
	InteractiveButtons = "button"
	InteractiveList    = "list"
	InteractiveLink    = "cta_url"
)

// Meta's limits on what agents send.
const (
	MaxButtons          = 3
	MaxButtonTitle      = 20
	MaxButtonID         = 256
	MaxBody             = 1024
	MaxListBody         = 4096
	MaxFooter           = 60
	MaxHeaderText       = 60
	MaxListButton       = 20
	MaxSections         = 10
	MaxRows             = 10
	MaxRowTitle         = 24
	MaxRowID            = 200
	MaxRowDescription   = 72
	MaxSectionTitle     = 24
	MaxDisplayText      = 20
	MaxCaption          = 1024
	MaxTextMessage      = 4096
	MaxIceBreakers      = 4
	MaxIceBreakerLength = 80
)

func runes(s string) int { return utf8.RuneCountInString(s) }

// text is a text of an interactive message, with its messages: missing
// ("" for optional texts) and too long (a format of the limit and the
// length).
type text struct{ missing, long string }

var (
	bodyText        = text{"Write the message text.", "The message text has at most %d characters (this one has %d)."}
	footerText      = text{"", "The footer has at most %d characters (this one has %d)."}
	headerText      = text{"Write the header.", "The header has at most %d characters (this one has %d)."}
	buttonTitleText = text{"Write the button title.", "A button title has at most %d characters (this one has %d)."}
	buttonIDText    = text{"Write the button id.", "A button id has at most %d characters (this one has %d)."}
	listButtonText  = text{"Write the text of the button that opens the list.", "The list button has at most %d characters (this one has %d)."}
	sectionText     = text{"Write the section title: a list of several sections needs them.", "A section title has at most %d characters (this one has %d)."}
	rowTitleText    = text{"Write the row title.", "A row title has at most %d characters (this one has %d)."}
	rowIDText       = text{"Write the row id.", "A row id has at most %d characters (this one has %d)."}
	rowDescText     = text{"", "A row description has at most %d characters (this one has %d)."}
	linkText        = text{"Write the button text.", "The button text has at most %d characters (this one has %d)."}
)

// length checks a required or optional text against a limit.
func length(f problem.Fields, field, v string, required bool, max int, t text) {
	switch {
	case strings.TrimSpace(v) == "" && required:
		f.Add(field, "%s", t.missing)
	case runes(v) > max:
		f.Add(field, t.long, max, runes(v))
	}
}

// Messages lists the messages of this file kept in tables, for the
// translations' completeness test.
func Messages() []string {
	var out []string
	for _, t := range []text{bodyText, footerText, headerText, buttonTitleText, buttonIDText, listButtonText, sectionText, rowTitleText, rowIDText, rowDescText, linkText} {
		if t.missing != "" {
			out = append(out, t.missing)
		}
		out = append(out, t.long)
	}
	for _, k := range []string{"image", "video", "document", "audio", "sticker"} {
		out = append(out, mediaMessages(k)...)
	}
	return out
}

// mediaMessages are the messages about a kind of file.
func mediaMessages(kind string) []string {
	switch kind {
	case "image":
		return []string{"Attach the image to show in the header.", "The attached file is not an image.", "WhatsApp takes images of at most %s; this one has %s."}
	case "video":
		return []string{"Attach the video to show in the header.", "The attached file is not a video.", "WhatsApp takes videos of at most %s; this one has %s."}
	case "document":
		return []string{"Attach the document to show in the header.", "The attached file is not a document.", "WhatsApp takes documents of at most %s; this one has %s."}
	case "audio":
		return []string{"An audio message cannot have a caption on WhatsApp: send the text as its own message.", "WhatsApp takes audio files of at most %s; this one has %s."}
	case "sticker":
		return []string{"A sticker cannot have a caption on WhatsApp: send the text as its own message.", "WhatsApp takes stickers of at most %s; this one has %s."}
	}
	return nil
}

// Validate checks an interactive message against Meta's limits, with a
// message per field (fields named like interactive.buttons.0.title).
// media is the message's attachment, if any (a header image…).
func (in *Interactive) Validate(media *attachment.Attachment) error {
	f := problem.Fields{}
	trim := func(s *string) { *s = strings.TrimSpace(*s) }
	trim(&in.Body)
	trim(&in.Footer)
	bodyMax := MaxBody
	if in.Type == InteractiveList {
		bodyMax = MaxListBody
	}
	switch in.Type {
	case InteractiveButtons, InteractiveList, InteractiveLink:
	default:
		f.Add("interactive.type", "Choose reply buttons (button), a list (list) or a link button (cta_url).")
		return f.Err()
	}
	length(f, "interactive.body", in.Body, true, bodyMax, bodyText)
	length(f, "interactive.footer", in.Footer, false, MaxFooter, footerText)
	if h := in.Header; h != nil {
		trim(&h.Text)
		switch h.Type {
		case "", "none":
			in.Header = nil
		case "text":
			length(f, "interactive.header.text", h.Text, true, MaxHeaderText, headerText)
		case "image", "video", "document":
			switch {
			case in.Type == InteractiveList:
				f.Add("interactive.header.type", "A list's header can only be text.")
			case media == nil:
				f.Add("interactive.header.type", "%s", mediaMessages(h.Type)[0])
			case string(media.Kind) != h.Type:
				f.Add("interactive.header.type", "%s", mediaMessages(h.Type)[1])
			}
		default:
			f.Add("interactive.header.type", "A header is text, an image, a video or a document.")
		}
	}
	if media != nil && (in.Header == nil || in.Header.Type == "text") {
		f.Add("attachments", "Files go in the header of an interactive message: choose an image, video or document header.")
	}
	switch in.Type {
	case InteractiveButtons:
		switch {
		case len(in.Buttons) == 0:
			f.Add("interactive.buttons", "Add at least one button.")
		case len(in.Buttons) > MaxButtons:
			f.Add("interactive.buttons", "A message has at most %d reply buttons.", MaxButtons)
		}
		ids, titles := map[string]bool{}, map[string]bool{}
		for i := range in.Buttons {
			b := &in.Buttons[i]
			trim(&b.Title)
			trim(&b.ID)
			field := "interactive.buttons." + itoa(i)
			if b.ID == "" {
				b.ID = slug(b.Title, i)
			}
			length(f, field+".title", b.Title, true, MaxButtonTitle, buttonTitleText)
			length(f, field+".id", b.ID, true, MaxButtonID, buttonIDText)
			if titles[strings.ToLower(b.Title)] && b.Title != "" {
				f.Add(field+".title", "Two buttons have the same title.")
			}
			if ids[b.ID] {
				f.Add(field+".id", "Two buttons have the same id.")
			}
			titles[strings.ToLower(b.Title)], ids[b.ID] = true, true
		}
	case InteractiveList:
		trim(&in.ListButton)
		length(f, "interactive.list_button", in.ListButton, true, MaxListButton, listButtonText)
		total := 0
		switch {
		case len(in.Sections) == 0:
			f.Add("interactive.sections", "Add at least one row.")
		case len(in.Sections) > MaxSections:
			f.Add("interactive.sections", "A list has at most %d sections.", MaxSections)
		}
		ids := map[string]bool{}
		for i := range in.Sections {
			s := &in.Sections[i]
			trim(&s.Title)
			field := "interactive.sections." + itoa(i)
			length(f, field+".title", s.Title, len(in.Sections) > 1, MaxSectionTitle, sectionText)
			if len(s.Rows) == 0 {
				f.Add(field+".rows", "A section needs at least one row.")
			}
			for j := range s.Rows {
				r := &s.Rows[j]
				trim(&r.Title)
				trim(&r.ID)
				trim(&r.Description)
				rf := field + ".rows." + itoa(j)
				if r.ID == "" {
					r.ID = slug(r.Title, total)
				}
				length(f, rf+".title", r.Title, true, MaxRowTitle, rowTitleText)
				length(f, rf+".id", r.ID, true, MaxRowID, rowIDText)
				length(f, rf+".description", r.Description, false, MaxRowDescription, rowDescText)
				if ids[r.ID] {
					f.Add(rf+".id", "Two rows have the same id.")
				}
				ids[r.ID] = true
				total++
			}
		}
		if total > MaxRows {
			f.Add("interactive.sections", "A list has at most %d rows in all (this one has %d).", MaxRows, total)
		}
	case InteractiveLink:
		trim(&in.DisplayText)
		trim(&in.URL)
		length(f, "interactive.display_text", in.DisplayText, true, MaxDisplayText, linkText)
		if u, err := url.Parse(in.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.Add("interactive.url", "Enter the address the button opens, like https://www.example.com/offer.")
		} else if len(in.URL) > 2000 {
			f.Add("interactive.url", "The address has at most 2000 characters.")
		}
	}
	if in.Type != InteractiveButtons && len(in.Buttons) > 0 {
		f.Add("interactive.buttons", "Only reply-button messages have buttons.")
	}
	if in.Type != InteractiveList && len(in.Sections) > 0 {
		f.Add("interactive.sections", "Only lists have sections.")
	}
	return f.Err()
}

// Summary is how an interactive message reads in the conversation list
// and in search: its body.
func (in *Interactive) Summary() string { return in.Body }

// slug makes an id from a title for buttons and rows given without one.
func slug(title string, i int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		s = "option"
	}
	return s + "-" + itoa(i+1)
}

func itoa(i int) string { return strconv.Itoa(i) }

// InteractiveContent is the stored content of an outbound interactive
// message (what Deliver renders for Graph), for messages prepared outside
// the composer (automation, bots, canned responses).
func InteractiveContent(in *Interactive) json.RawMessage {
	return (&Content{Kind: "interactive", Interactive: in}).raw()
}
