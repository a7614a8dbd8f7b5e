package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// phoneLine is a channel as a package would describe it: a line's number
// (public), a SIP password (secret), and an index of numbers of its own,
// written in the inbox's transaction.
type phoneLine struct {
	Number   string `json:"number"`
	Password string `json:"password,omitempty"`
}

type lineSecret struct {
	Password string `json:"password"`
}

// lineChannel records what the store asked of it.
type lineChannel struct {
	mu      sync.Mutex
	checked []*inbox.Settings // cur of each call
	written []int64
	// failWrite makes Written refuse the number.
	failWrite string
}

func (c *lineChannel) channel() inbox.Channel {
	return inbox.Channel{
		Type:      "phone",
		Misplaced: "Only phone lines have line settings.",
		Check: func(cur *inbox.Settings, given json.RawMessage, f problem.Fields) (inbox.Settings, string) {
			c.mu.Lock()
			c.checked = append(c.checked, cur)
			c.mu.Unlock()
			var l phoneLine
			if given != nil {
				json.Unmarshal(given, &l)
			}
			if l.Number == "" {
				f.Add("phone.number", "Enter the line's number.")
			}
			sec := lineSecret{Password: l.Password}
			shown := ""
			switch {
			case cur != nil && l.Password == "":
				json.Unmarshal(cur.Secret, &sec) // the password stays
			case cur == nil && l.Password == "":
				sec.Password, shown = "made-up-password", "made-up-password"
			}
			pub, _ := json.Marshal(phoneLine{Number: l.Number})
			s, _ := json.Marshal(sec)
			return inbox.Settings{Public: pub, Secret: s}, shown
		},
		Written: func(ctx context.Context, tx *event.Tx, inboxID int64, s inbox.Settings) error {
			var l phoneLine
			json.Unmarshal(s.Public, &l)
			if l.Number == c.failWrite {
				return problem.Invalid("phone.number", "Another line has this number.")
			}
			c.mu.Lock()
			c.written = append(c.written, inboxID)
			c.mu.Unlock()
			return nil
		},
	}
}

// siteChannel has a public token and no settings of its own.
var siteChannel = inbox.Channel{
	Type:        "site",
	PublicToken: true,
	Misplaced:   "Only sites have site settings.",
	Check: func(cur *inbox.Settings, given json.RawMessage, f problem.Fields) (inbox.Settings, string) {
		return inbox.Settings{Public: json.RawMessage(`{"greeting":"hi"}`)}, ""
	},
}

func newStore(t *testing.T, d *db.DB, channels ...inbox.Channel) *inbox.Store {
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return inbox.NewStore(d, event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler)), box, channels...)
}

func count(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM inboxes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChannelSettings shows that the store keeps a channel's settings
// without knowing them: public ones shown, secret ones sealed and opened
// only for the channel, its rows written in the inbox's transaction.
func TestChannelSettings(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		line := &lineChannel{failWrite: "+15550000000"}
		s := newStore(t, d, line.channel(), siteChannel)

		in, shown, err := s.Create(ctx, inbox.NewInbox{Type: "phone", Name: "Support line", Settings: map[inbox.Type]any{"phone": phoneLine{Number: "+15551230000"}}})
		if err != nil {
			t.Fatal(err)
		}
		if shown != "made-up-password" {
			t.Errorf("shown %q: what the channel made up is shown once", shown)
		}
		if string(in.Settings) != `{"number":"+15551230000"}` || in.Token != "" {
			t.Errorf("created %+v (settings %s)", in, in.Settings)
		}
		if len(line.checked) != 1 || line.checked[0] != nil || len(line.written) != 1 || line.written[0] != in.ID {
			t.Errorf("checked %v, written %v", line.checked, line.written)
		}
		var raw string
		if err := d.QueryRow(ctx, `SELECT secrets FROM inboxes WHERE id = $1`, in.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "made-up") || !strings.HasPrefix(raw, "v1:") {
			t.Errorf("secrets stored in the clear: %q", raw)
		}
		got, err := s.Get(ctx, in.ID)
		if err != nil || string(got.Settings) != `{"number":"+15551230000"}` {
			t.Fatalf("get: %v %s", err, got.Settings)
		}
		b, _ := json.Marshal(got)
		if strings.Contains(string(b), "password") {
			t.Errorf("the inbox shows a secret: %s", b)
		}
		if sec, err := s.Secret(ctx, in.ID); err != nil || string(sec) != `{"password":"made-up-password"}` {
			t.Errorf("secret: %s %v", sec, err)
		}

		// A change: the channel gets the stored settings with the secret
		// opened; a secret it keeps is not sealed again.
		line.checked = nil
		if _, _, err := s.Update(ctx, in.ID, inbox.Patch{Settings: map[inbox.Type]any{"phone": json.RawMessage(`{"number":"+15551239999"}`)}}); err != nil {
			t.Fatal(err)
		}
		if len(line.checked) != 1 || line.checked[0] == nil || string(line.checked[0].Secret) != `{"password":"made-up-password"}` {
			t.Fatalf("the change was checked with %+v", line.checked)
		}
		var after string
		d.QueryRow(ctx, `SELECT secrets FROM inboxes WHERE id = $1`, in.ID).Scan(&after)
		if after != raw {
			t.Error("an unchanged secret was sealed again")
		}
		if _, _, err := s.Update(ctx, in.ID, inbox.Patch{Settings: map[inbox.Type]any{"phone": phoneLine{Number: "+15551239999", Password: "new"}}}); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListWithSecrets(ctx, "phone")
		if err != nil || len(list) != 1 || string(list[0].Secret) != `{"password":"new"}` || string(list[0].Settings) != `{"number":"+15551239999"}` {
			t.Fatalf("with secrets: %v %+v", err, list)
		}

		// A change the channel's rows refuse leaves nothing changed.
		line.failWrite = "+15552220000"
		_, _, err = s.Update(ctx, in.ID, inbox.Patch{Name: new("Renamed"), Settings: map[inbox.Type]any{"phone": phoneLine{Number: "+15552220000"}}})
		if p, ok := problem.As(err); !ok || p.Fields["phone.number"] == "" {
			t.Fatalf("refused by the channel: %v", err)
		}
		if got, _ := s.Get(ctx, in.ID); got.Name != "Support line" || string(got.Settings) != `{"number":"+15551239999"}` {
			t.Errorf("half-written change: %+v %s", got, got.Settings)
		}
		// And a creation it refuses leaves no inbox.
		_, _, err = s.Create(ctx, inbox.NewInbox{Type: "phone", Name: "Copy", Settings: map[inbox.Type]any{"phone": phoneLine{Number: "+15552220000"}}})
		if _, ok := problem.As(err); !ok || count(t, d) != 1 {
			t.Errorf("refused creation: %v, %d inboxes", err, count(t, d))
		}

		// A channel with public tokens.
		site, _, err := s.Create(ctx, inbox.NewInbox{Type: "site", Name: "Shop"})
		if err != nil || site.Token == "" {
			t.Fatalf("site: %v %+v", err, site)
		}
		if byToken, err := s.ByToken(ctx, site.Token); err != nil || byToken.ID != site.ID || string(byToken.Settings) != `{"greeting":"hi"}` {
			t.Errorf("by token: %v %+v", err, byToken)
		}
		if err := s.SetSecret(ctx, site.ID, "phone", json.RawMessage(`"x"`)); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("a secret of another type: %v", err)
		}
	})
}

func TestChannelValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	line := &lineChannel{}
	s := newStore(t, d, line.channel(), siteChannel)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		n     inbox.NewInbox
		field string
	}{
		{"no type", inbox.NewInbox{Name: "x"}, "type"},
		{"unknown type", inbox.NewInbox{Type: "fax", Name: "x"}, "type"},
		{"no name", inbox.NewInbox{Type: "site"}, "name"},
		{"the channel's check", inbox.NewInbox{Type: "phone", Name: "x"}, "phone.number"},
		{"another channel's settings", inbox.NewInbox{Type: "site", Name: "x", Settings: map[inbox.Type]any{"phone": phoneLine{Number: "1"}}}, "phone"},
		{"settings of no channel", inbox.NewInbox{Type: "site", Name: "x", Settings: map[inbox.Type]any{"fax": 1}}, "fax"},
	} {
		_, _, err := s.Create(ctx, tc.n)
		p, ok := problem.As(err)
		if !ok || p.Fields[tc.field] == "" {
			t.Errorf("%s: %v, want a message for %s", tc.name, err, tc.field)
		}
	}
	_, _, err := s.Create(ctx, inbox.NewInbox{Type: "site", Name: "x", Settings: map[inbox.Type]any{"phone": phoneLine{Number: "1"}}})
	if p, _ := problem.As(err); p == nil || p.Fields["phone"] != "Only phone lines have line settings." {
		t.Errorf("misplaced: %v", err)
	}
	if n := count(t, d); n != 0 {
		t.Errorf("%d inboxes made of refused requests", n)
	}
}

// TestMembersAndLists: an inbox's members are each user once; a user's
// inboxes are those they are a member of, by name, with their members;
// admins list every inbox, agents their own.
func TestMembersAndLists(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		users := user.NewStore(d, event.NewLog(d, event.NewLocal(), nil), func(string) (string, error) { return "hash", nil })
		ana, err := users.Create(ctx, user.NewUser{Email: "ana@example.com", Name: "Ana", Role: policy.Service, Password: "long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		bo, _ := users.Create(ctx, user.NewUser{Email: "bo@example.com", Name: "Bo", Role: policy.Service, Password: "long enough password"})
		s := newStore(t, d, siteChannel)
		shop, _, err := s.Create(ctx, inbox.NewInbox{Type: "site", Name: "Shop", MemberIDs: []int64{bo.ID, ana.ID, ana.ID}})
		if err != nil || len(shop.MemberIDs) != 2 {
			t.Fatalf("create %+v %v", shop, err)
		}
		site, _, _ := s.Create(ctx, inbox.NewInbox{Type: "site", Name: "Main site", MemberIDs: []int64{ana.ID}})
		s.Create(ctx, inbox.NewInbox{Type: "site", Name: "Another"})
		of, err := s.Of(ctx, ana.ID)
		if err != nil || len(of) != 2 || of[0].ID != site.ID || of[1].ID != shop.ID || len(of[1].MemberIDs) != 2 {
			t.Fatalf("Of = %+v, %v", of, err)
		}
		if mine, _ := s.List(ctx, policy.Actor{UserID: bo.ID, Role: policy.Service}); len(mine) != 1 || mine[0].ID != shop.ID {
			t.Errorf("an agent's list %+v", mine)
		}
		if all, _ := s.List(ctx, policy.Actor{UserID: bo.ID, Role: policy.Admin}); len(all) != 3 || all[0].Name != "Another" {
			t.Errorf("an admin's list %+v", all)
		}
	})
}
