package ui

import (
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/bot"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/report"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/tag"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// InboxPages are the agent workspace: the conversation list, a conversation
// and its panels, replies (WhatsApp ones among them) and new WhatsApp
// conversations.
type InboxPages struct {
	// Bots hand a bot's conversation to a human (the banner's Transfer).
	Bots     *bot.Service
	Convs    *conversation.Service
	DB       *db.DB
	Hub      *realtime.Hub
	Inboxes  *inbox.Store
	Logger   *slog.Logger
	Names    *httpx.NameCache
	Pages    *Renderer
	Reports  *report.Service // a conversation's rating
	Routing  *routing.Service
	WhatsApp *whatsapp.Service
}

// The inbox views.
const (
	viewMine       = "mine"
	viewUnassigned = "unassigned"
	viewQueue      = "queue"
	viewAll        = "all"
)

// views lists the views a role may use: sales see only what is theirs
// (assigned or owned), so they have no Unassigned view.
func views(a policy.Actor) []string {
	if a.Role == policy.Sales {
		return []string{viewMine, viewAll}
	}
	return []string{viewMine, viewUnassigned, viewQueue, viewAll}
}

// listFilter is what the conversation list shows: a view and filters,
// carried in the query string of every inbox URL.
type listFilter struct {
	View    string
	Status  conversation.Status
	InboxID int64
	Tag     string
}

// readFilter reads the list filter from the query string. Values that do
// not apply fall back to the defaults: a filter link is never an error.
func readFilter(r *http.Request, a policy.Actor) listFilter {
	q := r.URL.Query()
	f := listFilter{View: viewAll, Status: conversation.Open}
	if v := q.Get("view"); slices.Contains(views(a), v) {
		f.View = v
	}
	if q.Get("status") == string(conversation.Closed) {
		f.Status = conversation.Closed
	}
	if id, err := strconv.ParseInt(q.Get("inbox_id"), 10, 64); err == nil && id > 0 {
		f.InboxID = id
	}
	if t, msg := tag.Normalize(q.Get("tag")); msg == "" {
		f.Tag = t
	}
	return f
}

// Query is the filter as a query string (without "?"); it is encoded
// already, so templates put it in URLs as it is.
func (f listFilter) Query() template.URL {
	v := url.Values{"view": {f.View}, "status": {string(f.Status)}}
	if f.InboxID != 0 {
		v.Set("inbox_id", strconv.FormatInt(f.InboxID, 10))
	}
	if f.Tag != "" {
		v.Set("tag", f.Tag)
	}
	return template.URL(v.Encode())
}

// With returns the query string with one parameter changed.
func (f listFilter) With(key, value string) template.URL {
	v, _ := url.ParseQuery(string(f.Query()))
	v.Set(key, value)
	return template.URL(v.Encode())
}

func (f listFilter) options(cursor string) conversation.ListOptions {
	o := conversation.ListOptions{Status: f.Status, InboxID: f.InboxID, Tag: f.Tag, Cursor: cursor, Limit: 25}
	switch f.View {
	case viewMine:
		o.Assignee.Me = true
	case viewUnassigned:
		o.Assignee.None = true
	case viewQueue:
		o.Assignee.None = true
		o.Queued = true
	}
	return o
}

// matches reports whether one conversation, already read through the
// actor's visibility (Conversations.Get), belongs in the view. It decides
// where a single live update goes; lists always come from
// Conversations.List, whose SQL applies the same filters.
func (f listFilter) matches(a policy.Actor, c *conversation.Conversation) bool {
	switch {
	case c.Status != f.Status:
		return false
	case f.InboxID != 0 && c.InboxID != f.InboxID:
		return false
	case f.Tag != "" && !slices.Contains(c.Tags, f.Tag):
		return false
	case f.View == viewMine:
		return c.AssigneeID != nil && *c.AssigneeID == a.UserID
	case f.View == viewUnassigned:
		return c.AssigneeID == nil
	case f.View == viewQueue:
		return c.AssigneeID == nil && c.Queue != nil
	}
	return true
}

// contactName is how a contact is called in the workspace; "" when
// nothing is known of them (templates then say "Visitor N", translated).
func contactName(p conversation.Party) string {
	switch {
	case strings.TrimSpace(p.Name) != "":
		return p.Name
	case p.Email != nil && *p.Email != "":
		return *p.Email
	case p.Phone != nil && *p.Phone != "":
		return *p.Phone
	}
	return ""
}

// listView is the conversation list with its filters.
type listView struct {
	Actor   policy.Actor
	Filter  listFilter
	Views   []string
	Inboxes []inbox.Inbox
	Rows    rowsView
}

// rowsView is a page of rows and the cursor of the next one.
type rowsView struct {
	Items   []rowView
	Filter  listFilter
	Next    string
	Current int64
}

// rowView is one conversation in the list.
type rowView struct {
	C       conversation.Conversation
	Name    string
	Inbox   string
	Agent   string
	Query   template.URL
	Current bool
}

func newRows(p conversation.Page[conversation.Conversation], f listFilter, n *httpx.Names, current int64) rowsView {
	rv := rowsView{Items: make([]rowView, len(p.Items)), Filter: f, Next: p.NextCursor, Current: current}
	for i, c := range p.Items {
		rv.Items[i] = newRow(c, f, n, current)
	}
	return rv
}

func newRow(c conversation.Conversation, f listFilter, n *httpx.Names, current int64) rowView {
	return rowView{C: c, Name: contactName(c.Contact), Inbox: n.Inbox(c.InboxID), Agent: n.User(c.AssigneeID),
		Query: f.Query(), Current: c.ID == current}
}

// list reads the list view for a page.
func (u *InboxPages) list(r *http.Request, a policy.Actor, f listFilter, current int64) (listView, error) {
	page, err := u.Convs.List(r.Context(), a, f.options(""))
	if err != nil {
		return listView{}, err
	}
	n, err := u.Names.OfConversations(r.Context(), page.Items...)
	if err != nil {
		return listView{}, err
	}
	ins, err := u.Inboxes.List(r.Context(), a)
	if err != nil {
		return listView{}, err
	}
	return listView{Actor: a, Filter: f, Views: views(a), Inboxes: ins, Rows: newRows(page, f, n, current)}, nil
}

// inboxPage is the data of the inbox page: the list, and the open
// conversation when there is one.
type inboxPage struct {
	List listView
	Conv *convView
}

// Inbox shows the conversation list.
func (u *InboxPages) Inbox(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	seq := u.Hub.Position()
	f := readFilter(r, a)
	lv, err := u.list(r, a, f, 0)
	if err != nil {
		return err
	}
	return u.Pages.Render(w, r, http.StatusOK, "inbox", PageData{Title: "Inbox", Actor: a, Live: true, Seq: seq, Data: inboxPage{List: lv}})
}

// Rows answers "Load more" and list reloads: a page of rows after cursor.
func (u *InboxPages) Rows(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	f := readFilter(r, a)
	page, err := u.Convs.List(r.Context(), a, f.options(r.URL.Query().Get("cursor")))
	if err != nil {
		return err
	}
	n, err := u.Names.OfConversations(r.Context(), page.Items...)
	if err != nil {
		return err
	}
	current, _ := strconv.ParseInt(r.URL.Query().Get("current"), 10, 64)
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "rows", newRows(page, f, n, current))
}

// Row answers a live update: the row of one conversation as the current
// view shows it, or 204 when the view does not include it (any more).
func (u *InboxPages) Row(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	f := readFilter(r, a)
	c, err := u.Convs.Get(r.Context(), a, id)
	if isKind(err, problem.KindNotFound) || (err == nil && !f.matches(a, &c)) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	} else if err != nil {
		return err
	}
	n, err := u.Names.OfConversations(r.Context(), c)
	if err != nil {
		return err
	}
	current, _ := strconv.ParseInt(r.URL.Query().Get("current"), 10, 64)
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "row", newRow(c, f, n, current))
}

// convView is an open conversation.
type convView struct {
	Actor     policy.Actor
	C         conversation.Conversation
	Name      string
	Inbox     string
	Agent     string
	Owner     string
	Assignees []conversation.Agent
	// Statuses are the availability statuses of agents, by id.
	Statuses map[int64]string
	// AssignError is why an assignment was refused.
	AssignError string
	// Side adds the tags and contact panels to a header update, and
	// KeepContact leaves the contact panel out again.
	Side        bool
	KeepContact bool
	// Back is the list's query, for the way back on narrow screens.
	Back     template.URL
	Messages messagesView
	Composer composerView
	Tags     tagsView
	Contact  contactView
	// WA is the WhatsApp window, and Panel the WhatsApp composer, of a
	// WhatsApp conversation.
	WA    *waConv
	Panel *waPanel
	// Rating is the customer's answer to the satisfaction survey, nil
	// until they rate.
	Rating *report.Rating
}

// messageView is one message.
type messageView struct {
	M      conversation.Message
	Sender string
	// Avatar is the agent's picture, "" for none.
	Avatar string
	// WA is what a WhatsApp message carries beyond its text; Hint says
	// what to do about a failure with WhatsApp's code.
	WA   *whatsapp.Content
	Hint string
	// Quote is the message this one answers, when the reader may see it.
	Quote *quoteView
}

// composerView is the reply form. Key is the idempotency key of the next
// send, made when the form is rendered, so a double submit sends once.
type composerView struct {
	ConvID      int64
	Key         string
	Text        string
	Attachments []attachment.Attachment
	Error       string
	Fields      map[string]string
	// Sent is the message just sent, for the page to show at once.
	Sent *messageView
	// WA is the WhatsApp window of the conversation, if on WhatsApp.
	WA *waConv
}

// tagsView is the conversation's tags and the form to add one. OOB
// marks it for an out-of-band swap (beside a header update).
type tagsView struct {
	OOB    bool
	ConvID int64
	Tags   []string
	Work   bool
	Value  string
	Error  string
}

// contactView is the contact panel, showing or editing.
type contactView struct {
	OOB     bool
	ConvID  int64
	Contact *contact.Contact
	Owner   string
	// OwnerPending says Owner is the address of someone with no account
	// yet (the contact becomes theirs when they accept an invitation).
	OwnerPending bool
	Write        bool
	Edit         bool
	// OwnerEdit says whether the viewer may give the contact another
	// owner; Users are then the agents who may own it.
	OwnerEdit bool
	Users     []ownerOption
	Form      map[string]string
	Fields    map[string]string
}

type ownerOption struct {
	ID   int64
	Name string
}

func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func messageOf(n *httpx.Names, m conversation.Message) messageView {
	v := messageView{M: m}
	if c, ok := whatsapp.DecodeContent(&m); ok {
		v.WA = &c
	}
	if m.Error != nil {
		v.Hint = whatsapp.Hint(m.Error.Code)
	}
	switch m.SenderType {
	case conversation.SenderAgent:
		v.Sender = n.User(m.SenderID)
		if m.SenderID != nil {
			v.Avatar = n.Avatars[*m.SenderID]
		}
	case conversation.SenderBot:
		v.Sender = "Automation"
	case conversation.SenderSystem:
		v.Sender = "System"
	}
	return v
}

// convView reads everything the conversation pane shows.
func (u *InboxPages) convView(r *http.Request, a policy.Actor, c conversation.Conversation, n *httpx.Names) (*convView, error) {
	if c.Queue != nil {
		cs := []conversation.Conversation{c}
		if err := u.Routing.Fill(r.Context(), cs); err != nil {
			return nil, err
		}
		c = cs[0]
	}
	v := &convView{Actor: a, C: c, Name: contactName(c.Contact), Inbox: n.Inbox(c.InboxID), Agent: n.User(c.AssigneeID), Statuses: n.Statuses,
		Owner: n.User(c.OwnerID)}
	if policy.Allow(a, policy.AssignConversations) {
		var err error
		if v.Assignees, err = u.Convs.Assignees(r.Context(), a, c.ID); err != nil {
			return nil, err
		}
	}
	v.Tags = tagsView{ConvID: c.ID, Tags: c.Tags, Work: policy.Allow(a, policy.WorkConversations)}
	v.Composer = composerView{ConvID: c.ID, Key: newKey()}
	wa, err := u.waConvOf(r.Context(), c)
	if err != nil {
		return nil, err
	}
	if v.WA = wa; v.WA != nil {
		v.Composer.WA = v.WA
		if policy.Allow(a, policy.WorkConversations) {
			var err error
			if v.Panel, err = u.waPanelFor(r.Context(), v.WA); err != nil {
				return nil, err
			}
		}
	}
	cv, err := u.contactView(r, a, c, n)
	if err != nil {
		return nil, err
	}
	v.Contact = cv
	if rt, ok, err := u.Reports.RatingOf(r.Context(), c.ID); err != nil {
		return nil, err
	} else if ok {
		v.Rating = &rt
	}
	return v, nil
}

func (u *InboxPages) contactView(r *http.Request, a policy.Actor, c conversation.Conversation, n *httpx.Names) (contactView, error) {
	cv := contactView{ConvID: c.ID, Write: policy.Allow(a, policy.WriteContacts)}
	ct, err := u.Convs.Contact(r.Context(), a, c.ContactID)
	if isKind(err, problem.KindNotFound) {
		// Contacts are visible with their conversations; a contact the
		// scope does not reach shows as the conversation knows it.
		cv.Write = false
		ct = contact.Contact{ID: c.ContactID, Name: c.Contact.Name, Phone: c.Contact.Phone, Email: c.Contact.Email, OwnerID: c.OwnerID, Tags: []string{}}
	} else if err != nil {
		return cv, err
	}
	cv.Contact = &ct
	cv.Owner = n.User(ct.OwnerID)
	if ct.OwnerID == nil && ct.OwnerEmail != nil {
		cv.Owner, cv.OwnerPending = *ct.OwnerEmail, true
	}
	return cv, nil
}

// Conversation shows the list and one open conversation, and marks it
// read.
func (u *InboxPages) Conversation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	seq := u.Hub.Position()
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	if err := u.Convs.MarkRead(r.Context(), a, id); err != nil {
		return err
	}
	c, err := u.Convs.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	f := readFilter(r, a)
	lv, err := u.list(r, a, f, id)
	if err != nil {
		return err
	}
	n, err := u.Names.OfConversations(r.Context(), c)
	if err != nil {
		return err
	}
	cv, err := u.convView(r, a, c, n)
	if err != nil {
		return err
	}
	cv.Back = template.URL(f.Query())
	if cv.Messages, err = u.history(r, a, c, 0, false); err != nil {
		return err
	}
	title := cv.Name
	if title == "" {
		title = "Visitor " + strconv.FormatInt(c.ContactID, 10) // translated as "Visitor %d"
	}
	return u.Pages.Render(w, r, http.StatusOK, "inbox", PageData{Title: title, Actor: a, Live: true, Seq: seq, Data: inboxPage{List: lv, Conv: cv}})
}

// Messages answers "Load older" (with ?before=) and reloads of the newest
// page.
func (u *InboxPages) Messages(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before <= 0 {
			return problem.Invalid("before", "The position is not valid; reload the page.")
		}
	}
	c, err := u.Convs.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	// A page of an earlier conversation, shown above the open one, does
	// not offer the conversations before it: its divider's control does.
	mv, err := u.history(r, a, c, before, r.URL.Query().Get("earlier") == "1")
	if err != nil {
		return err
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "messages", mv)
}

// Message renders one message, for live updates.
func (u *InboxPages) Message(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	mid, err := httpx.PathID(r, "message")
	if err != nil {
		return problem.NotFound("Message")
	}
	m, err := u.Convs.Message(r.Context(), a, mid)
	if err != nil {
		return err
	}
	if m.ConversationID != id {
		return problem.NotFound("Message")
	}
	c, err := u.Convs.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	views, err := u.messageViews(r.Context(), a, c, []conversation.Message{m})
	if err != nil {
		return err
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "message", views[0])
}

// backToConversation answers a form posted without htmx (no script): the
// conversation page again.
func backToConversation(w http.ResponseWriter, r *http.Request, id int64) {
	http.Redirect(w, r, "/inbox/conversations/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// Send posts a reply from the composer.
func (u *InboxPages) Send(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	// A form posted by the browser itself has CRLF line breaks.
	text := strings.ReplaceAll(r.PostForm.Get("text"), "\r\n", "\n")
	cv := composerView{ConvID: id, Key: r.PostForm.Get("idempotency_key"), Text: text}
	if cv.Key == "" || utf8.RuneCountInString(cv.Key) > 100 {
		cv.Key = newKey()
	}
	var ids []int64
	for _, v := range r.PostForm["attachments"] {
		aid, err := strconv.ParseInt(v, 10, 64)
		if err != nil || aid <= 0 {
			continue
		}
		ids = append(ids, aid)
		// Keep the uploads on the form if the send is refused.
		if ref, err := attachment.Get(r.Context(), u.DB, aid); err == nil && ref.MessageID == 0 && ref.Uploader == attachment.Uploader("user", a.UserID) {
			cv.Attachments = append(cv.Attachments, ref.Attachment)
		}
	}
	var m conversation.Message
	if err = fields.Err(); err == nil {
		m, _, err = u.Convs.Send(r.Context(), a, id, conversation.Outgoing{Text: cv.Text, IdempotencyKey: cv.Key, AttachmentIDs: ids})
	}
	if c, gerr := u.Convs.Get(r.Context(), a, id); gerr == nil {
		// Best effort, like the conversation: the page shows the send's
		// outcome either way.
		if wa, werr := u.waConvOf(r.Context(), c); werr != nil {
			u.Logger.Warn("web: whatsapp pane", "conversation", c.ID, "err", werr)
		} else {
			cv.WA = wa
		}
	}
	if p, ok := problem.As(err); ok && (p.Kind == problem.KindInvalid || p.Kind == problem.KindConflict) {
		if !IsHTMX(r) {
			return err
		}
		if p.Kind == problem.KindInvalid {
			cv.Fields = p.Fields
			if len(p.Fields) == 0 {
				cv.Error = p.Message
			}
		} else {
			cv.Error = p.Message
		}
		status, _, _ := httpx.Classify(p, "")
		return u.Pages.Partial(w, r, status, "inbox", "composer", cv)
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
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "composer", composerView{ConvID: id, Key: newKey(), Sent: &sent, WA: cv.WA})
}

// Head renders the conversation's header: who, status, and the actions.
func (u *InboxPages) Head(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := u.Convs.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	return u.renderHead(w, r, a, c, http.StatusOK, "", true)
}

// renderHead answers with the header; with side, also with the side
// panel's parts (for live updates, which may come from anywhere).
func (u *InboxPages) renderHead(w http.ResponseWriter, r *http.Request, a policy.Actor, c conversation.Conversation, status int, assignErr string, side bool) error {
	if !IsHTMX(r) {
		backToConversation(w, r, c.ID)
		return nil
	}
	n, err := u.Names.OfConversations(r.Context(), c)
	if err != nil {
		return err
	}
	v, err := u.convView(r, a, c, n)
	if err != nil {
		return err
	}
	v.AssignError = assignErr
	// The contact panel is left alone while its form is open: what is
	// typed there stays.
	v.Side = side
	v.Tags.OOB, v.Contact.OOB = true, true
	v.KeepContact = r.URL.Query().Get("contact") == "keep"
	return u.Pages.Partial(w, r, status, "inbox", "conv-head-update", v)
}

// convChange runs a change of the conversation and answers with the
// updated header.
func (u *InboxPages) convChange(w http.ResponseWriter, r *http.Request, a policy.Actor, fn func(id int64) (conversation.Conversation, error)) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := fn(id)
	if p, ok := problem.As(err); ok && IsHTMX(r) && (p.Kind == problem.KindInvalid || p.Kind == problem.KindConflict) {
		cur, gerr := u.Convs.Get(r.Context(), a, id)
		if gerr != nil {
			return gerr
		}
		msg := p.Message
		for _, m := range p.Fields {
			msg = m
		}
		status, _, _ := httpx.Classify(p, "")
		return u.renderHead(w, r, a, cur, status, msg, false)
	} else if err != nil {
		return err
	}
	return u.renderHead(w, r, a, c, http.StatusOK, "", false)
}

func (u *InboxPages) CloseConv(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.convChange(w, r, a, func(id int64) (conversation.Conversation, error) {
		return u.Convs.Close(r.Context(), a, id)
	})
}

func (u *InboxPages) ReopenConv(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.convChange(w, r, a, func(id int64) (conversation.Conversation, error) {
		return u.Convs.Reopen(r.Context(), a, id)
	})
}

// Assign takes assignee_id: "me", "" (unassign) or a user id.
func (u *InboxPages) Assign(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	var to *int64
	switch v := r.PostForm.Get("assignee_id"); v {
	case "":
	case "me":
		to = &a.UserID
	default:
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return problem.Invalid("assignee_id", "Choose an agent from the list.")
		}
		to = &id
	}
	return u.convChange(w, r, a, func(id int64) (conversation.Conversation, error) {
		return u.Convs.Assign(r.Context(), a, id, to)
	})
}

// AddTag and removeTag change the conversation's tags and answer with the
// tags panel.
func (u *InboxPages) AddTag(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.tagChange(w, r, a, true)
}

func (u *InboxPages) RemoveTag(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return u.tagChange(w, r, a, false)
}

func (u *InboxPages) tagChange(w http.ResponseWriter, r *http.Request, a policy.Actor, add bool) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	t := r.PostForm.Get("tag")
	var c conversation.Conversation
	switch err = fields.Err(); {
	case err != nil:
	case add:
		c, err = u.Convs.Tag(r.Context(), a, id, []string{t}, nil)
	default:
		c, err = u.Convs.Tag(r.Context(), a, id, nil, []string{t})
	}
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid && IsHTMX(r) {
		cur, gerr := u.Convs.Get(r.Context(), a, id)
		if gerr != nil {
			return gerr
		}
		tv := tagsView{ConvID: id, Tags: cur.Tags, Work: true, Value: t, Error: p.Fields["tag"]}
		if tv.Error == "" {
			tv.Error = p.Message
		}
		return u.Pages.Partial(w, r, http.StatusUnprocessableEntity, "inbox", "conv-tags", tv)
	} else if err != nil {
		return err
	}
	if !IsHTMX(r) {
		backToConversation(w, r, id)
		return nil
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "conv-tags", tagsView{ConvID: id, Tags: c.Tags, Work: true})
}

// contactPanelOf reads the contact panel of conversation id, as the actor
// may see it.
func (u *InboxPages) contactPanelOf(r *http.Request, a policy.Actor, id int64) (contactView, error) {
	c, err := u.Convs.Get(r.Context(), a, id)
	if err != nil {
		return contactView{}, err
	}
	n, err := u.Names.OfConversations(r.Context(), c)
	if err != nil {
		return contactView{}, err
	}
	return u.contactView(r, a, c, n)
}

// ContactPanel shows the contact of a conversation; with ?edit=1, its
// form.
func (u *InboxPages) ContactPanel(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	cv, err := u.contactPanelOf(r, a, id)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("edit") == "1" && cv.Write {
		if err := u.contactForm(r, a, &cv); err != nil {
			return err
		}
		ct := cv.Contact
		cv.Form = map[string]string{"name": ct.Name, "phone": derefString(ct.Phone), "email": derefString(ct.Email),
			"owner_id": ownerValue(ct.OwnerID), "tags": strings.Join(ct.Tags, ", ")}
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "contact-panel", cv)
}

func ownerValue(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}

// contactForm prepares the edit form: when the viewer may change the
// owner, the agents who may own the contact (and the owner it has, even
// one who may no longer own contacts, so that saving keeps them).
func (u *InboxPages) contactForm(r *http.Request, a policy.Actor, cv *contactView) error {
	cv.Edit = true
	owner := cv.Contact.OwnerID
	var ownerID int64
	if owner != nil {
		ownerID = *owner
	}
	if cv.OwnerEdit = policy.MayChangeOwner(a, ownerID); !cv.OwnerEdit {
		return nil
	}
	agents, err := u.Convs.Owners(r.Context())
	if err != nil {
		return err
	}
	current := owner == nil
	for _, ag := range agents {
		cv.Users = append(cv.Users, ownerOption{ID: ag.ID, Name: ag.Name})
		current = current || ag.ID == *owner
	}
	if !current {
		cv.Users = append(cv.Users, ownerOption{ID: *owner, Name: cv.Owner})
	}
	return nil
}

// UpdateContact saves the contact form of a conversation's contact.
func (u *InboxPages) UpdateContact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	fields, err := httpx.ReadForm(r)
	if err != nil {
		return err
	}
	cv, err := u.contactPanelOf(r, a, id)
	if err != nil {
		return err
	}
	if !cv.Write {
		return problem.Forbidden("You may not edit this contact.")
	}
	form := map[string]string{"owner_id": ownerValue(cv.Contact.OwnerID)}
	for _, k := range []string{"name", "phone", "email", "owner_id", "tags"} {
		if r.PostForm.Has(k) {
			form[k] = r.PostForm.Get(k)
		}
	}
	p := contact.Patch{Name: new(form["name"]), Phone: new(strings.TrimSpace(form["phone"])), Email: new(strings.TrimSpace(form["email"]))}
	tags := []string{}
	for t := range strings.SplitSeq(form["tags"], ",") {
		if strings.TrimSpace(t) != "" {
			tags = append(tags, t)
		}
	}
	p.Tags = &tags
	if form["owner_id"] != ownerValue(cv.Contact.OwnerID) {
		owner, err := strconv.ParseInt("0"+form["owner_id"], 10, 64)
		if err != nil {
			fields.Add("owner_id", "Choose an owner from the list.")
		}
		p.OwnerID = &owner
	}
	err = fields.Err()
	if err == nil {
		_, err = u.Convs.UpdateContact(r.Context(), a, cv.Contact.ID, p)
	}
	if pe, ok := problem.As(err); ok && IsHTMX(r) && (pe.Kind == problem.KindInvalid || pe.Kind == problem.KindForbidden && p.OwnerID != nil) {
		if err := u.contactForm(r, a, &cv); err != nil {
			return err
		}
		cv.Form, cv.Fields = form, pe.Fields
		if pe.Kind == problem.KindForbidden {
			// Someone who may not hand the contact over asked to: say so
			// beside the owner.
			cv.Fields = map[string]string{"owner_id": pe.Message}
		}
		status, _, _ := httpx.Classify(pe, "")
		return u.Pages.Partial(w, r, status, "inbox", "contact-panel", cv)
	} else if err != nil {
		return err
	}
	// A sales agent who hands their customer over may no longer see the
	// conversation: back to the inbox then.
	c, err := u.Convs.Get(r.Context(), a, id)
	if isKind(err, problem.KindNotFound) {
		if IsHTMX(r) {
			w.Header().Set("HX-Redirect", "/inbox")
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
		return nil
	} else if err != nil {
		return err
	}
	if !IsHTMX(r) {
		backToConversation(w, r, id)
		return nil
	}
	n, err := u.Names.OfConversations(r.Context(), c)
	if err != nil {
		return err
	}
	if cv, err = u.contactView(r, a, c, n); err != nil {
		return err
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "contact-panel", cv)
}
