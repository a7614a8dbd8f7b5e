package graphfake

import (
	"fmt"
	"net/http"
	"time"
)

// Error is a Graph API error: the body {"error": {...}} with its HTTP
// status and headers. Fields are in the order Meta writes them.
type Error struct {
	Message     string     `json:"message"`
	Type        string     `json:"type"`
	Code        int        `json:"code"`
	Subcode     int        `json:"error_subcode,omitempty"`
	IsTransient *bool      `json:"is_transient,omitempty"`
	UserTitle   string     `json:"error_user_title,omitempty"`
	UserMsg     string     `json:"error_user_msg,omitempty"`
	Data        *ErrorData `json:"error_data,omitempty"`
	FBTraceID   string     `json:"fbtrace_id"`

	// HTTPStatus is the answer's status (400 when 0).
	HTTPStatus int `json:"-"`
	// RetryAfter, when set, adds a Retry-After header in whole seconds
	// (rounded up; 0 is written as 0 when RetryAfterSet).
	RetryAfter    time.Duration `json:"-"`
	RetryAfterSet bool          `json:"-"`
	// Usage adds Meta's X-Business-Use-Case-Usage header with the quota at
	// 100 % and this many minutes to regain access.
	Usage int `json:"-"`

	// drop: carry the call out, then close the connection unanswered.
	drop bool
}

// ErrorData is the WhatsApp-specific part of a Graph error.
type ErrorData struct {
	MessagingProduct string `json:"messaging_product"`
	Details          string `json:"details"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph error %d (HTTP %d): %s", e.Code, e.status(), e.Message)
}

func (e *Error) status() int {
	if e.HTTPStatus == 0 {
		return http.StatusBadRequest
	}
	return e.HTTPStatus
}

// clone copies e so that a preset can be answered many times with fresh
// trace ids.
func (e *Error) clone() *Error {
	c := *e
	if e.Data != nil {
		d := *e.Data
		c.Data = &d
	}
	return &c
}

func transient() *bool { t := true; return &t }

// oauth builds the common (#code) OAuthException.
func oauth(status, code int, msg, details string) *Error {
	e := &Error{Message: fmt.Sprintf("(#%d) %s", code, msg), Type: "OAuthException", Code: code, HTTPStatus: status}
	if details != "" {
		e.Data = &ErrorData{MessagingProduct: "whatsapp", Details: details}
	}
	return e
}

// invalidParam is (#100) for a malformed request, with a message in
// Graph's own words.
func invalidParam(format string, args ...any) *Error {
	return &Error{Message: "(#100) " + fmt.Sprintf(format, args...), Type: "OAuthException", Code: 100, HTTPStatus: 400}
}

// invalidParamDetails is (#100) Invalid parameter with WhatsApp details.
func invalidParamDetails(format string, args ...any) *Error {
	return oauth(400, 100, "Invalid parameter", fmt.Sprintf(format, args...))
}

// requiredParam is Graph's answer to a missing parameter.
func requiredParam(name string) *Error {
	return invalidParam("Param %s is required", name)
}

// notValid is (#131009) Parameter value is not valid.
func notValid(format string, args ...any) *Error {
	return oauth(400, 131009, "Parameter value is not valid", fmt.Sprintf(format, args...))
}

// missingParam is (#131008) Required parameter is missing.
func missingParam(format string, args ...any) *Error {
	return oauth(400, 131008, "Required parameter is missing", fmt.Sprintf(format, args...))
}

// objectMissing is the answer for an unknown id, or one the token may not
// use: HTTP 400, code 100, subcode 33 (never a 404).
func objectMissing(method, id string) *Error {
	return &Error{
		Message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
			methodWord(method), id),
		Type: "GraphMethodException", Code: 100, Subcode: 33, HTTPStatus: 400,
	}
}

func methodWord(m string) string {
	switch m {
	case http.MethodPost:
		return "post"
	case http.MethodDelete:
		return "delete"
	}
	return "get"
}

// unknownPath is Graph's answer for an edge that does not exist.
func unknownPath(rest string) *Error {
	return &Error{Message: "Unknown path components: " + rest, Type: "OAuthException", Code: 2500, HTTPStatus: 400}
}

// The presets a test injects (FailNext, SetErrorRate) or the fake answers
// on its own. Each call returns a fresh value.

// ErrUnknown is HTTP 500, code 1: "An unknown error occurred".
func ErrUnknown() *Error {
	return &Error{Message: "An unknown error occurred", Type: "OAuthException", Code: 1, IsTransient: transient(), HTTPStatus: 500}
}

// ErrUnavailable is HTTP 503, code 2: the service is temporarily down.
func ErrUnavailable() *Error {
	return &Error{Message: "An unexpected error has occurred. Please retry your request later.", Type: "OAuthException", Code: 2, IsTransient: transient(), HTTPStatus: 503}
}

// ErrSomethingWrong is HTTP 500, code 131000.
func ErrSomethingWrong() *Error {
	return oauth(500, 131000, "Something went wrong", "Something went wrong. Please try again later.")
}

// ErrThroughput is code 130429 (the number's messages per second) with
// Retry-After; status is the HTTP status (Meta's table says 400, 429 is
// also seen).
func ErrThroughput(status int, retryAfter time.Duration) *Error {
	e := oauth(status, 130429, "Rate limit hit", "Cloud API message throughput has been reached.")
	e.RetryAfter, e.RetryAfterSet = retryAfter, true
	return e
}

// ErrPairRate is code 131056: too many messages to the same user.
func ErrPairRate() *Error {
	return oauth(400, 131056, "(Business Account, Consumer Account) pair rate limit hit",
		"Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.")
}

// ErrAppRateLimit is HTTP 429, code 4 (application request limit) with
// Retry-After and X-Business-Use-Case-Usage.
func ErrAppRateLimit(retryAfter time.Duration) *Error {
	return &Error{Message: "(#4) Application request limit reached", Type: "OAuthException", Code: 4, Subcode: 2446079,
		IsTransient: transient(), HTTPStatus: 429, RetryAfter: retryAfter, RetryAfterSet: true, Usage: 15}
}

// ErrWABARateLimit is code 80007, the business account's rate limit.
func ErrWABARateLimit(retryAfter time.Duration) *Error {
	e := oauth(400, 80007, "The WhatsApp Business Account has reached its rate limit", "")
	e.RetryAfter, e.RetryAfterSet, e.Usage = retryAfter, true, 15
	return e
}

// ErrInvalidToken is HTTP 401, code 190: the access token is not valid.
func ErrInvalidToken() *Error {
	return &Error{Message: "Invalid OAuth access token - Cannot parse access token", Type: "OAuthException", Code: 190, HTTPStatus: 401}
}

// ErrExpiredToken is HTTP 401, code 190, subcode 463.
func ErrExpiredToken() *Error {
	return &Error{Message: "Error validating access token: Session has expired.", Type: "OAuthException", Code: 190, Subcode: 463, HTTPStatus: 401}
}

// ErrReengagement is code 131047 answered synchronously.
func ErrReengagement() *Error {
	return oauth(400, 131047, "Re-engagement message",
		"Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
}

// LostAnswer is not an answer: on POST /messages the fake carries the
// call out (the message is accepted, counted and gets its statuses) and
// then closes the connection without answering, as when the network fails
// between Meta and the business; the client cannot know whether its
// message went, only the status webhook (with biz_opaque_callback_data)
// tells it. On other endpoints the connection closes before anything is
// done.
func LostAnswer() *Error {
	return &Error{Message: "connection closed before the answer", Type: "Transport", drop: true}
}

// Injectable returns the presets of the default random error mix: 5xx and
// 429 answers, the 429s with Retry-After: retryAfter.
func Injectable(retryAfter time.Duration) []*Error {
	return []*Error{ErrUnknown(), ErrUnavailable(), ErrThroughput(http.StatusTooManyRequests, retryAfter), ErrAppRateLimit(retryAfter)}
}

// Asynchronous failures carried by a "failed" status webhook.
var failureTitles = map[int][2]string{
	131000: {"Something went wrong", "Message failed to send due to an unknown error."},
	131009: {"Parameter value is not valid", "The message you reacted to could not be found or is not eligible for a reaction."},
	131026: {"Message undeliverable", "Message Undeliverable."},
	131047: {"Re-engagement message", "More than 24 hours have passed since the recipient last replied to the sender number."},
	131049: {"This message was not delivered to maintain healthy ecosystem engagement.", "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
	131050: {"Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business", "The recipient stopped marketing messages from this business."},
	131053: {"Media upload error", "Unable to download the media from the link provided."},
	130472: {"User's number is part of an experiment", "Failed to send message because this user's phone number is part of an experiment"},
	131051: {"Message type unknown", "Message type is currently not supported."},
}

// FailureError returns the webhook error object for an asynchronous
// failure code (131026, 131047, 131049, 131050, 131053, 130472, …).
func FailureError(code int) WebhookError {
	t, ok := failureTitles[code]
	if !ok {
		t = [2]string{"Message failed to send", "Message failed to send."}
	}
	return webhookError(code, t[0], t[1])
}
