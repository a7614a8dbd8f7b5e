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

// TestActivitiesInTimeline: changes to a conversation are lines of its
// timeline after a reload, where they happened among the messages, and
// in the API.
func TestActivitiesInTimeline(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		ana := srv.NewUser("ana@example.com", policy.Admin)
		ben := srv.NewUser("ben@example.com", policy.Service)
		in, _ := srv.NewWebchatInbox("Site", ben.UserID)
		v := srv.NewVisitor(in.Token, map[string]string{"name": "Carla"})
		v.Say("Hello")
		id := wsConv(t, ana)
		conv := fmt.Sprintf("/api/v1/conversations/%d", id)
		ana.Do("POST", conv+"/assign", map[string]any{"assignee_id": ben.UserID}).Expect(200)
		ana.Do("POST", conv+"/tags", map[string]string{"tag": "vip"}).Expect(200)
		v.Say("Still there?")
		ben.Do("POST", conv+"/close", nil).Expect(200)
		ana.Do("POST", conv+"/reopen", nil).Expect(200)
		ana.Do("POST", conv+"/assign", map[string]any{"assignee_id": nil}).Expect(200)

		var list struct {
			Items []conversation.Activity `json:"items"`
		}
		ana.Do("GET", conv+"/activities", nil).Expect(200).Decode(&list)
		var kinds []string
		for _, a := range list.Items {
			kinds = append(kinds, string(a.Kind))
		}
		if got := strings.Join(kinds, ","); got != "assigned,tagged,closed,reopened,unassigned" {
			t.Fatalf("activities %s", got)
		}
		ana.Do("GET", conv+"/activities?after=x", nil).Expect(422)
		var later struct {
			Items []conversation.Activity `json:"items"`
		}
		ana.Do("GET", fmt.Sprintf("%s/activities?after=%d", conv, list.Items[2].ID), nil).Expect(200).Decode(&later)
		if len(later.Items) != 2 {
			t.Fatalf("after the third: %+v", later.Items)
		}

		body := html.UnescapeString(string(ana.Do("GET", fmt.Sprintf("/inbox/conversations/%d", id), nil).Expect(200).Body))
		text := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(body, "")
		text = regexp.MustCompile(`\s+`).ReplaceAllString(text, " ")
		want := []string{"Hello", "Ana assigned this to Ben ·", "Ana added the tag vip ·", "Still there?", "Ben closed this conversation ·",
			"Ana reopened this conversation ·", "Ana unassigned Ben ·"}
		at := 0
		for _, w := range want {
			i := strings.Index(text[at:], w)
			if i < 0 {
				t.Fatalf("the timeline lacks %q after position %d:\n%s", w, at, text)
			}
			at += i + len(w)
		}
		if n := strings.Count(body, `class="activity"`); n != 5 {
			t.Fatalf("%d activity lines, want 5", n)
		}
	})
}

// wsConv is the one conversation an agent sees.
func wsConv(t *testing.T, c *testrig.Client) int64 {
	t.Helper()
	var list page[conv]
	c.Do("GET", "/api/v1/conversations", nil).Expect(200).Decode(&list)
	if len(list.Items) != 1 {
		t.Fatalf("conversations %+v, want one", list.Items)
	}
	return list.Items[0].ID
}
