package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/simulator"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestWhatsAppSimulator plays a WhatsApp conversation in two browsers: a
// customer on the simulator (the Graph API fake's customer phone) and an
// agent in the workspace. The customer picks a row of a list the business
// sent and sends a photo; the agent sees both, answers with reply
// buttons; the simulator shows them, the customer taps one and the agent
// sees the tap. Every hop is real: signed webhooks from the fake to
// Switchboard over HTTP, Graph calls from Switchboard to the fake.
func TestWhatsAppSimulator(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { whatsappSimulator(t, d) })
}

func whatsappSimulator(t *testing.T, d *db.DB) {
	const secret = "e2e-app-secret"
	fake := graphfake.New(graphfake.Options{Seed: 21, Retry: graphfake.FastRetry})
	t.Cleanup(fake.Close)
	num := fake.AddNumber(graphfake.Number{VerifiedName: "Lucky Shrub", Phone: "15550783881", AppSecret: secret, VerifyToken: "vt"})
	if _, err := fake.AddTemplate(num.WABAID, graphfake.Template{Name: "pickup_ready", Category: "UTILITY", Components: []graphfake.TemplateComponent{
		{Type: "BODY", Text: "Hi {{1}}, your pot is ready to pick up.", Example: json.RawMessage(`{"body_text":[["Ann"]]}`)},
	}}); err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.New(fake, simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	mux := http.NewServeMux()
	mux.Handle("/simulator", sim)
	mux.Handle("/simulator/", sim)
	mux.Handle("/", fake)
	phone := httptest.NewServer(mux)
	t.Cleanup(phone.Close)
	fake.SetBaseURL(phone.URL)

	srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) {
		c.WhatsAppGraphURL = mustURL(t, phone.URL)
	}})
	fake.SetWebhook(srv.URL+"/webhooks/whatsapp", secret)
	admin := srv.NewUser("admin@example.com", policy.Admin)
	var in struct {
		ID int64 `json:"id"`
	}
	admin.Do("POST", "/api/v1/inboxes", map[string]any{"type": "whatsapp", "name": "WhatsApp", "whatsapp": map[string]any{
		"phone_number_id": num.ID, "waba_id": num.WABAID, "display_phone_number": num.Phone,
		"access_token": num.Token, "app_secret": secret, "verify_token": num.VerifyToken,
	}}).Expect(http.StatusCreated).Decode(&in)
	admin.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/templates/sync", in.ID), nil).Expect(http.StatusOK)
	ana := srv.NewUser("ana@example.com", policy.Service, in.ID)

	// The customer opens the chat on the simulator and writes.
	cust := Browser(t)
	Do(t, cust,
		chromedp.Navigate(phone.URL+"/simulator"),
		chromedp.WaitVisible(chromedp.CSS(`#who`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Carla Customer"),
		chromedp.SendKeys(chromedp.CSS(`input[name=phone]`), "+16505551234"),
		chromedp.Click(chromedp.CSS(`#who button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#composer`)),
		chromedp.SendKeys(chromedp.CSS(`#text`), "Hello, I need a new pot\n"),
	)
	// Two ticks once Switchboard has it.
	simWait(t, cust, `() => { const m = document.querySelector("#chat li.mine .ticks"); return m && m.dataset.status === "delivered"; }`)

	// The agent sees the conversation arrive and opens it.
	agent := wsSignIn(t, srv, "ana@example.com", "/inbox")
	wsWaitText(t, agent, `#rows li.row .preview`, "Hello, I need a new pot")
	convs := wsConversations(ana, "")
	if len(convs) != 1 {
		t.Fatalf("conversations %+v", convs)
	}
	convID := convs[0].ID
	Do(t, agent,
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#row-%d a", convID))),
		chromedp.WaitVisible(chromedp.CSS(`#composer`)),
	)
	wsLive(t, agent)
	wsWaitText(t, agent, `#messages article.inbound`, "Hello, I need a new pot")
	// Opened by the agent: the customer's message turns read (blue ticks).
	simWait(t, cust, `() => { const m = document.querySelector("#chat li.mine .ticks"); return m && m.dataset.status === "read"; }`)

	// The agent sends a list from the composer; the customer picks a row
	// and sends a photo.
	waCompose(t, agent, "list", map[string]string{
		"body": "Which size?", "list_button": "Sizes", "section_title": "Pots",
		"row.0": "Small pot", "row_description.0": "12 cm", "row.1": "Large pot", "row_description.1": "30 cm",
	})
	Do(t, cust,
		chromedp.WaitVisible(chromedp.CSS(`button.list-open`)),
		chromedp.Click(chromedp.CSS(`button.list-open`)),
		chromedp.WaitVisible(chromedp.CSS(`#sheet button.list-row[data-id^="large-pot"]`)),
		chromedp.Click(chromedp.CSS(`#sheet button.list-row[data-id^="large-pot"]`)),
	)
	photo := filepath.Join(t.TempDir(), "balcony.png")
	os.WriteFile(photo, pngBytes(t), 0o644)
	Do(t, cust, chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{photo}))
	simWait(t, cust, `() => document.querySelectorAll("#chat li.mine[data-type=image] img").length === 1`)

	// The agent sees the row picked and the photo (downloaded from the
	// fake with the number's token).
	wsWaitText(t, agent, `#messages article.inbound`, "Large pot")
	wsWait(t, agent, `() => Array.from(document.querySelectorAll("#messages article.inbound img")).some(i => i.complete && i.naturalWidth === 48)`)

	// The agent answers with reply buttons, from the composer.
	waCompose(t, agent, "buttons", map[string]string{"body": "Delivery or pickup?", "button.0": "Delivery", "button.1": "Pickup"})

	// The simulator shows them; the customer taps one.
	Do(t, cust,
		chromedp.WaitVisible(chromedp.CSS(`button.reply-button[data-id^="pickup"]`)),
		chromedp.Click(chromedp.CSS(`button.reply-button[data-id^="pickup"]`)),
	)
	simWait(t, cust, `() => Array.from(document.querySelectorAll("#chat li.mine[data-type=interactive]")).some(e => e.textContent.includes("Pickup"))`)

	// The agent sees the tap, live.
	wsWaitText(t, agent, `#messages article.inbound`, "Pickup")
	var tap *wsMsg
	for _, m := range wsMessages(ana, convID) {
		if m.Direction == "inbound" && strings.Contains(m.Text, "Pickup") {
			tap = &m
		}
	}
	if tap == nil {
		t.Fatalf("the tap is not in the conversation: %+v", wsMessages(ana, convID))
	}

	// The agent sends a template: choosing it brings its fields, and the
	// customer gets it filled in.
	Do(t, agent, chromedp.WaitVisible(chromedp.CSS(`#wa-panel details > summary`)))
	Run(t, agent, chromedp.Evaluate[bool](`document.querySelector("#wa-panel details").open = true`))
	Do(t, agent, chromedp.Click(chromedp.CSS(`#wa-panel a[data-wa-kind="template"]`)), chromedp.WaitVisible(chromedp.CSS(`#wa-template select[name=template]`)))
	wsChoose(t, agent, `#wa-template select[name=template]`, "pickup_ready|en_US")
	Do(t, agent,
		chromedp.WaitVisible(chromedp.CSS(`#wa-template input[data-wa-param]`)),
		chromedp.SendKeys(chromedp.CSS(`#wa-template input[data-wa-param]`), "Carla"),
		chromedp.Click(chromedp.CSS(`#wa-template button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#wa-panel .field-error`)),
	)
	simWait(t, cust, `() => Array.from(document.querySelectorAll("#chat li")).some(e => e.textContent.includes("Hi Carla, your pot is ready to pick up."))`)

	// What travelled: the fake accepted each message once, and
	// Switchboard never exceeded a limit.
	if dup := fake.Duplicates(); len(dup) != 0 {
		t.Errorf("duplicates %v", dup)
	}
	sent := fake.Sent()
	if len(sent) != 3 || sent[0].Type != "interactive" || sent[1].Type != "interactive" || sent[2].Type != "template" {
		t.Errorf("the fake received %+v", sent)
	}
}

// waCompose opens the WhatsApp composer panel, chooses a kind of message
// (buttons, list, link), fills its fields by name and sends it.
func waCompose(t *testing.T, agent context.Context, kind string, fields map[string]string) {
	t.Helper()
	form := "#wa-" + kind
	Do(t, agent, chromedp.WaitVisible(chromedp.CSS(`#wa-panel details > summary`)))
	Run(t, agent, chromedp.Evaluate[bool](`document.querySelector("#wa-panel details").open = true`))
	Do(t, agent,
		chromedp.Click(chromedp.CSS(`#wa-panel a[data-wa-kind="`+kind+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(form)),
	)
	for name, v := range fields {
		Do(t, agent, chromedp.SendKeys(chromedp.CSS(form+` [name="`+name+`"]`), v))
	}
	Do(t, agent,
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#wa-panel .field-error`)),
	)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// simWait waits for a condition on the simulator page.
func simWait(t *testing.T, ctx context.Context, fn string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](fn, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`#chat`)))
		t.Fatalf("simulator: waiting for %s: %v\n%s", fn, err, html)
	}
}

// pngBytes is a 48×48 PNG.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 48))
	for x := range 48 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{R: uint8(x * 5), G: 140, B: uint8(y * 5), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSimulatorIdentityFields: the customer is known by a phone number or,
// with the number hidden, by a username: the field not in use is
// disabled (the hidden number is not shown at all), and what is sent is
// the one in use.
func TestSimulatorIdentityFields(t *testing.T) {
	fake := graphfake.New(graphfake.Options{Seed: 3})
	t.Cleanup(fake.Close)
	num := fake.AddNumber(graphfake.Number{VerifiedName: "Lucky Shrub", Phone: "15550783881"})
	sim, err := simulator.New(fake, simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	phone := httptest.NewServer(sim)
	t.Cleanup(phone.Close)

	ctx := Browser(t)
	Do(t, ctx, chromedp.Navigate(phone.URL+"/simulator"), chromedp.WaitVisible(chromedp.CSS(`#who`)))
	fields := func() string {
		return wsEval[string](t, ctx, `["phone", "username"].map(n => {
			const f = document.querySelector("#who [name=" + n + "]");
			return n + ":" + (f.disabled ? "disabled" : "enabled") + (f.closest("label").hidden ? ",hidden" : "");
		}).join(" ")`)
	}
	if got, want := fields(), "phone:enabled username:disabled"; got != want {
		t.Errorf("with the number shown: %s, want %s", got, want)
	}
	Shot(t, ctx, "phone")
	Do(t, ctx, chromedp.Click(chromedp.CSS(`#who input[name=hide_phone]`)))
	if got, want := fields(), "phone:disabled,hidden username:enabled"; got != want {
		t.Errorf("with the number hidden: %s, want %s", got, want)
	}
	Shot(t, ctx, "username")

	// A username typed, then the number shown again: the customer is the
	// number alone.
	Do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#who input[name=username]`), "annlee"),
		chromedp.Click(chromedp.CSS(`#who input[name=hide_phone]`)),
		chromedp.SendKeys(chromedp.CSS(`#who input[name=name]`), "Ann Lee"),
		chromedp.SendKeys(chromedp.CSS(`#who input[name=phone]`), "+16505551234"),
		chromedp.Click(chromedp.CSS(`#who button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#composer`)),
	)
	if _, c, err := fake.Chat(num.ID, "16505551234"); err != nil || c.Username != "" {
		t.Errorf("the customer is %+v (%v), want the number without the username of a disabled field", c, err)
	}
}
