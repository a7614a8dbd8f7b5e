// Package availability keeps agents' availability statuses and what
// depends on them: every change is stored as an interval (for the time in
// status report) and is told to routing in its transaction, an agent is Away
// after signing in until they choose Available, and an agent whose
// connections have all been gone for a while becomes Away on their own.
package availability

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// StatusChanged is the event of a status change; it goes to the user
// alone, so every tab they have open shows it.
const StatusChanged = "status.changed"

// Change is the data of a StatusChanged event.
type Change struct {
	UserID int64       `json:"user_id"`
	Status user.Status `json:"status"`
	Since  time.Time   `json:"since"`
	// Automatic is true when Switchboard changed it (sign-in, connections
	// gone), not the agent.
	Automatic bool `json:"automatic"`
}

// Listener hears every status change in the transaction that makes it
// (routing: an agent who turns Available may take from the queues).
type Listener interface {
	StatusChanged(ctx context.Context, tx *event.Tx, userID int64, from, to user.Status) error
}

// Service runs statuses.
type Service struct {
	db       *db.DB
	log      *event.Log
	listener Listener
}

// New returns the service; l (may be nil) hears the status changes.
func New(d *db.DB, log *event.Log, l Listener) *Service {
	return &Service{db: d, log: log, listener: l}
}

// Set changes userID's status (a choice of the agent).
func (s *Service) Set(ctx context.Context, userID int64, st user.Status) (Change, error) {
	if !st.Valid() {
		return Change{}, problem.Invalid("status", "Choose one of available, away, unavailable, on_break, after_call_work, do_not_disturb, busy.")
	}
	var c Change
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		c, _, err = setStatus(ctx, tx, s.listener, userID, st, false)
		return err
	})
	return c, err
}

// SetIn makes st the status of userID in tx, as part of a larger change
// (deactivating the account makes it Unavailable, which also takes them
// out of automatic assignment).
func (s *Service) SetIn(ctx context.Context, tx *event.Tx, userID int64, st user.Status) (Change, error) {
	c, _, err := setStatus(ctx, tx, s.listener, userID, st, false)
	return c, err
}

// setStatus makes st the status of userID in tx, unless it is already:
// it closes the open interval and opens one for st, emits the event and
// tells l. It reports whether anything changed.
func setStatus(ctx context.Context, tx *event.Tx, l Listener, userID int64, st user.Status, automatic bool) (Change, bool, error) {
	now := db.Now()
	// Lock the user's row first: concurrent changes of one user queue here.
	var cur user.Status
	err := tx.QueryRow(ctx, `UPDATE users SET status = status WHERE id = $1 RETURNING status`, userID).Scan(&cur)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return Change{}, false, problem.NotFound("User")
	} else if err != nil {
		return Change{}, false, fmt.Errorf("availability: status: %w", err)
	}
	if cur == st {
		var since time.Time
		err := tx.QueryRow(ctx, `SELECT started_at FROM status_intervals WHERE user_id = $1 AND ended_at IS NULL`, userID).Scan(&since)
		if err == nil {
			return Change{UserID: userID, Status: st, Since: since, Automatic: automatic}, false, nil
		}
		if !errors.Is(db.MapErr(err), db.ErrNotFound) {
			return Change{}, false, err
		}
		// No interval yet (a user who never had a status change): open one.
	}
	if _, err := tx.Exec(ctx, `UPDATE status_intervals SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL`, userID, now); err != nil {
		return Change{}, false, fmt.Errorf("availability: close interval: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO status_intervals (user_id, status, started_at) VALUES ($1, $2, $3)`, userID, st, now); err != nil {
		return Change{}, false, fmt.Errorf("availability: open interval: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET status = $2 WHERE id = $1`, userID, st); err != nil {
		return Change{}, false, fmt.Errorf("availability: status: %w", err)
	}
	c := Change{UserID: userID, Status: st, Since: now, Automatic: automatic}
	e := event.New(StatusChanged, c)
	e.UserID = userID
	tx.Emit(e)
	if l != nil {
		if err := l.StatusChanged(ctx, tx, userID, cur, st); err != nil {
			return Change{}, false, err
		}
	}
	return c, true, nil
}

// Current returns userID's status and since when.
func (s *Service) Current(ctx context.Context, userID int64) (Change, error) {
	c := Change{UserID: userID}
	err := s.db.QueryRow(ctx, `SELECT status FROM users WHERE id = $1`, userID).Scan(&c.Status)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return c, problem.NotFound("User")
	} else if err != nil {
		return c, err
	}
	err = s.db.QueryRow(ctx, `SELECT started_at FROM status_intervals WHERE user_id = $1 AND ended_at IS NULL`, userID).Scan(&c.Since)
	if err != nil && !errors.Is(db.MapErr(err), db.ErrNotFound) {
		return c, err
	}
	return c, nil
}

// SignedIn applies the rule of signing in: the agent is Away until they
// choose Available (on a second device too: they choose again there).
func (s *Service) SignedIn(ctx context.Context, userID int64) error {
	return s.log.Write(ctx, func(tx *event.Tx) error {
		_, _, err := setStatus(ctx, tx, s.listener, userID, user.Away, true)
		return err
	})
}

// SignedOut makes an agent who signs out Unavailable (unless they are
// still connected on another device).
func (s *Service) SignedOut(ctx context.Context, userID int64) error {
	return s.log.Write(ctx, func(tx *event.Tx) error {
		var others bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE user_id = $1 AND expires_at > $2)`, userID, db.Now()).Scan(&others); err != nil {
			return err
		}
		if others {
			return nil
		}
		_, _, err := setStatus(ctx, tx, s.listener, userID, user.Unavailable, true)
		return err
	})
}
