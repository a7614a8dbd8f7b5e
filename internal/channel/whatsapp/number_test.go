package whatsapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

func component(typ, text, example string) graphfake.TemplateComponent {
	c := graphfake.TemplateComponent{Type: typ, Text: text}
	if example != "" {
		c.Example = json.RawMessage(example)
	}
	return c
}

// TestTemplates: templates synchronise from the business account page by
// page; only approved ones can be sent; a send is checked against the
// template first; a status webhook changes what can be sent; a new
// conversation starts by phone number with a template.
func TestTemplates(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		waba := h.num.WABAID
		for i := range 120 {
			if _, err := h.fake.AddTemplate(waba, graphfake.Template{Name: fmt.Sprintf("filler_%03d", i), Language: "en_US", Category: "UTILITY", Status: "APPROVED",
				Components: []graphfake.TemplateComponent{component("BODY", "Filler number "+fmt.Sprint(i), "")}}); err != nil {
				t.Fatal(err)
			}
		}
		order, err := h.fake.AddTemplate(waba, graphfake.Template{Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "APPROVED",
			Components: []graphfake.TemplateComponent{
				component("BODY", "Hi {{1}}, your order {{2}} has shipped.", `{"body_text":[["Pablo","#123"]]}`),
				component("FOOTER", "Lucky Shrub", ""),
			}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.fake.AddTemplate(waba, graphfake.Template{Name: "welcome_named", Language: "es", Category: "MARKETING", Status: "APPROVED", ParameterFormat: "NAMED",
			Components: []graphfake.TemplateComponent{component("BODY", "Hola {{first_name}}, usa el código {{code}}.",
				`{"body_text_named_params":[{"param_name":"first_name","example":"Ana"},{"param_name":"code","example":"OTOÑO"}]}`)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.fake.AddTemplate(waba, graphfake.Template{Name: "old_promo", Language: "en_US", Category: "MARKETING", Status: "PAUSED",
			Components: []graphfake.TemplateComponent{component("BODY", "Sale!", "")}}); err != nil {
			t.Fatal(err)
		}
		var res whatsapp.SyncResult
		h.admin.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/templates/sync", h.inbox.ID), nil).Expect(200).Decode(&res)
		if res.Templates != 123 || res.Approved != 122 {
			t.Fatalf("sync: %+v", res)
		}
		var approved []whatsapp.Template
		h.agent.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/templates?approved=true", h.inbox.ID), nil).Expect(200).Decode(&approved)
		if len(approved) != 122 {
			t.Fatalf("approved templates: %d", len(approved))
		}
		var st whatsapp.State
		h.admin.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp", h.inbox.ID), nil).Expect(200).Decode(&st)
		if st.TemplatesSyncedAt == nil || st.TemplatesAll != 123 {
			t.Errorf("state after sync: %+v", st)
		}

		// A new conversation by phone number, with a template.
		start := func(phone string, msg any) *testrig.Response {
			return h.agent.Do("POST", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/conversations", h.inbox.ID), map[string]any{"phone": phone, "message": msg})
		}
		e := start("555-1234", map[string]any{"type": "template", "template": map[string]any{"name": "order_update", "language": "en_US"}}).Expect(422).Err()
		if e.Fields["phone"] == "" {
			t.Errorf("a number that is not E.164: %+v", e)
		}
		e = start("+34 600 111 222", map[string]any{"type": "template", "template": map[string]any{"name": "order_update", "language": "en_US",
			"params": map[string]string{"body.1": "Ana"}}}).Expect(422).Err()
		if e.Fields["template.params.body.2"] == "" {
			t.Errorf("a missing value: %+v", e)
		}
		e = start("+34 600 111 222", map[string]any{"type": "template", "template": map[string]any{"name": "old_promo", "language": "en_US"}}).Expect(422).Err()
		if !strings.Contains(e.Fields["template.name"], "approved") {
			t.Errorf("a paused template: %+v", e)
		}
		e = start("+34 600 111 222", map[string]any{"type": "text", "text": "Hi!"}).Expect(409).Err()
		if !strings.Contains(e.Message, "template") {
			t.Errorf("free-form to a new customer: %+v", e)
		}
		var out whatsapp.StartResult
		start("+34 600 111 222", map[string]any{"type": "template", "idempotency_key": "s1", "template": map[string]any{"name": "order_update", "language": "en_US",
			"params": map[string]string{"body.1": "Ana", "body.2": "#9"}}}).Expect(201).Decode(&out)
		if out.Conversation.StartedBy != conversation.ByAgent || out.Message.Text != "Hi Ana, your order #9 has shipped." || out.Conversation.Contact.Phone == nil || *out.Conversation.Contact.Phone != "+34600111222" {
			t.Fatalf("started: %+v", out)
		}
		m := h.waitStatus(out.Message.ID, conversation.Delivered)
		var sent graphfake.ChatMessage
		for _, s := range h.fake.Sent() {
			if s.CallbackData == fmt.Sprint(m.ID) {
				sent = s
			}
		}
		if sent.Type != "template" || !strings.Contains(string(sent.Body), `"to":"34600111222"`) || !strings.Contains(string(sent.Body), `{"type":"text","text":"#9"}`) {
			t.Errorf("sent template: %s", sent.Body)
		}
		// Named parameters.
		var named whatsapp.StartResult
		start("+34600111222", map[string]any{"type": "template", "template": map[string]any{"name": "welcome_named", "language": "es",
			"params": map[string]string{"body.first_name": "Ana", "body.code": "X1"}}}).Expect(201).Decode(&named)
		if named.Conversation.ID != out.Conversation.ID {
			t.Errorf("the customer's open conversation was not reused: %d, %d", named.Conversation.ID, out.Conversation.ID)
		}
		h.waitStatus(named.Message.ID, conversation.Delivered)
		// The lookup finds the conversation by number.
		var look struct {
			Phone         string                      `json:"phone"`
			Conversations []conversation.Conversation `json:"conversations"`
		}
		h.agent.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/lookup?phone=%%2B34%%20600%%20111%%20222", h.inbox.ID), nil).Expect(200).Decode(&look)
		if look.Phone != "+34600111222" || len(look.Conversations) != 1 || look.Conversations[0].ID != out.Conversation.ID {
			t.Errorf("lookup: %+v", look)
		}

		// Meta pauses the template: its webhook says so, and sends stop.
		if err := h.fake.SetTemplateStatus(order.ID, "PAUSED", "NONE"); err != nil {
			t.Fatal(err)
		}
		h.waitWebhooks()
		e = start("+34600111222", map[string]any{"type": "template", "template": map[string]any{"name": "order_update", "language": "en_US",
			"params": map[string]string{"body.1": "Ana", "body.2": "#9"}}}).Expect(422).Err()
		if !strings.Contains(e.Fields["template.name"], "paused") {
			t.Errorf("after the pause webhook: %+v", e)
		}
		// A template created on Meta's side arrives with a sync the
		// webhook starts.
		if _, err := h.fake.AddTemplate(waba, graphfake.Template{Name: "brand_new", Language: "en_US", Category: "UTILITY", Status: "PENDING",
			Components: []graphfake.TemplateComponent{component("BODY", "New", "")}}); err != nil {
			t.Fatal(err)
		}
		nt, _ := h.fake.TemplateByName(waba, "brand_new", "en_US")
		h.fake.ApproveTemplate(nt.ID)
		h.waitWebhooks()
		eventually(t, "the new template", func() bool {
			var ts []whatsapp.Template
			h.agent.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/templates?approved=true", h.inbox.ID), nil).Expect(200).Decode(&ts)
			for _, x := range ts {
				if x.Name == "brand_new" {
					return true
				}
			}
			return false
		})
	})
}

// TestIceBreakers: at most four, each at most 80 characters, without
// emoji, refused field by field; saved ones are pushed to Graph, and the
// state says whether Graph accepted them.
func TestIceBreakers(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		put := func(prompts ...string) *testrig.Response {
			return h.admin.Do("PUT", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp/ice-breakers", h.inbox.ID), map[string]any{"prompts": prompts})
		}
		e := put("Where is my order?", "Hi 👋").Expect(422).Err()
		if !strings.Contains(e.Fields["prompts.1"], "emoji") {
			t.Errorf("emoji: %+v", e)
		}
		e = put(strings.Repeat("a", 81)).Expect(422).Err()
		if e.Fields["prompts.0"] == "" {
			t.Errorf("81 characters: %+v", e)
		}
		e = put("a", "b", "c", "d", "e").Expect(422).Err()
		if e.Fields["prompts"] == "" {
			t.Errorf("five: %+v", e)
		}
		var st whatsapp.State
		put("Where is my order?", "Do you ship abroad?", "Talk to a person © Lucky Shrub").Expect(200).Decode(&st)
		if st.IceBreakersStatus != whatsapp.IceAccepted || len(st.IceBreakers) != 3 {
			t.Fatalf("state: %+v", st)
		}
		if got := h.fake.Automation(h.num.ID).Prompts; len(got) != 3 || got[0] != "Where is my order?" {
			t.Errorf("Graph has %v", got)
		}
		// Graph refuses: the state says so, with Graph's words.
		h.fake.FailNext(graphfake.EndpointAutomation, &graphfake.Error{Message: "(#100) Invalid parameter", Type: "OAuthException", Code: 100,
			Data: &graphfake.ErrorData{MessagingProduct: "whatsapp", Details: "Prompt text exceeds maximum length"}})
		put("Something else").Expect(200).Decode(&st)
		if st.IceBreakersStatus != whatsapp.IceRejected || !strings.Contains(st.IceBreakersError, "Prompt text exceeds") {
			t.Errorf("rejected: %+v", st)
		}
		// Graph unreachable for a moment: pending, then the job pushes them.
		h.fake.FailNext(graphfake.EndpointAutomation, graphfake.ErrUnavailable())
		put("Opening hours?").Expect(200).Decode(&st)
		if st.IceBreakersStatus != whatsapp.IcePending {
			t.Errorf("after a 503: %+v", st)
		}
		for deadline := time.Now().Add(10 * time.Second); st.IceBreakersStatus != whatsapp.IceAccepted; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("ice breakers not pushed by the job: %+v\n%s", st, h.jobs())
			}
			h.admin.Do("GET", fmt.Sprintf("/api/v1/inboxes/%d/whatsapp", h.inbox.ID), nil).Expect(200).Decode(&st)
		}
		if got := h.fake.Automation(h.num.ID).Prompts; len(got) != 1 || got[0] != "Opening hours?" {
			t.Errorf("Graph has %v", got)
		}
	})
}

// TestMarkRead: an agent opening a conversation marks the customer's
// latest message read on WhatsApp, once.
func TestMarkRead(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHarness(t, d, harnessOptions{})
		dee := graphfake.Customer{Name: "Dee", Phone: "15550002222"}
		h.customerWrites(dee, "first")
		c := h.customerWrites(dee, "second")
		reads := func() int {
			n := 0
			for _, a := range h.fake.Attempts() {
				if a.Read && a.Code == 0 {
					n++
				}
			}
			return n
		}
		h.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/read", c.ID), nil).Expect(204)
		eventually(t, "read receipt", func() bool { return reads() == 1 })
		msgs, cust, err := h.fake.Chat(h.num.ID, dee.Phone)
		if err != nil {
			users := cust.UserID
			t.Fatalf("chat %s: %v", users, err)
		}
		for _, m := range msgs {
			if !m.FromBusiness && m.Status != "read" {
				t.Errorf("customer message %s is %s, want read", m.ID, m.Status)
			}
		}
		// Opening it again marks nothing new: once no read job is left,
		// none can send another receipt.
		h.agent.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/read", c.ID), nil).Expect(204)
		h.waitJobsDone(whatsapp.ReadJob)
		if reads() != 1 {
			t.Errorf("%d read receipts, want 1", reads())
		}
	})
}

// flakyTransport passes requests to the fake but loses the answer of the
// first send: Meta took the message, Switchboard does not know.
type flakyTransport struct {
	lost atomic.Int32
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/messages") && f.lost.Add(1) == 1 {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

// TestLostAnswerSentOnce: when Graph's answer to a send is lost, the send
// is not repeated blindly: Meta's status webhook (with Switchboard's id in
// biz_opaque_callback_data) tells what happened, and the message is sent
// exactly once.
func TestLostAnswerSentOnce(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		tr := &flakyTransport{}
		h := newHarness(t, d, harnessOptions{whatsapp: whatsapp.Options{HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}, InFlightGrace: 2 * time.Second}})
		c := h.customerWrites(graphfake.Customer{Name: "Eli", Phone: "15550003333"}, "hi")
		m := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "sent once"}).Expect(201))
		got := h.waitStatus(m.ID, conversation.Delivered)
		if got.ChannelMessageID == nil {
			t.Fatal("no WhatsApp id learnt from the status webhook")
		}
		// Past the grace the send job finds the message sent and ends;
		// then nothing can send it again.
		h.waitJobsDone(conversation.SendJob)
		if n := h.fake.Accepted(fmt.Sprint(m.ID)); n != 1 {
			t.Errorf("accepted %d times, want 1", n)
		}
	})
}

// TestRestart: a reply committed while Graph was failing is still
// pending when the node stops; the next node sends it, once.
func TestRestart(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		key := make([]byte, 32)
		copy(key, "a restart test key of 32 bytes!!")
		o := harnessOptions{dataDir: t.TempDir(), key: key}
		h := newHarness(t, d, o)
		c := h.customerWrites(graphfake.Customer{Name: "Flo", Phone: "15550004444"}, "hi")
		h.fake.SetErrorRate(graphfake.EndpointMessages, 1, graphfake.ErrUnavailable())
		m := decodeMessage(t, h.post(c.ID, map[string]any{"type": "text", "text": "survives"}).Expect(201))
		eventually(t, "a failed attempt", func() bool { return len(h.fake.Attempts()) > 0 })
		h.srv.Stop()
		if got, _ := h.srv.App.Conversations.LoadMessage(context.Background(), m.ID); got.Status != conversation.Pending {
			t.Fatalf("before the restart the message is %s", got.Status)
		}
		h.fake.ClearErrors()
		h.start(d, o)
		n := h.num
		n.WebhookURL = h.srv.URL + "/webhooks/whatsapp"
		if err := h.fake.UpdateNumber(n); err != nil {
			t.Fatal(err)
		}
		h.fake.SetWebhook(h.srv.URL+"/webhooks/whatsapp", appSecret)
		h.waitStatus(m.ID, conversation.Delivered)
		if n := h.fake.Accepted(fmt.Sprint(m.ID)); n != 1 {
			t.Errorf("accepted %d times, want 1", n)
		}
	})
}
