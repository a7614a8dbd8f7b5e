package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/text"
)

// TestCheckJSON: every string of a request body, at any depth, keys
// included, follows the text rule, and a refused one names its field by
// its path.
func TestCheckJSON(t *testing.T) {
	for _, c := range []struct {
		body, field string // field "" when accepted
	}{
		{`{"text":"line\r\n\ttab","n":1.5,"ok":true,"none":null}`, ""},
		{`{"text":"a\u0000b"}`, "text"},
		{`{"metadata":{"plan":"gold\u0000"}}`, "metadata.plan"},
		{`{"interactive":{"buttons":[{"title":"Yes"},{"title":"N\u0007o"}]}}`, "interactive.buttons.1.title"},
		{`{"metadata":{"pl\u0000an":"gold"}}`, "metadata"},
		{`{"a":[{"b":1},{"c":"ok"}],"d":{"e":{}},"f":"\u001b"}`, "f"},
		{`{"a":[[],["x","\u000b"]]}`, "a.1.1"},
		{`["ok",{"k":"v"},"\u0000"]`, "2"},
		{`"\u0000"`, "body"},
		{`{"text":"caf\u00e9 \ud83d\udc4d"}`, ""},
	} {
		err := checkJSON([]byte(c.body))
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		p, ok := problem.As(err)
		if !ok || p.Kind != problem.KindInvalid || len(p.Fields) != 1 || p.Fields[c.field] == "" {
			t.Errorf("%s: %v, want field %s refused", c.body, err, c.field)
		}
	}
}

func TestWildcards(t *testing.T) {
	for pattern, want := range map[string]string{
		"/{$}":                                  "",
		"/api/v1/conversations/{id}/tags/{tag}": "id tag",
		"/static/{file...}":                     "file",
		"/public/v1/inboxes/{token}/sessions":   "token",
	} {
		if got := strings.Join(wildcards(pattern), " "); got != want {
			t.Errorf("wildcards(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// TestFormsReadThroughTheRule: handlers read form posts only with
// parseForm or readForm, which apply the text rule to every field (a
// FormValue would read a field nobody checked).
func TestFormsReadThroughTheRule(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	direct := regexp.MustCompile(`\.(ParseForm|ParseMultipartForm|FormValue|PostFormValue)\(`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "httpx.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if direct.MatchString(line) {
				t.Errorf("%s:%d reads a form without the text rule: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestTextRuleTranslated: the rule's messages, formatted with the
// character, reach people in their language.
func TestTextRuleTranslated(t *testing.T) {
	cat, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a\x00", "\xff"} {
		m := text.Problem(s)
		if got := cat.Message("es", m); got == m || got == "" {
			t.Errorf("%q is not translated: %q", m, got)
		}
	}
	if got := cat.Message("es", text.Problem("\x1b")); !strings.Contains(got, "(U+001B)") {
		t.Errorf("the character is lost in translation: %q", got)
	}
}
