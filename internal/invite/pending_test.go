package invite_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

type pendingRig struct {
	d     *db.DB
	svc   *invite.Service
	convs *conversation.Service
	admin user.User
	actor policy.Actor
}

func newPendingRig(t *testing.T, d *db.DB) *pendingRig {
	t.Helper()
	ctx := context.Background()
	log := event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler))
	box, _ := secret.NewBox(make([]byte, 32))
	q := job.NewQueue()
	cat, _ := i18n.Load(fstest.MapFS{"es/a.json": {Data: []byte(`{}`)}})
	hash := func(string) (string, error) { return "hash", nil }
	base, _ := url.Parse("https://sb.example.com")
	r := &pendingRig{d: d, svc: invite.New(d, mail.NewOutbox(q, box, &outbox{}), cat, base, hash),
		convs: conversation.NewService(d, log, q, attachment.DefaultLimits, nil)}
	var err error
	r.admin, err = user.NewStore(d, log, hash).Create(ctx, user.NewUser{Email: "admin@example.com", Name: "Ada", Role: policy.Admin, Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	r.actor = policy.Actor{UserID: r.admin.ID, Role: policy.Admin}
	return r
}

func (r *pendingRig) newContact(t *testing.T, name string) int64 {
	t.Helper()
	var id int64
	err := r.d.Write(context.Background(), func(tx *db.Tx) error {
		return tx.QueryRow(context.Background(), `INSERT INTO contacts (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id`, name, db.Now()).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (r *pendingRig) invite(t *testing.T, email string, role policy.Role) string {
	t.Helper()
	inv, err := r.svc.Create(context.Background(), invite.NewInvitation{Email: email, Role: role}, r.admin)
	if err != nil {
		t.Fatal(err)
	}
	return inv.Link[strings.LastIndex(inv.Link, "/")+1:]
}

func (r *pendingRig) accept(token string) (user.User, error) {
	return r.svc.Accept(context.Background(), token, invite.Acceptance{Name: "New Agent", Password: "long enough password", Repeat: "long enough password"})
}

// TestAcceptClaimsPendingContacts gives the contacts pending on an
// address, and their conversations, to the person who accepts an
// invitation for it, in the acceptance's transaction; other addresses'
// stay pending, and an invitee who may not own contacts leaves them.
func TestAcceptClaimsPendingContacts(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := newPendingRig(t, d)
		mine := []int64{r.newContact(t, "A"), r.newContact(t, "B")}
		other := r.newContact(t, "C")
		managed := r.newContact(t, "D")
		for _, id := range mine {
			if _, err := r.convs.SetOwner(ctx, r.actor, id, contact.OwnerRef{Email: new("Bo@Example.com")}); err != nil {
				t.Fatal(err)
			}
		}
		r.convs.SetOwner(ctx, r.actor, other, contact.OwnerRef{Email: new("cy@example.com")})
		r.convs.SetOwner(ctx, r.actor, managed, contact.OwnerRef{Email: new("di@example.com")})
		// A conversation of the first contact carries its owner too.
		var inboxID, convID int64
		err := d.Write(ctx, func(tx *db.Tx) error {
			if err := tx.QueryRow(ctx, `INSERT INTO inboxes (type, name, public_token, created_at, updated_at) VALUES ('webchat', 'S', 's', $1, $1) RETURNING id`, db.Now()).Scan(&inboxID); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `INSERT INTO conversations (inbox_id, contact_id, status, started_by, last_activity_at, created_at, updated_at) VALUES ($1, $2, 'open', 'customer', $3, $3, $3) RETURNING id`,
				inboxID, mine[0], db.Now()).Scan(&convID)
		})
		if err != nil {
			t.Fatal(err)
		}

		bo, err := r.accept(r.invite(t, "bo@example.com", policy.Sales))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range mine {
			c, err := r.convs.Contact(ctx, r.actor, id)
			if err != nil || c.OwnerID == nil || *c.OwnerID != bo.ID || c.OwnerEmail != nil {
				t.Errorf("contact %d after acceptance: %+v %v", id, c, err)
			}
		}
		var owner *int64
		if err := d.QueryRow(ctx, `SELECT owner_id FROM conversations WHERE id = $1`, convID).Scan(&owner); err != nil || owner == nil || *owner != bo.ID {
			t.Errorf("conversation owner %v %v", owner, err)
		}
		if c, _ := r.convs.Contact(ctx, r.actor, other); c.OwnerID != nil || c.OwnerEmail == nil || *c.OwnerEmail != "cy@example.com" {
			t.Errorf("another address's contact: %+v", c)
		}
		// The new sales agent sees what became theirs.
		list, err := r.convs.Contacts(ctx, policy.Actor{UserID: bo.ID, Role: policy.Sales}, contact.ListOptions{Limit: 10})
		if err != nil || len(list) != 2 {
			t.Errorf("the new owner's contacts: %+v %v", list, err)
		}
		// An inbox manager owns nobody: the contact stays pending.
		if _, err := r.accept(r.invite(t, "di@example.com", policy.InboxManager)); err != nil {
			t.Fatal(err)
		}
		if c, _ := r.convs.Contact(ctx, r.actor, managed); c.OwnerID != nil || c.OwnerEmail == nil {
			t.Errorf("pending on an inbox manager's address: %+v", c)
		}
	})
}

// TestPendingOwnerRace sets pending owners while their invitations are
// being accepted, many at once: every contact ends with the account,
// never pending on an address that has one (on PostgreSQL the
// invitation's row orders the two; SQLite has one writer). On
// PostgreSQL it runs on one node and across two (the owners set on one,
// the invitations accepted on the other).
func TestPendingOwnerRace(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		pendingRace(t, d, newPendingRig(t, d))
	})
	t.Run("postgres two nodes", func(t *testing.T) {
		u := dbtest.PostgresURL(t)
		var nodes [2]*db.DB
		for i := range nodes {
			d, err := db.Open(context.Background(), u, "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			nodes[i] = d
		}
		r := newPendingRig(t, nodes[0])
		// Owners are set on the second node.
		r.convs = conversation.NewService(nodes[1], event.NewLog(nodes[1], event.NewLocal(), slog.New(slog.DiscardHandler)), job.NewQueue(), attachment.DefaultLimits, nil)
		pendingRace(t, nodes[0], r)
	})
}

func pendingRace(t *testing.T, d *db.DB, r *pendingRig) {
	ctx := context.Background()
	const n = 30
	tokens := make([]string, n)
	contacts := make([]int64, n)
	for i := range n {
		tokens[i] = r.invite(t, fmt.Sprintf("p%d@example.com", i), policy.Service)
		contacts[i] = r.newContact(t, fmt.Sprint(i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := r.convs.SetOwner(ctx, r.actor, contacts[i], contact.OwnerRef{Email: new(fmt.Sprintf("p%d@example.com", i))})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := r.accept(tokens[i])
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var pending int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM contacts c JOIN users u ON u.email = c.owner_email`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	var owned int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM contacts c JOIN users u ON u.id = c.owner_id AND u.email LIKE 'p%'`).Scan(&owned); err != nil {
		t.Fatal(err)
	}
	if pending != 0 || owned != n {
		t.Errorf("%d contacts pending on an address with an account, %d owned; want 0, %d", pending, owned, n)
	}
}
