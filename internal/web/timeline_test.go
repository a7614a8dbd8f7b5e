package web_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// rowPreview is the preview of a conversation's row on a list page.
func rowPreview(t *testing.T, body []byte, convID int64) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)id="row-` + fmt.Sprint(convID) + `".*?<span class="preview">(.*?)</span>\s*<span class="row-meta">`)
	m := re.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no row for conversation %d in:\n%s", convID, body)
	}
	return html.UnescapeString(strings.TrimSpace(string(m[1])))
}

// TestPreviewOfOpenedChat: a customer who opens a WhatsApp chat without
// writing shows in the list as having opened the chat, in the agent's
// language, not as the message's type.
func TestPreviewOfOpenedChat(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		ana := srv.NewUser("ana@example.com", policy.Admin)
		in, _ := srv.NewWebchatInbox("Site", ana.UserID)
		r, err := srv.App.Conversations.Receive(context.Background(), conversation.Incoming{InboxID: in.ID, ExternalID: "wa:1555",
			Profile: contact.Profile{Name: "Olga"}, ChannelMessageID: "welcome-1", Type: conversation.TypeSystem})
		if err != nil {
			t.Fatal(err)
		}
		if got := rowPreview(t, ana.Do("GET", "/inbox", nil).Expect(200).Body, r.Conversation.ID); !strings.Contains(got, "Opened the chat") {
			t.Fatalf("the row's preview is %q, want that the customer opened the chat", got)
		}
		ana.Do("PATCH", "/api/v1/me", map[string]any{"language": "es"}).Expect(200)
		srv.App.Auth.Forget(ana.UserID)
		if got := rowPreview(t, ana.Do("GET", "/inbox", nil).Expect(200).Body, r.Conversation.ID); !strings.Contains(got, "Abrió el chat") {
			t.Fatalf("the row's preview in Spanish is %q", got)
		}
	})
}
