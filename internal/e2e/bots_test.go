package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// botsConsumer waits until the node's bots' consumer has started: it
// follows the log from there, so customers write after.
func botsConsumer(t *testing.T, srv *testrig.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		srv.App.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM event_consumers WHERE name = 'bots'`).Scan(&n)
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the bots' consumer did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBotsAdminPage: an admin makes a menu bot for an inbox from the Bots
// page (its greeting and options), is told what WhatsApp would refuse
// next to the option, edits the menu; and makes an external bot, whose
// token and signing secret are shown once. At a desktop's width and a
// phone's.
func TestBotsAdminPage(t *testing.T) {
	for _, w := range widths {
		t.Run(w.name, func(t *testing.T) {
			srv := testrig.Start(t, dbtest.SQLite(t))
			admin := srv.NewUser("admin@example.com", policy.Admin)
			in, _ := srv.NewWebchatInbox("Shop")
			ctx := wsSignIn(t, srv, "admin@example.com", "/inbox")
			AllowStatus(ctx, 422, "/admin/bots")
			Do(t, ctx, chromedp.EmulateViewport(w.w, w.h),
				chromedp.Click(chromedp.CSS(`header.top a[href="/admin/bots"]`)),
				chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/bots/new"]`)),
			)
			phoneFits(t, ctx, "the Bots page")
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`a[href="/admin/bots/new"]`)),
				chromedp.WaitVisible(chromedp.CSS(`.bot-form`)),
				chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Concierge"),
			)
			wsChoose(t, ctx, `select[name=inbox_id]`, fmt.Sprint(in.ID))
			Do(t, ctx,
				chromedp.SendKeys(chromedp.CSS(`textarea[name="menu.greeting.text"]`), "Hi {{contact.name}}! How can we help?"),
				chromedp.SendKeys(chromedp.CSS(`input[name="menu.options.0.title"]`), "Our opening hours, please"),
				chromedp.SendKeys(chromedp.CSS(`textarea[name="menu.options.0.message.text"]`), "We open at 9."),
				chromedp.SendKeys(chromedp.CSS(`input[name="menu.options.1.title"]`), "A person"),
			)
			wsChoose(t, ctx, `select[name="menu.options.1.action"]`, "handoff")
			phoneFits(t, ctx, "the new bot's form")
			Do(t, ctx, chromedp.Click(chromedp.CSS(`.bot-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.field-error`)))
			wsWaitText(t, ctx, `.field-error[data-field="menu.options.0.title"]`, "at most 20 characters")
			if v := wsEval[string](t, ctx, `document.querySelector('select[name="menu.options.1.action"]').value`); v != "handoff" {
				t.Fatalf("the refused form lost the option's action: %q", v)
			}
			Do(t, ctx,
				chromedp.SetValue(chromedp.CSS(`input[name="menu.options.0.title"]`), "Opening hours"),
				chromedp.Click(chromedp.CSS(`.bot-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`.notice`)),
			)
			wsWaitText(t, ctx, `.notice`, "Bot created.")
			var bots []struct {
				ID      int64  `json:"id"`
				Name    string `json:"name"`
				InboxID *int64 `json:"inbox_id"`
				Active  bool   `json:"active"`
				Menu    struct {
					Greeting struct {
						Text string `json:"text"`
					} `json:"greeting"`
					Options []struct {
						Title   string `json:"title"`
						Action  string `json:"action"`
						Message *struct {
							Text string `json:"text"`
						} `json:"message"`
					} `json:"options"`
				} `json:"menu"`
			}
			admin.Do("GET", "/api/v1/bots", nil).Expect(http.StatusOK).Decode(&bots)
			if len(bots) != 1 || bots[0].InboxID == nil || *bots[0].InboxID != in.ID || !bots[0].Active || len(bots[0].Menu.Options) != 2 ||
				bots[0].Menu.Options[0].Message == nil || bots[0].Menu.Options[0].Message.Text != "We open at 9." || bots[0].Menu.Options[1].Action != "handoff" {
				t.Fatalf("saved %+v", bots)
			}
			// A third option, from the form's empty rows.
			Do(t, ctx,
				chromedp.SendKeys(chromedp.CSS(`input[name="menu.options.2.title"]`), "Nothing"),
			)
			wsChoose(t, ctx, `select[name="menu.options.2.action"]`, "close")
			// The new page's notice, not this one's.
			Run(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('.notice').remove()`))
			Do(t, ctx, chromedp.Click(chromedp.CSS(`.bot-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
			wsWaitText(t, ctx, `.notice`, "Saved.")
			admin.Do("GET", "/api/v1/bots", nil).Expect(http.StatusOK).Decode(&bots)
			if n := len(bots[0].Menu.Options); n != 3 || bots[0].Menu.Options[2].Action != "close" {
				t.Fatalf("options after the edit: %+v", bots[0].Menu.Options)
			}
			phoneFits(t, ctx, "a menu bot's page")
			Shot(t, ctx, "menu-bot")

			// An external bot: its credentials once.
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`a[href="/admin/bots"]`)),
				chromedp.WaitVisible(chromedp.CSS(`table.bots`)),
				chromedp.Click(chromedp.CSS(`a[href="/admin/bots/new?kind=external"]`)),
				chromedp.WaitVisible(chromedp.CSS(`input[name=url]`)),
				chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Helper"),
				chromedp.SendKeys(chromedp.CSS(`input[name=url]`), "not an address"),
				chromedp.Click(chromedp.CSS(`.bot-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`.field-error`)),
			)
			wsWaitText(t, ctx, `.field-error[data-field="url"]`, "Enter the address")
			Do(t, ctx,
				chromedp.SetValue(chromedp.CSS(`input[name=url]`), "https://bot.example.com/hook"),
				chromedp.Click(chromedp.CSS(`.bot-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`#bot-token`)),
			)
			token := wsEval[string](t, ctx, `document.querySelector('#bot-token').textContent`)
			secret := wsEval[string](t, ctx, `document.querySelector('#bot-secret').textContent`)
			if !strings.HasPrefix(token, "sbb_") || secret == "" {
				t.Fatalf("credentials %q, %q", token, secret)
			}
			phoneFits(t, ctx, "the external bot's credentials")
			Do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`.bot-form`)))
			if n := wsEval[int](t, ctx, `document.querySelectorAll('#bot-token, #bot-secret').length`); n != 0 {
				t.Fatal("the credentials are shown again")
			}
			// The token works for the bot.
			b := srv.Anonymous()
			b.Token = token
			b.Do("POST", "/api/v1/conversations/999999/handoff", nil).Expect(http.StatusNotFound)
		})
	}
}

// TestBotBanner: an agent opening a conversation a bot holds sees the
// banner; "Transfer to human" runs routing, which gives it to the agent,
// and the banner goes. At a desktop's width and a phone's.
func TestBotBanner(t *testing.T) {
	for _, w := range widths {
		t.Run(w.name, func(t *testing.T) {
			srv := testrig.Start(t, dbtest.SQLite(t))
			admin := srv.NewUser("admin@example.com", policy.Admin)
			ana := srv.NewUser("ana@example.com", policy.Service)
			in, _ := srv.NewWebchatInbox("Shop", ana.UserID)
			rule := routing.AllInTurn
			if _, err := srv.App.Routing.SetSettings(context.Background(), in.ID, routing.Patch{Rule: &rule}); err != nil {
				t.Fatal(err)
			}
			admin.Do("POST", "/api/v1/bots", map[string]any{"name": "Concierge", "kind": "menu", "inbox_id": in.ID, "menu": map[string]any{
				"greeting": map[string]any{"text": "How can we help?"}, "options": []map[string]any{{"title": "A person", "action": "handoff"}}}}).Expect(http.StatusCreated)
			botsConsumer(t, srv)
			srv.NewVisitor(in.Token, map[string]string{"name": "Eve"}).Say("hello")
			convs := wsConversations(admin, "")
			if len(convs) != 1 {
				t.Fatalf("%d conversations", len(convs))
			}
			id := convs[0].ID
			ctx := wsSignIn(t, srv, "ana@example.com", fmt.Sprintf("/inbox/conversations/%d", id))
			Do(t, ctx, chromedp.EmulateViewport(w.w, w.h), chromedp.Reload())
			wsWaitText(t, ctx, `#conv-head .bot-banner`, "A bot is handling this conversation")
			wsWaitText(t, ctx, `#messages`, "How can we help?")
			wsWaitText(t, ctx, fmt.Sprintf(`#row-%d .badge.bot`, id), "Bot")
			phoneFits(t, ctx, "a bot's conversation")
			Shot(t, ctx, "banner")
			wsLive(t, ctx)
			Do(t, ctx, chromedp.Click(chromedp.CSS(`#conv-head .bot-banner button.handoff`)))
			wsWaitGone(t, ctx, `#conv-head .bot-banner`)
			wsWaitText(t, ctx, `#conv-head .assignee`, "Assigned to Ana")
			wsWaitGone(t, ctx, fmt.Sprintf(`#row-%d .badge.bot`, id))
			var c struct {
				BotID      *int64 `json:"bot_id"`
				AssigneeID *int64 `json:"assignee_id"`
			}
			admin.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", id), nil).Expect(http.StatusOK).Decode(&c)
			if c.BotID != nil || c.AssigneeID == nil || *c.AssigneeID != ana.UserID {
				t.Fatalf("after the transfer: bot %v, assignee %v", c.BotID, c.AssigneeID)
			}
			phoneFits(t, ctx, "the conversation after the transfer")
		})
	}
}
