package conversation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/problem"
)

func fieldErr(err error, field string) string {
	if p, ok := problem.As(err); ok {
		return p.Fields[field]
	}
	return ""
}

// TestSetOwner sets a contact's owner by agent id or by email under the
// owner rules: admins and service agents for contacts they see, sales
// only for their own; the new owner an active agent; an address with no
// account kept as a pending owner, which owns no conversation.
func TestSetOwner(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		conv := f.receive(t, f.inbox, "a", "a1", "hello").Conversation
		id := conv.ContactID
		email := func(s string) contact.OwnerRef { return contact.OwnerRef{Email: &s} }
		agent := func(id int64) contact.OwnerRef { return contact.OwnerRef{AgentID: &id} }
		convOwner := func() *int64 {
			t.Helper()
			c, err := f.svc.Get(ctx, f.admin, conv.ID)
			if err != nil {
				t.Fatal(err)
			}
			return c.OwnerID
		}

		// By email: a user's address is that user.
		c, err := f.svc.SetOwner(ctx, f.service, id, email(" SALES@x.test "))
		if err != nil || c.OwnerID == nil || *c.OwnerID != f.sales.UserID || c.OwnerEmail != nil {
			t.Fatalf("by a user's email: %+v %v", c, err)
		}
		if o := convOwner(); o == nil || *o != f.sales.UserID {
			t.Fatalf("conversation owner %v", o)
		}
		// An address with no account: pending, and the conversation has
		// no owner.
		c, err = f.svc.SetOwner(ctx, f.admin, id, email("Newcomer@Example.com"))
		if err != nil || c.OwnerID != nil || c.OwnerEmail == nil || *c.OwnerEmail != "newcomer@example.com" {
			t.Fatalf("pending: %+v %v", c, err)
		}
		if o := convOwner(); o != nil {
			t.Fatalf("conversation owner %v with a pending owner", *o)
		}
		// A sales agent cannot take a contact pending on someone else,
		// nor one a colleague owns.
		if _, err := f.svc.SetOwner(ctx, f.sales, id, agent(f.sales.UserID)); err == nil {
			t.Fatal("sales took a contact they do not own")
		}
		if _, err := f.svc.SetOwner(ctx, f.service, id, agent(f.outsider.UserID)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SetOwner(ctx, f.sales, id, email("sales@x.test")); err == nil {
			t.Fatal("sales took a colleague's customer")
		}
		// A sales agent hands their own customer over, by email too.
		if _, err := f.svc.SetOwner(ctx, f.admin, id, agent(f.sales.UserID)); err != nil {
			t.Fatal(err)
		}
		if c, err := f.svc.SetOwner(ctx, f.sales, id, email("someone@example.com")); err != nil || *c.OwnerEmail != "someone@example.com" {
			t.Fatalf("sales hands over to a pending owner: %+v %v", c, err)
		}

		// The new owner must be an active agent.
		var manager, gone int64
		err = d.Write(ctx, func(tx *db.Tx) error {
			if err := tx.QueryRow(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('m@x.test', 'M', 'inbox_manager', 'x', $1, $1) RETURNING id`, db.Now()).Scan(&manager); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `INSERT INTO users (email, name, role, password_hash, deactivated_at, created_at, updated_at) VALUES ('g@x.test', 'G', 'service', 'x', $1, $1, $1) RETURNING id`, db.Now()).Scan(&gone)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			ref   contact.OwnerRef
			field string
			want  string
		}{
			{"inbox manager by email", email("m@x.test"), "email", "Only agents who work with customers"},
			{"inbox manager by id", agent(manager), "agent_id", "Only agents who work with customers"},
			{"deactivated", email("g@x.test"), "email", "deactivated"},
			{"no such agent", agent(99999), "agent_id", "There is no agent with id 99999"},
			{"not an address", email("nobody"), "email", "Enter a valid email address"},
			{"both", contact.OwnerRef{AgentID: &f.sales.UserID, Email: new("a@b.test")}, "agent_id", "either agent_id or email"},
		} {
			if _, err := f.svc.SetOwner(ctx, f.admin, id, tc.ref); !strings.Contains(fieldErr(err, tc.field), tc.want) {
				t.Errorf("%s: %v, want %s: %s", tc.name, err, tc.field, tc.want)
			}
		}
		// Neither: no owner.
		if c, err := f.svc.SetOwner(ctx, f.admin, id, contact.OwnerRef{}); err != nil || c.OwnerID != nil || c.OwnerEmail != nil {
			t.Fatalf("cleared: %+v %v", c, err)
		}
		// A service agent outside the contact's inbox does not see it.
		if _, err := f.svc.SetOwner(ctx, f.outsider, id, agent(f.sales.UserID)); err == nil {
			t.Fatal("an outsider changed the owner")
		}
	})
}

// TestSetOwnerMovesConversations: the open conversation the previous
// owner was working moves to the new owner when the new owner may be
// assigned it, whether the owner is named by id or by email; else it goes
// through routing (here there is none: it waits unassigned).
func TestSetOwnerMovesConversations(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		conv := f.receive(t, f.inbox, "a", "a1", "hello").Conversation
		if _, err := f.svc.SetOwner(ctx, f.admin, conv.ContactID, contact.OwnerRef{AgentID: &f.service.UserID}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Assign(ctx, f.admin, conv.ID, &f.service.UserID); err != nil {
			t.Fatal(err)
		}
		assignee := func() int64 {
			t.Helper()
			c, err := f.svc.Get(ctx, f.admin, conv.ID)
			if err != nil {
				t.Fatalf("%+v %v", c, err)
			}
			if c.AssigneeID == nil {
				return 0
			}
			return *c.AssigneeID
		}
		// The sales agent is not a member of the inbox: routing decides.
		if _, err := f.svc.SetOwner(ctx, f.service, conv.ContactID, contact.OwnerRef{Email: new("sales@x.test")}); err != nil {
			t.Fatal(err)
		}
		if a := assignee(); a != 0 {
			t.Fatalf("assignee %d, want none (the new owner is not a member, and no rule places it)", a)
		}
		// Back to the service agent, working it again, then to the admin
		// by email: it moves.
		if _, err := f.svc.SetOwner(ctx, f.admin, conv.ContactID, contact.OwnerRef{AgentID: &f.service.UserID}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Assign(ctx, f.admin, conv.ID, &f.service.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SetOwner(ctx, f.service, conv.ContactID, contact.OwnerRef{Email: new("admin@x.test")}); err != nil {
			t.Fatal(err)
		}
		if a := assignee(); a != f.admin.UserID {
			t.Fatalf("assignee %d, want the new owner %d", a, f.admin.UserID)
		}
	})
}

// TestImportContacts is for admins; an import that changes the owner of
// a contact with an open conversation moves it as an owner change does.
func TestImportContacts(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		conv := f.receive(t, f.inbox, "a", "a1", "hello").Conversation
		if _, err := f.svc.UpdateContact(ctx, f.admin, conv.ContactID, contact.Patch{Email: new("a@example.com"), OwnerID: &f.service.UserID}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Assign(ctx, f.admin, conv.ID, &f.service.UserID); err != nil {
			t.Fatal(err)
		}
		read := func(s string) *contact.Import {
			im, err := contact.ReadCSV(strings.NewReader(s), contact.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return im
		}
		file := "email,owner\na@example.com,admin@x.test\nb@example.com,\n"
		if _, err := f.svc.ImportContacts(ctx, f.service, read(file), true); !isKind(err, problem.KindForbidden) {
			t.Fatalf("service imported: %v", err)
		}
		if _, err := f.svc.ImportContacts(ctx, f.sales, read(file), false); !isKind(err, problem.KindForbidden) {
			t.Fatalf("sales imported: %v", err)
		}
		r, err := f.svc.ImportContacts(ctx, f.admin, read(file), true)
		if err != nil || !r.DryRun || r.Created != 1 || r.Updated != 1 {
			t.Fatalf("dry run %+v %v", r, err)
		}
		r, err = f.svc.ImportContacts(ctx, f.admin, read(file), false)
		if err != nil || r.Created != 1 || r.Updated != 1 {
			t.Fatalf("import %+v %v", r, err)
		}
		c, err := f.svc.Get(ctx, f.admin, conv.ID)
		if err != nil || c.OwnerID == nil || *c.OwnerID != f.admin.UserID || c.AssigneeID == nil || *c.AssigneeID != f.admin.UserID {
			t.Fatalf("conversation after the import: %+v %v", c, err)
		}
		// A bad file: a 422 with every error, nothing written.
		r, err = f.svc.ImportContacts(ctx, f.admin, read("email,owner\nc@example.com,\nnot-mail,\n"), false)
		if !isKind(err, problem.KindInvalid) || len(r.Errors) != 1 || r.Errors[0].Line != 3 {
			t.Fatalf("bad file: %+v %v", r, err)
		}
		if list, _ := f.svc.Contacts(ctx, f.admin, contact.ListOptions{Query: "c@example.com", Limit: 5}); len(list) != 0 {
			t.Fatalf("a refused import wrote %+v", list)
		}
	})
}
