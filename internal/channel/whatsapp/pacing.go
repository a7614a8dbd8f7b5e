package whatsapp

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Pacing holds Meta's limits across nodes with the generic cell rate
// algorithm: each key (a number; a number and a customer) has a
// theoretical arrival time, TAT, in the whatsapp_pacing table. A message
// at time t with emission interval T and burst b (tolerance τ = (b-1)·T)
// gets the slot max(t, TAT-τ) and moves TAT to max(TAT, t)+T. The update
// is one statement (INSERT … ON CONFLICT DO UPDATE … RETURNING), which
// PostgreSQL runs under the row's lock and SQLite under its single
// writer, so two nodes never get the same slot.
//
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

// reserve takes the next slot of key no earlier than t. With limit > 0 it
// takes one only if the slot is at most limit after t, and otherwise
// returns ok=false and the time from which one would be.
func reserve(ctx context.Context, tx *db.Tx, key pacingKey, r rule, t time.Time, limit time.Duration) (slot time.Time, ok bool, err error) {
	tu := t.UnixMicro()
	iv := r.interval.Microseconds()
	tol := r.tolerance().Microseconds()
	var tat int64
	// Every argument is cast: PostgreSQL cannot guess the type of a
	// parameter that is only added to another.
	if limit <= 0 {
		err = tx.QueryRow(ctx, `INSERT INTO whatsapp_pacing (key, tat) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT))
			ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN whatsapp_pacing.tat > CAST($2 AS BIGINT) THEN whatsapp_pacing.tat ELSE CAST($2 AS BIGINT) END) + CAST($3 AS BIGINT)
			RETURNING tat`, string(key), tu, iv).Scan(&tat)
	} else {
		err = tx.QueryRow(ctx, `INSERT INTO whatsapp_pacing (key, tat) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT))
			ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN whatsapp_pacing.tat > CAST($2 AS BIGINT) THEN whatsapp_pacing.tat ELSE CAST($2 AS BIGINT) END) + CAST($3 AS BIGINT)
			WHERE whatsapp_pacing.tat - CAST($4 AS BIGINT) <= CAST($2 AS BIGINT) + CAST($5 AS BIGINT)
			RETURNING tat`, string(key), tu, iv, tol, limit.Microseconds()).Scan(&tat)
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			// Over the limit: nothing was reserved.
			if err := tx.QueryRow(ctx, `SELECT tat FROM whatsapp_pacing WHERE key = $1`, string(key)).Scan(&tat); err != nil {
				return time.Time{}, false, err
			}
			return time.UnixMicro(tat - tol - limit.Microseconds()).UTC(), false, nil
		}
	}
	if err != nil {
		return time.Time{}, false, errorf("pacing %s: %w", key, err)
	}
	return time.UnixMicro(max(tu, tat-iv-tol)).UTC(), true, nil
}

// holdUntil pushes a key's next slot to at (Meta said to back off).
func holdUntil(ctx context.Context, tx *db.Tx, key pacingKey, at time.Time) error {
	au := at.UnixMicro()
	_, err := tx.Exec(ctx, `INSERT INTO whatsapp_pacing (key, tat) VALUES ($1, CAST($2 AS BIGINT))
		ON CONFLICT (key) DO UPDATE SET tat = CAST($2 AS BIGINT) WHERE whatsapp_pacing.tat < CAST($2 AS BIGINT)`, string(key), au)
	return err
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
