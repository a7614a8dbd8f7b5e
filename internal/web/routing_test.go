package web_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestRoutingAPI: an inbox's rules and limits over the API, the queue
// (GET …/queue, queued=true, the queue object on a conversation), claims
// (one of two at once wins, the other 409), transfers and a member's
// limit.
func TestRoutingAPI(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service)
		bo := srv.NewUser("bo@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", ana.UserID, bo.UserID)
		setStatus(t, ana, "available")
		setStatus(t, bo, "available")
		path := fmt.Sprintf("/api/v1/inboxes/%d/assignment", in.ID)
		var st struct {
			AutoAssign   bool   `json:"auto_assign"`
			Rule         string `json:"rule"`
			DefaultLimit int    `json:"default_limit"`
			Owner        struct {
				On            bool `json:"on"`
				OnlyAvailable bool `json:"only_available"`
				WaitMinutes   int  `json:"wait_minutes"`
			} `json:"owner"`
			Limits []struct {
				UserID    int64 `json:"user_id"`
				Limit     *int  `json:"limit"`
				Effective int   `json:"effective"`
			} `json:"limits"`
		}
		admin.Do("GET", path, nil).Expect(200).Decode(&st)
		if st.Rule != "none" || st.AutoAssign || !st.Owner.OnlyAvailable || len(st.Limits) != 2 {
			t.Fatalf("defaults %+v", st)
		}
		if e := admin.Do("PUT", path, map[string]any{"rule": "random", "owner": map[string]any{"wait_minutes": -1}}).Expect(422).Err(); e.Fields["rule"] == "" || e.Fields["owner.wait_minutes"] == "" {
			t.Fatalf("bad rules: %+v", e)
		}
		admin.Do("PUT", path, map[string]any{"rule": "available_in_turn", "default_limit": 1, "advanced": true,
			"owner": map[string]any{"on": true, "only_available": true, "wait_minutes": 0}}).Expect(200).Decode(&st)
		if st.Rule != "available_in_turn" || !st.AutoAssign || st.DefaultLimit != 1 || !st.Owner.On || st.Limits[0].Effective != 1 {
			t.Fatalf("settings %+v", st)
		}
		for i := range 4 {
			srv.NewVisitor(in.Token, nil).Say(fmt.Sprintf("hello %d", i))
		}
		type conv struct {
			ID         int64  `json:"id"`
			AssigneeID *int64 `json:"assignee_id"`
			Queue      *struct {
				Position       int  `json:"position"`
				EstimatedWaitS *int `json:"estimated_wait_s"`
			} `json:"queue"`
		}
		var queued page[conv]
		ana.Do("GET", fmt.Sprintf("/api/v1/conversations?queued=true&inbox_id=%d", in.ID), nil).Expect(200).Decode(&queued)
		if len(queued.Items) != 2 || queued.Items[0].Queue == nil || queued.Items[0].AssigneeID != nil {
			t.Fatalf("queued list %+v", queued.Items)
		}
		admin.Do("GET", "/api/v1/conversations?queued=maybe", nil).Expect(422)
		var q []struct {
			ConversationID int64 `json:"conversation_id"`
			Position       int   `json:"position"`
		}
		ana.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/queue", in.ID), nil).Expect(200).Decode(&q)
		if len(q) != 2 || q[0].Position != 1 || q[1].Position != 2 {
			t.Fatalf("queue %+v", q)
		}
		var one conv
		ana.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", q[1].ConversationID), nil).Expect(200).Decode(&one)
		if one.Queue == nil || one.Queue.Position != 2 {
			t.Fatalf("conversation's queue %+v", one.Queue)
		}
		// Two claims of the head at once: one wins, the other is 409.
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, c := range []*testrig.Client{ana, bo} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = c.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/claim", q[0].ConversationID), nil).StatusCode
			}()
		}
		wg.Wait()
		if !(codes[0] == 200 && codes[1] == 409) && !(codes[0] == 409 && codes[1] == 200) {
			t.Fatalf("two claims answered %v, want 200 and 409", codes)
		}
		// Transfer: the candidates, then to an agent at the limit (a
		// service agent may not, an admin may).
		var cands []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
			Open   int    `json:"open"`
			Limit  int    `json:"limit"`
		}
		ana.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/transfer-candidates", q[1].ConversationID), nil).Expect(200).Decode(&cands)
		if len(cands) != 2 || cands[0].Status != "available" || cands[0].Limit != 1 || cands[0].Open < 1 {
			t.Fatalf("candidates %+v", cands)
		}
		transfer := fmt.Sprintf("/api/v1/conversations/%d/transfer", q[1].ConversationID)
		if e := ana.Do("POST", transfer, map[string]any{"agent_id": bo.UserID}).Expect(422).Err(); e.Fields["agent_id"] == "" {
			t.Fatalf("transfer over the limit: %+v", e)
		}
		one = conv{}
		admin.Do("POST", transfer, map[string]any{"agent_id": bo.UserID}).Expect(200).Decode(&one)
		if one.AssigneeID == nil || *one.AssigneeID != bo.UserID || one.Queue != nil {
			t.Fatalf("after the admin's transfer %+v", one)
		}
		admin.Do("POST", transfer, map[string]any{}).Expect(422)
		// A member's own limit.
		limit := fmt.Sprintf("/api/v1/inboxes/%d/members/%d/limit", in.ID, ana.UserID)
		admin.Do("PUT", limit, map[string]any{"limit": 3}).Expect(200)
		admin.Do("PUT", limit, map[string]any{"limit": -2}).Expect(422)
		admin.Do("PUT", fmt.Sprintf("/api/v1/inboxes/%d/members/%d/limit", in.ID, admin.UserID), map[string]any{"limit": 3}).Expect(404)
		admin.Do("GET", path, nil).Expect(200).Decode(&st)
		for _, l := range st.Limits {
			if l.UserID == ana.UserID && (l.Limit == nil || *l.Limit != 3 || l.Effective != 3) {
				t.Errorf("ana's limit %+v", l)
			}
		}
	})
}
