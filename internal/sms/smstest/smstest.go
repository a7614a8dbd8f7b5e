// Package smstest is a local stand-in for Twilio's Messages API that
// speaks its wire format: POST /2010-04-01/Accounts/{AccountSid}/Messages.json
// with a form (To, From, Body) and HTTP basic auth, answering 201 with the
// message resource, or Twilio's error JSON ({code, message, more_info,
// status}). Tests point the real client at it and read the texts.
package smstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Account is the fake account's credentials and number.
const (
	AccountSID = "AC00000000000000000000000000000001"
	AuthToken  = "test-auth-token"
	From       = "+15550001111"
)

// Text is a message the fake accepted.
type Text struct {
	To, From, Body string
}

// Server is the fake Twilio.
type Server struct {
	URL string // http://127.0.0.1:PORT

	mu      sync.Mutex // guards texts, fail and arrived
	texts   []Text
	fail    []int // statuses to answer the next requests with
	arrived chan struct{}
}

// Start runs the fake until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// SMSURL is the SWITCHBOARD_SMS_URL that reaches the fake.
func (s *Server) SMSURL() string {
	return "twilio+http://" + AccountSID + ":" + AuthToken + "@" + strings.TrimPrefix(s.URL, "http://") + "?from=%2B15550001111"
}

// FailNext answers the next requests with these statuses (429, 500…).
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	s.fail = append(s.fail, statuses...)
	s.mu.Unlock()
}

// Texts returns what the fake accepted.
func (s *Server) Texts() []Text {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Text(nil), s.texts...)
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// Code waits for a text to `to` with a 6-digit code, looking at texts
// from index after on, and returns the code and the index to pass next.
func (s *Server) Code(t testing.TB, to string, after int) (string, int) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s.mu.Lock()
		for i := after; i < len(s.texts); i++ {
			if s.texts[i].To == to {
				if c := codeRE.FindStringSubmatch(s.texts[i].Body); c != nil {
					s.mu.Unlock()
					return c[1], i + 1
				}
			}
		}
		ch := s.arrived
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no text with a code to %s; received %+v", to, s.Texts())
		}
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status,
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	want := "/2010-04-01/Accounts/" + AccountSID + "/Messages.json"
	if r.URL.Path != want {
		twilioError(w, 404, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		twilioError(w, 405, 20004, "Method not allowed")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != AccountSID || pass != AuthToken {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	s.mu.Lock()
	if len(s.fail) > 0 {
		status := s.fail[0]
		s.fail = s.fail[1:]
		s.mu.Unlock()
		if status == 429 {
			w.Header().Set("Retry-After", "1")
			twilioError(w, 429, 20429, "Too Many Requests")
		} else {
			twilioError(w, status, 20500, "Internal Server Error")
		}
		return
	}
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		twilioError(w, 400, 20001, "Could not parse the request")
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	switch {
	case to == "":
		twilioError(w, 400, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to):
		twilioError(w, 400, 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", to))
		return
	case from != From:
		twilioError(w, 400, 21212, fmt.Sprintf("Invalid From Number (caller ID): %s", from))
		return
	case body == "":
		twilioError(w, 400, 21602, "Message body is required.")
		return
	case len([]rune(body)) > 1600:
		twilioError(w, 400, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	sid := "SM" + hex.EncodeToString(b)
	s.mu.Lock()
	s.texts = append(s.texts, Text{To: to, From: from, Body: body})
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC1123Z)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"account_sid": AccountSID, "api_version": "2010-04-01", "body": body, "date_created": now, "date_sent": nil,
		"date_updated": now, "direction": "outbound-api", "error_code": nil, "error_message": nil, "from": from,
		"messaging_service_sid": nil, "num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": sid, "status": "queued", "to": to, "uri": "/2010-04-01/Accounts/" + AccountSID + "/Messages/" + sid + ".json",
	})
}
