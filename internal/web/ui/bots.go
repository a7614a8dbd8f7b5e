package ui

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// Handoff is the banner's "Transfer to human" of a conversation a bot
// holds: the bot lets it go and routing runs; the header shows the
// outcome.
func (u *InboxPages) Handoff(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	return u.convChange(w, r, a, func(id int64) (conversation.Conversation, error) {
		return u.Bots.Handoff(r.Context(), a, id, nil)
	})
}
