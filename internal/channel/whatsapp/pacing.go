package whatsapp

import (
	"context"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Pacing holds Meta's limits across nodes with the generic cell rate
// algorithm: each key (a number; a number and a customer) has a
// theoretical arrival time, TAT, in the whatsapp_pacing table, and gcra
// does the arithmetic. A reservation locks the key's row (an upsert that
// returns it: PostgreSQL holds the row's lock to the commit, SQLite's
// single writer runs one transaction at a time), computes the slot in Go
// and writes the new TAT back, so two nodes never get the same slot.

// Two kinds of keys use it: plans, reserved when a message is committed,
// say when its job should run (so one busy number does not hold back the
// others); limits, reserved right before a send, say when it may go. A
// send never goes before its limit slot: the limit holds whatever the
// plans and the job runner do.

// pacingKey names a pacing cell.
type pacingKey string

func numberKey(inboxID int64) pacingKey { return pacingKey("num:" + itoa64(inboxID)) }
func numberPlanKey(inboxID int64) pacingKey {
	return pacingKey("plan:num:" + itoa64(inboxID))
}
func pairKey(inboxID int64, recipient string) pacingKey {
	return pacingKey("pair:" + itoa64(inboxID) + ":" + recipient)
}
func pairPlanKey(inboxID int64, recipient string) pacingKey {
	return pacingKey("plan:pair:" + itoa64(inboxID) + ":" + recipient)
}

// rule is an emission interval and a burst.
type rule struct {
	interval time.Duration
	burst    int
}

func (r rule) tolerance() time.Duration { return time.Duration(max(r.burst-1, 0)) * r.interval }

// numberRule is a number's throughput: perSecond messages a second,
// evenly spaced (a burst of one: Meta measures per second, and spacing
// keeps every second under the limit). The spacing is widened by
// jitterAllowance/perSecond, so that a send reaching Meta a few
// milliseconds late cannot make perSecond+1 in one second with the sends
// after it: the number runs at 99.5% of its limit and never above.
func numberRule(perSecond int) rule {
	if perSecond <= 0 {
		perSecond = 80
	}
	return rule{interval: (time.Second + jitterAllowance) / time.Duration(perSecond), burst: 1}
}

// jitterAllowance is how late a send may reach Meta after its slot
// without breaking the limit: timers, scheduling and the network.
const jitterAllowance = 5 * time.Millisecond

// sendLead is how far ahead a send's slot is reserved: the reservation
// commits, then the send waits for its slot, so the time a commit takes
// does not move sends closer together.
const sendLead = 25 * time.Millisecond

// gcra is the generic cell rate algorithm for one message at now on a
// cell whose theoretical arrival time is tat (the zero time, or any time
// in the past, for a cell at rest), with emission interval interval and
// burst burst (at least one message; the tolerance is (burst-1)·interval).
// allowedAt is the message's slot: now, or later when the cell has used
// its burst; newTAT is what the cell holds once the message has its slot.
func gcra(tat, now time.Time, interval time.Duration, burst int) (newTAT, allowedAt time.Time) {
	tolerance := time.Duration(max(burst-1, 0)) * interval
	allowedAt = now
	if earliest := tat.Add(-tolerance); earliest.After(now) {
		allowedAt = earliest
	}
	if tat.Before(now) {
		tat = now
	}
	return tat.Add(interval), allowedAt
}

// reserve takes the next slot of key no earlier than t. With limit > 0 it
// takes one only if the slot is at most limit after t, and otherwise
// reserves nothing and returns ok=false and the time from which one
// would be (the slot it would get, less limit).
// Times are kept to the microsecond, as the table stores them.
func reserve(ctx context.Context, tx *db.Tx, key pacingKey, r rule, t time.Time, limit time.Duration) (slot time.Time, ok bool, err error) {
	// Lock the row (creating it at rest) and read its TAT: every
	// reservation of the key waits here until this transaction ends.
	var tat int64
	err = tx.QueryRow(ctx, `INSERT INTO whatsapp_pacing (key, tat) VALUES ($1, 0)
		ON CONFLICT (key) DO UPDATE SET tat = whatsapp_pacing.tat RETURNING tat`, string(key)).Scan(&tat)
	if err != nil {
		return time.Time{}, false, errorf("pacing %s: %w", key, err)
	}
	now := time.UnixMicro(t.UnixMicro()).UTC()
	next, slot := gcra(time.UnixMicro(tat).UTC(), now, r.interval.Truncate(time.Microsecond), r.burst)
	if limit > 0 && slot.Sub(now) > limit {
		return slot.Add(-limit), false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE whatsapp_pacing SET tat = $2 WHERE key = $1`, string(key), next.UnixMicro()); err != nil {
		return time.Time{}, false, errorf("pacing %s: %w", key, err)
	}
	return slot, true, nil
}

// holdUntil pushes a key's next slot to at (Meta said to back off).
func holdUntil(ctx context.Context, tx *db.Tx, key pacingKey, at time.Time) error {
	au := at.UnixMicro()
	_, err := tx.Exec(ctx, `INSERT INTO whatsapp_pacing (key, tat) VALUES ($1, CAST($2 AS BIGINT))
		ON CONFLICT (key) DO UPDATE SET tat = CAST($2 AS BIGINT) WHERE whatsapp_pacing.tat < CAST($2 AS BIGINT)`, string(key), au)
	return err
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
