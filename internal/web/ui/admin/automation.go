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

// automationView is the page.
type automationView struct {
	Inbox    inbox.Inbox
	WhatsApp bool
	Messages []messageSection
	Survey   reply.Message
	Saved    bool
	Vars     []string
}

// messageSection is one automatic message's part of the page: its switch
// (in the page's Form) and its message in the shared message form.
type messageSection struct {
	Key, Title, Hint string
	Form             *ui.MessageForm
}

// sampleVars are the examples the previews fill the variables with.
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

// formOf lays the settings but the messages (the message forms' own) out
// in the page's fields.
func formOf(st automation.Settings) map[string]string {
	f := map[string]string{}
	for k, on := range switches(&st) {
		if *on {
			f[k] = "1"
		}
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

// readForm takes the posted values of the page's own fields.
func readForm(r *http.Request) map[string]string {
	f := map[string]string{}
	for _, k := range []string{"reminder.after", "reminder.unit", "auto_close.after", "auto_close.unit", "csat.text", "csat.button", "csat.thanks"} {
		f[k] = r.PostForm.Get(k)
	}
	var st automation.Settings
	for k := range switches(&st) {
		f[k] = r.PostForm.Get(k)
	}
	return f
}

// settingsOf reads the page's fields over st, the settings as they are
// (the messages are read by their forms): fields whose value is not a
// number are reported in fields.
func settingsOf(f map[string]string, st automation.Settings, fields problem.Fields) automation.Settings {
	for k, on := range switches(&st) {
		*on = f[k] != ""
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
		return min(n, 1<<20) * 60
	}
	return n
}

// view lays the page out; forms are the message forms as posted (nil:
// from the settings).
func (u *AutomationPages) view(ctx context.Context, in inbox.Inbox, st automation.Settings, forms map[string]*ui.MessageForm) (automationView, error) {
	v := automationView{Inbox: in, WhatsApp: in.Type == whatsapp.Type, Vars: reply.Variables}
	vars := sampleVars(in)
	ms := messages(&st)
	for _, am := range autoMessages {
		mf := forms[am.Key]
		if mf == nil {
			m := *ms[am.Key]
			file, err := u.file(ctx, m.AttachmentID)
			if err != nil {
				return v, err
			}
			mf = ui.NewMessageForm(am.Key+".message", m, file)
		}
		mf.Sample = vars
		v.Messages = append(v.Messages, messageSection{Key: am.Key, Title: am.Title, Hint: am.Hint, Form: mf})
	}
	v.Survey = automation.Survey(st.CSAT).Fill(vars)
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
	v, err := u.view(r.Context(), in, st, nil)
	if err != nil {
		return err
	}
	v.Saved = r.URL.Query().Get("saved") == "1"
	return u.Pages.Render(w, r, http.StatusOK, "admin_automation", ui.PageData{Title: "Automation", Actor: a, Data: v, Form: formOf(st)})
}

// SaveAutomation saves the whole page; nothing is saved while a field is
// refused, and the page comes back with each problem beside its field and
// what was typed.
func (u *AutomationPages) SaveAutomation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.inbox(r)
	if err != nil {
		return err
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	st, err := u.Automation.Settings(r.Context(), in.ID)
	if err != nil {
		return err
	}
	f := readForm(r)
	next := settingsOf(f, st, fields)
	// The messages, each in its form: the files they keep stay theirs,
	// whoever uploaded them.
	var kept []int64
	for _, m := range messages(&st) {
		if m.AttachmentID != 0 {
			kept = append(kept, m.AttachmentID)
		}
	}
	files := ui.Files(r.Context(), u.DB, a.UserID, kept...)
	forms := map[string]*ui.MessageForm{}
	ms := messages(&next)
	for _, am := range autoMessages {
		m, mf, probs := ui.ReadMessage(r.PostForm, am.Key+".message", files)
		for k, v := range probs {
			fields.Add(k, "%s", v)
		}
		*ms[am.Key], forms[am.Key] = m, mf
	}
	if len(fields) > 0 {
		// The service checks everything, but only when nothing else is
		// wrong: check what can be checked here too, so that one Save
		// shows as many problems as it can.
		u.precheck(r.Context(), next, fields)
	}
	err = fields.Err()
	if err == nil {
		_, err = u.Automation.SetSettings(r.Context(), a, in.ID, next)
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		for _, mf := range forms {
			mf.SetProblems(fields)
		}
		v, verr := u.view(r.Context(), in, next, forms)
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
	// The check trims and fills in what it checks: on copies.
	for _, m := range messages(&st) {
		if m.Interactive != nil {
			in := *m.Interactive
			in.Buttons = append([]whatsapp.Button(nil), in.Buttons...)
			in.Sections = append([]whatsapp.Section(nil), in.Sections...)
			m.Interactive = &in
		}
	}
	if p, ok := problem.As(u.Automation.Check(ctx, &st)); ok {
		for f, msg := range p.Fields {
			if _, has := fields[f]; !has {
				fields.Add(f, "%s", msg)
			}
		}
	}
}

// PreviewAutomation answers the survey's preview as its text and button
// are written (?message=csat; the message forms draw their own).
func (u *AutomationPages) PreviewAutomation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.inbox(r)
	if err != nil {
		return err
	}
	if _, err := httpx.ReadForm(r); err != nil {
		return err
	}
	if r.URL.Query().Get("message") != "csat" {
		return problem.Invalid("message", "Only the survey has this preview.")
	}
	c := automation.CSAT{Text: text.Clean(r.PostForm.Get("csat.text")), Button: text.Clean(r.PostForm.Get("csat.button"))}
	return u.Pages.Partial(w, r, http.StatusOK, "admin_automation", "survey-preview", automation.Survey(c).Fill(sampleVars(in)))
}
