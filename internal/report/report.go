// Package report is the satisfaction reports: the customers' ratings
// (CSAT) per agent, team, inbox or day, with their comments; the first
// response and resolution times (median and 90th percentile); the
// messages Switchboard sent by itself, by kind; and the rating a
// conversation received.
//
// The reports read rows and add them up in Go: the same code on both
// engines (SQLite returns aggregates over DATETIME columns as text, and
// has no percentile function), and per team a row counts once for each
// team of its agent.
package report

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Service reads the reports.
type Service struct {
	db *db.DB
}

// New returns the reports of d.
func New(d *db.DB) *Service { return &Service{db: d} }

// Group is what a report's rows are.
type Group string

// The groupings.
const (
	ByAgent Group = "agent"
	ByTeam  Group = "team"
	ByInbox Group = "inbox"
	ByDay   Group = "day" // UTC days
)

// Groups are the groupings, in the order forms offer them.
var Groups = []Group{ByAgent, ByTeam, ByInbox, ByDay}

// Filter chooses what a report adds up: a range of time, and optionally
// one inbox, one agent or the agents of one team (0: any).
type Filter struct {
	From, To time.Time
	InboxID  int64
	AgentID  int64
	TeamID   int64
	Group    Group
}

// Choice is an inbox, agent or team a report can be filtered by.
type Choice struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Choices are what the report's filters offer.
type Choices struct {
	Inboxes []Choice `json:"inboxes"`
	Agents  []Choice `json:"agents"`
	Teams   []Choice `json:"teams"`
}

// names are the names of inboxes, agents and teams, and each agent's
// teams, as a report reads them once.
type names struct {
	inboxes, users, teams map[int64]string
	teamsOf               map[int64][]int64
}

func (s *Service) names(ctx context.Context) (names, error) {
	n := names{inboxes: map[int64]string{}, users: map[int64]string{}, teams: map[int64]string{}, teamsOf: map[int64][]int64{}}
	for _, t := range []struct {
		q  string
		to map[int64]string
	}{
		{`SELECT id, name FROM inboxes`, n.inboxes},
		{`SELECT id, name FROM users`, n.users},
		{`SELECT id, name FROM teams`, n.teams},
	} {
		if err := s.pairs(ctx, t.q, func(id int64, name string) { t.to[id] = name }); err != nil {
			return n, err
		}
	}
	rows, err := s.db.Query(ctx, `SELECT user_id, team_id FROM team_members ORDER BY user_id, team_id`)
	if err != nil {
		return n, fmt.Errorf("report: teams: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u, t int64
		if err := rows.Scan(&u, &t); err != nil {
			return n, err
		}
		n.teamsOf[u] = append(n.teamsOf[u], t)
	}
	return n, rows.Err()
}

func (s *Service) pairs(ctx context.Context, q string, fn func(int64, string)) error {
	rows, err := s.db.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("report: names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		fn(id, name)
	}
	return rows.Err()
}

// Choices lists the inboxes, agents and teams by name.
func (s *Service) Choices(ctx context.Context) (Choices, error) {
	n, err := s.names(ctx)
	if err != nil {
		return Choices{}, err
	}
	return Choices{Inboxes: sorted(n.inboxes), Agents: sorted(n.users), Teams: sorted(n.teams)}, nil
}

func sorted(m map[int64]string) []Choice {
	out := make([]Choice, 0, len(m))
	for id, name := range m {
		out = append(out, Choice{ID: id, Name: name})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Name), strings.ToLower(out[j].Name)
		return a < b || a == b && out[i].ID < out[j].ID
	})
	return out
}

// check refuses a grouping or a filter that names nothing.
func (f *Filter) check(n names) error {
	p := problem.Fields{}
	if f.Group == "" {
		f.Group = ByAgent
	}
	switch f.Group {
	case ByAgent, ByTeam, ByInbox, ByDay:
	default:
		p.Add("group", "Choose agent, team, inbox or day.")
	}
	if _, ok := n.inboxes[f.InboxID]; f.InboxID != 0 && !ok {
		p.Add("inbox", "Choose an inbox from the list.")
	}
	if _, ok := n.users[f.AgentID]; f.AgentID != 0 && !ok {
		p.Add("agent", "Choose an agent from the list.")
	}
	if _, ok := n.teams[f.TeamID]; f.TeamID != 0 && !ok {
		p.Add("team", "Choose a team from the list.")
	}
	if !f.From.Before(f.To) {
		p.Add("to", "The end must come after the start.")
	}
	return p.Err()
}

// agentIn reports whether agent passes the filter's agent and team.
func (f Filter) agentIn(n names, agent int64) bool {
	if f.AgentID != 0 && agent != f.AgentID {
		return false
	}
	if f.TeamID != 0 {
		for _, t := range n.teamsOf[agent] {
			if t == f.TeamID {
				return true
			}
		}
		return false
	}
	return true
}

// key is a row of a report.
type key struct {
	id   int64  // agent, team or inbox (0: nobody, or a day)
	name string // a day's date
}

// keys are the rows a fact of an inbox, by an agent (0: nobody), at a
// time counts in.
func (n names) keys(g Group, inbox, agent int64, at time.Time) []key {
	switch g {
	case ByTeam:
		ts := n.teamsOf[agent]
		ks := make([]key, len(ts))
		for i, t := range ts {
			ks[i] = key{id: t}
		}
		return ks
	case ByInbox:
		return []key{{id: inbox}}
	case ByDay:
		return []key{{name: at.UTC().Format("2006-01-02")}}
	}
	return []key{{id: agent}}
}

// name is the row's name: an agent's, a team's, an inbox's or the day.
func (n names) name(g Group, k key) string {
	switch g {
	case ByTeam:
		return n.teams[k.id]
	case ByInbox:
		return n.inboxes[k.id]
	case ByDay:
		return k.name
	}
	return n.users[k.id]
}

// order sorts rows: days in order, the others by name.
func order[T any](g Group, rows []T, name func(T) string, id func(T) int64) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := name(rows[i]), name(rows[j])
		if g != ByDay {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		return a < b || a == b && id(rows[i]) < id(rows[j])
	})
}

// where is the SQL of a filter's equalities, numbered after the
// arguments already given.
type where struct {
	sql  strings.Builder
	args []any
}

func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.sql.WriteString(" AND ")
	w.sql.WriteString(strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(w.args))))
}

// deref is the value of p, 0 for nil.
func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Query is a report's filter as people give it: from and to (dates, or
// RFC 3339 times; see availability.ParseRange), an inbox's, an agent's
// and a team's id, and the grouping.
type Query struct {
	From, To, Inbox, Agent, Team, Group string
}

// Filter reads q. The ids are checked against what exists when the
// report runs.
func (q Query) Filter(now time.Time) (Filter, error) {
	p := problem.Fields{}
	from, to, err := availability.ParseRange(q.From, q.To, now)
	if e, ok := problem.As(err); ok && e.Kind == problem.KindInvalid {
		for k, v := range e.Fields {
			p.Add(k, "%s", v)
		}
	} else if err != nil {
		return Filter{}, err
	}
	f := Filter{From: from, To: to, Group: Group(strings.TrimSpace(q.Group))}
	for _, x := range []struct {
		name, value, msg string
		to               *int64
	}{
		{"inbox", q.Inbox, "Choose an inbox from the list.", &f.InboxID},
		{"agent", q.Agent, "Choose an agent from the list.", &f.AgentID},
		{"team", q.Team, "Choose a team from the list.", &f.TeamID},
	} {
		if v := strings.TrimSpace(x.value); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				p.Add(x.name, "%s", x.msg)
				continue
			}
			*x.to = id
		}
	}
	return f, p.Err()
}
