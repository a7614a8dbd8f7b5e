package inbox_test

import (
	"context"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/user"
)

// TestMembersAndLists: an inbox's members are each user once; a user's
// inboxes are those they are a member of, by name, with their members;
// admins list every inbox, agents their own.
func TestMembersAndLists(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		users := user.NewStore(d, event.NewLog(d, event.NewLocal(), nil), func(string) (string, error) { return "hash", nil })
		ana, err := users.Create(ctx, user.NewUser{Email: "ana@example.com", Name: "Ana", Role: policy.Service, Password: "long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		bo, _ := users.Create(ctx, user.NewUser{Email: "bo@example.com", Name: "Bo", Role: policy.Service, Password: "long enough password"})
		s := newStore(t, d)
		shop, _, err := s.Create(ctx, inbox.NewInbox{Type: inbox.Webchat, Name: "Shop", MemberIDs: []int64{bo.ID, ana.ID, ana.ID}})
		if err != nil || len(shop.MemberIDs) != 2 {
			t.Fatalf("create %+v %v", shop, err)
		}
		site, _, _ := s.Create(ctx, inbox.NewInbox{Type: inbox.Webchat, Name: "Main site", MemberIDs: []int64{ana.ID}})
		s.Create(ctx, inbox.NewInbox{Type: inbox.Webchat, Name: "Another"})
		of, err := s.Of(ctx, ana.ID)
		if err != nil || len(of) != 2 || of[0].ID != site.ID || of[1].ID != shop.ID || len(of[1].MemberIDs) != 2 {
			t.Fatalf("Of = %+v, %v", of, err)
		}
		if mine, _ := s.List(ctx, policy.Actor{UserID: bo.ID, Role: policy.Service}); len(mine) != 1 || mine[0].ID != shop.ID {
			t.Errorf("an agent's list %+v", mine)
		}
		if all, _ := s.List(ctx, policy.Actor{UserID: bo.ID, Role: policy.Admin}); len(all) != 3 || all[0].Name != "Another" {
			t.Errorf("an admin's list %+v", all)
		}
	})
}
