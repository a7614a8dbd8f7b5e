package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// conversationsAPI works conversations: lists, messages, replies,
// assignment, tags, typing.
type conversationsAPI struct {
	convs    *conversation.Service
	routing  *routing.Service // fills in the queue's estimated waits
	whatsapp *whatsapp.Service
	bots     *botsAPI // a bot's messages
}

// listOptions reads the conversation list's query parameters.
func listOptions(r *http.Request) (conversation.ListOptions, error) {
	q := r.URL.Query()
	f := problem.Fields{}
	var o conversation.ListOptions
	switch st := q.Get("status"); st {
	case "", "open", "closed":
		o.Status = conversation.Status(st)
	default:
		f.Add("status", "Use open or closed.")
	}
	if v := q.Get("inbox_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.Add("inbox_id", "Use an inbox id.")
		}
		o.InboxID = id
	}
	if v := q.Get("contact_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.Add("contact_id", "Use a contact id.")
		}
		o.ContactID = id
	}
	switch v := q.Get("assignee"); v {
	case "":
	case "me":
		o.Assignee.Me = true
	case "none":
		o.Assignee.None = true
	default:
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.Add("assignee", "Use me, none, or a user id.")
		}
		o.Assignee.ID = id
	}
	switch v := q.Get("queued"); v {
	case "", "false":
	case "true":
		o.Queued = true
	default:
		f.Add("queued", "Use true or false.")
	}
	o.Tag = strings.ToLower(strings.TrimSpace(q.Get("tag")))
	o.Cursor = q.Get("cursor")
	limit, err := httpx.QueryInt(r, "limit", 25, 100)
	if err != nil {
		f.Add("limit", "Use a whole number from 1 to 100.")
	}
	o.Limit = limit
	return o, f.Err()
}

func (s *conversationsAPI) apiConversations(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := s.convs.List(r.Context(), a, o)
	if err != nil {
		return err
	}
	if err := s.routing.Fill(r.Context(), page.Items); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (s *conversationsAPI) apiConversation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := s.convs.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	one := []conversation.Conversation{c}
	if err := s.routing.Fill(r.Context(), one); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, one[0])
	return nil
}

// messageOptions reads a message page's query parameters.
func messageOptions(r *http.Request) (conversation.MessageOptions, error) {
	var o conversation.MessageOptions
	if c := r.URL.Query().Get("cursor"); c != "" {
		before, err := strconv.ParseInt(c, 10, 64)
		if err != nil || before <= 0 {
			return o, problem.Invalid("cursor", "The cursor is not valid; start again without it.")
		}
		o.Before = before
	}
	limit, err := httpx.QueryInt(r, "limit", 50, 200)
	o.Limit = limit
	return o, err
}

func (s *conversationsAPI) apiMessages(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	o, err := messageOptions(r)
	if err != nil {
		return err
	}
	page, err := s.convs.Messages(r.Context(), a, id, o)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

// activityList is a conversation's activities.
type activityList struct {
	Items []conversation.Activity `json:"items"`
}

func (s *conversationsAPI) apiActivities(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	var o conversation.ActivityOptions
	f := problem.Fields{}
	q := r.URL.Query()
	if v := q.Get("after"); v != "" {
		if o.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil || o.AfterID < 0 {
			f.Add("after", "Use the id of an activity.")
		}
	}
	if v := q.Get("limit"); v != "" {
		if o.Limit, err = strconv.Atoi(v); err != nil || o.Limit < 1 || o.Limit > 500 {
			f.Add("limit", "Use a number from 1 to 500.")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	acts, err := s.convs.Activities(r.Context(), a, id, o)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, activityList{Items: acts})
	return nil
}

func (s *conversationsAPI) apiSend(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if a.Bot() {
		return s.bots.apiSend(w, r, a)
	}
	return sendMessage(w, r, func(id int64, o conversation.Outgoing) (conversation.Message, bool, error) {
		return s.convs.Send(r.Context(), a, id, o)
	})
}

// sendMessage decodes a message of type M from the body and sends it on
// the conversation of the path with send. A repeat of a send (the same
// idempotency key) answers 200 with the first message.
func sendMessage[M any](w http.ResponseWriter, r *http.Request, send func(convID int64, m M) (conversation.Message, bool, error)) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	var m M
	if err := httpx.Decode(w, r, &m); err != nil {
		return err
	}
	msg, created, err := send(id, m)
	if err != nil {
		return err
	}
	writeSent(w, created, msg)
	return nil
}

// writeSent answers a send: 201 when it created v, 200 when it was a
// repeat of an earlier one.
func writeSent(w http.ResponseWriter, created bool, v any) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, v)
}

// convAction runs a conversation change and answers with the conversation.
func (s *conversationsAPI) convAction(w http.ResponseWriter, r *http.Request, fn func(id int64) (conversation.Conversation, error)) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := fn(id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *conversationsAPI) apiClose(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.convs.Close(r.Context(), a, id)
	})
}

func (s *conversationsAPI) apiReopen(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.convs.Reopen(r.Context(), a, id)
	})
}

type assignRequest struct {
	// AssigneeID is the agent to assign; null unassigns.
	AssigneeID *int64 `json:"assignee_id"`
}

func (s *conversationsAPI) apiAssign(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req assignRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.convs.Assign(r.Context(), a, id, req.AssigneeID)
	})
}

func (s *conversationsAPI) apiAssignees(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	agents, err := s.convs.Assignees(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, agents)
	return nil
}

func (s *conversationsAPI) apiMarkRead(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	if err := s.convs.MarkRead(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tagRequest struct {
	Tag string `json:"tag"`
}

func (s *conversationsAPI) apiAddTag(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req tagRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.convs.Tag(r.Context(), a, id, []string{req.Tag}, nil)
	})
}

func (s *conversationsAPI) apiRemoveTag(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.convs.Tag(r.Context(), a, id, nil, []string{r.PathValue("tag")})
	})
}

// apiTyping tells whoever watches the conversation that the agent is
// writing a reply: the customer in the web chat widget, other agents;
// on WhatsApp the customer's phone shows "typing…" (Graph's typing
// indicator, best effort and at most every 25 s per conversation). The
// answer is the same whether a signal went or was throttled.
func (s *conversationsAPI) apiTyping(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, sent, err := s.convs.AgentTyping(r.Context(), a, id)
	if err != nil {
		return err
	}
	if sent && c.Status == conversation.Open {
		s.whatsapp.Typing(r.Context(), c)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
