package availability

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Group is how the time in status report adds up.
type Group string

// The groupings.
const (
	ByAgent Group = "agent"
	ByTeam  Group = "team"
)

// Report is the time each agent (or team) spent in each status between
// From and To.
type Report struct {
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Group    Group         `json:"group"`
	Statuses []user.Status `json:"statuses"`
	Rows     []ReportRow   `json:"rows"`
}

// ReportRow is one agent or team.
type ReportRow struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Agents is how many agents the row adds up (1 for an agent; a team's
	// members).
	Agents int                        `json:"agents"`
	Times  map[user.Status]StatusTime `json:"times"`
}

// StatusTime is the time in one status. For an agent, Average is the
// average length of a spell in the status; for a team, the average time
// per member.
type StatusTime struct {
	TotalSeconds   int64 `json:"total_seconds"`
	AverageSeconds int64 `json:"average_seconds"`
	// Intervals counts the spells in the status that overlap the range.
	Intervals int `json:"intervals"`
}

// Total is the row's time in every status.
func (r ReportRow) Total() int64 {
	var n int64
	for _, t := range r.Times {
		n += t.TotalSeconds
	}
	return n
}

// MaxReportRange bounds a report's range.
const MaxReportRange = 366 * 24 * time.Hour

// ParseRange reads a report's from and to: dates (2006-01-02, UTC; to is
// included, up to its end) or RFC 3339 times. Empty means the last 7
// days up to now.
func ParseRange(from, to string, now time.Time) (time.Time, time.Time, error) {
	f := problem.Fields{}
	parse := func(name, s string, end bool) time.Time {
		s = strings.TrimSpace(s)
		if t, err := time.Parse("2006-01-02", s); err == nil {
			if end {
				t = t.Add(24 * time.Hour)
			}
			return t
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UTC()
		}
		f.Add(name, "Enter a date like 2026-01-31.")
		return time.Time{}
	}
	var a, b time.Time
	if strings.TrimSpace(to) == "" {
		b = now
	} else {
		b = parse("to", to, true)
	}
	if strings.TrimSpace(from) == "" {
		a = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(-6 * 24 * time.Hour)
	} else {
		a = parse("from", from, false)
	}
	if err := f.Err(); err != nil {
		return a, b, err
	}
	switch {
	case !a.Before(b):
		f.Add("to", "The end must come after the start.")
	case b.Sub(a) > MaxReportRange:
		f.Add("from", "Choose at most a year.")
	}
	return db.Time(a), db.Time(b), f.Err()
}

// TimeInStatus adds up the status intervals that overlap [from, to) (an
// interval still open counts until now), per agent or per team.
func (s *Service) TimeInStatus(ctx context.Context, from, to time.Time, group Group) (Report, error) {
	if group != ByAgent && group != ByTeam {
		return Report{}, problem.Invalid("group", "Choose agent or team.")
	}
	now := db.Now()
	rep := Report{From: from, To: to, Group: group, Statuses: user.Statuses, Rows: []ReportRow{}}
	// Per user and status: total time and spells.
	type acc struct {
		total time.Duration
		n     int
	}
	per := map[int64]map[user.Status]*acc{}
	rows, err := s.db.Query(ctx, `SELECT user_id, status, started_at, ended_at FROM status_intervals
		WHERE started_at < $2 AND (ended_at IS NULL OR ended_at > $1)`, from, to)
	if err != nil {
		return rep, fmt.Errorf("availability: report: %w", err)
	}
	for rows.Next() {
		var uid int64
		var st user.Status
		var start time.Time
		var end *time.Time
		if err := rows.Scan(&uid, &st, &start, &end); err != nil {
			rows.Close()
			return rep, err
		}
		stop := now
		if end != nil {
			stop = *end
		}
		d := overlap(start, stop, from, to)
		if d <= 0 {
			continue
		}
		if per[uid] == nil {
			per[uid] = map[user.Status]*acc{}
		}
		if per[uid][st] == nil {
			per[uid][st] = &acc{}
		}
		per[uid][st].total += d
		per[uid][st].n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	var groups []bucket
	if group == ByAgent {
		groups, err = agentBuckets(ctx, s.db)
	} else {
		groups, err = teamBuckets(ctx, s.db)
	}
	if err != nil {
		return rep, err
	}
	for _, g := range groups {
		row := ReportRow{ID: g.id, Name: g.name, Agents: len(g.members), Times: map[user.Status]StatusTime{}}
		for _, st := range user.Statuses {
			var total time.Duration
			n := 0
			for _, uid := range g.members {
				if a := per[uid][st]; a != nil {
					total += a.total
					n += a.n
				}
			}
			t := StatusTime{TotalSeconds: int64(total / time.Second), Intervals: n}
			switch {
			case group == ByAgent && n > 0:
				t.AverageSeconds = int64(total/time.Duration(n)) / int64(time.Second)
			case group == ByTeam && len(g.members) > 0:
				t.AverageSeconds = int64(total/time.Duration(len(g.members))) / int64(time.Second)
			}
			row.Times[st] = t
		}
		rep.Rows = append(rep.Rows, row)
	}
	sort.SliceStable(rep.Rows, func(i, j int) bool { return strings.ToLower(rep.Rows[i].Name) < strings.ToLower(rep.Rows[j].Name) })
	return rep, nil
}

// overlap is how much of [start, stop) lies in [from, to).
func overlap(start, stop, from, to time.Time) time.Duration {
	if start.Before(from) {
		start = from
	}
	if stop.After(to) {
		stop = to
	}
	return max(stop.Sub(start), 0)
}

// bucket is a row of the report: an agent, or a team and its members.
type bucket struct {
	id      int64
	name    string
	members []int64
}

func agentBuckets(ctx context.Context, q db.Querier) ([]bucket, error) {
	rows, err := q.Query(ctx, `SELECT id, name FROM users ORDER BY lower(name), id`)
	if err != nil {
		return nil, fmt.Errorf("availability: report: %w", err)
	}
	defer rows.Close()
	var out []bucket
	for rows.Next() {
		var b bucket
		if err := rows.Scan(&b.id, &b.name); err != nil {
			return nil, err
		}
		b.members = []int64{b.id}
		out = append(out, b)
	}
	return out, rows.Err()
}

func teamBuckets(ctx context.Context, q db.Querier) ([]bucket, error) {
	rows, err := q.Query(ctx, `SELECT t.id, t.name, m.user_id FROM teams t LEFT JOIN team_members m ON m.team_id = t.id
		ORDER BY lower(t.name), t.id, m.user_id`)
	if err != nil {
		return nil, fmt.Errorf("availability: report: %w", err)
	}
	defer rows.Close()
	var out []bucket
	for rows.Next() {
		var b bucket
		var uid *int64
		if err := rows.Scan(&b.id, &b.name, &uid); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].id != b.id {
			out = append(out, b)
		}
		if uid != nil {
			out[len(out)-1].members = append(out[len(out)-1].members, *uid)
		}
	}
	return out, rows.Err()
}
