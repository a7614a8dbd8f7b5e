package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// nframe is a WebSocket frame with its notification trigger.
type nframe struct {
	Seq    int64           `json:"seq"`
	Type   string          `json:"type"`
	Data   json.RawMessage `json:"data"`
	Notify string          `json:"notify"`
}

// readFrames reads frames until match returns true, failing after 5 s.
func readFrames(t *testing.T, ws *websocket.Conn, match func(nframe) bool) nframe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for a frame: %v", err)
		}
		var f nframe
		json.Unmarshal(b, &f)
		if match(f) {
			return f
		}
	}
}

func setStatus(t *testing.T, c *testrig.Client, st string) {
	t.Helper()
	c.Do("PUT", "/api/v1/me/status", map[string]string{"status": st}).Expect(http.StatusOK)
}

func assigneeOf(t *testing.T, admin *testrig.Client, inboxID int64) []*int64 {
	t.Helper()
	var p page[conv]
	admin.Do("GET", fmt.Sprintf("/api/v1/conversations?inbox_id=%d&limit=100", inboxID), nil).Expect(200).Decode(&p)
	out := make([]*int64, len(p.Items))
	for i, c := range p.Items {
		out[len(p.Items)-1-i] = c.AssigneeID // oldest first
	}
	return out
}

// TestStatusesAndAssignment: after signing in an agent is Away; only
// Available agents get new conversations automatically, in turn; every
// other status stops new assignments and keeps existing conversations.
// Statuses reach every tab; the agent's tab hears which notification a
// conversation calls for.
func TestStatusesAndAssignment(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service)
		bo := srv.NewUser("bo@example.com", policy.Service)
		sam := srv.NewUser("sam@example.com", policy.Sales)
		in, _ := srv.NewWebchatInbox("Site", ana.UserID, bo.UserID, sam.UserID)
		if st := me(t, ana).Status; st != "away" {
			t.Fatalf("after signing in: %s", st)
		}
		if e := ana.Do("PUT", "/api/v1/me/status", map[string]string{"status": "napping"}).Expect(422).Err(); e.Fields["status"] == "" {
			t.Fatalf("unknown status: %+v", e)
		}
		anaWS := dialWS(t, srv, ana.WithToken(), -1)

		// The setting is off: nobody is assigned.
		srv.NewVisitor(in.Token, nil).Say("first")
		if got := assigneeOf(t, admin, in.ID); got[0] != nil {
			t.Fatalf("assigned with the setting off: %v", *got[0])
		}
		admin.Do("PUT", fmt.Sprintf("/api/v1/inboxes/%d/assignment", in.ID), map[string]bool{"auto_assign": true}).Expect(200)

		// Nobody Available: the conversation waits unassigned, and the
		// service agent (who may claim it) is told.
		srv.NewVisitor(in.Token, nil).Say("second")
		f := readFrames(t, anaWS, func(f nframe) bool { return f.Type == "conversation.created" })
		if f.Notify != "unassigned" {
			t.Errorf("unassigned conversation: notify %q", f.Notify)
		}
		setStatus(t, ana, "available")
		if f := readFrames(t, anaWS, func(f nframe) bool { return f.Type == "status.changed" }); !strings.Contains(string(f.Data), `"status":"available"`) {
			t.Errorf("status event %s", f.Data)
		}
		setStatus(t, bo, "available")
		setStatus(t, sam, "busy")
		for _, text := range []string{"third", "fourth", "fifth"} {
			srv.NewVisitor(in.Token, nil).Say(text)
		}
		// The conversation that waited went to Ana as she turned
		// Available; the next ones take turns between Ana and Bo.
		got := assigneeOf(t, admin, in.ID)
		if len(got) != 5 || got[1] == nil || *got[1] != ana.UserID || got[2] == nil || got[3] == nil || got[4] == nil ||
			*got[2] == *got[3] || *got[2] != *got[4] || *got[2] == sam.UserID || *got[3] == sam.UserID {
			t.Fatalf("assignments %v", ids(got))
		}
		// Ana hears of the conversation assigned to her.
		f = readFrames(t, anaWS, func(f nframe) bool { return f.Type == "conversation.created" && f.Notify != "" })
		if f.Notify != "assigned" {
			t.Errorf("assigned: notify %q", f.Notify)
		}

		// Every other status stops new assignments and keeps the
		// conversations an agent has.
		mine := 0
		for _, a := range got {
			if a != nil && *a == ana.UserID {
				mine++
			}
		}
		for _, st := range []string{"away", "unavailable", "on_break", "after_call_work", "do_not_disturb", "busy"} {
			setStatus(t, ana, st)
			setStatus(t, bo, st)
			srv.NewVisitor(in.Token, nil).Say("while " + st)
			all := assigneeOf(t, admin, in.ID)
			if last := all[len(all)-1]; last != nil {
				t.Errorf("assigned while %s", st)
			}
			kept := 0
			for _, a := range all {
				if a != nil && *a == ana.UserID {
					kept++
				}
			}
			if kept != mine {
				t.Errorf("%s: ana has %d conversations, had %d", st, kept, mine)
			}
		}

		// A customer's message in Ana's conversation, and a transfer to
		// her: the notifications they call for.
		setStatus(t, ana, "available")
		v := srv.NewVisitor(in.Token, nil)
		v.Say("hello Ana")
		f = readFrames(t, anaWS, func(f nframe) bool { return f.Type == "conversation.created" && f.Notify == "assigned" })
		var c struct{ ID int64 }
		json.Unmarshal(f.Data, &c)
		v.Say("are you there?")
		if f := readFrames(t, anaWS, func(f nframe) bool { return f.Type == "message.created" }); f.Notify != "message" {
			t.Errorf("message: notify %q", f.Notify)
		}
		admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", c.ID), map[string]any{"assignee_id": bo.UserID}).Expect(200)
		admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", c.ID), map[string]any{"assignee_id": ana.UserID}).Expect(200)
		// (The conversations that waited while nobody was Available went
		// to Ana as she turned Available again: their frames come first.)
		f = readFrames(t, anaWS, func(f nframe) bool {
			var u struct{ ID int64 }
			json.Unmarshal(f.Data, &u)
			return f.Type == "conversation.updated" && f.Notify != "" && u.ID == c.ID
		})
		if f.Notify != "transferred" {
			t.Errorf("transfer: notify %q", f.Notify)
		}
		// The status menu (a form under the avatar) works without scripts.
		noRedirects(ana)
		r := form(ana, "/preferences/status", url.Values{"status": {"on_break"}})
		if r.StatusCode != 303 {
			t.Fatalf("status menu: %d", r.StatusCode)
		}
		ana.HTTP.CheckRedirect = nil
		page := ana.Do("GET", "/inbox", nil).Expect(200)
		if !strings.Contains(string(page.Body), `<span id="me-status"><span class="status-badge" data-status="on_break">On break</span></span>`) {
			t.Error("the header does not show the status")
		}
		setStatus(t, ana, "busy")
		page = ana.Do("GET", "/inbox", nil).Expect(200)
		if !strings.Contains(string(page.Body), `<span class="status-badge" data-status="busy">Busy</span>`) {
			t.Error("the header does not show Busy")
		}
	})
}

func ids(ps []*int64) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		if p == nil {
			out[i] = nil
		} else {
			out[i] = *p
		}
	}
	return out
}

// TestAwayWhenGone: when all of an agent's connections have been gone for
// the configured time, the agent becomes Away.
func TestAwayWhenGone(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) { c.AwayAfter = 700 * time.Millisecond }})
		ana := srv.NewUser("ana@example.com", policy.Service)
		tok := ana.WithToken()
		one, two := dialWS(t, srv, tok, -1), dialWS(t, srv, tok, -1)
		setStatus(t, ana, "available")
		one.Close(websocket.StatusNormalClosure, "")
		// Once the node has counted the close, nothing is scheduled and
		// nothing would make her Away: a tab is still open.
		for deadline := time.Now().Add(10 * time.Second); srv.App.Presence.Connections(ana.UserID) != 1; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections counted after closing one of two", srv.App.Presence.Connections(ana.UserID))
			}
		}
		var jobs int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = $1`, availability.AwayJob).Scan(&jobs); err != nil || jobs != 0 {
			t.Fatalf("%d Away jobs scheduled with a tab left (%v)", jobs, err)
		}
		if changed, err := srv.App.Presence.AwayIfGone(context.Background(), ana.UserID); changed || err != nil {
			t.Fatalf("one tab left, yet made Away (%v)", err)
		}
		if st := me(t, ana).Status; st != "available" {
			t.Fatalf("one tab left, yet %s", st)
		}
		start := time.Now()
		two.Close(websocket.StatusNormalClosure, "")
		for deadline := time.Now().Add(10 * time.Second); me(t, ana).Status != "away"; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("never Away after the last connection closed")
			}
		}
		if el := time.Since(start); el < 700*time.Millisecond {
			t.Errorf("Away after %v, before the configured 700ms", el)
		}
	})
}

// TestTimeInStatusReport: status changes are intervals; the report adds
// them up per agent and per team, as JSON, a page with a table and a
// chart, and CSV.
func TestTimeInStatusReport(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service)
		admin.Do("POST", "/api/v1/teams", map[string]any{"name": "Support", "member_ids": []int64{ana.UserID}}).Expect(201)
		setStatus(t, ana, "available")
		setStatus(t, ana, "on_break")
		setStatus(t, ana, "available")
		// As if each status had lasted a second.
		spread(t, d, ana.UserID, time.Second)

		today := time.Now().UTC().Format("2006-01-02")
		var rep struct {
			Group string `json:"group"`
			Rows  []struct {
				ID     int64  `json:"id"`
				Name   string `json:"name"`
				Agents int    `json:"agents"`
				Times  map[string]struct {
					Total     int64 `json:"total_seconds"`
					Average   int64 `json:"average_seconds"`
					Intervals int   `json:"intervals"`
				} `json:"times"`
			} `json:"rows"`
		}
		admin.Do("GET", "/api/v1/reports/time-in-status?from="+today+"&to="+today, nil).Expect(200).Decode(&rep)
		found := false
		for _, r := range rep.Rows {
			if r.ID == ana.UserID {
				found = true
				if a := r.Times["available"]; a.Total < 1 || a.Intervals != 2 {
					t.Errorf("available %+v", a)
				}
				if b := r.Times["on_break"]; b.Total < 1 || b.Intervals != 1 || b.Average != b.Total {
					t.Errorf("on break %+v", b)
				}
			}
		}
		if !found || rep.Group != "agent" {
			t.Fatalf("report %+v", rep)
		}
		admin.Do("GET", "/api/v1/reports/time-in-status?group=team", nil).Expect(200).Decode(&rep)
		if len(rep.Rows) != 1 || rep.Rows[0].Name != "Support" || rep.Rows[0].Agents != 1 || rep.Rows[0].Times["on_break"].Total < 1 {
			t.Fatalf("team report %+v", rep)
		}
		if e := admin.Do("GET", "/api/v1/reports/time-in-status?from=2026-02-01&to=2026-01-01", nil).Expect(422).Err(); e.Fields["to"] == "" {
			t.Errorf("reversed range %+v", e)
		}
		ana.Do("GET", "/api/v1/reports/time-in-status", nil).Expect(403)

		page := admin.Do("GET", "/admin/reports/time-in-status?from="+today+"&to="+today, nil).Expect(200)
		for _, want := range []string{`<svg viewBox=`, `class="st-on_break"`, `<table class="report-table">`, `data-status="on_break"`, "Export CSV",
			`href="/admin/reports/time-in-status.csv?from=` + today + `&amp;to=` + today + `&amp;group=agent"`} {
			if !strings.Contains(string(page.Body), want) {
				t.Errorf("report page lacks %s", want)
			}
		}
		r := admin.Do("GET", "/admin/reports/time-in-status.csv?from="+today+"&to="+today+"&group=agent", nil).Expect(200)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("CSV served as %s, %s", ct, r.Header.Get("Content-Disposition"))
		}
		lines, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if lines[0][0] != "Agent" || lines[0][2] != "Status" {
			t.Errorf("CSV header %v", lines[0])
		}
		ok := false
		for _, l := range lines[1:] {
			if l[0] == "Ana" && l[2] == "On break" && l[4] != "0" {
				ok = true
			}
		}
		if !ok {
			t.Errorf("CSV lacks Ana's break: %v", lines)
		}
	})
}

// spread moves userID's last intervals back in time so that each one
// lasts step and the last one, still open, began step ago.
func spread(t *testing.T, d *db.DB, userID int64, step time.Duration) {
	t.Helper()
	ctx := context.Background()
	rows, err := d.Query(ctx, `SELECT id FROM status_intervals WHERE user_id = $1 ORDER BY id DESC LIMIT 3`, userID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	now := db.Now()
	for i, id := range ids {
		start, end := now.Add(-time.Duration(i+1)*step), any(now.Add(-time.Duration(i)*step))
		if i == 0 {
			end = nil
		}
		if _, err := d.Exec(ctx, `UPDATE status_intervals SET started_at = $2, ended_at = $3 WHERE id = $1`, id, start, end); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNotificationSettings: the triggers' settings are saved, bad values
// are refused next to their fields, and every open tab hears the change;
// the Settings tab's capital first letter reaches the page.
func TestNotificationSettings(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	ws := dialWS(t, srv, ana.WithToken(), -1)
	v := url.Values{}
	for _, tr := range []string{"assigned", "message", "unassigned", "transferred"} {
		v.Set(tr+".on", "1")
		v.Set(tr+".sound", "chime")
		v.Set(tr+".sound_when", "background")
		v.Set(tr+".repeat", "once")
	}
	v.Set("message.sound", "beep")
	v.Set("message.sound_when", "always")
	v.Set("message.repeat", "until_read")
	v.Set("message.popup", "1")
	v.Del("unassigned.on")
	noRedirects(ana)
	form(ana, "/preferences/notifications", v).Expect(303)
	f := readFrames(t, ws, func(f nframe) bool { return f.Type == "preferences.changed" })
	if !strings.Contains(string(f.Data), `"message":{"on":true,"sound":"beep","sound_when":"always","repeat":"until_read","popup":true}`) {
		t.Errorf("event %s", f.Data)
	}
	m := me(t, ana)
	if n := m.Preferences.Notifications; n["unassigned"].On || !n["message"].Popup || n["message"].Repeat != "until_read" {
		t.Errorf("saved %+v", n)
	}
	bad := url.Values{}
	for k, vs := range v {
		bad[k] = vs
	}
	bad.Set("message.sound", "siren")
	bad.Set("assigned.repeat", "forever")
	r := form(ana, "/preferences/notifications", bad).Expect(422)
	if fieldError(r.Body, "message.sound") == "" || fieldError(r.Body, "assigned.repeat") == "" {
		t.Errorf("refused settings: %s", r.Body)
	}
	if !strings.Contains(string(r.Body), `name="message.popup" value="1" class="popup-toggle" checked`) {
		t.Error("the refused form forgot what was chosen")
	}
	form(ana, "/preferences/settings", url.Values{"capitalize_first": {"1"}}).Expect(303)
	ana.HTTP.CheckRedirect = nil
	if !me(t, ana).Preferences.CapitalizeFirst {
		t.Error("capital first letter not saved")
	}
	if p := ana.Do("GET", "/inbox", nil).Expect(200); !strings.Contains(string(p.Body), `data-capitalize="true"`) {
		t.Error("the composer does not hear of the setting")
	}
}
