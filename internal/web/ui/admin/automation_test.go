package admin

import (
	"os"
	"testing"

	"github.com/switchboardhq/switchboard/internal/automation"
	"github.com/switchboardhq/switchboard/internal/i18n"
)

// TestAutomationWordsTranslated: the Automation page's words chosen in
// code (each message's title and hint, the waiting times' labels) and
// the automation service's field messages exist in every language.
func TestAutomationWordsTranslated(t *testing.T) {
	cat, err := i18n.Load(os.DirFS("../../i18n"))
	if err != nil {
		t.Fatal(err)
	}
	keys := append([]string{"Waiting time", "Close after"}, automation.FieldMessages()...)
	for _, m := range autoMessages {
		keys = append(keys, m.Title, m.Hint)
	}
	for _, l := range cat.Languages()[1:] {
		for _, k := range keys {
			if !cat.Has(l.Code, k) {
				t.Errorf("%q has no %s translation", k, l.Name)
			}
		}
	}
}
