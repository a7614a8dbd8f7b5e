package web

import (
	"net/http"

	"github.com/switchboardhq/switchboard/internal/account"
	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
)

// kind says how a route answers errors: JSON for the APIs, pages (and a
// redirect to the login page) for the workspace.
type kind int

const (
	apiRoute kind = iota
	uiRoute
)

// route is one entry of the route table.
type route struct {
	method string
	path   string
	action policy.Action
	kind   kind
	h      handler
	doc    doc
}

// doc describes an API route in the OpenAPI document.
type doc struct {
	summary string
	tag     string
	in      any     // request body (a zero value of its type), nil for none
	form    bool    // the body is multipart/form-data with a "file"
	out     any     // response body, nil for none
	status  int     // success status; 200 when 0
	query   []param // query parameters
	raw     string  // non-JSON response content type (files, event streams)
}

type param struct {
	name, desc string
	typ        string // "string" or "integer"
}

func (rt route) deny(s *Server, w http.ResponseWriter, r *http.Request, err error) {
	if rt.kind == uiRoute {
		s.ui.deny(w, r, err)
		return
	}
	s.writeError(w, r, err)
}

func (rt route) fail(s *Server, w http.ResponseWriter, r *http.Request, err error) {
	if rt.kind == uiRoute {
		s.ui.fail(w, r, err)
		return
	}
	s.writeError(w, r, err)
}

// routeTable is every route Switchboard serves.
func (s *Server) routeTable() []route {
	api := func(method, path string, action policy.Action, h handler, d doc) route {
		return route{method: method, path: path, action: action, kind: apiRoute, h: h, doc: d}
	}
	page := func(method, path string, action policy.Action, h handler) route {
		return route{method: method, path: path, action: action, kind: uiRoute, h: h}
	}
	pageParam := []param{
		{"cursor", "Position from the previous page's next_cursor.", "string"},
		{"limit", "Items per page (default 25, at most 100).", "integer"},
	}
	var (
		me         user.User
		conv       conversation.Conversation
		convPage   conversation.Page[conversation.Conversation]
		msgPage    conversation.Page[conversation.Message]
		msg        conversation.Message
		ctPage     conversation.Page[contact.Contact]
		ct         contact.Contact
		in         apiInbox
		att        attachment.Attachment
		publicMsgs publicPage
	)
	return []route{
		// Operations.
		{method: "GET", path: "/healthz", action: policy.Public, h: s.healthz},
		{method: "GET", path: "/readyz", action: policy.Public, h: s.readyz},
		{method: "GET", path: "/metrics", action: policy.Public, h: s.metrics},
		api("GET", "/api/v1/openapi.json", policy.Public, s.openapi, doc{summary: "This document", tag: "meta", out: map[string]any{}}),

		// Signing in.
		api("POST", "/api/v1/auth/login", policy.Public, s.apiLogin, doc{summary: "Sign in with email and password; sets the session cookie, or with two-factor authentication answers {otp_required, method} and no session yet (then POST /api/v1/auth/otp)", tag: "auth", in: loginRequest{}, out: loginResponse{}}),
		api("POST", "/api/v1/auth/password-reset", policy.Public, s.apiRequestReset, doc{summary: "Forgot password: mail a link to choose a new password, valid an hour and once, to the address if it has an active account; the answer is the same (202) whether it has or not. Limited per address and per IP (429)", tag: "auth", in: resetRequest{}, status: 202}),
		api("POST", "/api/v1/auth/password-reset/confirm", policy.Public, s.apiConfirmReset, doc{summary: "Set the new password of a reset link (its token, from the link's path): the link stops working, every session ends and every API token is revoked; until then the old password works", tag: "auth", in: auth.NewPassword{}, status: 204}),
		api("POST", "/api/v1/auth/logout", policy.Self, s.apiLogout, doc{summary: "Sign out (ends the session of the cookie)", tag: "auth", status: 204}),
		api("GET", "/api/v1/me", policy.Self, s.apiMe, doc{summary: "The signed-in user: profile, status, preferences and two-factor method", tag: "me", out: meResponse{}}),
		api("GET", "/api/v1/tokens", policy.Self, s.apiTokens, doc{summary: "Your personal API tokens", tag: "auth", out: []auth.APIToken{}}),
		api("POST", "/api/v1/tokens", policy.Self, s.apiCreateToken, doc{summary: "Create a personal API token; the token is shown only in this answer", tag: "auth", in: tokenRequest{}, out: createdToken{}, status: 201}),
		api("DELETE", "/api/v1/tokens/{id}", policy.Self, s.apiRevokeToken, doc{summary: "Revoke one of your API tokens", tag: "auth", status: 204}),

		// People: the second step of signing in, your profile and
		// preferences, invitations, teams, security settings, reports.
		api("POST", "/api/v1/auth/otp", policy.Public, s.apiLoginCode, doc{summary: "Finish a sign-in that answered otp_required with the code (email, SMS, authenticator app or a recovery code); sets the session cookie", tag: "auth", in: codeRequest{}, out: me}),
		api("POST", "/api/v1/auth/otp/resend", policy.Public, s.apiLoginResend, doc{summary: "Send a new sign-in code (at most one every 30 seconds; limited per user and per address)", tag: "auth", status: 204}),
		api("PATCH", "/api/v1/me", policy.Self, s.apiUpdateMe, doc{summary: "Change your profile and preferences: first and last name (or the name whole), location, public name, language, landline, notification triggers, composer settings", tag: "me", in: user.ProfilePatch{}, out: meResponse{}}),
		api("PUT", "/api/v1/me/status", policy.Self, s.apiSetStatus, doc{summary: "Set your availability status; only Available agents get new conversations automatically", tag: "me", in: statusRequest{}, out: availability.Change{}}),
		api("PUT", "/api/v1/me/password", policy.Self, s.apiChangePassword, doc{summary: "Change your password (the current one is needed); every other session of yours ends, and so do your API tokens (but the one making the change) unless keep_api_tokens is true; answers how many tokens were revoked and kept", tag: "me", in: auth.PasswordChange{}, out: auth.PasswordChanged{}}),
		api("PUT", "/api/v1/me/avatar", policy.Self, s.apiSetAvatar, doc{summary: "Upload your avatar (multipart field \"file\": JPEG, PNG or WebP up to 5 MB, stored as 640×640)", tag: "me", form: true, out: meResponse{}}),
		api("DELETE", "/api/v1/me/avatar", policy.Self, s.apiDeleteAvatar, doc{summary: "Delete your avatar", tag: "me", out: meResponse{}}),
		api("GET", "/api/v1/me/sessions", policy.Self, s.apiSessions, doc{summary: "Your signed-in browsers: device, address, last seen", tag: "me", out: []sessionInfo{}}),
		api("DELETE", "/api/v1/me/sessions/{id}", policy.Self, s.apiRevokeSession, doc{summary: "Sign one of your browsers out", tag: "me", status: 204}),
		api("GET", "/api/v1/invitations", policy.ManageUsers, s.apiInvitations, doc{summary: "Invitations, newest first, with their state (pending, expired, accepted, revoked)", tag: "users", out: []invite.Invitation{}}),
		api("POST", "/api/v1/invitations", policy.ManageUsers, s.apiInvite, doc{summary: "Invite an email address with a role and inbox memberships: a single-use link valid 7 days is mailed", tag: "users", in: invite.NewInvitation{}, out: invite.Invitation{}, status: 201}),
		api("DELETE", "/api/v1/invitations/{id}", policy.ManageUsers, s.apiRevokeInvitation, doc{summary: "Revoke an invitation: its link stops working", tag: "users", status: 204}),
		api("POST", "/api/v1/invitations/{id}/resend", policy.ManageUsers, s.apiResendInvitation, doc{summary: "Send an invitation again with a new link, valid 7 days (the old link stops working)", tag: "users", out: invite.Invitation{}}),
		api("GET", "/api/v1/teams", policy.ManageUsers, s.apiTeams, doc{summary: "Teams and their members", tag: "users", out: []team.Team{}}),
		api("POST", "/api/v1/teams", policy.ManageUsers, s.apiCreateTeam, doc{summary: "Create a team", tag: "users", in: team.NewTeam{}, out: team.Team{}, status: 201}),
		api("PATCH", "/api/v1/teams/{id}", policy.ManageUsers, s.apiUpdateTeam, doc{summary: "Rename a team or change its members", tag: "users", in: team.Patch{}, out: team.Team{}}),
		api("DELETE", "/api/v1/teams/{id}", policy.ManageUsers, s.apiDeleteTeam, doc{summary: "Delete a team (its members stay)", tag: "users", status: 204}),
		api("GET", "/api/v1/settings/security", policy.ManageUsers, s.apiSecurity, doc{summary: "Installation security settings", tag: "users", out: securitySettings{}}),
		api("PUT", "/api/v1/settings/security", policy.ManageUsers, s.apiSetSecurity, doc{summary: "Require two-factor authentication of everyone (users without a method get codes by email)", tag: "users", in: securitySettings{}, out: securitySettings{}}),
		api("GET", "/api/v1/inboxes/{id}/assignment", policy.ManageInboxes, s.apiAssignment, doc{summary: "An inbox's automatic assignment setting", tag: "inboxes", out: availability.Assignment{}}),
		api("PUT", "/api/v1/inboxes/{id}/assignment", policy.ManageInboxes, s.apiSetAssignment, doc{summary: "Assign new conversations automatically to the inbox's Available members in turn (or not)", tag: "inboxes", in: availability.Assignment{}, out: availability.Assignment{}}),
		api("GET", "/api/v1/reports/time-in-status", policy.ViewReports, s.apiTimeInStatus, doc{summary: "Total and average time in each status per agent or per team; from and to are dates (UTC, to included) or RFC 3339 times, the last 7 days by default", tag: "reports", out: availability.Report{},
			query: []param{{"from", "Start date, like 2026-01-01", "string"}, {"to", "End date, included", "string"}, {"group", "agent (default) or team", "string"}}}),

		// People and inboxes.
		api("GET", "/api/v1/users", policy.ManageUsers, s.apiUsers, doc{summary: "Every user", tag: "users", out: []user.User{}}),
		api("POST", "/api/v1/users", policy.ManageUsers, s.apiCreateUser, doc{summary: "Create a user with a role and inbox memberships", tag: "users", in: user.NewUser{}, out: me, status: 201}),
		api("PATCH", "/api/v1/users/{id}", policy.ManageUsers, s.apiUpdateUser, doc{summary: "Change a user's first and last name (or the name whole), role or inbox memberships", tag: "users", in: user.Patch{}, out: me}),
		api("POST", "/api/v1/users/{id}/deactivate", policy.ManageUsers, s.apiDeactivateUser, doc{summary: "Deactivate a user: they are signed out everywhere, their API tokens are revoked, they cannot sign in and get no conversations; their open conversations go back to routing (the inbox's automatic assignment, or unassigned); history keeps their name. You cannot deactivate yourself or the last active admin (409)", tag: "users", out: account.Deactivated{}}),
		api("POST", "/api/v1/users/{id}/password-reset", policy.ManageUsers, s.apiSendReset, doc{summary: "Mail a user a link to choose a new password, valid an hour and once (a newer link replaces it); their password works until they set the new one", tag: "users", status: 202}),
		api("POST", "/api/v1/users/{id}/reactivate", policy.ManageUsers, s.apiReactivateUser, doc{summary: "Reactivate a deactivated user: they sign in again with their password and come back Unavailable, with their role and inboxes", tag: "users", out: me}),
		api("GET", "/api/v1/users/{id}/email-change", policy.ManageUsers, s.apiEmailChange, doc{summary: "The change of a user's sign-in address that waits for its confirmation (404 when none)", tag: "users", out: emailchange.Change{}}),
		api("POST", "/api/v1/users/{id}/email-change", policy.ManageUsers, s.apiRequestEmailChange, doc{summary: "Change a user's sign-in address: a link, valid 7 days, is mailed to the new address, and the address changes when the link is opened and confirmed (the old address is then told); a change already waiting is replaced", tag: "users", in: emailchange.Request{}, out: emailchange.Change{}, status: 201}),
		api("DELETE", "/api/v1/users/{id}/email-change", policy.ManageUsers, s.apiCancelEmailChange, doc{summary: "Cancel the change of address that waits for its confirmation: its link stops working", tag: "users", status: 204}),
		api("GET", "/api/v1/inboxes", policy.ReadInboxes, s.apiInboxes, doc{summary: "The inboxes you work in (all of them for admins and inbox managers)", tag: "inboxes", out: []apiInbox{}}),
		api("POST", "/api/v1/inboxes", policy.ManageInboxes, s.apiCreateInbox, doc{summary: "Create an inbox; a web chat inbox's identity secret and snippet are shown only in this answer", tag: "inboxes", in: newInboxRequest{}, out: createdInbox{}, status: 201}),
		api("GET", "/api/v1/inboxes/{id}", policy.ReadInboxes, s.apiInbox, doc{summary: "One inbox", tag: "inboxes", out: in}),
		api("PATCH", "/api/v1/inboxes/{id}", policy.ManageInboxes, s.apiUpdateInbox, doc{summary: "Change an inbox's name, settings or members", tag: "inboxes", in: inboxPatch{}, out: in}),
		api("DELETE", "/api/v1/inboxes/{id}", policy.ManageInboxes, s.apiArchiveInbox, doc{summary: "Archive an inbox (nothing is deleted): it receives nothing more (WhatsApp webhooks for it are acknowledged and dropped, its widget starts no new chats, 409), its open conversations are closed, and every conversation stays read-only (no replies, no reopening: 409) and searchable. Archiving an archived inbox is 409", tag: "inboxes", status: 204}),
		api("POST", "/api/v1/inboxes/{id}/secret", policy.ManageInboxes, s.apiRotateSecret, doc{summary: "Replace a web chat inbox's identity secret; the new one is shown only in this answer", tag: "inboxes", out: secretResponse{}}),

		// WhatsApp numbers.
		api("GET", "/api/v1/inboxes/{id}/whatsapp", policy.ManageInboxes, s.apiWhatsAppState, doc{summary: "A WhatsApp number's state: webhook URL, token problems, template synchronisation, ice breakers and whether Graph accepted them", tag: "whatsapp", out: whatsappState{}}),
		api("POST", "/api/v1/inboxes/{id}/whatsapp/test", policy.ManageInboxes, s.apiWhatsAppTest, doc{summary: "Test connection: read the number from Graph with its access token (name, quality) or give Graph's exact error", tag: "whatsapp", out: whatsapp.Connection{}}),
		api("PUT", "/api/v1/inboxes/{id}/whatsapp/ice-breakers", policy.ManageInboxes, s.apiWhatsAppIceBreakers, doc{summary: "Set the number's ice breakers (at most 4, 80 characters, no emoji) and push them to Graph", tag: "whatsapp", in: iceBreakersRequest{}, out: whatsappState{}}),
		api("GET", "/api/v1/inboxes/{id}/whatsapp/templates", policy.ReadInboxes, s.apiWhatsAppTemplates, doc{summary: "The number's message templates, with the values each needs; ?approved=true for those that can be sent", tag: "whatsapp", out: []whatsapp.Template{},
			query: []param{{"approved", "true: only APPROVED templates", "string"}}}),
		api("POST", "/api/v1/inboxes/{id}/whatsapp/templates/sync", policy.ManageInboxes, s.apiWhatsAppSync, doc{summary: "Synchronise the templates from the WhatsApp Business Account now", tag: "whatsapp", out: whatsapp.SyncResult{}}),
		api("GET", "/api/v1/inboxes/{id}/whatsapp/lookup", policy.ReadConversations, s.apiWhatsAppLookup, doc{summary: "Find a phone number's contacts and their conversations on the number; inbox managers get of a contact what its conversations show (id, name, phone, email)", tag: "whatsapp", out: lookupResult{},
			query: []param{{"phone", "The number in international format, like +14155550123", "string"}}}),
		api("POST", "/api/v1/inboxes/{id}/whatsapp/conversations", policy.WorkConversations, s.apiWhatsAppStart, doc{summary: "Write first to a customer by phone number (E.164): their open conversation or a new one gets the message (a template outside the 24-hour window)", tag: "whatsapp", in: startRequest{}, out: whatsapp.StartResult{}, status: 201}),
		api("POST", "/api/v1/conversations/{id}/whatsapp/messages", policy.WorkConversations, s.apiWhatsAppSend, doc{summary: "Send a WhatsApp message: text, media, reply buttons, a list, a link button, a template or a reaction, checked against Meta's limits and the 24-hour window; an idempotency_key already used returns the first message (200)", tag: "whatsapp", in: whatsapp.Compose{}, out: msg, status: 201}),

		// Conversations.
		api("GET", "/api/v1/conversations", policy.ReadConversations, s.apiConversations, doc{summary: "Conversations you may see, newest activity first", tag: "conversations", out: convPage,
			query: append([]param{
				{"status", "open or closed (any when absent)", "string"},
				{"inbox_id", "Only this inbox", "integer"},
				{"assignee", "me, none, or a user id", "string"},
				{"tag", "Only conversations with this tag", "string"},
				{"contact_id", "Only this contact's conversations", "integer"},
			}, pageParam...)}),
		api("GET", "/api/v1/conversations/{id}", policy.ReadConversations, s.apiConversation, doc{summary: "One conversation", tag: "conversations", out: conv}),
		api("GET", "/api/v1/conversations/{id}/messages", policy.ReadConversations, s.apiMessages, doc{summary: "A conversation's messages, newest first", tag: "conversations", out: msgPage, query: pageParam}),
		api("GET", "/api/v1/conversations/{id}/activities", policy.ReadConversations, s.apiActivities, doc{summary: "What happened to a conversation besides its messages (assigned, transferred, unassigned, closed, reopened, tagged, untagged), by whom and when, in order; each is shown after the message after_message_id", tag: "conversations", out: activityList{},
			query: []param{{"after", "Only activities after this activity id", "integer"}, {"limit", "At most this many (default and most 500)", "integer"}}}),
		api("POST", "/api/v1/conversations/{id}/messages", policy.WorkConversations, s.apiSend, doc{summary: "Reply; with an idempotency_key already used the first message is returned (200) instead of sending again", tag: "conversations", in: conversation.Outgoing{}, out: msg, status: 201}),
		api("POST", "/api/v1/conversations/{id}/close", policy.WorkConversations, s.apiClose, doc{summary: "Close the conversation", tag: "conversations", out: conv}),
		api("POST", "/api/v1/conversations/{id}/reopen", policy.WorkConversations, s.apiReopen, doc{summary: "Reopen the conversation", tag: "conversations", out: conv}),
		api("POST", "/api/v1/conversations/{id}/assign", policy.AssignConversations, s.apiAssign, doc{summary: "Assign to an agent, or unassign with null", tag: "conversations", in: assignRequest{}, out: conv}),
		api("GET", "/api/v1/conversations/{id}/assignees", policy.AssignConversations, s.apiAssignees, doc{summary: "Who the conversation may be assigned to", tag: "conversations", out: []conversation.Agent{}}),
		api("POST", "/api/v1/conversations/{id}/typing", policy.WorkConversations, s.apiTyping, doc{summary: "Say you are writing a reply: the customer sees it in the web chat widget (and on WhatsApp, at most every 25 s), other agents in the conversation; not stored, at most one signal every 3 s per conversation", tag: "conversations", status: 204}),
		api("POST", "/api/v1/conversations/{id}/read", policy.ReadConversations, s.apiMarkRead, doc{summary: "Mark the conversation read up to its last message", tag: "conversations", status: 204}),
		api("POST", "/api/v1/conversations/{id}/tags", policy.WorkConversations, s.apiAddTag, doc{summary: "Add a tag", tag: "conversations", in: tagRequest{}, out: conv}),
		api("DELETE", "/api/v1/conversations/{id}/tags/{tag}", policy.WorkConversations, s.apiRemoveTag, doc{summary: "Remove a tag", tag: "conversations", out: conv}),
		api("POST", "/api/v1/attachments", policy.WorkConversations, s.apiUpload, doc{summary: "Upload a file (multipart field \"file\") to attach to a reply", tag: "conversations", form: true, out: att, status: 201}),
		api("GET", "/api/v1/attachments/{id}", policy.ReadConversations, s.apiDownload, doc{summary: "Download an attachment", tag: "conversations", raw: "application/octet-stream"}),
		api("GET", "/api/v1/ws", policy.Self, s.apiWebSocket, doc{summary: "WebSocket of events {seq, type, data}; ?since=SEQ replays what was missed", tag: "realtime",
			query: []param{{"since", "Resume after this event sequence", "integer"}}}),

		// Contacts.
		api("GET", "/api/v1/contacts", policy.ReadContacts, s.apiContacts, doc{summary: "Contacts you may see, newest first", tag: "contacts", out: ctPage,
			query: append([]param{{"q", "Part of the name, phone or email", "string"}}, pageParam...)}),
		api("GET", "/api/v1/contacts/{id}", policy.ReadContacts, s.apiContact, doc{summary: "One contact", tag: "contacts", out: ct}),
		api("PATCH", "/api/v1/contacts/{id}", policy.WriteContacts, s.apiUpdateContact, doc{summary: "Change a contact. The owner (an admin, service or sales agent) may be changed by admins and service agents, and by a sales agent for their own customers; the new owner takes over the open conversations the previous owner was working in the inboxes the new owner may be assigned", tag: "contacts", in: contact.Patch{}, out: ct}),

		// The web chat widget.
		{method: "GET", path: "/widget.js", action: policy.Public, h: s.widgetJS},
		{method: "GET", path: "/widget/demo/{token}", action: policy.Public, kind: uiRoute, h: s.widgetDemo},
		{method: "OPTIONS", path: "/public/v1/", action: policy.Public, h: s.publicPreflight},
		api("GET", "/public/v1/inboxes/{token}", policy.Public, s.publicInbox, doc{summary: "A web chat inbox's widget settings (the pre-chat form among them), with the widget's words in the language asked for", tag: "webchat", out: publicInbox{},
			query: []param{{"lang", "The site's language, like es or es-MX (English when there is no match)", "string"}}}),
		api("POST", "/public/v1/inboxes/{token}/sessions", policy.Public, s.publicStart, doc{summary: "Start a visitor session (its contact is made with the first message; a session that never writes is removed after a day)", tag: "webchat", in: webchat.Start{}, out: publicSession{}, status: 201}),
		api("GET", "/public/v1/messages", policy.Public, s.publicMessages, doc{summary: "The visitor's conversation, newest first", tag: "webchat", out: publicMsgs, query: pageParam}),
		api("POST", "/public/v1/messages", policy.Public, s.publicSend, doc{summary: "Send a message as the visitor; the same id twice stores it once", tag: "webchat", in: webchat.Send{}, out: publicMessage{}, status: 201}),
		api("POST", "/public/v1/attachments", policy.Public, s.publicUpload, doc{summary: "Upload a file as the visitor (files not yet sent are capped per visitor and per address: 429 for their number, 413 for their bytes)", tag: "webchat", form: true, out: publicAttachment{}, status: 201}),
		api("GET", "/public/v1/attachments/{id}", policy.Public, s.publicDownload, doc{summary: "Download an attachment: by the link a message carries (expires and sig, no token: that one file, for about an hour), or of the visitor's conversation with the token in the Authorization header", tag: "webchat", raw: "application/octet-stream",
			query: []param{{"expires", "The link's expiry (Unix seconds)", "integer"}, {"sig", "The link's signature", "string"}}}),
		api("GET", "/public/v1/attachments/{id}/link", policy.Public, s.publicFileLink, doc{summary: "A fresh link to a file of the visitor's (when the one a message carried expired)", tag: "webchat", out: publicAttachment{}}),
		api("GET", "/public/v1/avatars/{version}", policy.Public, s.publicAvatar, doc{summary: "The picture of an agent who shows customers their name, by the signed link their replies carry (agent_avatar)", tag: "webchat", raw: "image/jpeg",
			query: []param{{"sig", "The link's signature", "string"}}}),
		api("POST", "/public/v1/seen", policy.Public, s.publicSeen, doc{summary: "Acknowledge replies as delivered or read", tag: "webchat", in: seenRequest{}, status: 204}),
		api("POST", "/public/v1/typing", policy.Public, s.publicTypingSignal, doc{summary: "Say the visitor is writing: the agents see it in the conversation (not stored; at most one signal every 3 s)", tag: "webchat", status: 204}),
		api("POST", "/public/v1/stream/tickets", policy.Public, s.publicStreamTicket, doc{summary: "A ticket that opens the visitor's event stream for a minute (EventSource cannot send the token in a header)", tag: "webchat", out: publicTicket{}, status: 201}),
		api("GET", "/public/v1/stream", policy.Public, s.publicStream, doc{summary: "Server-sent events of the visitor's conversation, opened with ?ticket= (or the token in the Authorization header); Last-Event-ID, or ?since=, resumes", tag: "webchat", raw: "text/event-stream",
			query: []param{{"ticket", "A ticket from POST /public/v1/stream/tickets", "string"}, {"since", "Resume after this event sequence", "integer"}}}),

		// WhatsApp: Meta's webhooks for every number.
		{method: "GET", path: "/webhooks/whatsapp", action: policy.Public, h: s.whatsappVerify},
		{method: "POST", path: "/webhooks/whatsapp", action: policy.Public, h: s.whatsappWebhook},

		// The agent workspace.
		page("GET", "/{$}", policy.Public, s.ui.home),
		page("GET", "/setup", policy.Public, s.ui.setupPage),
		page("POST", "/setup", policy.Public, s.ui.setup),
		page("GET", "/login", policy.Public, s.ui.loginPage),
		page("POST", "/login", policy.Public, s.ui.login),
		page("POST", "/logout", policy.Self, s.ui.logout),
		page("GET", "/static/{file...}", policy.Public, s.ui.static),

		page("GET", "/inbox", policy.ReadConversations, s.ui.inbox),
		page("GET", "/inbox/list", policy.ReadConversations, s.ui.rows),
		page("GET", "/inbox/rows/{id}", policy.ReadConversations, s.ui.row),
		page("GET", "/inbox/conversations/{id}", policy.ReadConversations, s.ui.conversation),
		page("GET", "/inbox/conversations/{id}/head", policy.ReadConversations, s.ui.head),
		page("GET", "/inbox/conversations/{id}/messages", policy.ReadConversations, s.ui.messages),
		page("GET", "/inbox/conversations/{id}/messages/{message}", policy.ReadConversations, s.ui.message),
		page("GET", "/inbox/conversations/{id}/activities", policy.ReadConversations, s.ui.activities),
		page("GET", "/inbox/conversations/{id}/earlier", policy.ReadConversations, s.ui.earlier),
		page("POST", "/inbox/conversations/{id}/messages", policy.WorkConversations, s.ui.send),
		page("POST", "/inbox/conversations/{id}/close", policy.WorkConversations, s.ui.closeConv),
		page("POST", "/inbox/conversations/{id}/reopen", policy.WorkConversations, s.ui.reopenConv),
		page("POST", "/inbox/conversations/{id}/assign", policy.AssignConversations, s.ui.assign),
		page("POST", "/inbox/conversations/{id}/tags", policy.WorkConversations, s.ui.addTag),
		page("POST", "/inbox/conversations/{id}/tags/remove", policy.WorkConversations, s.ui.removeTag),
		page("GET", "/inbox/conversations/{id}/contact", policy.ReadConversations, s.ui.contactPanel),
		page("POST", "/inbox/conversations/{id}/whatsapp", policy.WorkConversations, s.ui.waSend),
		page("GET", "/inbox/conversations/{id}/whatsapp/template", policy.WorkConversations, s.ui.waTemplateFieldsFor),
		page("GET", "/inbox/new", policy.WorkConversations, s.ui.newConversation),
		page("POST", "/inbox/new", policy.WorkConversations, s.ui.lookupConversation),
		page("POST", "/inbox/new/start", policy.WorkConversations, s.ui.startConversation),
		page("GET", "/inbox/new/template", policy.WorkConversations, s.ui.waTemplateFieldsFor),
		page("POST", "/inbox/conversations/{id}/contact", policy.WriteContacts, s.ui.updateContact),

		page("GET", "/admin/inboxes", policy.ManageInboxes, s.ui.adminInboxes),
		page("GET", "/admin/inboxes/new", policy.ManageInboxes, s.ui.newInbox),
		page("POST", "/admin/inboxes", policy.ManageInboxes, s.ui.createInbox),
		page("GET", "/admin/inboxes/{id}", policy.ManageInboxes, s.ui.editInbox),
		page("POST", "/admin/inboxes/{id}", policy.ManageInboxes, s.ui.updateInbox),
		page("POST", "/admin/inboxes/{id}/secret", policy.ManageInboxes, s.ui.rotateInboxSecret),
		page("GET", "/admin/inboxes/{id}/created", policy.ManageInboxes, s.ui.createdInbox),
		page("POST", "/admin/inboxes/{id}/archive", policy.ManageInboxes, s.ui.archiveInbox),
		page("GET", "/admin/inboxes/new/whatsapp", policy.ManageInboxes, s.ui.newWhatsApp),
		page("POST", "/admin/inboxes/whatsapp", policy.ManageInboxes, s.ui.createWhatsApp),
		page("POST", "/admin/inboxes/{id}/whatsapp/test", policy.ManageInboxes, s.ui.waTest),
		page("POST", "/admin/inboxes/{id}/whatsapp/templates/sync", policy.ManageInboxes, s.ui.waSync),
		page("POST", "/admin/inboxes/{id}/whatsapp/ice-breakers", policy.ManageInboxes, s.ui.waIceBreakers),
		page("GET", "/admin/users", policy.ManageUsers, s.ui.adminUsers),
		page("GET", "/admin/users/new", policy.ManageUsers, s.ui.newUser),
		page("POST", "/admin/users", policy.ManageUsers, s.ui.createUser),
		page("GET", "/admin/users/{id}", policy.ManageUsers, s.ui.editUser),
		page("POST", "/admin/users/{id}", policy.ManageUsers, s.ui.updateUser),
		page("POST", "/admin/users/{id}/email", policy.ManageUsers, s.ui.requestEmailChange),
		page("POST", "/admin/users/{id}/deactivate", policy.ManageUsers, s.ui.deactivateUser),
		page("POST", "/admin/users/{id}/reactivate", policy.ManageUsers, s.ui.reactivateUser),
		page("POST", "/admin/users/{id}/password-reset", policy.ManageUsers, s.ui.sendReset),
		page("POST", "/admin/users/{id}/email/cancel", policy.ManageUsers, s.ui.cancelEmailChange),

		page("GET", "/settings/tokens", policy.Self, s.ui.tokens),
		page("POST", "/settings/tokens", policy.Self, s.ui.createToken),
		page("POST", "/settings/tokens/{id}/revoke", policy.Self, s.ui.revokeToken),

		// People: second step of signing in, invitations, your
		// preferences and status, avatars, admin pages and reports.
		page("GET", "/login/code", policy.Public, s.ui.loginCodePage),
		page("POST", "/login/code", policy.Public, s.ui.loginCode),
		page("POST", "/login/code/resend", policy.Public, s.ui.loginCodeResend),
		page("GET", "/login/forgot", policy.Public, s.ui.forgotPage),
		page("POST", "/login/forgot", policy.Public, s.ui.forgot),
		page("GET", "/password-reset/{token}", policy.Public, s.ui.resetPage),
		page("POST", "/password-reset/{token}", policy.Public, s.ui.confirmReset),
		page("GET", "/invitations/{token}", policy.Public, s.ui.invitationPage),
		page("POST", "/invitations/{token}", policy.Public, s.ui.acceptInvitation),
		page("GET", "/email-change/{token}", policy.Public, s.ui.emailChangePage),
		page("POST", "/email-change/{token}", policy.Public, s.ui.confirmEmailChange),
		page("GET", "/avatars/{id}", policy.Self, s.ui.avatar),
		page("POST", "/preferences/status", policy.Self, s.ui.setStatus),
		page("GET", "/preferences", policy.Self, s.ui.profile),
		page("POST", "/preferences", policy.Self, s.ui.saveProfile),
		page("POST", "/preferences/avatar", policy.Self, s.ui.uploadAvatar),
		page("POST", "/preferences/avatar/delete", policy.Self, s.ui.deleteAvatar),
		page("GET", "/preferences/phone", policy.Self, s.ui.phonePage),
		page("POST", "/preferences/phone", policy.Self, s.ui.startPhone),
		page("POST", "/preferences/phone/verify", policy.Self, s.ui.verifyPhone),
		page("POST", "/preferences/phone/resend", policy.Self, s.ui.resendPhone),
		page("POST", "/preferences/phone/cancel", policy.Self, s.ui.cancelPhone),
		page("GET", "/preferences/security", policy.Self, s.ui.security),
		page("POST", "/preferences/password", policy.Self, s.ui.changePassword),
		page("POST", "/preferences/sessions/{id}/revoke", policy.Self, s.ui.revokeSession),
		page("POST", "/preferences/two-factor", policy.Self, s.ui.startTwoFactor),
		page("POST", "/preferences/two-factor/verify", policy.Self, s.ui.verifyTwoFactor),
		page("POST", "/preferences/two-factor/resend", policy.Self, s.ui.resendTwoFactor),
		page("POST", "/preferences/two-factor/cancel", policy.Self, s.ui.cancelTwoFactor),
		page("GET", "/preferences/notifications", policy.Self, s.ui.notifications),
		page("POST", "/preferences/notifications", policy.Self, s.ui.saveNotifications),
		page("GET", "/preferences/settings", policy.Self, s.ui.settings),
		page("POST", "/preferences/settings", policy.Self, s.ui.saveSettings),
		page("GET", "/admin/invitations", policy.ManageUsers, s.ui.adminInvitations),
		page("POST", "/admin/invitations", policy.ManageUsers, s.ui.invite),
		page("POST", "/admin/invitations/{id}/resend", policy.ManageUsers, s.ui.resendInvitation),
		page("POST", "/admin/invitations/{id}/revoke", policy.ManageUsers, s.ui.revokeInvitation),
		page("POST", "/admin/security", policy.ManageUsers, s.ui.saveSecurity),
		page("GET", "/admin/teams", policy.ManageUsers, s.ui.adminTeams),
		page("POST", "/admin/teams", policy.ManageUsers, s.ui.createTeam),
		page("GET", "/admin/teams/{id}", policy.ManageUsers, s.ui.editTeam),
		page("POST", "/admin/teams/{id}", policy.ManageUsers, s.ui.updateTeam),
		page("POST", "/admin/teams/{id}/delete", policy.ManageUsers, s.ui.deleteTeam),
		page("GET", "/admin/inboxes/{id}/assignment", policy.ManageInboxes, s.ui.assignmentPage),
		page("POST", "/admin/inboxes/{id}/assignment", policy.ManageInboxes, s.ui.saveAssignment),
		page("GET", "/admin/reports/time-in-status", policy.ViewReports, s.ui.timeInStatus),
		page("GET", "/admin/reports/time-in-status.csv", policy.ViewReports, s.ui.timeInStatusCSV),
	}
}
