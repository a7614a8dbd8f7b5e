package e2e

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/policy"
	stored "github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// cannedResp is a canned response as the API gives it.
type cannedResp struct {
	ID        int64  `json:"id"`
	Scope     string `json:"scope"`
	ShortCode string `json:"short_code"`
	Message   struct {
		Kind         string `json:"kind"`
		Text         string `json:"text"`
		AttachmentID int64  `json:"attachment_id"`
		Interactive  *struct {
			Type    string `json:"type"`
			Buttons []struct {
				Title string `json:"title"`
			} `json:"buttons"`
		} `json:"interactive"`
	} `json:"message"`
}

func cannedOf(t *testing.T, c *testrig.Client, query string) []cannedResp {
	t.Helper()
	var list []cannedResp
	c.Do("GET", "/api/v1/canned-responses"+query, nil).Expect(http.StatusOK).Decode(&list)
	return list
}

// pngFile writes a small PNG to a file for the browser to upload.
func pngFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, pngBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// keys are the keys press sends, as a keyboard does.
var keys = map[string]struct {
	code string
	vk   int64
	text string
}{"Enter": {"Enter", 13, "\r"}, "Escape": {"Escape", 27, ""}, "ArrowDown": {"ArrowDown", 40, ""}, "ArrowUp": {"ArrowUp", 38, ""}}

// press presses a key as a keyboard does: its character (Enter's line
// break) follows only when the page does not prevent the key's default.
// (chromedp.KeyEvent sends the character as an event of its own, which
// the page cannot prevent.)
func press(key string) chromedp.Action[chromedp.Void] {
	k := keys[key]
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeRawKeyDown, Key: key, Code: k.code, WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk}
		if k.text != "" {
			p.Type, p.Text, p.UnmodifiedText = input.DispatchKeyEventTypeKeyDown, k.text, k.text
		}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, p); err != nil {
			return err
		}
		p.Type, p.Text, p.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, p)
		return err
	})
}

// cannedShot is Shot at a width: the full-page picture changes the
// viewport, which is set again after it.
func cannedShot(t *testing.T, ctx context.Context, name string, w, h int64) {
	t.Helper()
	if os.Getenv("SWITCHBOARD_TEST_SHOTS") == "" {
		return
	}
	Shot(t, ctx, name)
	Do(t, ctx, chromedp.EmulateViewport(w, h))
}

// typeIn sets the value of a field as typing does (an input event).
func typeIn(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	Run(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true}));
	})()`, sel, value)))
}

// cannedCodes are the short codes the list shows, in order.
const cannedCodes = `Array.from(document.querySelectorAll(%q)).map(e => e.textContent.trim()).join(" ")`

// TestCannedResponsesPage: an agent finds the company presets in the
// preferences' Canned responses tab (labelled, not theirs to change),
// makes one of their own with formatting, an emoji, a variable, a
// picture and buttons, seeing it previewed as the customer will; a bad
// short code is refused beside its field with nothing lost; the list
// searches and filters; "Check presets" opens the company list in a
// drawer on the right, with its own search; then they edit and delete
// theirs. At 390 px nothing scrolls sideways.
func TestCannedResponsesPage(t *testing.T) {
	for _, w := range widths {
		t.Run(w.name, func(t *testing.T) {
			srv := testrig.Start(t, dbtest.SQLite(t))
			admin := srv.NewUser("admin@example.com", policy.Admin)
			ana := srv.NewUser("ana@example.com", policy.Service)
			ana.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Ana P."}).Expect(http.StatusOK)
			admin.Do("POST", "/api/v1/canned-responses", map[string]any{"scope": "company", "short_code": "hours",
				"message": map[string]any{"kind": "text", "text": "We are open *9 to 5*, Monday to Friday."}}).Expect(http.StatusCreated)
			admin.Do("POST", "/api/v1/canned-responses", map[string]any{"scope": "company", "short_code": "returns",
				"message": map[string]any{"kind": "text", "text": "You may return anything within 30 days."}}).Expect(http.StatusCreated)

			ctx := wsSignIn(t, srv, "ana@example.com", "/preferences")
			Do(t, ctx, chromedp.EmulateViewport(w.w, w.h))
			AllowStatus(ctx, 422, "/preferences/canned")
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`nav.tabs a[href="/preferences/canned"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#canned-list`)),
			)
			if got := wsEval[string](t, ctx, fmt.Sprintf(cannedCodes, "#canned-list .canned-code")); got != "/hours /returns" {
				t.Fatalf("the list shows %q", got)
			}
			if n := wsEval[int](t, ctx, `document.querySelectorAll("#canned-list .canned-badge:not(.mine)").length`); n != 2 {
				t.Errorf("%d company badges, want 2", n)
			}
			if n := wsEval[int](t, ctx, `document.querySelectorAll("#canned-list .canned-edit").length`); n != 0 {
				t.Errorf("a service agent may edit %d company presets", n)
			}
			wsWaitText(t, ctx, `#canned-list .preview-text strong`, "9 to 5")
			phoneFits(t, ctx, "the canned responses tab")
			cannedShot(t, ctx, "list", w.w, w.h)

			// A new one: the preview follows the form.
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`.canned-actions a[href="/preferences/canned/new"]`)),
				chromedp.WaitVisible(chromedp.CSS(`form.canned-form [data-message-form]`)),
				chromedp.SendKeys(chromedp.CSS(`#canned-code`), "thank you"),
				chromedp.SendKeys(chromedp.CSS(`#mf-message-text`), "Thanks "),
				chromedp.Click(chromedp.CSS(`.vars-menu summary`)),
				chromedp.Click(chromedp.CSS(`.vars-list [data-insert="{{contact.name}}"]`)),
				chromedp.SendKeys(chromedp.CSS(`#mf-message-text`), ", see you soon"),
			)
			// Bold the last three words.
			Run(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const b = document.querySelector("#mf-message-text"); b.setSelectionRange(b.value.length - 12, b.value.length); })()`))
			Do(t, ctx, chromedp.Click(chromedp.CSS(`.format-bar [data-wrap="*"]`)))
			// Then an emoji at the end.
			Run(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const b = document.querySelector("#mf-message-text"); b.setSelectionRange(b.value.length, b.value.length); })()`))
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`.emoji-menu summary`)),
				chromedp.Click(chromedp.CSS(`.emoji-grid [data-insert="👋"]`)),
			)
			wsWaitText(t, ctx, `[data-preview] .preview-text`, "Thanks Alex, ")
			wsWaitText(t, ctx, `[data-preview] .preview-text strong`, "see you soon")
			if v := wsEval[string](t, ctx, `document.querySelector("#mf-message-text").value`); v != "Thanks {{contact.name}}, *see you soon*👋" {
				t.Errorf("the text is %q", v)
			}
			// The form's preview formats as the server does (the list and
			// the picker): the same HTML for the same text.
			for _, sample := range []string{"Hi *x*👋 2*3*4 snake_case _it_, ~s~ ```a *b*``` `c` <b>&\"q\" 'a'", "*_both_* mañana*x* ¡*hola*! **x** * a *"} {
				typeIn(t, ctx, `#mf-message-text`, sample)
				want := strings.NewReplacer("&#34;", `"`, "&#39;", "'").Replace(string(stored.FormatHTML(sample)))
				wsWait(t, ctx, fmt.Sprintf(`() => document.querySelector("[data-preview] .preview-text").innerHTML === %q`, want))
			}
			typeIn(t, ctx, `#mf-message-text`, "Thanks {{contact.name}}, *see you soon*👋")

			// Reply buttons, with a picture as their header.
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`input[data-mf=kind][value=buttons]`)),
				chromedp.WaitVisible(chromedp.CSS(`input[name="message.button.0"]`)),
				chromedp.SetUploadFiles(chromedp.CSS(`input[data-message-file]`), []string{pngFile(t, "welcome.png")}),
			)
			wsWait(t, ctx, `() => document.querySelector(".file-chosen .file-name").textContent === "welcome.png"`)
			Do(t, ctx,
				chromedp.SendKeys(chromedp.CSS(`input[name="message.button.0"]`), "Yes, thanks"),
				chromedp.SendKeys(chromedp.CSS(`input[name="message.button.2"]`), "Talk to someone"),
			)
			wsWaitText(t, ctx, `[data-preview] .wa-button`, "Talk to someone")
			phoneFits(t, ctx, "the form of a canned response")

			// A bad short code: refused beside it, nothing lost.
			Do(t, ctx, chromedp.Click(chromedp.CSS(`form.canned-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.field-error[data-field=short_code]`)))
			wsWaitText(t, ctx, `.field-error[data-field=short_code]`, "only letters, digits, - and _")
			if v := wsEval[[]string](t, ctx, `["#mf-message-text", "input[name='message.attachment_id']", "input[data-mf=kind]:checked", "input[name='message.button.0']", "input[name='message.button.2']"].map(s => document.querySelector(s).value)`); v[0] != "Thanks {{contact.name}}, *see you soon*👋" || v[1] == "" || v[2] != "buttons" || v[3] != "Yes, thanks" || v[4] != "Talk to someone" {
				t.Errorf("the refused form shows %q", v)
			}
			if focused := wsEval[string](t, ctx, `document.activeElement.id`); focused != "canned-code" {
				t.Errorf("the cursor is in %q, want the short code", focused)
			}
			typeIn(t, ctx, `#canned-code`, "thanks")
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`form.canned-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`.canned-page`)),
			)
			wsWaitText(t, ctx, `.notice`, "The canned response is saved.")
			mine := cannedOf(t, ana, "?scope=personal")
			if len(mine) != 1 || mine[0].ShortCode != "thanks" || mine[0].Message.Kind != "interactive" || mine[0].Message.AttachmentID == 0 ||
				mine[0].Message.Interactive == nil || len(mine[0].Message.Interactive.Buttons) != 2 || mine[0].Message.Interactive.Buttons[1].Title != "Talk to someone" {
				t.Fatalf("saved %+v", mine)
			}
			wsWaitText(t, ctx, `#canned-list .canned-item:last-child .preview-file`, "welcome.png")
			wsWaitText(t, ctx, `#canned-list .canned-item:last-child .preview-text`, "Thanks {{contact.name}}, see you soon")

			// Search and filter.
			Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`.canned-filters input[name=q]`), "30 days"))
			wsWait(t, ctx, fmt.Sprintf(`() => %s === "/returns"`, fmt.Sprintf(cannedCodes, "#canned-list .canned-code")))
			typeIn(t, ctx, `.canned-filters input[name=q]`, "")
			wsChoose(t, ctx, `.canned-filters select[name=scope]`, "personal")
			wsWait(t, ctx, fmt.Sprintf(`() => %s === "/thanks"`, fmt.Sprintf(cannedCodes, "#canned-list .canned-code")))
			wsChoose(t, ctx, `.canned-filters select[name=scope]`, "company")
			wsWait(t, ctx, fmt.Sprintf(`() => %s === "/hours /returns"`, fmt.Sprintf(cannedCodes, "#canned-list .canned-code")))

			// Check presets: the company list in a drawer on the right.
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`[data-drawer-open=presets-drawer]`)),
				chromedp.WaitVisible(chromedp.CSS(`#presets-drawer #canned-presets`)),
			)
			if got := wsEval[string](t, ctx, fmt.Sprintf(cannedCodes, "#canned-presets .canned-code")); got != "/hours /returns" {
				t.Errorf("the drawer lists %q", got)
			}
			if edge := wsEval[[]float64](t, ctx, `(() => { const r = document.querySelector("#presets-drawer").getBoundingClientRect(); return [r.right, window.innerWidth, r.top, r.left]; })()`); edge[0] < edge[1]-1 || edge[2] > 1 || edge[3] < 0 {
				t.Errorf("the drawer spans %v, want it against the right edge, from the top", edge)
			}
			if focused := wsEval[string](t, ctx, `document.activeElement.id`); focused != "presets-q" {
				t.Errorf("the cursor is in %q, want the drawer's search", focused)
			}
			Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#presets-q`), "open"))
			wsWait(t, ctx, fmt.Sprintf(`() => %s === "/hours"`, fmt.Sprintf(cannedCodes, "#canned-presets .canned-code")))
			phoneFits(t, ctx, "the presets drawer")
			cannedShot(t, ctx, "drawer", w.w, w.h)
			Do(t, ctx, press("Escape"))
			wsWait(t, ctx, `() => !document.querySelector("#presets-drawer").open`)

			// Edit, then delete.
			wsChoose(t, ctx, `.canned-filters select[name=scope]`, "personal")
			wsWait(t, ctx, fmt.Sprintf(`() => %s === "/thanks"`, fmt.Sprintf(cannedCodes, "#canned-list .canned-code")))
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`#canned-list .canned-edit`)),
				chromedp.WaitVisible(chromedp.CSS(`form.canned-form [data-message-form]`)),
			)
			if v := wsEval[[]string](t, ctx, `["#canned-code", "input[data-mf=kind]:checked", "input[name='message.button.1']", ".file-chosen .file-name"].map(s => document.querySelector(s).value || document.querySelector(s).textContent)`); v[0] != "thanks" || v[1] != "buttons" || v[2] != "Talk to someone" || !strings.HasPrefix(v[3], "welcome.png") {
				t.Errorf("the form of the saved one shows %q", v)
			}
			Do(t, ctx, chromedp.Click(chromedp.CSS(`.remove-file`)))
			typeIn(t, ctx, `#mf-message-text`, "Thanks!")
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`form.canned-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`.canned-page`)),
			)
			if mine := cannedOf(t, ana, "?scope=personal"); len(mine) != 1 || mine[0].Message.Text != "Thanks!" || mine[0].Message.AttachmentID != 0 {
				t.Fatalf("after the edit %+v", mine)
			}
			Do(t, ctx,
				chromedp.Navigate(srv.URL+"/preferences/canned?scope=personal"),
				chromedp.WaitVisible(chromedp.CSS(`#canned-list`)),
				chromedp.Click(chromedp.CSS(`.canned-item[data-canned="`+fmt.Sprint(mine[0].ID)+`"] .canned-delete summary`)),
				chromedp.Click(chromedp.CSS(`.canned-item[data-canned="`+fmt.Sprint(mine[0].ID)+`"] .canned-delete button`)),
				chromedp.WaitVisible(chromedp.CSS(`.notice`)),
			)
			wsWaitText(t, ctx, `.notice`, "The canned response is deleted.")
			if mine := cannedOf(t, ana, "?scope=personal"); len(mine) != 0 {
				t.Errorf("after the delete %+v", mine)
			}
		})
	}
}

// TestCompanyPresetsByAdmins: an admin makes and changes company presets
// on the same tab; the agents see them at once.
func TestCompanyPresetsByAdmins(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	srv.NewUser("admin@example.com", policy.Admin)
	ana := srv.NewUser("ana@example.com", policy.Sales)
	ctx := wsSignIn(t, srv, "admin@example.com", "/preferences/canned")
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`.canned-actions a[href="/preferences/canned/new?scope=company"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.canned-form [data-message-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#canned-code`), "/Welcome"),
		chromedp.SendKeys(chromedp.CSS(`#mf-message-text`), "Welcome to {{inbox.name}}!"),
		chromedp.Click(chromedp.CSS(`form.canned-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.canned-page .notice`)),
	)
	list := cannedOf(t, ana, "")
	if len(list) != 1 || list[0].Scope != "company" || list[0].ShortCode != "Welcome" {
		t.Fatalf("Ana sees %+v", list)
	}
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`#canned-list .canned-edit`)),
		chromedp.WaitVisible(chromedp.CSS(`form.canned-form [data-message-form]`)),
	)
	if !strings.Contains(wsEval[string](t, ctx, `document.querySelector(".canned-edit .hint").textContent`), "company preset") {
		t.Errorf("the form does not say it is a company preset")
	}
	typeIn(t, ctx, `#mf-message-text`, "Hello from {{inbox.name}}")
	Do(t, ctx,
		chromedp.Click(chromedp.CSS(`form.canned-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.canned-page .notice`)),
	)
	if list := cannedOf(t, ana, ""); len(list) != 1 || list[0].Message.Text != "Hello from {{inbox.name}}" {
		t.Errorf("after the change Ana sees %+v", list)
	}
}

// uploadPNG uploads a picture as c, for a canned response to keep.
func uploadPNG(t *testing.T, c *testrig.Client, name string) int64 {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(pngBytes(t))
	mw.Close()
	var a struct {
		ID int64 `json:"id"`
	}
	c.Do("POST", "/api/v1/attachments", &b, "Content-Type", mw.FormDataContentType()).Expect(http.StatusCreated).Decode(&a)
	return a.ID
}

// pickerCodes are the short codes the composer's picker offers, in order.
const pickerCodes = `Array.from(document.querySelectorAll("#canned-picker [role=option] .canned-code")).map(e => e.textContent).join(" ")`

// pickerSelected is the short code chosen in the picker.
const pickerSelected = `(document.querySelector("#canned-picker [role=option][aria-selected=true] .canned-code") || {}).textContent`

// pickerPreview is the text of the preview shown.
const pickerPreview = `Array.from(document.querySelectorAll("#canned-picker .canned-preview-of")).filter(p => !p.hidden).map(p => p.textContent.replace(/\s+/g, " ").trim()).join("|")`

// TestCannedPicker: in a web chat conversation "/" opens the picker over
// the composer: company presets are labelled; what follows the slash
// filters by short code first, then content; the arrow keys move the
// choice and the right column previews it with the conversation's values
// (the customer's name, the agent's public name, the inbox); Escape
// closes it; Enter inserts the text in place of "/search" (without
// sending) and attaches the response's file as the composer attaches
// files; the reply then goes out with both. At a phone's width the
// picker fits the screen.
func TestCannedPicker(t *testing.T) {
	for _, w := range widths {
		t.Run(w.name, func(t *testing.T) {
			srv := testrig.Start(t, dbtest.SQLite(t))
			admin := srv.NewUser("admin@example.com", policy.Admin)
			ana := srv.NewUser("ana@example.com", policy.Service)
			ana.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Ana P."}).Expect(http.StatusOK)
			in, _ := srv.NewWebchatInbox("Shop", ana.UserID)
			admin.Do("POST", "/api/v1/canned-responses", map[string]any{"scope": "company", "short_code": "hours",
				"message": map[string]any{"kind": "text", "text": "Hi {{contact.name}}, {{inbox.name}} is open *9 to 5*."}}).Expect(http.StatusCreated)
			logo := uploadPNG(t, ana, "logo.png")
			ana.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "thanks",
				"message": map[string]any{"kind": "media", "text": "Thanks from {{agent.public_name}}", "attachment_id": logo}}).Expect(http.StatusCreated)
			ana.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "bye",
				"message": map[string]any{"kind": "text", "text": "Bye, and thanks for writing!"}}).Expect(http.StatusCreated)
			ana.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "ask", "message": map[string]any{"kind": "interactive", "text": "Was this helpful?",
				"interactive": map[string]any{"type": "button", "buttons": []map[string]any{{"title": "Yes"}, {"title": "No"}}}}}).Expect(http.StatusCreated)
			srv.NewVisitor(in.Token, map[string]string{"name": "Maria"}).Say("Hello, are you open?")
			conv := wsConversations(ana, "")[0]

			ctx := wsSignIn(t, srv, "ana@example.com", fmt.Sprintf("/inbox/conversations/%d", conv.ID))
			Do(t, ctx, chromedp.EmulateViewport(w.w, w.h), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)))
			wsLive(t, ctx)
			box := chromedp.CSS(`#composer textarea[name=text]`)

			// "/" opens it with everything, company presets labelled.
			Do(t, ctx, chromedp.Click(box), chromedp.SendKeys(box, "/"), chromedp.WaitVisible(chromedp.CSS(`#canned-picker`)))
			wsWait(t, ctx, `() => `+pickerCodes+` === "/ask /bye /hours /thanks"`)
			if got := wsEval[string](t, ctx, `Array.from(document.querySelectorAll("#canned-picker [role=option]")).filter(o => o.querySelector(".canned-badge")).map(o => o.dataset.canned).length + ""`); got != "1" {
				t.Errorf("%s options are labelled company presets, want 1", got)
			}
			wsWaitText(t, ctx, `#canned-picker [role=option] .canned-badge`, "Company")
			phoneFits(t, ctx, "the conversation with the picker open")
			fitsIn(t, ctx, `#canned-picker`, `body`)

			// The arrows move the choice; the preview follows, filled in.
			Do(t, ctx, press("ArrowDown"), press("ArrowDown"))
			if got := wsEval[string](t, ctx, pickerSelected); got != "/hours" {
				t.Errorf("after two arrows down %q is chosen, want /hours", got)
			}
			if got := wsEval[string](t, ctx, pickerPreview); got != "Hi Maria, Shop is open 9 to 5." {
				t.Errorf("the preview reads %q", got)
			}
			wsWaitText(t, ctx, `#canned-picker .canned-preview-of:not([hidden]) strong`, "9 to 5")
			Do(t, ctx, press("ArrowUp"), press("ArrowUp"), press("ArrowUp"))
			if got := wsEval[string](t, ctx, pickerSelected); got != "/thanks" {
				t.Errorf("going up past the first wraps to %q, want /thanks", got)
			}
			wsWaitText(t, ctx, `#canned-picker .canned-preview-of:not([hidden]) .preview-file`, "logo.png")
			cannedShot(t, ctx, "picker", w.w, w.h)

			// Escape closes it; the slash stays typed.
			Do(t, ctx, press("Escape"))
			wsWaitGone(t, ctx, `#canned-picker`)
			if v := wsEval[string](t, ctx, `document.querySelector("#composer textarea").value`); v != "/" {
				t.Errorf("after Escape the reply box holds %q", v)
			}

			// What follows the slash filters: short codes first, then content.
			Do(t, ctx, chromedp.SendKeys(box, " /th"), chromedp.WaitVisible(chromedp.CSS(`#canned-picker`)))
			wsWait(t, ctx, `() => `+pickerCodes+` === "/thanks /ask /bye"`)
			Do(t, ctx, chromedp.SendKeys(box, "zz"))
			wsWaitText(t, ctx, `#canned-picker .canned-none`, "No canned response matches /thzz.")
			for range 5 {
				Do(t, ctx, chromedp.KeyEvent(kb.Backspace))
			}
			// Enter inserts the chosen one in place of "/search", and does
			// not send.
			Do(t, ctx, chromedp.SendKeys(box, "Sure. /hou"))
			wsWait(t, ctx, `() => `+pickerCodes+` === "/hours"`)
			Do(t, ctx, press("Enter"))
			wsWaitGone(t, ctx, `#canned-picker`)
			if v := wsEval[string](t, ctx, `document.querySelector("#composer textarea").value`); v != "/ Sure. Hi Maria, Shop is open *9 to 5*." {
				t.Errorf("after Enter the reply box holds %q", v)
			}
			if n := len(cannedMessages(t, ana, conv.ID)); n != 1 {
				t.Fatalf("%d messages after inserting, want the customer's alone", n)
			}
			// A file comes with its response.
			typeIn(t, ctx, `#composer textarea[name=text]`, "")
			Do(t, ctx, chromedp.SendKeys(box, "/thanks"))
			wsWait(t, ctx, `() => `+pickerSelected+` === "/thanks"`)
			Do(t, ctx, press("Enter"))
			wsWait(t, ctx, `() => document.querySelectorAll("#composer .uploads input[name=attachments]").length === 1`)
			wsWaitText(t, ctx, `#composer .uploads .file-name`, "logo.png")
			if v := wsEval[string](t, ctx, `document.querySelector("#composer textarea").value`); v != "Thanks from Ana P." {
				t.Errorf("the reply box holds %q", v)
			}
			// Buttons go out on WhatsApp only: here the text is inserted.
			Do(t, ctx, chromedp.SendKeys(box, " /ask"))
			wsWait(t, ctx, `() => `+pickerSelected+` === "/ask"`)
			wsWaitText(t, ctx, `#canned-picker .canned-preview-of:not([hidden]) .hint`, "WhatsApp only")
			Do(t, ctx, press("Escape"), chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent(kb.Backspace))
			// Enter now sends, with the file.
			Do(t, ctx, press("Enter"))
			wsWait(t, ctx, `() => document.querySelectorAll("#messages article.msg").length === 2`)
			msgs := cannedMessages(t, ana, conv.ID)
			if len(msgs) != 2 || msgs[0].Text != "Thanks from Ana P." || len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0].Filename != "logo.png" {
				t.Errorf("sent %+v", msgs)
			}
			// The canned response keeps its file for the next time.
			if list := cannedOf(t, ana, "?q=thanks"); len(list) == 0 || list[0].ShortCode != "thanks" || list[0].Message.AttachmentID != logo {
				t.Errorf("after the send the canned response is %+v", list)
			}
		})
	}
}

type cannedMsg struct {
	Text        string `json:"text"`
	Attachments []struct {
		Filename string `json:"filename"`
	} `json:"attachments"`
}

// cannedMessages are a conversation's messages, newest first.
func cannedMessages(t *testing.T, c *testrig.Client, conv int64) []cannedMsg {
	t.Helper()
	var p struct {
		Items []cannedMsg `json:"items"`
	}
	c.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), nil).Expect(http.StatusOK).Decode(&p)
	return p.Items
}

// TestCannedPickerWhatsApp: in a WhatsApp conversation a canned response
// with buttons goes into the rich composer (its form opened and filled,
// its picture as the header), the keyboard alone from "/" to the send;
// Graph receives the buttons as they were saved, the variables filled.
func TestCannedPickerWhatsApp(t *testing.T) {
	for _, w := range widths {
		t.Run(w.name, func(t *testing.T) {
			r := newWARig(t, dbtest.SQLite(t))
			ana := r.ana
			ana.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Ana P."}).Expect(http.StatusOK)
			ana.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "ask", "message": map[string]any{"kind": "interactive", "text": "Did that help, {{contact.name}}?",
				"interactive": map[string]any{"type": "button", "footer": "{{agent.public_name}}", "buttons": []map[string]any{{"title": "Yes"}, {"title": "Not yet"}}}}}).Expect(http.StatusCreated)
			pic := uploadPNG(t, ana, "offer.png")
			ana.Do("POST", "/api/v1/canned-responses", map[string]any{"short_code": "offer", "message": map[string]any{"kind": "interactive", "text": "This week only", "attachment_id": pic,
				"interactive": map[string]any{"type": "button", "header": map[string]any{"type": "image"}, "buttons": []map[string]any{{"title": "I want it"}}}}}).Expect(http.StatusCreated)
			r.say(t, graphfake.Text("Hello, I have a question"))
			conv := wsConversations(ana, "")[0]

			ctx := wsSignIn(t, r.srv, "ana@example.com", fmt.Sprintf("/inbox/conversations/%d", conv.ID))
			Do(t, ctx, chromedp.EmulateViewport(w.w, w.h), chromedp.WaitVisible(chromedp.CSS(`#composer textarea`)), chromedp.WaitVisible(chromedp.CSS(`#wa-panel`)))
			wsLive(t, ctx)
			box := chromedp.CSS(`#composer textarea[name=text]`)
			Do(t, ctx, chromedp.Click(box), chromedp.SendKeys(box, "/as"))
			wsWait(t, ctx, `() => `+pickerSelected+` === "/ask"`)
			wsWaitText(t, ctx, `#canned-picker .canned-preview-of:not([hidden]) .wa-button`, "Not yet")
			if got := wsEval[string](t, ctx, pickerPreview); !strings.Contains(got, "Did that help, Carla Customer?") || !strings.Contains(got, "Ana P.") {
				t.Errorf("the preview reads %q", got)
			}
			phoneFits(t, ctx, "the WhatsApp conversation with the picker open")
			Do(t, ctx, press("Enter"))
			wsWait(t, ctx, `() => !document.querySelector("#wa-buttons").hidden && document.querySelector("#wa-panel details").open`)
			if v := wsEval[[]string](t, ctx, `["#composer textarea", "#wa-buttons [name=body]", "#wa-buttons [name=footer]", "#wa-buttons [name='button.0']", "#wa-buttons [name='button.1']", "#wa-buttons [name='button.2']"].map(s => document.querySelector(s).value)`); v[0] != "" || v[1] != "Did that help, Carla Customer?" || v[2] != "Ana P." || v[3] != "Yes" || v[4] != "Not yet" || v[5] != "" {
				t.Errorf("after Enter the composers hold %q", v)
			}
			if focused := wsEval[string](t, ctx, `document.activeElement.name`); focused != "body" {
				t.Errorf("the cursor is in %q, want the rich composer's message", focused)
			}
			cannedShot(t, ctx, "rich", w.w, w.h)
			Do(t, ctx, chromedp.Click(chromedp.CSS(`#wa-buttons button[type=submit]`)))
			wsWait(t, ctx, `() => document.querySelectorAll("#messages article.msg").length === 2`)

			// A picture goes in as the header of the buttons.
			Do(t, ctx, chromedp.Click(box), chromedp.SendKeys(box, "/offer"))
			wsWait(t, ctx, `() => `+pickerSelected+` === "/offer"`)
			Do(t, ctx, press("Enter"))
			wsWait(t, ctx, `() => { const f = document.querySelector("#wa-buttons [name=attachment]"); return f && f.value !== "" && document.querySelector("#wa-buttons [name=header_type]").value === "image"; }`)
			wsWaitText(t, ctx, `#wa-buttons .canned-header-file`, "offer.png")
			Do(t, ctx, chromedp.Click(chromedp.CSS(`#wa-buttons button[type=submit]`)))
			wsWait(t, ctx, `() => document.querySelectorAll("#messages article.msg").length === 3`)

			var bodies []string
			for range 100 {
				bodies = bodies[:0]
				for _, m := range r.fake.Sent() {
					if m.FromBusiness && m.Type == "interactive" {
						bodies = append(bodies, string(m.Body))
					}
				}
				if len(bodies) == 2 {
					break
				}
				Do(t, ctx, chromedp.Sleep(100*time.Millisecond))
			}
			if len(bodies) != 2 {
				t.Fatalf("Graph received %d interactive messages, want 2", len(bodies))
			}
			for _, want := range []string{`"Did that help, Carla Customer?"`, `"Ana P."`, `"Yes"`, `"Not yet"`} {
				if !strings.Contains(bodies[0], want) {
					t.Errorf("the first buttons lack %s: %s", want, bodies[0])
				}
			}
			if !strings.Contains(bodies[1], `"header":{"image"`) && !strings.Contains(bodies[1], `"type":"image"`) || !strings.Contains(bodies[1], `"I want it"`) {
				t.Errorf("the offer went as %s, want buttons with an image header", bodies[1])
			}
		})
	}
}
