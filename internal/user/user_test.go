package user_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestProfile(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		broker := event.NewLocal()
		var got []event.Event
		broker.Subscribe(func(es []event.Event) { got = append(got, es...) })
		log := event.NewLog(d, broker, nil)
		s := user.NewStore(d, log, func(string) (string, error) { return "hash", nil })
		u, err := s.Create(ctx, user.NewUser{Email: "Ana@Example.com", Name: "Ana", Role: policy.Service, Password: "long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		if u.Language != "en" || u.Status != user.Unavailable || u.Email != "ana@example.com" {
			t.Errorf("new user %+v", u)
		}
		langs := []string{"en", "es"}

		// Refused field by field; nothing changes.
		_, err = s.UpdateProfile(ctx, u.ID, user.ProfilePatch{Name: new(" "), Language: new("xx"), Landline: new("555"),
			PublicName: new(string(make([]byte, 101)))}, langs)
		p, ok := problem.As(err)
		if !ok || p.Fields["name"] == "" || p.Fields["language"] == "" || p.Fields["landline"] == "" || p.Fields["public_name"] == "" {
			t.Fatalf("bad profile: %v", err)
		}
		_, err = s.UpdateProfile(ctx, u.ID, user.ProfilePatch{Notifications: map[user.Trigger]user.Alert{
			user.TriggerMessage: {On: true, Sound: "siren", SoundWhen: "never", Repeat: "forever"}}}, langs)
		if p, ok := problem.As(err); !ok || p.Fields["notifications.message.sound"] == "" || p.Fields["notifications.message.sound_when"] == "" ||
			p.Fields["notifications.message.repeat"] == "" {
			t.Fatalf("bad notifications: %v", err)
		}

		got = nil
		u, err = s.UpdateProfile(ctx, u.ID, user.ProfilePatch{Name: new("Ana Díaz"), PublicName: new("Ana"), Language: new("es"),
			Landline: new("+34 912 34 56 78")}, langs)
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "Ana Díaz" || u.PublicName != "Ana" || u.Language != "es" || u.Landline != "+34912345678" {
			t.Errorf("profile %+v", u)
		}
		if len(got) != 1 || got[0].Type != user.ProfileChanged || got[0].UserID != u.ID {
			t.Errorf("events %+v", got)
		}

		prefs, err := s.Preferences(ctx, u.ID)
		if err != nil || prefs.CapitalizeFirst || !prefs.Notifications[user.TriggerAssigned].On {
			t.Fatalf("default preferences %+v %v", prefs, err)
		}
		got = nil
		_, err = s.UpdateProfile(ctx, u.ID, user.ProfilePatch{CapitalizeFirst: new(true), Notifications: map[user.Trigger]user.Alert{
			user.TriggerMessage: {On: true, Sound: "", SoundWhen: user.SoundAlways, Repeat: user.RepeatUntilRead, Popup: true}}}, langs)
		if err != nil {
			t.Fatal(err)
		}
		prefs, _ = s.Preferences(ctx, u.ID)
		if !prefs.CapitalizeFirst || prefs.Notifications[user.TriggerMessage].Repeat != user.RepeatUntilRead || !prefs.Notifications[user.TriggerAssigned].On {
			t.Errorf("preferences %+v", prefs)
		}
		if len(got) != 1 || got[0].Type != user.PreferencesChanged {
			t.Fatalf("events %+v", got)
		}
		var sent user.Preferences
		json.Unmarshal(got[0].Data, &sent)
		if !sent.Notifications[user.TriggerMessage].Popup {
			t.Errorf("event data %s", got[0].Data)
		}
	})
}
