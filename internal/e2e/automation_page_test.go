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
// the kind chosen show (in that message's form only), the previews fill
// the variables as they type, Save keeps it, a waiting time out of range
// is refused beside its field; at 390 px the page fits the screen.
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
	fitsIn(t, ctx, `.message-form`, `section.card`)
	// A text message: no file, no buttons; buttons show their inputs,
	// a list its rows instead.
	buttons, rows := welcome+`[data-kinds="buttons"]`, welcome+`input[name="welcome.message.row.0"]`
	if visible(buttons) || visible(rows) {
		t.Fatal("a text message shows buttons or rows")
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(welcome+`input[type=radio][value=list]`)))
	if !visible(rows) || visible(buttons) {
		t.Fatal("the list's rows do not show alone")
	}
	Do(t, ctx, chromedp.Click(chromedp.CSS(welcome+`input[type=radio][value=buttons]`)))
	if !visible(buttons) || visible(rows) {
		t.Fatal("the reply buttons do not show alone")
	}
	// Only this message's form changed.
	if visible(`#auto-queue [data-kinds="buttons"]`) {
		t.Fatal("the queue message's form follows the welcome's")
	}

	// The preview follows the typing, variables filled.
	wsEval[bool](t, ctx, `(document.querySelector('#auto-welcome textarea[name="welcome.message.text"]').value = "") === ""`)
	Do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(welcome+`textarea[name="welcome.message.text"]`), "Hi {{contact.name}}, this is {{inbox.name}}."),
		chromedp.SendKeys(chromedp.CSS(welcome+`input[name="welcome.message.button.0"]`), "Opening hours"),
	)
	wsWaitText(t, ctx, welcome+`[data-preview] .preview-text`, "Hi Maria, this is Corner shop.")
	wsWaitText(t, ctx, welcome+`[data-preview] .wa-button`, "Opening hours")
	// The survey's preview too (drawn by the server).
	wsEval[bool](t, ctx, `(document.querySelector('input[name="csat.button"]').value = "") === ""`)
	Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name="csat.button"]`), "Tell us"))
	wsWaitText(t, ctx, `#auto-csat .auto-preview .wa-button`, "☰ Tell us")
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
	fitsIn(t, ctx, `.message-form`, `section.card`)
	fields, preview := phoneRect(t, ctx, `#auto-csat .auto-fields`), phoneRect(t, ctx, `#auto-csat .auto-preview-box`)
	if preview.Top < fields.Bottom {
		t.Errorf("the survey's preview (%v) is not under its fields (%v)", preview, fields)
	}
}
