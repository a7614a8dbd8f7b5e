package graphfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboardhq/switchboard/internal/graphfake"
)

// TestSendValidation sends each kind of mistake and checks Meta's answer:
// HTTP status, error code and a part of the details (or message).
func TestSendValidation(t *testing.T) {
	e := setup(t, graphfake.Options{})
	e.fake.Inbound(e.num.ID, graphfake.Customer{Name: "Ann", Phone: "16505551234"}, graphfake.Text("hi"))
	img, _ := e.fake.AddMedia(e.num.ID, []byte("\x89PNG\r\n\x1a\n"), "image/png")
	audio, _ := e.fake.AddMedia(e.num.ID, []byte("OggS"), "audio/ogg")
	e.fake.AddTemplate("", graphfake.Template{Name: "order_update", Components: []graphfake.TemplateComponent{
		{Type: "HEADER", Format: "IMAGE"},
		{Type: "BODY", Text: "Hi {{1}}, your order {{2}} ships on {{3}}."},
		{Type: "BUTTONS", Buttons: []graphfake.TemplateButton{{Type: "QUICK_REPLY", Text: "Stop"}, {Type: "URL", Text: "Track", URL: "https://example.com/t/{{1}}"}}},
	}})
	e.fake.AddTemplate("", graphfake.Template{Name: "named", ParameterFormat: "NAMED", Components: []graphfake.TemplateComponent{{Type: "BODY", Text: "Hello {{first_name}}!"}}})
	e.fake.AddTemplate("", graphfake.Template{Name: "paused_one", Status: "PAUSED", Components: []graphfake.TemplateComponent{{Type: "BODY", Text: "Hi there"}}})
	e.fake.AddTemplate("", graphfake.Template{Name: "disabled_one", Status: "DISABLED", Components: []graphfake.TemplateComponent{{Type: "BODY", Text: "Hi there"}}})
	e.fake.AddTemplate("", graphfake.Template{Name: "pending_one", Status: "PENDING", Components: []graphfake.TemplateComponent{{Type: "BODY", Text: "Hi there"}}})
	e.wait(t)

	to := `"messaging_product":"whatsapp","to":"16505551234",`
	tooLong := strings.Repeat("x", 4097)
	buttons := func(bs ...string) string {
		var parts []string
		for i, b := range bs {
			parts = append(parts, fmt.Sprintf(`{"type":"reply","reply":{"id":"b%d","title":%q}}`, i, b))
		}
		return `{` + to + `"type":"interactive","interactive":{"type":"button","body":{"text":"Pick"},"action":{"buttons":[` + strings.Join(parts, ",") + `]}}}`
	}
	list := func(rows int, button string) string {
		var rs []string
		for i := range rows {
			rs = append(rs, fmt.Sprintf(`{"id":"r%d","title":"Row %d"}`, i, i))
		}
		return `{` + to + `"type":"interactive","interactive":{"type":"list","body":{"text":"Pick"},"action":{"button":"` + button + `","sections":[{"title":"S","rows":[` + strings.Join(rs, ",") + `]}]}}}`
	}
	tmpl := func(name, comps string) string {
		return `{` + to + `"type":"template","template":{"name":"` + name + `","language":{"code":"en_US"},"components":` + comps + `}}`
	}
	goodOrder := `[{"type":"header","parameters":[{"type":"image","image":{"link":"https://example.com/i.png"}}]},{"type":"body","parameters":[{"type":"text","text":"Pablo"},{"type":"currency","currency":{"fallback_value":"$100.99","code":"USD","amount_1000":100990}},{"type":"date_time","date_time":{"fallback_value":"February 25, 1977"}}]},{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"stop"}]},{"type":"button","sub_type":"url","index":1,"parameters":[{"type":"text","text":"ABC"}]}]`
	cases := []struct {
		name   string
		body   string
		status int
		code   int
		text   string // in the details, or else the message
	}{
		{"text", `{` + to + `"type":"text","text":{"body":"Hello"}}`, 200, 0, ""},
		{"type defaults to text", `{` + to + `"text":{"body":"Hello"}}`, 200, 0, ""},
		{"no messaging_product", `{"to":"16505551234","type":"text","text":{"body":"x"}}`, 400, 100, "Param messaging_product is required"},
		{"wrong messaging_product", `{"messaging_product":"sms","to":"16505551234","type":"text","text":{"body":"x"}}`, 400, 100, "must be one of {WHATSAPP}"},
		{"no recipient", `{"messaging_product":"whatsapp","type":"text","text":{"body":"x"}}`, 400, 100, "Param to is required"},
		{"bad phone", `{"messaging_product":"whatsapp","to":"call me","type":"text","text":{"body":"x"}}`, 400, 131009, "not a valid WhatsApp phone number"},
		{"to self", `{"messaging_product":"whatsapp","to":"15550783881","type":"text","text":{"body":"x"}}`, 400, 131021, "same"},
		{"unknown BSUID", `{"messaging_product":"whatsapp","recipient":"US.999","type":"text","text":{"body":"x"}}`, 400, 100, "Object with ID 'US.999' does not exist"},
		{"unsupported type", `{` + to + `"type":"poll","poll":{}}`, 400, 131051, "poll"},
		{"no text", `{` + to + `"type":"text"}`, 400, 100, "Param text is required"},
		{"empty body", `{` + to + `"type":"text","text":{"body":""}}`, 400, 100, "text['body']"},
		{"body too long", `{` + to + `"type":"text","text":{"body":"` + tooLong + `"}}`, 400, 100, "at most 4096"},
		{"callback too long", `{` + to + `"type":"text","text":{"body":"x"},"biz_opaque_callback_data":"` + strings.Repeat("c", 513) + `"}`, 400, 100, "biz_opaque_callback_data"},
		{"image by id", `{` + to + `"type":"image","image":{"id":"` + img + `","caption":"Photo"}}`, 200, 0, ""},
		{"image by link", `{` + to + `"type":"image","image":{"link":"https://example.com/a.jpg"}}`, 200, 0, ""},
		{"image without id or link", `{` + to + `"type":"image","image":{"caption":"x"}}`, 400, 131008, "one of id or link"},
		{"image with both", `{` + to + `"type":"image","image":{"id":"` + img + `","link":"https://example.com/a.jpg"}}`, 400, 131009, "not both"},
		{"unknown media id", `{` + to + `"type":"image","image":{"id":"12345"}}`, 400, 131009, "Invalid media id"},
		{"audio as image", `{` + to + `"type":"image","image":{"id":"` + audio + `"}}`, 400, 131009, "cannot be sent as image"},
		{"caption on audio", `{` + to + `"type":"audio","audio":{"id":"` + audio + `","caption":"x"}}`, 400, 131009, "caption"},
		{"document by link", `{` + to + `"type":"document","document":{"link":"https://example.com/invoice.pdf","caption":"Your invoice","filename":"invoice_001.pdf"}}`, 200, 0, ""},
		{"location", `{` + to + `"type":"location","location":{"latitude":37.758056,"longitude":-122.425332,"name":"META HQ"}}`, 200, 0, ""},
		{"location without longitude", `{` + to + `"type":"location","location":{"latitude":37.7}}`, 400, 100, "longitude"},
		{"contacts", `{` + to + `"type":"contacts","contacts":[{"name":{"formatted_name":"John Smith","first_name":"John"},"phones":[{"phone":"+1 (650) 555-1234","type":"WORK","wa_id":"16505551234"}]}]}`, 200, 0, ""},
		{"contacts without name", `{` + to + `"type":"contacts","contacts":[{"phones":[{"phone":"1"}]}]}`, 400, 100, "formatted_name"},
		{"three buttons", buttons("Change", "Cancel", "Later"), 200, 0, ""},
		{"four buttons", buttons("A", "B", "C", "D"), 400, 131009, "Buttons count invalid"},
		{"button title too long", buttons("This title is too long"), 400, 131009, "Button title length invalid. Min length: 1, Max length: 20"},
		{"duplicate button titles", buttons("Same", "Same"), 400, 131009, "Duplicate button title"},
		{"list", list(10, "Options"), 200, 0, ""},
		{"list with 11 rows", list(11, "Options"), 400, 131009, "Total row count exceed max allowed count: 10"},
		{"list button too long", list(2, "A very long list button"), 400, 131009, "Max length: 20"},
		{"list with image header", `{` + to + `"type":"interactive","interactive":{"type":"list","header":{"type":"image","image":{"link":"https://example.com/a.jpg"}},"body":{"text":"Pick"},"action":{"button":"Go","sections":[{"title":"S","rows":[{"id":"a","title":"A"}]}]}}}`, 400, 131009, "use a text header"},
		{"cta_url", `{` + to + `"type":"interactive","interactive":{"type":"cta_url","body":{"text":"Tap"},"action":{"name":"cta_url","parameters":{"display_text":"See Dates","url":"https://www.luckyshrub.com?clickID=kqDG"}}}}`, 200, 0, ""},
		{"cta_url bad url", `{` + to + `"type":"interactive","interactive":{"type":"cta_url","body":{"text":"Tap"},"action":{"name":"cta_url","parameters":{"display_text":"See","url":"javascript:alert(1)"}}}}`, 400, 131009, "Invalid URL"},
		{"interactive without body", `{` + to + `"type":"interactive","interactive":{"type":"button","action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}}}`, 400, 100, "interactive['body']['text']"},
		{"footer too long", `{` + to + `"type":"interactive","interactive":{"type":"button","body":{"text":"b"},"footer":{"text":"` + strings.Repeat("f", 61) + `"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}}}`, 400, 131009, "Footer text length invalid"},
		{"reaction not an emoji", `{` + to + `"type":"reaction","reaction":{"message_id":"wamid.x","emoji":"hello"}}`, 400, 131009, "not a valid emoji"},
		{"template", tmpl("order_update", goodOrder), 200, 0, ""},
		{"template unknown", tmpl("nope", `[]`), 404, 132001, "template name (nope) does not exist in en_US"},
		{"template pending", tmpl("pending_one", `[]`), 404, 132001, "does not exist"},
		{"template paused", tmpl("paused_one", `[]`), 400, 132015, "paused"},
		{"template disabled", tmpl("disabled_one", `[]`), 400, 132016, "disabled"},
		{"template param count", tmpl("order_update", `[{"type":"header","parameters":[{"type":"image","image":{"link":"https://example.com/i.png"}}]},{"type":"body","parameters":[{"type":"text","text":"Pablo"}]},{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"A"}]}]`), 400, 132000, "body: number of localizable_params (1) does not match the expected number of params (3)"},
		{"template header format", tmpl("order_update", `[{"type":"body","parameters":[{"type":"text","text":"a"},{"type":"text","text":"b"},{"type":"text","text":"c"}]},{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"A"}]}]`), 400, 132012, "header: Format mismatch, expected IMAGE, received UNKNOWN"},
		{"template url button param missing", tmpl("order_update", `[{"type":"header","parameters":[{"type":"image","image":{"link":"https://example.com/i.png"}}]},{"type":"body","parameters":[{"type":"text","text":"a"},{"type":"text","text":"b"},{"type":"text","text":"c"}]}]`), 400, 132000, "button 1"},
		{"named template", tmpl("named", `[{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Jessica"}]}]`), 200, 0, ""},
		{"named template wrong name", tmpl("named", `[{"type":"body","parameters":[{"type":"text","parameter_name":"name","text":"Jessica"}]}]`), 400, 132000, "parameter name"},
		{"mark read of a business message", `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.nope"}`, 400, 100, "does not exist"},
		{"not JSON", `{"messaging_product":`, 400, 100, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, out, _ := e.graph(t, "POST", msgsPath(e), c.body)
			if st != c.status || errCode(out) != c.code {
				t.Fatalf("got %d/%d, want %d/%d: %v", st, errCode(out), c.status, c.code, out)
			}
			if c.code == 0 {
				if !strings.HasPrefix(dig(out, "messages", 0, "id").(string), "wamid.") || dig(out, "messages", 0, "message_status") != "accepted" {
					t.Errorf("answer %v", out)
				}
				return
			}
			e := out["error"].(map[string]any)
			if e["fbtrace_id"] == "" || (e["type"] != "OAuthException" && e["type"] != "GraphMethodException") {
				t.Errorf("envelope %v", e)
			}
			if msg, _ := e["message"].(string); c.code != 100 || !strings.Contains(msg, "Object with ID") {
				if !strings.HasPrefix(msg, fmt.Sprintf("(#%d) ", c.code)) {
					t.Errorf("message %q does not start with (#%d)", msg, c.code)
				}
			}
			if got := errDetails(out) + " " + e["message"].(string); !strings.Contains(got, c.text) {
				t.Errorf("error %q does not say %q", got, c.text)
			}
		})
	}
	// Refused sends are attempts, not messages.
	accepted := 0
	for _, a := range e.fake.Attempts() {
		if a.Code == 0 {
			accepted++
		}
	}
	if accepted != len(e.fake.Sent()) {
		t.Errorf("%d accepted attempts, %d sent", accepted, len(e.fake.Sent()))
	}
}

func TestAuth(t *testing.T) {
	e := setup(t, graphfake.Options{})
	other := e.fake.AddNumber(graphfake.Number{})
	body := `{"messaging_product":"whatsapp","to":"16505551234","type":"text","text":{"body":"x"}}`
	for _, c := range []struct {
		name, token       string
		status, code, sub int
	}{
		{"missing", "", 401, 190, 0},
		{"unknown", "EAAGnope", 401, 190, 0},
		{"other number's", other.Token, 400, 100, 33},
	} {
		st, out, h := e.graphToken(t, c.token, "POST", msgsPath(e), body)
		sub, _ := dig(out, "error").(map[string]any)["error_subcode"].(float64)
		if st != c.status || errCode(out) != c.code || int(sub) != c.sub {
			t.Errorf("%s: %d %v", c.name, st, out)
		}
		if c.status == 401 && h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", c.name)
		}
	}
	e.fake.ExpireToken(e.num.Token)
	st, out, _ := e.graph(t, "GET", "/v23.0/"+e.num.ID, nil)
	if st != 401 || errCode(out) != 190 || dig(out, "error", "error_subcode") != float64(463) {
		t.Errorf("expired: %d %v", st, out)
	}
	e.fake.RestoreToken(e.num.Token)
	// access_token as a parameter works too, on any version.
	req, _ := http.NewRequest("GET", e.URL+"/v25.0/"+e.num.ID+"?access_token="+e.num.Token, nil)
	resp, err := e.client.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("facebook-api-version") != "v25.0" {
		t.Errorf("access_token parameter: %v %v", resp.Status, err)
	}
	// Unknown ids and edges.
	if st, out, _ := e.graph(t, "GET", "/v23.0/123456", nil); st != 400 || errCode(out) != 100 || dig(out, "error", "error_subcode") != float64(33) || dig(out, "error", "type") != "GraphMethodException" {
		t.Errorf("unknown id: %d %v", st, out)
	}
	if st, out, _ := e.graph(t, "GET", "/v23.0/"+e.num.ID+"/nothing", nil); st != 400 || errCode(out) != 2500 {
		t.Errorf("unknown edge: %d %v", st, out)
	}
}

func TestNumberInfo(t *testing.T) {
	e := setup(t, graphfake.Options{})
	st, out, h := e.graph(t, "GET", "/v23.0/"+e.num.ID, nil)
	if st != 200 || out["display_phone_number"] != "+1 555-078-3881" || out["verified_name"] != "Lucky Shrub" || out["quality_rating"] != "GREEN" || out["id"] != e.num.ID || out["platform_type"] != "CLOUD_API" {
		t.Errorf("%d %v", st, out)
	}
	if h.Get("x-fb-trace-id") == "" || h.Get("x-fb-request-id") == "" {
		t.Errorf("headers %v", h)
	}
	_, out, _ = e.graph(t, "GET", "/v23.0/"+e.num.ID+"?fields=verified_name,quality_rating", nil)
	if len(out) != 3 || out["id"] != e.num.ID {
		t.Errorf("fields: %v", out)
	}
	_, out, _ = e.graph(t, "GET", "/v23.0/"+e.num.ID+"?fields=nope", nil)
	if errCode(out) != 100 || !strings.Contains(dig(out, "error", "message").(string), "nonexisting field (nope)") {
		t.Errorf("bad field: %v", out)
	}
}

// TestWindow: free-form messages outside the 24-hour window are accepted
// and then failed with 131047 (or refused at once when asked); templates
// go through.
func TestWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{})
		e.fake.AddTemplate("", graphfake.Template{Name: "hello_world", Components: []graphfake.TemplateComponent{{Type: "BODY", Text: "Hello"}}})
		st, out, _ := e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"16505550000","type":"text","text":{"body":"Hi"},"biz_opaque_callback_data":"w1"}`)
		if st != 200 {
			t.Fatal(out)
		}
		id := dig(out, "messages", 0, "id").(string)
		st, _, _ = e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"16505550000","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`)
		if st != 200 {
			t.Fatal("template refused outside the window")
		}
		e.settle(t)
		var failed map[string]any
		for _, s := range e.rc.statuses(t) {
			if s["id"] == id {
				if s["status"] != "failed" {
					t.Errorf("status %v before failing", s["status"])
				}
				failed = s
			}
		}
		if failed == nil || dig(failed, "errors", 0, "code") != float64(131047) || failed["biz_opaque_callback_data"] != "w1" {
			t.Fatalf("failed status: %v", failed)
		}
		m, _ := e.fake.Message(id)
		if m.Status != "failed" {
			t.Errorf("message %v", m.Status)
		}

		sync := setup(t, graphfake.Options{SyncWindowErrors: true})
		st, out, _ = sync.graph(t, "POST", msgsPath(sync), `{"messaging_product":"whatsapp","to":"16505550000","type":"text","text":{"body":"Hi"}}`)
		if st != 400 || errCode(out) != 131047 {
			t.Errorf("sync: %d %v", st, out)
		}
	})
}

func TestUnreachableAndReaction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{IgnoreWindow: true})
		e.fake.Unreachable("+1 650 555 0000")
		_, out, _ := e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"16505550000","type":"text","text":{"body":"Hi"}}`)
		id := dig(out, "messages", 0, "id").(string)
		ann := graphfake.Customer{Name: "Ann", Phone: "16505551234"}
		in, _ := e.fake.Inbound(e.num.ID, ann, graphfake.Text("hello"))
		_, out, _ = e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"16505551234","type":"reaction","reaction":{"message_id":"`+in+`","emoji":"\ud83d\ude00"}}`)
		react := dig(out, "messages", 0, "id").(string)
		_, out, _ = e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"16505551234","type":"reaction","reaction":{"message_id":"wamid.unknown","emoji":"👍"}}`)
		badReact := dig(out, "messages", 0, "id").(string)
		e.settle(t)
		got := map[string][]string{}
		for _, s := range e.rc.statuses(t) {
			st := s["status"].(string)
			if st == "failed" {
				st += fmt.Sprint(dig(s, "errors", 0, "code"))
			}
			got[s["id"].(string)] = append(got[s["id"].(string)], st)
		}
		if fmt.Sprint(got[id]) != "[failed131026]" || fmt.Sprint(got[react]) != "[sent]" || fmt.Sprint(got[badReact]) != "[failed131009]" {
			t.Errorf("statuses: unreachable %v, reaction %v, bad reaction %v", got[id], got[react], got[badReact])
		}
	})
}

// TestMarkReadAndTyping: marking a message read turns it and the earlier
// ones read on the customer's phone; the typing indicator shows until the
// next message.
func TestMarkReadAndTyping(t *testing.T) {
	e := setup(t, graphfake.Options{})
	ann := graphfake.Customer{Name: "Ann", Phone: "16505551234"}
	first, _ := e.fake.Inbound(e.num.ID, ann, graphfake.Text("one"))
	second, _ := e.fake.Inbound(e.num.ID, ann, graphfake.Text("two"))
	third, _ := e.fake.Inbound(e.num.ID, ann, graphfake.Text("three"))
	e.wait(t)
	st, out, _ := e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","status":"read","message_id":"`+second+`","typing_indicator":{"type":"text"}}`)
	if st != 200 || out["success"] != true || len(out) != 1 {
		t.Fatalf("%d %v", st, out)
	}
	chat, _, _ := e.fake.Chat(e.num.ID, ann.Phone)
	status := map[string]string{}
	for _, m := range chat {
		status[m.ID] = m.Status
	}
	if status[first] != "read" || status[second] != "read" || status[third] != "delivered" {
		t.Errorf("statuses %v", status)
	}
	if !e.fake.Typing(e.num.ID, ann.Phone) {
		t.Error("not typing")
	}
	// Recorded as a read mark with the indicator, naming the message.
	at := e.fake.Attempts()
	if a := at[len(at)-1]; !a.Read || !a.Typing || a.Marked != second || a.Status != 200 {
		t.Errorf("attempt %+v", a)
	}
	// Malformed indicators are refused as Meta refuses them, and recorded.
	for _, body := range []string{
		`{"messaging_product":"whatsapp","status":"read","message_id":"` + third + `","typing_indicator":{"type":"audio"}}`,
		`{"messaging_product":"whatsapp","status":"read","message_id":"` + third + `","typing_indicator":"text"}`,
		`{"messaging_product":"whatsapp","status":"read","typing_indicator":{"type":"text"}}`,
		`{"messaging_product":"whatsapp","status":"typing","message_id":"` + third + `","typing_indicator":{"type":"text"}}`,
	} {
		st, out, _ := e.graph(t, "POST", msgsPath(e), body)
		if st != 400 || dig(out, "error", "code") != float64(100) {
			t.Errorf("%s: %d %v", body, st, out)
		}
	}
	at = e.fake.Attempts()
	if a := at[len(at)-1]; a.Status != 400 || a.Code != 100 {
		t.Errorf("refused attempt %+v", a)
	}
	e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"16505551234","text":{"body":"Here"}}`)
	if e.fake.Typing(e.num.ID, ann.Phone) {
		t.Error("still typing after the reply")
	}
	// No webhook comes of a read mark.
	e.wait(t)
	for _, s := range e.rc.statuses(t) {
		if s["id"] == second {
			t.Error("a status webhook for the customer's message")
		}
	}
}

// TestBSUIDRecipient sends to a username user by BSUID.
func TestBSUIDRecipient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{})
		c := e.fake.AddCustomer(graphfake.Customer{Name: "Sheena", Username: "realsheena"})
		e.fake.Inbound(e.num.ID, c, graphfake.Text("hi"))
		st, out, _ := e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","recipient":"`+c.UserID+`","type":"text","text":{"body":"Hello"}}`)
		if st != 200 {
			t.Fatal(out)
		}
		ct := dig(out, "contacts", 0).(map[string]any)
		if ct["input"] != c.UserID || ct["user_id"] != c.UserID || ct["wa_id"] != nil {
			t.Errorf("contacts %v", ct)
		}
		e.settle(t)
		for _, s := range e.rc.statuses(t) {
			if s["recipient_id"] != nil || s["recipient_user_id"] != c.UserID {
				t.Errorf("status %v", s)
			}
		}
		for _, v := range e.rc.values(t) {
			if v["messages"] != nil && (dig(v, "contacts", 0, "profile", "username") != "@realsheena" || dig(v, "contacts", 0).(map[string]any)["wa_id"] != nil) {
				t.Errorf("inbound contacts %v", v["contacts"])
			}
		}
	})
}

// TestLimits: sends beyond the throughput or the pair rate are refused
// and counted as violations.
func TestLimits(t *testing.T) {
	now := time.Unix(1750000000, 0)
	clock := func() time.Time { return now }
	e := setup(t, graphfake.Options{IgnoreWindow: true, Throughput: 5, PairRate: graphfake.PairRate{Every: 6 * time.Second, Burst: 3}, Now: clock})
	send := func(to string) (int, int) {
		st, out, _ := e.graph(t, "POST", msgsPath(e), `{"messaging_product":"whatsapp","to":"`+to+`","text":{"body":"x"}}`)
		return st, errCode(out)
	}
	var codes []int
	for range 4 {
		_, c := send("16505551234")
		codes = append(codes, c)
	}
	if fmt.Sprint(codes) != "[0 0 0 131056]" {
		t.Errorf("pair rate: %v", codes)
	}
	codes = nil
	for i := range 3 {
		_, c := send(fmt.Sprint(16505550000 + i))
		codes = append(codes, c)
	}
	// 4 sends spent 4 of the 5 tokens per second (the refused one too).
	if fmt.Sprint(codes) != "[0 130429 130429]" {
		t.Errorf("throughput: %v", codes)
	}
	v := e.fake.Violations()
	if len(v) != 3 || v[0].Kind != graphfake.ViolationPairRate || v[1].Kind != graphfake.ViolationThroughput {
		t.Errorf("violations %+v", v)
	}
}

// TestInjection: FailNext answers the next calls with the given errors;
// a random rate is repeatable with a seed; Retry-After and the usage
// header come with throttling.
func TestInjection(t *testing.T) {
	e := setup(t, graphfake.Options{IgnoreWindow: true, Seed: 3})
	body := `{"messaging_product":"whatsapp","to":"16505551234","text":{"body":"x"},"biz_opaque_callback_data":"inj"}`
	e.fake.FailNext(graphfake.EndpointMessages, graphfake.ErrAppRateLimit(30*time.Second), graphfake.ErrUnavailable())
	st, out, h := e.graph(t, "POST", msgsPath(e), body)
	if st != 429 || errCode(out) != 4 || h.Get("Retry-After") != "30" || !strings.Contains(h.Get("X-Business-Use-Case-Usage"), `"estimated_time_to_regain_access":15`) || dig(out, "error", "is_transient") != true {
		t.Errorf("first: %d %v %v", st, out, h)
	}
	if st, out, _ := e.graph(t, "POST", msgsPath(e), body); st != 503 || errCode(out) != 2 {
		t.Errorf("second: %d %v", st, out)
	}
	if st, _, _ := e.graph(t, "POST", msgsPath(e), body); st != 200 {
		t.Errorf("third: %d", st)
	}
	if e.fake.Accepted("inj") != 1 || e.fake.Injected() != 2 {
		t.Errorf("accepted %d, injected %d", e.fake.Accepted("inj"), e.fake.Injected())
	}
	// The rate applies to its endpoint only.
	e.fake.SetErrorRate(graphfake.EndpointMessages, 0.2)
	refused := 0
	for i := range 200 {
		st, out, h := e.graph(t, "POST", msgsPath(e), fmt.Sprintf(`{"messaging_product":"whatsapp","to":"16505551234","text":{"body":"x"},"biz_opaque_callback_data":"r%d"}`, i))
		if st != 200 {
			refused++
			if st != 429 && st < 500 {
				t.Errorf("injected status %d %v", st, out)
			}
			if st == 429 && h.Get("Retry-After") != "1" {
				t.Errorf("429 without Retry-After: %v", h)
			}
		}
	}
	if refused < 20 || refused > 60 {
		t.Errorf("%d of 200 refused at a 20%% rate", refused)
	}
	if st, _, _ := e.graph(t, "GET", "/v23.0/"+e.num.ID, nil); st != 200 {
		t.Error("the number endpoint failed too")
	}
	e.fake.ClearErrors()
	if len(e.fake.Duplicates()) != 0 {
		t.Error(e.fake.Duplicates())
	}
	attempts := e.fake.Attempts()
	injected := 0
	for _, a := range attempts {
		if a.Injected {
			injected++
		}
	}
	if injected != refused+2 {
		t.Errorf("%d injected attempts recorded, %d refused", injected, refused+2)
	}
}

func TestSendFormEncoded(t *testing.T) {
	e := setup(t, graphfake.Options{IgnoreWindow: true})
	req, _ := http.NewRequest("POST", e.URL+msgsPath(e), strings.NewReader(`messaging_product=whatsapp&to=16505551234&type=text&text=%7B%22body%22%3A%22hi%22%7D`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+e.num.Token)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.fake.WaitWebhooks(ctx)
}

// TestLostAnswer: the send is carried out but its answer never comes;
// the status webhook says it went.
func TestLostAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{IgnoreWindow: true})
		e.fake.FailNext(graphfake.EndpointMessages, graphfake.LostAnswer())
		req, _ := http.NewRequest("POST", e.URL+msgsPath(e), strings.NewReader(`{"messaging_product":"whatsapp","to":"16505551234","text":{"body":"x"},"biz_opaque_callback_data":"lost-1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.num.Token)
		if resp, err := e.client.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("an answer came: %d", resp.StatusCode)
		}
		if e.fake.Accepted("lost-1") != 1 {
			t.Errorf("accepted %d times", e.fake.Accepted("lost-1"))
		}
		a := e.fake.Attempts()
		if len(a) != 1 || !a[0].Injected || a[0].Status != 0 || a[0].MessageID == "" {
			t.Errorf("attempts %+v", a)
		}
		e.settle(t)
		found := false
		for _, s := range e.rc.statuses(t) {
			if s["biz_opaque_callback_data"] == "lost-1" && s["status"] == "sent" {
				found = true
			}
		}
		if !found {
			t.Error("no sent status for the lost answer's message")
		}
	})
}
