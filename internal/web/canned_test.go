package web_test

import (
	"fmt"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

type cannedJSON struct {
	ID        int64  `json:"id"`
	Scope     string `json:"scope"`
	OwnerID   *int64 `json:"owner_id"`
	ShortCode string `json:"short_code"`
	Message   struct {
		Kind         string `json:"kind"`
		Text         string `json:"text"`
		AttachmentID int64  `json:"attachment_id"`
	} `json:"message"`
	Attachment *struct {
		ID       int64  `json:"id"`
		Filename string `json:"filename"`
	} `json:"attachment"`
}

func cannedCodes(c *testrig.Client, query string) string {
	var list []cannedJSON
	c.Do("GET", "/api/v1/canned-responses"+query, nil).Expect(200).Decode(&list)
	out := ""
	for i, x := range list {
		if i > 0 {
			out += " "
		}
		out += x.Scope[:1] + ":" + x.ShortCode
	}
	return out
}

// TestCannedAPI: canned responses over the API: an agent's own with a
// file, company presets for admins alone, another agent's not found, the
// filters, and what bad input gets (422 per field, nothing written).
func TestCannedAPI(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service)
		ben := srv.NewUser("ben@example.com", policy.Sales)

		file := upload(t, ana, 201)
		var logo cannedJSON
		ana.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "/logo", "message": map[string]any{"kind": "media", "text": "Our *logo* 🎨", "attachment_id": file}}).
			Expect(201).Decode(&logo)
		if logo.Scope != "personal" || logo.ShortCode != "logo" || logo.OwnerID == nil || *logo.OwnerID != ana.UserID || logo.Attachment == nil || logo.Attachment.ID != file {
			t.Fatalf("created %+v", logo)
		}
		// The file is the canned response's now: not sent as a reply's.
		if e := ana.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "logo2", "message": map[string]any{"kind": "media", "attachment_id": file}}).Expect(422).Err(); e.Fields["message.attachment_id"] == "" {
			t.Errorf("the file kept twice: %+v", e)
		}

		// Company presets are for admins to make and everyone to use.
		if e := ana.Do("POST", "/api/v1/canned-responses", map[string]any{"scope": "company", "short_code": "hours", "message": map[string]any{"kind": "text", "text": "9 to 5"}}).Expect(403).Err(); e.Message == "" {
			t.Errorf("a service agent's preset: %+v", e)
		}
		var hours cannedJSON
		admin.Do("POST", "/api/v1/canned-responses", map[string]any{"scope": "company", "short_code": "hours", "message": map[string]any{"kind": "text", "text": "We are open *9 to 5*, {{contact.name}}."}}).Expect(201).Decode(&hours)
		ben.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "hours", "message": map[string]any{"kind": "text", "text": "My hours"}}).Expect(201)

		for _, tc := range []struct {
			c     *testrig.Client
			query string
			want  string
		}{
			{ana, "", "c:hours p:logo"},
			{ben, "", "p:hours c:hours"},
			{ben, "?scope=company", "c:hours"},
			{ben, "?scope=personal", "p:hours"},
			{ana, "?q=LOG", "p:logo"},
			{ana, "?q=contact.name", "c:hours"},
			{admin, "?scope=all&q=o", "c:hours"},
		} {
			if got := cannedCodes(tc.c, tc.query); got != tc.want {
				t.Errorf("user %d lists %q: %q, want %q", tc.c.UserID, tc.query, got, tc.want)
			}
		}
		if e := ana.Do("GET", "/api/v1/canned-responses?scope=mine", nil).Expect(422).Err(); e.Fields["scope"] == "" {
			t.Errorf("scope=mine: %+v", e)
		}

		// Only the owner (or, for presets, an admin) changes one.
		path := fmt.Sprintf("/api/v1/canned-responses/%d", logo.ID)
		ben.Do("PATCH", path, map[string]any{"short_code": "mine"}).Expect(404)
		admin.Do("DELETE", path, nil).Expect(404)
		ana.Do("PATCH", fmt.Sprintf("/api/v1/canned-responses/%d", hours.ID), map[string]any{"short_code": "open"}).Expect(403)

		// Bad input: per field, nothing written.
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"short_code": "two words"}, "short_code"},
			{map[string]any{"short_code": "x\u0000y"}, "short_code"},
			{map[string]any{"message": map[string]any{"kind": "text", "text": ""}}, "message.text"},
			{map[string]any{"message": map[string]any{"kind": "voice"}}, "message.kind"},
			{map[string]any{"message": map[string]any{"kind": "interactive", "text": "Choose", "interactive": map[string]any{"type": "button",
				"buttons": []map[string]any{{"id": "a", "title": "A title far too long for a button"}}}}}, "message.interactive.buttons.0.title"},
			{map[string]any{"message": map[string]any{"kind": "media", "attachment_id": 999999}}, "message.attachment_id"},
		} {
			if e := ana.Do("PATCH", path, tc.body).Expect(422).Err(); e.Fields[tc.field] == "" {
				t.Errorf("%v: %+v, want a message on %s", tc.body, e, tc.field)
			}
		}
		var got cannedJSON
		ana.Do("PATCH", path, map[string]any{"message": map[string]any{"kind": "media", "text": "New caption", "attachment_id": file}}).Expect(200).Decode(&got)
		if got.ShortCode != "logo" || got.Message.Text != "New caption" || got.Attachment == nil || got.Attachment.ID != file {
			t.Errorf("after the refused changes and a caption: %+v", got)
		}
		ana.Do("DELETE", path, nil).Expect(204)
		ana.Do("DELETE", path, nil).Expect(404)
		if got := cannedCodes(ana, ""); got != "c:hours" {
			t.Errorf("after the delete: %q", got)
		}
	})
}
