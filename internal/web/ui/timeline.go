package ui

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// The timeline of a conversation: its messages, what happened to it
// (activities: assignments, status, tags) where it happened, the quote of
// the message a reply answers, and, above the first message, the
// customer's earlier conversations on demand.

// messagesView is a page of the timeline, oldest first, with the cursor
// of the page before it.
type messagesView struct {
	ConvID int64
	Items  []timelineItem
	Older  string
	// EarlierOf is the open conversation at the top of its oldest page
	// when its customer has earlier conversations the reader may see: the
	// page offers them (0: nothing to offer).
	EarlierOf int64
	// InEarlier marks a page of an earlier conversation, shown above the
	// open one.
	InEarlier bool
}

// timelineItem is a message or an activity.
type timelineItem struct {
	Message  *messageView
	Activity *activityView
}

// activityView is an activity with the names it mentions ("" for
// nobody: an automatic change, or a user since deleted).
type activityView struct {
	A        conversation.Activity
	Actor    string
	To, From string
}

// quoteView is the message a reply answers: who wrote it and its first
// line.
type quoteView struct {
	ID     int64
	Sender string
	Text   string
	Type   string
}

// earlierView is an earlier conversation of the customer, above the open
// one: a divider, its last page of messages, the control for the one
// before it (More), and where the conversation after it starts when that
// is the open one (Open).
type earlierView struct {
	C        conversation.Conversation
	Inbox    string
	Messages messagesView
	More     bool
	Open     *conversation.Conversation
}

// quoteLength is how much of the quoted message's first line shows.
const quoteLength = 100

// quoteOf is the quote of m, a message of c's customer or of an agent.
func quoteOf(m conversation.Message, c conversation.Conversation, n *httpx.Names) *quoteView {
	q := &quoteView{ID: m.ID, Type: string(m.Type)}
	line := strings.TrimSpace(m.Text)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	if utf8.RuneCountInString(line) > quoteLength {
		line = string([]rune(line)[:quoteLength-1]) + "…"
	}
	if line == "" && len(m.Attachments) > 0 {
		line = "📎 " + m.Attachments[0].Filename
	}
	q.Text = line
	switch m.SenderType {
	case conversation.SenderContact:
		q.Sender = contactName(c.Contact)
	case conversation.SenderAgent:
		q.Sender = n.User(m.SenderID)
	}
	return q
}

// messageViews renders messages of conversation c for the actor, with
// the quotes of the messages they answer.
func (u *InboxPages) messageViews(ctx context.Context, a policy.Actor, c conversation.Conversation, ms []conversation.Message) ([]messageView, error) {
	var replied []int64
	for _, m := range ms {
		if m.ReplyToID != nil {
			replied = append(replied, *m.ReplyToID)
		}
	}
	quoted, err := u.Convs.Replied(ctx, a, replied)
	if err != nil {
		return nil, err
	}
	all := append([]conversation.Message{}, ms...)
	for _, q := range quoted {
		all = append(all, q)
	}
	n, err := u.Names.OfMessages(ctx, all...)
	if err != nil {
		return nil, err
	}
	out := make([]messageView, len(ms))
	for i, m := range ms {
		out[i] = messageOf(n, m)
		if m.ReplyToID != nil {
			if q, ok := quoted[*m.ReplyToID]; ok {
				out[i].Quote = quoteOf(q, c, n)
			}
		}
	}
	return out, nil
}

// activityViews names the people of activities.
func (u *InboxPages) activityViews(ctx context.Context, acts []conversation.Activity) ([]activityView, error) {
	var users []int64
	for _, act := range acts {
		for _, id := range []*int64{act.ActorID, act.AssigneeID, act.PrevAssigneeID} {
			if id != nil {
				users = append(users, *id)
			}
		}
	}
	n, err := u.Names.Get(ctx, users, nil)
	if err != nil {
		return nil, err
	}
	out := make([]activityView, len(acts))
	for i, act := range acts {
		out[i] = activityView{A: act, Actor: n.User(act.ActorID), To: n.User(act.AssigneeID), From: n.User(act.PrevAssigneeID)}
	}
	return out, nil
}

// history reads a page of c's timeline, oldest first: the messages before
// the message before (0: the newest), and the activities among them.
func (u *InboxPages) history(r *http.Request, a policy.Actor, c conversation.Conversation, before int64, inEarlier bool) (messagesView, error) {
	ctx := r.Context()
	page, err := u.Convs.Messages(ctx, a, c.ID, conversation.MessageOptions{Before: before, Limit: 30})
	if err != nil {
		return messagesView{}, err
	}
	ms := make([]conversation.Message, len(page.Items))
	for i, m := range page.Items {
		ms[len(ms)-1-i] = m
	}
	// The activities after the page's first message (after any, on the
	// oldest page) and before the page after it.
	o := conversation.ActivityOptions{BeforeMessage: before}
	if page.NextCursor != "" && len(ms) > 0 {
		o.AfterMessage = ms[0].ID
	}
	acts, err := u.Convs.Activities(ctx, a, c.ID, o)
	if err != nil {
		return messagesView{}, err
	}
	views, err := u.messageViews(ctx, a, c, ms)
	if err != nil {
		return messagesView{}, err
	}
	avs, err := u.activityViews(ctx, acts)
	if err != nil {
		return messagesView{}, err
	}
	mv := messagesView{ConvID: c.ID, Older: page.NextCursor, InEarlier: inEarlier, Items: make([]timelineItem, 0, len(views)+len(avs))}
	j := 0
	for i := range views {
		for ; j < len(avs) && avs[j].A.AfterMessageID < views[i].M.ID; j++ {
			mv.Items = append(mv.Items, timelineItem{Activity: &avs[j]})
		}
		mv.Items = append(mv.Items, timelineItem{Message: &views[i]})
	}
	for ; j < len(avs); j++ {
		mv.Items = append(mv.Items, timelineItem{Activity: &avs[j]})
	}
	if mv.Older == "" && !inEarlier {
		switch _, err := u.Convs.Earlier(ctx, a, c.ID); {
		case err == nil:
			mv.EarlierOf = c.ID
		case !isKind(err, problem.KindNotFound):
			return messagesView{}, err
		}
	}
	return mv, nil
}

// Earlier answers "Show earlier conversations": the customer's
// conversation before this one, as the reader may see it, or nothing
// when there is none. With open=1 this one is the open conversation, and
// the answer ends where it starts.
func (u *InboxPages) Earlier(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := u.Convs.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	e, err := u.Convs.Earlier(r.Context(), a, id)
	if isKind(err, problem.KindNotFound) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK) // the control goes: nothing before
		return nil
	} else if err != nil {
		return err
	}
	v := earlierView{C: e}
	if v.Messages, err = u.history(r, a, e, 0, true); err != nil {
		return err
	}
	switch _, err := u.Convs.Earlier(r.Context(), a, e.ID); {
	case err == nil:
		v.More = true
	case !isKind(err, problem.KindNotFound):
		return err
	}
	if r.URL.Query().Get("open") == "1" {
		v.Open = &c
	}
	n, err := u.Names.OfConversations(r.Context(), e)
	if err != nil {
		return err
	}
	v.Inbox = n.Inbox(e.InboxID)
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "earlier", v)
}

// Activities answers the live timeline: the conversation's activities
// after the last one the page shows (after) and from its first message
// shown on (from), or 204 when there are none.
func (u *InboxPages) Activities(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	var o conversation.ActivityOptions
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		to   *int64
	}{{"after", &o.AfterID}, {"from", &o.AfterMessage}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return problem.Invalid(p.name, "The position is not valid; reload the page.")
			}
			*p.to = n
		}
	}
	acts, err := u.Convs.Activities(r.Context(), a, id, o)
	if err != nil {
		return err
	}
	if len(acts) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	avs, err := u.activityViews(r.Context(), acts)
	if err != nil {
		return err
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "activities", avs)
}
