// Package problem describes errors that reach users: what kind of failure
// it was (which the web layer turns into a status code), a message a person
// understands and, for forms, a message per field. Anything that is not a
// *problem.Error (or a db.ErrNotFound / db.ErrConflict) is an internal
// error: logged, and answered with a generic message.
package problem

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind classifies a problem.
type Kind int

// The kinds.
const (
	KindInvalid      Kind = iota + 1 // the input is wrong (422)
	KindMalformed                    // the input cannot be read at all (400)
	KindNotFound                     // (404)
	KindConflict                     // the state does not allow it (409)
	KindForbidden                    // (403)
	KindUnauthorized                 // (401)
	KindTooLarge                     // (413)
	KindUnsupported                  // wrong media type (415)
	KindRateLimited                  // (429)
	KindUnavailable                  // try later (503)
)

// Error is a problem to show to the user.
type Error struct {
	Kind    Kind
	Message string
	// Fields maps a field name (as in the request) to what is wrong with it.
	Fields map[string]string
	// RetryAfter goes with KindRateLimited.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(e.Message)
	for i, k := range keys {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", k, e.Fields[k])
	}
	return b.String()
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var p *Error
	ok := errors.As(err, &p)
	return p, ok
}

// New returns a problem of kind with a message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// NotFound says what was not found.
func NotFound(what string) *Error { return &Error{Kind: KindNotFound, Message: what + " not found."} }

// Conflict says why the state does not allow the request.
func Conflict(format string, args ...any) *Error { return New(KindConflict, format, args...) }

// Forbidden says what is not allowed.
func Forbidden(format string, args ...any) *Error { return New(KindForbidden, format, args...) }

// RateLimited asks to come back after d.
func RateLimited(d time.Duration) *Error {
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return &Error{Kind: KindRateLimited, Message: fmt.Sprintf("Too many requests: try again in %d %s.", secs, unit), RetryAfter: time.Duration(secs) * time.Second}
}

// Fields collects per-field validation messages.
type Fields map[string]string

// Add records what is wrong with field, keeping the first message.
func (f Fields) Add(field, format string, args ...any) {
	if _, ok := f[field]; !ok {
		f[field] = fmt.Sprintf(format, args...)
	}
}

// Err returns nil when no field is wrong, else a KindInvalid problem.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Message: "Some fields are not valid.", Fields: f}
}

// Invalid is a problem with a single field.
func Invalid(field, format string, args ...any) *Error {
	f := Fields{}
	f.Add(field, format, args...)
	return f.Err().(*Error)
}
