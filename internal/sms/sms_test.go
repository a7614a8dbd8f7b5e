package sms_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/sms"
	"github.com/switchboardhq/switchboard/internal/sms/smstest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestParseURL(t *testing.T) {
	c, err := sms.ParseURL("twilio://ACabc:tok3n@api.twilio.com?from=%2B15550001111")
	if err != nil || c != (sms.TwilioConfig{BaseURL: "https://api.twilio.com", AccountSID: "ACabc", AuthToken: "tok3n", From: "+15550001111"}) {
		t.Fatalf("ParseURL = %+v, %v", c, err)
	}
	c, err = sms.ParseURL("twilio+http://ACabc:tok3n@127.0.0.1:8080?from=%2B15550001111")
	if err != nil || c.BaseURL != "http://127.0.0.1:8080" {
		t.Fatalf("ParseURL http = %+v, %v", c, err)
	}
	for in, want := range map[string]string{
		"nexmo://a:b@x?from=%2B15550001111":          "twilio://",
		"twilio://api.twilio.com?from=%2B1555000111": "account SID",
		"twilio://a:b@api.twilio.com":                "from",
		"twilio://a:b@api.twilio.com?from=5550001":   "from",
	} {
		if _, err := sms.ParseURL(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) = %v, want an error about %q", in, err, want)
		}
	}
}

func client(s *smstest.Server) *sms.Twilio {
	return sms.NewTwilio(sms.TwilioConfig{BaseURL: s.URL, AccountSID: smstest.AccountSID, AuthToken: smstest.AuthToken, From: smstest.From}, nil)
}

// TestTwilio runs the real client against the local fake: a text goes
// through; Twilio's error answers are permanent (bad number, bad
// credentials) or retried (429 with Retry-After, 5xx).
func TestTwilio(t *testing.T) {
	s := smstest.Start(t)
	c := client(s)
	ctx := context.Background()
	if err := c.Send(ctx, sms.Message{To: "+34612345678", Text: "Tu código de Switchboard: 123456"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := s.Code(t, "+34612345678", 0); code != "123456" {
		t.Errorf("code %q", code)
	}

	err := c.Send(ctx, sms.Message{To: "612345678", Text: "x"})
	var te *sms.TwilioError
	if !job.IsPermanent(err) || !errors.As(err, &te) || te.Code != 21211 || te.Status != 400 {
		t.Errorf("bad number: %v (%+v)", err, te)
	}

	bad := sms.NewTwilio(sms.TwilioConfig{BaseURL: s.URL, AccountSID: smstest.AccountSID, AuthToken: "wrong", From: smstest.From}, nil)
	if err := bad.Send(ctx, sms.Message{To: "+34612345678", Text: "x"}); !job.IsPermanent(err) || !strings.Contains(err.Error(), "20003") {
		t.Errorf("bad credentials: %v", err)
	}

	s.FailNext(429)
	err = c.Send(ctx, sms.Message{To: "+34612345678", Text: "x"})
	if err == nil || job.IsPermanent(err) || !strings.Contains(err.Error(), "20429") {
		t.Errorf("429: %v", err)
	}
	s.FailNext(503)
	if err := c.Send(ctx, sms.Message{To: "+34612345678", Text: "x"}); err == nil || job.IsPermanent(err) {
		t.Errorf("503: %v", err)
	}
}

// TestOutbox queues a text, sealed, and the runner sends it after a 500.
func TestOutbox(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s := smstest.Start(t)
		box, _ := secret.NewBox(make([]byte, 32))
		q := job.NewQueue()
		r := job.NewRunner(d, q, job.Config{Poll: 20 * time.Millisecond, BaseBackoff: 50 * time.Millisecond}, slog.New(slog.DiscardHandler))
		out := sms.NewOutbox(q, box, client(s))
		r.Handle(sms.Job, out)
		s.FailNext(500)
		err := d.Write(context.Background(), func(tx *db.Tx) error {
			return out.Queue(context.Background(), tx, sms.Message{To: "+447700900123", Text: "Your code: 654321"})
		})
		if err != nil {
			t.Fatal(err)
		}
		var payload string
		d.QueryRow(context.Background(), `SELECT payload FROM jobs`).Scan(&payload)
		if strings.Contains(payload, "654321") {
			t.Errorf("payload not sealed: %s", payload)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		if code, _ := s.Code(t, "+447700900123", 0); code != "654321" {
			t.Errorf("code %q", code)
		}
		err = d.Write(context.Background(), func(tx *db.Tx) error {
			return out.Queue(context.Background(), tx, sms.Message{To: "0612", Text: "x"})
		})
		if err == nil {
			t.Error("queued a text to a number that is not E.164")
		}
	})
}
