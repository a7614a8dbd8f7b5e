package whatsapp

import (
	"errors"
	"strconv"
	"time"
)

// failure is what a failed Graph call means for the message, decided by
// Meta's error code, not the HTTP status (whatsapp-cloud-api.md §4).
type failure struct {
	Code    string // Meta's code, or a name of ours
	Message string // for the agent
	Details string
	// Exactly one of these, or none for a transient error retried with
	// bounded backoff.
	Permanent bool // retrying cannot help: the message fails
	Throttled bool // the number (or the app, or the account) is over its rate: back off
	PairRate  bool // too many messages to this customer: retry them later
	Token     bool // the access token is expired or invalid: flag the inbox
	// Ambiguous is a send whose outcome is unknown (no answer came).
	Ambiguous  bool
	RetryAfter time.Duration
}

var (
	throttleCodes  = map[int]bool{4: true, 80007: true, 130429: true, 131048: true}
	transientCodes = map[int]bool{1: true, 2: true, 131000: true, 131016: true, 131053: true, 131057: true, 133004: true}
	tokenCodes     = map[int]bool{0: true, 190: true}
	// hints are what an agent can do about the common failures, shown
	// beside Meta's own words.
	hints = map[int]string{
		131047: "More than 24 hours have passed since the customer last wrote: send a template to reach them again.",
		131026: "WhatsApp could not deliver this message: the number may not be on WhatsApp, may have blocked the business, or runs an old version.",
		131051: "WhatsApp does not support this type of message.",
		131049: "Meta held back this marketing message to keep engagement healthy; try again in a day.",
		131050: "The customer stopped marketing messages from this business.",
		132000: "The template's values do not match its variables.",
		132001: "This template does not exist in this language or is not approved: synchronise the templates.",
		132015: "This template is paused for low quality.",
		132016: "This template is disabled.",
		100:    "WhatsApp refused a value of this message.",
		131009: "WhatsApp refused a value of this message.",
		368:    "The number is temporarily blocked for a policy violation.",
		131031: "The business account is locked.",
		131042: "The business account has a payment problem.",
		131021: "The business cannot message its own number.",
		131062: "This message needs the customer's phone number, which WhatsApp does not share.",
	}
)

// classify reads an error of a Graph call.
func classify(err error) failure {
	var ge *GraphError
	if !errors.As(err, &ge) {
		return failure{Code: "error", Message: err.Error()}
	}
	f := failure{Code: strconv.Itoa(ge.Code), Details: ge.Details, RetryAfter: ge.RetryAfter}
	f.Message = ge.Message
	if ge.UserMsg != "" {
		f.Message = ge.UserMsg
	}
	switch {
	case ge.Network != nil:
		f.Code, f.Message, f.Ambiguous = "network", ge.Describe(), true
	case tokenCodes[ge.Code] || (ge.HTTPStatus == 401 && ge.Code <= 0):
		f.Token = true
		f.Message = "The WhatsApp access token is expired or invalid: an admin must enter a new one."
		if ge.Message != "" {
			f.Details = ge.Message
		}
	case throttleCodes[ge.Code]:
		f.Throttled = true
	case ge.Code == 131056:
		f.PairRate = true
	case transientCodes[ge.Code], ge.Transient, ge.HTTPStatus >= 500 || ge.HTTPStatus == 429:
		// Retried with backoff; a 429 without a known code is throttling
		// of some proxy: the same.
		if ge.HTTPStatus == 429 {
			f.Throttled = true
		}
	default:
		f.Permanent = true
	}
	if ge.Code <= 0 && ge.Network == nil && !f.Token {
		f.Code = "http_" + strconv.Itoa(ge.HTTPStatus)
	}
	return f
}

// webhookFailure is a failed status's first error as the message keeps
// it: Meta's code, title and details.
func webhookFailure(errs []Error) (code, title, details string) {
	if len(errs) == 0 {
		return "failed", "WhatsApp could not deliver this message.", ""
	}
	e := errs[0]
	code, title, details = strconv.Itoa(e.Code), e.Title, e.Details
	if title == "" {
		title = e.Message
	}
	return code, title, details
}

// Hint says what an agent can do about a failure with Meta's code, or "".
func Hint(code string) string {
	n, err := strconv.Atoi(code)
	if err != nil {
		return ""
	}
	return hints[n]
}

// Hints lists every hint, for the translations' completeness test.
func Hints() []string {
	out := make([]string, 0, len(hints))
	for _, h := range hints {
		out = append(out, h)
	}
	return out
}
