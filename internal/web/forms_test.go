package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestFormsRefuseBadInput posts bad input to every form of people (and
// the workspace's others) and checks each answers with a message next to
// the field at fault, keeping what was typed. Forms made only of
// checkboxes (Settings, automatic assignment, the two-factor requirement)
// have no bad input (the inbox's colour is a colour picker, but a post
// can hold anything); the avatar, invitation and notification forms are
// shown in TestProfile, TestInvitations and TestNotificationSettings.
func TestFormsRefuseBadInput(t *testing.T) {
	t.Parallel()
	srv := startPeople(t, dbtest.SQLite(t))
	admin := srv.NewUser("admin@example.com", policy.Admin)
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Site", ana.UserID)
	var team struct{ ID int64 }
	admin.Do("POST", "/api/v1/teams", map[string]any{"name": "Support"}).Expect(201).Decode(&team)
	admin.Do("POST", "/api/v1/teams", map[string]any{"name": "Sales"}).Expect(201)
	// A number change waiting for its code, for the code form.
	bo := srv.NewUser("bo@example.com", policy.Sales)
	form(bo, "/preferences/phone", url.Values{"mobile": {"+34 699 99 99 99"}}).Expect(200)

	cases := []struct {
		name   string
		who    *testrig.Client
		path   string
		values url.Values
		get    bool
		status int
		fields map[string]string // field → part of its message
		kept   []string          // what was typed, shown again
	}{
		{"invite", admin, "/admin/invitations", url.Values{"email": {"bo at example"}, "role": {"service"}}, false, 422,
			map[string]string{"email": "valid email address"}, []string{`value="bo at example"`}},
		{"invite an existing user", admin, "/admin/invitations", url.Values{"email": {"ana@example.com"}, "role": {"service"}}, false, 422,
			map[string]string{"email": "already has an account"}, nil},
		{"invite without a role", admin, "/admin/invitations", url.Values{"email": {"cy@example.com"}}, false, 422,
			map[string]string{"role": "Choose a role."}, []string{`value="cy@example.com"`}},
		{"new user without a first name", admin, "/admin/users", url.Values{"email": {"dee@example.com"}, "last_name": {"Dee"}, "password": {"long enough password"}, "role": {"service"}}, false, 422,
			map[string]string{"first_name": "Enter a first name."}, []string{`value="Dee"`, `value="dee@example.com"`}},
		{"user without a first name", admin, fmt.Sprintf("/admin/users/%d", ana.UserID), url.Values{"first_name": {" "}, "last_name": {"Díaz"}, "role": {"service"}}, false, 422,
			map[string]string{"first_name": "Enter a first name."}, []string{`value="Díaz"`}},
		{"new email address of someone else", admin, fmt.Sprintf("/admin/users/%d/email", ana.UserID), url.Values{"email": {"bo@example.com"}}, false, 422,
			map[string]string{"email": "Another account has this email address."}, []string{`value="bo@example.com"`}},
		{"new email address", admin, fmt.Sprintf("/admin/users/%d/email", ana.UserID), url.Values{"email": {"ana at example"}}, false, 422,
			map[string]string{"email": "valid email address"}, []string{`value="ana at example"`}},
		{"new team", admin, "/admin/teams", url.Values{"name": {" "}}, false, 422,
			map[string]string{"name": "Enter a name."}, nil},
		{"rename a team to a taken name", admin, fmt.Sprintf("/admin/teams/%d", team.ID), url.Values{"name": {"sales"}}, false, 422,
			map[string]string{"name": "already exists"}, []string{`value="sales"`}},
		{"team with a member who is not", admin, "/admin/teams", url.Values{"name": {"Night"}, "member_ids": {"x"}}, false, 422,
			map[string]string{"member_ids": "Choose from the list."}, []string{`value="Night"`}},
		{"profile", ana, "/preferences", url.Values{"first_name": {""}, "last_name": {"Díaz"}, "location": {"Madrid\x07"}, "public_name": {"Ana"}, "language": {"en"}, "landline": {"call me"}}, false, 422,
			map[string]string{"first_name": "Enter a first name.", "location": "invisible control character", "landline": "international format"}, []string{`value="call me"`, `value="Ana"`, `value="Díaz"`}},
		{"profile language", ana, "/preferences", url.Values{"first_name": {"Ana"}, "language": {"tlh"}}, false, 422,
			map[string]string{"language": "Choose a language"}, nil},
		{"mobile number", ana, "/preferences/phone", url.Values{"mobile": {"+34 91 123 45 67"}}, false, 422,
			map[string]string{"mobile": "landline"}, []string{`value="&#43;34 91 123 45 67"`}},
		{"mobile code", bo, "/preferences/phone/verify", url.Values{"code": {"000000"}}, false, 422,
			map[string]string{"code": "not right"}, nil},
		{"password", ana, "/preferences/password", url.Values{"current_password": {"wrong one"}, "new_password": {"short"}, "repeat_password": {"other"}}, false, 422,
			map[string]string{"new_password": "at least 10", "repeat_password": "not the same"}, nil},
		{"current password", ana, "/preferences/password", url.Values{"current_password": {"not my password"}, "new_password": {"a long new password"}, "repeat_password": {"a long new password"}}, false, 422,
			map[string]string{"current_password": "not your current password"}, nil},
		{"two-factor method", ana, "/preferences/two-factor", url.Values{"method": {"pigeon"}}, false, 422,
			map[string]string{"method": "Choose a method"}, nil},
		{"SMS without a mobile number", ana, "/preferences/two-factor", url.Values{"method": {"sms"}}, false, 422,
			map[string]string{"method": "mobile number"}, nil},
		{"inbox colour", admin, "/admin/inboxes", url.Values{"name": {"Shop"}, "color": {"blue"}}, false, 422,
			map[string]string{"webchat.color": "like #2563eb"}, []string{`value="Shop"`}},
		{"inbox colour of an inbox", admin, fmt.Sprintf("/admin/inboxes/%d", in.ID), url.Values{"name": {"Site"}, "color": {"#12345"}}, false, 422,
			map[string]string{"webchat.color": "like #2563eb"}, nil},
		{"report dates", admin, "/admin/reports/time-in-status?from=2026-13-01&to=yesterday", nil, true, 422,
			map[string]string{"from": "like 2026-01-31", "to": "like 2026-01-31"}, []string{`value="yesterday"`}},
		{"report range", admin, "/admin/reports/time-in-status?from=2026-03-01&to=2026-02-01", nil, true, 422,
			map[string]string{"to": "after the start"}, nil},
	}
	for _, tc := range cases {
		var r *testrig.Response
		if tc.get {
			r = tc.who.Do("GET", tc.path, nil)
		} else {
			r = form(tc.who, tc.path, tc.values)
		}
		if r.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, r.StatusCode, tc.status)
			continue
		}
		for field, want := range tc.fields {
			if got := fieldError(r.Body, field); !strings.Contains(got, want) {
				t.Errorf("%s: the message next to %s is %q, want one saying %q", tc.name, field, got, want)
			}
			if !strings.Contains(string(r.Body), `aria-invalid="true"`) {
				t.Errorf("%s: no field is marked invalid", tc.name)
			}
		}
		for _, k := range tc.kept {
			if !strings.Contains(string(r.Body), k) {
				t.Errorf("%s: what was typed (%s) is not shown again", tc.name, k)
			}
		}
	}

	// Forms without a field to point at say what is wrong at the top.
	r := form(srv.Anonymous(), "/login", url.Values{"email": {"ana@example.com"}, "password": {"wrong password"}})
	if r.StatusCode != 401 || !strings.Contains(string(r.Body), "The email or password is not right.") || !strings.Contains(string(r.Body), `value="ana@example.com"`) {
		t.Errorf("login: %d", r.StatusCode)
	}
	r = form(ana, "/preferences/status", url.Values{"status": {"napping"}})
	if r.StatusCode != 422 || !strings.Contains(string(r.Body), "Choose one of available, away") {
		t.Errorf("status menu: %d %s", r.StatusCode, r.Body)
	}
	_ = in
}
