package web

import (
	"net/http"
	"slices"

	"github.com/switchboardhq/switchboard/internal/account"
	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/automation"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/bot"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/reply/welcome"
	"github.com/switchboardhq/switchboard/internal/report"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
	"github.com/switchboardhq/switchboard/internal/web/ui"
	"github.com/switchboardhq/switchboard/internal/web/ui/admin"
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
	rawIn   string  // non-JSON request body's content type (a CSV file)
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
		s.pages.Deny(w, r, err)
		return
	}
	s.writeError(w, r, err)
}

func (rt route) fail(s *Server, w http.ResponseWriter, r *http.Request, err error) {
	if rt.kind == uiRoute {
		s.pages.Fail(w, r, err)
		return
	}
	s.writeError(w, r, err)
}

// routeTable is every route Switchboard serves. It builds each feature's
// handlers from d with what they use, and the parts several features
// share: the sessions, the languages, the names cache, the renderer of
// the pages.
func (s *Server) routeTable(d Deps) []route {
	var (
		sess  = s.sessions
		langs = s.langs
		pages = s.pages
		names = httpx.NewNameCache(d.Users, d.Inboxes)
		shown = ui.Shown{Store: d.Flashes}
	)
	ops := &opsAPI{version: d.Version, db: d.DB, life: s.life, metrics: d.Metrics, metricsElsewhere: d.MetricsElsewhere,
		metricsToken: d.MetricsToken, notFound: s.notFound(), openapi: s.openapiJSON}
	s.serveMetrics = ops.serveMetrics
	authAPI := &authAPI{auth: d.Auth, factors: d.Factors, resets: d.Resets, sessions: sess, users: d.Users}
	meAPI := &meAPI{auth: d.Auth, avail: d.Availability, avatars: d.Avatars, emailChanges: d.EmailChanges, factors: d.Factors,
		inboxes: d.Inboxes, langs: langs, names: names, sessions: sess, teams: d.Teams, users: d.Users}
	peopleAPI := &peopleAPI{accounts: d.Accounts, emailChanges: d.EmailChanges, factors: d.Factors, invites: d.Invites,
		resets: d.Resets, teams: d.Teams, users: d.Users}
	inboxesAPI := &inboxesAPI{baseURL: d.BaseURL, convs: d.Conversations, inboxes: d.Inboxes,
		webchat: d.Webchat, whatsapp: d.WhatsApp}
	reportSvc := report.New(d.DB)
	reportsAPI := &reportsAPI{avail: d.Availability, reports: reportSvc}
	welcomeAPI := &welcomeAPI{welcome: d.Welcome}
	whatsappAPI := &whatsappAPI{baseURL: d.BaseURL, convs: d.Conversations, inboxes: d.Inboxes, whatsapp: d.WhatsApp}
	webhooks := &webhooks{whatsapp: d.WhatsApp}
	botsAPI := &botsAPI{bots: d.Bots}
	convAPI := &conversationsAPI{convs: d.Conversations, routing: d.Routing, whatsapp: d.WhatsApp, bots: botsAPI}
	routingAPI := &routingAPI{inboxes: d.Inboxes, routing: d.Routing}
	automationAPI := &automationAPI{automation: d.Automation}
	contactsAPI := &contactsAPI{convs: d.Conversations}
	filesAPI := &attachmentsAPI{convs: d.Conversations, db: d.DB, files: d.Files}
	cannedAPI := &cannedAPI{canned: d.Canned}
	realtimeAPI := &realtimeAPI{baseURL: d.BaseURL, hub: d.Hub, life: s.life, metrics: d.Metrics, presence: d.Presence, users: d.Users}
	widgetJS, widgetHash, widgetKeys := pages.Widget()
	publicAPI := &publicAPI{avatars: d.Avatars, catalog: d.Catalog, clientIP: sess.ClientIP, convs: d.Conversations, db: d.DB,
		files: d.Files, hub: d.Hub, life: s.life, limits: newLimiters(d.PublicRate, d.PublicBurst),
		links: &links{signer: d.Links, base: d.BaseURL, now: d.Now}, metrics: d.Metrics, names: names, now: d.Now,
		webchat: d.Webchat, widgetScript: widgetJS, widgetHash: widgetHash, widgetKeys: widgetKeys}

	signin := &ui.SigninPages{Auth: d.Auth, Catalog: d.Catalog, EmailChanges: d.EmailChanges, Factors: d.Factors, Invites: d.Invites,
		Langs: langs, Names: names, Resets: d.Resets, Sessions: sess, Pages: pages, Users: d.Users}
	inboxPages := &ui.InboxPages{Bots: d.Bots, Convs: d.Conversations, DB: d.DB, Hub: d.Hub, Inboxes: d.Inboxes, Logger: d.Logger, Names: names,
		Pages: pages, Reports: reportSvc, Routing: d.Routing, WhatsApp: d.WhatsApp}
	inboxAdmin := &admin.Inboxes{BaseURL: d.BaseURL, Catalog: d.Catalog, Convs: d.Conversations,
		Inboxes: d.Inboxes, Langs: langs, Names: names, Shown: shown, Pages: pages, Routing: d.Routing, Users: d.Users, Webchat: d.Webchat, WhatsApp: d.WhatsApp}
	automationPages := &admin.AutomationPages{Automation: d.Automation, DB: d.DB, Inboxes: d.Inboxes, Pages: pages}
	botsAdmin := &admin.Bots{Bots: d.Bots, DB: d.DB, Inboxes: d.Inboxes, Teams: d.Teams, Shown: shown, Pages: pages}
	peopleAdmin := &admin.People{Accounts: d.Accounts, Catalog: d.Catalog, EmailChanges: d.EmailChanges, Factors: d.Factors,
		Inboxes: d.Inboxes, Invites: d.Invites, Langs: langs, MailToLog: d.MailToLog, Names: names, Resets: d.Resets, Shown: shown,
		Teams: d.Teams, Pages: pages, Users: d.Users}
	prefs := &ui.PrefsPages{Auth: d.Auth, Availability: d.Availability, Avatars: d.Avatars, Catalog: d.Catalog, EmailChanges: d.EmailChanges,
		Factors: d.Factors, Inboxes: d.Inboxes, Langs: langs, Names: names, Sessions: sess, Shown: shown, Teams: d.Teams, Pages: pages, Users: d.Users}
	welcomePages := &ui.WelcomePages{Prefs: prefs, Welcome: d.Welcome, DB: d.DB}
	reports := &ui.ReportPages{Availability: d.Availability, Catalog: d.Catalog, Langs: langs, Pages: pages, Reports: reportSvc}
	cannedPages := &ui.CannedPages{Canned: d.Canned, Convs: d.Conversations, DB: d.DB, Files: d.Files, Inboxes: d.Inboxes, Users: d.Users,
		WhatsApp: d.WhatsApp, Pages: pages}
	contactPages := &ui.ContactPages{Convs: d.Conversations, Users: d.Users, Pages: pages}
	demo := &ui.DemoPages{BaseURL: d.BaseURL, Catalog: d.Catalog, Pages: pages, Users: d.Users, Webchat: d.Webchat}

	api := func(method, path string, action policy.Action, h handler, od doc) route {
		return route{method: method, path: path, action: action, kind: apiRoute, h: h, doc: od}
	}
	page := func(method, path string, action policy.Action, h handler) route {
		return route{method: method, path: path, action: action, kind: uiRoute, h: h}
	}
	pageParam := []param{
		{"cursor", "Position from the previous page's next_cursor.", "string"},
		{"limit", "Items per page (default 25, at most 100).", "integer"},
	}
	contactFilters := []param{
		{"q", "Part of the name, phone or email", "string"},
		{"tag", "Only contacts with this tag", "string"},
		{"owner", "Only contacts of this owner: a user id, pending (an address with no account yet) or none", "string"},
	}
	reportFilters := []param{
		{"from", "Start date, like 2026-01-01 (UTC; the last 7 days by default)", "string"}, {"to", "End date, included", "string"},
		{"inbox", "Only this inbox (id)", "integer"}, {"agent", "Only this agent (id)", "integer"}, {"team", "Only the agents of this team (id)", "integer"},
		{"group", "agent (default), team, inbox or day", "string"},
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
		{method: "GET", path: "/healthz", action: policy.Public, h: ops.healthz},
		{method: "GET", path: "/readyz", action: policy.Public, h: ops.readyz},
		{method: "GET", path: "/metrics", action: policy.Public, h: ops.metricsEndpoint},
		api("GET", "/api/v1/openapi.json", policy.Public, ops.openapiDoc, doc{summary: "This document", tag: "meta", out: map[string]any{}}),

		// Signing in.
		api("POST", "/api/v1/auth/login", policy.Public, authAPI.apiLogin, doc{summary: "Sign in with email and password; sets the session cookie, or with two-factor authentication answers {otp_required, method} and no session yet (then POST /api/v1/auth/otp)", tag: "auth", in: loginRequest{}, out: loginResponse{}}),
		api("POST", "/api/v1/auth/password-reset", policy.Public, authAPI.apiRequestReset, doc{summary: "Forgot password: mail a link to choose a new password, valid an hour and once, to the address if it has an active account; the answer is the same (202) whether it has or not. Limited per address and per IP (429)", tag: "auth", in: resetRequest{}, status: 202}),
		api("POST", "/api/v1/auth/password-reset/confirm", policy.Public, authAPI.apiConfirmReset, doc{summary: "Set the new password of a reset link (its token, from the link's path): the link stops working, every session ends and every API token is revoked; until then the old password works", tag: "auth", in: auth.NewPassword{}, status: 204}),
		api("POST", "/api/v1/auth/logout", policy.Self, authAPI.apiLogout, doc{summary: "Sign out (ends the session of the cookie)", tag: "auth", status: 204}),
		api("GET", "/api/v1/me", policy.Self, meAPI.apiMe, doc{summary: "The signed-in user: profile, status, preferences and two-factor method", tag: "me", out: meResponse{}}),
		api("GET", "/api/v1/tokens", policy.Self, authAPI.apiTokens, doc{summary: "Your personal API tokens", tag: "auth", out: []auth.APIToken{}}),
		api("POST", "/api/v1/tokens", policy.Self, authAPI.apiCreateToken, doc{summary: "Create a personal API token; the token is shown only in this answer", tag: "auth", in: tokenRequest{}, out: httpx.CreatedToken{}, status: 201}),
		api("DELETE", "/api/v1/tokens/{id}", policy.Self, authAPI.apiRevokeToken, doc{summary: "Revoke one of your API tokens", tag: "auth", status: 204}),

		// People: the second step of signing in, your profile and
		// preferences, invitations, teams, security settings, reports.
		api("POST", "/api/v1/auth/otp", policy.Public, authAPI.apiLoginCode, doc{summary: "Finish a sign-in that answered otp_required with the code (email, SMS, authenticator app or a recovery code); sets the session cookie", tag: "auth", in: codeRequest{}, out: me}),
		api("POST", "/api/v1/auth/otp/resend", policy.Public, authAPI.apiLoginResend, doc{summary: "Send a new sign-in code (at most one every 30 seconds; limited per user and per address)", tag: "auth", status: 204}),
		api("PATCH", "/api/v1/me", policy.Self, meAPI.apiUpdateMe, doc{summary: "Change your profile and preferences: first and last name (or the name whole), location, public name, language, landline, notification triggers, composer settings", tag: "me", in: user.ProfilePatch{}, out: meResponse{}}),
		api("PUT", "/api/v1/me/status", policy.Self, meAPI.apiSetStatus, doc{summary: "Set your availability status; only Available agents get new conversations automatically", tag: "me", in: statusRequest{}, out: availability.Change{}}),
		api("PUT", "/api/v1/me/password", policy.Self, meAPI.apiChangePassword, doc{summary: "Change your password (the current one is needed); every other session of yours ends, and so do your API tokens (but the one making the change) unless keep_api_tokens is true; answers how many tokens were revoked and kept", tag: "me", in: auth.PasswordChange{}, out: auth.PasswordChanged{}}),
		api("PUT", "/api/v1/me/avatar", policy.Self, meAPI.apiSetAvatar, doc{summary: "Upload your avatar (multipart field \"file\": JPEG, PNG or WebP up to 5 MB, stored as 640×640)", tag: "me", form: true, out: meResponse{}}),
		api("DELETE", "/api/v1/me/avatar", policy.Self, meAPI.apiDeleteAvatar, doc{summary: "Delete your avatar", tag: "me", out: meResponse{}}),
		api("GET", "/api/v1/me/sessions", policy.Self, meAPI.apiSessions, doc{summary: "Your signed-in browsers: device, address, last seen", tag: "me", out: []httpx.SessionInfo{}}),
		api("DELETE", "/api/v1/me/sessions/{id}", policy.Self, meAPI.apiRevokeSession, doc{summary: "Sign one of your browsers out", tag: "me", status: 204}),
		api("GET", "/api/v1/me/welcome-messages", policy.WelcomeMessages, welcomeAPI.apiList, doc{summary: "Your personal welcome messages, and the WhatsApp numbers you work (with the welcome message of yours each has)", tag: "me", out: welcomeList{}}),
		api("POST", "/api/v1/me/welcome-messages", policy.WelcomeMessages, welcomeAPI.apiCreate, doc{summary: "Add a welcome message (text, a file with its caption, buttons, a list or a link button) for WhatsApp numbers you work; a number takes one of your welcome messages. Sent once in each conversation a customer started there when it is assigned to you, while it is on (enabled)", tag: "me", in: welcome.New{}, out: welcome.Welcome{}, status: 201}),
		api("PATCH", "/api/v1/me/welcome-messages/{id}", policy.WelcomeMessages, welcomeAPI.apiUpdate, doc{summary: "Turn a welcome message on or off (enabled), or, while it is off, change its numbers or its message (409 while it is on)", tag: "me", in: welcome.Patch{}, out: welcome.Welcome{}}),
		api("DELETE", "/api/v1/me/welcome-messages/{id}", policy.WelcomeMessages, welcomeAPI.apiDelete, doc{summary: "Delete a welcome message that is off (409 while it is on)", tag: "me", status: 204}),
		api("GET", "/api/v1/invitations", policy.ManageUsers, peopleAPI.apiInvitations, doc{summary: "Invitations, newest first, with their state (pending, expired, accepted, revoked)", tag: "users", out: []invite.Invitation{}}),
		api("POST", "/api/v1/invitations", policy.ManageUsers, peopleAPI.apiInvite, doc{summary: "Invite an email address with a role and inbox memberships: a single-use link valid 7 days is mailed", tag: "users", in: invite.NewInvitation{}, out: invite.Invitation{}, status: 201}),
		api("DELETE", "/api/v1/invitations/{id}", policy.ManageUsers, peopleAPI.apiRevokeInvitation, doc{summary: "Revoke an invitation: its link stops working", tag: "users", status: 204}),
		api("POST", "/api/v1/invitations/{id}/resend", policy.ManageUsers, peopleAPI.apiResendInvitation, doc{summary: "Send an invitation again with a new link, valid 7 days (the old link stops working)", tag: "users", out: invite.Invitation{}}),
		api("GET", "/api/v1/teams", policy.ManageUsers, peopleAPI.apiTeams, doc{summary: "Teams and their members", tag: "users", out: []team.Team{}}),
		api("POST", "/api/v1/teams", policy.ManageUsers, peopleAPI.apiCreateTeam, doc{summary: "Create a team", tag: "users", in: team.NewTeam{}, out: team.Team{}, status: 201}),
		api("PATCH", "/api/v1/teams/{id}", policy.ManageUsers, peopleAPI.apiUpdateTeam, doc{summary: "Rename a team or change its members", tag: "users", in: team.Patch{}, out: team.Team{}}),
		api("DELETE", "/api/v1/teams/{id}", policy.ManageUsers, peopleAPI.apiDeleteTeam, doc{summary: "Delete a team (its members stay)", tag: "users", status: 204}),
		api("GET", "/api/v1/settings/security", policy.ManageUsers, peopleAPI.apiSecurity, doc{summary: "Installation security settings", tag: "users", out: securitySettings{}}),
		api("PUT", "/api/v1/settings/security", policy.ManageUsers, peopleAPI.apiSetSecurity, doc{summary: "Require two-factor authentication of everyone (users without a method get codes by email)", tag: "users", in: securitySettings{}, out: securitySettings{}}),
		api("GET", "/api/v1/inboxes/{id}/assignment", policy.ManageInboxes, routingAPI.apiAssignment, doc{summary: "An inbox's assignment: the basic rule, the advanced rules (the contact's owner, the previous agent; each with only_available and wait_minutes in the queue), the default reception limit, returning unanswered conversations of agents who leave Available, and each member's limit", tag: "routing", out: assignmentResponse{}}),
		api("PUT", "/api/v1/inboxes/{id}/assignment", policy.ManageInboxes, routingAPI.apiSetAssignment, doc{summary: "Change an inbox's assignment rules and default limit (fields left out stay; auto_assign true picks available_in_turn when the rule was none, false sets none); what waits may be given out at once", tag: "routing", in: routing.Patch{}, out: assignmentResponse{}}),
		api("GET", "/api/v1/inboxes/{id}/automation", policy.ManageInboxes, automationAPI.apiAutomation, doc{summary: "A number's automation: welcome message (also on a first message, at most one a day per customer), unassigned auto-reply, queue message, no-reply reminder (after_minutes), auto-close of agent-served conversations (after_minutes, 1 to 4320), satisfaction survey (text, button, thanks); each message in the shared message model (kind text, media or interactive)", tag: "automation", out: automation.Settings{}}),
		api("PUT", "/api/v1/inboxes/{id}/automation", policy.ManageInboxes, automationAPI.apiSetAutomation, doc{summary: "Change a number's automation (fields left out stay); every message is checked against the channel's limits when saved, with a problem per field", tag: "automation", in: automation.Settings{}, out: automation.Settings{}}),
		api("PUT", "/api/v1/inboxes/{id}/members/{user_id}/limit", policy.ManageInboxes, routingAPI.apiSetLimit, doc{summary: "A member's own reception limit in the inbox (null: the inbox's default, 0: none); a limit raised gives out what waits at once", tag: "routing", in: limitRequest{}, out: routing.Limit{}}),
		api("GET", "/api/v1/inboxes/{id}/queue", policy.ClaimConversations, routingAPI.apiQueue, doc{summary: "The inbox's queue, longest waiting first, with positions and estimated waits", tag: "routing", out: []routing.Waiting{},
			query: []param{{"limit", "At most this many (default and most 500)", "integer"}}}),
		api("GET", "/api/v1/reports/time-in-status", policy.ViewReports, reportsAPI.apiTimeInStatus, doc{summary: "Total and average time in each status per agent or per team; from and to are dates (UTC, to included) or RFC 3339 times, the last 7 days by default", tag: "reports", out: availability.Report{},
			query: []param{{"from", "Start date, like 2026-01-01", "string"}, {"to", "End date, included", "string"}, {"group", "agent (default) or team", "string"}}}),
		api("GET", "/api/v1/reports/csat", policy.ViewReports, reportsAPI.apiCSAT, doc{summary: "Customer satisfaction: the surveys sent in the range, per agent, team (each of the agent's teams), inbox or day: surveys sent and rated, response rate, average and the count of each rating (1 to 5); the total; the comments, newest first (at most 200; comments_total counts them all)", tag: "reports", out: report.Satisfaction{},
			query: reportFilters}),
		api("GET", "/api/v1/reports/response-times", policy.ViewReports, reportsAPI.apiResponseTimes, doc{summary: "First response time (customer's first message to an agent's first reply, for conversations whose customer first wrote in the range) and resolution time (to the close, for conversations closed in the range with an agent assigned), median and 90th percentile in seconds, per agent, team, inbox or day; open conversations waiting for a first reply; and the messages sent automatically, by kind", tag: "reports", out: report.Times{},
			query: reportFilters}),

		// People and inboxes.
		api("GET", "/api/v1/users", policy.ManageUsers, peopleAPI.apiUsers, doc{summary: "Every user", tag: "users", out: []user.User{}}),
		api("POST", "/api/v1/users", policy.ManageUsers, peopleAPI.apiCreateUser, doc{summary: "Create a user with a role and inbox memberships", tag: "users", in: user.NewUser{}, out: me, status: 201}),
		api("PATCH", "/api/v1/users/{id}", policy.ManageUsers, peopleAPI.apiUpdateUser, doc{summary: "Change a user's first and last name (or the name whole), role or inbox memberships", tag: "users", in: user.Patch{}, out: me}),
		api("POST", "/api/v1/users/{id}/deactivate", policy.ManageUsers, peopleAPI.apiDeactivateUser, doc{summary: "Deactivate a user: they are signed out everywhere, their API tokens are revoked, they cannot sign in and get no conversations; their open conversations go back to routing (the inbox's automatic assignment, or unassigned); history keeps their name. You cannot deactivate yourself or the last active admin (409)", tag: "users", out: account.Deactivated{}}),
		api("POST", "/api/v1/users/{id}/password-reset", policy.ManageUsers, peopleAPI.apiSendReset, doc{summary: "Mail a user a link to choose a new password, valid an hour and once (a newer link replaces it); their password works until they set the new one", tag: "users", status: 202}),
		api("POST", "/api/v1/users/{id}/reactivate", policy.ManageUsers, peopleAPI.apiReactivateUser, doc{summary: "Reactivate a deactivated user: they sign in again with their password and come back Unavailable, with their role and inboxes", tag: "users", out: me}),
		api("GET", "/api/v1/users/{id}/email-change", policy.ManageUsers, peopleAPI.apiEmailChange, doc{summary: "The change of a user's sign-in address that waits for its confirmation (404 when none)", tag: "users", out: emailchange.Change{}}),
		api("POST", "/api/v1/users/{id}/email-change", policy.ManageUsers, peopleAPI.apiRequestEmailChange, doc{summary: "Change a user's sign-in address: a link, valid 7 days, is mailed to the new address, and the address changes when the link is opened and confirmed (the old address is then told); a change already waiting is replaced", tag: "users", in: emailchange.Request{}, out: emailchange.Change{}, status: 201}),
		api("DELETE", "/api/v1/users/{id}/email-change", policy.ManageUsers, peopleAPI.apiCancelEmailChange, doc{summary: "Cancel the change of address that waits for its confirmation: its link stops working", tag: "users", status: 204}),
		api("GET", "/api/v1/inboxes", policy.ReadInboxes, inboxesAPI.apiInboxes, doc{summary: "The inboxes you work in (all of them for admins and inbox managers)", tag: "inboxes", out: []apiInbox{}}),
		api("POST", "/api/v1/inboxes", policy.ManageInboxes, inboxesAPI.apiCreateInbox, doc{summary: "Create an inbox; a web chat inbox's identity secret and snippet are shown only in this answer", tag: "inboxes", in: newInboxRequest{}, out: createdInbox{}, status: 201}),
		api("GET", "/api/v1/inboxes/{id}", policy.ReadInboxes, inboxesAPI.apiInbox, doc{summary: "One inbox", tag: "inboxes", out: in}),
		api("PATCH", "/api/v1/inboxes/{id}", policy.ManageInboxes, inboxesAPI.apiUpdateInbox, doc{summary: "Change an inbox's name, settings or members", tag: "inboxes", in: inboxPatch{}, out: in}),
		api("DELETE", "/api/v1/inboxes/{id}", policy.ManageInboxes, inboxesAPI.apiArchiveInbox, doc{summary: "Archive an inbox (nothing is deleted): it receives nothing more (WhatsApp webhooks for it are acknowledged and dropped, its widget starts no new chats, 409), its open conversations are closed, and every conversation stays read-only (no replies, no reopening: 409) and searchable. Archiving an archived inbox is 409", tag: "inboxes", status: 204}),
		api("POST", "/api/v1/inboxes/{id}/secret", policy.ManageInboxes, inboxesAPI.apiRotateSecret, doc{summary: "Replace a web chat inbox's identity secret; the new one is shown only in this answer", tag: "inboxes", out: secretResponse{}}),

		// WhatsApp numbers.
		api("GET", "/api/v1/inboxes/{id}/whatsapp", policy.ManageInboxes, whatsappAPI.apiWhatsAppState, doc{summary: "A WhatsApp number's state: webhook URL, token problems, template synchronisation, ice breakers and whether Graph accepted them", tag: "whatsapp", out: whatsappState{}}),
		api("POST", "/api/v1/inboxes/{id}/whatsapp/test", policy.ManageInboxes, whatsappAPI.apiWhatsAppTest, doc{summary: "Test connection: read the number from Graph with its access token (name, quality) or give Graph's exact error", tag: "whatsapp", out: whatsapp.Connection{}}),
		api("PUT", "/api/v1/inboxes/{id}/whatsapp/ice-breakers", policy.ManageInboxes, whatsappAPI.apiWhatsAppIceBreakers, doc{summary: "Set the number's ice breakers (at most 4, 80 characters, no emoji) and push them to Graph", tag: "whatsapp", in: iceBreakersRequest{}, out: whatsappState{}}),
		api("GET", "/api/v1/inboxes/{id}/whatsapp/templates", policy.ReadInboxes, whatsappAPI.apiWhatsAppTemplates, doc{summary: "The number's message templates, with the values each needs; ?approved=true for those that can be sent", tag: "whatsapp", out: []whatsapp.Template{},
			query: []param{{"approved", "true: only APPROVED templates", "string"}}}),
		api("POST", "/api/v1/inboxes/{id}/whatsapp/templates/sync", policy.ManageInboxes, whatsappAPI.apiWhatsAppSync, doc{summary: "Synchronise the templates from the WhatsApp Business Account now", tag: "whatsapp", out: whatsapp.SyncResult{}}),
		api("GET", "/api/v1/inboxes/{id}/whatsapp/lookup", policy.ReadConversations, whatsappAPI.apiWhatsAppLookup, doc{summary: "Find a phone number's contacts and their conversations on the number; inbox managers get of a contact what its conversations show (id, name, phone, email)", tag: "whatsapp", out: httpx.LookupResult{},
			query: []param{{"phone", "The number in international format, like +14155550123", "string"}}}),
		api("POST", "/api/v1/inboxes/{id}/whatsapp/conversations", policy.WorkConversations, whatsappAPI.apiWhatsAppStart, doc{summary: "Write first to a customer by phone number (E.164): their open conversation or a new one gets the message (a template outside the 24-hour window)", tag: "whatsapp", in: startRequest{}, out: whatsapp.StartResult{}, status: 201}),
		api("POST", "/api/v1/conversations/{id}/whatsapp/messages", policy.WorkConversations, whatsappAPI.apiWhatsAppSend, doc{summary: "Send a WhatsApp message: text, media, reply buttons, a list, a link button, a template or a reaction, checked against Meta's limits and the 24-hour window; an idempotency_key already used returns the first message (200)", tag: "whatsapp", in: whatsapp.Compose{}, out: msg, status: 201}),

		// Conversations.
		// Bots: a menu bot per inbox, or an external bot over HTTP.
		api("GET", "/api/v1/bots", policy.ManageBots, botsAPI.apiBots, doc{summary: "Every bot: menu bots and external bots, each with its inbox and the open conversations it holds", tag: "bots", out: []bot.Bot{}}),
		api("POST", "/api/v1/bots", policy.ManageBots, botsAPI.apiCreateBot, doc{summary: "Create a bot: a menu bot (greeting and options: reply with a message, hand off to a team or the inbox's routing, or close) or an external bot (url; its token and signing secret are in this answer only). An inbox has at most one active bot, which takes its new conversations first", tag: "bots", in: bot.NewBot{}, out: bot.Created{}, status: 201}),
		api("PATCH", "/api/v1/bots/{id}", policy.ManageBots, botsAPI.apiUpdateBot, doc{summary: "Change a bot; rotate_token or rotate_secret make an external bot new ones, shown in this answer only. A bot switched off or moved to another inbox hands its open conversations to routing", tag: "bots", in: bot.Patch{}, out: bot.Created{}}),
		api("DELETE", "/api/v1/bots/{id}", policy.ManageBots, botsAPI.apiDeleteBot, doc{summary: "Delete a bot; its open conversations go to routing", tag: "bots", status: 204}),

		api("GET", "/api/v1/conversations", policy.ReadConversations, convAPI.apiConversations, doc{summary: "Conversations you may see, newest activity first", tag: "conversations", out: convPage,
			query: append([]param{
				{"status", "open or closed (any when absent)", "string"},
				{"inbox_id", "Only this inbox", "integer"},
				{"assignee", "me, none, or a user id", "string"},
				{"tag", "Only conversations with this tag", "string"},
				{"contact_id", "Only this contact's conversations", "integer"},
				{"queued", "true: only conversations waiting in their inbox's queue", "string"},
			}, pageParam...)}),
		api("GET", "/api/v1/conversations/{id}", policy.ReadConversations, convAPI.apiConversation, doc{summary: "One conversation", tag: "conversations", out: conv}),
		api("GET", "/api/v1/conversations/{id}/messages", policy.ReadConversations, convAPI.apiMessages, doc{summary: "A conversation's messages, newest first", tag: "conversations", out: msgPage, query: pageParam}),
		api("GET", "/api/v1/conversations/{id}/activities", policy.ReadConversations, convAPI.apiActivities, doc{summary: "What happened to a conversation besides its messages (assigned, transferred, unassigned, closed, reopened, tagged, untagged), by whom and when, in order; each is shown after the message after_message_id", tag: "conversations", out: activityList{},
			query: []param{{"after", "Only activities after this activity id", "integer"}, {"limit", "At most this many (default and most 500)", "integer"}}}),
		api("POST", "/api/v1/conversations/{id}/messages", policy.ReplyConversations, convAPI.apiSend, doc{summary: "Reply; with an idempotency_key already used the first message is returned (200) instead of sending again. With a bot's token: the bot's message ({text} or {text, interactive}) to a conversation it holds", tag: "conversations", in: conversation.Outgoing{}, out: msg, status: 201}),
		api("POST", "/api/v1/conversations/{id}/handoff", policy.HandOffConversations, botsAPI.apiHandoff, doc{summary: "Hand a conversation a bot holds to a human: to the least busy Available member of the team team_id (optional) who works the inbox, else through the inbox's routing. A bot's token hands off only what the bot holds; 409 when no bot holds it", tag: "bots", in: handoffRequest{}, out: conv}),
		api("POST", "/api/v1/conversations/{id}/close", policy.WorkConversations, convAPI.apiClose, doc{summary: "Close the conversation", tag: "conversations", out: conv}),
		api("POST", "/api/v1/conversations/{id}/reopen", policy.WorkConversations, convAPI.apiReopen, doc{summary: "Reopen the conversation", tag: "conversations", out: conv}),
		api("POST", "/api/v1/conversations/{id}/assign", policy.AssignConversations, convAPI.apiAssign, doc{summary: "Assign to an agent, or unassign with null", tag: "conversations", in: assignRequest{}, out: conv}),
		api("GET", "/api/v1/conversations/{id}/assignees", policy.AssignConversations, convAPI.apiAssignees, doc{summary: "Who the conversation may be assigned to", tag: "conversations", out: []conversation.Agent{}}),
		api("POST", "/api/v1/conversations/{id}/claim", policy.ClaimConversations, routingAPI.apiClaim, doc{summary: "Take a conversation from its inbox's queue, even at your reception limit; 409 when someone else has taken it", tag: "routing", out: conv}),
		api("POST", "/api/v1/conversations/{id}/transfer", policy.AssignConversations, routingAPI.apiTransfer, doc{summary: "Give the conversation to another agent of its inbox (admins may exceed the agent's reception limit, service agents may not); the queue may move to the agent who had it", tag: "routing", in: transferRequest{}, out: conv}),
		api("GET", "/api/v1/conversations/{id}/transfer-candidates", policy.AssignConversations, routingAPI.apiCandidates, doc{summary: "Who the conversation may be transferred to, Available first, with status and open conversations against their limit", tag: "routing", out: []routing.Candidate{}}),
		api("POST", "/api/v1/conversations/{id}/typing", policy.WorkConversations, convAPI.apiTyping, doc{summary: "Say you are writing a reply: the customer sees it in the web chat widget (and on WhatsApp, at most every 25 s), other agents in the conversation; not stored, at most one signal every 3 s per conversation", tag: "conversations", status: 204}),
		api("POST", "/api/v1/conversations/{id}/read", policy.ReadConversations, convAPI.apiMarkRead, doc{summary: "Mark the conversation read up to its last message", tag: "conversations", status: 204}),
		api("POST", "/api/v1/conversations/{id}/tags", policy.WorkConversations, convAPI.apiAddTag, doc{summary: "Add a tag", tag: "conversations", in: tagRequest{}, out: conv}),
		api("DELETE", "/api/v1/conversations/{id}/tags/{tag}", policy.WorkConversations, convAPI.apiRemoveTag, doc{summary: "Remove a tag", tag: "conversations", out: conv}),
		api("POST", "/api/v1/attachments", policy.WorkConversations, filesAPI.apiUpload, doc{summary: "Upload a file (multipart field \"file\") to attach to a reply", tag: "conversations", form: true, out: att, status: 201}),
		api("GET", "/api/v1/attachments/{id}", policy.ReadConversations, filesAPI.apiDownload, doc{summary: "Download an attachment", tag: "conversations", raw: "application/octet-stream"}),
		// Canned responses.
		api("GET", "/api/v1/canned-responses", policy.UseCannedResponses, cannedAPI.apiList, doc{summary: "The canned responses you may use: the company presets and your own, by short code; with q, those whose short code starts with it first, then those whose short code or content has it", tag: "canned-responses", out: []reply.Canned{},
			query: []param{{"q", "Part of the short code or of the content (any case)", "string"}, {"scope", "company, personal or all (the default)", "string"}}}),
		api("POST", "/api/v1/canned-responses", policy.UseCannedResponses, cannedAPI.apiCreate, doc{summary: "Make a canned response: your own (scope personal, the default) or a company preset for everyone (scope company, admins only). The short code (letters, digits, - and _) is unique per owner whatever its case; the message is checked as it will be sent, and a file it keeps (attachment_id, your upload) is kept for it", tag: "canned-responses", in: reply.NewCanned{}, out: reply.Canned{}, status: 201}),
		api("PATCH", "/api/v1/canned-responses/{id}", policy.UseCannedResponses, cannedAPI.apiUpdate, doc{summary: "Change a canned response's short code or message: your own, or a company preset (admins); a file replaced is let go", tag: "canned-responses", in: reply.CannedPatch{}, out: reply.Canned{}}),
		api("DELETE", "/api/v1/canned-responses/{id}", policy.UseCannedResponses, cannedAPI.apiDelete, doc{summary: "Delete a canned response: your own, or a company preset (admins)", tag: "canned-responses", status: 204}),
		api("GET", "/api/v1/ws", policy.Self, realtimeAPI.apiWebSocket, doc{summary: "WebSocket of events {seq, type, data}; ?since=SEQ replays what was missed", tag: "realtime",
			query: []param{{"since", "Resume after this event sequence", "integer"}}}),

		// Contacts.
		api("GET", "/api/v1/contacts", policy.ReadContacts, contactsAPI.apiContacts, doc{summary: "Contacts you may see, newest first", tag: "contacts", out: ctPage,
			query: append(slices.Clone(contactFilters), pageParam...)}),
		api("GET", "/api/v1/contacts/export", policy.ReadContacts, contactsAPI.apiExport, doc{summary: "The contacts you may see that the filters keep, as CSV in the columns an import reads (name, phone, email, tags, owner), newest first; contacts with neither phone nor email are left out", tag: "contacts",
			raw: "text/csv", query: contactFilters}),
		api("POST", "/api/v1/contacts/import", policy.ImportContacts, contactsAPI.apiImport, doc{summary: "Import contacts from a CSV file (Content-Type: text/csv; a header row naming some of name, phone, email, tags, owner, in any order). A row updates the contact with its phone, else its email, or makes one; owners are agents by email, or pending owners. A dry run (the default) reports what would happen and every error by line and column; the real run imports every row or, when any is wrong, nothing (422 with the report). Admins only", tag: "contacts",
			rawIn: "text/csv", out: contact.ImportReport{}, query: []param{{"dry_run", "true (the default) checks and reports; false imports", "boolean"}, {"country", "The country (ISO 3166, like ES) of numbers written without + and their country code", "string"}}}),
		api("PUT", "/api/v1/contacts/{id}/owner", policy.WriteContacts, contactsAPI.apiSetOwner, doc{summary: "Set a contact's owner: an agent by agent_id or email (a user's sign-in address means that user; another address is kept as a pending owner until its person accepts an invitation), or none (an empty body object). Admins and service agents for contacts they see, sales agents for their own customers", tag: "contacts", in: contact.OwnerRef{}, out: ct}),
		api("GET", "/api/v1/contacts/{id}", policy.ReadContacts, contactsAPI.apiContact, doc{summary: "One contact", tag: "contacts", out: ct}),
		api("PATCH", "/api/v1/contacts/{id}", policy.WriteContacts, contactsAPI.apiUpdateContact, doc{summary: "Change a contact. The owner (an admin, service or sales agent) may be changed by admins and service agents, and by a sales agent for their own customers; the new owner takes over the open conversations the previous owner was working in the inboxes the new owner may be assigned", tag: "contacts", in: contact.Patch{}, out: ct}),

		// The web chat widget.
		{method: "GET", path: "/widget.js", action: policy.Public, h: publicAPI.widgetJS},
		{method: "GET", path: "/widget/demo/{token}", action: policy.Public, kind: uiRoute, h: demo.WidgetDemo},
		{method: "OPTIONS", path: "/public/v1/", action: policy.Public, h: publicAPI.publicPreflight},
		api("GET", "/public/v1/inboxes/{token}", policy.Public, publicAPI.publicInbox, doc{summary: "A web chat inbox's widget settings (the pre-chat form among them), with the widget's words in the language asked for", tag: "webchat", out: publicInbox{},
			query: []param{{"lang", "The site's language, like es or es-MX (English when there is no match)", "string"}}}),
		api("POST", "/public/v1/inboxes/{token}/sessions", policy.Public, publicAPI.publicStart, doc{summary: "Start a visitor session (its contact is made with the first message; a session that never writes is removed after a day)", tag: "webchat", in: webchat.Start{}, out: publicSession{}, status: 201}),
		api("GET", "/public/v1/messages", policy.Public, publicAPI.publicMessages, doc{summary: "The visitor's conversation, newest first", tag: "webchat", out: publicMsgs, query: pageParam}),
		api("POST", "/public/v1/messages", policy.Public, publicAPI.publicSend, doc{summary: "Send a message as the visitor; the same id twice stores it once", tag: "webchat", in: webchat.Send{}, out: publicMessage{}, status: 201}),
		api("POST", "/public/v1/attachments", policy.Public, publicAPI.publicUpload, doc{summary: "Upload a file as the visitor (files not yet sent are capped per visitor and per address: 429 for their number, 413 for their bytes)", tag: "webchat", form: true, out: publicAttachment{}, status: 201}),
		api("GET", "/public/v1/attachments/{id}", policy.Public, publicAPI.publicDownload, doc{summary: "Download an attachment: by the link a message carries (expires and sig, no token: that one file, for about an hour), or of the visitor's conversation with the token in the Authorization header", tag: "webchat", raw: "application/octet-stream",
			query: []param{{"expires", "The link's expiry (Unix seconds)", "integer"}, {"sig", "The link's signature", "string"}}}),
		api("GET", "/public/v1/attachments/{id}/link", policy.Public, publicAPI.publicFileLink, doc{summary: "A fresh link to a file of the visitor's (when the one a message carried expired)", tag: "webchat", out: publicAttachment{}}),
		api("GET", "/public/v1/avatars/{version}", policy.Public, publicAPI.publicAvatar, doc{summary: "The picture of an agent who shows customers their name, by the signed link their replies carry (agent_avatar)", tag: "webchat", raw: "image/jpeg",
			query: []param{{"sig", "The link's signature", "string"}}}),
		api("POST", "/public/v1/seen", policy.Public, publicAPI.publicSeen, doc{summary: "Acknowledge replies as delivered or read", tag: "webchat", in: seenRequest{}, status: 204}),
		api("POST", "/public/v1/typing", policy.Public, publicAPI.publicTypingSignal, doc{summary: "Say the visitor is writing: the agents see it in the conversation (not stored; at most one signal every 3 s)", tag: "webchat", status: 204}),
		api("POST", "/public/v1/stream/tickets", policy.Public, publicAPI.publicStreamTicket, doc{summary: "A ticket that opens the visitor's event stream for a minute (EventSource cannot send the token in a header)", tag: "webchat", out: publicTicket{}, status: 201}),
		api("GET", "/public/v1/stream", policy.Public, publicAPI.publicStream, doc{summary: "Server-sent events of the visitor's conversation, opened with ?ticket= (or the token in the Authorization header); Last-Event-ID, or ?since=, resumes", tag: "webchat", raw: "text/event-stream",
			query: []param{{"ticket", "A ticket from POST /public/v1/stream/tickets", "string"}, {"since", "Resume after this event sequence", "integer"}}}),

		// WhatsApp: Meta's webhooks for every number.
		{method: "GET", path: "/webhooks/whatsapp", action: policy.Public, h: webhooks.whatsappVerify},
		{method: "POST", path: "/webhooks/whatsapp", action: policy.Public, h: webhooks.whatsappWebhook},

		// The agent workspace.
		page("GET", "/{$}", policy.Public, signin.Home),
		page("GET", "/setup", policy.Public, signin.SetupPage),
		page("POST", "/setup", policy.Public, signin.Setup),
		page("GET", "/login", policy.Public, signin.LoginPage),
		page("POST", "/login", policy.Public, signin.Login),
		page("POST", "/logout", policy.Self, signin.Logout),
		page("GET", "/static/{file...}", policy.Public, pages.Static),

		// The contacts page.
		page("GET", "/contacts", policy.ReadContacts, contactPages.Contacts),
		page("GET", "/contacts/import", policy.ImportContacts, contactPages.ImportPage),
		page("POST", "/contacts/import", policy.ImportContacts, contactPages.Import),
		page("GET", "/contacts/{id}", policy.ReadContacts, contactPages.Contact),
		page("POST", "/contacts/{id}", policy.WriteContacts, contactPages.UpdateContact),

		page("GET", "/inbox", policy.ReadConversations, inboxPages.Inbox),
		page("GET", "/inbox/list", policy.ReadConversations, inboxPages.Rows),
		page("GET", "/inbox/rows/{id}", policy.ReadConversations, inboxPages.Row),
		page("GET", "/inbox/conversations/{id}", policy.ReadConversations, inboxPages.Conversation),
		page("GET", "/inbox/conversations/{id}/head", policy.ReadConversations, inboxPages.Head),
		page("GET", "/inbox/conversations/{id}/messages", policy.ReadConversations, inboxPages.Messages),
		page("GET", "/inbox/conversations/{id}/messages/{message}", policy.ReadConversations, inboxPages.Message),
		page("GET", "/inbox/conversations/{id}/activities", policy.ReadConversations, inboxPages.Activities),
		page("GET", "/inbox/conversations/{id}/earlier", policy.ReadConversations, inboxPages.Earlier),
		page("POST", "/inbox/conversations/{id}/messages", policy.WorkConversations, inboxPages.Send),
		page("POST", "/inbox/conversations/{id}/close", policy.WorkConversations, inboxPages.CloseConv),
		page("POST", "/inbox/conversations/{id}/reopen", policy.WorkConversations, inboxPages.ReopenConv),
		page("POST", "/inbox/conversations/{id}/assign", policy.AssignConversations, inboxPages.Assign),
		page("GET", "/inbox/queue", policy.ClaimConversations, inboxPages.QueueBanner),
		page("POST", "/inbox/conversations/{id}/claim", policy.ClaimConversations, inboxPages.Claim),
		page("GET", "/inbox/conversations/{id}/transfer", policy.AssignConversations, inboxPages.TransferMenu),
		page("POST", "/inbox/conversations/{id}/transfer", policy.AssignConversations, inboxPages.Transfer),
		page("POST", "/inbox/conversations/{id}/handoff", policy.HandOffConversations, inboxPages.Handoff),
		page("POST", "/inbox/conversations/{id}/tags", policy.WorkConversations, inboxPages.AddTag),
		page("POST", "/inbox/conversations/{id}/tags/remove", policy.WorkConversations, inboxPages.RemoveTag),
		page("GET", "/inbox/conversations/{id}/contact", policy.ReadConversations, inboxPages.ContactPanel),
		page("POST", "/inbox/conversations/{id}/whatsapp", policy.WorkConversations, inboxPages.WaSend),
		page("GET", "/inbox/conversations/{id}/whatsapp/template", policy.WorkConversations, inboxPages.WaTemplateFieldsFor),
		page("GET", "/inbox/new", policy.WorkConversations, inboxPages.NewConversation),
		page("POST", "/inbox/new", policy.WorkConversations, inboxPages.LookupConversation),
		page("POST", "/inbox/new/start", policy.WorkConversations, inboxPages.StartConversation),
		page("GET", "/inbox/new/template", policy.WorkConversations, inboxPages.WaTemplateFieldsFor),
		page("POST", "/inbox/conversations/{id}/contact", policy.WriteContacts, inboxPages.UpdateContact),

		page("GET", "/admin/inboxes", policy.ManageInboxes, inboxAdmin.AdminInboxes),
		page("GET", "/admin/inboxes/new", policy.ManageInboxes, inboxAdmin.NewInbox),
		page("POST", "/admin/inboxes", policy.ManageInboxes, inboxAdmin.CreateInbox),
		page("GET", "/admin/inboxes/{id}", policy.ManageInboxes, inboxAdmin.EditInbox),
		page("POST", "/admin/inboxes/{id}", policy.ManageInboxes, inboxAdmin.UpdateInbox),
		page("POST", "/admin/inboxes/{id}/secret", policy.ManageInboxes, inboxAdmin.RotateInboxSecret),
		page("GET", "/admin/inboxes/{id}/created", policy.ManageInboxes, inboxAdmin.CreatedInbox),
		page("POST", "/admin/inboxes/{id}/archive", policy.ManageInboxes, inboxAdmin.ArchiveInbox),
		page("GET", "/admin/inboxes/new/whatsapp", policy.ManageInboxes, inboxAdmin.NewWhatsApp),
		page("POST", "/admin/inboxes/whatsapp", policy.ManageInboxes, inboxAdmin.CreateWhatsApp),
		page("POST", "/admin/inboxes/{id}/whatsapp/test", policy.ManageInboxes, inboxAdmin.WaTest),
		page("POST", "/admin/inboxes/{id}/whatsapp/templates/sync", policy.ManageInboxes, inboxAdmin.WaSync),
		page("POST", "/admin/inboxes/{id}/whatsapp/ice-breakers", policy.ManageInboxes, inboxAdmin.WaIceBreakers),
		page("GET", "/admin/users", policy.ManageUsers, peopleAdmin.AdminUsers),
		page("GET", "/admin/users/new", policy.ManageUsers, peopleAdmin.NewUser),
		page("POST", "/admin/users", policy.ManageUsers, peopleAdmin.CreateUser),
		page("GET", "/admin/users/{id}", policy.ManageUsers, peopleAdmin.EditUser),
		page("POST", "/admin/users/{id}", policy.ManageUsers, peopleAdmin.UpdateUser),
		page("POST", "/admin/users/{id}/email", policy.ManageUsers, peopleAdmin.RequestEmailChange),
		page("POST", "/admin/users/{id}/deactivate", policy.ManageUsers, peopleAdmin.DeactivateUser),
		page("POST", "/admin/users/{id}/reactivate", policy.ManageUsers, peopleAdmin.ReactivateUser),
		page("POST", "/admin/users/{id}/password-reset", policy.ManageUsers, peopleAdmin.SendReset),
		page("POST", "/admin/users/{id}/email/cancel", policy.ManageUsers, peopleAdmin.CancelEmailChange),

		page("GET", "/settings/tokens", policy.Self, prefs.Tokens),
		page("POST", "/settings/tokens", policy.Self, prefs.CreateToken),
		page("POST", "/settings/tokens/{id}/revoke", policy.Self, prefs.RevokeToken),

		// People: second step of signing in, invitations, your
		// preferences and status, avatars, admin pages and reports.
		page("GET", "/login/code", policy.Public, signin.LoginCodePage),
		page("POST", "/login/code", policy.Public, signin.LoginCode),
		page("POST", "/login/code/resend", policy.Public, signin.LoginCodeResend),
		page("GET", "/login/forgot", policy.Public, signin.ForgotPage),
		page("POST", "/login/forgot", policy.Public, signin.Forgot),
		page("GET", "/password-reset/{token}", policy.Public, signin.ResetPage),
		page("POST", "/password-reset/{token}", policy.Public, signin.ConfirmReset),
		page("GET", "/invitations/{token}", policy.Public, signin.InvitationPage),
		page("POST", "/invitations/{token}", policy.Public, signin.AcceptInvitation),
		page("GET", "/email-change/{token}", policy.Public, signin.EmailChangePage),
		page("POST", "/email-change/{token}", policy.Public, signin.ConfirmEmailChange),
		page("GET", "/avatars/{id}", policy.Self, prefs.Avatar),
		page("POST", "/preferences/status", policy.Self, prefs.SetStatus),
		page("GET", "/preferences", policy.Self, prefs.Profile),
		page("POST", "/preferences", policy.Self, prefs.SaveProfile),
		page("POST", "/preferences/avatar", policy.Self, prefs.UploadAvatar),
		page("POST", "/preferences/avatar/delete", policy.Self, prefs.DeleteAvatar),
		page("GET", "/preferences/phone", policy.Self, prefs.PhonePage),
		page("POST", "/preferences/phone", policy.Self, prefs.StartPhone),
		page("POST", "/preferences/phone/verify", policy.Self, prefs.VerifyPhone),
		page("POST", "/preferences/phone/resend", policy.Self, prefs.ResendPhone),
		page("POST", "/preferences/phone/cancel", policy.Self, prefs.CancelPhone),
		page("GET", "/preferences/security", policy.Self, prefs.Security),
		page("POST", "/preferences/password", policy.Self, prefs.ChangePassword),
		page("POST", "/preferences/sessions/{id}/revoke", policy.Self, prefs.RevokeSession),
		page("POST", "/preferences/two-factor", policy.Self, prefs.StartTwoFactor),
		page("POST", "/preferences/two-factor/verify", policy.Self, prefs.VerifyTwoFactor),
		page("POST", "/preferences/two-factor/resend", policy.Self, prefs.ResendTwoFactor),
		page("POST", "/preferences/two-factor/cancel", policy.Self, prefs.CancelTwoFactor),
		page("GET", "/preferences/notifications", policy.Self, prefs.Notifications),
		page("POST", "/preferences/notifications", policy.Self, prefs.SaveNotifications),
		page("GET", "/preferences/settings", policy.Self, prefs.Settings),
		page("POST", "/preferences/settings", policy.Self, prefs.SaveSettings),
		page("GET", "/preferences/canned", policy.UseCannedResponses, cannedPages.List),
		page("GET", "/preferences/canned/presets", policy.UseCannedResponses, cannedPages.Presets),
		page("GET", "/preferences/canned/new", policy.UseCannedResponses, cannedPages.New),
		page("POST", "/preferences/canned", policy.UseCannedResponses, cannedPages.Create),
		page("POST", "/preferences/canned/preview", policy.UseCannedResponses, cannedPages.Preview),
		page("GET", "/preferences/canned/{id}", policy.UseCannedResponses, cannedPages.Edit),
		page("POST", "/preferences/canned/{id}", policy.UseCannedResponses, cannedPages.Update),
		page("POST", "/preferences/canned/{id}/delete", policy.UseCannedResponses, cannedPages.Delete),
		page("GET", "/preferences/canned/{id}/file", policy.UseCannedResponses, cannedPages.File),
		page("GET", "/inbox/conversations/{id}/canned", policy.WorkConversations, cannedPages.Picker),
		page("POST", "/inbox/conversations/{id}/canned/{canned}/file", policy.WorkConversations, cannedPages.PickerFile),
		page("GET", "/preferences/welcome-messages", policy.WelcomeMessages, welcomePages.List),
		page("GET", "/preferences/welcome-messages/new", policy.WelcomeMessages, welcomePages.New),
		page("POST", "/preferences/welcome-messages", policy.WelcomeMessages, welcomePages.Create),
		page("GET", "/preferences/welcome-messages/{id}", policy.WelcomeMessages, welcomePages.Edit),
		page("POST", "/preferences/welcome-messages/{id}", policy.WelcomeMessages, welcomePages.Save),
		page("POST", "/preferences/welcome-messages/{id}/switch", policy.WelcomeMessages, welcomePages.Switch),
		page("POST", "/preferences/welcome-messages/{id}/delete", policy.WelcomeMessages, welcomePages.Delete),
		page("GET", "/admin/invitations", policy.ManageUsers, peopleAdmin.AdminInvitations),
		page("POST", "/admin/invitations", policy.ManageUsers, peopleAdmin.Invite),
		page("POST", "/admin/invitations/{id}/resend", policy.ManageUsers, peopleAdmin.ResendInvitation),
		page("POST", "/admin/invitations/{id}/revoke", policy.ManageUsers, peopleAdmin.RevokeInvitation),
		page("POST", "/admin/security", policy.ManageUsers, peopleAdmin.SaveSecurity),
		page("GET", "/admin/teams", policy.ManageUsers, peopleAdmin.AdminTeams),
		page("POST", "/admin/teams", policy.ManageUsers, peopleAdmin.CreateTeam),
		page("GET", "/admin/teams/{id}", policy.ManageUsers, peopleAdmin.EditTeam),
		page("POST", "/admin/teams/{id}", policy.ManageUsers, peopleAdmin.UpdateTeam),
		page("POST", "/admin/teams/{id}/delete", policy.ManageUsers, peopleAdmin.DeleteTeam),
		page("GET", "/admin/bots", policy.ManageBots, botsAdmin.AdminBots),
		page("GET", "/admin/bots/new", policy.ManageBots, botsAdmin.NewBot),
		page("POST", "/admin/bots", policy.ManageBots, botsAdmin.CreateBot),
		page("GET", "/admin/bots/{id}", policy.ManageBots, botsAdmin.EditBot),
		page("POST", "/admin/bots/{id}", policy.ManageBots, botsAdmin.UpdateBot),
		page("GET", "/admin/bots/{id}/created", policy.ManageBots, botsAdmin.BotCreated),
		page("POST", "/admin/bots/{id}/rotate", policy.ManageBots, botsAdmin.RotateBot),
		page("POST", "/admin/bots/{id}/delete", policy.ManageBots, botsAdmin.DeleteBot),
		page("GET", "/admin/inboxes/{id}/assignment", policy.ManageInboxes, inboxAdmin.AssignmentPage),
		page("POST", "/admin/inboxes/{id}/assignment", policy.ManageInboxes, inboxAdmin.SaveAssignment),
		page("GET", "/admin/inboxes/{id}/automation", policy.ManageInboxes, automationPages.AutomationPage),
		page("POST", "/admin/inboxes/{id}/automation", policy.ManageInboxes, automationPages.SaveAutomation),
		page("POST", "/admin/inboxes/{id}/automation/preview", policy.ManageInboxes, automationPages.PreviewAutomation),
		page("GET", "/admin/reports/time-in-status", policy.ViewReports, reports.TimeInStatus),
		page("GET", "/admin/reports/time-in-status.csv", policy.ViewReports, reports.TimeInStatusCSV),
		page("GET", "/admin/reports/satisfaction", policy.ViewReports, reports.Satisfaction),
		page("GET", "/admin/reports/satisfaction.csv", policy.ViewReports, reports.SatisfactionCSV),
	}
}
