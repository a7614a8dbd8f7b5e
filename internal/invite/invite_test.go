package invite_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type outbox struct {
	mu    sync.Mutex
	mails []mail.Message
}

func (o *outbox) Send(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	o.mails = append(o.mails, m)
	o.mu.Unlock()
	return nil
}

// wait returns the n-th mail.
func (o *outbox) wait(t *testing.T, n int) mail.Message {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		o.mu.Lock()
		if len(o.mails) >= n {
			m := o.mails[n-1]
			o.mu.Unlock()
			return m
		}
		o.mu.Unlock()
	}
	t.Fatalf("no mail #%d", n)
	return mail.Message{}
}

func token(t *testing.T, m mail.Message) string {
	t.Helper()
	i := strings.Index(m.Text, "/invitations/")
	if i < 0 {
		t.Fatalf("no link in %q", m.Text)
	}
	return strings.Fields(m.Text[i+len("/invitations/"):])[0]
}

func fieldOf(err error, f string) string {
	p, _ := problem.As(err)
	if p == nil {
		return ""
	}
	return p.Fields[f]
}

func message(err error) string {
	if p, ok := problem.As(err); ok {
		return p.Message
	}
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestInvitations(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		log := event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler))
		box, _ := secret.NewBox(make([]byte, 32))
		q := job.NewQueue()
		out := &outbox{}
		mo := mail.NewOutbox(q, box, out)
		r := job.NewRunner(d, q, job.Config{Poll: 10 * time.Millisecond}, slog.New(slog.DiscardHandler))
		r.Handle(mail.Job, mo)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { r.Run(rctx); close(done) }()
		defer func() { cancel(); <-done }()
		cat, _ := i18n.Load(fstest.MapFS{"es/a.json": {Data: []byte(`{"%s invites you to Switchboard": "%s te invita a Switchboard", "Service": "Atención al cliente"}`)}})
		hash := func(string) (string, error) { return "hash", nil }
		users := user.NewStore(d, log, hash)
		base, _ := url.Parse("https://sb.example.com")
		svc := invite.New(d, mo, cat, base, hash)

		admin, _ := users.Create(ctx, user.NewUser{Email: "admin@example.com", Name: "Ada", Role: policy.Admin, Password: "long enough password", Language: "es"})
		in, _, err := inbox.NewStore(d, log, box, webchat.Channel()).Create(ctx, inbox.NewInbox{Type: webchat.Type, Name: "Site"})
		if err != nil {
			t.Fatal(err)
		}

		// Refused field by field.
		_, err = svc.Create(ctx, invite.NewInvitation{Email: "not an address", Role: "boss"}, admin)
		if fieldOf(err, "email") == "" || fieldOf(err, "role") == "" {
			t.Fatalf("bad invitation: %v", err)
		}
		if _, err := svc.Create(ctx, invite.NewInvitation{Email: "ADMIN@example.com", Role: policy.Service}, admin); !strings.Contains(fieldOf(err, "email"), "already has an account") {
			t.Fatalf("existing user: %v", err)
		}
		if _, err := svc.Create(ctx, invite.NewInvitation{Email: "bo@example.com", Role: policy.Service, InboxIDs: []int64{in.ID + 99}}, admin); fieldOf(err, "inbox_ids") == "" {
			t.Fatalf("unknown inbox: %v", err)
		}

		inv, err := svc.Create(ctx, invite.NewInvitation{Email: " Bo@Example.com ", Role: policy.Service, InboxIDs: []int64{in.ID, in.ID}}, admin)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Email != "bo@example.com" || inv.State != invite.Pending || len(inv.InboxIDs) != 1 || inv.ExpiresAt.Sub(inv.CreatedAt) != 7*24*time.Hour {
			t.Fatalf("invitation %+v", inv)
		}
		m := out.wait(t, 1)
		if m.To != "bo@example.com" || m.Subject != "Ada te invita a Switchboard" || !strings.Contains(m.Text, "Atención al cliente") ||
			!strings.Contains(m.Text, "https://sb.example.com/invitations/sbi_") {
			t.Fatalf("mail %+v", m)
		}
		first := token(t, m)

		// Sent again: a new link; the old one no longer works.
		if _, err := svc.Resend(ctx, inv.ID, admin); err != nil {
			t.Fatal(err)
		}
		second := token(t, out.wait(t, 2))
		if _, err := svc.Open(ctx, first); !strings.Contains(message(err), "does not work") {
			t.Fatalf("old link: %v", err)
		}
		if got, err := svc.Open(ctx, second); err != nil || got.ID != inv.ID {
			t.Fatalf("new link: %+v %v", got, err)
		}

		_, err = svc.Accept(ctx, second, invite.Acceptance{Name: "", Password: "short", Repeat: "short"})
		if fieldOf(err, "name") == "" || fieldOf(err, "password") == "" {
			t.Fatalf("bad acceptance: %v", err)
		}
		_, err = svc.Accept(ctx, second, invite.Acceptance{Name: "Bo", Password: "long enough password", Repeat: "long enough passw0rd"})
		if fieldOf(err, "repeat_password") == "" {
			t.Fatalf("different repeat: %v", err)
		}

		// Two clicks at once make one account.
		var wg sync.WaitGroup
		var made atomic.Int32
		var bo user.User
		var mu sync.Mutex
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := svc.Accept(ctx, second, invite.Acceptance{Name: "Bo Berg", Password: "long enough password", Repeat: "long enough password", Language: "es"})
				if err == nil {
					made.Add(1)
					mu.Lock()
					bo = u
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if made.Load() != 1 {
			t.Fatalf("%d accounts from one invitation", made.Load())
		}
		if bo.Role != policy.Service || len(bo.InboxIDs) != 1 || bo.InboxIDs[0] != in.ID || bo.Language != "es" || bo.Name != "Bo Berg" {
			t.Fatalf("account %+v", bo)
		}
		if _, err := svc.Open(ctx, second); !strings.Contains(message(err), "already been used") {
			t.Fatalf("used link: %v", err)
		}
		if _, err := svc.Resend(ctx, inv.ID, admin); err == nil {
			t.Fatal("resent an accepted invitation")
		}

		// Revoked and expired links say so.
		cy, _ := svc.Create(ctx, invite.NewInvitation{Email: "cy@example.com", Role: policy.Sales}, admin)
		cyToken := token(t, out.wait(t, 3))
		if err := svc.Revoke(ctx, cy.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Open(ctx, cyToken); !strings.Contains(message(err), "withdrawn") {
			t.Fatalf("revoked link: %v", err)
		}
		svc.Create(ctx, invite.NewInvitation{Email: "di@example.com", Role: policy.Sales}, admin)
		diToken := token(t, out.wait(t, 4))
		if _, err := d.Exec(ctx, `UPDATE invitations SET expires_at = $1 WHERE email = 'di@example.com'`, db.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Open(ctx, diToken); !strings.Contains(message(err), "expired on") {
			t.Fatalf("expired link: %v", err)
		}
		list, _ := svc.List(ctx)
		states := map[string]invite.State{}
		for _, i := range list {
			states[i.Email] = i.State
		}
		if states["bo@example.com"] != invite.Accepted || states["cy@example.com"] != invite.Revoked || states["di@example.com"] != invite.Expired {
			t.Errorf("states %v", states)
		}
		// Inviting an address again replaces its pending invitation.
		svc.Create(ctx, invite.NewInvitation{Email: "di@example.com", Role: policy.Service}, admin)
		if _, err := svc.Open(ctx, diToken); err == nil {
			t.Error("the replaced invitation still works")
		}
	})
}
