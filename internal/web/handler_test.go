package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/text"
)

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
// httpx.ParseForm or httpx.ReadForm, which apply the text rule to every field (a
// FormValue would read a field nobody checked).
func TestFormsReadThroughTheRule(t *testing.T) {
	var files []string
	for _, dir := range []string{".", "ui", "ui/admin", "httpx"} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	direct := regexp.MustCompile(`(\w*)\.(ParseForm|ParseMultipartForm|FormValue|PostFormValue)\(`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == filepath.Join("httpx", "request.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := direct.FindStringSubmatch(line); m != nil && m[1] != "httpx" {
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
