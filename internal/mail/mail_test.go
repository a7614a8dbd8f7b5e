package mail_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/mail/mailtest"
	"github.com/switchboardhq/switchboard/internal/secret"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestParseURL(t *testing.T) {
	cases := []struct {
		in   string
		want mail.Config
		err  string
	}{
		{"smtp://user:p%40ss@mail.example.com:2525", mail.Config{Host: "mail.example.com", Port: 2525, User: "user", Password: "p@ss"}, ""},
		{"smtp://mail.example.com", mail.Config{Host: "mail.example.com", Port: 587}, ""},
		{"smtps://u:p@mail.example.com", mail.Config{Host: "mail.example.com", Port: 465, ImplicitTLS: true, User: "u", Password: "p"}, ""},
		{"http://mail.example.com", mail.Config{}, "smtp://"},
		{"smtp://", mail.Config{}, "no host"},
		{"smtp://mail.example.com:99999", mail.Config{}, "port"},
		{"smtp://mail.example.com/x", mail.Config{}, "path"},
	}
	for _, tc := range cases {
		got, err := mail.ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) error %v, want one about %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if _, err := mail.ParseFrom("Switchboard <support@example.com>"); err != nil {
		t.Error(err)
	}
	if _, err := mail.ParseFrom("support"); err == nil {
		t.Error("ParseFrom accepted an address without @")
	}
}

func smtpTo(t *testing.T, s *mailtest.Server) *mail.SMTP {
	t.Helper()
	cfg, err := mail.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseFrom("Switchboard <switchboard@example.com>")
	return mail.NewSMTP(cfg, from)
}

// TestSMTP sends over SMTP to a real server and reads the mail back,
// including non-ASCII text; refusals are temporary or permanent as the
// server says.
func TestSMTP(t *testing.T) {
	s := mailtest.Start(t)
	sender := smtpTo(t, s)
	ctx := context.Background()
	err := sender.Send(ctx, mail.Message{To: "ana@example.com", Subject: "Código de acceso", Text: "Tu código es 123456.\nCaduca en 5 minutos."})
	if err != nil {
		t.Fatal(err)
	}
	m := s.Wait(t, "ana@example.com", "Código")
	if m.Text != "Tu código es 123456.\nCaduca en 5 minutos." || !strings.Contains(m.From, "switchboard@example.com") {
		t.Errorf("received %+v", m)
	}

	s.FailNext(1, false)
	err = sender.Send(ctx, mail.Message{To: "ana@example.com", Subject: "x", Text: "y"})
	if err == nil || isPermanent(err) {
		t.Errorf("a 421 is permanent: %v", err)
	}
	s.FailNext(1, true)
	err = sender.Send(ctx, mail.Message{To: "nobody@example.com", Subject: "x", Text: "y"})
	if err == nil || !isPermanent(err) {
		t.Errorf("a 550 gave %v, want a permanent error", err)
	}
}

func isPermanent(err error) bool { return job.IsPermanent(err) }

// TestOutbox queues a mail in a transaction and lets the job runner send
// it; a server that refuses once gets it on the retry. The payload in the
// jobs table is sealed.
func TestOutbox(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s := mailtest.Start(t)
		key := make([]byte, 32)
		box, err := secret.NewBox(key)
		if err != nil {
			t.Fatal(err)
		}
		q := job.NewQueue()
		r := job.NewRunner(d, q, job.Config{Poll: 20 * time.Millisecond, BaseBackoff: 50 * time.Millisecond}, slog.New(slog.DiscardHandler))
		out := mail.NewOutbox(q, box, smtpTo(t, s))
		r.Handle(mail.Job, out)
		s.FailNext(1, false)
		err = d.Write(context.Background(), func(tx *db.Tx) error {
			return out.Queue(context.Background(), tx, mail.Message{To: "bo@example.com", Subject: "Invitation", Text: "Open https://sb.example.com/invitations/secret-token"})
		})
		if err != nil {
			t.Fatal(err)
		}
		var payload string
		if err := d.QueryRow(context.Background(), `SELECT payload FROM jobs WHERE kind = $1`, mail.Job).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(payload, "secret-token") || strings.Contains(payload, "bo@example.com") {
			t.Errorf("job payload is not sealed: %s", payload)
		}
		jobs := func() int {
			var n int
			if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = $1`, mail.Job).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := jobs(); n != 1 {
			t.Fatalf("%d mail jobs queued, want 1", n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		stop := sync.OnceFunc(func() { cancel(); <-done })
		defer stop()
		m := s.Wait(t, "bo@example.com", "Invitation")
		if m.Link() != "https://sb.example.com/invitations/secret-token" {
			t.Errorf("link %q", m.Link())
		}
		// Sent once: the job is done (its row gone), and once the runner
		// has stopped nothing else can send it.
		for deadline := time.Now().Add(10 * time.Second); jobs() != 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the mail job is still there after its mail arrived")
			}
		}
		stop()
		if n := s.Count(); n != 1 {
			t.Errorf("%d mails delivered, want 1", n)
		}
	})
}

func TestLogSender(t *testing.T) {
	var b strings.Builder
	l := mail.Log{Logger: slog.New(slog.NewTextHandler(&b, nil))}
	if err := l.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "Hi", Text: "Open https://x/invitations/t"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "https://x/invitations/t") || !strings.Contains(b.String(), "a@example.com") {
		t.Errorf("log: %s", b.String())
	}
}
