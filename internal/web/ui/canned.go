package ui

import (
	"context"
	"net/http"
	"strings"
	"time"

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
	// Form lays its message out for the template "message-preview".
	Form *MessageForm
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

// items lays canned responses out for a list: their variables filled
// with vars, or as they are stored (nil).
func (u *CannedPages) items(cs []reply.Canned, a policy.Actor, vars *reply.Vars) []cannedItem {
	out := make([]cannedItem, 0, len(cs))
	for _, c := range cs {
		m := c.Message
		if vars != nil {
			m = m.Fill(*vars)
		}
		edit := c.Scope == reply.Personal || policy.Allow(a, policy.ManageCannedResponses)
		out = append(out, cannedItem{Canned: c, Editable: edit, Form: NewMessageForm("", m, c.Attachment)})
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
	// Lists show messages as they are stored, variables included.
	v.List = u.items(cs, a, nil)
	if IsHTMX(r) && r.Header.Get("HX-Target") == "canned-list" {
		return u.Pages.Partial(w, r, http.StatusOK, "preferences_canned", "canned-list", v)
	}
	presets, err := u.Canned.List(ctx, a, reply.CannedFilter{Scope: "company"})
	if err != nil {
		return err
	}
	v.Presets = u.items(presets, a, nil)
	return u.Pages.Render(w, r, http.StatusOK, "preferences_canned", PageData{Title: "Canned responses", Actor: a, User: &me, Data: v})
}

// Presets is the drawer's list of company presets, searched.
func (u *CannedPages) Presets(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	cs, err := u.Canned.List(r.Context(), a, reply.CannedFilter{Q: r.URL.Query().Get("q"), Scope: "company"})
	if err != nil {
		return err
	}
	return u.Pages.Partial(w, r, http.StatusOK, "preferences_canned", "canned-presets", cannedPage{Presets: u.items(cs, a, nil)})
}

// cannedForm is the form of one canned response: its short code and
// the shared form of its message (under the prefix "message", where
// reply.Message.Check reports).
type cannedForm struct {
	Tab, Notice string
	ID          int64
	Scope       reply.Scope
	ShortCode   string
	Form        *MessageForm
}

func (u *CannedPages) renderForm(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, v cannedForm, d PageData) error {
	me, err := u.Users.Get(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	v.Tab = "canned"
	v.Form.Sample = sampleVars(me)
	d.Title = "New canned response"
	if v.ID != 0 {
		d.Title = "Edit canned response"
	}
	d.Actor, d.User, d.Data = a, &me, v
	return u.Pages.Render(w, r, status, "preferences_canned_edit", d)
}

// New is the form of a new canned response (?scope=company: a company
// preset, for admins).
func (u *CannedPages) New(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v := cannedForm{Scope: reply.Personal, Form: NewMessageForm("message", reply.Message{Kind: reply.Text}, nil)}
	if r.URL.Query().Get("scope") == "company" {
		if !policy.Allow(a, policy.ManageCannedResponses) {
			return problem.Forbidden("Only admins make company presets.")
		}
		v.Scope = reply.Company
	}
	return u.renderForm(w, r, a, http.StatusOK, v, PageData{})
}

// Edit is the form of a canned response the agent may change.
func (u *CannedPages) Edit(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	c, err := u.editable(r, a)
	if err != nil {
		return err
	}
	v := cannedForm{ID: c.ID, Scope: c.Scope, ShortCode: c.ShortCode, Form: NewMessageForm("message", c.Message, c.Attachment)}
	return u.renderForm(w, r, a, http.StatusOK, v, PageData{})
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
	return u.save(w, r, a, reply.Canned{})
}

// Update saves a canned response from the form.
func (u *CannedPages) Update(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	c, err := u.editable(r, a)
	if err != nil {
		return err
	}
	return u.save(w, r, a, c)
}

// save makes (cur.ID 0) or changes a canned response from the form; its
// message may keep the file cur keeps, whoever uploaded it.
func (u *CannedPages) save(w http.ResponseWriter, r *http.Request, a policy.Actor, cur reply.Canned) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	m, mf, problems := ReadMessage(r.PostForm, "message", Files(r.Context(), u.DB, a.UserID, cur.Message.AttachmentID))
	for k, v := range problems {
		fields.Add(k, "%s", v)
	}
	v := cannedForm{ID: cur.ID, Scope: cur.Scope, ShortCode: r.PostForm.Get("short_code"), Form: mf}
	if cur.ID == 0 {
		v.Scope = reply.Personal
		if r.PostForm.Get("scope") == string(reply.Company) {
			v.Scope = reply.Company
		}
	}
	if err = fields.Err(); err == nil {
		if cur.ID == 0 {
			_, err = u.Canned.Create(r.Context(), a, reply.NewCanned{Scope: v.Scope, ShortCode: v.ShortCode, Message: m})
		} else {
			_, err = u.Canned.Update(r.Context(), a, cur.ID, reply.CannedPatch{ShortCode: &v.ShortCode, Message: &m})
		}
	}
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		mf.SetProblems(p.Fields)
		status, _, _ := httpx.Classify(p, "")
		return u.renderForm(w, r, a, status, v, PageData{Fields: p.Fields, Error: unshown(p)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/preferences/canned?saved=saved", http.StatusSeeOther)
	return nil
}

// unshown is the message of a refused form for the notice area: the
// problem's own when it has no fields, else one of a field the form does
// not show (the ids of buttons and rows, which it makes itself).
func unshown(p *problem.Error) string {
	if len(p.Fields) == 0 {
		return p.Message
	}
	for k, v := range p.Fields {
		if strings.HasSuffix(k, ".id") || k == "form" || k == "scope" || k == "message.interactive.type" {
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
	for _, it := range u.items(cs, a, &vars) {
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
