package report

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Levels is the rating scale: 1 (very unsatisfied) to 5 (very
// satisfied).
const Levels = 5

// Satisfaction is the CSAT report: the surveys sent in the range (by
// the time they were sent) and the ratings they got.
type Satisfaction struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Group Group     `json:"group"`
	// Total adds up every survey of the filter once (a team's rows can
	// share an agent's).
	Total CSATRow   `json:"total"`
	Rows  []CSATRow `json:"rows"`
	// Comments are the ratings with a comment, newest first: the first
	// MaxComments of CommentsTotal.
	Comments      []Comment `json:"comments"`
	CommentsTotal int       `json:"comments_total"`
}

// CSATRow is an agent's, a team's, an inbox's or a day's surveys.
type CSATRow struct {
	// ID is the agent, team or inbox (0 for a day, and for ratings
	// whose agent is gone).
	ID int64 `json:"id"`
	// Name is the agent's, team's or inbox's, or the day (2006-01-02).
	Name string `json:"name"`
	// Sent counts the surveys sent; Rated those answered.
	Sent  int `json:"sent"`
	Rated int `json:"rated"`
	// ResponseRate is Rated / Sent (0 to 1).
	ResponseRate float64 `json:"response_rate"`
	// Average is the mean rating (0 when none).
	Average float64 `json:"average"`
	// Distribution counts the ratings of each level: [0] is 1, [4] is 5.
	Distribution [Levels]int `json:"distribution"`
}

func (r *CSATRow) add(rating *int) {
	r.Sent++
	if rating != nil && *rating >= 1 && *rating <= Levels {
		r.Rated++
		r.Distribution[*rating-1]++
	}
}

func (r *CSATRow) finish() {
	if r.Sent > 0 {
		r.ResponseRate = float64(r.Rated) / float64(r.Sent)
	}
	if r.Rated > 0 {
		sum := 0
		for i, n := range r.Distribution {
			sum += (i + 1) * n
		}
		r.Average = float64(sum) / float64(r.Rated)
	}
}

// Comment is a rating with the customer's comment.
type Comment struct {
	ConversationID int64     `json:"conversation_id"`
	InboxID        int64     `json:"inbox_id"`
	Inbox          string    `json:"inbox"`
	AgentID        int64     `json:"agent_id"`
	Agent          string    `json:"agent"`
	Rating         int       `json:"rating"`
	Comment        string    `json:"comment"`
	RatedAt        time.Time `json:"rated_at"`
}

// MaxComments is how many comments a report lists unless told.
const MaxComments = 200

// CSAT adds up the surveys sent in [f.From, f.To). maxComments bounds
// the comments listed (0: all of them).
func (s *Service) CSAT(ctx context.Context, f Filter, maxComments int) (Satisfaction, error) {
	n, err := s.names(ctx)
	if err != nil {
		return Satisfaction{}, err
	}
	if err := f.check(n); err != nil {
		return Satisfaction{}, err
	}
	rep := Satisfaction{From: f.From, To: f.To, Group: f.Group, Rows: []CSATRow{}, Comments: []Comment{}}
	w := &where{args: []any{f.From, f.To}}
	if f.InboxID != 0 {
		w.add("inbox_id = ?", f.InboxID)
	}
	if f.AgentID != 0 {
		w.add("agent_id = ?", f.AgentID)
	}
	if f.TeamID != 0 {
		w.add("agent_id IN (SELECT user_id FROM team_members WHERE team_id = ?)", f.TeamID)
	}
	rows, err := s.db.Query(ctx, `SELECT conversation_id, inbox_id, agent_id, rating, comment, sent_at, rated_at
		FROM csat_ratings WHERE sent_at >= $1 AND sent_at < $2`+w.sql.String(), w.args...)
	if err != nil {
		return rep, fmt.Errorf("report: csat: %w", err)
	}
	defer rows.Close()
	per := map[key]*CSATRow{}
	for rows.Next() {
		var conv, inbox int64
		var agent *int64
		var rating *int
		var comment string
		var sent time.Time
		var rated *time.Time
		if err := rows.Scan(&conv, &inbox, &agent, &rating, &comment, &sent, &rated); err != nil {
			return rep, fmt.Errorf("report: csat: %w", err)
		}
		rep.Total.add(rating)
		for _, k := range n.keys(f.Group, inbox, deref(agent), sent) {
			r := per[k]
			if r == nil {
				r = &CSATRow{ID: k.id, Name: n.name(f.Group, k)}
				per[k] = r
			}
			r.add(rating)
		}
		if rating != nil && comment != "" {
			c := Comment{ConversationID: conv, InboxID: inbox, Inbox: n.inboxes[inbox], AgentID: deref(agent), Agent: n.users[deref(agent)],
				Rating: *rating, Comment: comment}
			if rated != nil {
				c.RatedAt = *rated
			}
			rep.Comments = append(rep.Comments, c)
		}
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("report: csat: %w", err)
	}
	rep.Total.finish()
	for _, r := range per {
		r.finish()
		rep.Rows = append(rep.Rows, *r)
	}
	order(f.Group, rep.Rows, func(r CSATRow) string { return r.Name }, func(r CSATRow) int64 { return r.ID })
	sort.SliceStable(rep.Comments, func(i, j int) bool {
		a, b := rep.Comments[i], rep.Comments[j]
		return a.RatedAt.After(b.RatedAt) || a.RatedAt.Equal(b.RatedAt) && a.ConversationID > b.ConversationID
	})
	rep.CommentsTotal = len(rep.Comments)
	if maxComments > 0 && len(rep.Comments) > maxComments {
		rep.Comments = rep.Comments[:maxComments]
	}
	return rep, nil
}
