// Package mail sends Switchboard's email (invitations, sign-in codes). A
// mail is queued as a durable job in the transaction of the change that
// needs it, with its body encrypted (it carries sign-in links and codes),
// and sent by the job runner over SMTP: a failing SMTP server is retried
// with backoff, and a mail is never lost by a restart. Without an SMTP
// server configured, mail is written to the log instead.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// Message is one mail to one recipient, in plain text.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// Sender delivers a message. An error wrapped with job.Permanent means
// retrying cannot help (the server refused the recipient, say).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Config is where and how to reach the SMTP server.
type Config struct {
	Host string
	Port int
	// ImplicitTLS is smtps:// (TLS from the first byte, usually port 465);
	// otherwise STARTTLS is used when the server offers it.
	ImplicitTLS bool
	User        string
	Password    string
}

// ParseURL reads smtp://user:pass@host:port or smtps://…; the port
// defaults to 587 (smtp) and 465 (smtps).
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, errors.New("is not a URL")
	}
	var c Config
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.ImplicitTLS = 465, true
	default:
		return Config{}, fmt.Errorf("must start with smtp:// or smtps://, not %q", u.Scheme+"://")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return Config{}, errors.New("has no host (smtp://user:pass@host:port)")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return Config{}, fmt.Errorf("has an invalid port %q", p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" {
		return Config{}, errors.New("must not have a path")
	}
	return c, nil
}

// ParseFrom checks a From address ("Name <addr@host>" or "addr@host").
func ParseFrom(s string) (*netmail.Address, error) {
	a, err := netmail.ParseAddress(s)
	if err != nil || !strings.Contains(a.Address, "@") {
		return nil, errors.New(`is not an email address like "Switchboard <support@example.com>"`)
	}
	return a, nil
}

// SMTP sends mail through an SMTP server, one connection per mail (mail
// is rare: invitations and codes).
type SMTP struct {
	cfg  Config
	from *netmail.Address
}

// NewSMTP returns a sender through the server of cfg, from the address.
func NewSMTP(cfg Config, from *netmail.Address) *SMTP {
	return &SMTP{cfg: cfg, from: from}
}

// Send delivers m.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.FromFormat(s.from.Name, s.from.Address); err != nil {
		return job.Permanent(fmt.Errorf("mail: from: %w", err))
	}
	if err := msg.To(m.To); err != nil {
		return job.Permanent(fmt.Errorf("mail: to %q: %w", m.To, err))
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(30 * time.Second)}
	if s.cfg.ImplicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.cfg.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.User), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return job.Permanent(fmt.Errorf("mail: smtp client: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return job.Permanent(fmt.Errorf("mail: to %s: %w", m.To, err))
		}
		return fmt.Errorf("mail: to %s via %s: %w", m.To, net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), err)
	}
	return nil
}

// Log "sends" mail by writing it to the log: the default without an SMTP
// server, so that invitation links and codes can still be found.
type Log struct {
	Logger *slog.Logger
}

// Send writes m to the log.
func (l Log) Send(_ context.Context, m Message) error {
	l.Logger.Info("mail (no SMTP server configured: SWITCHBOARD_SMTP_URL)", "to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}

// Job is the kind of the jobs that send mail.
const Job = "mail.send"

// Outbox queues mail and is the handler of its jobs.
type Outbox struct {
	jobs *job.Sealed[Message]
}

// NewOutbox returns an outbox sending through sender; payloads are sealed
// with box.
func NewOutbox(queue *job.Queue, box *secret.Box, sender Sender) *Outbox {
	return &Outbox{jobs: job.NewSealed(queue, box, Job, job.Options{MaxAttempts: 15}, time.Minute, sender.Send)}
}

// Queue adds m to the outbox in tx: it is sent once tx commits.
func (o *Outbox) Queue(ctx context.Context, tx *db.Tx, m Message) error {
	if _, err := netmail.ParseAddress(m.To); err != nil {
		return fmt.Errorf("mail: queue: bad recipient %q", m.To)
	}
	return o.jobs.Enqueue(ctx, tx, m)
}

// Handle sends the message of a job.
func (o *Outbox) Handle(ctx context.Context, j *job.Job) error { return o.jobs.Handle(ctx, j) }
