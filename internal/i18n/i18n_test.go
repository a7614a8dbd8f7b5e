package i18n

import (
	"strings"
	"testing"
	"testing/fstest"
)

func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load(fstest.MapFS{
		"es/core.json": {Data: []byte(`{"Send": "Enviar", "Use at least %d characters.": "Usa al menos %d caracteres.",
			"Too many requests: try again in %d %s.": "Demasiadas solicitudes: inténtalo de nuevo en %d %s.",
			"seconds": "segundos", "%s created": "%s creada", "Inbox %d of %s": "Bandeja %[2]s n.º %[1]d"}`)},
		"es/people.json": {Data: []byte(`{"Team": "Equipo", "Send": "Enviar"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTranslate(t *testing.T) {
	c := testCatalog(t)
	cases := []struct {
		lang, msg, want string
	}{
		{"es", "Send", "Enviar"},
		{"es", "Team", "Equipo"},
		{"en", "Send", "Send"},
		{"fr", "Send", "Send"},
		{"es", "Unknown words", "Unknown words"},
		// Messages formatted before they were translated.
		{"es", "Use at least 10 characters.", "Usa al menos 10 caracteres."},
		{"es", "Too many requests: try again in 5 seconds.", "Demasiadas solicitudes: inténtalo de nuevo en 5 segundos."},
		{"es", "Main site created", "Main site creada"},
		{"es", "Inbox 3 of Ana", "Bandeja Ana n.º 3"},
		// A name that happens to be a key is not translated as an argument.
		{"es", "Send created", "Send creada"},
		{"es", "Use at least ten characters.", "Use at least ten characters."},
	}
	for _, tc := range cases {
		if got := c.Message(tc.lang, tc.msg); got != tc.want {
			t.Errorf("Message(%s, %q) = %q, want %q", tc.lang, tc.msg, got, tc.want)
		}
	}
	if got := c.Tf("es", "Use at least %d characters.", 12); got != "Usa al menos 12 caracteres." {
		t.Errorf("Tf = %q", got)
	}
	if !c.Has("es", "Team") || c.Has("es", "Nope") || !c.Has("en", "Nope") {
		t.Error("Has")
	}
}

func TestLoadRefusesBadCatalogs(t *testing.T) {
	cases := map[string]fstest.MapFS{
		"twice, differently": {"es/a.json": {Data: []byte(`{"Send": "Enviar"}`)}, "es/b.json": {Data: []byte(`{"Send": "Mandar"}`)}},
		"verbs differ":       {"es/a.json": {Data: []byte(`{"%d left": "quedan %s"}`)}},
		"unknown language":   {"xx/a.json": {Data: []byte(`{}`)}},
		"not JSON":           {"es/a.json": {Data: []byte(`{"Send": }`)}},
	}
	for name, fsys := range cases {
		if _, err := Load(fsys); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestMatch(t *testing.T) {
	c := testCatalog(t)
	cases := map[string]string{
		"":                                "en",
		"es-ES,es;q=0.9,en;q=0.8":         "es",
		"de-DE,en;q=0.5,es;q=0.9":         "es",
		"fr":                              "en",
		"en-GB,en;q=0.9":                  "en",
		"es;q=0":                          "en",
		"*":                               "en",
		strings.Repeat("x-y;q=0.1,", 100): "en",
	}
	for header, want := range cases {
		if got := c.Match(header); got != want {
			t.Errorf("Match(%q) = %q, want %q", header, got, want)
		}
	}
	if ls := c.Languages(); len(ls) != 2 || ls[0].Code != "en" || ls[1].Name != "Español" {
		t.Errorf("Languages = %+v", ls)
	}
}
