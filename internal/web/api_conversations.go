package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

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
	o.Tag = strings.ToLower(strings.TrimSpace(q.Get("tag")))
	o.Cursor = q.Get("cursor")
	limit, err := queryInt(r, "limit", 25, 100)
	if err != nil {
		f.Add("limit", "Use a whole number from 1 to 100.")
	}
	o.Limit = limit
	return o, f.Err()
}

func (s *Server) apiConversations(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := s.Conversations.List(r.Context(), a, o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) apiConversation(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := s.Conversations.Get(r.Context(), a, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
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
	limit, err := queryInt(r, "limit", 50, 200)
	o.Limit = limit
	return o, err
}

func (s *Server) apiMessages(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	o, err := messageOptions(r)
	if err != nil {
		return err
	}
	page, err := s.Conversations.Messages(r.Context(), a, id, o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// activityList is a conversation's activities.
type activityList struct {
	Items []conversation.Activity `json:"items"`
}

func (s *Server) apiActivities(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
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
	acts, err := s.Conversations.Activities(r.Context(), a, id, o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, activityList{Items: acts})
	return nil
}

func (s *Server) apiSend(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return sendMessage(w, r, func(id int64, o conversation.Outgoing) (conversation.Message, bool, error) {
		return s.Conversations.Send(r.Context(), a, id, o)
	})
}

// sendMessage decodes a message of type M from the body and sends it on
// the conversation of the path with send. A repeat of a send (the same
// idempotency key) answers 200 with the first message.
func sendMessage[M any](w http.ResponseWriter, r *http.Request, send func(convID int64, m M) (conversation.Message, bool, error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	var m M
	if err := decode(w, r, &m); err != nil {
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
	writeJSON(w, status, v)
}

// convAction runs a conversation change and answers with the conversation.
func (s *Server) convAction(w http.ResponseWriter, r *http.Request, fn func(id int64) (conversation.Conversation, error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := fn(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) apiClose(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.Conversations.Close(r.Context(), a, id)
	})
}

func (s *Server) apiReopen(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.Conversations.Reopen(r.Context(), a, id)
	})
}

type assignRequest struct {
	// AssigneeID is the agent to assign; null unassigns.
	AssigneeID *int64 `json:"assignee_id"`
}

func (s *Server) apiAssign(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req assignRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.Conversations.Assign(r.Context(), a, id, req.AssigneeID)
	})
}

func (s *Server) apiAssignees(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	agents, err := s.Conversations.Assignees(r.Context(), a, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, agents)
	return nil
}

func (s *Server) apiMarkRead(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	if err := s.Conversations.MarkRead(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tagRequest struct {
	Tag string `json:"tag"`
}

func (s *Server) apiAddTag(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	var req tagRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.Conversations.Tag(r.Context(), a, id, []string{req.Tag}, nil)
	})
}

func (s *Server) apiRemoveTag(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return s.convAction(w, r, func(id int64) (conversation.Conversation, error) {
		return s.Conversations.Tag(r.Context(), a, id, nil, []string{r.PathValue("tag")})
	})
}

// readUpload reads the multipart "file" field and stores it.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request, from attachment.From) (attachment.Attachment, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return attachment.Attachment{}, &problem.Error{Kind: problem.KindUnsupported, Message: "Upload the file as multipart/form-data in a field named file."}
	}
	// Allow the form's own overhead beyond the file limit; the store
	// checks the file's size exactly.
	r.Body = http.MaxBytesReader(w, r.Body, s.Files.Limits.MaxFile+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return attachment.Attachment{}, malformed("The multipart body could not be read.")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return attachment.Attachment{}, problem.Invalid("file", "Choose a file to upload.")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return attachment.Attachment{}, &problem.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("Files may be at most %d MB.", s.Files.Limits.MaxFile>>20)}
		}
		if err != nil {
			return attachment.Attachment{}, malformed("The multipart body could not be read.")
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		a, err := s.Files.Save(r.Context(), from, part.FileName(), part)
		part.Close()
		if p, ok := problem.As(err); ok && p.Kind == problem.KindMalformed {
			// The body ended early: was it cut off for being too large?
			if _, rerr := io.Copy(io.Discard, r.Body); errors.As(rerr, &mbe) {
				return a, &problem.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("Files may be at most %d MB.", s.Files.Limits.MaxFile>>20)}
			}
		}
		return a, err
	}
}

func (s *Server) apiUpload(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	att, err := s.readUpload(w, r, attachment.From{Uploader: attachment.Uploader("user", a.UserID)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, att)
	return nil
}

// serveAttachment writes a stored file so that a browser never runs it:
// images inline, everything else as a download, always with nosniff and
// a sandboxing CSP.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request, a attachment.Attachment) error {
	f, err := s.Files.Open(a)
	if err != nil {
		return err
	}
	defer f.Close()
	disposition := "attachment"
	if a.Kind == attachment.Image {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": a.Filename}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "private, max-age=86400, immutable")
	}
	http.ServeContent(w, r, "", a.CreatedAt, f)
	return nil
}

func (s *Server) apiDownload(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return problem.NotFound("Attachment")
	}
	ref, err := attachment.Get(r.Context(), s.DB, id)
	if err != nil {
		return err
	}
	switch {
	case ref.MessageID != 0:
		// Visible with its message.
		if _, err := s.Conversations.Message(r.Context(), a, ref.MessageID); err != nil {
			return problem.NotFound("Attachment")
		}
	case ref.Uploader != attachment.Uploader("user", a.UserID):
		return problem.NotFound("Attachment")
	}
	return s.serveAttachment(w, r, ref.Attachment)
}

func (s *Server) apiContacts(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	o := contact.ListOptions{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	limit, err := queryInt(r, "limit", 25, 100)
	if err != nil {
		return err
	}
	o.Limit = limit + 1
	if c := r.URL.Query().Get("cursor"); c != "" {
		if o.Before, err = strconv.ParseInt(c, 10, 64); err != nil || o.Before <= 0 {
			return problem.Invalid("cursor", "The cursor is not valid; start again without it.")
		}
	}
	cs, err := s.Conversations.Contacts(r.Context(), a, o)
	if err != nil {
		return err
	}
	page := conversation.Page[contact.Contact]{Items: cs}
	if len(cs) > limit {
		page.Items = cs[:limit]
		page.NextCursor = strconv.FormatInt(cs[limit-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) apiContact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return contact.ErrNotFound
	}
	c, err := s.Conversations.Contact(r.Context(), a, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) apiUpdateContact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return contact.ErrNotFound
	}
	var p contact.Patch
	if err := decode(w, r, &p); err != nil {
		return err
	}
	c, err := s.Conversations.UpdateContact(r.Context(), a, id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
