package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// contactsAPI lists and changes contacts.
type contactsAPI struct {
	convs *conversation.Service
}

func (s *contactsAPI) apiContacts(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	o := contact.ListOptions{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	limit, err := httpx.QueryInt(r, "limit", 25, 100)
	if err != nil {
		return err
	}
	o.Limit = limit + 1
	if c := r.URL.Query().Get("cursor"); c != "" {
		if o.Before, err = strconv.ParseInt(c, 10, 64); err != nil || o.Before <= 0 {
			return problem.Invalid("cursor", "The cursor is not valid; start again without it.")
		}
	}
	cs, err := s.convs.Contacts(r.Context(), a, o)
	if err != nil {
		return err
	}
	page := conversation.Page[contact.Contact]{Items: cs}
	if len(cs) > limit {
		page.Items = cs[:limit]
		page.NextCursor = strconv.FormatInt(cs[limit-1].ID, 10)
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (s *contactsAPI) apiContact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return contact.ErrNotFound
	}
	c, err := s.convs.Contact(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *contactsAPI) apiUpdateContact(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return contact.ErrNotFound
	}
	var p contact.Patch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	c, err := s.convs.UpdateContact(r.Context(), a, id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}
