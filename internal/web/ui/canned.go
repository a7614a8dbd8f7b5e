package ui

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// CannedPages are canned responses in the workspace: the "Canned
// responses" tab of the preferences (the list with its search and
// filter, the form of one, the company presets' drawer) and the
// composer's picker, which "/" opens.
type CannedPages struct {
	Canned   *reply.CannedStore
	Convs    *conversation.Service
	DB       *db.DB
	Files    *attachment.Store
	Inboxes  *inbox.Store
	Users    *user.Store
	WhatsApp *whatsapp.Service
	Pages    *Renderer
}

// cannedPage is what the tab shows.
type cannedPage struct {
	Tab, Notice string
	// Q and Scope are the list's search and filter.
	Q, Scope string
	List     []cannedItem
	// Admin may make and change company presets.
	Admin bool
	// Presets are the company presets of the drawer.
	Presets []cannedItem
}

// cannedItem is a canned response as a list shows it.
type cannedItem struct {
	reply.Canned
	// Editable says whether the viewer may change it.
	Editable bool
	Preview  replyPreview
}

// replyPreview is a stored message as the customer will see it (its
// variables filled): its formatted text, file, header, footer and
// buttons, for the template "reply-preview" (canned responses here; any
// page that shows a stored message may use both).
type replyPreview struct {
	Text        template.HTML
	File        *attachment.Attachment
	FileURL     string
	Header      string
	Footer      string
	Interactive *whatsapp.Interactive
}

// previewOf fills m's variables with v and lays it out. fileURL is where
// its file is served from.
func previewOf(m reply.Message, file *attachment.Attachment, fileURL string, v reply.Vars) replyPreview {
	m = m.Fill(v)
	p := replyPreview{Text: reply.FormatHTML(m.Text), File: file, FileURL: fileURL, Interactive: m.Interactive}
	if in := m.Interactive; in != nil {
		p.Footer = in.Footer
		if in.Header != nil && in.Header.Type == "text" {
			p.Header = in.Header.Text
		}
	}
	return p
}

func cannedFileURL(c reply.Canned) string {
	if c.Attachment == nil {
		return ""
	}
	return "/preferences/canned/" + strconv.FormatInt(c.ID, 10) + "/file"
}

// sampleVars are the values a preview outside a conversation shows: the
// agent's own public name (their first name when they show none), and
// examples for the rest.
func sampleVars(me user.User) reply.Vars {
	name := me.PublicName
	if name == "" {
		name = me.FirstName
	}
	return reply.Vars{ContactName: "Alex", AgentPublicName: name, InboxName: "Support", QueuePosition: 3, QueueWait: 5 * time.Minute}
}

func (u *CannedPages) items(cs []reply.Canned, a policy.Actor, v reply.Vars) []cannedItem {
	out := make([]cannedItem, 0, len(cs))
	for _, c := range cs {
		edit := c.Scope == reply.Personal || policy.Allow(a, policy.ManageCannedResponses)
		out = append(out, cannedItem{Canned: c, Editable: edit, Preview: previewOf(c.Message, c.Attachment, cannedFileURL(c), v)})
	}
	return out
}

// Notices of the tab after a change.
var cannedNotices = map[string]string{
	"saved":   "The canned response is saved.",
	"deleted": "The canned response is deleted.",
}

// List is the tab: the canned responses the agent may use, searched and
// filtered (htmx asks for the list alone as the search is typed).
func (u *CannedPages) List(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ctx := r.Context()
	me, err := u.Users.Get(ctx, a.UserID)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := cannedPage{Tab: "canned", Q: q.Get("q"), Scope: q.Get("scope"), Admin: policy.Allow(a, policy.ManageCannedResponses),
		Notice: cannedNotices[q.Get("saved")]}
	switch v.Scope {
	case "company", "personal":
	default:
		v.Scope = "all"
	}
	cs, err := u.Canned.List(ctx, a, reply.CannedFilter{Q: v.Q, Scope: v.Scope})
	if err != nil {
		return err
	}
	vars := sampleVars(me)
	v.List = u.items(cs, a, vars)
	if IsHTMX(r) && r.Header.Get("HX-Target") == "canned-list" {
		return u.Pages.Partial(w, r, http.StatusOK, "preferences_canned", "canned-list", v)
	}
	presets, err := u.Canned.List(ctx, a, reply.CannedFilter{Scope: "company"})
	if err != nil {
		return err
	}
	v.Presets = u.items(presets, a, vars)
	return u.Pages.Render(w, r, http.StatusOK, "preferences_canned", PageData{Title: "Canned responses", Actor: a, User: &me, Data: v})
}

// Presets is the drawer's list of company presets, searched.
func (u *CannedPages) Presets(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	me, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	cs, err := u.Canned.List(r.Context(), a, reply.CannedFilter{Q: r.URL.Query().Get("q"), Scope: "company"})
	if err != nil {
		return err
	}
	return u.Pages.Partial(w, r, http.StatusOK, "preferences_canned", "canned-presets", cannedPage{Presets: u.items(cs, a, sampleVars(me))})
}

// cannedForm is the form of one canned response.
type cannedForm struct {
	Tab, Notice string
	ID          int64
	Scope       reply.Scope
	Admin       bool
	// File is the file kept or chosen, FileURL where it shows.
	File    *attachment.Attachment
	FileURL string
	Buttons []waRow
	Rows    []waRow
	Preview replyPreview
	// Variables are the names the text may use.
	Variables []string
	Emoji     []string
}

// cannedEmoji are the emoji the form offers to insert.
var cannedEmoji = []string{"😊", "🙂", "👋", "🙏", "👍", "🎉", "❤️", "✅", "⏰", "📦", "📞", "💬"}

// formOf lays out c (nil: a new one) in the form's fields.
func formOf(c *reply.Canned) map[string]string {
	f := map[string]string{"itype": ""}
	if c == nil {
		return f
	}
	m := c.Message
	f["short_code"], f["text"] = c.ShortCode, m.Text
	if m.AttachmentID != 0 {
		f["attachment_id"] = strconv.FormatInt(m.AttachmentID, 10)
	}
	if in := m.Interactive; in != nil && m.Kind == reply.Interactive {
		f["itype"] = map[string]string{whatsapp.InteractiveButtons: "buttons", whatsapp.InteractiveList: "list", whatsapp.InteractiveLink: "link"}[in.Type]
		if in.Header != nil && in.Header.Type == "text" {
			f["header_text"] = in.Header.Text
		}
		f["footer"], f["list_button"], f["display_text"], f["url"] = in.Footer, in.ListButton, in.DisplayText, in.URL
		for i, b := range in.Buttons {
			f["button."+strconv.Itoa(i)] = b.Title
		}
		if len(in.Sections) > 0 {
			f["section_title"] = in.Sections[0].Title
			for i, row := range in.Sections[0].Rows {
				f["row."+strconv.Itoa(i)], f["row_description."+strconv.Itoa(i)] = row.Title, row.Description
			}
		}
	}
	return f
}

// messageOfForm reads the form's message. The kind follows what is
// filled in: buttons, a list or a link make it interactive (a file is
// then its header), else a file makes it media, else it is text. The
// buttons and rows are packed (empty inputs dropped), and form is
// rewritten to match, so that a problem of the nth button is beside the
// nth input.
func (u *CannedPages) messageOfForm(ctx context.Context, form map[string]string) (reply.Message, *attachment.Attachment) {
	m := reply.Message{Kind: reply.Text, Text: form["text"]}
	var file *attachment.Attachment
	if id, err := strconv.ParseInt(form["attachment_id"], 10, 64); err == nil && id > 0 {
		m.AttachmentID = id
		if ref, err := attachment.Get(ctx, u.DB, id); err == nil {
			file = &ref.Attachment
		}
		m.Kind = reply.Media
	}
	itype := form["itype"]
	if itype != "buttons" && itype != "list" && itype != "link" {
		return m, file
	}
	in := &whatsapp.Interactive{Footer: form["footer"]}
	switch {
	case file != nil && itype != "list":
		in.Header = &whatsapp.Header{Type: string(file.Kind)}
	case strings.TrimSpace(form["header_text"]) != "":
		in.Header = &whatsapp.Header{Type: "text", Text: form["header_text"]}
	}
	switch itype {
	case "buttons":
		in.Type = whatsapp.InteractiveButtons
		var titles []string
		for i := range whatsapp.MaxButtons {
			if t := strings.TrimSpace(form["button."+strconv.Itoa(i)]); t != "" {
				titles = append(titles, t)
			}
			delete(form, "button."+strconv.Itoa(i))
		}
		for i, t := range titles {
			in.Buttons = append(in.Buttons, whatsapp.Button{Title: t})
			form["button."+strconv.Itoa(i)] = t
		}
	case "list":
		in.Type, in.ListButton = whatsapp.InteractiveList, form["list_button"]
		sec := whatsapp.Section{Title: form["section_title"]}
		for i := range whatsapp.MaxRows {
			k := strconv.Itoa(i)
			if t := strings.TrimSpace(form["row."+k]); t != "" {
				sec.Rows = append(sec.Rows, whatsapp.Row{Title: t, Description: form["row_description."+k]})
			}
			delete(form, "row."+k)
			delete(form, "row_description."+k)
		}
		for i, row := range sec.Rows {
			form["row."+strconv.Itoa(i)], form["row_description."+strconv.Itoa(i)] = row.Title, row.Description
		}
		if len(sec.Rows) > 0 {
			in.Sections = []whatsapp.Section{sec}
		}
	case "link":
		in.Type, in.DisplayText, in.URL = whatsapp.InteractiveLink, form["display_text"], strings.TrimSpace(form["url"])
	}
	m.Kind, m.Interactive = reply.Interactive, in
	return m, file
}

// cannedFormFields are the fields of the form besides buttons and rows.
var cannedFormFields = []string{"short_code", "scope", "text", "attachment_id", "itype", "header_text", "footer", "list_button", "section_title", "display_text", "url"}

// readCannedForm reads the posted form into the form's values.
func readCannedForm(r *http.Request) map[string]string {
	form := map[string]string{}
	get := func(k string) {
		if v := r.PostForm.Get(k); v != "" {
			form[k] = strings.ReplaceAll(v, "\r\n", "\n")
		}
	}
	for _, k := range cannedFormFields {
		get(k)
	}
	for i := range whatsapp.MaxButtons {
		get("button." + strconv.Itoa(i))
	}
	for i := range whatsapp.MaxRows {
		get("row." + strconv.Itoa(i))
		get("row_description." + strconv.Itoa(i))
	}
	return form
}

// formView lays the form out with its values and messages.
func (u *CannedPages) formView(ctx context.Context, a policy.Actor, me user.User, id int64, scope reply.Scope, form, fields map[string]string) cannedForm {
	v := cannedForm{Tab: "canned", ID: id, Scope: scope, Admin: policy.Allow(a, policy.ManageCannedResponses),
		Variables: reply.Variables, Emoji: cannedEmoji}
	m, file := u.messageOfForm(ctx, form)
	if file != nil {
		v.File, v.FileURL = file, u.fileURL(ctx, a, id, file.ID)
	}
	v.Preview = previewOf(m, file, v.FileURL, sampleVars(me))
	v.Buttons = make([]waRow, whatsapp.MaxButtons)
	for i := range v.Buttons {
		k := strconv.Itoa(i)
		v.Buttons[i] = waRow{Index: i, Title: form["button."+k], TitleError: fields["message.interactive.buttons."+k+".title"]}
	}
	v.Rows = make([]waRow, whatsapp.MaxRows)
	for i := range v.Rows {
		k, f := strconv.Itoa(i), "message.interactive.sections.0.rows."+strconv.Itoa(i)
		v.Rows[i] = waRow{Index: i, Title: form["row."+k], Description: form["row_description."+k], TitleError: fields[f+".title"], DescError: fields[f+".description"]}
	}
	return v
}

// fileURL is where the form shows a file: the canned response's own,
// or the agent's upload not yet kept.
func (u *CannedPages) fileURL(ctx context.Context, a policy.Actor, id, fileID int64) string {
	if id != 0 {
		if c, err := u.Canned.Get(ctx, a, id); err == nil && c.Attachment != nil && c.Attachment.ID == fileID {
			return cannedFileURL(c)
		}
	}
	return "/api/v1/attachments/" + strconv.FormatInt(fileID, 10)
}

func (u *CannedPages) renderForm(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, id int64, scope reply.Scope, form, fields map[string]string, msg string) error {
	me, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	title := "New canned response"
	if id != 0 {
		title = "Edit canned response"
	}
	v := u.formView(r.Context(), a, me, id, scope, form, fields)
	return u.Pages.Render(w, r, status, "preferences_canned_edit", PageData{Title: title, Actor: a, User: &me, Data: v, Form: form, Fields: fields, Error: msg})
}

// New is the form of a new canned response (?scope=company: a company
// preset, for admins).
func (u *CannedPages) New(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	scope := reply.Personal
	if r.URL.Query().Get("scope") == "company" {
		if !policy.Allow(a, policy.ManageCannedResponses) {
			return problem.Forbidden("Only admins make company presets.")
		}
		scope = reply.Company
	}
	return u.renderForm(w, r, a, http.StatusOK, 0, scope, formOf(nil), nil, "")
}

// Edit is the form of a canned response the agent may change.
func (u *CannedPages) Edit(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	c, err := u.editable(r, a)
	if err != nil {
		return err
	}
	return u.renderForm(w, r, a, http.StatusOK, c.ID, c.Scope, formOf(&c), nil, "")
}

// editable is the canned response of the path, when a may change it.
func (u *CannedPages) editable(r *http.Request, a policy.Actor) (reply.Canned, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return reply.Canned{}, reply.ErrCannedNotFound
	}
	c, err := u.Canned.Get(r.Context(), a, id)
	if err != nil {
		return c, err
	}
	if c.Scope == reply.Company && !policy.Allow(a, policy.ManageCannedResponses) {
		return c, problem.Forbidden("Only admins change company presets.")
	}
	return c, nil
}

// Create saves a new canned response from the form.
func (u *CannedPages) Create(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.save(w, r, a, 0)
}

// Update saves a canned response from the form.
func (u *CannedPages) Update(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	c, err := u.editable(r, a)
	if err != nil {
		return err
	}
	return u.save(w, r, a, c.ID)
}

func (u *CannedPages) save(w http.ResponseWriter, r *http.Request, a policy.Actor, id int64) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	form := readCannedForm(r)
	scope := reply.Personal
	if form["scope"] == string(reply.Company) {
		scope = reply.Company
	}
	m, _ := u.messageOfForm(r.Context(), form)
	if err = fields.Err(); err == nil {
		if id == 0 {
			_, err = u.Canned.Create(r.Context(), a, reply.NewCanned{Scope: scope, ShortCode: form["short_code"], Message: m})
		} else {
			var c reply.Canned
			c, err = u.Canned.Update(r.Context(), a, id, reply.CannedPatch{ShortCode: new(form["short_code"]), Message: &m})
			scope = c.Scope
		}
	}
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		if id != 0 {
			if c, err := u.Canned.Get(r.Context(), a, id); err == nil {
				scope = c.Scope
			}
		}
		status, _, _ := httpx.Classify(p, "")
		return u.renderForm(w, r, a, status, id, scope, form, p.Fields, unshown(p))
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/preferences/canned?saved=saved", http.StatusSeeOther)
	return nil
}

// unshown is the message of a refused form for the notice area: the
// problem's own when it has no fields, else those of fields the form
// does not show (the ids of buttons and rows, which it makes itself).
func unshown(p *problem.Error) string {
	if len(p.Fields) == 0 {
		return p.Message
	}
	for k, v := range p.Fields {
		if strings.HasSuffix(k, ".id") || k == "form" || k == "message.kind" || k == "message.interactive.type" {
			return v
		}
	}
	return ""
}

// Delete removes a canned response the agent may change.
func (u *CannedPages) Delete(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	c, err := u.editable(r, a)
	if err != nil {
		return err
	}
	if err := u.Canned.Delete(r.Context(), a, c.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/preferences/canned?saved=deleted", http.StatusSeeOther)
	return nil
}

// Preview renders the form's message as the customer will see it, with
// example values in its variables (htmx asks for it as the form changes).
func (u *CannedPages) Preview(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if _, err := httpx.ReadForm(r); err != nil {
		return err
	}
	me, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	id, _ := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	v := u.formView(r.Context(), a, me, id, reply.Personal, readCannedForm(r), nil)
	return u.Pages.Partial(w, r, http.StatusOK, "preferences_canned_edit", "reply-preview", v.Preview)
}

// File serves the file a canned response the agent may use keeps.
func (u *CannedPages) File(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return reply.ErrCannedNotFound
	}
	c, err := u.Canned.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	if c.Attachment == nil {
		return problem.NotFound("Attachment")
	}
	return httpx.ServeAttachment(w, r, u.Files, *c.Attachment)
}

// ---- The composer's picker ----

// pickerView is the picker: the matches, each with its preview.
type pickerView struct {
	ConvID int64
	Q      string
	Items  []pickerItem
	// WhatsApp says whether the conversation takes buttons.
	WhatsApp bool
}

// pickerItem is a match with what inserting it puts in the composer.
type pickerItem struct {
	cannedItem
	Snippet string
	Insert  pickerInsert
}

// pickerInsert is what the composer takes from a canned response, its
// variables filled: text for the reply box, the file to attach, and the
// fields of the WhatsApp composer's buttons, list or link button.
type pickerInsert struct {
	Text         string      `json:"text"`
	File         int64       `json:"file,omitempty"`
	FileName     string      `json:"file_name,omitempty"`
	FileKind     string      `json:"file_kind,omitempty"`
	Kind         string      `json:"kind,omitempty"` // buttons, list or link
	HeaderText   string      `json:"header_text,omitempty"`
	Footer       string      `json:"footer,omitempty"`
	Buttons      []string    `json:"buttons,omitempty"`
	ListButton   string      `json:"list_button,omitempty"`
	SectionTitle string      `json:"section_title,omitempty"`
	Rows         []pickerRow `json:"rows,omitempty"`
	DisplayText  string      `json:"display_text,omitempty"`
	URL          string      `json:"url,omitempty"`
}

type pickerRow struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// insertOf is what inserting c puts in the composer, filled with v.
func insertOf(c reply.Canned, v reply.Vars) pickerInsert {
	m := c.Message.Fill(v)
	out := pickerInsert{Text: m.Text}
	if c.Attachment != nil {
		out.File, out.FileName, out.FileKind = c.ID, c.Attachment.Filename, string(c.Attachment.Kind)
	}
	in := m.Interactive
	if m.Kind != reply.Interactive || in == nil {
		return out
	}
	out.Footer = in.Footer
	if in.Header != nil && in.Header.Type == "text" {
		out.HeaderText = in.Header.Text
	}
	switch in.Type {
	case whatsapp.InteractiveButtons:
		out.Kind = "buttons"
		for _, b := range in.Buttons {
			out.Buttons = append(out.Buttons, b.Title)
		}
	case whatsapp.InteractiveList:
		out.Kind, out.ListButton = "list", in.ListButton
		if len(in.Sections) > 0 {
			out.SectionTitle = in.Sections[0].Title
			for _, r := range in.Sections[0].Rows {
				out.Rows = append(out.Rows, pickerRow{r.Title, r.Description})
			}
		}
	case whatsapp.InteractiveLink:
		out.Kind, out.DisplayText, out.URL = "link", in.DisplayText, in.URL
	}
	return out
}

// maxPicker is how many matches the picker shows.
const maxPicker = 20

// Picker lists the canned responses matching what follows "/" in the
// composer, by short code then content, each previewed with the
// conversation's values: the contact's name, the agent's public name, the
// inbox's name (and the queue's, when it waits in one).
func (u *CannedPages) Picker(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	ctx := r.Context()
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := u.Convs.Get(ctx, a, id)
	if err != nil {
		return err
	}
	vars, err := u.varsOf(ctx, a, c)
	if err != nil {
		return err
	}
	q := r.URL.Query().Get("q")
	cs, err := u.Canned.List(ctx, a, reply.CannedFilter{Q: q, Limit: maxPicker})
	if err != nil {
		return err
	}
	v := pickerView{ConvID: id, Q: q}
	if u.WhatsApp != nil {
		if v.WhatsApp, err = u.WhatsApp.IsWhatsApp(ctx, c.InboxID); err != nil {
			return err
		}
	}
	for _, it := range u.items(cs, a, vars) {
		v.Items = append(v.Items, pickerItem{cannedItem: it, Snippet: snippet(it.Message.Fill(vars).Text, 80), Insert: insertOf(it.Canned, vars)})
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "canned-picker", v)
}

// varsOf are the values of a conversation's variables for agent a.
func (u *CannedPages) varsOf(ctx context.Context, a policy.Actor, c conversation.Conversation) (reply.Vars, error) {
	me, err := u.Users.Get(ctx, a.UserID)
	if err != nil {
		return reply.Vars{}, err
	}
	v := reply.Vars{ContactName: c.Contact.Name, AgentPublicName: me.PublicName}
	if v.AgentPublicName == "" {
		v.AgentPublicName = me.FirstName
	}
	in, err := u.Inboxes.Get(ctx, c.InboxID)
	if err != nil {
		return v, err
	}
	v.InboxName = in.Name
	if q := c.Queue; q != nil {
		v.QueuePosition = q.Position
		if q.EstimatedWaitS != nil {
			v.QueueWait = time.Duration(*q.EstimatedWaitS) * time.Second
		}
	}
	return v, nil
}

// snippet is the start of a text on one line, cut at n characters.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// PickerFile attaches the file of a canned response to the composer: a
// copy of it as the agent's upload (nothing is copied on disk), as the
// uploads list shows it.
func (u *CannedPages) PickerFile(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	if _, err := u.Convs.Get(r.Context(), a, id); err != nil {
		return err
	}
	cid, err := httpx.PathID(r, "canned")
	if err != nil {
		return reply.ErrCannedNotFound
	}
	at, err := u.Canned.CopyAttachment(r.Context(), a, cid)
	if err != nil {
		return err
	}
	return u.Pages.Partial(w, r, http.StatusCreated, "inbox", "canned-upload", at)
}
