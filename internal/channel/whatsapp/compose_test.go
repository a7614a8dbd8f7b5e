package whatsapp

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/problem"
)

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	if err == nil {
		return nil
	}
	p, ok := problem.As(err)
	if !ok || p.Kind != problem.KindInvalid {
		t.Fatalf("want a validation problem, got %v", err)
	}
	return p.Fields
}

func TestInteractiveLimits(t *testing.T) {
	img := &attachment.Attachment{Kind: attachment.Image}
	long := func(n int) string { return strings.Repeat("x", n) }
	buttons := func(titles ...string) []Button {
		var out []Button
		for _, s := range titles {
			out = append(out, Button{Title: s})
		}
		return out
	}
	rows := func(n int) []Row {
		var out []Row
		for i := range n {
			out = append(out, Row{Title: "Row " + itoa(i)})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		in    Interactive
		media *attachment.Attachment
		field string // "" for valid
	}{
		{"three buttons", Interactive{Type: "button", Body: "Pick one", Buttons: buttons("Yes", "No", "Maybe")}, nil, ""},
		{"four buttons", Interactive{Type: "button", Body: "Pick one", Buttons: buttons("A", "B", "C", "D")}, nil, "interactive.buttons"},
		{"no buttons", Interactive{Type: "button", Body: "Pick one"}, nil, "interactive.buttons"},
		{"21-char title", Interactive{Type: "button", Body: "x", Buttons: buttons(long(21))}, nil, "interactive.buttons.0.title"},
		{"20-char title", Interactive{Type: "button", Body: "x", Buttons: buttons(long(20))}, nil, ""},
		{"same titles", Interactive{Type: "button", Body: "x", Buttons: buttons("Yes", "yes")}, nil, "interactive.buttons.1.title"},
		{"empty body", Interactive{Type: "button", Buttons: buttons("Yes")}, nil, "interactive.body"},
		{"long body", Interactive{Type: "button", Body: long(1025), Buttons: buttons("Yes")}, nil, "interactive.body"},
		{"long footer", Interactive{Type: "button", Body: "x", Footer: long(61), Buttons: buttons("Yes")}, nil, "interactive.footer"},
		{"text header", Interactive{Type: "button", Body: "x", Header: &Header{Type: "text", Text: long(60)}, Buttons: buttons("Yes")}, nil, ""},
		{"long header", Interactive{Type: "button", Body: "x", Header: &Header{Type: "text", Text: long(61)}, Buttons: buttons("Yes")}, nil, "interactive.header.text"},
		{"image header", Interactive{Type: "button", Body: "x", Header: &Header{Type: "image"}, Buttons: buttons("Yes")}, img, ""},
		{"image header without file", Interactive{Type: "button", Body: "x", Header: &Header{Type: "image"}, Buttons: buttons("Yes")}, nil, "interactive.header.type"},
		{"video header with image", Interactive{Type: "button", Body: "x", Header: &Header{Type: "video"}, Buttons: buttons("Yes")}, img, "interactive.header.type"},
		{"file without header", Interactive{Type: "button", Body: "x", Buttons: buttons("Yes")}, img, "attachments"},
		{"list", Interactive{Type: "list", Body: "Choose", ListButton: "Options", Sections: []Section{{Rows: rows(10)}}}, nil, ""},
		{"list long body", Interactive{Type: "list", Body: long(4096), ListButton: "Options", Sections: []Section{{Rows: rows(1)}}}, nil, ""},
		{"eleven rows", Interactive{Type: "list", Body: "Choose", ListButton: "Options", Sections: []Section{{Title: "A", Rows: rows(6)}, {Title: "B", Rows: rows(5)}}}, nil, "interactive.sections"},
		{"no list button", Interactive{Type: "list", Body: "Choose", Sections: []Section{{Rows: rows(1)}}}, nil, "interactive.list_button"},
		{"long list button", Interactive{Type: "list", Body: "Choose", ListButton: long(21), Sections: []Section{{Rows: rows(1)}}}, nil, "interactive.list_button"},
		{"long row title", Interactive{Type: "list", Body: "Choose", ListButton: "Go", Sections: []Section{{Rows: []Row{{Title: long(25)}}}}}, nil, "interactive.sections.0.rows.0.title"},
		{"long row description", Interactive{Type: "list", Body: "Choose", ListButton: "Go", Sections: []Section{{Rows: []Row{{Title: "a", Description: long(73)}}}}}, nil, "interactive.sections.0.rows.0.description"},
		{"untitled sections", Interactive{Type: "list", Body: "Choose", ListButton: "Go", Sections: []Section{{Rows: rows(1)}, {Rows: rows(1)}}}, nil, "interactive.sections.0.title"},
		{"list image header", Interactive{Type: "list", Body: "Choose", ListButton: "Go", Header: &Header{Type: "image"}, Sections: []Section{{Rows: rows(1)}}}, img, "interactive.header.type"},
		{"eleven sections", Interactive{Type: "list", Body: "Choose", ListButton: "Go", Sections: make([]Section, 11)}, nil, "interactive.sections"},
		{"link", Interactive{Type: "cta_url", Body: "See dates", DisplayText: "See Dates", URL: "https://www.luckyshrub.com?clickID=kqDG"}, nil, ""},
		{"link without url", Interactive{Type: "cta_url", Body: "See dates", DisplayText: "See Dates", URL: "javascript:alert(1)"}, nil, "interactive.url"},
		{"link long text", Interactive{Type: "cta_url", Body: "See dates", DisplayText: long(21), URL: "https://x.example"}, nil, "interactive.display_text"},
		{"unknown type", Interactive{Type: "carousel", Body: "x"}, nil, "interactive.type"},
	} {
		err := tc.in.Validate(tc.media)
		f := fieldsOf(t, err)
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, f)
		case tc.field != "" && f[tc.field] == "":
			t.Errorf("%s: want a message for %s, got %v", tc.name, tc.field, f)
		}
	}
}

func TestInteractiveWire(t *testing.T) {
	in := Interactive{Type: "button", Body: "Hi Pablo!", Footer: "Lucky Shrub", Header: &Header{Type: "image"}, Buttons: []Button{{ID: "change-button", Title: "Change"}, {Title: "Cancel"}}}
	if err := in.Validate(&attachment.Attachment{Kind: attachment.Image}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in.wire("2762702990552401"))
	want := `{"type":"button","header":{"type":"image","image":{"id":"2762702990552401"}},"body":{"text":"Hi Pablo!"},"footer":{"text":"Lucky Shrub"},"action":{"buttons":[{"type":"reply","reply":{"id":"change-button","title":"Change"}},{"type":"reply","reply":{"id":"cancel-2","title":"Cancel"}}]}}`
	if string(b) != want {
		t.Errorf("wire:\n got %s\nwant %s", b, want)
	}
	l := Interactive{Type: "list", Body: "Which?", ListButton: "Shipping Options", Sections: []Section{{Title: "ASAP", Rows: []Row{{ID: "priority_express", Title: "Priority Mail Express", Description: "Next Day"}}}}}
	b, _ = json.Marshal(l.wire(""))
	want = `{"type":"list","body":{"text":"Which?"},"action":{"button":"Shipping Options","sections":[{"title":"ASAP","rows":[{"id":"priority_express","title":"Priority Mail Express","description":"Next Day"}]}]}}`
	if string(b) != want {
		t.Errorf("list wire:\n got %s\nwant %s", b, want)
	}
	c := Interactive{Type: "cta_url", Body: "Tap", DisplayText: "See Dates", URL: "https://www.luckyshrub.com"}
	b, _ = json.Marshal(c.wire(""))
	want = `{"type":"cta_url","body":{"text":"Tap"},"action":{"name":"cta_url","parameters":{"display_text":"See Dates","url":"https://www.luckyshrub.com"}}}`
	if string(b) != want {
		t.Errorf("cta wire:\n got %s\nwant %s", b, want)
	}
}

func testTemplate(format string) *Template {
	t := &Template{Name: "order_update", Language: "en_US", Status: StatusApproved, Category: "UTILITY", ParameterFormat: format}
	body := `{"type":"BODY","text":"Hi {{1}}, your order {{2}} ships {{1}}.","example":{"body_text":[["Pablo","#123"]]}}`
	header := `{"type":"HEADER","format":"TEXT","text":"Order {{1}}","example":{"header_text":["#123"]}}`
	if format == FormatNamed {
		body = `{"type":"BODY","text":"Hi {{first_name}}, use code {{code}}.","example":{"body_text_named_params":[{"param_name":"first_name","example":"Jessica"},{"param_name":"code","example":"FALL25"}]}}`
		header = `{"type":"HEADER","format":"IMAGE","example":{"header_handle":["x"]}}`
	}
	json.Unmarshal([]byte(`[`+header+`,`+body+`,{"type":"FOOTER","text":"Lucky Shrub"},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop"},{"type":"URL","text":"Track","url":"https://shop.example/track/{{1}}","example":["https://shop.example/track/abc"]}]}]`), &t.Components)
	t.fillParams()
	return t
}

func TestTemplatePreflight(t *testing.T) {
	tpl := testTemplate("POSITIONAL")
	var keys []string
	for _, p := range tpl.Params {
		keys = append(keys, p.Key)
	}
	if strings.Join(keys, " ") != "header.1 body.1 body.2 button.1" || tpl.Params[1].Example != "Pablo" {
		t.Fatalf("params: %+v", tpl.Params)
	}
	u, err := tpl.Use(map[string]string{"header.1": "#9", "body.1": "Ana", "body.2": "#9", "button.1": "abc9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.Header != "Order #9" || u.Body != "Hi Ana, your order #9 ships Ana." || u.Footer != "Lucky Shrub" || len(u.Buttons) != 2 {
		t.Errorf("rendered: %+v", u)
	}
	b, _ := json.Marshal(u.wire(tpl, ""))
	want := `{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"header","parameters":[{"type":"text","text":"#9"}]},{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"#9"}]},{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"abc9"}]}]}`
	if string(b) != want {
		t.Errorf("wire:\n got %s\nwant %s", b, want)
	}
	for _, tc := range []struct {
		name   string
		values map[string]string
		field  string
	}{
		{"missing", map[string]string{"header.1": "#9", "body.1": "Ana", "button.1": "x"}, "template.params.body.2"},
		{"blank", map[string]string{"header.1": "#9", "body.1": "  ", "body.2": "x", "button.1": "x"}, "template.params.body.1"},
		{"new line", map[string]string{"header.1": "#9", "body.1": "a\nb", "body.2": "x", "button.1": "x"}, "template.params.body.1"},
		{"five spaces", map[string]string{"header.1": "#9", "body.1": "a     b", "body.2": "x", "button.1": "x"}, "template.params.body.1"},
		{"unknown", map[string]string{"header.1": "#9", "body.1": "a", "body.2": "x", "button.1": "x", "body.3": "y"}, "template.params.body.3"},
		{"header too long", map[string]string{"header.1": strings.Repeat("h", 55), "body.1": "a", "body.2": "x", "button.1": "x"}, "template.params"},
		{"body too long", map[string]string{"header.1": "#", "body.1": strings.Repeat("b", 600), "body.2": "x", "button.1": "x"}, "template.params"},
		{"url suffix with spaces", map[string]string{"header.1": "#", "body.1": "a", "body.2": "x", "button.1": "a b"}, "template.params.button.1"},
		{"attachment without media header", map[string]string{"header.1": "#", "body.1": "a", "body.2": "x", "button.1": "x"}, "attachments"},
	} {
		var media *attachment.Attachment
		if tc.field == "attachments" {
			media = &attachment.Attachment{Kind: attachment.Image}
		}
		_, err := tpl.Use(tc.values, media)
		if f := fieldsOf(t, err); f[tc.field] == "" {
			t.Errorf("%s: want a message for %s, got %v", tc.name, tc.field, f)
		}
	}
	tpl.Status = "PAUSED"
	if f := fieldsOf(t, func() error { _, err := tpl.Use(nil, nil); return err }()); !strings.Contains(f["template.name"], "approved") {
		t.Errorf("paused template: %v", f)
	}

	named := testTemplate(FormatNamed)
	if _, err := named.Use(map[string]string{"body.first_name": "Jess", "body.code": "X1", "button.1": "z"}, nil); fieldsOf(t, err)["attachments"] == "" {
		t.Errorf("a media header needs an attachment: %v", err)
	}
	u, err = named.Use(map[string]string{"body.first_name": "Jess", "body.code": "X1", "button.1": "z"}, &attachment.Attachment{Kind: attachment.Image})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(u.wire(named, "55"))
	want = `{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"header","parameters":[{"type":"image","image":{"id":"55"}}]},{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Jess"},{"type":"text","parameter_name":"code","text":"X1"}]},{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"z"}]}]}`
	if string(b) != want {
		t.Errorf("named wire:\n got %s\nwant %s", b, want)
	}
}

func TestEmoji(t *testing.T) {
	for s, want := range map[string]bool{
		"Track my order":                       false,
		"¿Dónde está mi pedido?":               false,
		"Ceci n'est pas un emoji: © ® ™ → ✓ €": false,
		"Hi 👋":         true,
		"❤":            true, // U+2764, text presentation, still an emoji
		"Great!!! ‼":   true,
		"©️":           true, // with U+FE0F
		"1️⃣ first":    true,
		"🇪🇸":           true,
		"🫩 (Emoji 16)": true,
		"☕ coffee":     true,
		"中文问题":         false,
	} {
		if got := HasEmoji(s); got != want {
			t.Errorf("HasEmoji(%q) = %v, want %v", s, got, want)
		}
	}
}
