package ui

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// ---- Admin: a WhatsApp number's page ----

// ---- The workspace ----

// waConv is what a WhatsApp conversation adds to its pane: its window.
type waConv struct {
	ConvID  int64
	InboxID int64
	// WindowEndsAt is the end of the customer-service window (nil: the
	// customer never wrote); WindowOpen says whether free-form messages
	// may be sent now.
	WindowEndsAt *time.Time
	WindowOpen   bool
}

// waConvOf is the WhatsApp part of a conversation's pane, nil for other
// channels.
func (u *InboxPages) waConvOf(ctx context.Context, c conversation.Conversation) (*waConv, error) {
	if u.WhatsApp == nil {
		return nil, nil
	}
	if ok, err := u.WhatsApp.IsWhatsApp(ctx, c.InboxID); err != nil || !ok {
		return nil, err
	}
	v := &waConv{ConvID: c.ID, InboxID: c.InboxID, WindowEndsAt: c.ReplyWindowEndsAt}
	v.WindowOpen = c.ReplyWindowEndsAt != nil && time.Now().Before(*c.ReplyWindowEndsAt)
	return v, nil
}

// waPanel is the WhatsApp composer beside the text one: reply buttons, a
// list, a link button and templates (the only kind outside the window).
type waPanel struct {
	*waConv
	Key string
	// Kind is the open form: buttons, list, link or template.
	Kind      string
	Form      map[string]string
	Buttons   []waRow
	Rows      []waRow
	Templates []whatsapp.Template
	Template  *waTemplateFields
	Fields    map[string]string
	Error     string
	Sent      *messageView
	// Action is where the forms post.
	Action string
	// buttonAt and rowAt are the form's input of each button and row
	// sent (empty inputs are left out), to show a message by its input.
	buttonAt, rowAt []int
}

// waRow is a button or a list row of the forms, with its messages.
type waRow struct {
	Index       int
	Title       string
	Description string
	TitleError  string
	DescError   string
}

// waTemplateFields are a template's values to fill and its preview.
type waTemplateFields struct {
	T       *whatsapp.Template
	Key     string // name|language, the select's value
	Values  map[string]string
	Fields  map[string]string
	Media   string // image, video or document when the header needs a file
	Preview string // the body with the values given so far
	// Attachment is the file uploaded for the header.
	Attachment int64
}

func (u *InboxPages) waPanelFor(ctx context.Context, wc *waConv) (*waPanel, error) {
	ts, err := u.WhatsApp.Templates(ctx, wc.InboxID, true)
	if err != nil {
		return nil, err
	}
	p := &waPanel{waConv: wc, Key: newKey(), Kind: "buttons", Form: map[string]string{}, Templates: ts, Fields: map[string]string{},
		Action: "/inbox/conversations/" + strconv.FormatInt(wc.ConvID, 10) + "/whatsapp"}
	if !wc.WindowOpen {
		p.Kind = "template"
	}
	p.fillRows()
	return p, nil
}

// fillRows lays out the button and row inputs with their messages.
func (p *waPanel) fillRows() {
	// sent is the index of input i among those sent.
	sent := func(at []int, i int) string {
		for k, in := range at {
			if in == i {
				return strconv.Itoa(k)
			}
		}
		if at == nil {
			return strconv.Itoa(i)
		}
		return "-"
	}
	p.Buttons = make([]waRow, whatsapp.MaxButtons)
	for i := range p.Buttons {
		p.Buttons[i] = waRow{Index: i, Title: p.Form["button."+strconv.Itoa(i)], TitleError: p.Fields["interactive.buttons."+sent(p.buttonAt, i)+".title"]}
	}
	p.Rows = make([]waRow, whatsapp.MaxRows)
	for i := range p.Rows {
		k, f := strconv.Itoa(i), "interactive.sections.0.rows."+sent(p.rowAt, i)
		p.Rows[i] = waRow{Index: i, Title: p.Form["row."+k], Description: p.Form["row_description."+k],
			TitleError: p.Fields[f+".title"], DescError: p.Fields[f+".description"]}
	}
}

// templateKey is how a template is named in forms: name|language.
func templateKey(t *whatsapp.Template) string { return t.Name + "|" + t.Language }

// waTemplate finds an approved template of an inbox by its form key.
func (u *InboxPages) waTemplate(ctx context.Context, inboxID int64, key string) (*whatsapp.Template, error) {
	name, lang, _ := strings.Cut(key, "|")
	ts, err := u.WhatsApp.Templates(ctx, inboxID, true)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i].Name == name && ts[i].Language == lang {
			return &ts[i], nil
		}
	}
	return nil, nil
}

// templateFields lays out a template's values for the form.
func templateFields(t *whatsapp.Template, values map[string]string, fields map[string]string, attachment int64) *waTemplateFields {
	if t == nil {
		return nil
	}
	f := &waTemplateFields{T: t, Key: templateKey(t), Values: values, Fields: fields, Media: t.HeaderMedia(), Attachment: attachment}
	if f.Values == nil {
		f.Values = map[string]string{}
	}
	for _, c := range t.Components {
		if strings.EqualFold(c.Type, "BODY") {
			f.Preview = c.Text
		}
	}
	return f
}

// waComposeForm reads the rich composer's form into a message.
func waComposeForm(r *http.Request, p *waPanel) (whatsapp.Compose, int64) {
	form := r.PostForm
	p.Kind = form.Get("kind")
	c := whatsapp.Compose{IdempotencyKey: form.Get("idempotency_key")}
	p.Key = c.IdempotencyKey
	for k, vs := range form {
		if len(vs) > 0 {
			p.Form[k] = strings.ReplaceAll(vs[0], "\r\n", "\n")
		}
	}
	var header *whatsapp.Header
	if h := strings.TrimSpace(form.Get("header_text")); h != "" {
		header = &whatsapp.Header{Type: "text", Text: h}
	}
	var attachment int64
	if v := form.Get("attachment"); v != "" {
		attachment, _ = strconv.ParseInt(v, 10, 64)
		if attachment > 0 {
			c.AttachmentIDs = []int64{attachment}
		}
	}
	// A canned response inserted with a file sends it as the header.
	if ht := form.Get("header_type"); attachment > 0 && (ht == "image" || ht == "video" || ht == "document") {
		header = &whatsapp.Header{Type: ht}
	}
	body := strings.ReplaceAll(form.Get("body"), "\r\n", "\n")
	switch p.Kind {
	case "buttons":
		in := &whatsapp.Interactive{Type: whatsapp.InteractiveButtons, Header: header, Body: body, Footer: form.Get("footer")}
		p.buttonAt = []int{}
		for i := range whatsapp.MaxButtons {
			if t := strings.TrimSpace(form.Get("button." + strconv.Itoa(i))); t != "" {
				in.Buttons = append(in.Buttons, whatsapp.Button{Title: t})
				p.buttonAt = append(p.buttonAt, i)
			}
		}
		c.Type, c.Interactive = "interactive", in
	case "list":
		in := &whatsapp.Interactive{Type: whatsapp.InteractiveList, Header: header, Body: body, Footer: form.Get("footer"), ListButton: form.Get("list_button")}
		sec := whatsapp.Section{Title: strings.TrimSpace(form.Get("section_title"))}
		p.rowAt = []int{}
		for i := range whatsapp.MaxRows {
			k := strconv.Itoa(i)
			if t := strings.TrimSpace(form.Get("row." + k)); t != "" {
				sec.Rows = append(sec.Rows, whatsapp.Row{Title: t, Description: form.Get("row_description." + k)})
				p.rowAt = append(p.rowAt, i)
			}
		}
		if len(sec.Rows) > 0 {
			in.Sections = []whatsapp.Section{sec}
		}
		c.Type, c.Interactive = "interactive", in
	case "link":
		c.Type, c.Interactive = "interactive", &whatsapp.Interactive{Type: whatsapp.InteractiveLink, Header: header, Body: body,
			Footer: form.Get("footer"), DisplayText: form.Get("display_text"), URL: form.Get("url")}
	case "template":
		name, lang, _ := strings.Cut(form.Get("template"), "|")
		params := map[string]string{}
		for k, vs := range form {
			if key, ok := strings.CutPrefix(k, "param."); ok && len(vs) > 0 {
				params[key] = vs[0]
			}
		}
		c.Type, c.Template = "template", &whatsapp.TemplateSend{Name: name, Language: lang, Params: params}
	case "reaction":
		id, _ := strconv.ParseInt(form.Get("message_id"), 10, 64)
		c.Type, c.Reaction = "reaction", &whatsapp.ReactionSend{MessageID: id, Emoji: form.Get("emoji")}
	}
	return c, attachment
}

// WaSend sends a message from the rich composer (or a reaction from a
// message's menu) and answers with the panel: refreshed, or with the
// messages of what was refused.
func (u *InboxPages) WaSend(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	c, err := u.Convs.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	wc, err := u.waConvOf(r.Context(), c)
	if err != nil {
		return err
	}
	if wc == nil {
		return problem.Conflict("This conversation is not on WhatsApp.")
	}
	p, err := u.waPanelFor(r.Context(), wc)
	if err != nil {
		return err
	}
	compose, attachment := waComposeForm(r, p)
	if p.Key == "" || len(p.Key) > 100 {
		p.Key, compose.IdempotencyKey = newKey(), ""
	}
	m, _, err := u.WhatsApp.Send(r.Context(), a, id, compose)
	if pe, ok := problem.As(err); ok && (pe.Kind == problem.KindInvalid || pe.Kind == problem.KindConflict) {
		if !IsHTMX(r) {
			return err
		}
		p.Fields = pe.Fields
		if len(pe.Fields) == 0 || pe.Kind == problem.KindConflict {
			p.Error = pe.Message
		}
		if p.Fields == nil {
			p.Fields = map[string]string{}
		}
		p.fillRows()
		if p.Kind == "template" {
			t, err := u.waTemplate(r.Context(), wc.InboxID, p.Form["template"])
			if err != nil {
				return err
			}
			p.Template = templateFields(t, compose.Template.Params, p.Fields, attachment)
		}
		if p.Kind == "reaction" {
			// A refused reaction: the message is in the notice area.
			return pe
		}
		status, _, _ := httpx.Classify(pe, "")
		return u.Pages.Partial(w, r, status, "inbox", "wa-panel", p)
	} else if err != nil {
		return err
	}
	if !IsHTMX(r) {
		backToConversation(w, r, id)
		return nil
	}
	n, err := u.Names.OfMessages(r.Context(), m)
	if err != nil {
		return err
	}
	sent := messageOf(n, m)
	fresh, err := u.waPanelFor(r.Context(), wc)
	if err != nil {
		return err
	}
	fresh.Kind, fresh.Sent = p.Kind, &sent
	if p.Kind == "reaction" {
		fresh.Kind = "buttons"
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "wa-panel", fresh)
}

// WaTemplateFieldsFor answers the template picker: the chosen template's
// values to fill, for a conversation's inbox or the inbox of a new
// conversation.
func (u *InboxPages) WaTemplateFieldsFor(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var inboxID int64
	if id, err := httpx.PathID(r, "id"); err == nil {
		c, err := u.Convs.Get(r.Context(), a, id)
		if err != nil {
			return err
		}
		inboxID = c.InboxID
	} else {
		inboxID, _ = strconv.ParseInt(r.URL.Query().Get("inbox_id"), 10, 64)
		if !mayWork(a, inboxID) {
			return problem.NotFound("WhatsApp inbox")
		}
	}
	t, err := u.waTemplate(r.Context(), inboxID, r.URL.Query().Get("template"))
	if err != nil {
		return err
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "wa-template-fields", templateFields(t, nil, nil, 0))
}

// mayWork reports whether the actor may write in an inbox.
func mayWork(a policy.Actor, inboxID int64) bool {
	return inboxID > 0 && policy.MayBeAssigned(a.Role, a.Inboxes, inboxID)
}

// ---- New conversation by phone number ----

// waNewPage is the new-conversation page: a number on an inbox, what it
// finds, and the template to start with.
type waNewPage struct {
	Inboxes       []waNumber
	InboxID       int64
	Phone         string
	E164          string
	Looked        bool
	Conversations []conversation.Conversation
	Names         *httpx.Names
	Templates     []whatsapp.Template
	Template      *waTemplateFields
	Key           string
	Error         string
}

// waNumber is a WhatsApp inbox with its number.
type waNumber struct {
	inbox.Inbox
	WhatsApp whatsapp.Settings
}

// waInboxes are the WhatsApp inboxes the actor may write in.
func (u *InboxPages) waInboxes(r *http.Request, a policy.Actor) ([]waNumber, error) {
	ins, err := u.Inboxes.List(r.Context(), a)
	if err != nil {
		return nil, err
	}
	var out []waNumber
	for _, in := range ins {
		if in.Type != whatsapp.Type || !mayWork(a, in.ID) {
			continue
		}
		set, err := whatsapp.SettingsOf(in)
		if err != nil {
			return nil, err
		}
		out = append(out, waNumber{Inbox: in, WhatsApp: set})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (u *InboxPages) renderNew(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, p waNewPage, fields map[string]string) error {
	var err error
	if p.Inboxes, err = u.waInboxes(r, a); err != nil {
		return err
	}
	if p.InboxID == 0 && len(p.Inboxes) > 0 {
		p.InboxID = p.Inboxes[0].ID
	}
	if p.Key == "" {
		p.Key = newKey()
	}
	return u.Pages.Render(w, r, status, "whatsapp_new", PageData{Title: "New WhatsApp conversation", Actor: a, Fields: fields, Data: p})
}

func (u *InboxPages) NewConversation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.renderNew(w, r, a, http.StatusOK, waNewPage{}, nil)
}

// LookupConversation finds a number's conversations on the inbox; the
// page then offers to start a new one with a template.
func (u *InboxPages) LookupConversation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	p := waNewPage{Phone: r.PostForm.Get("phone")}
	p.InboxID, _ = strconv.ParseInt(r.PostForm.Get("inbox_id"), 10, 64)
	isWA, err := u.WhatsApp.IsWhatsApp(r.Context(), p.InboxID)
	if err != nil {
		return err
	}
	if !mayWork(a, p.InboxID) || !isWA {
		f := problem.Fields{}
		f.Add("inbox_id", "Choose a WhatsApp number you work in.")
		return u.renderNew(w, r, a, http.StatusUnprocessableEntity, p, f)
	}
	res, err := httpx.LookupPhone(r.Context(), u.Convs, a, p.InboxID, p.Phone)
	if pe, ok := problem.As(err); ok && pe.Kind == problem.KindInvalid {
		return u.renderNew(w, r, a, http.StatusUnprocessableEntity, p, pe.Fields)
	} else if err != nil {
		return err
	}
	if err := u.fillNew(r, &p, res); err != nil {
		return err
	}
	return u.renderNew(w, r, a, http.StatusOK, p, nil)
}

func (u *InboxPages) fillNew(r *http.Request, p *waNewPage, res httpx.LookupResult) error {
	p.E164, p.Looked, p.Conversations = res.Phone, true, res.Conversations
	n, err := u.Names.OfConversations(r.Context(), res.Conversations...)
	if err != nil {
		return err
	}
	p.Names = n
	p.Templates, err = u.WhatsApp.Templates(r.Context(), p.InboxID, true)
	return err
}

// StartConversation sends the first template to the number and opens
// the conversation.
func (u *InboxPages) StartConversation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	p := waNewPage{Phone: r.PostForm.Get("phone"), Key: r.PostForm.Get("idempotency_key")}
	p.InboxID, _ = strconv.ParseInt(r.PostForm.Get("inbox_id"), 10, 64)
	if !mayWork(a, p.InboxID) {
		return problem.NotFound("WhatsApp inbox")
	}
	r.PostForm.Set("kind", "template") // a new conversation opens with a template only
	panel := &waPanel{Form: map[string]string{}, Fields: map[string]string{}}
	compose, attachment := waComposeForm(r, panel)
	compose.IdempotencyKey = p.Key
	res, _, err := u.WhatsApp.Start(r.Context(), a, p.InboxID, p.Phone, compose)
	if pe, ok := problem.As(err); ok && (pe.Kind == problem.KindInvalid || pe.Kind == problem.KindConflict) {
		look, lerr := httpx.LookupPhone(r.Context(), u.Convs, a, p.InboxID, p.Phone)
		if lerr == nil {
			if err := u.fillNew(r, &p, look); err != nil {
				return err
			}
		}
		if pe.Kind == problem.KindConflict || len(pe.Fields) == 0 {
			p.Error = pe.Message
		}
		t, terr := u.waTemplate(r.Context(), p.InboxID, r.PostForm.Get("template"))
		if terr != nil {
			return terr
		}
		p.Template = templateFields(t, compose.Template.Params, pe.Fields, attachment)
		status, _, _ := httpx.Classify(pe, "")
		return u.renderNew(w, r, a, status, p, pe.Fields)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/inbox/conversations/"+strconv.FormatInt(res.Conversation.ID, 10)+"?"+url.Values{"view": {viewMine}}.Encode(), http.StatusSeeOther)
	return nil
}

// reactionEmoji are the reactions offered on a customer's message.
var reactionEmoji = []string{"👍", "❤️", "😂", "😮", "😢", "🙏"}

// waPickerData is the template picker: the approved templates, the one
// chosen with its values, messages, and where its fields come from.
type waPickerData struct {
	Templates []whatsapp.Template
	Template  *waTemplateFields
	Fields    map[string]string
	FieldsURL string
}

// waFuncs are the template functions of the WhatsApp pages.
func waFuncs() template.FuncMap {
	return template.FuncMap{
		"wrapEmoji": func() []string { return reactionEmoji },
		"inc":       func(i int) int { return i + 1 },
		"waPicker": func(ts []whatsapp.Template, sel *waTemplateFields, fields map[string]string, url string) waPickerData {
			if fields == nil {
				fields = map[string]string{}
			}
			return waPickerData{Templates: ts, Template: sel, Fields: fields, FieldsURL: url}
		},
	}
}
