package ui

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/report"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

// ReportPages are the supervisors' report pages.
type ReportPages struct {
	Availability *availability.Service
	Catalog      *i18n.Catalog
	Langs        *httpx.Languages
	Pages        *Renderer
	// Reports reads the satisfaction report.
	Reports *report.Service
}

// The time in status report: a table, a chart (an SVG drawn here, so it
// needs no script) and a CSV export.

type reportView struct {
	Report availability.Report
	Group  availability.Group
	From   string // as the form shows them: dates, "to" included
	To     string
	Chart  chart
	// Query is the form's values, escaped, for the CSV link (a
	// template.URL: a plain string there would be escaped whole, "=" and
	// "&" included).
	Query template.URL
}

// chart is a stacked bar per row: each status's share of the longest
// row's total time.
type chart struct {
	Width, Height, Label int
	Bars                 []bar
}

type bar struct {
	Y    int
	Name string
	// Label is the name as it fits before the bar (cut with an ellipsis).
	Label    string
	Total    string
	Segments []segment
}

type segment struct {
	Status user.Status
	X, W   float64
	Title  string
}

const (
	chartWidth = 640
	chartLabel = 160
	chartRow   = 26
	// chartLabelRunes is about what fits in chartLabel at the chart's
	// font, with a space before the bar.
	chartLabelRunes = 22
)

// chartName cuts a name to what fits before the bars.
func chartName(name string) string {
	r := []rune(name)
	if len(r) <= chartLabelRunes {
		return name
	}
	return strings.TrimSpace(string(r[:chartLabelRunes-1])) + "…"
}

func newChart(rep availability.Report) chart {
	c := chart{Width: chartLabel + chartWidth + 90, Label: chartLabel}
	var longest int64
	for _, r := range rep.Rows {
		longest = max(longest, r.Total())
	}
	for i, r := range rep.Rows {
		b := bar{Y: i * chartRow, Name: r.Name, Label: chartName(r.Name), Total: duration(r.Total())}
		x := float64(chartLabel)
		for _, st := range rep.Statuses {
			secs := r.Times[st].TotalSeconds
			if secs == 0 || longest == 0 {
				continue
			}
			w := float64(chartWidth) * float64(secs) / float64(longest)
			b.Segments = append(b.Segments, segment{Status: st, X: x, W: w, Title: duration(secs)})
			x += w
		}
		c.Bars = append(c.Bars, b)
	}
	c.Height = max(len(rep.Rows), 1) * chartRow
	return c
}

// duration formats seconds for people: "2h 05m", "7m 30s", "45s".
func duration(secs int64) string {
	d := time.Duration(secs) * time.Second
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// readReport reads the report's form (from, to: dates; group).
func (u *ReportPages) readReport(r *http.Request) (reportView, error) {
	q := r.URL.Query()
	v := reportView{Group: availability.Group(q.Get("group")), From: q.Get("from"), To: q.Get("to")}
	if v.Group != availability.ByTeam {
		v.Group = availability.ByAgent
	}
	now := db.Now()
	if v.From == "" && v.To == "" {
		v.From = now.Add(-6 * 24 * time.Hour).Format("2006-01-02")
		v.To = now.Format("2006-01-02")
	}
	from, to, err := availability.ParseRange(v.From, v.To, now)
	if err != nil {
		return v, err
	}
	if v.Report, err = u.Availability.TimeInStatus(r.Context(), from, to, v.Group); err != nil {
		return v, err
	}
	v.Chart = newChart(v.Report)
	v.Query = template.URL("from=" + url.QueryEscape(v.From) + "&to=" + url.QueryEscape(v.To) + "&group=" + url.QueryEscape(string(v.Group)))
	return v, nil
}

func (u *ReportPages) TimeInStatus(w http.ResponseWriter, r *http.Request, a policy.Actor) error {
	v, err := u.readReport(r)
	d := PageData{Title: "Time in status", Actor: a, Data: &v, Form: map[string]string{"from": v.From, "to": v.To}}
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		d.Fields = p.Fields
		v.Report.Statuses = user.Statuses
		return u.Pages.Render(w, r, http.StatusUnprocessableEntity, "report_time_in_status", d)
	} else if err != nil {
		return err
	}
	return u.Pages.Render(w, r, http.StatusOK, "report_time_in_status", d)
}

// TimeInStatusCSV exports the report: a line per agent (or team) and
// status, with seconds and readable durations.
func (u *ReportPages) TimeInStatusCSV(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	v, err := u.readReport(r)
	if err != nil {
		return err
	}
	lang := u.Langs.OfRequest(r)
	t := func(s string) string { return u.Catalog.T(lang, s) }
	who := t("Agent")
	if v.Group == availability.ByTeam {
		who = t("Team")
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="time-in-status-%s-%s-%s.csv"`, v.Group, v.From, v.To))
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{who, t("Agents"), t("Status"), t("Total time"), t("Total seconds"), t("Average time"), t("Average seconds"), t("Spells")})
	for _, row := range v.Report.Rows {
		for _, st := range v.Report.Statuses {
			x := row.Times[st]
			cw.Write([]string{csvSafe(row.Name), strconv.Itoa(row.Agents), t(st.Label()), duration(x.TotalSeconds), strconv.FormatInt(x.TotalSeconds, 10),
				duration(x.AverageSeconds), strconv.FormatInt(x.AverageSeconds, 10), strconv.Itoa(x.Intervals)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a name from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
