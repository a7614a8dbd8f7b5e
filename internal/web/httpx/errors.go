package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// ErrorBody is the shape of every API error.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

type ErrorDetail struct {
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

// Classify turns any error into what the client is told. Unknown errors
// become a 500 whose message carries only the request id.
func Classify(err error, requestID string) (int, ErrorDetail, bool) {
	if p, ok := problem.As(err); ok {
		ks := kindStatus[p.Kind]
		if ks.status == 0 {
			ks.status, ks.code = http.StatusInternalServerError, "internal"
		}
		return ks.status, ErrorDetail{Code: ks.code, Message: p.Message, Fields: p.Fields}, false
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, ErrorDetail{Code: "too_large", Message: fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)}, false
	case errors.Is(err, db.ErrNotFound):
		return http.StatusNotFound, ErrorDetail{Code: "not_found", Message: "Not found."}, false
	case errors.Is(err, db.ErrConflict):
		return http.StatusConflict, ErrorDetail{Code: "conflict", Message: "This conflicts with the current state; reload and try again."}, false
	}
	return http.StatusInternalServerError, ErrorDetail{Code: "internal", Message: "Something went wrong on our side (request " + requestID + "). It has been logged."}, true
}

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// Malformed is a 400 with a message.
func Malformed(format string, args ...any) error {
	return problem.New(problem.KindMalformed, format, args...)
}
