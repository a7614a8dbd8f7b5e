package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/bot"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// botsAPI is the bots' API: admins keep bots; a bot (with its token) and
// the people who assign conversations hand a bot's conversation off.
type botsAPI struct {
	bots *bot.Service
}

func (s *botsAPI) apiBots(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	list, err := s.bots.List(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (s *botsAPI) apiCreateBot(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	var n bot.NewBot
	if err := httpx.Decode(w, r, &n); err != nil {
		return err
	}
	b, err := s.bots.Create(r.Context(), n)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, b)
	return nil
}

func (s *botsAPI) apiUpdateBot(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return bot.ErrNotFound
	}
	var p bot.Patch
	if err := httpx.Decode(w, r, &p); err != nil {
		return err
	}
	b, err := s.bots.Update(r.Context(), id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (s *botsAPI) apiDeleteBot(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return bot.ErrNotFound
	}
	if err := s.bots.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handoffRequest names the team a hand-off goes to (none: the inbox's
// routing).
type handoffRequest struct {
	TeamID *int64 `json:"team_id"`
}

func (s *botsAPI) apiHandoff(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	var body handoffRequest
	if r.ContentLength != 0 {
		if err := httpx.Decode(w, r, &body); err != nil {
			return err
		}
	}
	c, err := s.bots.Handoff(r.Context(), a, id, body.TeamID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

// apiSend is a bot's message to a conversation it holds (the same route
// as an agent's reply).
func (s *botsAPI) apiSend(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	return sendMessage(w, r, func(id int64, o bot.Outgoing) (conversation.Message, bool, error) {
		m, err := s.bots.Post(r.Context(), a, id, o)
		return m, true, err
	})
}
