package automation

import "time"

// The timers' arithmetic, as pure functions: a timer is scheduled once
// (the first customer message of a turn, an agent's reply) and, when it
// fires, compares what happened since with its deadline: it acts, moves
// to a later deadline (job.Later), or ends with nothing to do.

// reminderState is what a no-reply reminder decides from.
type reminderState struct {
	Open bool
	// TurnStart is the customer's first message since a person last
	// wrote; zero when a person answered the last customer message.
	TurnStart time.Time
	// Reminded is true when the turn already had its reminder.
	Reminded bool
	Wait     time.Duration
	Enabled  bool
}

// reminderDue says whether the reminder goes now, or else when to look
// again (zero: never; the next turn schedules its own).
func reminderDue(s reminderState, now time.Time) (send bool, later time.Time) {
	if !s.Enabled || !s.Open || s.TurnStart.IsZero() || s.Reminded || s.Wait <= 0 {
		return false, time.Time{}
	}
	if due := s.TurnStart.Add(s.Wait); now.Before(due) {
		return false, due
	}
	return true, time.Time{}
}

// closeState is what an auto-close decides from.
type closeState struct {
	Open bool
	// Served is true when an agent has the conversation (never for
	// unassigned ones, nor for a bot's).
	Served bool
	// LastAgent and LastCustomer are the last messages of each side
	// (nil: none).
	LastAgent, LastCustomer *time.Time
	After                   time.Duration
	Enabled                 bool
}

// closeDue says whether the conversation closes now, or else when to look
// again (zero: never; the agent's next reply schedules it again).
func closeDue(s closeState, now time.Time) (close bool, later time.Time) {
	if !s.Enabled || !s.Open || !s.Served || s.LastAgent == nil || s.After <= 0 {
		return false, time.Time{}
	}
	if s.LastCustomer != nil && !s.LastCustomer.Before(*s.LastAgent) {
		return false, time.Time{} // the customer replied
	}
	if due := s.LastAgent.Add(s.After); now.Before(due) {
		return false, due
	}
	return true, time.Time{}
}

// inWindow reports whether now is less than window after since.
func inWindow(since *time.Time, window time.Duration, now time.Time) bool {
	return since != nil && now.Before(since.Add(window))
}
