package ui

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/report"
)

// The satisfaction report: CSAT per agent, team, inbox or day with the
// comments, first response and resolution times, automatic messages by
// kind. Tables, charts (SVG drawn here) and CSV exports, like the time
// in status report.

// satisfactionView is the page's data.
type satisfactionView struct {
	CSAT    report.Satisfaction
	Times   report.Times
	Choices report.Choices
	Filter  report.Filter
	Groups  []report.Group
	// Query is the filter as a query string, for the CSV links.
	Query      template.URL
	CSATChart  levelChart
	FirstChart timeChart
	ResolChart timeChart
}

// levelChart is a stacked bar per row: how many ratings of each level,
// against the row with the most ratings.
type levelChart struct {
	Width, Height, Label int
	Bars                 []levelBar
}

type levelBar struct {
	Y           int
	Name, Label string
	Total       string // the average and how many rated
	Segments    []levelSegment
}

type levelSegment struct {
	Level int
	X, W  float64
	Count int
}

// timeChart is, per row, the 90th percentile as a light bar with the
// median over it, against the longest 90th percentile.
type timeChart struct {
	Title                string
	Width, Height, Label int
	Bars                 []timeBar
}

type timeBar struct {
	Y             int
	Name, Label   string
	MedianW, P90W float64
	Median, P90   string
	Count         int
}

func newLevelChart(rows []report.CSATRow) levelChart {
	c := levelChart{Width: chartLabel + chartWidth + 90, Label: chartLabel}
	most := 0
	for _, r := range rows {
		most = max(most, r.Rated)
	}
	for i, r := range rows {
		b := levelBar{Y: i * chartRow, Name: r.Name, Label: chartName(r.Name)}
		if r.Rated > 0 {
			b.Total = fmt.Sprintf("%.1f (%d)", r.Average, r.Rated)
		}
		x := float64(chartLabel)
		for lv, n := range r.Distribution {
			if n == 0 || most == 0 {
				continue
			}
			w := float64(chartWidth) * float64(n) / float64(most)
			b.Segments = append(b.Segments, levelSegment{Level: lv + 1, X: x, W: w, Count: n})
			x += w
		}
		c.Bars = append(c.Bars, b)
	}
	c.Height = max(len(rows), 1) * chartRow
	return c
}

func newTimeChart(rows []report.TimesRow, of func(report.TimesRow) report.Durations) timeChart {
	c := timeChart{Width: chartLabel + chartWidth + 90, Label: chartLabel}
	var longest int64
	for _, r := range rows {
		longest = max(longest, of(r).P90Seconds)
	}
	for i, r := range rows {
		d := of(r)
		b := timeBar{Y: i * chartRow, Name: r.Name, Label: chartName(r.Name), Count: d.Count}
		if d.Count > 0 {
			b.Median, b.P90 = duration(d.MedianSeconds), duration(d.P90Seconds)
			if longest > 0 {
				b.MedianW = float64(chartWidth) * float64(d.MedianSeconds) / float64(longest)
				b.P90W = float64(chartWidth) * float64(d.P90Seconds) / float64(longest)
			}
		}
		c.Bars = append(c.Bars, b)
	}
	c.Height = max(len(rows), 1) * chartRow
	return c
}

// readSatisfaction reads the filters; with no dates, the last 7 days.
func (u *ReportPages) readSatisfaction(r *http.Request, v *satisfactionView, form map[string]string) (report.Filter, error) {
	q := r.URL.Query()
	for _, k := range []string{"from", "to", "inbox", "agent", "team", "group"} {
		form[k] = q.Get(k)
	}
	now := db.Now()
	if form["from"] == "" && form["to"] == "" {
		form["from"] = now.Add(-6 * 24 * time.Hour).Format("2006-01-02")
		form["to"] = now.Format("2006-01-02")
	}
	if form["group"] == "" {
		form["group"] = string(report.ByAgent)
	}
	f, err := report.Query{From: form["from"], To: form["to"], Inbox: form["inbox"], Agent: form["agent"], Team: form["team"],
		Group: form["group"]}.Filter(now)
	v.Filter = f
	qs := url.Values{}
	for _, k := range []string{"from", "to", "inbox", "agent", "team", "group"} {
		if form[k] != "" {
			qs.Set(k, form[k])
		}
	}
	v.Query = template.URL(qs.Encode())
	return f, err
}

// Satisfaction is the page Reports → Satisfaction.
func (u *ReportPages) Satisfaction(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v := &satisfactionView{Groups: report.Groups}
	form := map[string]string{}
	d := PageData{Title: "Satisfaction", Actor: a, Data: v, Form: form}
	var err error
	if v.Choices, err = u.Reports.Choices(r.Context()); err != nil {
		return err
	}
	f, err := u.readSatisfaction(r, v, form)
	if err == nil {
		v.CSAT, err = u.Reports.CSAT(r.Context(), f, report.MaxComments)
	}
	if err == nil {
		v.Times, err = u.Reports.ResponseTimes(r.Context(), f)
	}
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		d.Fields = p.Fields
		return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "report_satisfaction", d)
	} else if err != nil {
		return err
	}
	lang := u.Langs.OfRequest(r)
	v.Times.Total.Name = u.Catalog.T(lang, "Total")
	v.CSATChart = newLevelChart(v.CSAT.Rows)
	v.FirstChart = newTimeChart(v.Times.Rows, func(r report.TimesRow) report.Durations { return r.FirstResponse })
	v.ResolChart = newTimeChart(v.Times.Rows, func(r report.TimesRow) report.Durations { return r.Resolution })
	v.FirstChart.Title, v.ResolChart.Title = u.Catalog.T(lang, "First response times"), u.Catalog.T(lang, "Resolution times")
	return u.Pages.Render(w, r, http.StatusOK, "report_satisfaction", d)
}

// The CSV exports' tables.
const (
	csvCSAT      = "csat"
	csvComments  = "comments"
	csvTimes     = "times"
	csvAutomatic = "automatic"
)

// SatisfactionCSV exports one table of the report (table: csat,
// comments, times or automatic); comments are all of them.
func (u *ReportPages) SatisfactionCSV(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v := &satisfactionView{}
	f, err := u.readSatisfaction(r, v, map[string]string{})
	if err != nil {
		return err
	}
	table := r.URL.Query().Get("table")
	lang := u.Langs.OfRequest(r)
	t := func(s string) string { return u.Catalog.T(lang, s) }
	var lines [][]string
	switch table {
	case csvCSAT, csvComments:
		rep, err := u.Reports.CSAT(r.Context(), f, 0)
		if err != nil {
			return err
		}
		if table == csvComments {
			lines = append(lines, []string{t("Rated"), t("Rating"), t("Comment"), t("Agent"), t("Inbox"), t("Conversation")})
			for _, c := range rep.Comments {
				lines = append(lines, []string{c.RatedAt.UTC().Format(time.RFC3339), strconv.Itoa(c.Rating), csvSafe(c.Comment), csvSafe(c.Agent), csvSafe(c.Inbox),
					strconv.FormatInt(c.ConversationID, 10)})
			}
			break
		}
		head := []string{t(groupLabel(f.Group)), t("Surveys sent"), t("Rated"), t("Response rate"), t("Average")}
		for lv := 1; lv <= report.Levels; lv++ {
			head = append(head, fmt.Sprintf(t("Ratings of %d"), lv))
		}
		lines = append(lines, head)
		add := func(name string, x report.CSATRow) {
			l := []string{csvSafe(name), strconv.Itoa(x.Sent), strconv.Itoa(x.Rated), strconv.FormatFloat(x.ResponseRate*100, 'f', 1, 64), strconv.FormatFloat(x.Average, 'f', 2, 64)}
			for _, n := range x.Distribution {
				l = append(l, strconv.Itoa(n))
			}
			lines = append(lines, l)
		}
		for _, x := range rep.Rows {
			add(x.Name, x)
		}
		add(t("Total"), rep.Total)
	case csvTimes, csvAutomatic:
		rep, err := u.Reports.ResponseTimes(r.Context(), f)
		if err != nil {
			return err
		}
		if table == csvAutomatic {
			lines = append(lines, []string{t("Message"), t("Kind"), t("Messages sent"), t("Delivered or read"), t("Failed")})
			for _, c := range rep.Automatic {
				lines = append(lines, []string{t(autoKindLabel(c.Kind)), c.Kind, strconv.Itoa(c.Sent), strconv.Itoa(c.Delivered), strconv.Itoa(c.Failed)})
			}
			break
		}
		lines = append(lines, []string{t(groupLabel(f.Group)), t("First responses"), t("First response median (seconds)"), t("First response 90th percentile (seconds)"),
			t("Resolved"), t("Resolution median (seconds)"), t("Resolution 90th percentile (seconds)"), t("Waiting for a first reply")})
		add := func(name string, x report.TimesRow) {
			lines = append(lines, []string{csvSafe(name), strconv.Itoa(x.FirstResponse.Count), strconv.FormatInt(x.FirstResponse.MedianSeconds, 10), strconv.FormatInt(x.FirstResponse.P90Seconds, 10),
				strconv.Itoa(x.Resolution.Count), strconv.FormatInt(x.Resolution.MedianSeconds, 10), strconv.FormatInt(x.Resolution.P90Seconds, 10), strconv.Itoa(x.Waiting)})
		}
		for _, x := range rep.Rows {
			add(x.Name, x)
		}
		add(t("Total"), rep.Total)
	default:
		return problem.Invalid("table", "Choose csat, comments, times or automatic.")
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="satisfaction-%s-%s-%s-%s.csv"`, table, f.Group,
		f.From.Format("2006-01-02"), f.To.Add(-time.Microsecond).Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.WriteAll(lines)
	return cw.Error()
}

// satisfactionWords are the words of the CSV exports.
var satisfactionWords = []string{"Rated", "Rating", "Comment", "Agent", "Inbox", "Conversation", "Surveys sent", "Response rate", "Average",
	"Ratings of %d", "Total", "Message", "Kind", "Messages sent", "Delivered or read", "Failed", "First responses", "First response median (seconds)",
	"First response 90th percentile (seconds)", "Resolved", "Resolution median (seconds)", "Resolution 90th percentile (seconds)",
	"Waiting for a first reply", "Team", "Day", "First response times", "Resolution times"}

// closeNotes are the reasons automation gives for closing a
// conversation (conversation.Activity.Note), matched by the catalog as
// formats so that they read in the agent's language.
var closeNotes = []string{"The customer did not reply for 1 minute.", "The customer did not reply for %d minutes.",
	"The customer did not reply for 1 hour.", "The customer did not reply for %d hours.",
	"The customer did not reply for 1 day.", "The customer did not reply for %d days."}

// groupLabel names a grouping.
func groupLabel(g report.Group) string {
	switch g {
	case report.ByTeam:
		return "Team"
	case report.ByInbox:
		return "Inbox"
	case report.ByDay:
		return "Day"
	}
	return "Agent"
}

// autoKindLabel names a kind of automatic message (messages.auto_kind,
// or "bot").
func autoKindLabel(kind string) string {
	switch kind {
	case "welcome":
		return "Welcome message"
	case "unassigned":
		return "Unassigned auto-reply"
	case "queue":
		return "Queue message"
	case "reminder":
		return "No-reply reminder"
	case "autoclose":
		return "Auto-close message"
	case "csat":
		return "Satisfaction survey"
	case "personal_welcome":
		return "Personal welcome message"
	case "bot":
		return "Bot"
	}
	return "Automatic message"
}

// levelLabel names a level of the rating scale.
func levelLabel(lv int) string {
	switch lv {
	case 1:
		return "Very unsatisfied"
	case 2:
		return "Unsatisfied"
	case 3:
		return "Neutral"
	case 4:
		return "Satisfied"
	}
	return "Very satisfied"
}

// reportFuncs are the template functions of the satisfaction report and
// of automatic messages in the timeline.
func reportFuncs() template.FuncMap {
	return template.FuncMap{
		"autoKindLabel": autoKindLabel,
		"groupLabel":    func(g report.Group) string { return groupLabel(g) },
		"percent":       func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
		"average":       func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"levels":        func() []int { return []int{1, 2, 3, 4, 5} },
		"levelLabel":    levelLabel,
		"share": func(n, of int) string {
			if of == 0 {
				return "0%"
			}
			return strconv.FormatFloat(float64(n)*100/float64(of), 'f', 0, 64) + "%"
		},
		"idStr": func(id int64) string { return strconv.FormatInt(id, 10) },
		"at":    func(a [report.Levels]int, lv int) int { return a[lv-1] },
	}
}
