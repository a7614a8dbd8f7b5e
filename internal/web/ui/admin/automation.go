package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/automation"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/text"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
	"github.com/switchboardhq/switchboard/internal/web/ui"
)

// AutomationPages are an inbox's Automation page (002: Number's settings
// > Automation): the welcome message, the unassigned auto-reply, the
// queue message, the no-reply reminder, auto-close and the satisfaction
// survey, each a switch and what it sends, saved together.
type AutomationPages struct {
	Automation *automation.Service
	DB         *db.DB
	Files      *attachment.Store
	Inboxes    *inbox.Store
	Pages      *ui.Renderer
}

// The messages of the page, in its order.
var autoMessages = []struct {
	Key, Title, Hint string
}{
	{"welcome", "Welcome message", "Sent when a customer opens the chat (WhatsApp), before they write."},
	{"unassigned", "Unassigned auto-reply", "Sent when a conversation enters Unassigned: nobody is serving it."},
	{"queue", "Queue message", "Sent when a conversation enters the queue. {{queue.position}} and {{queue.estimated_wait}} say where it stands."},
	{"reminder", "No-reply reminder", "Sent once per customer message that no agent answered within the waiting time; an agent's reply cancels it."},
}

// The page's limits on buttons and rows (Meta's).
var (
	buttonSlots = seq(whatsapp.MaxButtons)
	rowSlots    = seq(whatsapp.MaxRows)
)

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// automationView is the page.
type automationView struct {
	Inbox    inbox.Inbox
	WhatsApp bool
	Messages []messageForm
	Survey   previewView
	Saved    bool
	Buttons  []int
	Rows     []int
	Vars     []string
}

// messageForm is one automatic message's part of the form.
type messageForm struct {
	Key, Title, Hint string
	// Prefix names its message's fields ("welcome.message").
	Prefix  string
	File    *attachment.Attachment
	Preview previewView
}

// previewView is a message as the customer will read it, its variables
// filled with examples.
type previewView struct {
	Message reply.Message
	File    *attachment.Attachment
}

// sampleVars are the examples a preview fills the variables with.
func sampleVars(in inbox.Inbox) reply.Vars {
	return reply.Vars{ContactName: "Maria", AgentPublicName: "Ana", InboxName: in.Name, QueuePosition: 3, QueueWait: 5 * time.Minute}
}

func (u *AutomationPages) inbox(r *http.Request) (inbox.Inbox, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return inbox.Inbox{}, problem.NotFound("Inbox")
	}
	return u.Inboxes.Get(r.Context(), id)
}

// switches are the settings' switches, by the form's field.
func switches(st *automation.Settings) map[string]*bool {
	return map[string]*bool{"welcome.enabled": &st.Welcome.Enabled, "welcome.on_first_message": &st.Welcome.OnFirstMessage,
		"unassigned.enabled": &st.Unassigned.Enabled, "queue.enabled": &st.Queue.Enabled, "reminder.enabled": &st.Reminder.Enabled,
		"auto_close.enabled": &st.AutoClose.Enabled, "csat.enabled": &st.CSAT.Enabled}
}

// messages are the settings' messages, by key.
func messages(st *automation.Settings) map[string]*reply.Message {
	return map[string]*reply.Message{"welcome": &st.Welcome.Message, "unassigned": &st.Unassigned.Message, "queue": &st.Queue.Message,
		"reminder": &st.Reminder.Message}
}

// formOf lays settings out in the form's fields.
func formOf(st automation.Settings) map[string]string {
	f := map[string]string{}
	for k, on := range switches(&st) {
		if *on {
			f[k] = "1"
		}
	}
	for k, m := range messages(&st) {
		messageFields(f, k+".message", *m)
	}
	durationFields(f, "reminder", st.Reminder.AfterMinutes)
	durationFields(f, "auto_close", st.AutoClose.AfterMinutes)
	f["csat.text"], f["csat.button"], f["csat.thanks"] = st.CSAT.Text, st.CSAT.Button, st.CSAT.Thanks
	return f
}

// durationFields shows minutes in hours when they are whole hours.
func durationFields(f map[string]string, p string, minutes int) {
	if minutes > 0 && minutes%60 == 0 {
		f[p+".after"], f[p+".unit"] = strconv.Itoa(minutes/60), "hours"
		return
	}
	f[p+".after"], f[p+".unit"] = strconv.Itoa(minutes), "minutes"
}

func messageFields(f map[string]string, p string, m reply.Message) {
	f[p+".kind"], f[p+".text"] = string(m.Kind), m.Text
	if f[p+".kind"] == "" {
		f[p+".kind"] = string(reply.Text)
	}
	if m.AttachmentID != 0 {
		f[p+".attachment_id"] = strconv.FormatInt(m.AttachmentID, 10)
	}
	in := m.Interactive
	if in == nil {
		f[p+".interactive.type"] = whatsapp.InteractiveButtons
		return
	}
	ip := p + ".interactive."
	f[ip+"type"], f[ip+"footer"] = in.Type, in.Footer
	f[ip+"header.type"] = "none"
	if in.Header != nil {
		f[ip+"header.type"], f[ip+"header.text"] = in.Header.Type, in.Header.Text
	}
	for i, b := range in.Buttons {
		f[ip+"buttons."+strconv.Itoa(i)+".title"] = b.Title
		f[ip+"buttons."+strconv.Itoa(i)+".id"] = b.ID
	}
	f[ip+"list_button"] = in.ListButton
	if len(in.Sections) > 0 {
		f[ip+"sections.0.title"] = in.Sections[0].Title
		for i, r := range in.Sections[0].Rows {
			rp := ip + "sections.0.rows." + strconv.Itoa(i)
			f[rp+".title"], f[rp+".description"], f[rp+".id"] = r.Title, r.Description, r.ID
		}
	}
	f[ip+"display_text"], f[ip+"url"] = in.DisplayText, in.URL
}

// formFields are the posted fields the page reads (besides buttons and
// rows).
func formFields() []string {
	fs := []string{"reminder.after", "reminder.unit", "auto_close.after", "auto_close.unit", "csat.text", "csat.button", "csat.thanks"}
	for _, m := range autoMessages {
		p := m.Key + ".message."
		fs = append(fs, p+"kind", p+"text", p+"attachment_id", p+"remove_file", p+"interactive.type", p+"interactive.footer",
			p+"interactive.header.type", p+"interactive.header.text", p+"interactive.list_button", p+"interactive.sections.0.title",
			p+"interactive.display_text", p+"interactive.url")
		for _, i := range buttonSlots {
			b := p + "interactive.buttons." + strconv.Itoa(i)
			fs = append(fs, b+".title", b+".id")
		}
		for _, i := range rowSlots {
			r := p + "interactive.sections.0.rows." + strconv.Itoa(i)
			fs = append(fs, r+".title", r+".description", r+".id")
		}
	}
	return fs
}

// readForm takes the posted values of the page's fields.
func readForm(r *http.Request) map[string]string {
	f := map[string]string{}
	for _, k := range formFields() {
		f[k] = r.PostForm.Get(k)
	}
	var st automation.Settings
	for k := range switches(&st) {
		f[k] = r.PostForm.Get(k)
	}
	return f
}

// messageOf reads the message of prefix p from the form. Empty buttons
// and rows are dropped and the form rewritten to match, so that a
// problem of the nth button shows beside the nth input.
func messageOf(f map[string]string, p string) reply.Message {
	m := reply.Message{Kind: reply.Kind(f[p+".kind"]), Text: f[p+".text"]}
	if id, err := strconv.ParseInt(f[p+".attachment_id"], 10, 64); err == nil && id > 0 && f[p+".remove_file"] == "" {
		m.AttachmentID = id
	}
	if m.Kind != reply.Interactive {
		return m
	}
	ip := p + ".interactive."
	in := &whatsapp.Interactive{Type: f[ip+"type"], Footer: f[ip+"footer"]}
	switch h := f[ip+"header.type"]; h {
	case "", "none":
	default:
		in.Header = &whatsapp.Header{Type: h, Text: f[ip+"header.text"]}
	}
	switch in.Type {
	case whatsapp.InteractiveButtons:
		var bs []whatsapp.Button
		for _, i := range buttonSlots {
			b := ip + "buttons." + strconv.Itoa(i)
			if t := strings.TrimSpace(f[b+".title"]); t != "" {
				bs = append(bs, whatsapp.Button{Title: t, ID: f[b+".id"]})
			}
		}
		for i := range buttonSlots {
			b := ip + "buttons." + strconv.Itoa(i)
			f[b+".title"], f[b+".id"] = "", ""
			if i < len(bs) {
				f[b+".title"], f[b+".id"] = bs[i].Title, bs[i].ID
			}
		}
		in.Buttons = bs
	case whatsapp.InteractiveList:
		in.ListButton = f[ip+"list_button"]
		var rows []whatsapp.Row
		for _, i := range rowSlots {
			rp := ip + "sections.0.rows." + strconv.Itoa(i)
			if t := strings.TrimSpace(f[rp+".title"]); t != "" || strings.TrimSpace(f[rp+".description"]) != "" {
				rows = append(rows, whatsapp.Row{Title: t, Description: f[rp+".description"], ID: f[rp+".id"]})
			}
		}
		for i := range rowSlots {
			rp := ip + "sections.0.rows." + strconv.Itoa(i)
			f[rp+".title"], f[rp+".description"], f[rp+".id"] = "", "", ""
			if i < len(rows) {
				f[rp+".title"], f[rp+".description"], f[rp+".id"] = rows[i].Title, rows[i].Description, rows[i].ID
			}
		}
		in.Sections = []whatsapp.Section{{Title: f[ip+"sections.0.title"], Rows: rows}}
	case whatsapp.InteractiveLink:
		in.DisplayText, in.URL = f[ip+"display_text"], f[ip+"url"]
	}
	m.Interactive = in
	return m
}

// settingsOf reads the form over st, the settings as they are: fields
// whose value is not a number are reported in fields.
func settingsOf(f map[string]string, st automation.Settings, fields problem.Fields) automation.Settings {
	for k, on := range switches(&st) {
		*on = f[k] != ""
	}
	for k, m := range messages(&st) {
		*m = messageOf(f, k+".message")
	}
	st.Reminder.AfterMinutes = minutesOf(f, "reminder", fields)
	st.AutoClose.AfterMinutes = minutesOf(f, "auto_close", fields)
	st.CSAT.Text, st.CSAT.Button, st.CSAT.Thanks = f["csat.text"], f["csat.button"], f["csat.thanks"]
	return st
}

// minutesOf reads a waiting time: a whole number of minutes or hours.
// Its problems go under p.after_minutes, where the service puts its own.
func minutesOf(f map[string]string, p string, fields problem.Fields) int {
	n, err := strconv.Atoi(strings.TrimSpace(f[p+".after"]))
	if err != nil {
		fields.Add(p+".after_minutes", "Enter a whole number.")
		return 0
	}
	if f[p+".unit"] == "hours" {
		if n > 1<<20 {
			n = 1 << 20
		}
		return n * 60
	}
	return n
}

// view lays the page out: each message's file and preview.
func (u *AutomationPages) view(ctx context.Context, in inbox.Inbox, st automation.Settings) (automationView, error) {
	v := automationView{Inbox: in, WhatsApp: in.Type == whatsapp.Type, Buttons: buttonSlots, Rows: rowSlots, Vars: reply.Variables}
	vars := sampleVars(in)
	ms := messages(&st)
	for _, am := range autoMessages {
		mf := messageForm{Key: am.Key, Title: am.Title, Hint: am.Hint, Prefix: am.Key + ".message"}
		m := *ms[am.Key]
		file, err := u.file(ctx, m.AttachmentID)
		if err != nil {
			return v, err
		}
		mf.File = file
		mf.Preview = previewView{Message: m.Fill(vars), File: file}
		v.Messages = append(v.Messages, mf)
	}
	v.Survey = previewView{Message: automation.Survey(st.CSAT).Fill(vars)}
	return v, nil
}

// file is an attachment of a message, nil for none or one gone.
func (u *AutomationPages) file(ctx context.Context, id int64) (*attachment.Attachment, error) {
	if id == 0 {
		return nil, nil
	}
	ref, err := attachment.Get(ctx, u.DB, id)
	if errors.Is(err, db.ErrNotFound) || problemKind(err, problem.KindNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &ref.Attachment, nil
}

func problemKind(err error, k problem.Kind) bool {
	p, ok := problem.As(err)
	return ok && p.Kind == k
}

// AutomationPage is the page.
func (u *AutomationPages) AutomationPage(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.inbox(r)
	if err != nil {
		return err
	}
	st, err := u.Automation.Settings(r.Context(), in.ID)
	if err != nil {
		return err
	}
	v, err := u.view(r.Context(), in, st)
	if err != nil {
		return err
	}
	v.Saved = r.URL.Query().Get("saved") == "1"
	return u.Pages.Render(w, r, http.StatusOK, "admin_automation", ui.PageData{Title: "Automation", Actor: a, Data: v, Form: formOf(st)})
}

// maxAutomationBody bounds the form: its fields and a file per message.
const maxAutomationBody = 64 << 20

// SaveAutomation saves the whole form; nothing is saved while a field is
// refused, and the page comes back with each problem beside its field
// (a file chosen is kept: it was uploaded).
func (u *AutomationPages) SaveAutomation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.inbox(r)
	if err != nil {
		return err
	}
	fields, err := httpx.ReadMultipartForm(w, r, maxAutomationBody)
	if err != nil {
		return err
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	st, err := u.Automation.Settings(r.Context(), in.ID)
	if err != nil {
		return err
	}
	f := readForm(r)
	// The files chosen: uploaded now, kept in the form.
	for _, am := range autoMessages {
		p := am.Key + ".message"
		if r.MultipartForm == nil || len(r.MultipartForm.File[p+".file"]) == 0 {
			continue
		}
		fh := r.MultipartForm.File[p+".file"][0]
		if fh.Size == 0 && fh.Filename == "" {
			continue
		}
		file, err := fh.Open()
		if err != nil {
			return err
		}
		att, err := u.Files.Save(r.Context(), attachment.From{Uploader: attachment.Uploader("user", a.UserID)}, fh.Filename, file)
		file.Close()
		if p, ok := problem.As(err); ok {
			fields.Add(am.Key+".message.attachment_id", "%s", p.Message)
			continue
		} else if err != nil {
			return err
		}
		f[p+".attachment_id"], f[p+".remove_file"] = strconv.FormatInt(att.ID, 10), ""
	}
	next := settingsOf(f, st, fields)
	if len(fields) > 0 {
		// The service checks everything, but only when nothing else is
		// wrong: check what can be checked here too, so that one Save
		// shows as many problems as it can.
		u.precheck(r.Context(), next, fields)
	}
	err = fields.Err()
	if err == nil {
		_, err = u.Automation.SetSettings(r.Context(), in.ID, next)
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		v, verr := u.view(r.Context(), in, next)
		if verr != nil {
			return verr
		}
		return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "admin_automation", ui.PageData{Title: "Automation", Actor: a, Data: v, Form: f, Fields: fields})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, inboxPath(in.ID)+"/automation?saved=1", http.StatusSeeOther)
	return nil
}

// precheck adds the problems of the messages and waiting times of st to
// fields, as the service would find them.
func (u *AutomationPages) precheck(ctx context.Context, st automation.Settings, fields problem.Fields) {
	for k, m := range messages(&st) {
		c := *m
		if c.Interactive != nil {
			in := *c.Interactive
			in.Buttons = append([]whatsapp.Button(nil), in.Buttons...)
			in.Sections = append([]whatsapp.Section(nil), in.Sections...)
			c.Interactive = &in
		}
		if p, ok := problem.As(c.Check(ctx, u.DB, k+".message")); ok {
			for f, msg := range p.Fields {
				fields.Add(f, "%s", msg)
			}
		}
	}
	if _, bad := fields["reminder.after_minutes"]; !bad {
		if n := st.Reminder.AfterMinutes; n < automation.MinReminder || n > automation.MaxReminder {
			fields.Add("reminder.after_minutes", "The waiting time is 1 minute to 24 hours (1 to %d minutes).", automation.MaxReminder)
		}
	}
	if _, bad := fields["auto_close.after_minutes"]; !bad {
		if n := st.AutoClose.AfterMinutes; n < automation.MinAutoClose || n > automation.MaxAutoClose {
			fields.Add("auto_close.after_minutes", "Auto-close takes 1 minute to 72 hours (1 to %d minutes).", automation.MaxAutoClose)
		}
	}
}

// PreviewAutomation answers the live preview of one message of the form
// (?message=welcome…, or csat for the survey) as it is being written.
func (u *AutomationPages) PreviewAutomation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.inbox(r)
	if err != nil {
		return err
	}
	if _, err := httpx.ReadForm(r); err != nil {
		return err
	}
	f := readForm(r)
	for k, v := range f {
		f[k] = text.Clean(v)
	}
	vars := sampleVars(in)
	key := r.URL.Query().Get("message")
	var pv previewView
	switch key {
	case "csat":
		pv.Message = automation.Survey(automation.CSAT{Text: f["csat.text"], Button: f["csat.button"]}).Fill(vars)
	default:
		known := false
		for _, m := range autoMessages {
			known = known || m.Key == key
		}
		if !known {
			return problem.Invalid("message", "Choose welcome, unassigned, queue, reminder or csat.")
		}
		m := messageOf(f, key+".message")
		if pv.File, err = u.file(r.Context(), m.AttachmentID); err != nil {
			return err
		}
		pv.Message = m.Fill(vars)
	}
	return u.Pages.Partial(w, r, http.StatusOK, "admin_automation", "auto-preview", pv)
}
