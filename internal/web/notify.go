package web

import (
	"encoding/json"

	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/user"
)

// notifyTrigger says which of an agent's notification triggers an event
// pulls ("" for none), for the agent's WebSocket: the page then plays the
// sound and shows the pop-up the agent chose for it. The event reached
// the agent, so they may see it; the triggers are:
//   - assigned: a new conversation given to them, or one nobody had
//     assigned to them (not a reply of theirs that took an unassigned
//     conversation: the page leaves out conversations it acted on);
//   - transferred: a conversation someone else had, now theirs;
//   - message: a customer's new message in a conversation of theirs;
//   - unassigned: a new conversation nobody has, for those who may
//     claim it (sales agents may not).
func notifyTrigger(e *event.Event, userID int64, role policy.Role) user.Trigger {
	switch e.Type {
	case event.ConversationCreated:
		var c struct {
			StartedBy string `json:"started_by"`
		}
		if json.Unmarshal(e.Data, &c) == nil && c.StartedBy == "agent" {
			return "" // an agent wrote first: nobody needs calling
		}
		switch {
		case e.Ref.AssigneeID == userID:
			return user.TriggerAssigned
		case e.Ref.AssigneeID == 0 && policy.Allow(policy.Actor{UserID: userID, Role: role}, policy.AssignConversations):
			return user.TriggerUnassigned
		}
	case event.ConversationUpdated:
		if e.Ref.AssigneeID != userID || e.PrevAssigneeID == userID {
			return ""
		}
		if e.PrevAssigneeID == 0 {
			return user.TriggerAssigned
		}
		return user.TriggerTransferred
	case event.MessageCreated:
		if e.Ref.AssigneeID != userID {
			return ""
		}
		var m struct {
			Direction string `json:"direction"`
		}
		if json.Unmarshal(e.Data, &m) == nil && m.Direction == "inbound" {
			return user.TriggerMessage
		}
	}
	return ""
}
