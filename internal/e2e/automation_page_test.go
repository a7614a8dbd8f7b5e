package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestAutomationPage: an admin opens an inbox's Automation page from the
// inbox's page and writes the welcome message as buttons: the fields of
// the kind chosen show, the preview fills the variables as they type,
// Save keeps it, a waiting time out of range is refused beside its
// field; at 390 px the page fits the screen, the preview under the
// fields.
func TestAutomationPage(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	admin := srv.NewUser("admin@example.com", policy.Admin)
	in, _ := srv.NewWebchatInbox("Corner shop")
	ctx := wsSignIn(t, srv, "admin@example.com", fmt.Sprintf("/admin/inboxes/%d", in.ID))
	visible := func(sel string) bool { return phoneVisible(t, ctx, sel) }
	welcome := `#auto-welcome `

	Do(t, ctx, chromedp.Click(chromedp.CSS(`a.automation-link`)), chromedp.WaitVisible(chromedp.CSS(welcome+`textarea`)))
	Shot(t, ctx, "automation")
	phoneFits(t, ctx, "the automation page")
	fitsIn(t, ctx, `.auto-editor`, `section.card`)
	// A text message: no file, no buttons.
	if visible(welcome+`.kind-file`) || visible(welcome+`.kind-interactive`) {
		t.Fatal("a text message shows the file or the buttons")
	}
	// Buttons: the interactive fields, the buttons and not the rows.
	Do(t, ctx, chromedp.Click(chromedp.CSS(welcome+`input[type=radio][value=interactive]`)))
	if !visible(welcome+`.kind-interactive`) || !visible(welcome+`.itype-button`) || visible(welcome+`.itype-list`) || visible(welcome+`.itype-cta_url`) {
		t.Fatal("the reply buttons' fields do not show alone")
	}
	wsChoose(t, ctx, welcome+`select[name="welcome.message.interactive.type"]`, "list")
	if !visible(welcome+`.itype-list`) || visible(welcome+`.itype-button`) {
		t.Fatal("the list's rows do not show in place of the buttons")
	}
	wsChoose(t, ctx, welcome+`select[name="welcome.message.interactive.type"]`, "button")

	// The preview follows the typing, variables filled.
	wsEval[bool](t, ctx, `(document.querySelector('#auto-welcome textarea[name="welcome.message.text"]').value = "") === ""`)
	Do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(welcome+`textarea[name="welcome.message.text"]`), "Hi {{contact.name}}, this is {{inbox.name}}."),
		chromedp.SendKeys(chromedp.CSS(welcome+`input[name="welcome.message.interactive.buttons.0.title"]`), "Opening hours"),
	)
	wsWaitText(t, ctx, welcome+`.auto-preview .auto-preview-text`, "Hi Maria, this is Corner shop.")
	wsWaitText(t, ctx, welcome+`.auto-preview .wa-button`, "Opening hours")
	Do(t, ctx, chromedp.Click(chromedp.CSS(welcome+`input[name="welcome.enabled"]`)))
	Do(t, ctx, chromedp.Click(chromedp.CSS(`.automation-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	wsWaitText(t, ctx, `.notice`, "Saved.")
	var st struct {
		Welcome struct {
			Enabled bool `json:"enabled"`
			Message struct {
				Kind        string `json:"kind"`
				Text        string `json:"text"`
				Interactive struct {
					Buttons []struct {
						Title string `json:"title"`
					} `json:"buttons"`
				} `json:"interactive"`
			} `json:"message"`
		} `json:"welcome"`
	}
	admin.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/automation", in.ID), nil).Expect(http.StatusOK).Decode(&st)
	if w := st.Welcome; !w.Enabled || w.Message.Kind != "interactive" || w.Message.Text != "Hi {{contact.name}}, this is {{inbox.name}}." ||
		len(w.Message.Interactive.Buttons) != 1 || w.Message.Interactive.Buttons[0].Title != "Opening hours" {
		t.Fatalf("saved %+v", w)
	}

	// 80 hours: refused beside the auto-close, the rest as typed.
	AllowStatus(ctx, http.StatusUnprocessableEntity, fmt.Sprintf("/admin/inboxes/%d/automation", in.ID))
	wsChoose(t, ctx, `select[name="auto_close.unit"]`, "hours")
	wsEval[bool](t, ctx, `(document.querySelector('input[name="auto_close.after"]').value = "80") === "80"`)
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`.automation-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#auto-auto_close .field-error[data-field="auto_close.after_minutes"]`)),
	)
	wsWaitText(t, ctx, `#auto-auto_close .field-error`, "1 minute to 72 hours")
	if v := wsEval[string](t, ctx, `document.querySelector('input[name="auto_close.after"]').value`); v != "80" {
		t.Errorf("the refused value shows as %q", v)
	}

	// On a phone.
	Do(t, ctx, chromedp.EmulateViewport(390, 844))
	Do(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/admin/inboxes/%d/automation", srv.URL, in.ID)), chromedp.WaitVisible(chromedp.CSS(welcome+`textarea`)))
	Shot(t, ctx, "automation-phone")
	phoneFits(t, ctx, "the automation page at 390 px")
	fitsIn(t, ctx, `.auto-editor`, `section.card`)
	fields, preview := phoneRect(t, ctx, welcome+`.auto-fields`), phoneRect(t, ctx, welcome+`.auto-preview-box`)
	if preview.Top < fields.Bottom {
		t.Errorf("the preview (%v) is not under the fields (%v)", preview, fields)
	}
}
