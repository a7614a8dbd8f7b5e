package graphfake_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboardhq/switchboard/internal/graphfake"
)

func TestTemplatePaging(t *testing.T) {
	e := setup(t, graphfake.Options{})
	for i := range 7 {
		e.fake.AddTemplate("", graphfake.Template{Name: fmt.Sprintf("t%d", i), Category: []string{"UTILITY", "MARKETING"}[i%2],
			Components: []graphfake.TemplateComponent{{Type: "BODY", Text: "Hello"}}})
	}
	path := "/v23.0/" + e.num.WABAID + "/message_templates?limit=3&fields=name,status"
	var names []string
	var pages int
	for path != "" {
		st, out, _ := e.graph(t, "GET", path, nil)
		if st != 200 {
			t.Fatalf("%d %v", st, out)
		}
		pages++
		for _, d := range out["data"].([]any) {
			m := d.(map[string]any)
			if len(m) != 3 || m["status"] != "APPROVED" || m["id"] == nil {
				t.Errorf("item %v", m)
			}
			names = append(names, m["name"].(string))
		}
		paging := out["paging"].(map[string]any)
		if paging["cursors"].(map[string]any)["after"] == "" {
			t.Error("no after cursor")
		}
		if pages == 1 && paging["previous"] != nil {
			t.Error("previous on the first page")
		}
		next, _ := paging["next"].(string)
		path = ""
		if next != "" {
			u, _ := url.Parse(next)
			if !strings.HasPrefix(next, e.URL+"/v23.0/"+e.num.WABAID+"/message_templates?") || u.Query().Get("fields") != "name,status" || u.Query().Get("access_token") != e.num.Token {
				t.Errorf("next %s", next)
			}
			path = strings.TrimPrefix(next, e.URL)
		}
	}
	if pages != 3 || fmt.Sprint(names) != "[t0 t1 t2 t3 t4 t5 t6]" {
		t.Errorf("%d pages: %v", pages, names)
	}
	// Going back with before.
	_, out, _ := e.graph(t, "GET", "/v23.0/"+e.num.WABAID+"/message_templates?limit=3&after="+dig(mustGet(t, e, "/v23.0/"+e.num.WABAID+"/message_templates?limit=3"), "paging", "cursors", "after").(string), nil)
	prev := dig(out, "paging", "previous").(string)
	_, back, _ := e.graph(t, "GET", strings.TrimPrefix(prev, e.URL), nil)
	if len(back["data"].([]any)) != 3 || dig(back, "data", 0, "name") != "t0" || dig(back, "paging").(map[string]any)["previous"] != nil {
		t.Errorf("previous page %v", back)
	}
	// Filters; default fields.
	_, out, _ = e.graph(t, "GET", "/v23.0/"+e.num.WABAID+"/message_templates?category=MARKETING", nil)
	if len(out["data"].([]any)) != 3 || out["paging"].(map[string]any)["next"] != nil {
		t.Errorf("filter %v", out)
	}
	first := dig(out, "data", 0).(map[string]any)
	for _, k := range []string{"name", "components", "language", "status", "category", "id"} {
		if _, ok := first[k]; !ok {
			t.Errorf("default fields lack %s: %v", k, first)
		}
	}
	if st, out, _ := e.graph(t, "GET", "/v23.0/"+e.num.WABAID+"/message_templates?status=NOPE", nil); st != 400 || errCode(out) != 100 {
		t.Errorf("bad status filter %d %v", st, out)
	}
	_, out, _ = e.graph(t, "GET", "/v23.0/"+e.num.WABAID+"/message_templates?name=nothing", nil)
	if len(out) != 1 || len(out["data"].([]any)) != 0 {
		t.Errorf("empty list %v", out)
	}
}

func mustGet(t *testing.T, e *env, path string) map[string]any {
	t.Helper()
	st, out, _ := e.graph(t, "GET", path, nil)
	if st != 200 {
		t.Fatalf("GET %s: %d %v", path, st, out)
	}
	return out
}

// TestTemplateLifecycle: created templates are PENDING, then APPROVED or
// REJECTED with the status webhook; pauses and deletes are announced
// too; duplicates are refused.
func TestTemplateLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := setup(t, graphfake.Options{TemplateReview: 10 * time.Millisecond})
		create := func(name, body string) (int, map[string]any) {
			st, out, _ := e.graph(t, "POST", "/v23.0/"+e.num.WABAID+"/message_templates", map[string]any{
				"name": name, "language": "en_US", "category": "UTILITY",
				"components": []any{map[string]any{"type": "BODY", "text": body, "example": map[string]any{"body_text": [][]string{{"Mark", "FALL25"}}}}},
			})
			return st, out
		}
		st, out := create("order_shipped", "Hi {{1}}, order {{2}} shipped.")
		if st != 200 || out["status"] != "PENDING" || out["category"] != "UTILITY" || len(out) != 3 {
			t.Fatalf("create: %d %v", st, out)
		}
		good := out["id"].(string)
		_, out = create("abandoned_cart", "Hello {{1}}{{2}} come back")
		bad := out["id"].(string)
		st, out = create("order_shipped", "Again {{1}} x")
		if st != 400 || errCode(out) != 100 || dig(out, "error", "error_subcode") != float64(2388024) || !strings.Contains(dig(out, "error", "error_user_title").(string), "Already Exists") {
			t.Errorf("duplicate: %d %v", st, out)
		}
		if st, out := create("Bad Name", "x"); st != 400 || errCode(out) != 100 {
			t.Errorf("bad name: %d %v", st, out)
		}
		e.settle(t)
		events := map[string]map[string]any{}
		for _, p := range e.rc.payloads(t) {
			entry := dig(p, "entry", 0).(map[string]any)
			if entry["time"] == nil {
				t.Errorf("template entry without time: %v", entry)
			}
			ch := dig(entry, "changes", 0).(map[string]any)
			if ch["field"] != "message_template_status_update" {
				continue
			}
			v := ch["value"].(map[string]any)
			events[fmt.Sprint(int64(v["message_template_id"].(float64)))] = v
		}
		if v := events[good]; v["event"] != "APPROVED" || v["reason"] != "NONE" || v["message_template_name"] != "order_shipped" || v["message_template_category"] != "UTILITY" {
			t.Errorf("approved: %v", v)
		}
		if v := events[bad]; v["event"] != "REJECTED" || v["reason"] != "INVALID_FORMAT" || !strings.Contains(dig(v, "rejection_info", "reason").(string), "{{1}}{{2}}") {
			t.Errorf("rejected: %v", v)
		}
		if tm, _ := e.fake.TemplateByName("", "order_shipped", "en_US"); tm.Status != "APPROVED" {
			t.Errorf("status %s", tm.Status)
		}

		// A paused template cannot be sent; the webhook says why.
		e.fake.SetTemplateStatus(good, "PAUSED", "NONE")
		e.wait(t)
		ps := e.rc.payloads(t)
		last := dig(ps[len(ps)-1], "entry", 0, "changes", 0, "value").(map[string]any)
		if last["event"] != "PAUSED" || dig(last, "other_info", "title") != "FIRST_PAUSE" {
			t.Errorf("paused: %v", last)
		}
		golden(t, "template_paused.json", mustJSONStable(last, "description"))

		// Edit: back to review.
		st, out, _ = e.graph(t, "POST", "/v23.0/"+good, map[string]any{"components": []any{map[string]any{"type": "BODY", "text": "Hi {{1}}, your order shipped!"}}})
		if st != 200 || out["success"] != true {
			t.Errorf("edit: %d %v", st, out)
		}
		_, one, _ := e.graph(t, "GET", "/v23.0/"+good, nil)
		if one["status"] != "PENDING" || one["name"] != "order_shipped" {
			t.Errorf("after edit: %v", one)
		}

		// Delete: every language of the name.
		e.fake.AddTemplate(e.num.WABAID, graphfake.Template{Name: "order_shipped", Language: "fr", Components: []graphfake.TemplateComponent{{Type: "BODY", Text: "Bonjour"}}})
		st, out, _ = e.graph(t, "DELETE", "/v23.0/"+e.num.WABAID+"/message_templates?name=order_shipped", nil)
		if st != 200 || out["success"] != true {
			t.Errorf("delete: %d %v", st, out)
		}
		if len(e.fake.Templates("")) != 1 {
			t.Errorf("left: %v", e.fake.Templates(""))
		}
		if st, out, _ := e.graph(t, "DELETE", "/v23.0/"+e.num.WABAID+"/message_templates?name=order_shipped", nil); st != 400 || errCode(out) != 100 {
			t.Errorf("delete again: %d %v", st, out)
		}
		e.wait(t)
		ps = e.rc.payloads(t)
		last = dig(ps[len(ps)-1], "entry", 0, "changes", 0, "value").(map[string]any)
		if r, ok := last["reason"]; last["event"] != "DELETED" || !ok || r != nil {
			t.Errorf("deleted event: %v", last)
		}
	})
}

// mustJSONStable encodes v without the keys that carry times.
func mustJSONStable(v map[string]any, drop ...string) []byte {
	walk(v, nil, drop...)
	delete(v, "message_template_id")
	b, _ := graphfake.MetaJSON(v)
	return b
}

// TestTemplateWebhookMatchesReference compares a rejection with §2.10.
func TestTemplateWebhookMatchesReference(t *testing.T) {
	fake, num := reference(t, 1751247548)
	tm, err := fake.AddTemplate(num.WABAID, graphfake.Template{Name: "abandoned_cart", Language: "en", Category: "MARKETING", Status: "PENDING",
		Components: []graphfake.TemplateComponent{{Type: "BODY", Text: "Hi {{1}}{{2}} your cart"}}})
	if err != nil {
		t.Fatal(err)
	}
	fake.RejectTemplate(tm.ID, "INVALID_FORMAT")
	body := lastBody(t, fake)
	got := decode(t, body)
	dig(got, "entry", 0, "changes", 0, "value").(map[string]any)["message_template_id"] = float64(1689556908129835)
	want := `{ "entry": [ { "id": "102290129340398", "time": 1751247548,
    "changes": [ { "field": "message_template_status_update",
      "value": { "event": "REJECTED", "message_template_id": 1689556908129835,
                 "message_template_name": "abandoned_cart", "message_template_language": "en",
                 "reason": "INVALID_FORMAT", "message_template_category": "MARKETING",
                 "rejection_info": { "reason": "Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them.",
                                     "recommendation": "Separate parameters with descriptive text and ensure each parameter is clearly contextualized." } } } ] } ],
  "object": "whatsapp_business_account" }`
	sameJSON(t, "template rejected", got, want)
}

func TestAutomation(t *testing.T) {
	e := setup(t, graphfake.Options{})
	path := "/v23.0/" + e.num.ID + "/conversational_automation"
	ok := map[string]any{"enable_welcome_message": true, "prompts": []string{"Book a flight", "Plan a vacation"},
		"commands": []any{map[string]any{"command_name": "tickets", "command_description": "Book flight tickets"}}}
	if st, out, _ := e.graph(t, "POST", path, ok); st != 200 || out["success"] != true {
		t.Fatalf("%d %v", st, out)
	}
	_, out, _ := e.graph(t, "GET", "/v23.0/"+e.num.ID+"?fields=conversational_automation", nil)
	ca := out["conversational_automation"].(map[string]any)
	if ca["enable_welcome_message"] != true || fmt.Sprint(ca["prompts"]) != "[Book a flight Plan a vacation]" || dig(ca, "commands", 0, "command_name") != "tickets" || out["id"] != e.num.ID {
		t.Errorf("read back: %v", out)
	}
	_, old, _ := e.graph(t, "GET", path, nil)
	if fmt.Sprint(old) != fmt.Sprint(out) {
		t.Errorf("older GET form: %v", old)
	}
	for _, c := range []struct {
		name string
		body map[string]any
		text string
	}{
		{"five prompts", map[string]any{"prompts": []string{"a", "b", "c", "d", "e"}}, "Maximum allowed is 4"},
		{"long prompt", map[string]any{"prompts": []string{strings.Repeat("p", 81)}}, "80 characters"},
		{"emoji", map[string]any{"prompts": []string{"Hi 👋"}}, "Emojis"},
		{"slash in command", map[string]any{"commands": []any{map[string]any{"command_name": "/help", "command_description": "x"}}}, "not valid"},
		{"duplicate command", map[string]any{"commands": []any{map[string]any{"command_name": "a", "command_description": "x"}, map[string]any{"command_name": "A", "command_description": "y"}}}, "unique"},
	} {
		st, out, _ := e.graph(t, "POST", path, c.body)
		if st != 400 || errCode(out) != 100 || !strings.Contains(errDetails(out), c.text) {
			t.Errorf("%s: %d %v", c.name, st, out)
		}
	}
	// Query parameters work as the guide shows them.
	if st, out, _ := e.graph(t, "POST", path+"?prompts="+url.QueryEscape(`["Only one"]`), nil); st != 200 {
		t.Errorf("query form: %d %v", st, out)
	}
	if a := e.fake.Automation(e.num.ID); fmt.Sprint(a.Prompts) != "[Only one]" || !a.EnableWelcomeMessage || len(a.Commands) != 1 {
		t.Errorf("partial update: %+v", a)
	}
}
