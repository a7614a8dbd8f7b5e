package user_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// TestMembersSet replaces a team's members (each once, in order), and
// refuses a list with someone who is no user without changing anything.
func TestMembersSet(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := user.NewStore(d, event.NewLog(d, event.NewLocal(), nil), func(string) (string, error) { return "hash", nil })
		var ids []int64
		for _, e := range []string{"ana@example.com", "bo@example.com"} {
			u, err := s.Create(ctx, user.NewUser{Email: e, Name: e, Role: policy.Service, Password: "long enough password"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		var teamID int64
		if err := d.Write(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO teams (name, created_at, updated_at) VALUES ('Support', $1, $1) RETURNING id`, db.Now()).Scan(&teamID)
		}); err != nil {
			t.Fatal(err)
		}
		m := user.Members{Table: "team_members", Group: "team_id"}
		set := func(userIDs ...int64) ([]int64, error) {
			var out []int64
			err := d.Write(ctx, func(tx *db.Tx) error {
				var err error
				out, err = m.Set(ctx, tx, teamID, userIDs)
				return err
			})
			return out, err
		}
		stored := func() []int64 {
			var out []int64
			rows, err := d.Query(ctx, `SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id`, teamID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				out = append(out, id)
			}
			return out
		}
		got, err := set(ids[1], ids[0], ids[1])
		if err != nil || !slices.Equal(got, ids) || !slices.Equal(stored(), ids) {
			t.Fatalf("Set = %v, %v; stored %v", got, err, stored())
		}
		_, err = set(ids[0], 999)
		var p *problem.Error
		if !errors.As(err, &p) || p.Fields["member_ids"] != "User 999 does not exist." {
			t.Errorf("Set with an unknown user: %v", err)
		}
		if !slices.Equal(stored(), ids) {
			t.Errorf("a refused Set changed the members: %v", stored())
		}
	})
}
