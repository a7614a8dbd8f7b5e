package whatsapp_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// form posts a form as the workspace does (as HTMX when htmx).
func form(c *testrig.Client, path string, v url.Values, htmx bool) *testrig.Response {
	hs := []string{"Content-Type", "application/x-www-form-urlencoded"}
	if htmx {
		hs = append(hs, "HX-Request", "true")
	}
	return c.Do("POST", path, strings.NewReader(v.Encode()), hs...)
}

// page is a response's HTML with its entities decoded, for looking up
// the words people read.
func page(r *testrig.Response) string { return html.UnescapeString(string(r.Body)) }

// expectIn fails for each want the page lacks.
func expectIn(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// expectNotIn fails for each word the page shows but must not.
func expectNotIn(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(body, n) {
			t.Errorf("%s shows %q", what, n)
		}
	}
}

// TestAdminPage: an admin connects a number from the settings page: each
// field's message when it is wrong; after creation the callback URL and
// the verify token to paste into Meta (the token once); the secrets never
// again, kept when left empty; test connection shows the number's name
// and quality or Meta's error; templates synchronise; ice breakers are
// checked (no emoji) and pushed, with whether WhatsApp took them.
func TestAdminPage(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		n := h.fake.AddNumber(graphfake.Number{AppSecret: "second-app-secret", WebhookURL: h.srv.URL + "/webhooks/whatsapp", VerifiedName: "Green Leaf", QualityRating: "YELLOW"})

		blank := h.admin.Do("GET", "/admin/inboxes/new/whatsapp", nil).Expect(200)
		expectIn(t, "the new number page", page(blank), `name="phone_number_id"`, `name="access_token" type="password"`, h.srv.URL+"/webhooks/whatsapp", `value="80"`)

		bad := form(h.admin, "/admin/inboxes/whatsapp", url.Values{"name": {"Green Leaf"}, "phone_number_id": {"12ab"}, "waba_id": {""},
			"display_phone_number": {"555"}, "access_token": {"tok en"}, "messages_per_second": {"5000"}}, false).Expect(422)
		expectIn(t, "the refused form", page(bad),
			"The phone number ID is a number of at most 32 digits.",
			"Enter the WhatsApp Business Account ID from Meta's app dashboard.",
			"Enter the phone number customers write to, like +14155550123.",
			"The access token has no spaces or invisible characters: copy it again.",
			"Enter the app secret.",
			"Use a whole number from 1 to 1000 (Meta's default is 80).",
			`value="Green Leaf"`)
		expectNotIn(t, "the refused form", page(bad), "tok en")

		good := url.Values{"name": {"Green Leaf"}, "phone_number_id": {n.ID}, "waba_id": {n.WABAID}, "display_phone_number": {"+" + n.Phone},
			"access_token": {n.Token}, "app_secret": {"second-app-secret"}, "messages_per_second": {"80"}}
		// Created, the browser is sent (303) to the number's page, which
		// shows the verify token this once.
		made := form(h.admin, "/admin/inboxes/whatsapp", good, false).Expect(200)
		if !strings.Contains(made.Request.URL.RawQuery, "shown=") {
			t.Fatalf("created: at %s, want the number's page after a redirect", made.Request.URL)
		}
		created := page(made)
		token := regexp.MustCompile(`id="wa-verify">([^<]+)<`).FindStringSubmatch(created)
		if token == nil {
			t.Fatalf("the created page shows no verify token:\n%s", grep(created, "erify"))
		}
		expectIn(t, "the created page", created, h.srv.URL+"/webhooks/whatsapp", "shown only now")
		expectNotIn(t, "the created page", created, n.Token, "second-app-secret")
		id := regexp.MustCompile(`action="/admin/inboxes/(\d+)"`).FindStringSubmatch(created)
		if id == nil {
			t.Fatal("no form to edit the new number")
		}
		admin := "/admin/inboxes/" + id[1]

		// Meta's handshake takes the token shown.
		hs := h.srv.Anonymous().Do("GET", "/webhooks/whatsapp?"+url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token[1]}, "hub.challenge": {"1158201444"}}.Encode(), nil).Expect(200)
		if string(hs.Body) != "1158201444" {
			t.Errorf("handshake answered %q", hs.Body)
		}

		// The edit page never shows the secrets or the token again.
		edit := page(h.admin.Do("GET", admin, nil).Expect(200))
		expectIn(t, "the edit page", edit, "Set — leave empty to keep it", `value="`+n.ID+`"`, "Test connection", "Ice breakers", "Synchronise now")
		expectNotIn(t, "the edit page", edit, n.Token, "second-app-secret", token[1])

		// Saving with the secrets empty keeps them: the connection works.
		save := url.Values{"name": {"Green Leaf Shop"}, "phone_number_id": {n.ID}, "waba_id": {n.WABAID}, "display_phone_number": {"+" + n.Phone}, "messages_per_second": {"40"}}
		saved := h.admin.Do("POST", admin, strings.NewReader(save.Encode()), "Content-Type", "application/x-www-form-urlencoded").Expect(200)
		if !strings.HasSuffix(saved.Request.URL.String(), "?saved=1") {
			t.Errorf("after saving: %s", saved.Request.URL)
		}
		expectIn(t, "the saved page", page(saved), `value="Green Leaf Shop"`, `value="40"`)
		conn := page(form(h.admin, admin+"/whatsapp/test", nil, true).Expect(200))
		expectIn(t, "the connection test", conn, "Connected to Green Leaf", "YELLOW")

		// A refused token: Meta's words.
		h.fake.ExpireToken(n.Token)
		conn = page(form(h.admin, admin+"/whatsapp/test", nil, true).Expect(200))
		expectIn(t, "the failed connection test", conn, "Graph refused:", "190")
		h.fake.RestoreToken(n.Token)

		// Templates.
		if _, err := h.fake.AddTemplate(n.WABAID, graphfake.Template{Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "APPROVED",
			Components: []graphfake.TemplateComponent{component("BODY", "Your order {{1}} has shipped.", `{"body_text":[["#123"]]}`)}}); err != nil {
			t.Fatal(err)
		}
		synced := page(form(h.admin, admin+"/whatsapp/templates/sync", nil, true).Expect(200))
		expectIn(t, "the templates panel", synced, "order_update", "APPROVED")

		// Ice breakers.
		ice := func(prompts ...string) *testrig.Response {
			return form(h.admin, admin+"/whatsapp/ice-breakers", url.Values{"prompt": prompts}, true)
		}
		refused := page(ice("Where is my order?", "Hi 👋", strings.Repeat("a", 81), "").Expect(422))
		expectIn(t, "the refused ice breakers", refused, "emoji", "An ice breaker has at most 80 characters (this one has 81).", `value="Hi 👋"`)
		took := page(ice("Where is my order?", "Do you ship abroad?", "", "").Expect(200))
		expectIn(t, "the saved ice breakers", took, `value="Where is my order?"`)
		eventually(t, "ice breakers pushed", func() bool {
			return len(h.fake.Automation(n.ID).Prompts) == 2
		})
		expectIn(t, "the page once pushed", page(h.admin.Do("GET", admin, nil).Expect(200)), "WhatsApp accepted them.")

		// Other inboxes have no WhatsApp page.
		web, _ := h.srv.NewWebchatInbox("Site")
		form(h.admin, fmt.Sprintf("/admin/inboxes/%d/whatsapp/test", web.ID), nil, true).Expect(404)
	})
}

// TestWorkspace: a WhatsApp conversation in the agent's workspace: the
// customer's image and list reply, the 24-hour window with its end,
// reply buttons sent from the composer (and refused with a message per
// field), a reaction, a failed message's reason, mark-as-read on opening,
// and outside the window the "use a template" message and a template.
func TestWorkspace(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{whatsapp: whatsapp.Options{Window: 4 * time.Second}})
		if _, err := h.fake.AddTemplate(h.num.WABAID, graphfake.Template{Name: "follow_up", Language: "en_US", Category: "UTILITY", Status: "APPROVED",
			Components: []graphfake.TemplateComponent{component("BODY", "Hi {{1}}, how was your order?", `{"body_text":[["Ann"]]}`)}}); err != nil {
			t.Fatal(err)
		}
		h.admin.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/templates/sync", h.inbox.ID), nil).Expect(200)
		ann := graphfake.Customer{Name: "Ann", Phone: "16505551234"}
		c := h.customerWrites(ann, "Hello <b>there</b>")
		if _, err := h.fake.Inbound(h.num.ID, ann, graphfake.Image(pngBytes, "image/png", "my plant")); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		conv := fmt.Sprintf("/inbox/conversations/%d", c.ID)
		eventually(t, "the image stored", func() bool {
			return strings.Contains(string(h.agent.Do("GET", conv, nil).Expect(200).Body), "/api/v1/attachments/")
		})
		view := string(h.agent.Do("GET", conv, nil).Expect(200).Body)
		expectIn(t, "the conversation", view, "24-hour window open", "data-wa-window-ends=", `id="wa-panel"`, "Hello &lt;b&gt;there&lt;/b&gt;", "my plant", `/static/whatsapp.js`)
		expectNotIn(t, "the conversation", view, "<b>there</b>")
		// Opening it told WhatsApp the messages were read.
		eventually(t, "read receipt", func() bool {
			for _, a := range h.fake.Attempts() {
				if a.Read {
					return true
				}
			}
			return false
		})

		post := func(v url.Values) *testrig.Response {
			return form(h.agent, conv+"/whatsapp", v, true)
		}
		refused := page(post(url.Values{"kind": {"buttons"}, "idempotency_key": {"b1"}, "body": {""}, "button.0": {"Express delivery, please"}, "button.1": {"Standard"}, "button.2": {"Standard"}}).Expect(422))
		expectIn(t, "the refused buttons", refused, "Write the message text.", "A button title has at most 20 characters (this one has 24).", "Two buttons have the same title.", `value="Express delivery, please"`)
		// Nothing cuts what is typed (the page counts it), and a refused
		// title's message shows beside its own input even after an empty
		// one, which the message leaves out.
		expectNotIn(t, "the rich composer", refused, "maxlength=")
		gap := page(post(url.Values{"kind": {"buttons"}, "idempotency_key": {"b3"}, "body": {"Pick"}, "button.0": {""}, "button.1": {"Deliver it to my door"}}).Expect(422))
		if !regexp.MustCompile(`name="button.1" value="Deliver it to my door" data-max="20"[^>]*>\s*<p class="field-error">A button title has at most 20 characters \(this one has 21\).`).MatchString(gap) {
			t.Errorf("the second button's message is not beside it:\n%s", grep(gap, "button."))
		}
		sent := page(post(url.Values{"kind": {"buttons"}, "idempotency_key": {"b2"}, "body": {"Pick a delivery option"}, "button.0": {"Express"}, "button.1": {"Standard"}}).Expect(200))
		expectIn(t, "the panel after sending", sent, `data-upsert="message"`, "Pick a delivery option", `<span class="wa-button">Express</span>`)
		var buttons conversation.Message
		for _, m := range h.messages(c.ID) {
			if m.Text == "Pick a delivery option" {
				buttons = m
			}
		}
		buttons = h.waitStatus(buttons.ID, conversation.Delivered)

		// The customer taps a button and chooses from a list.
		if _, err := h.fake.Inbound(h.num.ID, ann, graphfake.ButtonReply(*buttons.ChannelMessageID, "b0", "Express")); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		view = page(h.agent.Do("GET", conv, nil).Expect(200))
		expectIn(t, "the conversation after the tap", view, "Tapped a button", fmt.Sprintf(`<a class="quote" href="#msg-%d"`, buttons.ID),
			`<span class="quote-text">Pick a delivery option</span>`)

		// A reaction to the customer's message.
		var first conversation.Message
		for _, m := range h.messages(c.ID) {
			if m.Direction == conversation.Inbound {
				first = m
				break
			}
		}
		post(url.Values{"kind": {"reaction"}, "message_id": {fmt.Sprint(first.ID)}, "emoji": {"❤️"}}).Expect(200)
		eventually(t, "the reaction reaches WhatsApp", func() bool {
			for _, s := range h.fake.Sent() {
				if s.Type == "reaction" {
					return true
				}
			}
			return false
		})

		// A failed message shows why.
		h.fake.FailNext(graphfake.EndpointMessages, &graphfake.Error{Message: "(#131026) Message undeliverable", Type: "OAuthException", Code: 131026,
			Data: &graphfake.ErrorData{MessagingProduct: "whatsapp", Details: "Receiver is incapable of receiving this message"}})
		failed := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "Anything else?"}).Expect(201))
		h.waitStatus(failed.ID, conversation.Failed)
		view = page(h.agent.Do("GET", conv, nil).Expect(200))
		expectIn(t, "the failed message", view, "Receiver is incapable of receiving this message", whatsapp.Hint("131026"))

		// Outside the window: the text composer refuses with the reason,
		// the panel offers templates and checks their values.
		eventually(t, "the window closed", func() bool {
			view = page(h.agent.Do("GET", conv, nil).Expect(200))
			return strings.Contains(view, `class="wa-window closed"`)
		})
		expectIn(t, "the closed conversation", view, "24-hour window closed", "The 24-hour window to reply freely has closed", "follow_up (en_US, UTILITY)")
		text := page(form(h.agent, conv+"/messages", url.Values{"text": {"Are you there?"}, "idempotency_key": {"t1"}}, true))
		expectIn(t, "the refused text", text, "send an approved template")
		fields := page(h.agent.Do("GET", conv+"/whatsapp/template?template=follow_up%7Cen_US", nil).Expect(200))
		expectIn(t, "the template's fields", fields, "Body {{1}}", `name="param.body.1"`, `placeholder="Ann"`, "Hi {{1}}, how was your order?")
		empty := page(post(url.Values{"kind": {"template"}, "idempotency_key": {"t2"}, "template": {"follow_up|en_US"}, "param.body.1": {" "}}).Expect(422))
		expectIn(t, "the refused template", empty, "Fill in this value.")
		attempts := len(h.fake.Attempts())
		post(url.Values{"kind": {"template"}, "idempotency_key": {"t3"}, "template": {"follow_up|en_US"}, "param.body.1": {"Ann"}}).Expect(200)
		eventually(t, "the template sent", func() bool {
			for _, s := range h.fake.Sent() {
				if s.Type == "template" && strings.Contains(string(s.Body), `"text":"Ann"`) {
					return true
				}
			}
			return false
		})
		if len(h.fake.Attempts()) <= attempts {
			t.Error("no call to Graph for the template")
		}
	})
}

// TestNewConversationPage: an agent searches a number (checked as E.164),
// sees the conversations it has, and starts a new one with a template.
func TestNewConversationPage(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		if _, err := h.fake.AddTemplate(h.num.WABAID, graphfake.Template{Name: "hello", Language: "en_US", Category: "MARKETING", Status: "APPROVED",
			Components: []graphfake.TemplateComponent{component("BODY", "Hello {{1}}!", `{"body_text":[["Ann"]]}`)}}); err != nil {
			t.Fatal(err)
		}
		h.admin.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/templates/sync", h.inbox.ID), nil).Expect(200)
		inboxID := fmt.Sprint(h.inbox.ID)

		expectIn(t, "the inbox", page(h.agent.Do("GET", "/inbox", nil).Expect(200)), `href="/inbox/new"`)
		expectIn(t, "the new page", page(h.agent.Do("GET", "/inbox/new", nil).Expect(200)), `name="phone"`, "Lucky Shrub")

		bad := page(form(h.agent, "/inbox/new", url.Values{"inbox_id": {inboxID}, "phone": {"12"}}, false).Expect(422))
		expectIn(t, "the refused number", bad, `aria-invalid="true"`, `value="12"`)
		found := page(form(h.agent, "/inbox/new", url.Values{"inbox_id": {inboxID}, "phone": {"+34 600 111 222"}}, false).Expect(200))
		expectIn(t, "the search", found, "+34600111222", "No conversation with this number yet.", "Create a new conversation", "hello (en_US, MARKETING)")

		start := url.Values{"inbox_id": {inboxID}, "phone": {"+34600111222"}, "idempotency_key": {"new-1"}, "template": {"hello|en_US"}}
		refused := page(form(h.agent, "/inbox/new/start", start, false).Expect(422))
		expectIn(t, "the refused start", refused, "Fill in this value.", "A marketing template")
		start.Set("param.body.1", "Ana")
		opened := form(h.agent, "/inbox/new/start", start, false).Expect(200)
		if !strings.HasPrefix(opened.Request.URL.Path, "/inbox/conversations/") {
			t.Fatalf("after starting: %s", opened.Request.URL)
		}
		expectIn(t, "the new conversation", page(opened), "Template · hello (en_US)", "Hello Ana!")
		eventually(t, "the template at WhatsApp", func() bool {
			for _, s := range h.fake.Sent() {
				if s.Type == "template" && strings.Contains(string(s.Body), `"to":"34600111222"`) {
					return true
				}
			}
			return false
		})
		// Starting again with the same key opens the same conversation.
		again := form(h.agent, "/inbox/new/start", start, false).Expect(200)
		if again.Request.URL.Path != opened.Request.URL.Path {
			t.Errorf("the same start opened %s, then %s", opened.Request.URL.Path, again.Request.URL.Path)
		}
		found = page(form(h.agent, "/inbox/new", url.Values{"inbox_id": {inboxID}, "phone": {"0034 600 111 222"}}, false).Expect(200))
		expectIn(t, "the search again", found, "This number already has conversations here:", opened.Request.URL.Path)

		// Someone outside the inbox cannot use it.
		sales := h.srv.NewUser("sales@example.com", "sales")
		expectIn(t, "the page of a non-member", page(sales.Do("GET", "/inbox/new", nil).Expect(http.StatusOK)), "You are not a member of any WhatsApp number.")
		form(sales, "/inbox/new/start", start, false).Expect(404)
	})
}
