// Package policy is the one place that decides what each role may do and
// which conversations it may see. Every HTTP route names an Action and goes
// through Allow; every query for conversations goes through a Scope, which
// the conversation package turns into SQL and the real-time hub into a
// per-event check.
package policy

import "slices"

// Role is a user's role in the installation.
type Role string

// The roles.
const (
	Admin        Role = "admin"         // everything
	InboxManager Role = "inbox_manager" // every conversation, nothing else
	Service      Role = "service"       // conversations of the inboxes they are a member of
	Sales        Role = "sales"         // conversations assigned to them or whose contact they own
)

// Roles lists every role, for validation and for tests.
var Roles = []Role{Admin, InboxManager, Service, Sales}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Actor is who is asking: a signed-in user, a bot (BotID, with its
// token), or nobody (UserID and BotID 0).
type Actor struct {
	UserID int64
	Role   Role
	// Inboxes are the inboxes the user is a member of. They matter to the
	// service role's visibility and to nobody else's.
	Inboxes []int64
	// BotID is the bot whose token authenticated the request; a bot has
	// no role and sees no conversation through the scopes: it may do the
	// BotActions, on the conversations it holds.
	BotID int64
}

// Anonymous reports whether nobody is signed in.
func (a Actor) Anonymous() bool { return a.UserID == 0 && a.BotID == 0 }

// Bot reports whether a bot is asking.
func (a Actor) Bot() bool { return a.BotID != 0 }

// Action is something a route does.
type Action string

// The actions. Public routes (login, health, the web chat widget's API)
// use Public; routes any signed-in user may use (their own profile and
// tokens) use Self.
const (
	Public Action = "public"
	Self   Action = "self"

	ReadConversations   Action = "conversations.read"   // list and open visible conversations and their messages
	WorkConversations   Action = "conversations.work"   // reply, close, reopen, tag, mark read
	AssignConversations Action = "conversations.assign" // assign or transfer to anyone who may work the inbox
	ClaimConversations  Action = "conversations.claim"  // take a conversation from an inbox's queue
	// WelcomeMessages are an agent's own personal welcome messages, sent
	// when a conversation is assigned to them: for whoever is assigned
	// conversations.
	WelcomeMessages Action = "welcome_messages.manage"

	ReadContacts  Action = "contacts.read"
	WriteContacts Action = "contacts.write" // edit name, phone, email, tags, owner
	// ImportContacts is for admins only: an import creates and changes
	// contacts by the thousand, whoever's they are, owners included.
	ImportContacts Action = "contacts.import"

	ReadInboxes   Action = "inboxes.read" // the inboxes one works in (names, types)
	ManageInboxes Action = "inboxes.manage"
	ManageUsers   Action = "users.manage" // users, invitations, teams, security settings

	// ReplyConversations is posting a message to a conversation through
	// the API: everyone who works conversations, and a bot to the
	// conversations it holds.
	ReplyConversations Action = "conversations.reply"
	// HandOffConversations hands a conversation a bot holds to a human
	// (routing, or a team): those who assign conversations, and the bot.
	HandOffConversations Action = "conversations.handoff"
	// ManageBots is creating, changing and deleting bots (admins).
	ManageBots Action = "bots.manage"
	// UseCannedResponses is for those who write replies: read the company
	// presets, and keep canned responses of their own.
	UseCannedResponses Action = "canned.use"
	// ManageCannedResponses makes, changes and deletes the company
	// presets (admins).
	ManageCannedResponses Action = "canned.manage"

	// ViewReports is for supervisors: time in status per agent and team.
	// Only admins have it (an inbox manager sees conversations and
	// messages, nothing else).
	ViewReports Action = "reports.view"
)

// grants says which roles may do what. Admin may do everything.
var grants = map[Action][]Role{
	ReadConversations:    {InboxManager, Service, Sales},
	WorkConversations:    {InboxManager, Service, Sales},
	AssignConversations:  {InboxManager, Service},
	ClaimConversations:   {InboxManager, Service},
	WelcomeMessages:      {InboxManager, Service, Sales},
	ReadContacts:         {Service, Sales},
	WriteContacts:        {Service, Sales},
	ReadInboxes:          {InboxManager, Service, Sales},
	UseCannedResponses:   {InboxManager, Service, Sales},
	ReplyConversations:   {InboxManager, Service, Sales},
	HandOffConversations: {InboxManager, Service},
}

// BotActions are all a bot may do (on the conversations it holds).
var BotActions = []Action{ReplyConversations, HandOffConversations}

// Allow reports whether a may perform action at all. Whether a may touch a
// particular conversation or contact is the Scope's business.
func Allow(a Actor, action Action) bool {
	switch {
	case action == Public:
		return true
	case a.Bot():
		return slices.Contains(BotActions, action)
	case a.Anonymous() || !a.Role.Valid():
		return false
	case action == Self:
		return true
	}
	return a.Role.may(action)
}

// may reports whether the role is granted action.
func (r Role) may(action Action) bool {
	return r.Valid() && (r == Admin || slices.Contains(grants[action], r))
}

// ScopeKind says which conversations (and contacts) an actor sees.
type ScopeKind int

// The kinds of visibility.
const (
	ScopeNone            ScopeKind = iota // nothing
	ScopeAll                              // every conversation
	ScopeInboxes                          // conversations in the inboxes of Scope.Inboxes
	ScopeAssignedOrOwned                  // conversations assigned to Scope.UserID or whose contact Scope.UserID owns
)

// Scope is the set of conversations an actor may see.
type Scope struct {
	Kind    ScopeKind
	UserID  int64
	Inboxes []int64
}

// ConversationScope is the visibility rule of the product: admin and
// inbox_manager see everything; service sees the inboxes they are a member
// of; sales see what is assigned to them or whose contact they own.
func ConversationScope(a Actor) Scope {
	switch a.Role {
	case Admin, InboxManager:
		return Scope{Kind: ScopeAll, UserID: a.UserID}
	case Service:
		return Scope{Kind: ScopeInboxes, UserID: a.UserID, Inboxes: a.Inboxes}
	case Sales:
		return Scope{Kind: ScopeAssignedOrOwned, UserID: a.UserID}
	}
	return Scope{Kind: ScopeNone}
}

// Ref is what visibility depends on: where a conversation is, who works it
// and whose customer it is.
type Ref struct {
	InboxID    int64
	AssigneeID int64
	OwnerID    int64
}

// Allows reports whether the scope includes a conversation.
func (s Scope) Allows(c Ref) bool {
	switch s.Kind {
	case ScopeAll:
		return true
	case ScopeInboxes:
		return slices.Contains(s.Inboxes, c.InboxID)
	case ScopeAssignedOrOwned:
		return s.UserID != 0 && (c.AssigneeID == s.UserID || c.OwnerID == s.UserID)
	}
	return false
}

// MayBeAssigned reports whether a user of role, with the given inbox
// memberships, may be assigned a conversation of inboxID. Admins and inbox
// managers may work any inbox; everyone else must be a member.
func MayBeAssigned(role Role, memberOf []int64, inboxID int64) bool {
	switch role {
	case Admin, InboxManager:
		return true
	case Service, Sales:
		return slices.Contains(memberOf, inboxID)
	}
	return false
}

// MayOwnContacts reports whether a user of role may be a contact's owner:
// an agent, who works conversations and sees the customers behind them.
// Inbox managers see conversations and nothing else, so they own nobody.
func MayOwnContacts(role Role) bool {
	return role.may(WorkConversations) && role.may(ReadContacts)
}

// MayChangeOwner reports whether a may give a contact it sees, owned by
// ownerID (0 for nobody), another owner. Admins and service agents may;
// a sales agent only hands over their own customers.
func MayChangeOwner(a Actor, ownerID int64) bool {
	if !Allow(a, WriteContacts) {
		return false
	}
	switch a.Role {
	case Admin, Service:
		return true
	case Sales:
		return ownerID != 0 && ownerID == a.UserID
	}
	return false
}
