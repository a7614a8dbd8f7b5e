package web

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/text"
)

// handler is an API handler: it writes a response or returns an error for
// writeError to answer.
type handler func(w http.ResponseWriter, r *http.Request, a policy.Actor) error

// maxJSONBody bounds JSON request bodies.
const maxJSONBody = 1 << 20

// errorBody is the shape of every API error.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

var kindStatus = map[problem.Kind]struct {
	status int
	code   string
}{
	problem.KindInvalid:      {http.StatusUnprocessableEntity, "validation_failed"},
	problem.KindMalformed:    {http.StatusBadRequest, "bad_request"},
	problem.KindNotFound:     {http.StatusNotFound, "not_found"},
	problem.KindConflict:     {http.StatusConflict, "conflict"},
	problem.KindForbidden:    {http.StatusForbidden, "forbidden"},
	problem.KindUnauthorized: {http.StatusUnauthorized, "unauthorized"},
	problem.KindTooLarge:     {http.StatusRequestEntityTooLarge, "too_large"},
	problem.KindUnsupported:  {http.StatusUnsupportedMediaType, "unsupported_media_type"},
	problem.KindRateLimited:  {http.StatusTooManyRequests, "rate_limited"},
	problem.KindUnavailable:  {http.StatusServiceUnavailable, "unavailable"},
}

// classify turns any error into what the client is told. Unknown errors
// become a 500 whose message carries only the request id.
func classify(err error, requestID string) (int, errorDetail, bool) {
	if p, ok := problem.As(err); ok {
		ks := kindStatus[p.Kind]
		if ks.status == 0 {
			ks.status, ks.code = http.StatusInternalServerError, "internal"
		}
		return ks.status, errorDetail{Code: ks.code, Message: p.Message, Fields: p.Fields}, false
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, errorDetail{Code: "too_large", Message: fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)}, false
	case errors.Is(err, db.ErrNotFound):
		return http.StatusNotFound, errorDetail{Code: "not_found", Message: "Not found."}, false
	case errors.Is(err, db.ErrConflict):
		return http.StatusConflict, errorDetail{Code: "conflict", Message: "This conflicts with the current state; reload and try again."}, false
	}
	return http.StatusInternalServerError, errorDetail{Code: "internal", Message: "Something went wrong on our side (request " + requestID + "). It has been logged."}, true
}

// writeError answers err as JSON, logging it once if it is unexpected.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, detail, internal := classify(err, requestID(r))
	if strings.HasPrefix(r.URL.Path, "/public/") {
		detail = s.langs.public(r, detail)
	} else {
		detail = s.langs.detail(r, detail)
	}
	if internal {
		s.logger.Error("request failed", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", requestID(r))
	}
	if p, ok := problem.As(err); ok && p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter.Seconds())))
	}
	writeJSON(w, status, errorBody{Error: detail})
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// malformed is a 400 with a message.
func malformed(format string, args ...any) error {
	return problem.New(problem.KindMalformed, format, args...)
}

// decode reads a JSON body into v: it must be JSON (by Content-Type), at
// most maxJSONBody bytes, valid UTF-8, one value, and no unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &problem.Error{Kind: problem.KindUnsupported, Message: "Send the body as JSON (Content-Type: application/json)."}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &problem.Error{Kind: problem.KindTooLarge, Message: fmt.Sprintf("The request body is larger than %d bytes.", maxJSONBody)}
		}
		return malformed("The request body could not be read.")
	}
	return decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return malformed("The request body is empty; send a JSON object.")
	}
	if !utf8.Valid(body) {
		return malformed("The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return malformed("The request body is not valid JSON (at byte %d).", se.Offset)
		case errors.As(err, &te):
			if te.Field != "" {
				return problem.Invalid(te.Field, "Expected %s here, not a JSON %s.", jsonKind(te.Type.Kind().String()), te.Value)
			}
			return malformed("The request body must be a JSON object.")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return malformed("Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return malformed("The request body is not valid JSON.")
	}
	if dec.More() {
		return malformed("The request body must hold a single JSON value.")
	}
	return checkJSON(body)
}

// checkJSON applies the text rule to every string of a JSON document that
// decoded, keys included: a string it refuses is a problem of the field at
// its path, like "name", "metadata.plan" or "interactive.buttons.0.title"
// (a key, of the object that holds it; anything at the top, of "body").
func checkJSON(body []byte) error {
	type level struct {
		object  bool
		wantKey bool   // an object's next token is a key
		key     string // the current member of an object
		index   int    // the current element of an array
	}
	var stack []level
	// path names the value at depth n of the stack.
	path := func(n int) string {
		parts := make([]string, n)
		for i, l := range stack[:n] {
			if l.object {
				parts[i] = l.key
			} else {
				parts[i] = strconv.Itoa(l.index)
			}
		}
		if len(parts) == 0 {
			return "body"
		}
		return strings.Join(parts, ".")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end (decodeBytes has refused anything else)
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			key, ok := tok.(string)
			if !ok { // '}': the object ends
				stack = stack[:n-1]
				if n > 1 && stack[n-2].object {
					stack[n-2].wantKey = true
				}
				continue
			}
			if err := text.Check(path(n-1), key); err != nil {
				return err
			}
			stack[n-1].key, stack[n-1].wantKey = key, false
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
			continue
		}
		// A value begins.
		if n := len(stack); n > 0 && !stack[n-1].object {
			stack[n-1].index++
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				stack = append(stack, level{object: true, wantKey: true})
			} else {
				stack = append(stack, level{index: -1})
			}
			continue
		case string:
			if err := text.Check(path(len(stack)), v); err != nil {
				return err
			}
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
}

// parseForm reads a form post and applies the text rule to every field: a
// body that cannot be read is malformed (400), a value the rule refuses is
// a problem of its field (422). Handlers read forms only through it (or
// readForm).
func parseForm(r *http.Request) error {
	fields, err := readForm(r)
	if err != nil {
		return err
	}
	return fields.Err()
}

// readForm is parseForm for a handler that answers a form's problems
// field by field: it returns the fields the rule refuses, to which the
// handler adds its own before it writes anything (only if there are none).
func readForm(r *http.Request) (problem.Fields, error) {
	if err := r.ParseForm(); err != nil {
		return nil, malformed("The form could not be read.")
	}
	fields := problem.Fields{}
	for k, vs := range r.PostForm {
		if k == returnPath {
			continue
		}
		if m := text.Problem(k); m != "" {
			fields.Add("form", "%s", m)
			continue
		}
		for _, v := range vs {
			if m := text.Problem(v); m != "" {
				fields.Add(k, "%s", m)
				break
			}
		}
	}
	return fields, nil
}

// returnPath is the parameter that carries where to go after signing
// in. It is never stored: keepNext drops a hostile one (control
// characters included) and the visitor lands on the inbox, instead of an
// error page for a link someone else crafted.
const returnPath = "next"

// checkURL applies the text rule to a request's path values (named by
// the route's wildcards) and query parameters, before any handler sees
// them: a refused one is a problem of its name (a key, of "query").
func checkURL(r *http.Request, wildcards []string) error {
	for _, name := range wildcards {
		if err := text.Check(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	for k, vs := range r.URL.Query() {
		if err := text.Check("query", k); err != nil {
			return err
		}
		if k == returnPath {
			continue
		}
		for _, v := range vs {
			if err := text.Check(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// wildcards lists the names of a route pattern's wildcards:
// "/api/v1/conversations/{id}/tags/{tag}" has id and tag.
func wildcards(pattern string) []string {
	var names []string
	for _, seg := range strings.Split(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.TrimSuffix(seg[1:len(seg)-1], "..."), "$")
			if name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a value"
	}
	return "a number"
}

// pathID parses the {name} path value as a positive id.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.NotFound("Item")
	}
	return id, nil
}

// queryInt parses an optional positive integer query parameter.
func queryInt(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, problem.Invalid(name, "Use a positive whole number.")
	}
	return min(n, max), nil
}

// newRequestID returns a short random id for logs and error messages.
func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// requestID returns the id the middleware gave the request.
func requestID(r *http.Request) string { return r.Header.Get("X-Request-Id") }
