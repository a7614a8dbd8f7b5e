package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// apiTyping tells whoever watches the conversation that the agent is
// writing a reply: the customer in the web chat widget, other agents;
// on WhatsApp the customer's phone shows "typing…" (Graph's typing
// indicator, best effort and at most every 25 s per conversation). The
// answer is the same whether a signal went or was throttled.
func (s *Server) apiTyping(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	c, sent, err := s.Conversations.AgentTyping(r.Context(), a, id)
	if err != nil {
		return err
	}
	if sent && c.Status == conversation.Open {
		s.WhatsApp.Typing(r.Context(), c)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
