// Package httpx is what the two halves of the web layer share — the API
// (package web) and the pages (package ui): reading requests (JSON bodies
// under the text rule, forms, path values, query parameters), the shape of
// errors and the status each kind of problem answers, sessions and their
// cookies, the language of an answer, the names cache, and the few answers
// both halves give alike (a phone number's contacts, a user's teams and
// inboxes, an inbox's snippet). It holds no handlers.
package httpx

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/text"
)

// maxJSONBody bounds JSON request bodies.
const maxJSONBody = 1 << 20

// Decode reads a JSON body into v: it must be JSON (by Content-Type), at
// most maxJSONBody bytes, valid UTF-8, one value, and no unknown fields.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
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
		return Malformed("The request body could not be read.")
	}
	return decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return Malformed("The request body is empty; send a JSON object.")
	}
	if !utf8.Valid(body) {
		return Malformed("The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return Malformed("The request body is not valid JSON (at byte %d).", se.Offset)
		case errors.As(err, &te):
			if te.Field != "" {
				return problem.Invalid(te.Field, "Expected %s here, not a JSON %s.", jsonKind(te.Type.Kind().String()), te.Value)
			}
			return Malformed("The request body must be a JSON object.")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Malformed("Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return Malformed("The request body is not valid JSON.")
	}
	if dec.More() {
		return Malformed("The request body must hold a single JSON value.")
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

// ParseForm reads a form post and applies the text rule to every field: a
// body that cannot be read is malformed (400), a value the rule refuses is
// a problem of its field (422). Handlers read forms only through it (or
// ReadForm).
func ParseForm(r *http.Request) error {
	fields, err := ReadForm(r)
	if err != nil {
		return err
	}
	return fields.Err()
}

// ReadForm is ParseForm for a handler that answers a form's problems
// field by field: it returns the fields the rule refuses, to which the
// handler adds its own before it writes anything (only if there are none).
func ReadForm(r *http.Request) (problem.Fields, error) {
	if err := r.ParseForm(); err != nil {
		return nil, Malformed("The form could not be read.")
	}
	fields := problem.Fields{}
	for k, vs := range r.PostForm {
		if k == ReturnPath {
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

// ReturnPath is the parameter that carries where to go after signing
// in. It is never stored: the pages drop a hostile one (control
// characters included) and the visitor lands on the inbox, instead of an
// error page for a link someone else crafted.
const ReturnPath = "next"

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

// PathID parses the {name} path value as a positive id.
func PathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.NotFound("Item")
	}
	return id, nil
}

// QueryInt parses an optional positive integer query parameter.
func QueryInt(r *http.Request, name string, def, max int) (int, error) {
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

// NewRequestID returns a short random id for logs and error messages.
func NewRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// RequestID returns the id the middleware gave the request.
func RequestID(r *http.Request) string { return r.Header.Get("X-Request-Id") }
