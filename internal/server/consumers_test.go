package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
	"github.com/switchboardhq/switchboard/internal/user"
)

// cacheTTL is how long a node keeps what it knows of a signed-in user
// without being told of a change (auth's cache).
const cacheTTL = 5 * time.Second

// TestAuthCacheFollowsEvents: what a node caches about signed-in people
// follows the event log, whoever made the change: the node that wrote it
// sees it at once, another node (whose broker it never reached) as soon
// as it reads the log, well before its cache would have expired.
func TestAuthCacheFollowsEvents(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// Two nodes on one database, each with its own in-process broker.
		a, b := testrig.Start(t, d), testrig.Start(t, d)
		onA := a.NewUser("agent@example.com", policy.Service)
		onB := b.Anonymous()
		onB.Do("POST", "/api/v1/auth/login", map[string]string{"email": "agent@example.com", "password": testrig.Password}).Expect(200)
		// An inbox the agent is not a member of yet: hidden (404) to them.
		in, _, err := a.App.Inboxes.Create(ctx, inbox.NewInbox{Type: webchat.Type, Name: "Site"})
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/api/v1/inboxes/%d", in.ID)
		warmed := time.Now()
		onA.Do("GET", path, nil).Expect(404)
		onB.Do("GET", path, nil).Expect(404)

		// A membership given through the store, by no handler of either
		// node.
		members := []int64{onA.UserID}
		if _, _, err := a.App.Inboxes.Update(ctx, in.ID, inbox.Patch{MemberIDs: &members}); err != nil {
			t.Fatal(err)
		}
		onA.Do("GET", path, nil).Expect(200)
		eventually(t, warmed, "node B to see the membership", func() bool { return onB.Do("GET", path, nil).StatusCode == 200 })

		// A new role.
		warmed = time.Now()
		onB.Do("GET", "/api/v1/users", nil).Expect(403)
		admin := policy.Admin
		if _, err := a.App.Users.Update(ctx, onA.UserID, user.Patch{Role: &admin}); err != nil {
			t.Fatal(err)
		}
		onA.Do("GET", "/api/v1/users", nil).Expect(200)
		eventually(t, warmed, "node B to see the new role", func() bool {
			return onB.Do("GET", "/api/v1/users", nil).StatusCode == 200
		})

		// Node B's session, signed out through node A.
		var sessions []struct {
			ID      int64 `json:"id"`
			Current bool  `json:"current"`
		}
		warmed = time.Now()
		onB.Do("GET", "/api/v1/me/sessions", nil).Expect(200).Decode(&sessions)
		var bSession int64
		for _, s := range sessions {
			if s.Current {
				bSession = s.ID
			}
		}
		if bSession == 0 {
			t.Fatalf("no current session in %+v", sessions)
		}
		if err := a.App.Auth.RevokeSession(ctx, onA.UserID, bSession); err != nil {
			t.Fatal(err)
		}
		eventually(t, warmed, "node B to refuse the ended session", func() bool {
			return onB.Do("GET", "/api/v1/me", nil).StatusCode == 401
		})
		onA.Do("GET", "/api/v1/me", nil).Expect(200)
	})
}

// eventually waits for cond, which must hold before a cache filled at
// warmed would have expired: later, it would say nothing of the events.
func eventually(t *testing.T, warmed time.Time, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Since(warmed) > cacheTTL-time.Second {
			t.Fatalf("timed out waiting for %s: only the cache's expiry would have done it", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
