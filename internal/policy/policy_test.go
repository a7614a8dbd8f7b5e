package policy

import "testing"

func TestAllow(t *testing.T) {
	anon := Actor{}
	for _, tc := range []struct {
		action Action
		allow  map[Role]bool
	}{
		{ReadConversations, map[Role]bool{Admin: true, InboxManager: true, Service: true, Sales: true}},
		{AssignConversations, map[Role]bool{Admin: true, InboxManager: true, Service: true}},
		{ReadContacts, map[Role]bool{Admin: true, Service: true, Sales: true}},
		{ManageInboxes, map[Role]bool{Admin: true}},
		{ManageUsers, map[Role]bool{Admin: true}},
		{ViewReports, map[Role]bool{Admin: true}},
		{UseCannedResponses, map[Role]bool{Admin: true, InboxManager: true, Service: true, Sales: true}},
		{ManageCannedResponses, map[Role]bool{Admin: true}},
		{Self, map[Role]bool{Admin: true, InboxManager: true, Service: true, Sales: true}},
	} {
		for _, r := range Roles {
			if got := Allow(Actor{UserID: 1, Role: r}, tc.action); got != tc.allow[r] {
				t.Errorf("Allow(%s, %s) = %v", r, tc.action, got)
			}
		}
		if Allow(anon, tc.action) {
			t.Errorf("anonymous may %s", tc.action)
		}
	}
	if !Allow(anon, Public) {
		t.Error("anonymous may not use a public route")
	}
	if Allow(Actor{UserID: 1, Role: "boss"}, Self) {
		t.Error("an unknown role may act")
	}
}

func TestScope(t *testing.T) {
	svc := ConversationScope(Actor{UserID: 7, Role: Service, Inboxes: []int64{1, 2}})
	sales := ConversationScope(Actor{UserID: 7, Role: Sales})
	all := ConversationScope(Actor{UserID: 7, Role: InboxManager})
	for _, tc := range []struct {
		ref                Ref
		svc, sales, admins bool
	}{
		{Ref{InboxID: 1}, true, false, true},
		{Ref{InboxID: 3}, false, false, true},
		{Ref{InboxID: 3, AssigneeID: 7}, false, true, true},
		{Ref{InboxID: 3, OwnerID: 7}, false, true, true},
		{Ref{InboxID: 2, AssigneeID: 8, OwnerID: 9}, true, false, true},
	} {
		if svc.Allows(tc.ref) != tc.svc || sales.Allows(tc.ref) != tc.sales || all.Allows(tc.ref) != tc.admins {
			t.Errorf("%+v: service %v sales %v all %v", tc.ref, svc.Allows(tc.ref), sales.Allows(tc.ref), all.Allows(tc.ref))
		}
	}
	if (Scope{}).Allows(Ref{InboxID: 1}) {
		t.Error("the empty scope allows something")
	}
}

func TestOwners(t *testing.T) {
	owners := map[Role]bool{Admin: true, Service: true, Sales: true}
	for _, r := range Roles {
		if got := MayOwnContacts(r); got != owners[r] {
			t.Errorf("MayOwnContacts(%s) = %v", r, got)
		}
	}
	if MayOwnContacts("boss") {
		t.Error("an unknown role may own contacts")
	}

	const me, colleague = 7, 8
	for _, tc := range []struct {
		role  Role
		owner int64
		want  bool
	}{
		{Admin, colleague, true},
		{Admin, 0, true},
		{Service, colleague, true},
		{Service, 0, true},
		{Sales, me, true},
		{Sales, colleague, false},
		{Sales, 0, false},
		{InboxManager, me, false},
		{InboxManager, 0, false},
	} {
		if got := MayChangeOwner(Actor{UserID: me, Role: tc.role}, tc.owner); got != tc.want {
			t.Errorf("MayChangeOwner(%s, owner %d) = %v, want %v", tc.role, tc.owner, got, tc.want)
		}
	}
	if MayChangeOwner(Actor{Role: Admin}, 0) {
		t.Error("nobody may change an owner")
	}
}
