// Package sms sends text messages (sign-in and verification codes)
// through a provider: Twilio's Messages API, or the log when no provider
// is configured. Like mail, a text is queued as a durable job (its body
// sealed) in the transaction that needs it, and the job runner sends it,
// retrying what the provider says may be retried.
package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// Message is one text to one phone number (E.164).
type Message struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

// Sender delivers a text. An error wrapped with job.Permanent means
// retrying cannot help.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// TwilioConfig is a Twilio account and the number texts come from.
type TwilioConfig struct {
	// BaseURL is https://api.twilio.com (another for a test double).
	BaseURL    string
	AccountSID string
	AuthToken  string
	From       string
}

// ParseURL reads SWITCHBOARD_SMS_URL:
// twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15550001111
// (twilio+http:// talks plain HTTP, for a local test double).
func ParseURL(raw string) (TwilioConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return TwilioConfig{}, errors.New("is not a URL")
	}
	var c TwilioConfig
	switch u.Scheme {
	case "twilio":
		c.BaseURL = "https://" + u.Host
	case "twilio+http":
		c.BaseURL = "http://" + u.Host
	default:
		return c, fmt.Errorf("must start with twilio:// (the only provider), not %q", u.Scheme+"://")
	}
	if u.Host == "" {
		return c, errors.New("has no host (twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15550001111)")
	}
	if u.User != nil {
		c.AccountSID = u.User.Username()
		c.AuthToken, _ = u.User.Password()
	}
	if c.AccountSID == "" || c.AuthToken == "" {
		return c, errors.New("needs the account SID and auth token as user and password")
	}
	c.From = u.Query().Get("from")
	if !phone.IsE164(c.From) {
		return c, errors.New("needs ?from= with the sending number in international format (%2B15550001111)")
	}
	return c, nil
}

// Twilio sends texts with Twilio's Messages API.
type Twilio struct {
	cfg    TwilioConfig
	client *http.Client
}

// NewTwilio returns a sender for the account of cfg.
func NewTwilio(cfg TwilioConfig, client *http.Client) *Twilio {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Twilio{cfg: cfg, client: client}
}

// TwilioError is an error answer of Twilio's API.
type TwilioError struct {
	Status   int    `json:"status"`
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

func (e *TwilioError) Error() string {
	return fmt.Sprintf("twilio: %d (code %d): %s", e.Status, e.Code, e.Message)
}

// Send posts the message to Twilio. 4xx answers other than 429 are
// permanent (a bad number, a bad account); 429 and 5xx are retried,
// after Retry-After when Twilio gives one.
func (t *Twilio) Send(ctx context.Context, m Message) error {
	form := url.Values{"To": {m.To}, "From": {t.cfg.From}, "Body": {m.Text}}
	endpoint := strings.TrimSuffix(t.cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return job.Permanent(err)
	}
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: twilio: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var ok struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal(body, &ok); err != nil || ok.SID == "" {
			return fmt.Errorf("sms: twilio: unexpected answer %d: %.200s", resp.StatusCode, body)
		}
		return nil
	}
	te := &TwilioError{Status: resp.StatusCode}
	if err := json.Unmarshal(body, te); err != nil || te.Message == "" {
		te.Message = strings.TrimSpace(fmt.Sprintf("%.200s", body))
	}
	te.Status = resp.StatusCode
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			return job.RetryAt(te, time.Now().Add(time.Duration(secs)*time.Second))
		}
		return te
	default:
		return job.Permanent(te)
	}
}

// Log "sends" texts by writing them to the log (no provider configured).
type Log struct {
	Logger *slog.Logger
}

// Send writes m to the log.
func (l Log) Send(_ context.Context, m Message) error {
	l.Logger.Info("sms (no provider configured: SWITCHBOARD_SMS_URL)", "to", m.To, "text", m.Text)
	return nil
}

// Job is the kind of the jobs that send texts.
const Job = "sms.send"

// Outbox queues texts and is the handler of their jobs.
type Outbox struct {
	jobs *job.Sealed[Message]
}

// NewOutbox returns an outbox sending through sender. Texts carry codes
// that expire in minutes, so they are tried a few times only.
func NewOutbox(queue *job.Queue, box *secret.Box, sender Sender) *Outbox {
	return &Outbox{jobs: job.NewSealed(queue, box, Job, job.Options{MaxAttempts: 5}, time.Minute, sender.Send)}
}

// Queue adds m to the outbox in tx.
func (o *Outbox) Queue(ctx context.Context, tx *db.Tx, m Message) error {
	if !phone.IsE164(m.To) {
		return fmt.Errorf("sms: queue: %q is not an E.164 number", m.To)
	}
	return o.jobs.Enqueue(ctx, tx, m)
}

// Handle sends the message of a job.
func (o *Outbox) Handle(ctx context.Context, j *job.Job) error { return o.jobs.Handle(ctx, j) }
