package ui

import (
	"sort"
	"strings"
	"testing"
)

// TestWidgetWords: every word of the web chat widget (its t("…")) exists
// in every language, and the widget gets them in the language asked for.
func TestWidgetWords(t *testing.T) {
	cat := catalog(t)
	src, err := content.ReadFile("static/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	keys := jsKeys(src)
	if len(keys) < 25 {
		t.Fatalf("only %d words found in widget.js: the extraction is broken", len(keys))
	}
	for _, l := range cat.Languages()[1:] {
		var missing []string
		for _, k := range keys {
			if !cat.Has(l.Code, k) {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%d widget words have no %s translation in internal/web/i18n/%s/*.json:\n%s", len(missing), l.Name, l.Code, strings.Join(missing, "\n"))
		}
	}
}
