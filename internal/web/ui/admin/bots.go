package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/bot"
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

// optionRow is a menu option on the form.
type optionRow struct {
	Index  int
	Number int // Index + 1
	Title  string
	Action string
	Text   string
	TeamID int64
}

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
		v.Options = append(v.Options, optionRow{Index: i, Action: string(bot.Reply)})
	}
	for i := range v.Options {
		v.Options[i].Number = v.Options[i].Index + 1
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

// botFormOf is a bot's settings as the form shows them.
func botFormOf(b bot.Bot) (map[string]string, []optionRow) {
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
		for i, o := range b.Menu.Options {
			row := optionRow{Index: i, Title: o.Title, Action: string(o.Action)}
			if o.Message != nil {
				row.Text = o.Message.Text
			}
			if o.TeamID != nil {
				row.TeamID = *o.TeamID
			}
			rows = append(rows, row)
		}
	}
	return f, rows
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
// settings, with the problems of fields the form alone can tell.
func readBot(r *http.Request, kind bot.Kind, fields problem.Fields) (map[string]string, []optionRow, bot.NewBot) {
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
	if kind == bot.Menu {
		menu := &bot.MenuConfig{Greeting: reply.Message{Kind: reply.Interactive, Text: form["menu.greeting.text"]}, ListButton: form["menu.list_button"]}
		for i := range bot.MaxOptions {
			p := fmt.Sprintf("menu.options.%d.", i)
			row := optionRow{Index: i, Title: strings.TrimSpace(pf.Get(p + "title")), Action: pf.Get(p + "action"),
				Text: strings.TrimSpace(pf.Get(p + "message.text"))}
			if v := pf.Get(p + "team_id"); v != "" {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil || id <= 0 {
					fields.Add(p+"team_id", "Choose from the list.")
				}
				row.TeamID = id
			}
			if row.Title == "" && row.Text == "" {
				continue // an empty row
			}
			// The options keep the order of the rows filled in.
			row.Index = len(rows)
			rows = append(rows, row)
			o := bot.Option{Title: row.Title, Action: bot.Action(row.Action)}
			if row.Text != "" {
				o.Message = &reply.Message{Kind: reply.Text, Text: row.Text}
			}
			if row.TeamID > 0 {
				id := row.TeamID
				o.TeamID = &id
			}
			menu.Options = append(menu.Options, o)
		}
		n.Menu = menu
	}
	return form, rows, n
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
	form, rows, n := readBot(r, kind, fields)
	var b bot.Created
	err = fields.Err()
	if err == nil {
		b, err = u.Bots.Create(r.Context(), n)
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.render(w, r, a, http.StatusUnprocessableEntity, botView{Kind: kind, Options: rows}, ui.PageData{Fields: fields, Form: form})
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
	form, rows := botFormOf(b)
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
	form, rows, n := readBot(r, b.Kind, fields)
	p := bot.Patch{Name: &n.Name, InboxID: n.InboxID, NoInbox: n.InboxID == nil, Active: n.Active, Menu: n.Menu}
	if b.Kind == bot.External {
		p.URL, p.HandoffAfterS = &n.URL, &n.HandoffAfterS
	}
	err = fields.Err()
	if err == nil {
		_, err = u.Bots.Update(r.Context(), b.ID, p)
	}
	if fields, ok := ui.MergeFields(fields, err); ok {
		return u.render(w, r, a, http.StatusUnprocessableEntity, botView{Bot: b, Kind: b.Kind, Options: rows}, ui.PageData{Fields: fields, Form: form})
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
