package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// ownerWorld is an installation for the owner rules: two inboxes, Site
// and Shop, and the people who work them.
type ownerWorld struct {
	t          *testing.T
	d          *db.DB
	srv        *testrig.Server
	site, shop int64
	// admin; ivy, an inbox manager; sam, a service agent of both inboxes;
	// nora, a service agent of no inbox; ana and bob, sales agents (ana
	// of both inboxes, bob of Site only); dee, a service agent of both
	// inboxes whose account is deactivated.
	admin, ivy, sam, nora, ana, bob, dee *testrig.Client
	n                                    int
}

func newOwnerWorld(t *testing.T, d *db.DB) *ownerWorld {
	srv := testrig.Start(t, d)
	w := &ownerWorld{t: t, d: d, srv: srv}
	site, _ := srv.NewWebchatInbox("Site")
	shop, _ := srv.NewWebchatInbox("Shop")
	w.site, w.shop = site.ID, shop.ID
	w.admin = srv.NewUser("admin@example.com", policy.Admin)
	w.ivy = srv.NewUser("ivy@example.com", policy.InboxManager)
	w.sam = srv.NewUser("sam@example.com", policy.Service, w.site, w.shop)
	w.nora = srv.NewUser("nora@example.com", policy.Service)
	w.ana = srv.NewUser("ana@example.com", policy.Sales, w.site, w.shop)
	w.bob = srv.NewUser("bob@example.com", policy.Sales, w.site)
	w.dee = srv.NewUser("dee@example.com", policy.Service, w.site, w.shop)
	w.admin.Do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", w.dee.UserID), nil).Expect(200)
	return w
}

// customer is a contact with three conversations: one closed and one open
// on Site, one open on Shop.
type customer struct {
	contact                int64
	closed, openSite, shop int64
}

// newCustomer makes a customer owned by owner (0: nobody) whose
// conversations on Site are assigned to siteAgent and on Shop to
// shopAgent.
func (w *ownerWorld) newCustomer(owner, siteAgent, shopAgent int64) customer {
	t := w.t
	t.Helper()
	ctx := context.Background()
	w.n++
	say := func(in int64, contactID int64, external string) conversation.Conversation {
		t.Helper()
		r, err := w.srv.App.Conversations.Receive(ctx, conversation.Incoming{InboxID: in, ContactID: contactID, ExternalID: external,
			Profile: contact.Profile{Name: fmt.Sprintf("Customer %d", w.n)}, ChannelMessageID: fmt.Sprintf("m-%d-%d-%d", w.n, in, contactID), Text: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Conversation
	}
	assign := func(conv, to int64) {
		t.Helper()
		w.admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", conv), map[string]any{"assignee_id": to}).Expect(http.StatusOK)
	}
	external := fmt.Sprintf("visitor-%d", w.n)
	first := say(w.site, 0, external)
	var c customer
	c.contact, c.closed = first.ContactID, first.ID
	assign(c.closed, siteAgent)
	w.admin.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", c.closed), nil).Expect(http.StatusOK)
	w.n++
	c.openSite = say(w.site, 0, external).ID
	assign(c.openSite, siteAgent)
	c.shop = say(w.shop, c.contact, "").ID
	assign(c.shop, shopAgent)
	if owner != 0 {
		w.admin.Do("PATCH", fmt.Sprintf("/api/v1/contacts/%d", c.contact), map[string]any{"owner_id": owner}).Expect(http.StatusOK)
	}
	return c
}

// stored reads the contact's owner and its conversations' assignees from
// the database, and checks that the open ones carry the contact's owner.
func (w *ownerWorld) stored(c customer) (owner int64, assignees map[int64]int64) {
	t := w.t
	t.Helper()
	ctx := context.Background()
	var o *int64
	if err := w.d.QueryRow(ctx, `SELECT owner_id FROM contacts WHERE id = $1`, c.contact).Scan(&o); err != nil {
		t.Fatal(err)
	}
	if o != nil {
		owner = *o
	}
	assignees = map[int64]int64{}
	rows, err := w.d.Query(ctx, `SELECT id, status, assignee_id, owner_id FROM conversations WHERE contact_id = $1`, c.contact)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var status string
		var a, co *int64
		if err := rows.Scan(&id, &status, &a, &co); err != nil {
			t.Fatal(err)
		}
		if status == "open" && deref(co) != owner {
			t.Errorf("open conversation %d carries owner %d, the contact has %d", id, deref(co), owner)
		}
		if a != nil {
			assignees[id] = *a
		}
	}
	return owner, assignees
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// TestContactOwner changes contacts' owners as every role, over the API:
// who may change whose, who may be the owner, and which of the contact's
// conversations move to the new owner.
func TestContactOwner(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newOwnerWorld(t, d)
		const unknown = 999999
		ana, bob := w.ana.UserID, w.bob.UserID
		for _, tc := range []struct {
			name string
			as   *testrig.Client
			// the customer: owner, and the agents of its conversations on
			// Site and Shop
			owner, siteAgent, shopAgent int64
			// the owner asked for (0: none)
			to int64
			// the answer; the owner then stored; which conversations now
			// belong to the new owner ("site", "shop", "closed")
			status int
			field  string
			stored int64
			moved  []string
		}{
			// Admins and service agents may change the owner of contacts
			// they see; the open conversations the previous owner was
			// working move where the new owner is a member (bob: Site).
			{"admin, to a member agent", w.admin, ana, ana, ana, bob, 200, "", bob, []string{"site"}},
			{"admin, to themselves", w.admin, ana, ana, ana, w.admin.UserID, 200, "", w.admin.UserID, []string{"shop", "site"}},
			{"admin, to an agent of no inbox", w.admin, ana, ana, ana, w.nora.UserID, 200, "", w.nora.UserID, nil},
			{"admin, to a service agent of both", w.admin, ana, ana, ana, w.sam.UserID, 200, "", w.sam.UserID, []string{"shop", "site"}},
			{"admin, to nobody", w.admin, ana, ana, ana, 0, 200, "", 0, nil},
			{"admin, unowned contact", w.admin, 0, ana, ana, bob, 200, "", bob, nil},
			{"admin, to an inbox manager", w.admin, ana, ana, ana, w.ivy.UserID, 422, "owner_id", ana, nil},
			{"admin, to an unknown user", w.admin, ana, ana, ana, unknown, 422, "owner_id", ana, nil},
			{"admin, to a deactivated agent", w.admin, ana, ana, ana, w.dee.UserID, 422, "owner_id", ana, nil},
			{"service, a customer of a sales agent", w.sam, ana, ana, ana, bob, 200, "", bob, []string{"site"}},
			{"service, unowned contact", w.sam, 0, ana, ana, bob, 200, "", bob, nil},
			{"service, to an agent of no inbox", w.sam, ana, ana, ana, w.nora.UserID, 200, "", w.nora.UserID, nil},
			{"service, to an inbox manager", w.sam, ana, ana, ana, w.ivy.UserID, 422, "owner_id", ana, nil},
			{"service, to an unknown user", w.sam, ana, ana, ana, unknown, 422, "owner_id", ana, nil},
			{"service, to a deactivated agent", w.sam, ana, ana, ana, w.dee.UserID, 422, "owner_id", ana, nil},
			{"service, a contact of no inbox of theirs", w.nora, ana, ana, ana, w.nora.UserID, 404, "", ana, nil},
			// Inbox managers do not touch contacts.
			{"inbox manager", w.ivy, ana, ana, ana, w.ivy.UserID, 403, "", ana, nil},
			// Sales agents hand over their own customers only.
			{"sales, own customer to a colleague", w.ana, ana, ana, ana, bob, 200, "", bob, []string{"site"}},
			{"sales, own customer to an agent of no inbox", w.ana, ana, ana, ana, w.nora.UserID, 200, "", w.nora.UserID, nil},
			{"sales, own customer to nobody", w.ana, ana, ana, ana, 0, 200, "", 0, nil},
			{"sales, own customer to an inbox manager", w.ana, ana, ana, ana, w.ivy.UserID, 422, "owner_id", ana, nil},
			{"sales, own customer to an unknown user", w.ana, ana, ana, ana, unknown, 422, "owner_id", ana, nil},
			{"sales, a colleague's customer assigned to them", w.bob, ana, bob, ana, bob, 403, "", ana, nil},
			{"sales, a colleague's customer they do not see", w.bob, ana, ana, ana, bob, 404, "", ana, nil},
			{"sales, an unowned customer assigned to them", w.ana, 0, ana, ana, ana, 403, "", 0, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := w.newCustomer(tc.owner, tc.siteAgent, tc.shopAgent)
				_, before := w.stored(c)
				r := tc.as.Do("PATCH", fmt.Sprintf("/api/v1/contacts/%d", c.contact), map[string]any{"owner_id": tc.to})
				if r.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", r.StatusCode, tc.status, r.Body)
				}
				if tc.field != "" && r.Err().Fields[tc.field] == "" {
					t.Errorf("no message for %s: %s", tc.field, r.Body)
				}
				owner, after := w.stored(c)
				if owner != tc.stored {
					t.Errorf("stored owner %d, want %d", owner, tc.stored)
				}
				names := map[int64]string{c.openSite: "site", c.shop: "shop", c.closed: "closed"}
				var moved, routed, wantRouted []string
				for id, name := range names {
					// The open conversations the previous owner was working
					// that do not move to the new owner go through routing
					// (none here: they wait unassigned).
					if tc.status == 200 && tc.to != 0 && tc.owner != 0 && name != "closed" && before[id] == tc.owner && !slices.Contains(tc.moved, name) {
						wantRouted = append(wantRouted, name)
					}
					switch {
					case after[id] == before[id]:
					case after[id] == tc.to && tc.to != 0:
						moved = append(moved, name)
					case after[id] == 0:
						routed = append(routed, name)
					default:
						t.Errorf("%s conversation: assignee %d, was %d", name, after[id], before[id])
					}
				}
				slices.Sort(moved)
				slices.Sort(routed)
				slices.Sort(wantRouted)
				if !slices.Equal(moved, tc.moved) {
					t.Errorf("moved %v, want %v", moved, tc.moved)
				}
				if !slices.Equal(routed, wantRouted) {
					t.Errorf("routed %v, want %v", routed, wantRouted)
				}
			})
		}

		// Asking for the owner a contact has is no change: a sales agent
		// may save a customer of a colleague's without handing it over.
		c := w.newCustomer(ana, bob, ana)
		w.bob.Do("PATCH", fmt.Sprintf("/api/v1/contacts/%d", c.contact), map[string]any{"owner_id": ana, "name": "Renamed"}).Expect(http.StatusOK)
		// Refused owners leave the rest of the patch unwritten.
		w.admin.Do("PATCH", fmt.Sprintf("/api/v1/contacts/%d", c.contact), map[string]any{"owner_id": w.ivy.UserID, "name": "Not saved"}).Expect(http.StatusUnprocessableEntity)
		var name string
		if err := d.QueryRow(context.Background(), `SELECT name FROM contacts WHERE id = $1`, c.contact).Scan(&name); err != nil || name != "Renamed" {
			t.Errorf("name %q (%v), want Renamed", name, err)
		}
	})
}

// TestContactOwnerForm edits the owner in the conversation's contact
// panel: the form offers the agents who may own the contact to those who
// may change it, a read-only owner to the others, and shows a refusal
// beside the owner.
func TestContactOwnerForm(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newOwnerWorld(t, d)
		ana, bob := w.ana.UserID, w.bob.UserID
		hx := []string{"HX-Request", "true"}
		options := func(body string) []string {
			var out []string
			for _, part := range strings.Split(body, "<option")[1:] {
				_, v, _ := strings.Cut(part, `value="`)
				v, _, _ = strings.Cut(v, `"`)
				out = append(out, v)
			}
			return out
		}
		id := func(c *testrig.Client) string { return fmt.Sprint(c.UserID) }
		agents := []string{"", id(w.admin), id(w.ana), id(w.bob), id(w.nora), id(w.sam)} // by name, and "no owner"

		// Those who may change the owner are offered every agent and
		// no inbox manager.
		c := w.newCustomer(ana, ana, ana)
		form := func(as *testrig.Client, conv int64) string {
			t.Helper()
			return string(as.Do("GET", fmt.Sprintf("/inbox/conversations/%d/contact?edit=1", conv), nil, hx...).Expect(http.StatusOK).Body)
		}
		for _, as := range []*testrig.Client{w.admin, w.sam, w.ana} {
			body := form(as, c.openSite)
			if got := options(body); !slices.Equal(got, agents) || strings.Contains(body, "disabled") {
				t.Errorf("user %d is offered owners %v, want %v:\n%s", as.UserID, got, agents, body)
			}
		}
		// A sales agent sees a colleague's customer's owner, read-only.
		c2 := w.newCustomer(ana, bob, ana)
		body := form(w.bob, c2.openSite)
		if !strings.Contains(body, `<select name="owner_id" disabled`) || !strings.Contains(body, "<option>Ana</option>") || !strings.Contains(body, "Only the contact&#39;s owner can hand it over.") {
			t.Errorf("a colleague's customer's form:\n%s", body)
		}

		post := func(as *testrig.Client, conv int64, v url.Values) *testrig.Response {
			t.Helper()
			return as.Do("POST", fmt.Sprintf("/inbox/conversations/%d/contact", conv), strings.NewReader(v.Encode()),
				append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hx...)...)
		}
		fields := func(owner string) url.Values {
			return url.Values{"name": {"Customer"}, "phone": {""}, "email": {""}, "tags": {""}, "owner_id": {owner}}
		}
		// An owner who may not own contacts: the form again, with the
		// message beside the owner and the choice kept.
		r := post(w.ana, c.openSite, fields(id(w.ivy))).Expect(http.StatusUnprocessableEntity)
		if !strings.Contains(string(r.Body), `id="contact-owner-error"`) || !strings.Contains(string(r.Body), "Only agents who work with customers can own contacts") {
			t.Errorf("refused owner:\n%s", r.Body)
		}
		if owner, _ := w.stored(c); owner != ana {
			t.Errorf("owner %d after a refused change, want %d", owner, ana)
		}
		// A colleague's customer: the form without an owner saves the
		// rest; with one (a forged form), 403 and the message beside it.
		v := fields("")
		v.Del("owner_id")
		post(w.bob, c2.openSite, v).Expect(http.StatusOK)
		r = post(w.bob, c2.openSite, fields(id(w.bob))).Expect(http.StatusForbidden)
		if !strings.Contains(string(r.Body), `id="contact-owner-error"`) || !strings.Contains(string(r.Body), "You may change the owner only of customers you own.") {
			t.Errorf("forbidden owner change:\n%s", r.Body)
		}
		if owner, _ := w.stored(c2); owner != ana {
			t.Errorf("owner %d after a forbidden change, want %d", owner, ana)
		}
		// The sales agent hands their customer over: the conversation on
		// Site moves to bob, the one on Shop (not his inbox) goes through
		// routing (no rule here: unassigned); she no longer sees the one
		// on Site and goes back to the inbox.
		r = post(w.ana, c.openSite, fields(id(w.bob))).Expect(http.StatusNoContent)
		if got := r.Header.Get("HX-Redirect"); got != "/inbox" {
			t.Errorf("after handing over: HX-Redirect %q, want /inbox", got)
		}
		owner, assignees := w.stored(c)
		if owner != bob || assignees[c.openSite] != bob || assignees[c.shop] != 0 || assignees[c.closed] != ana {
			t.Errorf("after handing over: owner %d, assignees %v", owner, assignees)
		}
	})
}

// TestPendingOwnerInPanel: a contact whose owner is an address with no
// account yet shows that address in the conversation's contact panel, and
// saving the panel's form for something else keeps it.
func TestPendingOwnerInPanel(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newOwnerWorld(t, d)
		hx := []string{"HX-Request", "true"}
		c := w.newCustomer(0, w.ana.UserID, w.ana.UserID)
		w.admin.Do("PUT", fmt.Sprintf("/api/v1/contacts/%d/owner", c.contact), map[string]any{"email": "new.hire@example.com"}).Expect(http.StatusOK)
		panel := func() string {
			t.Helper()
			return string(w.admin.Do("GET", fmt.Sprintf("/inbox/conversations/%d/contact", c.openSite), nil, hx...).Expect(http.StatusOK).Body)
		}
		if body := panel(); !strings.Contains(body, "new.hire@example.com") || !strings.Contains(body, "(no account yet)") {
			t.Fatalf("panel without the pending owner:\n%s", body)
		}
		v := url.Values{"name": {"Renamed"}, "phone": {""}, "email": {""}, "tags": {""}, "owner_id": {""}}
		w.admin.Do("POST", fmt.Sprintf("/inbox/conversations/%d/contact", c.openSite), strings.NewReader(v.Encode()),
			append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hx...)...).Expect(http.StatusOK)
		var pending *string
		if err := d.QueryRow(context.Background(), `SELECT owner_email FROM contacts WHERE id = $1`, c.contact).Scan(&pending); err != nil || pending == nil || *pending != "new.hire@example.com" {
			t.Fatalf("pending owner after saving the form: %v %v", pending, err)
		}
	})
}
