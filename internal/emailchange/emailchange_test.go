package emailchange_test

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/mail/mailtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// rig is the service with its mail sent over SMTP to a test server.
type rig struct {
	svc   *emailchange.Service
	users *user.Store
	smtp  *mailtest.Server
	now   time.Time
	mu    sync.Mutex // guards now
	admin user.User
	ana   user.User
}

func newRig(t *testing.T, d *db.DB) *rig {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	log := event.NewLog(d, event.NewLocal(), quiet)
	box, _ := secret.NewBox(make([]byte, 32))
	q := job.NewQueue()
	smtp := mailtest.Start(t)
	cfg, err := mail.ParseURL(smtp.URL)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseFrom("Switchboard <switchboard@example.com>")
	out := mail.NewOutbox(q, box, mail.NewSMTP(cfg, from))
	runner := job.NewRunner(d, q, job.Config{Poll: 10 * time.Millisecond}, quiet)
	runner.Handle(mail.Job, out)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { runner.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	cat, err := i18n.Load(fstest.MapFS{"es/a.json": {Data: []byte(`{"Confirm your new email address for Switchboard": "Confirma tu nueva dirección de correo para Switchboard"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://sb.example.com")
	r := &rig{svc: emailchange.New(d, log, out, cat, base), users: user.NewStore(d, log, func(string) (string, error) { return "hash", nil }),
		smtp: smtp, now: time.Now()}
	r.svc.SetClock(func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now })
	if r.admin, err = r.users.Create(ctx, user.NewUser{Email: "admin@example.com", Name: "Ada Admin", Role: policy.Admin, Password: "long enough password"}); err != nil {
		t.Fatal(err)
	}
	if r.ana, err = r.users.Create(ctx, user.NewUser{Email: "ana@example.com", Name: "Ana Díaz", Role: policy.Service, Password: "long enough password", Language: "es"}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) later(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

// token is the token of the confirmation link in m.
func token(t *testing.T, m mailtest.Mail) string {
	t.Helper()
	link := m.Link()
	if !strings.HasPrefix(link, "https://sb.example.com/email-change/sbe_") {
		t.Fatalf("link %q in %q", link, m.Text)
	}
	return strings.TrimPrefix(link, "https://sb.example.com/email-change/")
}

func field(err error, f string) string {
	if p, ok := problem.As(err); ok {
		return p.Fields[f]
	}
	return ""
}

// TestChange: an admin asks; the new address gets a link in the user's
// language; the address changes only when the link is confirmed, once;
// the old address is told.
func TestChange(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := newRig(t, d)
		c, err := r.svc.Request(ctx, r.ana.ID, emailchange.Request{Email: " Ana.Diaz@Example.org "}, r.admin)
		if err != nil || c.Email != "ana.diaz@example.org" || *c.RequestedBy != r.admin.ID || c.ExpiresAt.Sub(c.CreatedAt) != emailchange.Lifetime {
			t.Fatalf("request %+v %v", c, err)
		}
		m := r.smtp.Wait(t, "ana.diaz@example.org", "Confirma tu nueva dirección")
		if !strings.Contains(m.Text, "Ada Admin") || !strings.Contains(m.Text, "ana.diaz@example.org") {
			t.Errorf("confirmation mail %q", m.Text)
		}
		tok := token(t, m)
		if p, err := r.svc.Pending(ctx, r.ana.ID); err != nil || p.Email != c.Email {
			t.Fatalf("pending %+v %v", p, err)
		}
		// Nothing changes before the confirmation.
		if u, _ := r.users.Get(ctx, r.ana.ID); u.Email != "ana@example.com" {
			t.Fatalf("changed before confirming: %s", u.Email)
		}
		o, err := r.svc.Open(ctx, tok)
		if err != nil || o.Current != "ana@example.com" || o.Email != c.Email || o.Name != "Ana Díaz" {
			t.Fatalf("open %+v %v", o, err)
		}
		u, err := r.svc.Confirm(ctx, tok)
		if err != nil || u.Email != "ana.diaz@example.org" {
			t.Fatalf("confirm %+v %v", u, err)
		}
		if got, _ := r.users.Get(ctx, r.ana.ID); got.Email != "ana.diaz@example.org" {
			t.Errorf("stored %s", got.Email)
		}
		if _, hash, err := r.users.Credentials(ctx, "ana.diaz@example.org"); err != nil || hash != "hash" {
			t.Errorf("sign-in by the new address: %v", err)
		}
		told := r.smtp.Wait(t, "ana@example.com", "ana.diaz@example.org")
		if strings.Contains(told.Text, "sbe_") {
			t.Errorf("the old address got the link: %q", told.Text)
		}
		// The link works once.
		if _, err := r.svc.Confirm(ctx, tok); err == nil {
			t.Error("a link confirmed twice")
		}
		if _, err := r.svc.Pending(ctx, r.ana.ID); err != emailchange.ErrNotFound {
			t.Errorf("pending after the change: %v", err)
		}
	})
}

// TestRefused: bad, unchanged or taken addresses are refused on the
// email field; asking again replaces the link; a cancelled or expired
// link does not work; an address taken meanwhile is a conflict.
func TestRefused(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := newRig(t, d)
		for email, want := range map[string]string{
			"not an address":    "Enter a valid email address, like name@example.com.",
			"ANA@example.com":   "This is the address already.",
			"admin@example.com": "Another account has this email address.",
		} {
			if _, err := r.svc.Request(ctx, r.ana.ID, emailchange.Request{Email: email}, r.admin); field(err, "email") != want {
				t.Errorf("%q: %v", email, err)
			}
		}
		if _, err := r.svc.Request(ctx, 9999, emailchange.Request{Email: "x@example.com"}, r.admin); err == nil {
			t.Error("a change for nobody")
		}
		if _, err := r.svc.Pending(ctx, r.ana.ID); err != emailchange.ErrNotFound {
			t.Fatalf("a refused request waits: %v", err)
		}

		// Asked twice: the first link stops working.
		r.svc.Request(ctx, r.ana.ID, emailchange.Request{Email: "one@example.com"}, r.admin)
		first := token(t, r.smtp.Wait(t, "one@example.com", "sbe_"))
		r.svc.Request(ctx, r.ana.ID, emailchange.Request{Email: "two@example.com"}, r.admin)
		second := token(t, r.smtp.Wait(t, "two@example.com", "sbe_"))
		if _, err := r.svc.Open(ctx, first); err == nil {
			t.Error("a replaced link works")
		}
		// Cancelled: the link stops working.
		if err := r.svc.Cancel(ctx, r.ana.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Confirm(ctx, second); err == nil {
			t.Error("a cancelled link works")
		}
		// Expired.
		r.svc.Request(ctx, r.ana.ID, emailchange.Request{Email: "three@example.com"}, r.admin)
		third := token(t, r.smtp.Wait(t, "three@example.com", "sbe_"))
		r.later(emailchange.Lifetime + time.Minute)
		if _, err := r.svc.Confirm(ctx, third); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("an expired link: %v", err)
		}
		if _, err := r.svc.Pending(ctx, r.ana.ID); err != emailchange.ErrNotFound {
			t.Errorf("an expired change waits: %v", err)
		}
		// Taken between the request and the confirmation.
		r.svc.Request(ctx, r.ana.ID, emailchange.Request{Email: "four@example.com"}, r.admin)
		fourth := token(t, r.smtp.Wait(t, "four@example.com", "sbe_"))
		if _, err := r.users.Create(ctx, user.NewUser{Email: "four@example.com", Name: "Fay", Role: policy.Sales, Password: "long enough password"}); err != nil {
			t.Fatal(err)
		}
		_, err := r.svc.Confirm(ctx, fourth)
		if p, ok := problem.As(err); !ok || p.Kind != problem.KindConflict {
			t.Errorf("an address taken meanwhile: %v", err)
		}
		if u, _ := r.users.Get(ctx, r.ana.ID); u.Email != "ana@example.com" {
			t.Errorf("changed to %s", u.Email)
		}
		for _, bad := range []string{"", "sbi_x", "sbe_" + strings.Repeat("x", 100)} {
			if _, err := r.svc.Open(ctx, bad); err == nil {
				t.Errorf("Open(%q) works", bad)
			}
		}
	})
}

// TestConfirmTwiceAtOnce: a link confirmed from two places at once
// changes the address once and tells the old address once.
func TestConfirmTwiceAtOnce(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := newRig(t, d)
		r.svc.Request(ctx, r.ana.ID, emailchange.Request{Email: "new@example.com"}, r.admin)
		tok := token(t, r.smtp.Wait(t, "new@example.com", "sbe_"))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = r.svc.Confirm(ctx, tok) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		if ok != 1 {
			t.Fatalf("%d confirmations succeeded: %v", ok, errs)
		}
		r.smtp.Wait(t, "ana@example.com", "new@example.com")
		n := 0
		for _, m := range r.smtp.Mails() {
			if slices.ContainsFunc(m.To, func(to string) bool { return strings.EqualFold(to, "ana@example.com") }) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the old address was told %d times", n)
		}
	})
}
