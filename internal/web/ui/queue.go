package ui

import (
	"net/http"
	"strconv"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// queueShown is how many queued conversations of each inbox the banner
// lists.
const queueShown = 20

// queueView is the "N people in queue" banner of the workspace and, open,
// the queues of the inboxes the agent may take from.
type queueView struct {
	Count  int
	Queues []inboxQueue
	// Error is why a claim was refused (someone else took it).
	Error string
	Open  bool
}

// inboxQueue is one inbox's queue as the banner lists it.
type inboxQueue struct {
	Inbox   string
	Count   int
	Waiting []waitingView
}

// waitingView is a queued conversation in the banner.
type waitingView struct {
	routing.Waiting
	Name      string
	ContactID int64
}

// queue reads the queues of the inboxes a may take from.
func (u *InboxPages) queue(r *http.Request, a policy.Actor) (queueView, error) {
	var v queueView
	ins, err := u.Inboxes.List(r.Context(), a)
	if err != nil {
		return v, err
	}
	for _, in := range ins {
		ws, err := u.Routing.Queue(r.Context(), in.ID, 500)
		if err != nil {
			return v, err
		}
		if len(ws) == 0 {
			continue
		}
		q := inboxQueue{Inbox: in.Name, Count: len(ws)}
		for _, w := range ws[:min(len(ws), queueShown)] {
			c, err := u.Convs.Get(r.Context(), a, w.ConversationID)
			if isKind(err, problem.KindNotFound) {
				continue
			} else if err != nil {
				return v, err
			}
			q.Waiting = append(q.Waiting, waitingView{Waiting: w, Name: contactName(c.Contact), ContactID: c.ContactID})
		}
		v.Count += q.Count
		v.Queues = append(v.Queues, q)
	}
	return v, nil
}

// QueueBanner answers the banner's live updates.
func (u *InboxPages) QueueBanner(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v, err := u.queue(r, a)
	if err != nil {
		return err
	}
	v.Open = r.URL.Query().Get("open") == "1"
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "queue-banner", v)
}

// Claim takes a conversation from the queue and opens it; when someone
// else took it first, the banner says so with the queue as it is now.
func (u *InboxPages) Claim(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	_, err = u.Routing.Claim(r.Context(), a, id)
	if p, ok := problem.As(err); ok && IsHTMX(r) && p.Kind == problem.KindConflict {
		v, err := u.queue(r, a)
		if err != nil {
			return err
		}
		taken := queueView{Error: "Someone else took it.", Open: true, Count: v.Count, Queues: v.Queues}
		return u.Pages.Partial(w, r, http.StatusConflict, "inbox", "queue-banner", taken)
	} else if err != nil {
		return err
	}
	to := "/inbox/conversations/" + strconv.FormatInt(id, 10) + "?view=mine&status=open"
	if IsHTMX(r) {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// transferView is the Transfer menu of a conversation: who may get it,
// Available first, with their load against their limit.
type transferView struct {
	ConvID     int64
	Admin      bool
	Candidates []candidateView
}

// candidateView is one agent in the Transfer menu.
type candidateView struct {
	routing.Candidate
	AvatarURL string
	// Full is an agent at (or over) their reception limit.
	Full bool
}

func (u *InboxPages) TransferMenu(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	id, err := httpx.PathID(r, "id")
	if err != nil {
		return conversation.ErrNotFound
	}
	cs, err := u.Routing.Candidates(r.Context(), a, id)
	if err != nil {
		return err
	}
	v := transferView{ConvID: id, Admin: a.Role == policy.Admin}
	for _, c := range cs {
		v.Candidates = append(v.Candidates, candidateView{Candidate: c, AvatarURL: user.AvatarURL(c.ID, c.AvatarVersion),
			Full: c.Limit > 0 && c.Open >= c.Limit})
	}
	return u.Pages.Partial(w, r, http.StatusOK, "inbox", "transfer-menu", v)
}

// Transfer gives the conversation to the agent of agent_id; a refusal
// (their limit, for all but admins) is shown in the header.
func (u *InboxPages) Transfer(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	if err := httpx.ParseForm(r); err != nil {
		return err
	}
	to, err := strconv.ParseInt(r.PostForm.Get("agent_id"), 10, 64)
	if err != nil || to <= 0 {
		return problem.Invalid("agent_id", "Choose the agent who gets the conversation.")
	}
	return u.convChange(w, r, a, func(id int64) (conversation.Conversation, error) {
		return u.Routing.Transfer(r.Context(), a, id, to)
	})
}
