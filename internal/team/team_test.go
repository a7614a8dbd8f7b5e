package team_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestTeams(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		users := user.NewStore(d, event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler)), func(string) (string, error) { return "h", nil })
		var ids []int64
		for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			u, err := users.Create(ctx, user.NewUser{Email: e, Name: e, Role: policy.Service, Password: "long enough password"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		s := team.NewStore(d)
		if _, err := s.Create(ctx, team.NewTeam{Name: "  "}); field(err, "name") == "" {
			t.Fatalf("empty name: %v", err)
		}
		sup, err := s.Create(ctx, team.NewTeam{Name: "Support", MemberIDs: []int64{ids[1], ids[0], ids[0]}})
		if err != nil || len(sup.MemberIDs) != 2 || sup.MemberIDs[0] != ids[0] {
			t.Fatalf("create: %+v %v", sup, err)
		}
		if _, err := s.Create(ctx, team.NewTeam{Name: "support"}); field(err, "name") != "A team with this name already exists." {
			t.Fatalf("same name: %v", err)
		}
		if _, err := s.Create(ctx, team.NewTeam{Name: "Sales", MemberIDs: []int64{999}}); field(err, "member_ids") == "" {
			t.Fatalf("unknown member: %v", err)
		}
		sales, _ := s.Create(ctx, team.NewTeam{Name: "Sales"})
		if _, err := s.Update(ctx, sales.ID, team.Patch{Name: new("SUPPORT")}); field(err, "name") == "" {
			t.Fatalf("rename to a taken name: %v", err)
		}
		// Add one agent, remove another.
		sup, err = s.Update(ctx, sup.ID, team.Patch{Name: new("Customer care"), MemberIDs: &[]int64{ids[1], ids[2]}})
		if err != nil || sup.Name != "Customer care" || len(sup.MemberIDs) != 2 || sup.MemberIDs[1] != ids[2] {
			t.Fatalf("update: %+v %v", sup, err)
		}
		list, _ := s.List(ctx)
		if len(list) != 2 || list[0].Name != "Customer care" || len(list[1].MemberIDs) != 0 {
			t.Fatalf("list %+v", list)
		}
		// A member's teams, with every member of each.
		if _, err := s.Update(ctx, sales.ID, team.Patch{MemberIDs: &[]int64{ids[2]}}); err != nil {
			t.Fatal(err)
		}
		of, err := s.Of(ctx, ids[2])
		if err != nil || len(of) != 2 || of[0].Name != "Customer care" || len(of[0].MemberIDs) != 2 || of[1].Name != "Sales" {
			t.Fatalf("teams of a member: %+v %v", of, err)
		}
		if of, err := s.Of(ctx, ids[0]); err != nil || len(of) != 0 {
			t.Fatalf("teams of nobody's member: %+v %v", of, err)
		}
		if err := s.Delete(ctx, sales.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, sales.ID); err != team.ErrNotFound {
			t.Fatalf("deleted: %v", err)
		}
		if _, err := s.Update(ctx, sales.ID, team.Patch{Name: new("x")}); err != team.ErrNotFound {
			t.Fatalf("update deleted: %v", err)
		}
	})
}

func field(err error, f string) string {
	p, _ := problem.As(err)
	if p == nil {
		return ""
	}
	return p.Fields[f]
}
