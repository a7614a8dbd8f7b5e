package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestWelcomeMessagePage: an agent adds a personal welcome message in
// their preferences: chooses a WhatsApp number they work, writes with
// emoji, formatting and a variable (the preview fills it), makes it reply
// buttons with a file; turns it on, when Edit and Delete are disabled
// with the reason; turns it off, edits it and deletes it. A number that
// has one already is not offered to another. The pages fit a desktop and
// a 390 px phone without scrolling sideways.
func TestWelcomeMessagePage(t *testing.T) {
	fake := graphfake.NewServer(graphfake.Options{Seed: 1})
	t.Cleanup(fake.Close)
	srv := testrig.Start(t, dbtest.SQLite(t), testrig.Options{Config: func(c *config.Config) { c.WhatsAppGraphURL, _ = url.Parse(fake.URL) }})
	ana := srv.NewUser("ana@example.com", policy.Service)
	ana.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Ana"}).Expect(http.StatusOK)
	var lines []int64
	for _, name := range []string{"Shop line", "Support line"} {
		num := fake.AddNumber(graphfake.Number{AppSecret: "welcome"})
		in, _, err := srv.App.Inboxes.Create(context.Background(), inbox.NewInbox{Type: whatsapp.Type, Name: name, MemberIDs: []int64{ana.UserID},
			Settings: map[inbox.Type]any{whatsapp.Type: &whatsapp.Config{PhoneNumberID: num.ID, WABAID: num.WABAID, DisplayPhoneNumber: num.Phone, AccessToken: num.Token, AppSecret: "welcome"}}})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, in.ID)
	}
	srv.NewWebchatInbox("Site", ana.UserID) // not a WhatsApp number: not offered

	ctx := wsSignIn(t, srv, "ana@example.com", "/preferences")
	AllowStatus(ctx, 422, "/preferences/welcome-messages")
	// The tab is in the preferences' menu.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`nav.tabs a[href="/preferences/welcome-messages"]`)), chromedp.WaitVisible(chromedp.CSS(`.welcome-prefs`)))
	wsWaitText(t, ctx, "nav.tabs a[aria-current=page]", "Welcome messages")
	Do(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/preferences/welcome-messages/new"]`)), chromedp.WaitVisible(chromedp.CSS(`.welcome-form`)))
	if got := wsEval[[]string](t, ctx, `Array.from(document.querySelectorAll(".welcome-numbers-choice label"), l => l.textContent.trim())`); strings.Join(got, "|") != "Shop line|Support line" {
		t.Fatalf("numbers offered %q", got)
	}

	// Without a number: refused, the message by the numbers, the text kept.
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`textarea[data-mf=text]`), "Hi "))
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.welcome-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.field-error[data-field=inbox_ids]`)))
	if v := wsEval[string](t, ctx, `document.querySelector("textarea[data-mf=text]").value`); v != "Hi " {
		t.Fatalf("text kept as %q", v)
	}

	// The text: a variable and an emoji from their menus, a word made bold;
	// the preview shows it as the customer reads it.
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`input[name=inbox_ids][value="`+fmt.Sprint(lines[0])+`"]`)),
		chromedp.Click(chromedp.CSS(`.vars-menu summary`)),
		chromedp.Click(chromedp.CSS(`.vars-menu [data-insert="{{contact.name}}"]`)),
		chromedp.Click(chromedp.CSS(`.emoji-menu summary`)),
		chromedp.Click(chromedp.CSS(`.emoji-menu [data-insert="👋"]`)),
	)
	wsEval[bool](t, ctx, `(() => { const ta = document.querySelector("textarea[data-mf=text]"); ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); return true; })()`)
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`textarea[data-mf=text]`), " I am {{agent.public_name}}. "))
	wsEval[bool](t, ctx, `(() => { const ta = document.querySelector("textarea[data-mf=text]"); ta.value += "Welcome"; ta.setSelectionRange(ta.value.length - 7, ta.value.length); return true; })()`)
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.format-bar [data-wrap="*"]`)))
	const text = "Hi {{contact.name}}👋 I am {{agent.public_name}}. *Welcome*"
	if v := wsEval[string](t, ctx, `document.querySelector("textarea[data-mf=text]").value`); v != text {
		t.Fatalf("text %q, want %q", v, text)
	}
	wsWaitText(t, ctx, "[data-preview] .preview-text", "Hi Alex Smith👋 I am Ana. Welcome")
	if b := wsEval[string](t, ctx, `document.querySelector("[data-preview] .preview-text strong").textContent`); b != "Welcome" {
		t.Fatalf("bold in the preview: %q", b)
	}

	// Reply buttons, with a file as the header.
	Do(t, ctx, chromedp.Click(chromedp.CSS(`input[data-mf=kind][value=buttons]`)), chromedp.WaitVisible(chromedp.CSS(`input[name="message.button.0"]`)))
	Do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="message.button.0"]`), "Track an order"),
		chromedp.SendKeys(chromedp.CSS(`input[name="message.button.1"]`), "Talk to me"),
	)
	pic := filepath.Join(t.TempDir(), "banner.png")
	if err := os.WriteFile(pic, testPNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	Do(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(`input[data-message-file]`), []string{pic}))
	wsWait(t, ctx, `() => document.querySelector("input[data-mf=attachment_id]").value !== ""`)
	wsWaitText(t, ctx, "[data-preview] .wa-buttons", "Talk to me")
	wsWaitText(t, ctx, "[data-preview] .preview-file", "banner.png")
	Shot(t, ctx, "form")
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.welcome-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.welcome-item`)))
	wsWaitText(t, ctx, ".notice", "Your welcome message is added.")
	wsWaitText(t, ctx, ".welcome-item .welcome-numbers", "Shop line")
	wsWaitText(t, ctx, ".welcome-item .preview-text", "Hi {{contact.name}}👋 I am {{agent.public_name}}. Welcome")
	if b := wsEval[string](t, ctx, `document.querySelector(".welcome-item .preview-text strong").textContent`); b != "Welcome" {
		t.Fatalf("bold in the list: %q", b)
	}

	var list struct {
		Items []struct {
			ID         int64 `json:"id"`
			Enabled    bool  `json:"enabled"`
			Attachment *struct {
				Filename string `json:"filename"`
			} `json:"attachment"`
			Message struct {
				Kind        string                `json:"kind"`
				Text        string                `json:"text"`
				Interactive *whatsapp.Interactive `json:"interactive"`
			} `json:"message"`
		} `json:"items"`
	}
	ana.Do("GET", "/api/v1/me/welcome-messages", nil).Expect(http.StatusOK).Decode(&list)
	if len(list.Items) != 1 {
		t.Fatalf("stored %+v", list)
	}
	w := list.Items[0]
	if w.Enabled || w.Message.Kind != "interactive" || w.Message.Text != text || w.Message.Interactive == nil || len(w.Message.Interactive.Buttons) != 2 ||
		w.Attachment == nil || w.Attachment.Filename != "banner.png" {
		t.Fatalf("stored %+v", w)
	}

	// On: Edit and Delete are disabled, and say why.
	item := fmt.Sprintf("#welcome-%d", w.ID)
	Do(t, ctx, chromedp.Click(chromedp.CSS(item+` button.switch`)), chromedp.WaitVisible(chromedp.CSS(item+` button.switch[aria-checked=true]`)))
	wsWaitText(t, ctx, ".notice", "Your welcome message is on.")
	disabled := wsEval[[]string](t, ctx, `Array.from(document.querySelectorAll("`+item+` .buttons button[disabled]"), b => b.textContent + ":" + document.getElementById(b.getAttribute("aria-describedby")).textContent)`)
	if strings.Join(disabled, "|") != "Edit:Turn it off to edit or delete it.|Delete:Turn it off to edit or delete it." {
		t.Fatalf("disabled buttons %q", disabled)
	}
	phone(t, ctx, "list")

	// A second welcome message: the number with one is not offered.
	Do(t, ctx, chromedp.Navigate(srv.URL+"/preferences/welcome-messages/new"), chromedp.WaitVisible(chromedp.CSS(`.welcome-form`)))
	if got := wsEval[[]bool](t, ctx, `Array.from(document.querySelectorAll("input[name=inbox_ids]"), i => i.disabled)`); len(got) != 2 || !got[0] || got[1] {
		t.Fatalf("numbers disabled %v: want Shop line alone", got)
	}
	phone(t, ctx, "form")

	// Off: edited, then deleted.
	Do(t, ctx, chromedp.Navigate(srv.URL+"/preferences/welcome-messages"), chromedp.WaitVisible(chromedp.CSS(item+` button.switch`)))
	Do(t, ctx, chromedp.Click(chromedp.CSS(item+` button.switch`)), chromedp.WaitVisible(chromedp.CSS(item+` button.switch[aria-checked=false]`)))
	Do(t, ctx, chromedp.Click(chromedp.CSS(item+` a[href$="/`+fmt.Sprint(w.ID)+`"]`)), chromedp.WaitVisible(chromedp.CSS(`.welcome-form`)))
	if got := wsEval[[]string](t, ctx, `[document.querySelector("input[data-mf=kind]:checked").value, document.querySelector("input[name='message.button.1']").value, document.querySelector(".file-chosen .file-name").textContent]`); got[0] != "buttons" || got[1] != "Talk to me" || !strings.HasPrefix(got[2], "banner.png") {
		t.Fatalf("the form shows %q", got)
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(`input[data-mf=kind][value=text]`)))
	wsEval[bool](t, ctx, `(() => { document.querySelector("textarea[data-mf=text]").value = "Hello, I am Ana."; return true; })()`)
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.welcome-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.welcome-item`)))
	wsWaitText(t, ctx, ".notice", "Your welcome message is saved.")
	wsWaitText(t, ctx, item+" .preview-text", "Hello, I am Ana.")
	Do(t, ctx, chromedp.Click(chromedp.CSS(item+` button.danger`)), chromedp.WaitNotPresent(chromedp.CSS(item)))
	wsWaitText(t, ctx, ".notice", "Your welcome message is deleted.")
	wsWaitText(t, ctx, ".welcome-list", "No welcome messages yet.")
}

// phone checks the page at 390 px: nothing scrolls sideways. It puts the
// desktop width back.
func phone(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	Do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	wsWait(t, ctx, `() => window.innerWidth === 390`)
	if w := wsEval[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
		t.Errorf("%s at 390 px: the page is %d px wide, the screen %d", name, w[0], w[1])
	}
	Shot(t, ctx, name+"-390")
	Do(t, ctx, chromedp.EmulateViewport(1280, 900))
	wsWait(t, ctx, `() => window.innerWidth === 1280`)
}
