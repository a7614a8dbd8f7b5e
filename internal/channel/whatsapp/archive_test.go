package whatsapp_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// TestArchivedNumber: once its inbox is archived, a number's webhooks are
// acknowledged (200, so Meta does not retry) and dropped; the
// conversation it had is closed and keeps its message.
func TestArchivedNumber(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		msg := func(id string) []byte {
			return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + h.num.WABAID + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"` + h.num.ID + `"},"contacts":[{"profile":{"name":"Eve"},"wa_id":"15550001111"}],"messages":[{"from":"15550001111","id":"` + id + `","timestamp":"1749416383","type":"text","text":{"body":"hi"}}]}}]}]}`)
		}
		post := func(b []byte) int {
			req, _ := http.NewRequest("POST", h.srv.URL+"/webhooks/whatsapp", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(b, appSecret))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		if s := post(msg("wamid.BEFORE")); s != 200 {
			t.Fatalf("before archiving: %d", s)
		}
		h.admin.Do("DELETE", fmt.Sprintf("/api/v1/inboxes/%d", h.inbox.ID), nil).Expect(204)
		if s := post(msg("wamid.AFTER")); s != 200 {
			t.Fatalf("after archiving: %d, want 200", s)
		}
		cs := h.conversations()
		if len(cs) != 1 || cs[0].Status != "closed" || len(h.messages(cs[0].ID)) != 1 {
			t.Fatalf("after archiving: %d conversations, %+v", len(cs), cs)
		}
	})
}
