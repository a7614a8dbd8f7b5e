package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
	"github.com/switchboardhq/switchboard/internal/user"
)

// fitsIn fails the test unless every element matching inner lies within
// the content box (inside the padding) of its closest ancestor matching
// outer, and has nothing to scroll sideways.
func fitsIn(t *testing.T, ctx context.Context, inner, outer string) {
	t.Helper()
	msg := wsEval[string](t, ctx, fmt.Sprintf(`(() => {
		const els = document.querySelectorAll(%q);
		if (els.length === 0) return "nothing matches " + %[1]q;
		for (const el of els) {
			const box = el.closest(%q);
			if (!box) return %[1]q + " is not in " + %[2]q;
			const r = el.getBoundingClientRect(), b = box.getBoundingClientRect(), s = getComputedStyle(box);
			const left = b.left + parseFloat(s.borderLeftWidth) + parseFloat(s.paddingLeft);
			const right = b.right - parseFloat(s.borderRightWidth) - parseFloat(s.paddingRight);
			const top = b.top + parseFloat(s.borderTopWidth);
			if (r.left < left - 0.5 || r.right > right + 0.5 || r.top < top - 0.5)
				return %[1]q + " spans " + [r.left, r.top, r.right].map(Math.round) + ", outside " + %[2]q + " (" + [left, top, right].map(Math.round) + ")";
			if (el.scrollWidth > el.clientWidth + 1) return %[1]q + " scrolls sideways: " + el.scrollWidth + " > " + el.clientWidth;
		}
		return "";
	})()`, inner, outer))
	if msg != "" {
		t.Error(msg)
	}
}

// TestTimeInStatusFitsItsCard: on a desktop screen the report of seven
// agents with long names, days in every status, fits in its card: no
// column runs past the card's edge and nothing scrolls sideways.
func TestTimeInStatusFitsItsCard(t *testing.T) {
	d := dbtest.SQLite(t)
	srv := testrig.Start(t, d)
	srv.NewUser("admin@example.com", policy.Admin)
	for i := range 7 {
		c := srv.NewUser(fmt.Sprintf("agent.with.a.rather.long.name%d@example.com", i), policy.Service)
		for _, st := range user.Statuses {
			c.Do("PUT", "/api/v1/me/status", map[string]string{"status": string(st)}).Expect(http.StatusOK)
		}
	}
	// Days in each status.
	if _, err := d.Exec(context.Background(), `UPDATE status_intervals SET started_at = $1`, time.Now().Add(-75*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ctx := wsSignIn(t, srv, "admin@example.com", "/inbox")
	from, to := time.Now().UTC().Add(-96*time.Hour).Format("2006-01-02"), time.Now().UTC().Format("2006-01-02")
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/admin/reports/time-in-status?from="+from+"&to="+to),
		chromedp.WaitVisible(chromedp.CSS(`table.report-table`)),
	)
	Shot(t, ctx, "report")
	fitsIn(t, ctx, `.table-scroll`, `section.card`)
	fitsIn(t, ctx, `table.report-table`, `section.card`)
	fitsIn(t, ctx, `svg.status-chart`, `section.card`)
	// The chart's names end before their bars.
	if over := wsEval[string](t, ctx, `Array.from(document.querySelectorAll("svg.status-chart g.chart-row")).filter(g => {
		const bar = g.querySelector("rect");
		return bar && g.querySelector(".chart-name").getBoundingClientRect().right > bar.getBoundingClientRect().left;
	}).map(g => g.querySelector(".chart-name").textContent).join(", ")`); over != "" {
		t.Errorf("chart names run into their bars: %s", over)
	}
	if n := wsEval[int](t, ctx, `document.querySelectorAll("table.report-table tbody td[data-status] .average").length`); n < 7*7 {
		t.Errorf("%d averages shown, want one per agent and status", n)
	}
}

// TestConversationListLayout: the list's "New WhatsApp conversation"
// button keeps its distance from the edges, and an empty list says so at
// its top, centred, not at the bottom of the page.
func TestConversationListLayout(t *testing.T) {
	fake := graphfake.NewServer(graphfake.Options{Seed: 1})
	t.Cleanup(fake.Close)
	srv := testrig.Start(t, dbtest.SQLite(t), testrig.Options{Config: func(c *config.Config) { c.WhatsAppGraphURL, _ = url.Parse(fake.URL) }})
	ana := srv.NewUser("ana@example.com", policy.Service)
	num := fake.AddNumber(graphfake.Number{AppSecret: "layout"})
	if _, _, err := srv.App.Inboxes.Create(context.Background(), inbox.NewInbox{Type: whatsapp.Type, Name: "Line", MemberIDs: []int64{ana.UserID},
		Settings: map[inbox.Type]any{whatsapp.Type: &whatsapp.Config{PhoneNumberID: num.ID, WABAID: num.WABAID, DisplayPhoneNumber: num.Phone, AccessToken: num.Token, AppSecret: "layout"}}}); err != nil {
		t.Fatal(err)
	}
	ctx := wsSignIn(t, srv, "ana@example.com", "/inbox")
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#rows-empty`)), chromedp.WaitVisible(chromedp.CSS(`.list .wa-new a.button`)))
	Shot(t, ctx, "empty")

	type box struct{ Left, Top, Right, Bottom, Width float64 }
	rect := func(sel string) box {
		return wsEval[box](t, ctx, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}; })()`, sel))
	}
	list, button := rect(`section.list`), rect(`.list .wa-new a.button`)
	if button.Left-list.Left < 8 || button.Top-list.Top < 8 || button.Right > list.Right-8 {
		t.Errorf("the New WhatsApp conversation button %+v touches the edge of the list %+v", button, list)
	}
	empty, filters := rect(`#rows-empty`), rect(`.list .filters`)
	if empty.Top < filters.Bottom || empty.Top-filters.Bottom > 40 {
		t.Errorf("the empty list's message starts at %.0f, want it just under the filters (%.0f)", empty.Top, filters.Bottom)
	}
	if align := wsEval[string](t, ctx, `getComputedStyle(document.querySelector("#rows-empty")).textAlign`); align != "center" {
		t.Errorf("the empty list's message is aligned %s", align)
	}
	if d := (empty.Left - list.Left) - (list.Right - empty.Right); d < -1 || d > 1 {
		t.Errorf("the empty list's message %+v is not centred in the list %+v", empty, list)
	}
}
