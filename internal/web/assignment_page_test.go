package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestAssignmentPage: an inbox's Assignment page saves the basic rule, the
// advanced rules, the default limit, the return of unanswered
// conversations and the members' own limits; bad input is answered field
// by field and writes nothing.
func TestAssignmentPage(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := noRedirects(srv.NewUser("admin@example.com", policy.Admin))
		ana := srv.NewUser("ana@example.com", policy.Service)
		bo := srv.NewUser("bo@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", ana.UserID, bo.UserID)
		page := fmt.Sprintf("/admin/inboxes/%d/assignment", in.ID)
		r := admin.Do("GET", page, nil).Expect(200)
		for _, want := range []string{`name="rule" value="none" checked`, `name="limit.` + fmt.Sprint(ana.UserID) + `"`, `name="owner.only_available" value="1" checked`} {
			if !strings.Contains(string(r.Body), want) {
				t.Errorf("the page has no %s", want)
			}
		}
		if body := string(admin.Do("GET", fmt.Sprintf("/admin/inboxes/%d", in.ID), nil).Expect(200).Body); !strings.Contains(body, page) {
			t.Error("the inbox's page does not link to its assignment")
		}

		bad := url.Values{"rule": {"random"}, "owner.wait_minutes": {"soon"}, "previous_agent.wait_minutes": {"-3"}, "default_limit": {"2000"},
			"return_unanswered": {"1"}, "return_unanswered_after_minutes": {""}, "limit." + fmt.Sprint(ana.UserID): {"-1"}}
		r = form(admin, page, bad)
		if r.StatusCode != 422 {
			t.Fatalf("bad input: %d", r.StatusCode)
		}
		for field, want := range map[string]string{"rule": "Choose one of", "owner.wait_minutes": "whole number", "default_limit": "from 0 (none) to 1000",
			"return_unanswered_after_minutes": "how many minutes", "limit." + fmt.Sprint(ana.UserID): "from 0 (none) to 1000"} {
			if got := fieldError(r.Body, field); !strings.Contains(got, want) {
				t.Errorf("next to %s: %q, want %q", field, got, want)
			}
		}
		if !strings.Contains(string(r.Body), `value="2000"`) {
			t.Error("what was typed is not shown again")
		}
		// Range errors the service finds (after the form's own) are shown too.
		r = form(admin, page, url.Values{"rule": {"least_busy"}, "previous_agent.wait_minutes": {"-3"}})
		if got := fieldError(r.Body, "previous_agent.wait_minutes"); r.StatusCode != 422 || !strings.Contains(got, "Wait from 0") {
			t.Errorf("service's field: %d %q", r.StatusCode, got)
		}
		var st struct {
			Rule   string `json:"rule"`
			Limits []struct {
				UserID int64 `json:"user_id"`
				Limit  *int  `json:"limit"`
			} `json:"limits"`
		}
		admin.Do("GET", "/api/v1/inboxes/"+fmt.Sprint(in.ID)+"/assignment", nil).Expect(200).Decode(&st)
		if st.Rule != "none" {
			t.Fatalf("refused input was written: %+v", st)
		}

		good := url.Values{"rule": {"least_busy"}, "advanced": {"1"}, "owner.on": {"1"}, "owner.only_available": {"1"}, "owner.wait_minutes": {"5"},
			"previous_agent.on": {"1"}, "previous_agent.wait_minutes": {"0"}, "default_limit": {"3"},
			"return_unanswered": {"1"}, "return_unanswered_after_minutes": {"15"}, "limit." + fmt.Sprint(bo.UserID): {"7"}}
		r = form(admin, page, good)
		if r.StatusCode != 303 || r.Header.Get("Location") != page+"?saved=1" {
			t.Fatalf("save: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		var full struct {
			Rule     string `json:"rule"`
			Advanced bool   `json:"advanced"`
			Owner    struct {
				On            bool `json:"on"`
				OnlyAvailable bool `json:"only_available"`
				WaitMinutes   int  `json:"wait_minutes"`
			} `json:"owner"`
			Previous struct {
				On            bool `json:"on"`
				OnlyAvailable bool `json:"only_available"`
			} `json:"previous_agent"`
			DefaultLimit int `json:"default_limit"`
			Return       int `json:"return_unanswered_after_minutes"`
			Limits       []struct {
				UserID    int64 `json:"user_id"`
				Limit     *int  `json:"limit"`
				Effective int   `json:"effective"`
			} `json:"limits"`
		}
		admin.Do("GET", "/api/v1/inboxes/"+fmt.Sprint(in.ID)+"/assignment", nil).Expect(200).Decode(&full)
		if full.Rule != "least_busy" || !full.Advanced || !full.Owner.On || !full.Owner.OnlyAvailable || full.Owner.WaitMinutes != 5 ||
			!full.Previous.On || full.Previous.OnlyAvailable || full.DefaultLimit != 3 || full.Return != 15 {
			t.Fatalf("saved %+v", full)
		}
		for _, l := range full.Limits {
			switch {
			case l.UserID == bo.UserID && (l.Limit == nil || *l.Limit != 7):
				t.Errorf("bo's limit %+v", l)
			case l.UserID == ana.UserID && (l.Limit != nil || l.Effective != 3):
				t.Errorf("ana's limit %+v", l)
			}
		}
		r = admin.Do("GET", page+"?saved=1", nil).Expect(200)
		if !strings.Contains(string(r.Body), "Saved.") || !strings.Contains(string(r.Body), `value="7"`) {
			t.Error("the saved page does not say so or show the limit")
		}
		// Emptied, a member's limit is the inbox's default again; return
		// switched off is 0.
		good.Set("limit."+fmt.Sprint(bo.UserID), "")
		good.Del("return_unanswered")
		form(admin, page, good).Expect(303)
		admin.Do("GET", "/api/v1/inboxes/"+fmt.Sprint(in.ID)+"/assignment", nil).Expect(200).Decode(&full)
		if full.Return != 0 {
			t.Errorf("return after %d", full.Return)
		}
		for _, l := range full.Limits {
			if l.Limit != nil {
				t.Errorf("limit %+v", l)
			}
		}
	})
}
