package web

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestNotifyTrigger(t *testing.T) {
	const me, other = 7, 8
	ev := func(typ string, assignee, prev int64, data string) *event.Event {
		return &event.Event{Type: typ, Data: []byte(data), ConversationID: 1, Ref: policy.Ref{InboxID: 1, AssigneeID: assignee}, PrevAssigneeID: prev}
	}
	cases := []struct {
		name string
		e    *event.Event
		role policy.Role
		want user.Trigger
	}{
		{"new, assigned to me", ev(event.ConversationCreated, me, 0, `{"started_by":"customer"}`), policy.Service, user.TriggerAssigned},
		{"new, assigned to someone else", ev(event.ConversationCreated, other, 0, `{}`), policy.Service, ""},
		{"new, unassigned, may claim", ev(event.ConversationCreated, 0, 0, `{}`), policy.Service, user.TriggerUnassigned},
		{"new, unassigned, inbox manager", ev(event.ConversationCreated, 0, 0, `{}`), policy.InboxManager, user.TriggerUnassigned},
		{"new, unassigned, sales may not claim", ev(event.ConversationCreated, 0, 0, `{}`), policy.Sales, ""},
		{"new, started by an agent", ev(event.ConversationCreated, me, 0, `{"started_by":"agent"}`), policy.Service, ""},
		{"assigned to me from nobody", ev(event.ConversationUpdated, me, 0, `{}`), policy.Service, user.TriggerAssigned},
		{"transferred to me", ev(event.ConversationUpdated, me, other, `{}`), policy.Service, user.TriggerTransferred},
		{"mine, unchanged (a new message, a tag)", ev(event.ConversationUpdated, me, me, `{}`), policy.Service, ""},
		{"transferred away from me", ev(event.ConversationUpdated, other, me, `{}`), policy.Service, ""},
		{"customer's message, mine", ev(event.MessageCreated, me, 0, `{"direction":"inbound"}`), policy.Service, user.TriggerMessage},
		{"my own reply", ev(event.MessageCreated, me, 0, `{"direction":"outbound"}`), policy.Service, ""},
		{"customer's message, not mine", ev(event.MessageCreated, other, 0, `{"direction":"inbound"}`), policy.Service, ""},
		{"a delivery receipt", ev(event.MessageUpdated, me, 0, `{"direction":"outbound"}`), policy.Service, ""},
	}
	for _, tc := range cases {
		if got := notifyTrigger(tc.e, me, tc.role); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
