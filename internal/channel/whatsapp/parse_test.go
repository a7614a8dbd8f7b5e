package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	textrule "github.com/switchboardhq/switchboard/internal/text"
)

var update = flag.Bool("update", false, "rewrite the golden files of the webhook parser")

// TestParseGolden reads every fixture (Meta's payloads from the reference,
// one per message type, status and template event, and batches) and
// compares what the parser makes of it with the golden file beside it.
// Run with -update after a deliberate change, and read the diff.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/webhooks/*.json")
	if err != nil || len(files) < 25 {
		t.Fatalf("fixtures: %v %d", err, len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestParseGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, got, want)
			}
		})
	}
}

// TestParseFacts spells out what matters in a few fixtures, so that a
// careless -update cannot bless a wrong answer.
func TestParseFacts(t *testing.T) {
	read := func(name string) Delivery {
		t.Helper()
		b, err := os.ReadFile("testdata/webhooks/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := read("text_username_only")
	if m := d.Changes[0].Messages[0]; m.From.WaID != "" || m.From.UserID != "US.13491208655302741918" || m.From.Username != "@realsheenanelson" || m.From.Name != "Sheena Nelson" {
		t.Errorf("username-only sender: %+v", m.From)
	}
	d = read("image")
	if m := d.Changes[0].Messages[0]; m.Type != "image" || m.Text != "Taj Mahal" || m.Content.Media.ID != "1003383421387256" || m.Content.Media.State != MediaPending {
		t.Errorf("image: %+v", m)
	}
	d = read("audio_voice")
	if m := d.Changes[0].Messages[0]; !m.Content.Media.Voice || m.Text != "" {
		t.Errorf("voice note: %+v", m)
	}
	d = read("interactive_list_reply")
	if m := d.Changes[0].Messages[0]; m.ReplyTo != "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJMSVNUX01TRwA=" || m.Content.Reply.ID != "priority_express" || m.Text != "Priority Mail Express" {
		t.Errorf("list reply: %+v", m)
	}
	d = read("reaction_removed")
	if len(d.Changes[0].Messages) != 0 || len(d.Changes[0].Reactions) != 1 || d.Changes[0].Reactions[0].Emoji != "" {
		t.Errorf("reaction removal: %+v", d.Changes[0])
	}
	d = read("status_failed")
	if s := d.Changes[0].Statuses[0]; s.Status != "failed" || s.Errors[0].Code != 131047 || s.Errors[0].Title != "Re-engagement message" || !strings.Contains(s.Errors[0].Details, "24 hours") {
		t.Errorf("failed status: %+v", s)
	}
	d = read("batch")
	if len(d.Changes) != 4 || len(d.Changes[0].Messages) != 3 || len(d.Changes[0].Skipped) != 1 || len(d.Changes[1].Statuses) != 2 || d.Changes[3].PhoneNumberID != "106540352242999" {
		t.Errorf("batch: %+v", d)
	}
	if d.Changes[0].Messages[1].From.Name != "Krish" || d.Changes[0].Messages[1].From.UserID != "IN.1410018717833190" {
		t.Errorf("batch sender profile: %+v", d.Changes[0].Messages[1].From)
	}
	d = read("escaped_unicode")
	if m := d.Changes[0].Messages[0]; m.Text != "¡Hola! 👍" || m.From.Name != "José Ñuñez" {
		t.Errorf("escaped unicode: %+v", m)
	}
	d = read("template_status")
	if tpl := d.Changes[0].Template; tpl == nil || tpl.TemplateID != "1689556908129835" || tpl.Event != "REJECTED" || !strings.Contains(tpl.Reason, "next to each other") {
		t.Errorf("template status: %+v", tpl)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, body := range []string{
		``, `not json`, `{"object":"whatsapp_business_account","entry":{}}`, `[1,2]`,
		`{"entry":[{"changes":[{"field":"messages","value":{"messages":{}}}]}]}`,
		`{"entry":[{"changes":[{"field":"messages","value":"x"}]}]}`,
		`{"entry":[]} {"entry":[]}`,
	} {
		if _, err := Parse([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", body, err)
		}
	}
	// Readable but unusable items are left out or kept as unsupported,
	// never a reason to refuse the whole delivery.
	d, err := Parse([]byte(`{"entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":1},"messages":[{"id":"wamid.X","from":"1","type":"text","text":"not an object"},{"type":"text"}],"statuses":[{"id":"wamid.Y"}]}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := d.Changes[0]
	if c.PhoneNumberID != "1" || len(c.Messages) != 1 || c.Messages[0].Type != "unsupported" || len(c.Skipped) != 2 {
		t.Errorf("lenient: %+v", c)
	}
}

// FuzzParse feeds the parser arbitrary bodies (seeded with every
// fixture): it must never panic, and whatever it accepts must be safe to
// store: every string follows the text rule (valid UTF-8, no NUL or other
// control character but tab and line breaks), bounded, every message
// with an id and a sender. (That a refused body writes nothing is
// FuzzWebhook's business, in webhook_test.go.)
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	f.Add([]byte(`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":1,"from":2,"type":"location","location":{"latitude":"x"}}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		check := func(what, s string) {
			if m := textrule.Problem(s); m != "" {
				t.Fatalf("%s is not safe to store (%s): %q", what, m, s)
			}
		}
		for _, c := range d.Changes {
			check("phone number id", c.PhoneNumberID)
			for _, m := range c.Messages {
				if m.ID == "" || (m.From.WaID == "" && m.From.UserID == "") {
					t.Fatalf("message without id or sender: %+v", m)
				}
				check("text", m.Text)
				check("name", m.From.Name)
				if utf8.RuneCountInString(m.Text) > 4096 {
					t.Fatalf("text too long: %d", len(m.Text))
				}
				if _, err := json.Marshal(m.Content); err != nil {
					t.Fatalf("content does not marshal: %v", err)
				}
			}
			for _, s := range c.Statuses {
				if s.ID == "" || s.Status == "" {
					t.Fatalf("status without id: %+v", s)
				}
			}
		}
	})
}
