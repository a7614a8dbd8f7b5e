package web_test

import (
	"net/http"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestPublicPreChatForm: an inbox that asks for name and email first (off
// by default) refuses a session without them, field by field and in the
// language the widget asks for; the contact gets what was given. The
// widget's words come with the inbox's settings.
func TestPublicPreChatForm(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		agent := srv.NewUser("agent@example.com", policy.Service)
		in, _ := newInbox(t, srv, "Shop", webchat.Settings{}, agent.UserID)
		anon := srv.Anonymous()
		type settings struct {
			PreChatForm bool              `json:"pre_chat_form"`
			Language    string            `json:"language"`
			Words       map[string]string `json:"words"`
		}
		var cfg settings
		anon.Do("GET", "/public/v1/inboxes/"+in.Token, nil).Expect(http.StatusOK).Decode(&cfg)
		if cfg.PreChatForm || cfg.Language != "en" || cfg.Words != nil {
			t.Fatalf("default settings %+v", cfg)
		}
		path := "/public/v1/inboxes/" + in.Token + "/sessions"
		anon.Do("POST", path, nil).Expect(http.StatusCreated)

		admin.Do("PATCH", "/api/v1/inboxes/"+itoa(in.ID), map[string]any{"webchat": map[string]any{"pre_chat_form": true}}).Expect(http.StatusOK)
		cfg = settings{}
		anon.Do("GET", "/public/v1/inboxes/"+in.Token+"?lang=es-MX", nil).Expect(http.StatusOK).Decode(&cfg)
		if !cfg.PreChatForm || cfg.Language != "es" || cfg.Words["Write a message…"] != "Escribe un mensaje…" || cfg.Words["Start chat"] != "Empezar el chat" {
			t.Fatalf("settings in Spanish %+v", cfg)
		}

		for _, tc := range []struct {
			name                string
			body                map[string]string
			lang                string
			wantName, wantEmail string
		}{
			{"nothing", map[string]string{}, "", "Enter your name.", "Enter your email address."},
			{"nothing, in Spanish", map[string]string{}, "es", "Escribe tu nombre.", "Escribe tu dirección de correo."},
			{"blank", map[string]string{"name": "  ", "email": " "}, "", "Enter your name.", "Enter your email address."},
			{"no email", map[string]string{"name": "Ada"}, "", "", "Enter your email address."},
			{"bad email", map[string]string{"name": "Ada", "email": "ada@"}, "", "", "Enter a valid email address, like name@example.com."},
		} {
			r := anon.Do("POST", path, tc.body, "Accept-Language", tc.lang)
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s", tc.name, r.StatusCode, r.Body)
				continue
			}
			if e := r.Err(); e.Fields["name"] != tc.wantName || e.Fields["email"] != tc.wantEmail {
				t.Errorf("%s: fields %v", tc.name, e.Fields)
			}
		}
		before := countRows(t, d, "webchat_visitors")
		v := srv.NewVisitor(in.Token, map[string]string{"name": " Ada Lovelace ", "email": "Ada@Example.com"})
		if n := countRows(t, d, "webchat_visitors"); n != before+1 {
			t.Fatalf("%d sessions, want %d", n, before+1)
		}
		v.Say("Hello")
		var list struct {
			Items []struct {
				Contact struct {
					Name  string  `json:"name"`
					Email *string `json:"email"`
				} `json:"contact"`
			} `json:"items"`
		}
		agent.Do("GET", "/api/v1/conversations", nil).Expect(http.StatusOK).Decode(&list)
		if len(list.Items) != 1 || list.Items[0].Contact.Name != "Ada Lovelace" || list.Items[0].Contact.Email == nil || *list.Items[0].Contact.Email != "ada@example.com" {
			t.Fatalf("conversations %+v", list.Items)
		}
	})
}
