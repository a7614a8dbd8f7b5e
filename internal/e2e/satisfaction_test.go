package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestSatisfactionReportPage: Reports → Satisfaction on a desktop screen
// and at 390 px: seven agents with long names, each with rated
// conversations and a comment (one a long unbroken word), the charts and
// tables within their card, the filters, and the way to the rated
// conversation, which shows its rating and its survey marked as sent
// automatically.
func TestSatisfactionReportPage(t *testing.T) {
	d := dbtest.SQLite(t)
	srv := testrig.Start(t, d)
	admin := srv.NewUser("admin@example.com", policy.Admin)
	in, _ := srv.NewWebchatInbox("Website")
	other, _ := srv.NewWebchatInbox("Second shop")
	ctx := context.Background()
	now := db.Now()
	asked := now.Add(-2 * time.Hour)
	if midnight := now.Truncate(24 * time.Hour); asked.Before(midnight) {
		asked = midnight
	}
	var agents []*testrig.Client
	var convs []int64
	for i := range 7 {
		a := srv.NewUser(fmt.Sprintf("agent.with.a.rather.long.name%d@example.com", i), policy.Service, in.ID, other.ID)
		agents = append(agents, a)
		for j := range 2 {
			inbox := in
			if j == 1 {
				inbox = other
			}
			srv.NewVisitor(inbox.Token, map[string]string{"name": fmt.Sprintf("Customer %d-%d", i, j)}).Say("Hello, where is my order?")
			id := wsConversations(admin, "limit=1")[0].ID
			admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", id), map[string]any{"assignee_id": a.UserID}).Expect(http.StatusOK)
			a.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]any{"text": "It left today."}).Expect(http.StatusCreated)
			a.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", id), nil).Expect(http.StatusOK)
			comment := ""
			switch {
			case i == 0 && j == 0:
				comment = "Ana was quick and kind, thank you!"
			case i == 3 && j == 1:
				comment = "https://example.com/" + strings.Repeat("averyveryverylongpath", 8)
			}
			rating := 5 - (i+j)%5
			answered := asked.Add(time.Duration(30*(i+1)) * time.Second)
			closed := asked.Add(time.Duration(i+1) * 10 * time.Minute)
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`UPDATE conversations SET first_customer_message_at = $2, first_response_at = $3, closed_at = $4 WHERE id = $1`, []any{id, asked, answered, closed}},
				{`INSERT INTO csat_ratings (conversation_id, inbox_id, agent_id, contact_id, message_id, rating, comment, sent_at, rated_at)
					SELECT id, inbox_id, assignee_id, contact_id, 0, $2, $3, $4, $4 FROM conversations WHERE id = $1`, []any{id, rating, comment, closed}},
				{`INSERT INTO messages (conversation_id, inbox_id, direction, sender_type, type, text, status, auto_kind, created_at, updated_at)
					SELECT id, inbox_id, 'outbound', 'system', 'text', 'How did we do?', 'delivered', 'csat', $2, $2 FROM conversations WHERE id = $1`, []any{id, closed}},
			} {
				if _, err := d.Exec(ctx, q.sql, q.args...); err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			convs = append(convs, id)
		}
	}
	admin.Do("POST", "/api/v1/teams", map[string]any{"name": "Front desk", "member_ids": []int64{agents[0].UserID, agents[1].UserID}}).Expect(http.StatusCreated)
	day := now.Format("2006-01-02")

	b := wsSignIn(t, srv, "admin@example.com", "/inbox")
	for _, screen := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		Do(t, b, chromedp.EmulateViewport(screen.w, screen.h))
		Do(t, b,
			chromedp.Navigate(srv.URL+"/admin/reports/satisfaction?from="+day+"&to="+day),
			chromedp.WaitVisible(chromedp.CSS(`table.csat-table`)),
		)
		Shot(t, b, "satisfaction-"+screen.name)
		phoneFits(t, b, "the satisfaction report at "+screen.name)
		for _, sel := range []string{`.kpis`, `.csat-comments`, `.report-form`} {
			fitsIn(t, b, sel, `section.card`)
		}
		if screen.name == "desktop" {
			// Tables and charts fit; on a phone they scroll inside the
			// card (phoneFits: the page does not).
			for _, sel := range []string{`.table-scroll`, `.chart-scroll`} {
				fitsIn(t, b, sel, `section.card`)
			}
		}
		if n := wsEval[int](t, b, `document.querySelectorAll("table.csat-table tbody tr").length`); n != 7 {
			t.Errorf("%s: %d agents in the table, want 7", screen.name, n)
		}
		if got := wsEval[string](t, b, `document.querySelector('[data-kpi="sent"]').textContent`); got != "14" {
			t.Errorf("%s: %q surveys sent, want 14", screen.name, got)
		}
		if n := wsEval[int](t, b, `document.querySelectorAll("svg.csat-chart rect").length`); n != 14 {
			t.Errorf("%s: %d bars in the ratings chart, want one per agent and level rated (14)", screen.name, n)
		}
		// The chart's names end before their bars.
		if over := wsEval[string](t, b, `Array.from(document.querySelectorAll("svg.status-chart g.chart-row")).filter(g => {
			const bar = g.querySelector("rect");
			return bar && g.querySelector(".chart-name").getBoundingClientRect().right > bar.getBoundingClientRect().left;
		}).map(g => g.querySelector(".chart-name").textContent).join(", ")`); over != "" {
			t.Errorf("%s: chart names run into their bars: %s", screen.name, over)
		}
		wsWaitText(t, b, `.csat-comment .comment-text`, "Ana was quick and kind")
		// The first agent answered in 30 s.
		if got := wsEval[string](t, b, fmt.Sprintf(`document.querySelector('table.times-table tr[data-row="%d"] [data-col="first-median"]').dataset.seconds`, agents[0].UserID)); got != "30" {
			t.Errorf("%s: first response median %q, want 30", screen.name, got)
		}
		if got := wsEval[string](t, b, `document.querySelector('table.auto-table tr[data-kind="csat"] [data-col="sent"]').textContent`); got != "14" {
			t.Errorf("%s: %q surveys among the automatic messages, want 14", screen.name, got)
		}
	}

	// Per team, for one inbox: the form as a person uses it.
	Do(t, b, chromedp.EmulateViewport(1280, 800))
	wsChoose(t, b, `select[name=group]`, "team")
	wsChoose(t, b, `select[name=inbox]`, fmt.Sprint(in.ID))
	Do(t, b, chromedp.Click(chromedp.CSS(`.report-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`table.csat-table[data-group="team"]`)))
	if got := wsEval[string](t, b, `Array.from(document.querySelectorAll("table.csat-table tbody tr")).map(r => r.querySelector("th").textContent + ":" + r.querySelector('[data-col="sent"]').textContent).join(",")`); got != "Front desk:2" {
		t.Errorf("per team on Website: %q, want Front desk:2", got)
	}
	// The page's CSV link exports what the page shows.
	csv := Run(t, b, chromedp.Evaluate[string](`fetch(document.querySelector('a[href*="table=csat"]').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if !strings.HasPrefix(csv, "Team,Surveys sent,") || !strings.Contains(csv, "\nFront desk,2,2,") {
		t.Errorf("the CSV link exports:\n%s", csv)
	}
	// A wrong date: the message beside the form, the value kept.
	AllowStatus(b, http.StatusUnprocessableEntity, "/admin/reports/satisfaction")
	Do(t, b, chromedp.Navigate(srv.URL+"/admin/reports/satisfaction?from=2026-02-30&to="+day))
	wsWaitText(t, b, `.field-error[data-field="from"]`, "like 2026-01-31")
	if v := wsEval[string](t, b, `document.querySelector("input[name=from]").value`); v != "" && v != "2026-02-30" {
		t.Errorf("the refused date shows as %q", v)
	}

	// From a comment to its conversation: the rating in the header, the
	// survey marked as automatic, at both widths.
	Do(t, b, chromedp.Navigate(srv.URL+"/admin/reports/satisfaction?from="+day+"&to="+day))
	Do(t, b, chromedp.Click(chromedp.CSS(fmt.Sprintf(`.csat-comment[data-conversation="%d"] a`, convs[0]))), chromedp.WaitVisible(chromedp.CSS(`#conv-head .csat-rating`)))
	wsWaitText(t, b, `#conv-head .csat-rating`, "Rated 5/5 · Ana was quick and kind, thank you!")
	wsWaitText(t, b, `#messages .msg.auto .auto-label`, "Sent automatically · Satisfaction survey")
	Shot(t, b, "rated-conversation")
	Do(t, b, chromedp.EmulateViewport(390, 844))
	Do(t, b, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", srv.URL, convs[7])), chromedp.WaitVisible(chromedp.CSS(`#conv-head .csat-rating`)))
	phoneFits(t, b, "a rated conversation with a long comment")
	fitsIn(t, b, `#conv-head .csat-rating`, `#conv-head`)
	if h := wsEval[float64](t, b, `document.querySelector("#conv-head .csat-rating").getBoundingClientRect().height`); h > 48 {
		t.Errorf("the rating takes %v px of the header, want at most two lines", h)
	}
	Shot(t, b, "rated-conversation-phone")
}
