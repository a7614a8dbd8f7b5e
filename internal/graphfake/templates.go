package graphfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Template is a message template of a WhatsApp Business Account.
type Template struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category"` // MARKETING, UTILITY, AUTHENTICATION
	// Status: APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …; only
	// APPROVED templates can be sent.
	Status          string              `json:"status"`
	ParameterFormat string              `json:"parameter_format,omitempty"` // POSITIONAL (default) or NAMED
	Components      []TemplateComponent `json:"components"`
	RejectedReason  string              `json:"rejected_reason,omitempty"`
	WABAID          string              `json:"-"`

	seq int64 // creation order, for paging
}

// TemplateComponent is a template's HEADER, BODY, FOOTER or BUTTONS.
type TemplateComponent struct {
	Type    string           `json:"type"`
	Format  string           `json:"format,omitempty"` // HEADER: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
	Text    string           `json:"text,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
	Example json.RawMessage  `json:"example,omitempty"`
}

// TemplateButton is one of a template's buttons.
type TemplateButton struct {
	Type        string          `json:"type"` // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, …
	Text        string          `json:"text"`
	URL         string          `json:"url,omitempty"`
	PhoneNumber string          `json:"phone_number,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
}

var (
	templateNameRE = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	positionalRE   = regexp.MustCompile(`\{\{(\d+)\}\}`)
	namedRE        = regexp.MustCompile(`\{\{([a-z_][a-z0-9_]*)\}\}`)
	anyParamRE     = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	adjacentRE     = regexp.MustCompile(`\}\}\s*\{\{`)
)

// params returns the parameter names in text ("1", "2" or names), each
// once, in order of first appearance.
func templateParams(text, format string) []string {
	re := positionalRE
	if format == "NAMED" {
		re = namedRE
	}
	var out []string
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

func (t *Template) component(typ string) *TemplateComponent {
	for i := range t.Components {
		if strings.EqualFold(t.Components[i].Type, typ) {
			return &t.Components[i]
		}
	}
	return nil
}

func cloneTemplate(t *Template) *Template {
	c := *t
	c.Components = slices.Clone(t.Components)
	for i := range c.Components {
		c.Components[i].Buttons = slices.Clone(c.Components[i].Buttons)
	}
	return &c
}

// AddTemplate adds a template to an account (the default account when
// wabaID is empty) without review or webhook: Status defaults to
// APPROVED, Language to en_US, Category to UTILITY.
func (f *Fake) AddTemplate(wabaID string, t Template) (Template, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if wabaID == "" {
		wabaID = f.defaultWABA
	}
	if _, ok := f.wabas[wabaID]; !ok {
		f.wabas[wabaID] = &waba{id: wabaID, name: "Test Business"}
	}
	if t.Language == "" {
		t.Language = "en_US"
	}
	if t.Category == "" {
		t.Category = "UTILITY"
	}
	if t.Status == "" {
		t.Status = "APPROVED"
	}
	if e := validateTemplate(&t); e != nil {
		return Template{}, e
	}
	for _, x := range f.templates {
		if x.WABAID == wabaID && x.Name == t.Name && x.Language == t.Language {
			return Template{}, fmt.Errorf("graphfake: template %s (%s) exists", t.Name, t.Language)
		}
	}
	t.ID = f.digits(16)
	t.WABAID = wabaID
	t.seq = f.nextSeq()
	f.templates[t.ID] = cloneTemplate(&t)
	return t, nil
}

func (f *Fake) nextSeq() int64 {
	var n int64
	for _, t := range f.templates {
		n = max(n, t.seq)
	}
	return n + 1
}

// Templates returns an account's templates in creation order (the
// default account when wabaID is empty).
func (f *Fake) Templates(wabaID string) []Template {
	f.mu.Lock()
	defer f.mu.Unlock()
	if wabaID == "" {
		wabaID = f.defaultWABA
	}
	return f.templatesOf(wabaID)
}

// templatesOf lists an account's templates by creation. f.mu is held.
func (f *Fake) templatesOf(wabaID string) []Template {
	var out []Template
	for _, t := range f.templates {
		if t.WABAID == wabaID {
			out = append(out, *cloneTemplate(t))
		}
	}
	slices.SortFunc(out, func(a, b Template) int { return int(a.seq - b.seq) })
	return out
}

// TemplateByName finds a template of an account by name and language.
func (f *Fake) TemplateByName(wabaID, name, language string) (Template, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if wabaID == "" {
		wabaID = f.defaultWABA
	}
	for _, t := range f.templates {
		if t.WABAID == wabaID && t.Name == name && t.Language == language {
			return *cloneTemplate(t), true
		}
	}
	return Template{}, false
}

// templateError is the shape of Meta's template-management errors.
func templateError(subcode int, title, msg string) *Error {
	f := false
	return &Error{Message: "Invalid parameter", Type: "OAuthException", Code: 100, Subcode: subcode, IsTransient: &f,
		UserTitle: title, UserMsg: msg, HTTPStatus: 400}
}

// validateTemplate checks a template's structure (§5.3).
func validateTemplate(t *Template) *Error {
	if !templateNameRE.MatchString(t.Name) {
		return templateError(0, "Invalid template name", "Template names may only contain lowercase letters, numbers and underscores.")
	}
	if t.Language == "" {
		return requiredParam("language")
	}
	switch t.Category {
	case "MARKETING", "UTILITY", "AUTHENTICATION":
	default:
		return invalidParam("Param category must be one of {UTILITY, MARKETING, AUTHENTICATION} - got %q.", t.Category)
	}
	switch t.ParameterFormat {
	case "", "POSITIONAL", "NAMED":
	default:
		return invalidParam("Param parameter_format must be one of {POSITIONAL, NAMED} - got %q.", t.ParameterFormat)
	}
	counts := map[string]int{}
	for i := range t.Components {
		c := &t.Components[i]
		c.Type = strings.ToUpper(c.Type)
		c.Format = strings.ToUpper(c.Format)
		counts[c.Type]++
		switch c.Type {
		case "HEADER":
			switch c.Format {
			case "TEXT":
				if c.Text == "" || utf8.RuneCountInString(c.Text) > 60 {
					return templateError(0, "Invalid header", "A text header needs 1 to 60 characters.")
				}
				if len(anyParamRE.FindAllString(c.Text, -1)) > 1 {
					return templateError(0, "Too many variables in the header", "A header may have at most one variable.")
				}
			case "IMAGE", "VIDEO", "DOCUMENT", "GIF", "LOCATION":
			default:
				return invalidParam("Param components[%d]['format'] must be one of {TEXT, IMAGE, VIDEO, GIF, DOCUMENT, LOCATION} - got %q.", i, c.Format)
			}
		case "BODY":
			if strings.TrimSpace(c.Text) == "" {
				return requiredParam(fmt.Sprintf("components[%d]['text']", i))
			}
			if utf8.RuneCountInString(c.Text) > 1024 {
				return templateError(0, "Body text too long", "The body has more than 1024 characters.")
			}
		case "FOOTER":
			if c.Text == "" || utf8.RuneCountInString(c.Text) > 60 {
				return templateError(0, "Invalid footer", "A footer needs 1 to 60 characters.")
			}
			if anyParamRE.MatchString(c.Text) {
				return templateError(0, "Variables in the footer", "A footer cannot have variables.")
			}
		case "BUTTONS":
			if len(c.Buttons) == 0 || len(c.Buttons) > 10 {
				return templateError(0, "Invalid buttons", "A template has 1 to 10 buttons.")
			}
			urls := 0
			for j := range c.Buttons {
				b := &c.Buttons[j]
				b.Type = strings.ToUpper(b.Type)
				if b.Text == "" || utf8.RuneCountInString(b.Text) > 25 {
					return templateError(0, "Invalid button text", "Button text needs 1 to 25 characters.")
				}
				switch b.Type {
				case "QUICK_REPLY", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM", "REQUEST_CONTACT_INFO":
				case "URL":
					urls++
					if !strings.HasPrefix(b.URL, "https://") && !strings.HasPrefix(b.URL, "http://") {
						return templateError(0, "Invalid URL", "A URL button needs an http(s) URL.")
					}
				default:
					return invalidParam("Param components[%d]['buttons'][%d]['type'] is not a valid button type - got %q.", i, j, b.Type)
				}
			}
			if urls > 2 {
				return templateError(0, "Too many URL buttons", "A template has at most 2 URL buttons.")
			}
		default:
			return invalidParam("Param components[%d]['type'] must be one of {HEADER, BODY, FOOTER, BUTTONS} - got %q.", i, c.Type)
		}
	}
	if counts["BODY"] != 1 {
		return templateError(0, "Body is required", "A template has exactly one BODY component.")
	}
	for _, typ := range []string{"HEADER", "FOOTER", "BUTTONS"} {
		if counts[typ] > 1 {
			return templateError(0, "Duplicate component", fmt.Sprintf("A template has at most one %s component.", typ))
		}
	}
	return nil
}

// formatProblem returns why Meta would reject a template's body as
// INVALID_FORMAT (adjacent variables, or one at the start or end), or "".
func formatProblem(t *Template) string {
	b := t.component("BODY")
	if b == nil {
		return ""
	}
	text := strings.TrimSpace(b.Text)
	switch {
	case adjacentRE.MatchString(text):
		return "Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them."
	case strings.HasPrefix(text, "{{") || strings.HasSuffix(text, "}}"):
		return "Your template's body starts or ends with a parameter."
	}
	return ""
}

// reviewVerdict is how the fake's review decides a template: a format
// problem is INVALID_FORMAT, as Meta rejects them; anything else is
// approved.
func reviewVerdict(t *Template) (string, string) {
	if formatProblem(t) != "" {
		return "REJECTED", "INVALID_FORMAT"
	}
	return "APPROVED", "NONE"
}

// createTemplate answers POST /{waba-id}/message_templates.
func (c *call) createTemplate() (any, *Error) {
	p, e := c.params()
	if e != nil {
		return nil, e
	}
	var t Template
	str := func(k string) string {
		var s string
		json.Unmarshal(p[k], &s)
		return s
	}
	t.Name, t.Language, t.Category, t.ParameterFormat = str("name"), str("language"), strings.ToUpper(str("category")), strings.ToUpper(str("parameter_format"))
	for _, k := range []string{"name", "language", "category", "components"} {
		if _, ok := p[k]; !ok {
			return nil, requiredParam(k)
		}
	}
	if err := json.Unmarshal(p["components"], &t.Components); err != nil {
		return nil, invalidParam("Param components must be an array of objects")
	}
	if e := validateTemplate(&t); e != nil {
		return nil, e
	}
	f := c.f
	f.mu.Lock()
	for _, x := range f.templates {
		if x.WABAID == c.waba.id && x.Name == t.Name && x.Language == t.Language {
			f.mu.Unlock()
			return nil, templateError(2388024, "Content in This Language Already Exists",
				fmt.Sprintf("There is already %s content for this template. You can create a new template and try again.", t.Language))
		}
	}
	t.ID = f.digits(16)
	t.WABAID = c.waba.id
	t.Status = "PENDING"
	t.seq = f.nextSeq()
	f.templates[t.ID] = cloneTemplate(&t)
	f.mu.Unlock()
	f.review(t.ID)
	return object{{"id", t.ID}, {"status", "PENDING"}, {"category", t.Category}}, nil
}

// review decides a pending template after TemplateReview.
func (f *Fake) review(id string) {
	if f.opt.TemplateReview < 0 {
		return
	}
	f.after(f.opt.TemplateReview, func() {
		f.mu.Lock()
		t, ok := f.templates[id]
		if !ok || t.Status != "PENDING" {
			f.mu.Unlock()
			return
		}
		status, reason := reviewVerdict(t)
		f.mu.Unlock()
		f.SetTemplateStatus(id, status, reason)
	})
}

// editTemplate answers POST /{template-id}: new components (and
// category) send the template back to review.
func (c *call) editTemplate(t *Template) (any, *Error) {
	p, e := c.params()
	if e != nil {
		return nil, e
	}
	f := c.f
	f.mu.Lock()
	nt := cloneTemplate(t)
	f.mu.Unlock()
	if v, ok := p["components"]; ok {
		nt.Components = nil
		if err := json.Unmarshal(v, &nt.Components); err != nil {
			return nil, invalidParam("Param components must be an array of objects")
		}
	}
	if v, ok := p["category"]; ok {
		json.Unmarshal(v, &nt.Category)
		nt.Category = strings.ToUpper(nt.Category)
	}
	if e := validateTemplate(nt); e != nil {
		return nil, e
	}
	nt.Status, nt.RejectedReason = "PENDING", ""
	f.mu.Lock()
	*t = *nt
	f.mu.Unlock()
	f.review(t.ID)
	return object{{"success", true}}, nil
}

// deleteTemplate answers DELETE /{waba-id}/message_templates?name=…
// [&hsm_id=…]: every language of the name, or the one id.
func (c *call) deleteTemplate() (any, *Error) {
	q := c.r.URL.Query()
	name, hsm := q.Get("name"), q.Get("hsm_id")
	if name == "" {
		return nil, requiredParam("name")
	}
	f := c.f
	f.mu.Lock()
	var gone []*Template
	for id, t := range f.templates {
		if t.WABAID == c.waba.id && t.Name == name && (hsm == "" || id == hsm) {
			gone = append(gone, t)
			delete(f.templates, id)
		}
	}
	f.mu.Unlock()
	if len(gone) == 0 {
		return nil, templateError(0, "Message template not found", fmt.Sprintf("Message template %q could not be found.", name))
	}
	for _, t := range gone {
		f.templateWebhook(t, "DELETED", "")
	}
	return object{{"success", true}}, nil
}

// templateFields is a template as ?fields= may ask for it.
func templateFields(t *Template) map[string]any {
	m := map[string]any{
		"id": t.ID, "name": t.Name, "language": t.Language, "status": t.Status, "category": t.Category,
		"components": t.Components, "parameter_format": t.ParameterFormat, "sub_category": nil,
		"quality_score":     object{{"score", "UNKNOWN"}},
		"rejected_reason":   "NONE",
		"previous_category": nil,
	}
	if m["parameter_format"] == "" {
		m["parameter_format"] = "POSITIONAL"
	}
	if t.RejectedReason != "" {
		m["rejected_reason"] = t.RejectedReason
	}
	return m
}

var templateDefaults = []string{"name", "components", "language", "status", "category", "id"}

// templateInfo answers GET /{template-id}.
func (c *call) templateInfo(t *Template) (any, *Error) {
	c.f.mu.Lock()
	all := templateFields(cloneTemplate(t))
	c.f.mu.Unlock()
	return pick(all, []string{"name", "parameter_format", "components", "language", "status", "category", "id"}, c.fields(), "WhatsAppMessageTemplate")
}

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("tpl:" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), "tpl:") {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b[4:]), 10, 64)
	return n, err == nil
}

// listTemplates answers GET /{waba-id}/message_templates with Meta's
// cursor paging: paging.next only when a page follows, paging.previous
// only when one precedes.
func (c *call) listTemplates() (any, *Error) {
	q := c.r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, invalidParam("Param limit must be a positive integer")
		}
		limit = min(n, 1000)
	}
	for _, k := range []struct{ name, values string }{
		{"status", "APPROVED,IN_APPEAL,PENDING,REJECTED,PENDING_DELETION,DELETED,DISABLED,PAUSED,LIMIT_EXCEEDED,ARCHIVED"},
		{"category", "MARKETING,UTILITY,AUTHENTICATION"},
	} {
		if v := q.Get(k.name); v != "" && !slices.Contains(strings.Split(k.values, ","), strings.ToUpper(v)) {
			return nil, invalidParam("Param %s must be one of {%s} - got %q.", k.name, strings.ReplaceAll(k.values, ",", ", "), v)
		}
	}
	f := c.f
	f.mu.Lock()
	all := f.templatesOf(c.waba.id)
	f.mu.Unlock()
	var list []Template
	for _, t := range all {
		if (q.Get("name") == "" || strings.Contains(t.Name, q.Get("name"))) &&
			(q.Get("status") == "" || strings.EqualFold(t.Status, q.Get("status"))) &&
			(q.Get("category") == "" || strings.EqualFold(t.Category, q.Get("category"))) &&
			(q.Get("language") == "" || t.Language == q.Get("language")) {
			list = append(list, t)
		}
	}
	start, end := 0, len(list)
	switch {
	case q.Get("after") != "":
		seq, ok := decodeCursor(q.Get("after"))
		if !ok {
			return nil, invalidParam("Invalid parameter: cursor is malformed or expired")
		}
		start = len(list)
		for i, t := range list {
			if t.seq > seq {
				start = i
				break
			}
		}
		end = min(len(list), start+limit)
	case q.Get("before") != "":
		seq, ok := decodeCursor(q.Get("before"))
		if !ok {
			return nil, invalidParam("Invalid parameter: cursor is malformed or expired")
		}
		end = 0
		for i, t := range list {
			if t.seq < seq {
				end = i + 1
			}
		}
		start = max(0, end-limit)
	default:
		end = min(len(list), limit)
	}
	data := []any{}
	for i := start; i < end; i++ {
		o, e := pick(templateFields(&list[i]), templateDefaults, c.fields(), "WhatsAppMessageTemplate")
		if e != nil {
			return nil, e
		}
		data = append(data, o)
	}
	out := object{{"data", data}}
	if start < end {
		paging := object{{"cursors", object{{"before", encodeCursor(list[start].seq)}, {"after", encodeCursor(list[end-1].seq)}}}}
		link := func(key, cursor string) string {
			v := url.Values{}
			for k, vals := range q {
				if k != "after" && k != "before" {
					v[k] = vals
				}
			}
			v.Set("limit", strconv.Itoa(limit))
			v.Set("access_token", c.token)
			v.Set(key, cursor)
			return c.base + "/" + c.version + "/" + c.waba.id + "/message_templates?" + v.Encode()
		}
		if end < len(list) {
			paging = append(paging, field{"next", link("after", encodeCursor(list[end-1].seq))})
		}
		if start > 0 {
			paging = append(paging, field{"previous", link("before", encodeCursor(list[start].seq))})
		}
		out = append(out, field{"paging", paging})
	}
	return out, nil
}

// ApproveTemplate approves a template and sends the status webhook.
func (f *Fake) ApproveTemplate(id string) error { return f.SetTemplateStatus(id, "APPROVED", "NONE") }

// RejectTemplate rejects a template with a reason (INVALID_FORMAT,
// PROMOTIONAL, ABUSIVE_CONTENT, …) and sends the status webhook.
func (f *Fake) RejectTemplate(id, reason string) error {
	return f.SetTemplateStatus(id, "REJECTED", reason)
}

// SetTemplateStatus moves a template to a status (APPROVED, REJECTED,
// PAUSED, DISABLED, …) and sends the message_template_status_update
// webhook, with the other_info/disable_info Meta adds to pauses and
// disables.
func (f *Fake) SetTemplateStatus(id, status, reason string) error {
	f.mu.Lock()
	t, ok := f.templates[id]
	if !ok {
		f.mu.Unlock()
		return fmt.Errorf("graphfake: no template %s", id)
	}
	t.Status = status
	if status == "REJECTED" {
		t.RejectedReason = reason
	}
	snap := cloneTemplate(t)
	f.mu.Unlock()
	f.templateWebhook(snap, status, reason)
	return nil
}

// templateWebhook posts a message_template_status_update.
func (f *Fake) templateWebhook(t *Template, event, reason string) {
	f.mu.Lock()
	now := f.now()
	tid, _ := strconv.ParseInt(t.ID, 10, 64)
	v := &TemplateStatusValue{Event: event, MessageTemplateID: tid, MessageTemplateName: t.Name,
		MessageTemplateLanguage: t.Language, MessageTemplateCategory: t.Category}
	if event != "DELETED" {
		if reason == "" {
			reason = "NONE"
		}
		v.Reason = &reason
	}
	switch event {
	case "REJECTED":
		if reason == "INVALID_FORMAT" {
			why := formatProblem(t)
			if why == "" {
				why = "Your template does not follow the formatting guidelines."
			}
			v.RejectionInfo = &RejectionInfo{
				Reason:         why,
				Recommendation: "Separate parameters with descriptive text and ensure each parameter is clearly contextualized.",
			}
		}
	case "PAUSED":
		v.OtherInfo = &OtherInfo{Title: "FIRST_PAUSE", Description: "Your message template has been paused for 3 hours until " + now.Add(3*time.Hour).UTC().Format(time.RFC1123) + " due to low quality."}
	case "DISABLED":
		v.OtherInfo = &OtherInfo{Title: "DISABLED", Description: "Your message template has been disabled due to low quality."}
		v.DisableInfo = &DisableInfo{DisableDate: unix(now)}
	}
	b := f.Batch()
	b.change(t.WABAID, now.Unix(), Change{Value: v, Field: "message_template_status_update"})
	url, secret := f.wabaTarget(t.WABAID)
	body := mustJSON(b.payload)
	f.mu.Unlock()
	f.em.post(url, secret, body, false, nil)
}

// checkTemplateSend validates a template send against the template: its
// existence and status (132001, 132015, 132016), parameter counts and
// names (132000) and media header formats (132012). f.mu is held.
func (f *Fake) checkTemplateSend(wabaID string, ts *templateSend) (*Template, *Error) {
	if ts.Name == "" {
		return nil, requiredParam("template['name']")
	}
	if ts.Language == nil || ts.Language.Code == "" {
		return nil, requiredParam("template['language']['code']")
	}
	var t *Template
	for _, x := range f.templates {
		if x.WABAID == wabaID && x.Name == ts.Name && x.Language == ts.Language.Code {
			t = x
		}
	}
	missing := func() *Error {
		e := oauth(404, 132001, "Template name does not exist in the translation",
			fmt.Sprintf("template name (%s) does not exist in %s", ts.Name, ts.Language.Code))
		return e
	}
	if t == nil {
		return nil, missing()
	}
	switch t.Status {
	case "APPROVED":
	case "PAUSED":
		return nil, oauth(400, 132015, "Template is Paused", fmt.Sprintf("Template %s is paused due to low quality so it cannot be sent in a template message.", t.Name))
	case "DISABLED":
		return nil, oauth(400, 132016, "Template is disabled", fmt.Sprintf("Template %s has been disabled due to low quality so it cannot be sent in a template message.", t.Name))
	default:
		return nil, missing()
	}
	given := map[string][]templateParam{}
	buttons := map[int][]templateParam{}
	for _, c := range ts.Components {
		typ := strings.ToLower(c.Type)
		switch typ {
		case "header", "body":
			given[typ] = append(given[typ], c.Parameters...)
		case "button":
			var idx int
			var s string
			if json.Unmarshal(c.Index, &s) == nil {
				idx, _ = strconv.Atoi(s)
			} else {
				json.Unmarshal(c.Index, &idx)
			}
			buttons[idx] = c.Parameters
		default:
			return nil, invalidParam("Param template['components'][]['type'] must be one of {HEADER, BODY, BUTTON} - got %q.", c.Type)
		}
	}
	for _, part := range []string{"header", "body"} {
		comp := t.component(part)
		var want []string
		format := ""
		if comp != nil {
			format = comp.Format
			if part == "body" || comp.Format == "TEXT" {
				want = templateParams(comp.Text, t.ParameterFormat)
			}
		}
		got := given[part]
		if part == "header" && comp != nil && format != "TEXT" && format != "" {
			mediaType := strings.ToLower(format)
			if format == "GIF" {
				mediaType = "video"
			}
			if len(got) != 1 || got[0].Type != mediaType {
				recv := "UNKNOWN"
				if len(got) > 0 {
					recv = strings.ToUpper(got[0].Type)
				}
				return nil, oauth(400, 132012, "Parameter format does not match format in the created template",
					fmt.Sprintf("header: Format mismatch, expected %s, received %s", format, recv))
			}
			continue
		}
		if len(got) != len(want) {
			return nil, oauth(400, 132000, "Number of parameters does not match the expected number of params",
				fmt.Sprintf("%s: number of localizable_params (%d) does not match the expected number of params (%d)", part, len(got), len(want)))
		}
		for _, p := range got {
			if t.ParameterFormat == "NAMED" && !slices.Contains(want, p.ParameterName) {
				return nil, oauth(400, 132000, "Number of parameters does not match the expected number of params",
					fmt.Sprintf("%s: parameter name %q does not match any parameter of the template", part, p.ParameterName))
			}
			if e := p.check(part); e != nil {
				return nil, e
			}
		}
	}
	if bc := t.component("BUTTONS"); bc != nil {
		for i, b := range bc.Buttons {
			ps := buttons[i]
			switch b.Type {
			case "URL":
				if n := len(templateParams(b.URL, "")); len(ps) != n {
					return nil, oauth(400, 132000, "Number of parameters does not match the expected number of params",
						fmt.Sprintf("button %d: number of localizable_params (%d) does not match the expected number of params (%d)", i, len(ps), n))
				}
			case "QUICK_REPLY":
				for _, p := range ps {
					if p.Type != "payload" {
						return nil, oauth(400, 132012, "Parameter format does not match format in the created template",
							fmt.Sprintf("button %d: a quick reply takes a payload parameter, not %s", i, p.Type))
					}
				}
			}
		}
		for i := range buttons {
			if i < 0 || i >= len(bc.Buttons) {
				return nil, invalidParamDetails("button index %d is out of range: the template has %d buttons", i, len(bc.Buttons))
			}
		}
	} else if len(buttons) > 0 {
		return nil, oauth(400, 132000, "Number of parameters does not match the expected number of params", "button: the template has no buttons")
	}
	return t, nil
}

// check validates one send parameter.
func (p templateParam) check(part string) *Error {
	switch p.Type {
	case "text":
		if p.Text == nil || *p.Text == "" {
			return requiredParam(fmt.Sprintf("template['components'][%s]['parameters'][]['text']", part))
		}
	case "currency":
		if p.Currency == nil || p.Currency.FallbackValue == "" {
			return requiredParam("currency['fallback_value']")
		}
	case "date_time":
		if p.DateTime == nil || p.DateTime.FallbackValue == "" {
			return requiredParam("date_time['fallback_value']")
		}
	case "image", "video", "document", "location", "payload":
	default:
		return invalidParam("Param template['components'][%s]['parameters'][]['type'] is not valid - got %q.", part, p.Type)
	}
	return nil
}
