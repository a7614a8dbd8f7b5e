package whatsapp

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
)

func newSettingsStore(t *testing.T, d *db.DB) *inbox.Store {
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return inbox.NewStore(d, event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler)), box, Channel(job.NewQueue()))
}

func number(id string) *Config {
	return &Config{PhoneNumberID: id, WABAID: "102290129340398", DisplayPhoneNumber: "15550783881",
		AccessToken: "EAAG-token-" + id, AppSecret: "app-secret-" + id}
}

func TestWhatsAppInbox(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSettingsStore(t, d)

		in, shown, err := s.Create(ctx, inbox.NewInbox{Type: Type, Name: "Sales line", Settings: map[inbox.Type]any{Type: number("106540352242922")}})
		if err != nil {
			t.Fatal(err)
		}
		if shown == "" {
			t.Error("a verify token made up by the server must be shown once")
		}
		w, err := SettingsOf(in)
		if err != nil || w.PhoneNumberID != "106540352242922" || w.DisplayPhoneNumber != "+15550783881" || w.MessagesPerSecond != 80 ||
			!w.AccessTokenSet || !w.AppSecretSet || !w.VerifyTokenSet {
			t.Fatalf("settings: %+v", w)
		}
		got, err := s.Get(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(got)
		for _, secret := range []string{"EAAG-token", "app-secret", shown} {
			if strings.Contains(string(b), secret) {
				t.Errorf("the API form of the inbox shows a secret: %s", b)
			}
		}
		var raw string
		if err := d.QueryRow(ctx, `SELECT secrets FROM inboxes WHERE id = $1`, in.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "EAAG") || !strings.HasPrefix(raw, "v1:") {
			t.Errorf("secrets are stored in the clear: %q", raw)
		}

		// A second inbox with its own verify token; the same number is refused.
		cfg := number("106540352242923")
		cfg.VerifyToken = "my-verify-token"
		in2, shown2, err := s.Create(ctx, inbox.NewInbox{Type: Type, Name: "Support line", Settings: map[inbox.Type]any{Type: cfg}})
		if err != nil || shown2 != "" {
			t.Fatalf("second: %v, shown %q (an admin's own token is not shown back)", err, shown2)
		}
		_, _, err = s.Create(ctx, inbox.NewInbox{Type: Type, Name: "Copy", Settings: map[inbox.Type]any{Type: number("106540352242922")}})
		if p, ok := problem.As(err); !ok || p.Fields["whatsapp.phone_number_id"] == "" {
			t.Errorf("duplicate number: %v", err)
		}

		nums, err := numbersOf(ctx, s)
		if err != nil || len(nums) != 2 {
			t.Fatalf("numbers: %v %+v", err, nums)
		}
		if nums[0].AccessToken != "EAAG-token-106540352242922" || nums[0].AppSecret != "app-secret-106540352242922" || nums[0].VerifyToken != shown ||
			nums[1].VerifyToken != "my-verify-token" {
			t.Errorf("decrypted: %+v", nums)
		}
		for tok, want := range map[string]bool{shown: true, "my-verify-token": true, "other": false, "": false} {
			if ok, err := verifyTokenKnown(ctx, d, tok); err != nil || ok != want {
				t.Errorf("verify token %q: %v %v", tok, ok, err)
			}
		}

		// Patching: secrets left out stay, a new one replaces the old.
		newToken, rate := "EAAG-rotated", 250
		if _, _, err := s.Update(ctx, in2.ID, inbox.Patch{Settings: map[inbox.Type]any{Type: &Patch{AccessToken: &newToken, MessagesPerSecond: &rate}}}); err != nil {
			t.Fatal(err)
		}
		nums, _ = numbersOf(ctx, s)
		if nums[1].AccessToken != "EAAG-rotated" || nums[1].AppSecret != "app-secret-106540352242923" || nums[1].MessagesPerSecond != 250 {
			t.Errorf("after patch: %+v", nums[1])
		}
		taken := "106540352242922"
		if _, _, err := s.Update(ctx, in2.ID, inbox.Patch{Settings: map[inbox.Type]any{Type: &Patch{PhoneNumberID: &taken}}}); err == nil {
			t.Error("moving onto another inbox's number was accepted")
		}
		verify := "rotated-verify"
		if _, _, err := s.Update(ctx, in2.ID, inbox.Patch{Settings: map[inbox.Type]any{Type: &Patch{VerifyToken: &verify}}}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := verifyTokenKnown(ctx, d, "my-verify-token"); ok {
			t.Error("the old verify token still answers the handshake")
		}
		if ok, _ := verifyTokenKnown(ctx, d, "rotated-verify"); !ok {
			t.Error("the new verify token does not answer the handshake")
		}
	})
}

func TestWhatsAppValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	s := newSettingsStore(t, d)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		n     inbox.NewInbox
		field string
	}{
		{"no settings", inbox.NewInbox{Type: Type, Name: "x"}, "whatsapp"},
		{"phone id", inbox.NewInbox{Type: Type, Name: "x", Settings: map[inbox.Type]any{Type: &Config{PhoneNumberID: "abc", WABAID: "1", DisplayPhoneNumber: "+15550783881", AccessToken: "t", AppSecret: "s"}}}, "whatsapp.phone_number_id"},
		{"waba", inbox.NewInbox{Type: Type, Name: "x", Settings: map[inbox.Type]any{Type: &Config{PhoneNumberID: "1", DisplayPhoneNumber: "+15550783881", AccessToken: "t", AppSecret: "s"}}}, "whatsapp.waba_id"},
		{"display", inbox.NewInbox{Type: Type, Name: "x", Settings: map[inbox.Type]any{Type: &Config{PhoneNumberID: "1", WABAID: "1", DisplayPhoneNumber: "call us", AccessToken: "t", AppSecret: "s"}}}, "whatsapp.display_phone_number"},
		{"token", inbox.NewInbox{Type: Type, Name: "x", Settings: map[inbox.Type]any{Type: &Config{PhoneNumberID: "1", WABAID: "1", DisplayPhoneNumber: "+15550783881", AppSecret: "s"}}}, "whatsapp.access_token"},
		{"token spaces", inbox.NewInbox{Type: Type, Name: "x", Settings: map[inbox.Type]any{Type: &Config{PhoneNumberID: "1", WABAID: "1", DisplayPhoneNumber: "+15550783881", AccessToken: "EAAG abc", AppSecret: "s"}}}, "whatsapp.access_token"},
		{"secret", inbox.NewInbox{Type: Type, Name: "x", Settings: map[inbox.Type]any{Type: &Config{PhoneNumberID: "1", WABAID: "1", DisplayPhoneNumber: "+15550783881", AccessToken: "t"}}}, "whatsapp.app_secret"},
		{"rate", inbox.NewInbox{Type: Type, Name: "x", Settings: map[inbox.Type]any{Type: &Config{PhoneNumberID: "1", WABAID: "1", DisplayPhoneNumber: "+15550783881", AccessToken: "t", AppSecret: "s", MessagesPerSecond: 5000}}}, "whatsapp.messages_per_second"},
		{"settings of another channel", inbox.NewInbox{Type: Type, Name: "x", Settings: map[inbox.Type]any{Type: number("1"), "webchat": map[string]any{}}}, "webchat"},
	} {
		_, _, err := s.Create(ctx, tc.n)
		p, ok := problem.As(err)
		if !ok || p.Fields[tc.field] == "" {
			t.Errorf("%s: %v, want a message for %s", tc.name, err, tc.field)
		}
	}
}

// numbersOf reads the numbers as the channel's cache does.
func numbersOf(ctx context.Context, s *inbox.Store) ([]Number, error) {
	list, err := s.ListWithSecrets(ctx, Type)
	if err != nil {
		return nil, err
	}
	var out []Number
	for _, w := range list {
		n, err := numberOf(w)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// TestWhatsAppOnWebchat: a web chat inbox refuses WhatsApp settings with
// the channel's own message.
func TestWhatsAppOnWebchat(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	box, _ := secret.NewBox(make([]byte, 32))
	site := inbox.Channel{Type: "webchat", Check: func(*inbox.Settings, json.RawMessage, problem.Fields) (inbox.Settings, string) {
		return inbox.Settings{}, ""
	}}
	s := inbox.NewStore(d, event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler)), box, Channel(job.NewQueue()), site)
	_, _, err := s.Create(context.Background(), inbox.NewInbox{Type: "webchat", Name: "x", Settings: map[inbox.Type]any{Type: number("1")}})
	if p, ok := problem.As(err); !ok || p.Fields["whatsapp"] != "Only WhatsApp inboxes have WhatsApp settings." {
		t.Errorf("whatsapp settings on web chat: %v", err)
	}
}

// TestSettingsWrittenWithTheInbox: connecting a number, or changing its
// settings, has its templates synchronised and forgets a token Meta
// refused, in the inbox's own transaction, whoever writes it.
func TestSettingsWrittenWithTheInbox(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newSettingsStore(t, d)
		in, _, err := s.Create(ctx, inbox.NewInbox{Type: Type, Name: "Sales line", Settings: map[inbox.Type]any{Type: number("106540352242922")}})
		if err != nil {
			t.Fatal(err)
		}
		syncs := func() int {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1 AND dedup_key = $2`, TemplatesJob, templatesKey(in.ID)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if syncs() != 1 {
			t.Fatal("connecting a number did not have its templates synchronised")
		}
		if _, err := d.Exec(ctx, `DELETE FROM jobs`); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, `INSERT INTO whatsapp_state (inbox_id, token_error, token_error_at, updated_at) VALUES ($1, 'expired', $2, $2)`, in.ID, db.Now()); err != nil {
			t.Fatal(err)
		}
		name := "Renamed"
		if _, _, err := s.Update(ctx, in.ID, inbox.Patch{Name: &name}); err != nil {
			t.Fatal(err)
		}
		tokenError := func() string {
			var e string
			if err := d.QueryRow(ctx, `SELECT token_error FROM whatsapp_state WHERE inbox_id = $1`, in.ID).Scan(&e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		if syncs() != 0 || tokenError() != "expired" {
			t.Fatal("a new name is not new settings of the number")
		}
		token := "EAAG-new"
		if _, _, err := s.Update(ctx, in.ID, inbox.Patch{Settings: map[inbox.Type]any{Type: &Patch{AccessToken: &token}}}); err != nil {
			t.Fatal(err)
		}
		if syncs() != 1 || tokenError() != "" {
			t.Errorf("after a new token: %d syncs, token error %q", syncs(), tokenError())
		}
	})
}
