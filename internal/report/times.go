package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Times is the response times report: how long customers waited for a
// first answer from a person, and how long conversations took to close;
// and the messages Switchboard sent by itself.
type Times struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Group Group     `json:"group"`
	// Total adds up every conversation of the filter once.
	Total TimesRow   `json:"total"`
	Rows  []TimesRow `json:"rows"`
	// Automatic counts the messages sent automatically in the range, by
	// kind (the inbox filter applies; agent and team do not).
	Automatic []AutoCount `json:"automatic"`
}

// TimesRow is an agent's, a team's, an inbox's or a day's times.
//
// A first response counts for the conversations whose customer first
// wrote in the range, to the agent who answered first (automatic
// messages and bots do not answer); a resolution for the conversations
// closed in the range with an agent assigned, from the customer's first
// message (or the conversation's start, when an agent started it) to the
// close, to that agent.
type TimesRow struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	FirstResponse Durations `json:"first_response"`
	Resolution    Durations `json:"resolution"`
	// Waiting counts the open conversations of the range that no agent
	// has answered yet (per agent: those assigned to them).
	Waiting int `json:"waiting"`

	first, resolved []time.Duration
}

// Durations is the median and 90th percentile of some durations.
type Durations struct {
	Count         int   `json:"count"`
	MedianSeconds int64 `json:"median_seconds"`
	P90Seconds    int64 `json:"p90_seconds"`
}

// durations sums ds up (it sorts them).
func durations(ds []time.Duration) Durations {
	slices.Sort(ds)
	return Durations{Count: len(ds), MedianSeconds: seconds(Percentile(ds, 0.5)), P90Seconds: seconds(Percentile(ds, 0.9))}
}

func seconds(d time.Duration) int64 { return int64((d + time.Second/2) / time.Second) }

// Percentile is the p-th quantile (0 to 1) of sorted durations, linearly
// interpolated between the two closest ranks (PostgreSQL's
// percentile_cont); 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	r := p * float64(len(sorted)-1)
	i := int(r)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + time.Duration(math.Round((r-float64(i))*float64(sorted[i+1]-sorted[i])))
}

// AutoCount is how many automatic messages of a kind went out: Sent
// counts them all, Delivered those delivered or read, Failed those that
// failed.
type AutoCount struct {
	// Kind is the automation (welcome, unassigned, queue, reminder,
	// autoclose, csat, personal_welcome…) or "bot" for a bot's messages.
	Kind      string `json:"kind"`
	Sent      int    `json:"sent"`
	Delivered int    `json:"delivered"`
	Failed    int    `json:"failed"`
}

// AutoKinds are the kinds of automatic messages in the order reports
// show them; others follow by name.
var AutoKinds = []string{"welcome", "unassigned", "queue", "reminder", "autoclose", "csat", "personal_welcome", "bot"}

// ResponseTimes reads the first response and resolution times of
// [f.From, f.To), and the automatic messages sent then.
func (s *Service) ResponseTimes(ctx context.Context, f Filter) (Times, error) {
	n, err := s.names(ctx)
	if err != nil {
		return Times{}, err
	}
	if err := f.check(n); err != nil {
		return Times{}, err
	}
	rep := Times{From: f.From, To: f.To, Group: f.Group, Rows: []TimesRow{}, Automatic: []AutoCount{}}
	per := map[key]*TimesRow{}
	row := func(inbox, agent int64, at time.Time, fn func(*TimesRow)) {
		fn(&rep.Total)
		for _, k := range n.keys(f.Group, inbox, agent, at) {
			r := per[k]
			if r == nil {
				r = &TimesRow{ID: k.id, Name: n.name(f.Group, k)}
				per[k] = r
			}
			fn(r)
		}
	}
	inbox := &where{args: []any{f.From, f.To}}
	if f.InboxID != 0 {
		inbox.add("c.inbox_id = ?", f.InboxID)
	}

	// First responses: the first message by an agent.
	rows, err := s.db.Query(ctx, `SELECT c.inbox_id, c.status, c.assignee_id, c.first_customer_message_at, c.first_response_at,
			(SELECT m.sender_id FROM messages m WHERE m.conversation_id = c.id AND m.sender_type = 'agent' ORDER BY m.id LIMIT 1)
		FROM conversations c
		WHERE c.first_customer_message_at >= $1 AND c.first_customer_message_at < $2`+inbox.sql.String(), inbox.args...)
	if err != nil {
		return rep, fmt.Errorf("report: first responses: %w", err)
	}
	for rows.Next() {
		var inboxID int64
		var status string
		var assignee, responder *int64
		var asked time.Time
		var answered *time.Time
		if err := rows.Scan(&inboxID, &status, &assignee, &asked, &answered, &responder); err != nil {
			rows.Close()
			return rep, fmt.Errorf("report: first responses: %w", err)
		}
		switch {
		case answered == nil:
			if status == "open" && f.agentIn(n, deref(assignee)) {
				row(inboxID, deref(assignee), asked, func(r *TimesRow) { r.Waiting++ })
			}
		case !answered.Before(asked) && f.agentIn(n, deref(responder)):
			// (An agent who wrote first, before the customer, did not
			// answer them.)
			d := answered.Sub(asked)
			row(inboxID, deref(responder), asked, func(r *TimesRow) { r.first = append(r.first, d) })
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("report: first responses: %w", err)
	}

	// Resolutions: closed with an agent assigned.
	rows, err = s.db.Query(ctx, `SELECT c.inbox_id, c.assignee_id, c.started_by, c.first_customer_message_at, c.created_at, c.closed_at
		FROM conversations c
		WHERE c.status = 'closed' AND c.assignee_id IS NOT NULL AND c.closed_at >= $1 AND c.closed_at < $2`+inbox.sql.String(), inbox.args...)
	if err != nil {
		return rep, fmt.Errorf("report: resolutions: %w", err)
	}
	for rows.Next() {
		var inboxID, assignee int64
		var startedBy string
		var asked *time.Time
		var created, closed time.Time
		if err := rows.Scan(&inboxID, &assignee, &startedBy, &asked, &created, &closed); err != nil {
			rows.Close()
			return rep, fmt.Errorf("report: resolutions: %w", err)
		}
		start := created
		switch {
		case startedBy == "agent":
		case asked != nil:
			start = *asked
		default:
			continue // the customer opened the chat and never wrote
		}
		if !f.agentIn(n, assignee) || closed.Before(start) {
			continue
		}
		d := closed.Sub(start)
		row(inboxID, assignee, closed, func(r *TimesRow) { r.resolved = append(r.resolved, d) })
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("report: resolutions: %w", err)
	}

	finish := func(r *TimesRow) {
		r.FirstResponse, r.Resolution = durations(r.first), durations(r.resolved)
	}
	finish(&rep.Total)
	for _, r := range per {
		finish(r)
		rep.Rows = append(rep.Rows, *r)
	}
	order(f.Group, rep.Rows, func(r TimesRow) string { return r.Name }, func(r TimesRow) int64 { return r.ID })
	if rep.Automatic, err = s.automatic(ctx, f); err != nil {
		return rep, err
	}
	return rep, nil
}

// automatic counts the messages Switchboard and bots sent in the range,
// by kind and status: those with an auto_kind (messages_auto indexes
// them); a bot's count as "bot" whatever their kind.
func (s *Service) automatic(ctx context.Context, f Filter) ([]AutoCount, error) {
	w := &where{args: []any{f.From, f.To}}
	if f.InboxID != 0 {
		w.add("inbox_id = ?", f.InboxID)
	}
	rows, err := s.db.Query(ctx, `SELECT auto_kind, sender_type, status, COUNT(*) FROM messages
		WHERE auto_kind IS NOT NULL AND created_at >= $1 AND created_at < $2`+w.sql.String()+`
		GROUP BY auto_kind, sender_type, status`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("report: automatic messages: %w", err)
	}
	defer rows.Close()
	per := map[string]*AutoCount{}
	for rows.Next() {
		var kind, sender, status string
		var count int
		if err := rows.Scan(&kind, &sender, &status, &count); err != nil {
			return nil, fmt.Errorf("report: automatic messages: %w", err)
		}
		if sender == "bot" {
			kind = "bot"
		}
		c := per[kind]
		if c == nil {
			c = &AutoCount{Kind: kind}
			per[kind] = c
		}
		c.Sent += count
		switch status {
		case "delivered", "read", "played":
			c.Delivered += count
		case "failed":
			c.Failed += count
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: automatic messages: %w", err)
	}
	out := make([]AutoCount, 0, len(per))
	for _, k := range AutoKinds {
		if c := per[k]; c != nil {
			out = append(out, *c)
			delete(per, k)
		}
	}
	var rest []string
	for k := range per {
		rest = append(rest, k)
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, *per[k])
	}
	return out, nil
}
