package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestWidgetPreChatForm: an admin turns the pre-chat form on in the
// inbox's settings; the widget then asks the visitor's name and email
// before the first message, says what is wrong next to each field, and
// the contact gets what the visitor gave.
func TestWidgetPreChatForm(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	srv.NewUser("root@example.com", policy.Admin)
	agent := srv.NewUser("agent@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Shop", agent.UserID)
	if set, _ := webchat.SettingsOf(in); set.PreChatForm {
		t.Fatal("the pre-chat form is on by default")
	}

	// The setting, on the inbox's settings page.
	admin := wsSignIn(t, srv, "root@example.com", fmt.Sprintf("/admin/inboxes/%d", in.ID))
	Do(t, admin,
		chromedp.WaitVisible(chromedp.CSS(`input[name=pre_chat_form]`)),
		chromedp.Click(chromedp.CSS(`input[name=pre_chat_form]`)),
		chromedp.Click(chromedp.CSS(`form.inbox-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	if !wsEval[bool](t, admin, `document.querySelector("input[name=pre_chat_form]").checked`) {
		t.Fatal("the setting did not stay on")
	}
	saved, err := srv.App.Inboxes.Get(t.Context(), in.ID)
	set, _ := webchat.SettingsOf(saved)
	if err != nil || !set.PreChatForm {
		t.Fatalf("inbox %+v, %v", set, err)
	}

	ctx := Browser(t)
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/widget/demo/"+in.Token),
		chromedp.Click(inWidget(".launcher")),
		chromedp.WaitVisible(inWidget(".prechat input[name=name]")),
	)
	if Run(t, ctx, chromedp.Evaluate[bool](widget+`.querySelector('form:not(.prechat)').hidden`)) != true {
		t.Fatal("the composer shows before the visitor said who they are")
	}
	if focused := Run(t, ctx, chromedp.Evaluate[string](widget+`.activeElement?.name || ''`)); focused != "name" {
		t.Errorf("focus on %q, want the name", focused)
	}
	// Nothing given: a message under each field; no session yet.
	errors := func() string {
		return Run(t, ctx, chromedp.Evaluate[string](`Array.from(`+widget+`.querySelectorAll('.prechat .error:not([hidden])'), (e) => e.textContent).join(' | ')`))
	}
	Do(t, ctx, chromedp.Click(inWidget(".prechat .start")))
	waitInWidget(t, ctx, "the field errors", widget+`?.querySelectorAll('.prechat .error:not([hidden])').length === 2`)
	if got := errors(); got != "Enter your name. | Enter your email address." {
		t.Fatalf("errors %q", got)
	}
	if v := Run(t, ctx, chromedp.Evaluate[string](widget+`.querySelector('input[name=email]').getAttribute('aria-describedby') || ''`)); v != "sb-email-error" {
		t.Errorf("the email field is not described by its error: %q", v)
	}
	// A name and a wrong email: only the email is refused.
	Do(t, ctx,
		chromedp.SendKeys(inWidget(".prechat input[name=name]"), "Grace Hopper"),
		chromedp.SendKeys(inWidget(".prechat input[name=email]"), "grace@"),
		chromedp.Click(inWidget(".prechat .start")),
	)
	waitInWidget(t, ctx, "the email error", widget+`?.querySelectorAll('.prechat .error:not([hidden])').length === 1`)
	if got := errors(); !strings.Contains(got, "valid email address") {
		t.Fatalf("errors %q", got)
	}
	var sessions int
	if err := srv.App.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM webchat_visitors`).Scan(&sessions); err != nil || sessions != 0 {
		t.Fatalf("%d sessions started before the form was right (%v)", sessions, err)
	}
	Do(t, ctx,
		chromedp.SendKeys(inWidget(".prechat input[name=email]"), "navy.mil"),
		chromedp.Click(inWidget(".prechat .start")),
		chromedp.WaitVisible(inWidget("textarea")),
		chromedp.SendKeys(inWidget("textarea"), "Hello, I found a bug"),
		pressEnter,
	)
	waitInWidget(t, ctx, "the message to be stored", widget+`?.querySelector('.msg.visitor time') != null`)
	if !Run(t, ctx, chromedp.Evaluate[bool](widget+`.querySelector('.prechat').hidden`)) {
		t.Fatal("the form still shows")
	}
	var convs apiPage[struct {
		Contact struct {
			Name  string  `json:"name"`
			Email *string `json:"email"`
		} `json:"contact"`
	}]
	agent.Do("GET", "/api/v1/conversations", nil).Expect(200).Decode(&convs)
	if len(convs.Items) != 1 || convs.Items[0].Contact.Name != "Grace Hopper" || convs.Items[0].Contact.Email == nil || *convs.Items[0].Contact.Email != "grace@navy.mil" {
		t.Fatalf("conversations %+v", convs.Items)
	}

	// After a reload the visitor is not asked again.
	Do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(inWidget("textarea")))
	if !Run(t, ctx, chromedp.Evaluate[bool](widget+`.querySelector('.prechat').hidden`)) {
		t.Fatal("asked again after a reload")
	}
}

// TestWidgetSpanish: on a Spanish page the widget speaks Spanish, the
// pre-chat form and the server's field messages included.
func TestWidgetSpanish(t *testing.T) {
	srv := testrig.Start(t, dbtest.SQLite(t))
	agent := srv.NewUser("agent@example.com", policy.Service)
	in, _, err := srv.App.Inboxes.Create(t.Context(), inbox.NewInbox{Type: webchat.Type, Name: "Tienda", MemberIDs: []int64{agent.UserID},
		Settings: map[inbox.Type]any{webchat.Type: &webchat.Settings{PreChatForm: true}}})
	if err != nil {
		t.Fatal(err)
	}

	ctx := Browser(t)
	AllowStatus(ctx, 422, "/public/v1/inboxes/[^/]+/sessions") // the pre-chat form refused on purpose
	Do(t, ctx,
		chromedp.Navigate(srv.URL+"/widget/demo/"+in.Token+"?lang=es"),
		chromedp.WaitVisible(inWidget(".launcher")),
	)
	if l := Run(t, ctx, chromedp.Evaluate[string](widget+`.querySelector('.launcher').getAttribute('aria-label')`)); l != "Abrir el chat con Tienda" {
		t.Fatalf("launcher label %q", l)
	}
	Do(t, ctx,
		chromedp.Click(inWidget(".launcher")),
		chromedp.WaitVisible(inWidget(".prechat input[name=name]")),
		chromedp.Click(inWidget(".prechat .start")),
	)
	waitInWidget(t, ctx, "the field errors", widget+`?.querySelectorAll('.prechat .error:not([hidden])').length === 2`)
	got := Run(t, ctx, chromedp.Evaluate[string](`Array.from(`+widget+`.querySelectorAll('.prechat .error:not([hidden]), .prechat .start'), (e) => e.textContent).join(' | ')`))
	if got != "Escribe tu nombre. | Escribe tu dirección de correo. | Empezar el chat" {
		t.Fatalf("form in Spanish: %q", got)
	}
	// The server's own check answers in Spanish too (a name too long for
	// the form's own check to catch is not possible: the field has a
	// maxlength; an address the browser-side check lets through is).
	Do(t, ctx,
		chromedp.SendKeys(inWidget(".prechat input[name=name]"), "Ada"),
		chromedp.SendKeys(inWidget(".prechat input[name=email]"), "ada@example..com"),
		chromedp.Click(inWidget(".prechat .start")),
	)
	waitInWidget(t, ctx, "the server's answer", `(`+widget+`?.querySelector('#sb-email-error')?.textContent || '').startsWith('Escribe una dirección de correo válida')`)
	Do(t, ctx,
		chromedp.SetValue(inWidget(".prechat input[name=email]"), "ada@example.com"),
		chromedp.Click(inWidget(".prechat .start")),
		chromedp.WaitVisible(inWidget("textarea")),
	)
	if p := Run(t, ctx, chromedp.Evaluate[string](widget+`.querySelector('textarea').placeholder`)); p != "Escribe un mensaje…" {
		t.Fatalf("placeholder %q", p)
	}
}
