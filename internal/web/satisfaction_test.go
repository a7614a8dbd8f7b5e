package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// satisfactionSeed is a conversation a visitor started and Ana
// answered two minutes later and closed after an hour, with the
// customer's rating; and a survey not answered.
type satisfactionSeed struct {
	srv          *testrig.Server
	admin, ana   *testrig.Client
	inbox, conv  int64
	today        string
	asked, rated time.Time
}

func seedSatisfaction(t *testing.T, d *db.DB, comment string) satisfactionSeed {
	t.Helper()
	ctx := context.Background()
	s := satisfactionSeed{srv: testrig.Start(t, d)}
	s.admin = s.srv.NewUser("admin@example.com", policy.Admin)
	s.ana = s.srv.NewUser("ana@example.com", policy.Service)
	in, _ := s.srv.NewWebchatInbox("Shop", s.ana.UserID)
	s.inbox = in.ID
	var list struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	// The other conversation, still open and not answered, got a survey
	// before (from when it was closed once) that was never answered.
	s.srv.NewVisitor(in.Token, nil).Say("anyone?")
	s.admin.Do("GET", "/api/v1/conversations?limit=1", nil).Expect(http.StatusOK).Decode(&list)
	other := list.Items[0].ID
	s.admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", other), map[string]any{"assignee_id": s.ana.UserID}).Expect(http.StatusOK)
	s.srv.NewVisitor(in.Token, nil).Say("hello")
	s.admin.Do("GET", "/api/v1/conversations?limit=1", nil).Expect(http.StatusOK).Decode(&list)
	s.conv = list.Items[0].ID
	s.admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", s.conv), map[string]any{"assignee_id": s.ana.UserID}).Expect(http.StatusOK)
	s.ana.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", s.conv), map[string]any{"text": "Hi, how can I help?"}).Expect(http.StatusCreated)
	s.ana.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", s.conv), nil).Expect(http.StatusOK)

	// As if the customer had written an hour ago, been answered two
	// minutes later, and rated the conversation when it closed.
	now := db.Now()
	s.today = now.Format("2006-01-02")
	s.asked = now.Add(-time.Hour)
	if midnight := now.Truncate(24 * time.Hour); s.asked.Before(midnight) {
		s.asked = midnight
	}
	s.rated = s.asked.Add(time.Hour)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE conversations SET first_customer_message_at = $2, first_response_at = $3, closed_at = $4 WHERE id = $1`,
			[]any{s.conv, s.asked, s.asked.Add(2 * time.Minute), s.rated}},
		{`INSERT INTO csat_ratings (conversation_id, inbox_id, agent_id, contact_id, message_id, rating, comment, sent_at, rated_at)
			SELECT id, inbox_id, $2, contact_id, 0, 4, $3, $4, $4 FROM conversations WHERE id = $1`,
			[]any{s.conv, s.ana.UserID, comment, s.rated}},
		{`INSERT INTO csat_ratings (conversation_id, inbox_id, agent_id, contact_id, message_id, sent_at)
			SELECT id, inbox_id, $2, contact_id, 0, $3 FROM conversations WHERE id = $1`,
			[]any{other, s.ana.UserID, s.rated}},
	} {
		if _, err := d.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	return s
}

func TestSatisfactionReport(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s := seedSatisfaction(t, d, "Quick <b>and</b> kind")
		admin, ana, today := s.admin, s.ana, s.today

		var rep struct {
			Group string `json:"group"`
			Total struct {
				Sent, Rated  int
				ResponseRate float64 `json:"response_rate"`
				Average      float64
				Distribution []int
			} `json:"total"`
			Rows []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
				Sent int    `json:"sent"`
			} `json:"rows"`
			Comments []struct {
				ConversationID int64  `json:"conversation_id"`
				Comment        string `json:"comment"`
				Agent          string `json:"agent"`
				Rating         int    `json:"rating"`
			} `json:"comments"`
		}
		admin.Do("GET", "/api/v1/reports/csat?from="+today+"&to="+today, nil).Expect(http.StatusOK).Decode(&rep)
		if rep.Group != "agent" || rep.Total.Sent != 2 || rep.Total.Rated != 1 || rep.Total.ResponseRate != 0.5 || rep.Total.Average != 4 ||
			fmt.Sprint(rep.Total.Distribution) != "[0 0 0 1 0]" || len(rep.Rows) != 1 || rep.Rows[0].ID != ana.UserID || rep.Rows[0].Name != "Ana" {
			t.Errorf("csat %+v", rep)
		}
		if len(rep.Comments) != 1 || rep.Comments[0].Comment != "Quick <b>and</b> kind" || rep.Comments[0].ConversationID != s.conv || rep.Comments[0].Agent != "Ana" {
			t.Errorf("comments %+v", rep.Comments)
		}
		admin.Do("GET", fmt.Sprintf("/api/v1/reports/csat?from=%s&to=%s&group=inbox&inbox=%d", today, today, s.inbox), nil).Expect(http.StatusOK).Decode(&rep)
		if len(rep.Rows) != 1 || rep.Rows[0].Name != "Shop" || rep.Rows[0].Sent != 2 {
			t.Errorf("per inbox %+v", rep.Rows)
		}

		var times struct {
			Rows []struct {
				Name          string `json:"name"`
				FirstResponse struct {
					Count         int   `json:"count"`
					MedianSeconds int64 `json:"median_seconds"`
					P90Seconds    int64 `json:"p90_seconds"`
				} `json:"first_response"`
				Resolution struct {
					Count         int   `json:"count"`
					MedianSeconds int64 `json:"median_seconds"`
				} `json:"resolution"`
			} `json:"rows"`
			Automatic []struct {
				Kind string `json:"kind"`
				Sent int    `json:"sent"`
			} `json:"automatic"`
		}
		admin.Do("GET", "/api/v1/reports/response-times?from="+today+"&to="+today, nil).Expect(http.StatusOK).Decode(&times)
		if len(times.Rows) != 1 || times.Rows[0].Name != "Ana" || times.Rows[0].FirstResponse.Count != 1 || times.Rows[0].FirstResponse.MedianSeconds != 120 ||
			times.Rows[0].FirstResponse.P90Seconds != 120 || times.Rows[0].Resolution.Count != 1 || times.Rows[0].Resolution.MedianSeconds != 3600 {
			t.Errorf("response times %+v", times)
		}

		// Wrong filters: a message per field.
		e := admin.Do("GET", "/api/v1/reports/csat?from=2026-02-01&to=2026-01-01&inbox=abc&group=week", nil).Expect(http.StatusUnprocessableEntity).Err()
		if e.Fields["to"] == "" || e.Fields["inbox"] == "" {
			t.Errorf("wrong filters %+v", e)
		}
		e = admin.Do("GET", "/api/v1/reports/response-times?group=week&agent=99999", nil).Expect(http.StatusUnprocessableEntity).Err()
		if e.Fields["group"] == "" || e.Fields["agent"] == "" {
			t.Errorf("wrong filters %+v", e)
		}
		ana.Do("GET", "/api/v1/reports/csat", nil).Expect(http.StatusForbidden)
		ana.Do("GET", "/api/v1/reports/response-times", nil).Expect(http.StatusForbidden)

		// The page: tables, charts, the comment as text.
		page := string(admin.Do("GET", "/admin/reports/satisfaction?from="+today+"&to="+today, nil).Expect(http.StatusOK).Body)
		for _, want := range []string{`class="status-chart csat-chart"`, `class="lv-4"`, `<table class="report-table csat-table" data-group="agent">`, `data-kpi="average">4.0`,
			`Quick &lt;b&gt;and&lt;/b&gt; kind`, `class="status-chart time-chart"`, `data-col="first-median" data-seconds="120"`, `href="/inbox/conversations/` + fmt.Sprint(s.conv),
			`href="/admin/reports/satisfaction.csv?from=` + today + `&amp;group=agent&amp;to=` + today + `&amp;table=comments"`, `aria-current="page">Satisfaction`} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
		if strings.Contains(page, "<b>and</b>") {
			t.Error("the comment is rendered as HTML")
		}
		bad := admin.Do("GET", "/admin/reports/satisfaction?from=yesterday&team=x", nil).Expect(http.StatusUnprocessableEntity)
		if b := string(bad.Body); !strings.Contains(b, `data-field="from"`) || !strings.Contains(b, `data-field="team"`) || !strings.Contains(b, `value="yesterday"`) {
			t.Errorf("the refused filters are not shown with their fields:\n%s", b)
		}

		// The CSV of each table.
		for _, c := range []struct {
			table string
			head  []string
			row   []string
		}{
			{"csat", []string{"Agent", "Surveys sent", "Rated", "Response rate", "Average", "Ratings of 1"}, []string{"Ana", "2", "1", "50.0", "4.00", "0", "0", "0", "1", "0"}},
			{"comments", []string{"Rated", "Rating", "Comment"}, []string{s.rated.Format(time.RFC3339), "4", "Quick <b>and</b> kind", "Ana", "Shop", fmt.Sprint(s.conv)}},
			{"times", []string{"Agent", "First responses"}, []string{"Ana", "1", "120", "120", "1", "3600", "3600", "1"}},
			{"automatic", []string{"Message", "Kind"}, nil},
		} {
			r := admin.Do("GET", "/admin/reports/satisfaction.csv?from="+today+"&to="+today+"&table="+c.table, nil).Expect(http.StatusOK)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(r.Header.Get("Content-Disposition"), "satisfaction-"+c.table) {
				t.Errorf("%s: served as %s, %s", c.table, ct, r.Header.Get("Content-Disposition"))
			}
			lines, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) == 0 || strings.Join(lines[0][:len(c.head)], ",") != strings.Join(c.head, ",") {
				t.Errorf("%s: header %v", c.table, lines)
				continue
			}
			if c.row != nil && (len(lines) < 2 || strings.Join(lines[1], "|") != strings.Join(c.row, "|")) {
				t.Errorf("%s: %v, want the row %v", c.table, lines, c.row)
			}
		}
		admin.Do("GET", "/admin/reports/satisfaction.csv?table=everything", nil).Expect(http.StatusUnprocessableEntity)
	})
}

// The conversation shows its rating, and the messages Switchboard or a
// bot sent by themselves say so.
func TestConversationShowsRatingAndAutomaticMessages(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s := seedSatisfaction(t, d, "Quick <b>and</b> kind")
		for _, m := range []struct{ sender, kind string }{{"system", "csat"}, {"system", "welcome"}, {"system", ""}, {"bot", "menu"}} {
			var kind any
			if m.kind != "" {
				kind = m.kind
			}
			if _, err := d.Exec(context.Background(), `INSERT INTO messages (conversation_id, inbox_id, direction, sender_type, type, text, status, auto_kind, created_at, updated_at)
				VALUES ($1, $2, 'outbound', $3, 'text', $4, 'sent', $5, $6, $6)`, s.conv, s.inbox, m.sender, "from "+m.sender+" "+m.kind, kind, db.Now()); err != nil {
				t.Fatal(err)
			}
		}
		// Auto-close said why in the history.
		if _, err := d.Exec(context.Background(), `INSERT INTO conversation_activities (conversation_id, kind, actor_type, after_message_id, created_at, note)
			VALUES ($1, 'closed', 'system', (SELECT MAX(id) FROM messages WHERE conversation_id = $1), $2, 'The customer did not reply for 3 hours.')`, s.conv, db.Now()); err != nil {
			t.Fatal(err)
		}
		page := string(s.ana.Do("GET", fmt.Sprintf("/inbox/conversations/%d", s.conv), nil).Expect(http.StatusOK).Body)
		for _, want := range []string{
			`Closed automatically<span class="activity-note"> · The customer did not reply for 3 hours.</span>`,
			`<p class="csat-rating" data-rating="4" title="Quick &lt;b&gt;and&lt;/b&gt; kind"><span class="csat-value">Rated 4/5</span> · <span class="csat-text">Quick &lt;b&gt;and&lt;/b&gt; kind</span></p>`,
			`data-auto="csat">Sent automatically · Satisfaction survey</span>`,
			`data-auto="welcome">Sent automatically · Welcome message</span>`,
			`data-auto="">System</span>`,
			`data-auto="bot">Bot</span>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the conversation lacks %s", want)
			}
		}
		// The header alone (live updates) carries it too; a conversation
		// not rated shows nothing.
		head := string(s.ana.Do("GET", fmt.Sprintf("/inbox/conversations/%d/head", s.conv), nil).Expect(http.StatusOK).Body)
		if !strings.Contains(head, `data-rating="4"`) {
			t.Errorf("the header lacks the rating:\n%s", head)
		}
		if _, err := d.Exec(context.Background(), `UPDATE csat_ratings SET rating = NULL, comment = '', rated_at = NULL WHERE conversation_id = $1`, s.conv); err != nil {
			t.Fatal(err)
		}
		if page := string(s.ana.Do("GET", fmt.Sprintf("/inbox/conversations/%d", s.conv), nil).Expect(http.StatusOK).Body); strings.Contains(page, "csat-rating") {
			t.Error("a survey not answered shows a rating")
		}
		// In Spanish.
		s.ana.Do("PATCH", "/api/v1/me", map[string]any{"language": "es"}).Expect(http.StatusOK)
		if page := string(s.ana.Do("GET", fmt.Sprintf("/inbox/conversations/%d", s.conv), nil).Expect(http.StatusOK).Body); !strings.Contains(page, "Enviado automáticamente · Encuesta de satisfacción") ||
			!strings.Contains(page, "Cerrada automáticamente<span class=\"activity-note\"> · El cliente no respondió durante 3 horas.") {
			t.Error("the automatic label or the close's reason is not translated")
		}
	})
}
