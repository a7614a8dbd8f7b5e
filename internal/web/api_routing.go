package web

import (
	"net/http"
	"slices"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// routingAPI serves routing: an inbox's rules and limits, its queue,
// claims and transfers.
type routingAPI struct {
	inboxes *inbox.Store
	routing *routing.Service
}

// assignmentResponse is an inbox's assignment: its rules, the inbox's
// default limit among them, and each member's limit.
type assignmentResponse struct {
	routing.Settings
	Limits []routing.Limit `json:"limits"`
}

func (s *routingAPI) inbox(r *http.Request) (int64, error) {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return 0, problem.NotFound("Inbox")
	}
	if _, err := s.inboxes.Get(r.Context(), id); err != nil {
		return 0, err
	}
	return id, nil
}

func (s *routingAPI) apiAssignment(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := s.inbox(r)
	if err != nil {
		return err
	}
	st, err := s.routing.Settings(r.Context(), id)
	if err != nil {
		return err
	}
	limits, err := s.routing.Limits(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, assignmentResponse{Settings: st, Limits: limits})
	return nil
}

func (s *routingAPI) apiSetAssignment(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := s.inbox(r)
	if err != nil {
		return err
	}
	var p routing.Patch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	if _, err := s.routing.SetSettings(r.Context(), id, p); err != nil {
		return err
	}
	return s.apiAssignment(w, r, a)
}

// limitRequest is a member's own reception limit (null: the inbox's
// default; 0: none).
type limitRequest struct {
	Limit *int `json:"limit"`
}

func (s *routingAPI) apiSetLimit(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := s.inbox(r)
	if err != nil {
		return err
	}
	userID, err := httpx.PathID(r, "user_id")
	if err != nil {
		return problem.NotFound("Member")
	}
	var req limitRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	l, err := s.routing.SetLimit(r.Context(), id, userID, req.Limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (s *routingAPI) apiQueue(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return problem.NotFound("Inbox")
	}
	// The queue of an inbox one works in (all of them for admins and
	// inbox managers); another is not found.
	if sc := policy.ConversationScope(a); sc.Kind != policy.ScopeAll && !slices.Contains(sc.Inboxes, id) {
		return problem.NotFound("Inbox")
	}
	if _, err := s.inboxes.Get(r.Context(), id); err != nil {
		return err
	}
	limit, err := httpx.QueryInt(r, "limit", 500, 500)
	if err != nil {
		return err
	}
	q, err := s.routing.Queue(r.Context(), id, limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, q)
	return nil
}

func (s *routingAPI) apiClaim(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, err := s.routing.Claim(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

// transferRequest names who gets the conversation.
type transferRequest struct {
	AgentID int64 `json:"agent_id"`
}

func (s *routingAPI) apiTransfer(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	var req transferRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if req.AgentID <= 0 {
		return problem.Invalid("agent_id", "Choose the agent who gets the conversation.")
	}
	c, err := s.routing.Transfer(r.Context(), a, id, req.AgentID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *routingAPI) apiCandidates(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	cs, err := s.routing.Candidates(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, cs)
	return nil
}
