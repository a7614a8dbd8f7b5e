package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/bot"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
	"github.com/switchboardhq/switchboard/internal/web/ui"
)

// Bots are the admin pages of bots: the list, a menu bot's or an external
// bot's form (its inbox, and a menu's greeting and options), and an
// external bot's credentials, shown once.
type Bots struct {
	Bots    *bot.Service
	DB      *db.DB // the files of the options' messages
	Inboxes *inbox.Store
	Teams   *team.Store
	Shown   ui.Shown
	Pages   *ui.Renderer
}

// FlashBotCredentials keeps an external bot's new token and signing secret
// for the page that shows them once.
const FlashBotCredentials = "bot.credentials"

type botRow struct {
	bot.Bot
	Inbox string
}

type botsView struct {
	Rows   []botRow
	Notice string
}

// AdminBots lists the bots.
func (u *Bots) AdminBots(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	bots, err := u.Bots.List(r.Context())
	if err != nil {
		return err
	}
	ins, err := u.Inboxes.List(r.Context(), a)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, in := range ins {
		names[in.ID] = in.Name
	}
	v := botsView{}
	for _, b := range bots {
		row := botRow{Bot: b}
		if b.InboxID != nil {
			row.Inbox = names[*b.InboxID]
		}
		v.Rows = append(v.Rows, row)
	}
	if r.URL.Query().Get("done") == "deleted" {
		v.Notice = "Bot deleted."
	}
	return u.Pages.Render(w, r, http.StatusOK, "admin_bots", ui.PageData{Title: "Bots", Actor: a, Data: v})
}

// optionRow is a menu option on the form; its answer is the one message
// form (ui.MessageForm) under menu.options.N.message.
type optionRow struct {
	Index  int
	Number int // Index + 1
	Title  string
	Action string
	TeamID int64
	Form   *ui.MessageForm
}

// optionPrefix names the inputs of option i.
func optionPrefix(i int) string { return fmt.Sprintf("menu.options.%d.", i) }

// sample fills the previews' variables.
var sample = reply.Vars{ContactName: "Ana", InboxName: "Shop"}

type botView struct {
	Bot     bot.Bot // ID 0 for a new bot
	Kind    bot.Kind
	Inboxes []inbox.Inbox
	Teams   []team.Team
	Options []optionRow
	Notice  string
}

// minRows and the options of a menu beyond its own are the form's empty
// rows for new options.
const minRows = 3

func (u *Bots) render(w http.ResponseWriter, r *http.Request, a policy.Actor, status int, v botView, d ui.PageData) error {
	ins, err := u.Inboxes.List(r.Context(), a)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.ArchivedAt == nil {
			v.Inboxes = append(v.Inboxes, in)
		}
	}
	if v.Teams, err = u.Teams.List(r.Context()); err != nil {
		return err
	}
	n := max(minRows, len(v.Options)+1)
	for i := len(v.Options); i < min(n, bot.MaxOptions); i++ {
		v.Options = append(v.Options, optionRow{Index: i, Action: string(bot.Reply),
			Form: ui.NewMessageForm(optionPrefix(i)+"message", reply.Message{Kind: reply.Text}, nil)})
	}
	for i := range v.Options {
		v.Options[i].Number = v.Options[i].Index + 1
		v.Options[i].Form.Sample = sample
		if d.Fields != nil {
			v.Options[i].Form.SetProblems(d.Fields)
		}
	}
	title := "New bot"
	if v.Bot.ID != 0 {
		title = v.Bot.Name
	}
	if d.Form == nil {
		d.Form = map[string]string{}
	}
	d.Title, d.Actor, d.Data = title, a, v
	return u.Pages.Render(w, r, status, "admin_bot", d)
}

// botForm is a bot's settings as the form shows them.
func (u *Bots) botForm(r *http.Request, b bot.Bot) (map[string]string, []optionRow, error) {
	f := map[string]string{"name": b.Name, "url": b.URL, "handoff_after_s": strconv.Itoa(b.HandoffAfterS)}
	if b.InboxID != nil {
		f["inbox_id"] = strconv.FormatInt(*b.InboxID, 10)
	}
	if b.Active {
		f["active"] = "1"
	}
	var rows []optionRow
	if b.Menu != nil {
		f["menu.greeting.text"], f["menu.list_button"] = b.Menu.Greeting.Text, b.Menu.ListButton
		files := ui.Files(r.Context(), u.DB, 0, kept(b)...)
		for i, o := range b.Menu.Options {
			row := optionRow{Index: i, Title: o.Title, Action: string(o.Action)}
			m := reply.Message{Kind: reply.Text}
			if o.Message != nil {
				m = *o.Message
			}
			var file *attachment.Attachment
			if m.AttachmentID != 0 {
				file = files(m.AttachmentID)
			}
			row.Form = ui.NewMessageForm(optionPrefix(i)+"message", m, file)
			if o.TeamID != nil {
				row.TeamID = *o.TeamID
			}
			rows = append(rows, row)
		}
	}
	return f, rows, nil
}

// kept are the files the bot's options keep.
func kept(b bot.Bot) []int64 {
	var ids []int64
	if b.Menu != nil {
		for _, o := range b.Menu.Options {
			if o.Message != nil && o.Message.AttachmentID != 0 {
				ids = append(ids, o.Message.AttachmentID)
			}
		}
	}
	return ids
}

// NewBot shows the form of a new menu bot, or with ?kind=external of an
// external one.
func (u *Bots) NewBot(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	kind := bot.Menu
	if r.URL.Query().Get("kind") == string(bot.External) {
		kind = bot.External
	}
	form := map[string]string{"active": "1", "handoff_after_s": strconv.Itoa(int(bot.DefaultHandoffAfter.Seconds()))}
	return u.render(w, r, a, http.StatusOK, botView{Kind: kind}, ui.PageData{Form: form})
}

// readBot reads the bot form: what it posts (to show it again) and the
// settings, with the problems of fields the form alone can tell. Empty
// option rows are left out; the problems of the options that remain are
// named after their rows (fix).
func readBot(r *http.Request, a policy.Actor, q db.Querier, kind bot.Kind, keep []int64, fields problem.Fields) (map[string]string, []optionRow, bot.NewBot, func(problem.Fields) problem.Fields) {
	pf := r.PostForm
	form := map[string]string{}
	for _, k := range []string{"name", "inbox_id", "active", "url", "handoff_after_s", "menu.greeting.text", "menu.list_button"} {
		form[k] = strings.TrimSpace(pf.Get(k))
	}
	n := bot.NewBot{Name: form["name"], Kind: kind, URL: form["url"]}
	active := form["active"] != ""
	n.Active = &active
	if form["inbox_id"] != "" {
		id, err := strconv.ParseInt(form["inbox_id"], 10, 64)
		if err != nil || id <= 0 {
			fields.Add("inbox_id", "Choose from the list.")
		} else {
			n.InboxID = &id
		}
	}
	if s, err := strconv.Atoi(form["handoff_after_s"]); err != nil {
		if kind == bot.External {
			fields.Add("handoff_after_s", "Enter a number of seconds.")
		}
	} else {
		n.HandoffAfterS = s
	}
	var rows []optionRow
	rowOf := map[int]int{} // option index → row index
	if kind == bot.Menu {
		files := ui.Files(r.Context(), q, a.UserID, keep...)
		menu := &bot.MenuConfig{Greeting: reply.Message{Kind: reply.Interactive, Text: form["menu.greeting.text"]}, ListButton: form["menu.list_button"]}
		for i := range bot.MaxOptions {
			p := optionPrefix(i)
			if _, ok := pf[p+"title"]; !ok {
				continue // a row the form did not have
			}
			m, mf, mfFields := ui.ReadMessage(pf, p+"message", files)
			row := optionRow{Index: i, Title: strings.TrimSpace(pf.Get(p + "title")), Action: pf.Get(p + "action"), Form: mf}
			if v := pf.Get(p + "team_id"); v != "" {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil || id <= 0 {
					fields.Add(p+"team_id", "Choose from the list.")
				}
				row.TeamID = id
			}
			rows = append(rows, row)
			if row.Title == "" && m.IsZero() {
				continue // an empty row
			}
			for k, v := range mfFields {
				fields.Add(k, "%s", v)
			}
			rowOf[len(menu.Options)] = i
			o := bot.Option{Title: row.Title, Action: bot.Action(row.Action)}
			if !m.IsZero() {
				o.Message = &m
			}
			if row.TeamID > 0 {
				id := row.TeamID
				o.TeamID = &id
			}
			menu.Options = append(menu.Options, o)
		}
		n.Menu = menu
	}
	fix := func(f problem.Fields) problem.Fields {
		out := problem.Fields{}
		for k, v := range f {
			if rest, ok := strings.CutPrefix(k, "menu.options."); ok {
				num, tail, _ := strings.Cut(rest, ".")
				if i, err := strconv.Atoi(num); err == nil {
					if row, ok := rowOf[i]; ok && tail != "" {
						k = optionPrefix(row) + tail
					}
				}
			}
			out[k] = v
		}
		return out
	}
	return form, rows, n, fix
}

// CreateBot creates a bot from the form: a menu bot opens its page; an
// external bot shows its token and signing secret, once.
func (u *Bots) CreateBot(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	kind := bot.Menu
	if r.PostForm.Get("kind") == string(bot.External) {
		kind = bot.External
	}
	form, rows, n, fix := readBot(r, a, u.DB, kind, nil, fields)
	var b bot.Created
	err = fields.Err()
	if err == nil {
		b, err = u.Bots.Create(r.Context(), n)
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.render(w, r, a, http.StatusUnprocessableEntity, botView{Kind: kind, Options: rows}, ui.PageData{Fields: fix(fields), Form: form})
	} else if err != nil {
		return err
	}
	if kind == bot.External {
		return u.Shown.Redirect(w, r, a, FlashBotCredentials, credentials{Token: b.Token, Secret: b.SigningSecret}, botPath(b.ID)+"/created")
	}
	http.Redirect(w, r, botPath(b.ID)+"?saved=created", http.StatusSeeOther)
	return nil
}

func botPath(id int64) string { return "/admin/bots/" + strconv.FormatInt(id, 10) }

func (u *Bots) adminBot(r *http.Request) (bot.Bot, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return bot.Bot{}, bot.ErrNotFound
	}
	return u.Bots.Get(r.Context(), id)
}

// EditBot shows a bot's form.
func (u *Bots) EditBot(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	b, err := u.adminBot(r)
	if err != nil {
		return err
	}
	form, rows, err := u.botForm(r, b)
	if err != nil {
		return err
	}
	v := botView{Bot: b, Kind: b.Kind, Options: rows}
	switch r.URL.Query().Get("saved") {
	case "1":
		v.Notice = "Saved."
	case "created":
		v.Notice = "Bot created."
	}
	return u.render(w, r, a, http.StatusOK, v, ui.PageData{Form: form})
}

// UpdateBot saves a bot's form.
func (u *Bots) UpdateBot(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	b, err := u.adminBot(r)
	if err != nil {
		return err
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	form, rows, n, fix := readBot(r, a, u.DB, b.Kind, kept(b), fields)
	p := bot.Patch{Name: &n.Name, InboxID: n.InboxID, NoInbox: n.InboxID == nil, Active: n.Active, Menu: n.Menu}
	if b.Kind == bot.External {
		p.URL, p.HandoffAfterS = &n.URL, &n.HandoffAfterS
	}
	err = fields.Err()
	if err == nil {
		_, err = u.Bots.Update(r.Context(), b.ID, p)
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.render(w, r, a, http.StatusUnprocessableEntity, botView{Bot: b, Kind: b.Kind, Options: rows}, ui.PageData{Fields: fix(fields), Form: form})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, botPath(b.ID)+"?saved=1", http.StatusSeeOther)
	return nil
}

// credentials are an external bot's token and signing secret, shown once.
type credentials struct {
	Token   string `json:"token"`
	Secret  string `json:"secret"`
	Rotated bool   `json:"rotated"`
}

type credentialsView struct {
	Bot bot.Bot
	credentials
}

// RotateBot makes an external bot a new token and signing secret (the old
// ones stop working) and shows them once.
func (u *Bots) RotateBot(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	b, err := u.adminBot(r)
	if err != nil {
		return err
	}
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	c, err := u.Bots.Update(r.Context(), b.ID, bot.Patch{RotateToken: true, RotateSecret: true})
	if err != nil {
		return err
	}
	return u.Shown.Redirect(w, r, a, FlashBotCredentials, credentials{Token: c.Token, Secret: c.SigningSecret, Rotated: true}, botPath(b.ID)+"/created")
}

// BotCreated shows an external bot's credentials, the one time they are
// shown; afterwards the page says they are no longer shown.
func (u *Bots) BotCreated(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	b, err := u.adminBot(r)
	if err != nil {
		return err
	}
	v := credentialsView{Bot: b}
	ok, err := u.Shown.Take(r, a, FlashBotCredentials, &v.credentials)
	if err != nil {
		return err
	}
	if !ok {
		http.Redirect(w, r, botPath(b.ID), http.StatusSeeOther)
		return nil
	}
	return u.Pages.Render(w, r, http.StatusOK, "admin_bot_created", ui.PageData{Title: b.Name, Actor: a, Data: v})
}

// DeleteBot deletes a bot; its conversations go to routing.
func (u *Bots) DeleteBot(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	b, err := u.adminBot(r)
	if err != nil {
		return err
	}
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	if err := u.Bots.Delete(r.Context(), b.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/bots?done=deleted", http.StatusSeeOther)
	return nil
}
