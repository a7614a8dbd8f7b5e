package admin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
	"github.com/switchboardhq/switchboard/internal/web/ui"
)

// waAdminPage is the create and edit page of a WhatsApp inbox: the
// number's settings (secrets are write-only), where Meta's webhooks go,
// the connection test, templates and ice breakers.
type waAdminPage struct {
	Inbox   inbox.Inbox // ID 0 when new
	Form    map[string]string
	Members []int64
	Users   []user.User
	Saved   bool
	// WebhookURL and VerifyToken are what to paste into Meta's app
	// dashboard; the token is shown right after creation only.
	WebhookURL  string
	VerifyToken string
	Created     bool
	State       *whatsapp.State
	Ice         waIcePanel
	Templates   waTemplatesPanel
	Connection  *whatsapp.Connection
}

// waIcePanel is the ice breakers editor.
type waIcePanel struct {
	InboxID int64
	Prompts []string // always MaxIceBreakers entries, empty ones blank
	State   *whatsapp.State
	Fields  map[string]string
	Saved   bool
}

// waTemplatesPanel is the templates section of the admin page.
type waTemplatesPanel struct {
	InboxID   int64
	State     *whatsapp.State
	Templates []whatsapp.Template
	Error     string
	Synced    *whatsapp.SyncResult
}

func (u *Inboxes) waIcePanel(inboxID int64, st *whatsapp.State, prompts []string, fields map[string]string) waIcePanel {
	p := waIcePanel{InboxID: inboxID, State: st, Fields: fields}
	if prompts == nil && st != nil {
		prompts = st.IceBreakers
	}
	p.Prompts = make([]string, whatsapp.MaxIceBreakers)
	copy(p.Prompts, prompts)
	return p
}

func (u *Inboxes) waAdmin(r *http.Request, f *waAdminPage) error {
	us, err := u.Users.List(r.Context())
	if err != nil {
		return err
	}
	f.Users = us
	f.WebhookURL = httpx.WhatsAppWebhookURL(u.BaseURL)
	if f.Inbox.ID == 0 {
		return nil
	}
	st, err := u.WhatsApp.State(r.Context(), f.Inbox.ID)
	if err != nil {
		return err
	}
	f.State = &st
	if f.Ice.InboxID == 0 {
		f.Ice = u.waIcePanel(f.Inbox.ID, &st, nil, nil)
	}
	ts, err := u.WhatsApp.Templates(r.Context(), f.Inbox.ID, false)
	if err != nil {
		return err
	}
	f.Templates = waTemplatesPanel{InboxID: f.Inbox.ID, State: &st, Templates: ts}
	return nil
}

func (u *Inboxes) renderWhatsAppAdmin(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, f waAdminPage, fields map[string]string) error {
	if err := u.waAdmin(r, &f); err != nil {
		return err
	}
	title := "New WhatsApp number"
	if f.Inbox.ID != 0 {
		title = f.Inbox.Name
	}
	return u.Pages.Render(w, r, status, "whatsapp_inbox", ui.PageData{Title: title, Actor: a, Fields: fields, Data: f})
}

func (u *Inboxes) NewWhatsApp(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.renderWhatsAppAdmin(w, r, a, http.StatusOK, waAdminPage{Form: map[string]string{"messages_per_second": strconv.Itoa(whatsapp.DefaultMessagesPerSecond)}}, nil)
}

// waFormFields are the plain fields of the number's form.
var waFormFields = []string{"name", "phone_number_id", "waba_id", "display_phone_number", "messages_per_second"}

// readWhatsAppForm reads the posted number form; secrets left empty are
// not changed.
func readWhatsAppForm(r *http.Request, f *waAdminPage, fields problem.Fields) (cfg whatsapp.Config, secrets map[string]string) {
	f.Form = map[string]string{}
	for _, k := range waFormFields {
		f.Form[k] = strings.TrimSpace(r.PostForm.Get(k))
	}
	f.Members = formIDs(r, "member_ids", fields)
	secrets = map[string]string{}
	for _, k := range []string{"access_token", "app_secret", "verify_token"} {
		if v := strings.TrimSpace(r.PostForm.Get(k)); v != "" {
			secrets[k] = v
		}
	}
	rate := 0
	if v := f.Form["messages_per_second"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fields.Add("whatsapp.messages_per_second", "Use a whole number from 1 to %d (Meta's default is %d).", whatsapp.MaxMessagesPerSecond, whatsapp.DefaultMessagesPerSecond)
		}
		rate = n
	}
	cfg = whatsapp.Config{PhoneNumberID: f.Form["phone_number_id"], WABAID: f.Form["waba_id"], DisplayPhoneNumber: f.Form["display_phone_number"],
		AccessToken: secrets["access_token"], AppSecret: secrets["app_secret"], VerifyToken: secrets["verify_token"], MessagesPerSecond: rate}
	return cfg, secrets
}

func (u *Inboxes) CreateWhatsApp(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	var f waAdminPage
	cfg, _ := readWhatsAppForm(r, &f, fields)
	var in inbox.Inbox
	var made string
	err = fields.Err()
	if err == nil {
		in, made, err = u.Inboxes.Create(r.Context(), inbox.NewInbox{Type: whatsapp.Type, Name: f.Form["name"],
			Settings: map[inbox.Type]any{whatsapp.Type: &cfg}, MemberIDs: f.Members})
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.renderWhatsAppAdmin(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	u.Names.Forget()
	// The page after creation shows the verify token once: the one made
	// up, or the one the admin typed.
	token := made
	if token == "" {
		token = cfg.VerifyToken
	}
	return u.Shown.Redirect(w, r, a, ui.FlashVerifyToken, token, inboxPath(in.ID))
}

// waForm fills the form from an inbox.
func waForm(in inbox.Inbox) map[string]string {
	f := map[string]string{"name": in.Name}
	if wa, err := whatsapp.SettingsOf(in); err == nil {
		f["phone_number_id"], f["waba_id"], f["display_phone_number"] = wa.PhoneNumberID, wa.WABAID, wa.DisplayPhoneNumber
		f["messages_per_second"] = strconv.Itoa(wa.MessagesPerSecond)
	}
	return f
}

// editWhatsApp shows a WhatsApp inbox's page (editInbox sends WhatsApp
// inboxes here).
// The page after creating the number shows its verify token, once.
func (u *Inboxes) editWhatsApp(w http.ResponseWriter, r *http.Request, a policy.Actor, in inbox.Inbox) error {
	p := waAdminPage{Inbox: in, Members: in.MemberIDs, Form: waForm(in), Saved: r.URL.Query().Get("saved") == "1"}
	ok, err := u.Shown.Take(r, a, ui.FlashVerifyToken, &p.VerifyToken)
	if err != nil {
		return err
	}
	if ok {
		p.Created = true
		w.Header().Set("Cache-Control", "no-store")
	}
	return u.renderWhatsAppAdmin(w, r, a, http.StatusOK, p, nil)
}

// updateWhatsApp saves a WhatsApp inbox's form (updateInbox sends
// WhatsApp inboxes here).
func (u *Inboxes) updateWhatsApp(w http.ResponseWriter, r *http.Request, a policy.Actor, in inbox.Inbox) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	f := waAdminPage{Inbox: in}
	cfg, secrets := readWhatsAppForm(r, &f, fields)
	wp := &whatsapp.Patch{PhoneNumberID: &cfg.PhoneNumberID, WABAID: &cfg.WABAID, DisplayPhoneNumber: &cfg.DisplayPhoneNumber}
	if f.Form["messages_per_second"] != "" {
		wp.MessagesPerSecond = &cfg.MessagesPerSecond
	}
	if v, ok := secrets["access_token"]; ok {
		wp.AccessToken = &v
	}
	if v, ok := secrets["app_secret"]; ok {
		wp.AppSecret = &v
	}
	if v, ok := secrets["verify_token"]; ok {
		wp.VerifyToken = &v
	}
	name := f.Form["name"]
	err = fields.Err()
	if err == nil {
		_, _, err = u.Inboxes.Update(r.Context(), in.ID, inbox.Patch{Name: &name, MemberIDs: &f.Members, Settings: map[inbox.Type]any{whatsapp.Type: wp}})
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.renderWhatsAppAdmin(w, r, a, http.StatusUnprocessableEntity, f, fields)
	} else if err != nil {
		return err
	}
	u.Names.Forget()
	http.Redirect(w, r, "/admin/inboxes/"+strconv.FormatInt(in.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

// waAdminInbox is the WhatsApp inbox of an admin route.
func (u *Inboxes) waAdminInbox(r *http.Request) (inbox.Inbox, error) {
	in, err := u.adminInbox(r)
	if err == nil && in.Type != whatsapp.Type {
		err = problem.NotFound("WhatsApp inbox")
	}
	return in, err
}

// WaTest runs "test connection" and answers with its result.
func (u *Inboxes) WaTest(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.waAdminInbox(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	c, err := u.WhatsApp.TestConnection(ctx, in.ID)
	if err != nil {
		return err
	}
	if !ui.IsHTMX(r) {
		return u.renderWhatsAppAdmin(w, r, a, http.StatusOK, waAdminPage{Inbox: in, Members: in.MemberIDs, Form: waForm(in), Connection: &c}, nil)
	}
	return u.Pages.Partial(w, r, http.StatusOK, "whatsapp_inbox", "wa-connection", &c)
}

// WaSync synchronises the templates now and answers with the panel.
func (u *Inboxes) WaSync(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.waAdminInbox(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	res, serr := u.WhatsApp.SyncTemplates(ctx, in.ID)
	st, err := u.WhatsApp.State(r.Context(), in.ID)
	if err != nil {
		return err
	}
	ts, err := u.WhatsApp.Templates(r.Context(), in.ID, false)
	if err != nil {
		return err
	}
	p := waTemplatesPanel{InboxID: in.ID, State: &st, Templates: ts}
	if serr != nil {
		p.Error = httpx.SyncProblem(serr).Error()
	} else {
		p.Synced = &res
	}
	if !ui.IsHTMX(r) {
		http.Redirect(w, r, "/admin/inboxes/"+strconv.FormatInt(in.ID, 10), http.StatusSeeOther)
		return nil
	}
	return u.Pages.Partial(w, r, http.StatusOK, "whatsapp_inbox", "wa-templates", p)
}

// WaIceBreakers saves the ice breakers and answers with the editor,
// showing whether Graph accepted them.
func (u *Inboxes) WaIceBreakers(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	in, err := u.waAdminInbox(r)
	if err != nil {
		return err
	}
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	prompts := r.PostForm["prompt"]
	st, err := u.WhatsApp.SetIceBreakers(r.Context(), in.ID, prompts)
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		cur, serr := u.WhatsApp.State(r.Context(), in.ID)
		if serr != nil {
			return serr
		}
		panel := u.waIcePanel(in.ID, &cur, prompts, p.Fields)
		if !ui.IsHTMX(r) {
			return u.renderWhatsAppAdmin(w, r, a, http.StatusUnprocessableEntity, waAdminPage{Inbox: in, Members: in.MemberIDs, Form: waForm(in), Ice: panel}, nil)
		}
		return u.Pages.Partial(w, r, http.StatusUnprocessableEntity, "whatsapp_inbox", "wa-ice", panel)
	} else if err != nil {
		return err
	}
	if !ui.IsHTMX(r) {
		http.Redirect(w, r, "/admin/inboxes/"+strconv.FormatInt(in.ID, 10), http.StatusSeeOther)
		return nil
	}
	panel := u.waIcePanel(in.ID, &st, nil, nil)
	panel.Saved = true
	return u.Pages.Partial(w, r, http.StatusOK, "whatsapp_inbox", "wa-ice", panel)
}
