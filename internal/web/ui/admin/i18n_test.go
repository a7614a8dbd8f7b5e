package admin

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/i18n"
)

// TestNoticesTranslated: the notices of the admin pages exist in every
// language (ui.TestEveryStringTranslated checks every other string of
// the workspace, these pages' messages and templates among them).
func TestNoticesTranslated(t *testing.T) {
	cat, err := i18n.Load(os.DirFS("../../i18n"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range []map[string]string{invitationNotices, emailNotices} {
		for _, n := range m {
			keys = append(keys, n)
		}
	}
	if len(keys) < 6 {
		t.Fatalf("only %d notices found", len(keys))
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
			t.Errorf("%d notices have no %s translation in internal/web/i18n/%s/*.json:\n%s", len(missing), l.Name, l.Code, strings.Join(missing, "\n"))
		}
	}
}
