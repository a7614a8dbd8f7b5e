package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// widths are the screens the routing tests run at: a desktop and a phone.
var widths = []struct {
	name string
	w, h int64
}{{"desktop", 1280, 900}, {"phone", 390, 844}}

// TestAssignmentPageSaves: an admin opens an inbox's Assignment page from
// the inbox's settings, is told what is wrong with a bad limit, and saves
// the rules and a member's own limit.
func TestAssignmentPageSaves(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	admin := srv.NewUser("admin@example.com", policy.Admin)
	ana := srv.NewUser("ana@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Shop", ana.UserID)
	ctx := wsSignIn(t, srv, "admin@example.com", fmt.Sprintf("/admin/inboxes/%d", in.ID))
	AllowStatus(ctx, 422, "/admin/inboxes/\\d+/assignment")
	limit := fmt.Sprintf(`input[name="limit.%d"]`, ana.UserID)
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`a.assignment-link`)),
		chromedp.WaitVisible(chromedp.CSS(`.assignment-form`)),
		chromedp.Click(chromedp.CSS(`input[name=rule][value=least_busy]`)),
		chromedp.Click(chromedp.CSS(`input[name=advanced]`)),
		chromedp.Click(chromedp.CSS(`input[name="owner.on"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="owner.wait_minutes"]`), "5"),
		chromedp.SetValue(chromedp.CSS(`input[name=default_limit]`), "3"),
		chromedp.SetValue(chromedp.CSS(limit), "-2"),
		chromedp.Click(chromedp.CSS(`.assignment-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.field-error`)),
	)
	wsWaitText(t, ctx, fmt.Sprintf(`.field-error[data-field="limit.%d"]`, ana.UserID), "from 0 (none) to 1000")
	if v := wsEval[string](t, ctx, `document.querySelector('input[name=rule]:checked').value`); v != "least_busy" {
		t.Fatalf("the refused form lost the rule: %q", v)
	}
	Do(t, ctx,
		chromedp.SetValue(chromedp.CSS(limit), "2"),
		chromedp.Click(chromedp.CSS(`.assignment-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	wsWaitText(t, ctx, `.notice`, "Saved.")
	var st struct {
		Rule         string `json:"rule"`
		Advanced     bool   `json:"advanced"`
		DefaultLimit int    `json:"default_limit"`
		Owner        struct {
			On          bool `json:"on"`
			WaitMinutes int  `json:"wait_minutes"`
		} `json:"owner"`
		Limits []struct {
			UserID int64 `json:"user_id"`
			Limit  *int  `json:"limit"`
		} `json:"limits"`
	}
	admin.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/assignment", in.ID), nil).Expect(http.StatusOK).Decode(&st)
	if st.Rule != "least_busy" || !st.Advanced || !st.Owner.On || st.Owner.WaitMinutes != 5 || st.DefaultLimit != 3 ||
		len(st.Limits) != 1 || st.Limits[0].Limit == nil || *st.Limits[0].Limit != 2 {
		t.Fatalf("saved %+v", st)
	}
	if v := wsEval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).value`, limit)); v != "2" {
		t.Errorf("the page shows the limit %q", v)
	}
	Do(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`.assignment-form`)))
	phoneFits(t, ctx, "the Assignment page")
}

// queueRig is an inbox where Ana, Available with a limit of one, has a
// conversation and two more wait in the queue; Bo is another service
// agent, Cy a sales agent.
func queueRig(t *testing.T) (srv *testrig.Server, admin, ana, bo *testrig.Client, say func(string)) {
	srv = testrig.Start(t, dbtest.SQLite(t))
	admin = srv.NewUser("admin@example.com", policy.Admin)
	ana = srv.NewUser("ana@example.com", policy.Service)
	bo = srv.NewUser("bo@example.com", policy.Service)
	cy := srv.NewUser("cy@example.com", policy.Sales)
	in, _ := srv.NewWebchatInbox("Shop", ana.UserID, bo.UserID, cy.UserID)
	admin.Do("PUT", fmt.Sprintf("/api/v1/inboxes/%d/assignment", in.ID), map[string]any{"rule": "available_in_turn", "default_limit": 1}).Expect(http.StatusOK)
	ana.Do("PUT", "/api/v1/me/status", map[string]string{"status": "available"}).Expect(http.StatusOK)
	say = func(name string) {
		srv.NewVisitor(in.Token, map[string]string{"name": name}).Say("Hello from " + name)
	}
	for _, n := range []string{"First", "Second", "Third"} {
		say(n)
	}
	if q := wsConversations(admin, "queued=true"); len(q) != 2 {
		t.Fatalf("%d queued, want 2", len(q))
	}
	return srv, admin, ana, bo, say
}

// TestQueueBannerAndClaim: service agents see "N people in queue", live;
// opened, it lists the queue; choosing one takes it; when another agent
// took it first, the banner says so and lists the queue as it is. Sales
// see no banner. The In queue view lists the queue, and a queued
// conversation shows its position.
func TestQueueBannerAndClaim(t *testing.T) {
	for _, w := range widths {
		t.Run(w.name, func(t *testing.T) {
			srv, admin, ana, _, say := queueRig(t)
			bo := wsSignIn(t, srv, "bo@example.com", "/inbox")
			Do(t, bo, chromedp.EmulateViewport(w.w, w.h))
			AllowStatus(bo, 409, "/inbox/conversations/\\d+/claim")
			wsLive(t, bo)
			wsWaitText(t, bo, "#queue-banner summary", "2 people in queue")
			// A new conversation joins the queue: the banner follows.
			say("Fourth")
			wsWaitText(t, bo, "#queue-banner summary", "3 people in queue")
			q := wsConversations(admin, "queued=true")
			first := q[len(q)-1].ID // the list is newest first
			for _, c := range q {
				if c.ID < first {
					first = c.ID
				}
			}
			Do(t, bo, chromedp.Click(chromedp.CSS(`#queue-banner summary`)))
			sel := fmt.Sprintf(`#queue-banner li[data-conversation="%d"]`, first)
			wsWaitText(t, bo, sel, "#1")
			if w.w == 390 {
				phoneFits(t, bo, "the open queue")
				if r := phoneRect(t, bo, sel); r.Left < 0 || r.Right > 390 {
					t.Fatalf("a queue entry spans %v–%v px", r.Left, r.Right)
				}
			}
			// Ana takes the first one while Bo still sees it: Bo's choice
			// of it is answered "Someone else took it".
			ana.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/claim", first), nil).Expect(http.StatusOK)
			Run(t, bo, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`htmx.ajax("POST", "/inbox/conversations/%d/claim", {target: "#queue-banner", swap: "outerHTML"})`, first)))
			wsWaitText(t, bo, "#queue-banner .error", "Someone else took it.")
			wsWaitText(t, bo, "#queue-banner summary", "2 people in queue")
			wsWaitGone(t, bo, sel)
			// Bo takes the next one and is taken to it.
			next := wsEval[string](t, bo, `document.querySelector("#queue-banner li[data-conversation]").dataset.conversation`)
			// (Clicked from the page: the banner may be read again, live,
			// between finding the button and clicking it.)
			Run(t, bo, chromedp.Evaluate[chromedp.Void](`document.querySelector("#queue-banner li[data-conversation] button").click()`))
			Do(t, bo, chromedp.WaitVisible(chromedp.CSS(`#conv-head`)))
			wsLive(t, bo)
			wsWaitText(t, bo, "#conv-head .assignee", "Bo")
			if got := wsEval[string](t, bo, `document.querySelector("#conv-head").dataset.conversation`); got != next {
				t.Errorf("Bo is on conversation %s, took %s", got, next)
			}
			wsWaitText(t, bo, "#queue-banner summary", "1 person in queue")

			// The In queue view and the position on a queued conversation.
			left := wsConversations(admin, "queued=true")
			if len(left) != 1 {
				t.Fatalf("%d left in the queue", len(left))
			}
			Do(t, bo, chromedp.Navigate(srv.URL+"/inbox?view=queue"), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#row-%d", left[0].ID))))
			wsWaitText(t, bo, fmt.Sprintf("#row-%d .badge.queued", left[0].ID), "In queue: 1")
			if n := wsEval[int](t, bo, `document.querySelectorAll("#rows li.row").length`); n != 1 {
				t.Errorf("the In queue view lists %d", n)
			}
			Do(t, bo, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", srv.URL, left[0].ID)))
			wsWaitText(t, bo, "#conv-head .queue-position", "In queue: position 1")
			if w.w == 390 {
				phoneFits(t, bo, "a queued conversation")
			}

			// Sales see no banner.
			cy := wsSignIn(t, srv, "cy@example.com", "/inbox")
			Do(t, cy, chromedp.EmulateViewport(w.w, w.h))
			wsLive(t, cy)
			if wsEval[bool](t, cy, `document.getElementById("queue-banner") !== null`) {
				t.Error("a sales agent sees the queue banner")
			}
		})
	}
}

// TestTransferMenu: the Transfer menu lists the inbox's other agents with
// their status and load, Available first; a service agent's transfer to
// an agent at their limit is refused readably; an admin is told and may
// go over it.
func TestTransferMenu(t *testing.T) {
	for _, w := range widths {
		t.Run(w.name, func(t *testing.T) {
			srv, admin, ana, bo, _ := queueRig(t)
			// Bo, Available, gets one of the queue: he is at his limit.
			bo.Do("PUT", "/api/v1/me/status", map[string]string{"status": "available"}).Expect(http.StatusOK)
			mine := wsConversations(ana, "assignee=me")
			if len(mine) != 1 {
				t.Fatalf("Ana has %d", len(mine))
			}
			conv := mine[0].ID
			check := func(ctx context.Context, who string) {
				Do(t, ctx, chromedp.EmulateViewport(w.w, w.h))
				Do(t, ctx, chromedp.Click(chromedp.CSS(`#transfer-menu summary`)))
				wsWaitText(t, ctx, `#transfer-menu .transfer-to[data-agent]`, "Bo")
				names := wsEval[[]string](t, ctx, `Array.from(document.querySelectorAll("#transfer-menu .transfer-to .who")).map(e => e.textContent)`)
				if len(names) == 0 || names[0] != "Bo" {
					t.Errorf("%s: candidates %v, want Bo (Available) first", who, names)
				}
				wsWaitText(t, ctx, `#transfer-menu .transfer-to[data-agent]`, "1 of 1 open")
				wsWaitText(t, ctx, `#transfer-menu .transfer-to[data-agent] .status-badge`, "Available")
				if w.w == 390 {
					if r := phoneRect(t, ctx, `#transfer-menu .transfer-panel`); r.Left < 0 || r.Right > 390 {
						t.Errorf("%s: the Transfer menu spans %v–%v px", who, r.Left, r.Right)
					}
				}
			}
			boID := bo.UserID
			// Ana, a service agent: refused, readably.
			actx := wsSignIn(t, srv, "ana@example.com", fmt.Sprintf("/inbox/conversations/%d", conv))
			AllowStatus(actx, 422, "/inbox/conversations/\\d+/transfer")
			check(actx, "Ana")
			wsWaitText(t, actx, `#transfer-menu .over`, "At their limit")
			Do(t, actx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#transfer-menu .transfer-to[data-agent="%d"]`, boID))))
			wsWaitText(t, actx, `#conv-head .head-error`, "at their reception limit (1 of 1)")
			// The admin is told, and goes over it.
			dctx := wsSignIn(t, srv, "admin@example.com", fmt.Sprintf("/inbox/conversations/%d", conv))
			check(dctx, "the admin")
			wsWaitText(t, dctx, `#transfer-menu .over`, "this goes over it")
			Do(t, dctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#transfer-menu .transfer-to[data-agent="%d"]`, boID))))
			wsWaitText(t, dctx, `#conv-head .assignee`, "Assigned to Bo")
			// Ana's page follows live.
			wsWaitText(t, actx, `#conv-head .assignee`, "Assigned to Bo")
			if got := wsConversations(admin, "assignee=me"); len(got) != 0 {
				t.Errorf("the admin has %d", len(got))
			}
		})
	}
}
