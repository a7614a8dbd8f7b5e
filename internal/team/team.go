// Package team keeps teams of agents: named groups that reports add up
// (time in status per team) and that routing will use later.
package team

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Team is a named group of users.
type Team struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	MemberIDs []int64   `json:"member_ids"`
	CreatedAt time.Time `json:"created_at"`
}

// NewTeam is what it takes to create a team.
type NewTeam struct {
	Name      string  `json:"name"`
	MemberIDs []int64 `json:"member_ids,omitempty"`
}

// Patch renames a team or replaces its members; nil fields stay.
type Patch struct {
	Name      *string  `json:"name,omitempty"`
	MemberIDs *[]int64 `json:"member_ids,omitempty"`
}

// ErrNotFound is a team that does not exist.
var ErrNotFound = problem.NotFound("Team")

// Store reads and writes teams.
type Store struct {
	db *db.DB
}

// NewStore returns the store.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

func validName(f problem.Fields, name string) {
	switch {
	case name == "":
		f.Add("name", "Enter a name.")
	case utf8.RuneCountInString(name) > 100:
		f.Add("name", "A name has at most 100 characters.")
	case !utf8.ValidString(name):
		f.Add("name", "The name is not valid text.")
	}
}

// Create adds a team.
func (s *Store) Create(ctx context.Context, n NewTeam) (Team, error) {
	f := problem.Fields{}
	n.Name = strings.TrimSpace(n.Name)
	validName(f, n.Name)
	if err := f.Err(); err != nil {
		return Team{}, err
	}
	t := Team{Name: n.Name, CreatedAt: db.Now()}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO teams (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id`, t.Name, t.CreatedAt).Scan(&t.ID)
		if errors.Is(db.MapErr(err), db.ErrConflict) {
			return problem.Invalid("name", "A team with this name already exists.")
		} else if err != nil {
			return fmt.Errorf("team: create: %w", err)
		}
		t.MemberIDs, err = memberships.Set(ctx, tx, t.ID, n.MemberIDs)
		return err
	})
	return t, err
}

// memberships are the users of each team.
var memberships = user.Members{Table: "team_members", Group: "team_id"}

// Update renames a team or replaces its members.
func (s *Store) Update(ctx context.Context, id int64, p Patch) (Team, error) {
	f := problem.Fields{}
	if p.Name != nil {
		*p.Name = strings.TrimSpace(*p.Name)
		validName(f, *p.Name)
	}
	if err := f.Err(); err != nil {
		return Team{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE teams SET name = COALESCE($2, name), updated_at = $3 WHERE id = $1`, id, p.Name, db.Now())
		if errors.Is(db.MapErr(err), db.ErrConflict) {
			return problem.Invalid("name", "A team with this name already exists.")
		} else if err != nil {
			return fmt.Errorf("team: update: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if p.MemberIDs != nil {
			_, err = memberships.Set(ctx, tx, id, *p.MemberIDs)
		}
		return err
	})
	if err != nil {
		return Team{}, err
	}
	return s.Get(ctx, id)
}

// Delete removes a team (its members stay users).
func (s *Store) Delete(ctx context.Context, id int64) error {
	res, err := s.db.Exec(ctx, `DELETE FROM teams WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("team: delete: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Get returns one team.
func (s *Store) Get(ctx context.Context, id int64) (Team, error) {
	ts, err := s.list(ctx, `WHERE t.id = $1`, id)
	if err != nil {
		return Team{}, err
	}
	if len(ts) == 0 {
		return Team{}, ErrNotFound
	}
	return ts[0], nil
}

// Of returns the teams userID is a member of, by name.
func (s *Store) Of(ctx context.Context, userID int64) ([]Team, error) {
	return s.list(ctx, `WHERE t.id IN (SELECT team_id FROM team_members WHERE user_id = $1)`, userID)
}

// List returns every team by name, with its members.
func (s *Store) List(ctx context.Context) ([]Team, error) { return s.list(ctx, ``) }

func (s *Store) list(ctx context.Context, where string, args ...any) ([]Team, error) {
	rows, err := s.db.Query(ctx, `SELECT t.id, t.name, t.created_at, m.user_id FROM teams t
		LEFT JOIN team_members m ON m.team_id = t.id `+where+` ORDER BY lower(t.name), t.id, m.user_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("team: list: %w", err)
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		var t Team
		var member *int64
		if err := rows.Scan(&t.ID, &t.Name, &t.CreatedAt, &member); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != t.ID {
			t.MemberIDs = []int64{}
			out = append(out, t)
		}
		if member != nil {
			last := &out[len(out)-1]
			last.MemberIDs = append(last.MemberIDs, *member)
		}
	}
	return out, rows.Err()
}
