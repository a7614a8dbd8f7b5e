package graphfake

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

var versionRE = regexp.MustCompile(`^v(\d+)\.\d+$`)

// call is one Graph request being answered.
type call struct {
	f       *Fake
	w       http.ResponseWriter
	r       *http.Request
	version string // "v23.0"
	major   int
	token   string
	base    string // the fake's URL as the client reached it
	number  *number
	waba    *waba
}

// ServeHTTP answers Graph calls under any /vNN.N prefix (and unversioned
// ones, as the app's default version v23.0) and media downloads.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	base := f.baseOf(r)
	if strings.HasPrefix(r.URL.Path, "/whatsapp_business/attachments") {
		f.download(w, r)
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	c := &call{f: f, w: w, r: r, version: "v23.0", major: 23, base: base}
	if len(segs) > 0 {
		if m := versionRE.FindStringSubmatch(segs[0]); m != nil {
			c.version = segs[0]
			c.major, _ = strconv.Atoi(m[1])
			segs = segs[1:]
		}
	}
	if len(segs) == 1 && segs[0] == "" {
		segs = nil
	}
	v, e := c.route(segs)
	if e != nil && e.drop {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
			return
		}
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream
	}
	if e != nil {
		f.writeError(w, c.version, e)
		return
	}
	f.writeJSON(w, c.version, http.StatusOK, v)
}

// baseOf returns the fake's URL as the client reached it: BaseURL, or the
// request's host and whatever prefix a StripPrefix removed.
func (f *Fake) baseOf(r *http.Request) string {
	if f.opt.BaseURL != "" {
		return strings.TrimRight(f.opt.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	prefix := ""
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		prefix = strings.TrimSuffix(u.Path, r.URL.Path)
	}
	base := scheme + "://" + r.Host + prefix
	f.mu.Lock()
	if f.opt.BaseURL == "" {
		f.lastBase = base
	}
	f.mu.Unlock()
	return base
}

// SetBaseURL says where clients reach the fake (for media URLs in
// inbound webhooks made before any Graph call).
func (f *Fake) SetBaseURL(u string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opt.BaseURL = strings.TrimRight(u, "/")
}

func (f *Fake) headers(w http.ResponseWriter, version string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	trace := f.traceID()
	h.Set("x-fb-trace-id", trace[1:12])
	h.Set("x-fb-request-id", trace)
	h.Set("facebook-api-version", version)
	h.Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
}

func (f *Fake) writeJSON(w http.ResponseWriter, version string, status int, v any) {
	f.headers(w, version)
	w.WriteHeader(status)
	w.Write(mustJSON(v))
}

func (f *Fake) writeError(w http.ResponseWriter, version string, e *Error) {
	e = e.clone()
	if e.FBTraceID == "" {
		e.FBTraceID = f.traceID()
	}
	h := w.Header()
	if e.RetryAfterSet {
		secs := int64((e.RetryAfter + 999_999_999) / 1_000_000_000)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if e.Usage > 0 {
		f.mu.Lock()
		waba := f.defaultWABA
		f.mu.Unlock()
		h.Set("X-Business-Use-Case-Usage", fmt.Sprintf(`{"%s":[{"type":"whatsapp","call_count":100,"total_cputime":100,"total_time":100,"estimated_time_to_regain_access":%d}]}`, waba, e.Usage))
	}
	if e.Code == 190 {
		h.Set("WWW-Authenticate", fmt.Sprintf(`OAuth "Facebook Platform" "invalid_token" %q`, e.Message))
	}
	f.writeJSON(w, version, e.status(), struct {
		Error *Error `json:"error"`
	}{e})
}

// bearer returns the access token of a request: the Authorization
// header (Bearer or OAuth) or the access_token parameter.
func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "bearer ", "OAuth "} {
		if strings.HasPrefix(a, p) {
			return strings.TrimSpace(a[len(p):])
		}
	}
	return r.URL.Query().Get("access_token")
}

// knownToken reports whether any number has the token.
func (f *Fake) knownToken(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.numbers {
		if n.Token == token {
			return true
		}
	}
	return false
}

// wabaToken reports whether token may use an account: it is the token
// of one of its numbers. f.mu is held.
func (f *Fake) wabaToken(wabaID, token string) bool {
	for _, n := range f.numbers {
		if n.WABAID == wabaID && n.Token == token {
			return true
		}
	}
	return false
}

func (c *call) route(segs []string) (any, *Error) {
	f, r := c.f, c.r
	if len(segs) == 0 {
		return nil, unknownPath("/")
	}
	c.token = bearer(r)
	if c.token == "" {
		return nil, &Error{Message: "An access token is required to request this resource.", Type: "OAuthException", Code: 190, HTTPStatus: 401}
	}
	f.mu.Lock()
	expired := f.expired[c.token]
	f.mu.Unlock()
	if expired {
		return nil, ErrExpiredToken()
	}
	if !f.knownToken(c.token) {
		return nil, ErrInvalidToken()
	}
	if len(segs) > 2 {
		return nil, unknownPath("/" + strings.Join(segs[2:], "/"))
	}
	id, edge := segs[0], ""
	if len(segs) == 2 {
		edge = segs[1]
	}
	method := r.Method

	f.mu.Lock()
	n := f.numbers[id]
	w := f.wabas[id]
	m := f.media[id]
	t := f.templates[id]
	var ep Endpoint
	allowed := false
	switch {
	case n != nil:
		allowed = n.Token == c.token
		switch edge {
		case "":
			ep = EndpointNumber
		case "messages":
			ep = EndpointMessages
		case "media":
			ep = EndpointMediaUpload
		case "conversational_automation":
			ep = EndpointAutomation
		}
	case w != nil:
		allowed = f.wabaToken(w.id, c.token)
		ep = EndpointAccount
		if edge == "message_templates" {
			ep = EndpointTemplates
		}
	case m != nil && !m.deleted:
		owner := f.numbers[m.pnid]
		allowed = owner != nil && owner.Token == c.token
		ep = EndpointMedia
	case t != nil:
		allowed = f.wabaToken(t.WABAID, c.token)
		ep = EndpointTemplates
	}
	if !allowed {
		f.mu.Unlock()
		return nil, objectMissing(method, id)
	}
	var inject *Error
	if ep != EndpointMessages && ep != "" { // sends inject after reading the body
		inject = f.injection(ep, id)
	}
	f.mu.Unlock()
	if inject != nil {
		return nil, inject
	}
	c.number, c.waba = n, w

	switch {
	case n != nil:
		switch {
		case edge == "" && method == http.MethodGet:
			return c.numberInfo()
		case edge == "messages" && method == http.MethodPost:
			return c.send()
		case edge == "media" && method == http.MethodPost:
			return c.upload()
		case edge == "conversational_automation" && method == http.MethodPost:
			return c.setAutomation()
		case edge == "conversational_automation" && method == http.MethodGet:
			return c.getAutomation()
		case edge == "" || edge == "messages" || edge == "media" || edge == "conversational_automation":
			return nil, objectMissing(method, id)
		}
	case w != nil:
		switch {
		case edge == "" && method == http.MethodGet:
			return c.wabaInfo()
		case edge == "message_templates" && method == http.MethodGet:
			return c.listTemplates()
		case edge == "message_templates" && method == http.MethodPost:
			return c.createTemplate()
		case edge == "message_templates" && method == http.MethodDelete:
			return c.deleteTemplate()
		case edge == "phone_numbers" && method == http.MethodGet:
			return c.phoneNumbers()
		case edge == "subscribed_apps":
			return c.subscribedApps()
		case edge == "" || edge == "message_templates" || edge == "phone_numbers":
			return nil, objectMissing(method, id)
		}
	case m != nil:
		switch {
		case edge == "" && method == http.MethodGet:
			return c.mediaInfo(m)
		case edge == "" && method == http.MethodDelete:
			return c.deleteMedia(m)
		case edge == "":
			return nil, objectMissing(method, id)
		}
	case t != nil:
		switch {
		case edge == "" && method == http.MethodGet:
			return c.templateInfo(t)
		case edge == "" && method == http.MethodPost:
			return c.editTemplate(t)
		case edge == "":
			return nil, objectMissing(method, id)
		}
	}
	return nil, unknownPath("/" + edge)
}

// fields returns the ?fields= list, or nil.
func (c *call) fields() []string {
	v := c.r.URL.Query().Get("fields")
	if v == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// pick builds the answer for ?fields=: the requested fields (in the
// order asked, then id) or the defaults. node names the node type in the
// error for an unknown field.
func pick(all map[string]any, defaults, asked []string, node string) (object, *Error) {
	names := defaults
	if asked != nil {
		names = asked
	}
	var o object
	hasID := false
	for _, name := range names {
		v, ok := all[name]
		if !ok {
			return nil, invalidParam("Tried accessing nonexisting field (%s) on node type (%s)", name, node)
		}
		if name == "id" {
			hasID = true
		}
		if v == nil {
			continue
		}
		o = append(o, field{name, v})
	}
	if !hasID {
		o = append(o, field{"id", all["id"]})
	}
	return o, nil
}

// numberInfo answers GET /{phone-number-id} (the "test connection" call)
// and ?fields=conversational_automation.
func (c *call) numberInfo() (any, *Error) {
	f := c.f
	f.mu.Lock()
	n := *c.number
	f.mu.Unlock()
	url, _ := f.webhookOf(&n)
	all := map[string]any{
		"verified_name":                n.VerifiedName,
		"code_verification_status":     "VERIFIED",
		"display_phone_number":         n.DisplayPhoneNumber,
		"quality_rating":               n.QualityRating,
		"platform_type":                "CLOUD_API",
		"throughput":                   object{{"level", "STANDARD"}},
		"webhook_configuration":        object{{"application", url}},
		"name_status":                  "APPROVED",
		"status":                       "CONNECTED",
		"messaging_limit_tier":         "TIER_1K",
		"is_official_business_account": false,
		"conversational_automation":    automationJSON(n.automation),
		"id":                           n.ID,
	}
	return pick(all, []string{"verified_name", "code_verification_status", "display_phone_number", "quality_rating", "platform_type", "throughput", "webhook_configuration", "id"}, c.fields(), "WhatsAppBusinessPhoneNumber")
}

func (f *Fake) webhookOf(n *number) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.target(n)
}

// wabaInfo answers GET /{waba-id}.
func (c *call) wabaInfo() (any, *Error) {
	f := c.f
	f.mu.Lock()
	w := *c.waba
	f.mu.Unlock()
	all := map[string]any{
		"id": w.id, "name": w.name, "currency": "USD", "timezone_id": "1",
		"message_template_namespace": "fake_" + w.id[:8],
		"account_review_status":      "APPROVED",
	}
	return pick(all, []string{"id", "name", "currency", "timezone_id", "message_template_namespace"}, c.fields(), "WhatsAppBusinessAccount")
}

// phoneNumbers answers GET /{waba-id}/phone_numbers.
func (c *call) phoneNumbers() (any, *Error) {
	f := c.f
	var data []any
	for _, n := range f.Numbers() {
		if n.WABAID != c.waba.id {
			continue
		}
		data = append(data, object{
			{"verified_name", n.VerifiedName},
			{"code_verification_status", "VERIFIED"},
			{"display_phone_number", n.DisplayPhoneNumber},
			{"quality_rating", n.QualityRating},
			{"platform_type", "CLOUD_API"},
			{"throughput", object{{"level", "STANDARD"}}},
			{"id", n.ID},
		})
	}
	if data == nil {
		data = []any{}
	}
	return object{{"data", data}}, nil
}

// subscribedApps answers /{waba-id}/subscribed_apps.
func (c *call) subscribedApps() (any, *Error) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c.r.Method {
	case http.MethodPost:
		c.waba.subscribed = true
		return object{{"success", true}}, nil
	case http.MethodDelete:
		c.waba.subscribed = false
		return object{{"success", true}}, nil
	}
	if !c.waba.subscribed {
		return object{{"data", []any{}}}, nil
	}
	return object{{"data", []any{object{{"whatsapp_business_api_data", object{{"id", "1" + c.waba.id[1:]}, {"link", "https://www.example.com/"}, {"name", "Switchboard"}}}}}}}, nil
}
