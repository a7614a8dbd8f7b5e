package whatsapp

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Template is a message template of a number's business account. Only
// APPROVED templates can be sent; Params are what an agent fills in.
type Template struct {
	ID              int64               `json:"id"`
	InboxID         int64               `json:"inbox_id"`
	MetaID          string              `json:"meta_id"`
	Name            string              `json:"name"`
	Language        string              `json:"language"`
	Status          string              `json:"status"`
	Category        string              `json:"category"`
	ParameterFormat string              `json:"parameter_format"`
	Components      []TemplateComponent `json:"components"`
	Quality         string              `json:"quality,omitempty"`
	// Reason is why Meta rejected or paused it.
	Reason    string    `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	Params    []Param   `json:"params"`
}

// TemplateComponent is a part of a template as Meta defines it.
type TemplateComponent struct {
	// Type is HEADER, BODY, FOOTER or BUTTONS.
	Type string `json:"type"`
	// Format is a header's: TEXT, IMAGE, VIDEO, GIF, DOCUMENT or LOCATION.
	Format  string           `json:"format,omitempty"`
	Text    string           `json:"text,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
	Example json.RawMessage  `json:"example,omitempty"`
}

// TemplateButton is a button of a template.
type TemplateButton struct {
	// Type is QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW…
	Type        string          `json:"type"`
	Text        string          `json:"text,omitempty"`
	URL         string          `json:"url,omitempty"`
	PhoneNumber string          `json:"phone_number,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
}

// Param is a value an agent gives when sending a template.
type Param struct {
	// Key names it in a send's params: header.1, body.1, body.first_name,
	// button.0 (a link's suffix or a coupon code), header.latitude…
	Key     string `json:"key"`
	Label   string `json:"label"`
	Example string `json:"example,omitempty"`
	Max     int    `json:"max,omitempty"`
}

// TemplateUse is a template an agent sent, as stored with the message:
// the values given, and the texts as the customer reads them.
type TemplateUse struct {
	Name     string            `json:"name"`
	Language string            `json:"language"`
	Category string            `json:"category,omitempty"`
	Format   string            `json:"format,omitempty"`
	Params   map[string]string `json:"params,omitempty"`
	// HeaderMedia is image, video or document when the header is the
	// message's attachment.
	HeaderMedia string   `json:"header_media,omitempty"`
	Header      string   `json:"header,omitempty"`
	Body        string   `json:"body"`
	Footer      string   `json:"footer,omitempty"`
	Buttons     []string `json:"buttons,omitempty"`
}

// TemplateSend is an agent's choice of template and its values.
type TemplateSend struct {
	Name     string            `json:"name"`
	Language string            `json:"language"`
	Params   map[string]string `json:"params,omitempty"`
}

// Template statuses (only APPROVED can be sent).
const (
	StatusApproved = "APPROVED"
	FormatNamed    = "NAMED"
)

var variable = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// variables lists the distinct variables of a text, in order of first use.
func variables(text string) []string {
	var out []string
	for _, m := range variable.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// render fills a text's variables.
func render(text string, value func(name string) string) string {
	return variable.ReplaceAllStringFunc(text, func(m string) string {
		return value(variable.FindStringSubmatch(m)[1])
	})
}

// examples reads the example values Meta keeps for a component.
func (c *TemplateComponent) examples() map[string]string {
	out := map[string]string{}
	var ex struct {
		HeaderText  []string   `json:"header_text"`
		BodyText    [][]string `json:"body_text"`
		HeaderNamed []struct {
			Name    string `json:"param_name"`
			Example string `json:"example"`
		} `json:"header_text_named_params"`
		BodyNamed []struct {
			Name    string `json:"param_name"`
			Example string `json:"example"`
		} `json:"body_text_named_params"`
	}
	if len(c.Example) == 0 || json.Unmarshal(c.Example, &ex) != nil {
		return out
	}
	for i, v := range ex.HeaderText {
		out[strconv.Itoa(i+1)] = v
	}
	if len(ex.BodyText) > 0 {
		for i, v := range ex.BodyText[0] {
			out[strconv.Itoa(i+1)] = v
		}
	}
	for _, p := range append(ex.HeaderNamed, ex.BodyNamed...) {
		out[p.Name] = p.Example
	}
	return out
}

func buttonExample(raw json.RawMessage) string {
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return list[0]
	}
	var one string
	json.Unmarshal(raw, &one)
	return one
}

// component returns the template's component of a type.
func (t *Template) component(typ string) *TemplateComponent {
	for i := range t.Components {
		if strings.EqualFold(t.Components[i].Type, typ) {
			return &t.Components[i]
		}
	}
	return nil
}

// fillParams lists what an agent fills in to send the template.
func (t *Template) fillParams() {
	t.Params = []Param{}
	if h := t.component("HEADER"); h != nil {
		switch strings.ToUpper(h.Format) {
		case "", "TEXT":
			ex := h.examples()
			for _, v := range variables(h.Text) {
				t.Params = append(t.Params, Param{Key: "header." + v, Label: "Header {{" + v + "}}", Example: ex[v], Max: MaxHeaderText})
			}
		case "LOCATION":
			t.Params = append(t.Params,
				Param{Key: "header.latitude", Label: "Latitude", Example: "37.4847"},
				Param{Key: "header.longitude", Label: "Longitude", Example: "-122.1472"},
				Param{Key: "header.name", Label: "Place name", Max: 1000},
				Param{Key: "header.address", Label: "Place address", Max: 1000})
		}
	}
	if b := t.component("BODY"); b != nil {
		ex := b.examples()
		for _, v := range variables(b.Text) {
			t.Params = append(t.Params, Param{Key: "body." + v, Label: "Body {{" + v + "}}", Example: ex[v], Max: MaxBody})
		}
	}
	if bs := t.component("BUTTONS"); bs != nil {
		for i, b := range bs.Buttons {
			switch strings.ToUpper(b.Type) {
			case "URL":
				if len(variables(b.URL)) > 0 {
					t.Params = append(t.Params, Param{Key: "button." + strconv.Itoa(i), Label: "Link of “" + b.Text + "”: " + b.URL, Example: buttonExample(b.Example), Max: 2000})
				}
			case "COPY_CODE":
				t.Params = append(t.Params, Param{Key: "button." + strconv.Itoa(i), Label: "Coupon code", Example: buttonExample(b.Example), Max: 15})
			}
		}
	}
}

// ParamLabels are the words fillParams labels values with, for the
// catalogs of the interface (the labels are translated where shown).
func ParamLabels() []string {
	return []string{"Header {{%s}}", "Latitude", "Longitude", "Place name", "Place address", "Body {{%s}}", "Link of “%s”: %s", "Coupon code"}
}

// HeaderMedia is the kind of file the template's header shows (image,
// video, document), or "".
func (t *Template) HeaderMedia() string {
	if h := t.component("HEADER"); h != nil {
		switch strings.ToUpper(h.Format) {
		case "IMAGE", "GIF":
			return "image"
		case "VIDEO":
			return "video"
		case "DOCUMENT":
			return "document"
		}
	}
	return ""
}

// Use checks an agent's values against the template before Meta would
// refuse them (132000 wrong parameter count, 132005 text too long, 132018
// new lines in a parameter…), with a message per value, and returns what
// is sent. media is the message's attachment (for a media header).
func (t *Template) Use(values map[string]string, media *attachment.Attachment) (TemplateUse, error) {
	f := problem.Fields{}
	if t.Status != StatusApproved {
		msg := "Only approved templates can be sent; this one is " + strings.ToLower(strings.ReplaceAll(t.Status, "_", " ")) + "."
		if t.Reason != "" && t.Reason != "NONE" {
			msg += " Meta says: " + t.Reason
		}
		f.Add("template.name", "%s", msg)
		return TemplateUse{}, f.Err()
	}
	if t.Params == nil {
		t.fillParams()
	}
	u := TemplateUse{Name: t.Name, Language: t.Language, Category: t.Category, Format: t.ParameterFormat, Params: map[string]string{}}
	known := map[string]bool{}
	for _, p := range t.Params {
		known[p.Key] = true
		field := "template.params." + p.Key
		v := strings.TrimSpace(values[p.Key])
		switch {
		case v == "":
			f.Add(field, "Fill in this value.")
			continue
		case p.Max > 0 && runes(v) > p.Max:
			f.Add(field, "This value has at most %d characters (this one has %d).", p.Max, runes(v))
		}
		switch {
		case strings.HasPrefix(p.Key, "body.") || strings.HasPrefix(p.Key, "header."):
			if strings.ContainsAny(v, "\n\t") || strings.Contains(v, "     ") {
				f.Add(field, "A value cannot have line breaks, tabs or more than four spaces in a row.")
			}
		case strings.HasPrefix(p.Key, "button."):
			if strings.ContainsAny(v, " \n\t") {
				f.Add(field, "This value cannot contain spaces.")
			}
		}
		if p.Key == "header.latitude" || p.Key == "header.longitude" {
			if x, err := strconv.ParseFloat(v, 64); err != nil || x < -180 || x > 180 || (p.Key == "header.latitude" && (x < -90 || x > 90)) {
				if p.Key == "header.latitude" {
					f.Add(field, "Enter a latitude in degrees, like 37.4847.")
				} else {
					f.Add(field, "Enter a longitude in degrees, like -122.1472.")
				}
			}
		}
		u.Params[p.Key] = v
	}
	for k := range values {
		if !known[k] && strings.TrimSpace(values[k]) != "" {
			f.Add("template.params."+k, "This template has no value %s.", k)
		}
	}
	if hm := t.HeaderMedia(); hm != "" {
		switch {
		case media == nil:
			f.Add("attachments", "%s", mediaMessages(hm)[0])
		case string(media.Kind) != hm:
			f.Add("attachments", "%s", mediaMessages(hm)[1])
		}
		u.HeaderMedia = hm
	} else if media != nil {
		f.Add("attachments", "This template has no image, video or document header: remove the attachment.")
	}
	value := func(prefix string) func(string) string {
		return func(name string) string { return u.Params[prefix+name] }
	}
	if h := t.component("HEADER"); h != nil && (h.Format == "" || strings.EqualFold(h.Format, "TEXT")) {
		u.Header = render(h.Text, value("header."))
		if runes(u.Header) > MaxHeaderText {
			f.Add("template.params", "With these values the header has %d characters; Meta allows %d.", runes(u.Header), MaxHeaderText)
		}
	}
	if b := t.component("BODY"); b != nil {
		u.Body = render(b.Text, value("body."))
		if runes(u.Body) > MaxBody {
			f.Add("template.params", "With these values the text has %d characters; Meta allows %d.", runes(u.Body), MaxBody)
		}
	}
	if ft := t.component("FOOTER"); ft != nil {
		u.Footer = ft.Text
	}
	if bs := t.component("BUTTONS"); bs != nil {
		for _, b := range bs.Buttons {
			u.Buttons = append(u.Buttons, b.Text)
		}
	}
	return u, f.Err()
}

// wire builds the Graph form of a template send; mediaID is the uploaded
// header file, when the header shows one.
func (u *TemplateUse) wire(t *Template, mediaID string) *TemplateBody {
	b := &TemplateBody{Name: u.Name}
	b.Language.Code = u.Language
	named := strings.EqualFold(u.Format, FormatNamed)
	textParams := func(typ, text string) {
		vars := variables(text)
		if len(vars) == 0 {
			return
		}
		c := ComponentBody{Type: typ}
		for _, v := range vars {
			p := ParameterBody{Type: "text", Text: u.Params[typ+"."+v]}
			if named {
				p.ParameterName = v
			}
			c.Parameters = append(c.Parameters, p)
		}
		b.Components = append(b.Components, c)
	}
	if h := t.component("HEADER"); h != nil {
		switch strings.ToUpper(h.Format) {
		case "", "TEXT":
			textParams("header", h.Text)
		case "IMAGE", "GIF":
			b.Components = append(b.Components, ComponentBody{Type: "header", Parameters: []ParameterBody{{Type: "image", Image: &MediaBody{ID: mediaID}}}})
		case "VIDEO":
			b.Components = append(b.Components, ComponentBody{Type: "header", Parameters: []ParameterBody{{Type: "video", Video: &MediaBody{ID: mediaID}}}})
		case "DOCUMENT":
			b.Components = append(b.Components, ComponentBody{Type: "header", Parameters: []ParameterBody{{Type: "document", Document: &MediaBody{ID: mediaID}}}})
		case "LOCATION":
			lat, _ := strconv.ParseFloat(u.Params["header.latitude"], 64)
			lng, _ := strconv.ParseFloat(u.Params["header.longitude"], 64)
			b.Components = append(b.Components, ComponentBody{Type: "header", Parameters: []ParameterBody{{Type: "location",
				Location: &Location{Latitude: lat, Longitude: lng, Name: u.Params["header.name"], Address: u.Params["header.address"]}}}})
		}
	}
	if bd := t.component("BODY"); bd != nil {
		textParams("body", bd.Text)
	}
	if bs := t.component("BUTTONS"); bs != nil {
		for i, btn := range bs.Buttons {
			v, ok := u.Params["button."+strconv.Itoa(i)]
			if !ok {
				continue
			}
			switch strings.ToUpper(btn.Type) {
			case "URL":
				b.Components = append(b.Components, ComponentBody{Type: "button", SubType: "url", Index: strconv.Itoa(i), Parameters: []ParameterBody{{Type: "text", Text: v}}})
			case "COPY_CODE":
				b.Components = append(b.Components, ComponentBody{Type: "button", SubType: "copy_code", Index: strconv.Itoa(i), Parameters: []ParameterBody{{Type: "coupon_code", CouponCode: v}}})
			}
		}
	}
	return b
}
